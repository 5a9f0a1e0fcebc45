//! Small kernel tables node_exporter reports and the node-mixin alerts use: `filefd`
//! (/proc/sys/fs/file-nr), `entropy` (/proc/sys/kernel/random) and `conntrack`
//! (/proc/sys/net/netfilter).

use super::kept_files::KeptFiles;
use crate::metrics::MetricSet;
use crate::roots::Roots;

pub(super) fn families(
    roots: &Roots,
    files: &mut KeptFiles,
    buf: &mut String,
    set: &mut MetricSet,
) {
    // "allocated  unused  maximum"
    if files.read_into(&roots.proc("sys/fs/file-nr"), buf) {
        let fields: Vec<u64> = buf
            .split_ascii_whitespace()
            .map_while(|f| f.parse().ok())
            .collect();
        if let [allocated, _, maximum] = fields[..] {
            set.gauge(
                "node_filefd_allocated",
                "File descriptor statistics: allocated.",
            )
            .push(vec![], allocated as f64);
            set.gauge(
                "node_filefd_maximum",
                "File descriptor statistics: maximum.",
            )
            .push(vec![], maximum as f64);
        }
    }
    for (file, name, help) in [
        (
            "sys/kernel/random/entropy_avail",
            "node_entropy_available_bits",
            "Bits of available entropy.",
        ),
        (
            "sys/kernel/random/poolsize",
            "node_entropy_pool_size_bits",
            "Bits of entropy pool.",
        ),
        (
            "sys/net/netfilter/nf_conntrack_count",
            "node_nf_conntrack_entries",
            "Number of currently allocated flow entries for connection tracking.",
        ),
        (
            "sys/net/netfilter/nf_conntrack_max",
            "node_nf_conntrack_entries_limit",
            "Maximum size of connection tracking table.",
        ),
    ] {
        if let Some(value) = files
            .attribute(&roots.proc(file))
            .and_then(|t| t.parse::<u64>().ok())
        {
            set.gauge(name, help).push(vec![], value as f64);
        }
    }
}
