//! Real parsers for the renderings: promtool (Prometheus 2.42's own linter and text parser) for
//! the text format, prometheus_client's strict OpenMetrics parser (Debian's
//! python3-prometheus-client) for OpenMetrics. Each check skips with a message when its tool is
//! absent.
#![allow(dead_code)]

use sonar_core::metrics::exposition::{render, Format};
use sonar_core::metrics::MetricSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

const PROMTOOL: &str = "/usr/bin/promtool";
const PYTHON: &str = "/usr/bin/python3";

/// What a tool printed (stdout and stderr) and whether it succeeded, `None` when it is absent.
fn run_with_stdin(program: &str, args: &[&str], input: &[u8]) -> Option<(bool, String)> {
    if !Path::new(program).exists() {
        return None;
    }
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(input).ok()?;
    let out = child.wait_with_output().ok()?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Some((out.status.success(), text))
}

/// The lints promtool reports that we keep on purpose, because they are node_exporter's own
/// names, which dashboards and alert rules use (promtool flags node_exporter's exposition for
/// the same): meminfo and netstat families after the kernel's keys
/// (`node_memory_MemAvailable_bytes`, `node_netstat_Tcp_InSegs`: "camelCase"), and the entropy
/// families in bits.
fn is_node_exporters_own_name_lint(line: &str) -> bool {
    let kept = [
        (
            "node_memory_",
            " metric names should be written in 'snake_case' not 'camelCase'",
        ),
        (
            "node_netstat_",
            " metric names should be written in 'snake_case' not 'camelCase'",
        ),
        (
            "node_entropy_",
            " use base unit \"bytes\" instead of \"bits\"",
        ),
    ];
    kept.iter().any(|(prefix, message)| {
        line.strip_suffix(message)
            .is_some_and(|name| name.starts_with(prefix) && !name.contains(' '))
    })
}

/// `promtool check metrics` on the text rendering succeeds and prints nothing but the lint
/// above.
pub fn assert_promtool_clean(set: &MetricSet) {
    assert_promtool_clean_text(&render(set, Format::Text));
}

/// The same check on text already rendered (a golden file).
pub fn assert_promtool_clean_text(text: &[u8]) {
    match run_with_stdin(PROMTOOL, &["check", "metrics"], text) {
        None => eprintln!("skipped: {PROMTOOL} is absent (Debian package prometheus)"),
        Some((ok, printed)) => {
            let complaints: Vec<&str> = printed
                .lines()
                .filter(|l| !l.trim().is_empty() && !is_node_exporters_own_name_lint(l))
                .collect();
            let only_names = printed
                .lines()
                .all(|l| l.trim().is_empty() || is_node_exporters_own_name_lint(l));
            assert!(
                complaints.is_empty() && (ok || only_names),
                "promtool check metrics: {printed}\n---\n{}",
                String::from_utf8_lossy(text)
            );
        }
    }
}

const OPENMETRICS_CHECK: &str = r#"
import sys
try:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
except ImportError:
    print("SKIP")
    sys.exit(0)
families = list(text_string_to_metric_families(sys.stdin.read()))
print("families", len(families))
"#;

/// prometheus_client's OpenMetrics parser (strict: `# EOF`, counter metadata names, escapes,
/// numbers) reads the OpenMetrics rendering without an error.
pub fn assert_openmetrics_parses(set: &MetricSet) {
    let text = render(set, Format::OpenMetrics);
    match run_with_stdin(PYTHON, &["-c", OPENMETRICS_CHECK], &text) {
        None => eprintln!("skipped: {PYTHON} is absent"),
        Some((_, printed)) if printed.trim() == "SKIP" => eprintln!(
            "skipped: prometheus_client is not installed (Debian package python3-prometheus-client)"
        ),
        Some((ok, printed)) => {
            let families = set
                .families
                .iter()
                .filter(|f| !f.samples.is_empty())
                .count();
            assert!(
                ok && printed.trim() == format!("families {families}"),
                "OpenMetrics parser: {printed}\n---\n{}",
                String::from_utf8_lossy(&text)
            );
        }
    }
}
