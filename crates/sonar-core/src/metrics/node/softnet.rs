//! node_exporter's `softnet` collector: per-CPU packet processing from /proc/net/softnet_stat
//! (one line per online CPU, hexadecimal columns). 1.5's three families, and the later ones the
//! current Node Exporter Full queries (collisions, RPS wake-ups, flow limit, backlog) where the
//! kernel has the column. The CPU is the line's own index column (Linux 5.10+), else its
//! position.

use super::kept_files::KeptFiles;
use crate::metrics::{MetricSet, MetricType};
use crate::roots::Roots;

/// (column, family, type, help)
const COLUMNS: [(usize, &str, MetricType, &str); 7] = [
    (
        0,
        "node_softnet_processed_total",
        MetricType::Counter,
        "Number of processed packets",
    ),
    (
        1,
        "node_softnet_dropped_total",
        MetricType::Counter,
        "Number of dropped packets",
    ),
    (
        2,
        "node_softnet_times_squeezed_total",
        MetricType::Counter,
        "Number of times processing packets ran out of quota",
    ),
    (
        8,
        "node_softnet_cpu_collision_total",
        MetricType::Counter,
        "Number of collision occur while obtaining device lock while transmitting",
    ),
    (
        9,
        "node_softnet_received_rps_total",
        MetricType::Counter,
        "Number of times cpu woken up received_rps",
    ),
    (
        10,
        "node_softnet_flow_limit_count_total",
        MetricType::Counter,
        "Number of times flow limit has been reached",
    ),
    (
        11,
        "node_softnet_backlog_len",
        MetricType::Gauge,
        "Softnet backlog status",
    ),
];

/// The CPU number's column (Linux 5.10+).
const INDEX_COLUMN: usize = 12;

pub(super) fn families(
    roots: &Roots,
    files: &mut KeptFiles,
    buf: &mut String,
    set: &mut MetricSet,
) {
    if !files.read_into(&roots.proc("net/softnet_stat"), buf) {
        return;
    }
    let rows: Vec<(String, Vec<u64>)> = buf
        .lines()
        .enumerate()
        .filter_map(|(line_number, line)| {
            let values: Vec<u64> = line
                .split_ascii_whitespace()
                .map(|f| u64::from_str_radix(f, 16).ok())
                .collect::<Option<_>>()?;
            let cpu = values.get(INDEX_COLUMN).map_or(line_number as u64, |&i| i);
            Some((cpu.to_string(), values))
        })
        .collect();
    for (column, name, kind, help) in COLUMNS {
        let family = set.family(name, kind, help);
        for (cpu, values) in &rows {
            if let Some(&value) = values.get(column) {
                family.push(vec![("cpu", cpu.clone())], value as f64);
            }
        }
    }
}
