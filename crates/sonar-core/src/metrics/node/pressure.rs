//! node_exporter's `pressure` collector: pressure stall totals from /proc/pressure (µs there,
//! seconds here). Kernels without PSI have no such directory: nothing is reported.

use super::kept_files::KeptFiles;
use crate::metrics::MetricSet;
use crate::roots::Roots;

/// (file, line kind, family, help) — node_exporter 1.5 reports cpu's "some" line only.
const SERIES: [(&str, &str, &str, &str); 5] = [
    (
        "cpu",
        "some",
        "node_pressure_cpu_waiting_seconds_total",
        "Total time in seconds that processes have waited for CPU time",
    ),
    (
        "io",
        "some",
        "node_pressure_io_waiting_seconds_total",
        "Total time in seconds that processes have waited due to IO congestion",
    ),
    (
        "io",
        "full",
        "node_pressure_io_stalled_seconds_total",
        "Total time in seconds no process could make progress due to IO congestion",
    ),
    (
        "memory",
        "some",
        "node_pressure_memory_waiting_seconds_total",
        "Total time in seconds that processes have waited for memory",
    ),
    (
        "memory",
        "full",
        "node_pressure_memory_stalled_seconds_total",
        "Total time in seconds no process could make progress due to memory congestion",
    ),
];

/// `total=` of the line starting with `kind` ("some avg10=0.00 avg60=0.00 avg300=0.00 total=N").
fn total_us(text: &str, kind: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.split(' ').next() == Some(kind))?;
    line.split_ascii_whitespace()
        .find_map(|f| f.strip_prefix("total="))?
        .parse()
        .ok()
}

pub(super) fn families(
    roots: &Roots,
    files: &mut KeptFiles,
    buf: &mut String,
    set: &mut MetricSet,
) {
    let mut last_file = "";
    let mut readable = false;
    for (file, kind, name, help) in SERIES {
        if file != last_file {
            readable = files.read_into(&roots.proc(&format!("pressure/{file}")), buf);
            last_file = file;
        }
        if let Some(us) = readable.then(|| total_us(buf, kind)).flatten() {
            set.counter(name, help).push(vec![], us as f64 / 1e6);
        }
    }
}
