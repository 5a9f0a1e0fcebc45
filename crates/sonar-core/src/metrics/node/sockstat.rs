//! node_exporter's `sockstat` collector: socket counts per protocol from /proc/net/sockstat and
//! /proc/net/sockstat6 (`TCP: inuse 5 orphan 0 tw 2 alloc 8 mem 1`), and the pages of `mem` in
//! bytes.

use super::kept_files::KeptFiles;
use crate::collect::memory::page_size;
use crate::metrics::MetricSet;
use crate::roots::Roots;

pub(super) fn families(
    roots: &Roots,
    files: &mut KeptFiles,
    buf: &mut String,
    set: &mut MetricSet,
) {
    for (file, ipv6) in [("net/sockstat", false), ("net/sockstat6", true)] {
        if !files.read_into(&roots.proc(file), buf) {
            continue;
        }
        for line in buf.lines() {
            let Some((protocol, rest)) = line.split_once(':') else {
                continue;
            };
            let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
            let pairs = fields
                .chunks_exact(2)
                .filter_map(|pair| Some((pair[0], pair[1].parse::<u64>().ok()?)));
            if protocol == "sockets" {
                // only IPv4's file has it
                if let Some((_, used)) = pairs.clone().find(|(name, _)| *name == "used") {
                    if !ipv6 {
                        set.gauge(
                            "node_sockstat_sockets_used",
                            "Number of IPv4 sockets in use.",
                        )
                        .push(vec![], used as f64);
                    }
                }
                continue;
            }
            // node_exporter's order: inuse, orphan, tw, alloc, mem, memory, then mem_bytes
            let mut mem_pages = None;
            for wanted in ["inuse", "orphan", "tw", "alloc", "mem", "memory"] {
                let Some((_, value)) = pairs.clone().find(|(name, _)| *name == wanted) else {
                    continue;
                };
                if wanted == "mem" {
                    mem_pages = Some(value);
                }
                push(set, protocol, wanted, value as f64);
            }
            if let Some(pages) = mem_pages {
                push(
                    set,
                    protocol,
                    "mem_bytes",
                    pages.saturating_mul(page_size()) as f64,
                );
            }
        }
    }
}

fn push(set: &mut MetricSet, protocol: &str, state: &str, value: f64) {
    set.gauge(
        &format!("node_sockstat_{protocol}_{state}"),
        &format!("Number of {protocol} sockets in state {state}."),
    )
    .push(vec![], value);
}
