//! node_exporter's `mdadm` families (`node_md_state`, `_disks`, `_disks_required`, `_blocks`,
//! `_blocks_synced`; the node-mixin's RAID alerts use them) from the arrays the core's mdraid
//! collector reads in sysfs, where node_exporter parses /proc/mdstat: the same kernel counts.

use crate::collect::mdraid::{scan, MdArray};
use crate::metrics::MetricSet;
use crate::roots::Roots;

/// node_exporter's activity state: inactive, recovering, resync, check, else active.
fn activity(array: &MdArray) -> &'static str {
    if array.array_state == "inactive" {
        return "inactive";
    }
    match array.sync_action.as_str() {
        "recover" => "recovering",
        "resync" => "resync",
        "check" | "repair" => "check",
        _ => "active",
    }
}

/// Blocks (KiB, as /proc/mdstat counts them) done by a running sync: `sync_completed` is
/// "done / total" in 512-byte sectors, "none" when idle.
fn synced_blocks(array: &MdArray, blocks: u64) -> u64 {
    array
        .sync_completed
        .split_once('/')
        .and_then(|(done, _)| done.trim().parse::<u64>().ok())
        .map_or(blocks, |sectors| sectors / 2)
}

pub(super) fn families(roots: &Roots, set: &mut MetricSet) {
    for array in scan(roots) {
        let device = || vec![("device", array.name.clone())];
        let active = array.raid_disks.saturating_sub(array.degraded);
        let spare = array
            .populated_disks
            .saturating_sub(active)
            .saturating_sub(array.faulty_disks);
        set.gauge("node_md_disks_required", "Total number of disks of device.")
            .push(device(), array.raid_disks as f64);
        for (state, count) in [
            ("active", active),
            ("failed", array.faulty_disks),
            ("spare", spare),
        ] {
            set.gauge(
                "node_md_disks",
                "Number of active/failed/spare disks of device.",
            )
            .push(
                vec![("device", array.name.clone()), ("state", state.to_string())],
                count as f64,
            );
        }
        let now = activity(&array);
        for state in ["active", "inactive", "recovering", "resync", "check"] {
            set.gauge("node_md_state", "Indicates the state of md-device.")
                .push(
                    vec![("device", array.name.clone()), ("state", state.to_string())],
                    if state == now { 1.0 } else { 0.0 },
                );
        }
        let blocks = array.capacity / 1024;
        set.gauge("node_md_blocks", "Total number of blocks on device.")
            .push(device(), blocks as f64);
        set.gauge(
            "node_md_blocks_synced",
            "Number of blocks synced on device.",
        )
        .push(device(), synced_blocks(&array, blocks) as f64);
    }
}
