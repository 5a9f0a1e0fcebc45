//! node_exporter's `arp` collector: ARP table entries per device from /proc/net/arp.

use super::kept_files::KeptFiles;
use crate::metrics::MetricSet;
use crate::roots::Roots;
use std::collections::BTreeMap;

pub(super) fn families(
    roots: &Roots,
    files: &mut KeptFiles,
    buf: &mut String,
    set: &mut MetricSet,
) {
    if !files.read_into(&roots.proc("net/arp"), buf) {
        return;
    }
    let mut entries: BTreeMap<&str, u64> = BTreeMap::new();
    // "IP address  HW type  Flags  HW address  Mask  Device", then one line per entry
    for line in buf.lines().skip(1) {
        if let Some(device) = line.split_ascii_whitespace().nth(5) {
            *entries.entry(device).or_default() += 1;
        }
    }
    let family = set.gauge("node_arp_entries", "ARP entries by device");
    for (device, count) in entries {
        family.push(vec![("device", device.to_string())], count as f64);
    }
}
