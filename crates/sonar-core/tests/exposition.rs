//! The renderings checked by real parsers: promtool (Prometheus 2.42's own linter and text
//! parser) for the text format, and prometheus_client's strict OpenMetrics parser (Debian's
//! python3-prometheus-client) for OpenMetrics. Each skips with a message when its tool is absent.

mod prom_check;

use prom_check::{assert_openmetrics_parses, assert_promtool_clean};
use sonar_core::metrics::MetricSet;

/// Every kind of value and escape the renderer writes.
fn awkward_set() -> MetricSet {
    let mut set = MetricSet::default();
    set.counter(
        "sonar_test_events_total",
        "Events, with a \\ backslash and a\nnewline.",
    )
    .push(
        vec![("kind", "a\"quoted\" \\ value\nwith newline".into())],
        12.0,
    );
    let gauge = set.gauge("sonar_test_values", "Values of every shape.");
    for (i, v) in [
        0.0,
        -1.0,
        0.5,
        1e-7,
        1234567.25,
        25275990016.0,
        9007199254740993.0,
        1.7976931348623157e308,
    ]
    .into_iter()
    .enumerate()
    {
        gauge.push(vec![("case", i.to_string())], v);
    }
    set.gauge("sonar_test_unused", "No samples: left out.");
    set.gauge("sonar_test_utf8", "Ünïcödé help ✓.")
        .push(vec![("name", "µ-sensor ✓".into())], 3.0);
    set
}

#[test]
fn promtool_check_metrics_prints_nothing_for_the_text_rendering() {
    assert_promtool_clean(&awkward_set());
}

#[test]
fn the_openmetrics_rendering_reads_back_with_a_strict_parser() {
    assert_openmetrics_parses(&awkward_set());
}

#[test]
fn special_values_read_back_in_both_formats() {
    // Family::push drops non-finite values; the renderer still writes them correctly when a
    // family is built by hand.
    let mut set = MetricSet::default();
    let family = set.gauge("sonar_test_special", "Special values.");
    for (i, v) in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY]
        .into_iter()
        .enumerate()
    {
        family.samples.push(sonar_core::metrics::Sample {
            labels: vec![("case", i.to_string())],
            value: v,
        });
    }
    assert_promtool_clean(&set);
    assert_openmetrics_parses(&set);
}
