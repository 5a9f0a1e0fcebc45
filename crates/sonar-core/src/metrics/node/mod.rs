//! node_exporter-compatible families (its exact names, types, units and labels, as of
//! node_exporter 1.5), read fresh from the host's /proc and /sys under the configured roots:
//! raw counters, so the hub's rate baselines and snapshot cache are never touched. A file that
//! is missing or unreadable leaves its families out; nothing here panics or blocks on a hung
//! mount (statvfs runs on the core's worker with its timeout).
//!
//! One file per source, as node_exporter has one collector per source: `cpu` (/proc/stat),
//! `cpufreq`, `schedstat`, `softnet`, `arp`,
//! `system` (load, time, uname, os-release), `memory` (/proc/meminfo), `filesystem` (mount
//! table + statvfs), `diskstats`, `md` (RAID arrays), `netdev` (/proc/net/dev), `netclass` (/sys/class/net), `netstat` (protocol counters), `sockstat`,
//! `hwmon` (/sys/class/hwmon), `thermal` (zones, cooling devices), `vmstat`, `pressure` (PSI), `kernel` (file handles, entropy,
//! conntrack), `timex` (adjtimex).

mod arp;
mod cpu;
mod cpufreq;
mod diskstats;
mod filesystem;
mod hwmon;
mod kept_files;
mod kernel;
mod md;
mod memory;
mod mount_table;
mod netclass;
mod netdev;
mod netstat;
mod pressure;
mod schedstat;
mod sockstat;
mod softnet;
mod system;
mod thermal;
mod timex;
mod vmstat;

use super::MetricSet;
use crate::collect::disk::statfs::{self, StatfsFn, StatfsRunner};
use crate::settings::Settings;
use kept_files::KeptFiles;
use std::sync::Arc;

/// The state a scrape keeps between readings: the statvfs worker (so a mount that hung stays
/// marked until its call returns), the kernel files kept open and one reused read buffer.
/// Created on the first reading.
pub struct NodeCollector {
    settings: Settings,
    statfs: StatfsRunner,
    files: KeptFiles,
    mounts: mount_table::MountTable,
    buf: String,
}

impl NodeCollector {
    pub fn new(settings: &Settings) -> Self {
        Self::with_statfs(settings, Arc::new(statfs::statvfs))
    }

    /// The seam tests use to replace statvfs (a hung NFS server cannot be staged in a test).
    pub(crate) fn with_statfs(settings: &Settings, func: StatfsFn) -> Self {
        NodeCollector {
            statfs: StatfsRunner::new(func, settings.statfs_timeout),
            settings: settings.clone(),
            files: KeptFiles::new(),
            mounts: Default::default(),
            buf: String::with_capacity(16 * 1024),
        }
    }

    /// Adds the node_* families of one reading.
    pub fn families(&mut self, set: &mut MetricSet) {
        let roots = &self.settings.roots;
        let (files, buf) = (&mut self.files, &mut self.buf);
        cpu::families(roots, files, buf, set);
        cpufreq::families(roots, files, set);
        schedstat::families(roots, files, buf, set);
        system::families(roots, files, buf, set);
        memory::families(roots, files, buf, set);
        filesystem::families(roots, &mut self.statfs, &mut self.mounts, set);
        diskstats::families(roots, files, buf, set);
        md::families(roots, set);
        netdev::families(roots, files, buf, set);
        netclass::families(roots, files, set);
        netstat::families(roots, files, buf, set);
        sockstat::families(roots, files, buf, set);
        softnet::families(roots, files, buf, set);
        arp::families(roots, files, buf, set);
        hwmon::families(&self.settings.sensors_sys, files, set);
        thermal::families(&self.settings.sensors_sys, files, set);
        vmstat::families(roots, files, buf, set);
        pressure::families(roots, files, buf, set);
        kernel::families(roots, files, buf, set);
        timex::families(set);
        files.end_round();
    }
}

#[cfg(test)]
mod tests;
