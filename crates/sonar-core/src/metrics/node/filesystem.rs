//! node_exporter's `filesystem` collector: the host's mount table (HOST_PROC's 1/mountinfo)
//! with its default mount point and filesystem type exclusions, and statvfs of each mount: on the
//! scrape's thread for local and memory filesystems (answered from in-memory counters), through
//! the core's worker for the rest, where a mount that does not answer in time (a hung NFS
//! server) gives `node_filesystem_device_error 1`, never a stuck scrape.

use super::mount_table::MountTable;
use crate::collect::disk::mountinfo::Partition;
use crate::collect::disk::statfs::{answers_from_memory, RawProbe, StatfsRunner};
use crate::collect::disk::statfs_path;
use crate::metrics::MetricSet;
use crate::roots::Roots;
use std::collections::HashSet;

/// node_exporter 1.5's default `--collector.filesystem.fs-types-exclude`.
const EXCLUDED_FS_TYPES: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "devtmpfs",
    "fusectl",
    "hugetlbfs",
    "iso9660",
    "mqueue",
    "nsfs",
    "overlay",
    "proc",
    "procfs",
    "pstore",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "squashfs",
    "sysfs",
    "tracefs",
];

/// node_exporter 1.5's default `--collector.filesystem.mount-points-exclude`:
/// `^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)`.
pub(super) fn excluded_mount_point(mountpoint: &str) -> bool {
    let Some(rest) = mountpoint.strip_prefix('/') else {
        return false;
    };
    let whole_or_below = |top: &str| {
        rest.strip_prefix(top)
            .is_some_and(|tail| tail.is_empty() || tail.starts_with('/'))
    };
    // `X/.+($|/)`: anything strictly below X
    let strictly_below = |top: &str| {
        rest.strip_prefix(top)
            .and_then(|tail| tail.strip_prefix('/'))
            .is_some_and(|tail| !tail.is_empty())
    };
    whole_or_below("dev")
        || whole_or_below("proc")
        || whole_or_below("sys")
        || strictly_below("run/credentials")
        || strictly_below("var/lib/docker")
        || strictly_below("var/lib/containers/storage")
}

fn labels(p: &Partition) -> Vec<(&'static str, String)> {
    vec![
        ("device", p.device.clone()),
        ("fstype", p.fstype.clone()),
        ("mountpoint", p.mountpoint.clone()),
    ]
}

pub(super) fn families(
    roots: &Roots,
    statfs: &mut StatfsRunner,
    table: &mut MountTable,
    set: &mut MetricSet,
) {
    let Some(partitions) =
        table.partitions(&[roots.proc("1/mountinfo"), roots.proc("self/mountinfo")])
    else {
        return;
    };
    let mut seen = HashSet::new();
    let mounts: Vec<&Partition> = partitions
        .iter()
        .filter(|p| !EXCLUDED_FS_TYPES.contains(&p.fstype.as_str()))
        .filter(|p| !excluded_mount_point(&p.mountpoint))
        // the same mount seen twice (a bind mount of itself) is one series
        .filter(|p| seen.insert((p.device.clone(), p.fstype.clone(), p.mountpoint.clone())))
        .collect();
    for p in &mounts {
        // as node_exporter 1.5: a mount that fails or hangs reports device_error 1 and nothing
        // else; read-only comes from the mount options
        let path = statfs_path(&roots.root, &p.mountpoint);
        let answer = if answers_from_memory(&p.fstype) {
            statfs.probe_raw_in_place(&path)
        } else {
            statfs.probe_raw(&path)
        };
        let failed = !matches!(answer, RawProbe::Answer(Ok(_)));
        set.gauge(
            "node_filesystem_device_error",
            "Whether an error occurred while getting statistics for the given device.",
        )
        .push(labels(p), if failed { 1.0 } else { 0.0 });
        let RawProbe::Answer(Ok(s)) = answer else {
            continue;
        };
        let block = s.frsize as f64;
        for (name, help, value) in [
            (
                "node_filesystem_size_bytes",
                "Filesystem size in bytes.",
                s.blocks as f64 * block,
            ),
            (
                "node_filesystem_free_bytes",
                "Filesystem free space in bytes.",
                s.bfree as f64 * block,
            ),
            (
                "node_filesystem_avail_bytes",
                "Filesystem space available to non-root users in bytes.",
                s.bavail as f64 * block,
            ),
            (
                "node_filesystem_files",
                "Filesystem total file nodes.",
                s.files as f64,
            ),
            (
                "node_filesystem_files_free",
                "Filesystem total free file nodes.",
                s.ffree as f64,
            ),
        ] {
            set.gauge(name, help).push(labels(p), value);
        }
        set.gauge("node_filesystem_readonly", "Filesystem read-only status.")
            .push(labels(p), if p.read_only { 1.0 } else { 0.0 });
    }
}
