//! node_exporter's `netdev` collector: every interface of /proc/net/dev, every counter.

use super::kept_files::KeptFiles;
use crate::collect::network::net_dev_lines;
use crate::metrics::MetricSet;
use crate::roots::Roots;

/// The /proc/net/dev columns in order, as node_exporter names them (`receive_bytes` →
/// `node_network_receive_bytes_total`).
const COLUMNS: [&str; 16] = [
    "receive_bytes",
    "receive_packets",
    "receive_errs",
    "receive_drop",
    "receive_fifo",
    "receive_frame",
    "receive_compressed",
    "receive_multicast",
    "transmit_bytes",
    "transmit_packets",
    "transmit_errs",
    "transmit_drop",
    "transmit_fifo",
    "transmit_colls",
    "transmit_carrier",
    "transmit_compressed",
];

pub(super) fn families(
    roots: &Roots,
    files: &mut KeptFiles,
    buf: &mut String,
    set: &mut MetricSet,
) {
    if !files.read_into(&roots.proc("net/dev"), buf) {
        return;
    }
    let lines: Vec<_> = net_dev_lines(buf).collect();
    for (column, stat) in COLUMNS.iter().enumerate() {
        let family = set.counter(
            &format!("node_network_{stat}_total"),
            &format!("Network device statistic {stat}."),
        );
        for line in lines.iter().filter(|l| column < l.count) {
            family.push(
                vec![("device", line.name.to_string())],
                line.values[column] as f64,
            );
        }
    }
}
