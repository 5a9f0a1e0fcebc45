//! node_exporter's `diskstats` collector: /proc/diskstats with its default device exclusion.

use super::kept_files::KeptFiles;
use crate::collect::disk::diskstats::parse_fields;
use crate::metrics::{MetricSet, MetricType};
use crate::roots::Roots;

/// What a column counts, and so how it is scaled to node_exporter's unit.
#[derive(Clone, Copy)]
enum Unit {
    Count,
    /// /proc/diskstats always counts 512-byte sectors, whatever the device's sector size.
    SectorsAsBytes,
    /// Milliseconds, reported in seconds (divided, so 9 ms is 0.009, not 0.009000000000000001).
    Millis,
}

impl Unit {
    fn scale(self, raw: u64) -> f64 {
        match self {
            Unit::Count => raw as f64,
            Unit::SectorsAsBytes => raw as f64 * 512.0,
            Unit::Millis => raw as f64 / 1000.0,
        }
    }
}

use Unit::{Count, Millis, SectorsAsBytes};

/// (name, help, type, unit) of each diskstats column, in the kernel's order (iostats.rst).
const COLUMNS: [(&str, &str, MetricType, Unit); 17] = [
    (
        "node_disk_reads_completed_total",
        "The total number of reads completed successfully.",
        MetricType::Counter,
        Count,
    ),
    (
        "node_disk_reads_merged_total",
        "The total number of reads merged.",
        MetricType::Counter,
        Count,
    ),
    (
        "node_disk_read_bytes_total",
        "The total number of bytes read successfully.",
        MetricType::Counter,
        SectorsAsBytes,
    ),
    (
        "node_disk_read_time_seconds_total",
        "The total number of seconds spent by all reads.",
        MetricType::Counter,
        Millis,
    ),
    (
        "node_disk_writes_completed_total",
        "The total number of writes completed successfully.",
        MetricType::Counter,
        Count,
    ),
    (
        "node_disk_writes_merged_total",
        "The number of writes merged.",
        MetricType::Counter,
        Count,
    ),
    (
        "node_disk_written_bytes_total",
        "The total number of bytes written successfully.",
        MetricType::Counter,
        SectorsAsBytes,
    ),
    (
        "node_disk_write_time_seconds_total",
        "This is the total number of seconds spent by all writes.",
        MetricType::Counter,
        Millis,
    ),
    (
        "node_disk_io_now",
        "The number of I/Os currently in progress.",
        MetricType::Gauge,
        Count,
    ),
    (
        "node_disk_io_time_seconds_total",
        "Total seconds spent doing I/Os.",
        MetricType::Counter,
        Millis,
    ),
    (
        "node_disk_io_time_weighted_seconds_total",
        "The weighted # of seconds spent doing I/Os.",
        MetricType::Counter,
        Millis,
    ),
    (
        "node_disk_discards_completed_total",
        "The total number of discards completed successfully.",
        MetricType::Counter,
        Count,
    ),
    (
        "node_disk_discards_merged_total",
        "The total number of discards merged.",
        MetricType::Counter,
        Count,
    ),
    (
        "node_disk_discarded_sectors_total",
        "The total number of sectors discarded successfully.",
        MetricType::Counter,
        Count,
    ),
    (
        "node_disk_discard_time_seconds_total",
        "This is the total number of seconds spent by all discards.",
        MetricType::Counter,
        Millis,
    ),
    (
        "node_disk_flush_requests_total",
        "The total number of flush requests completed successfully",
        MetricType::Counter,
        Count,
    ),
    (
        "node_disk_flush_requests_time_seconds_total",
        "This is the total number of seconds spent by all flush requests.",
        MetricType::Counter,
        Millis,
    ),
];

pub(super) fn families(
    roots: &Roots,
    files: &mut KeptFiles,
    buf: &mut String,
    set: &mut MetricSet,
) {
    if !files.read_into(&roots.proc("diskstats"), buf) {
        return;
    }
    let lines: Vec<_> = buf
        .lines()
        .filter_map(parse_fields)
        .filter(|l| !excluded(l.name))
        .collect();
    if lines.is_empty() {
        return;
    }
    for (column, &(name, help, kind, unit)) in COLUMNS.iter().enumerate() {
        let family = set.family(name, kind, help);
        for line in lines.iter().filter(|l| column < l.count) {
            family.push(
                vec![("device", line.name.to_string())],
                unit.scale(line.values[column]),
            );
        }
    }
}

/// node_exporter's default `--collector.diskstats.device-exclude`:
/// `^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$` — partitions and pseudo devices.
pub(super) fn excluded(name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    for prefix in ["ram", "loop", "fd"] {
        if name.strip_prefix(prefix).is_some_and(digits) {
            return true;
        }
    }
    for prefix in ["hd", "sd", "vd", "xvd"] {
        if let Some(rest) = name.strip_prefix(prefix) {
            let mut chars = rest.chars();
            if chars.next().is_some_and(|c| c.is_ascii_lowercase()) && digits(chars.as_str()) {
                return true;
            }
        }
    }
    // nvme\d+n\d+p\d+
    let Some(rest) = name.strip_prefix("nvme") else {
        return false;
    };
    let Some((controller, rest)) = rest.split_once('n') else {
        return false;
    };
    let Some((namespace, partition)) = rest.split_once('p') else {
        return false;
    };
    digits(controller) && digits(namespace) && digits(partition)
}
