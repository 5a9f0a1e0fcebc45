//! node_exporter-compatible families (its exact names, types, units and labels, as of
//! node_exporter 1.5), read fresh from the host's /proc and /sys under the configured roots:
//! raw counters, so the hub's rate baselines and snapshot cache are never touched. A file that
//! is missing or unreadable leaves its families out; nothing here panics or blocks on a hung
//! mount (statvfs runs on the core's worker with its timeout).
//!
//! One file per source, as node_exporter has one collector per source: `cpu` (/proc/stat),
//! `system` (load, time, uname, os-release), `memory` (/proc/meminfo), `filesystem` (mount
//! table + statvfs), `diskstats`, `md` (RAID arrays), `netdev` (/proc/net/dev), `netclass` (/sys/class/net), `netstat` (protocol counters), `sockstat`,
//! `hwmon` (/sys/class/hwmon), `vmstat`, `pressure` (PSI), `kernel` (file handles, entropy,
//! conntrack), `timex` (adjtimex).

mod cpu;
mod diskstats;
mod filesystem;
mod hwmon;
mod kernel;
mod md;
mod memory;
mod netclass;
mod netdev;
mod netstat;
mod pressure;
mod sockstat;
mod system;
mod timex;
mod vmstat;

use super::MetricSet;
use crate::collect::disk::statfs::{self, StatfsFn, StatfsRunner};
use crate::settings::Settings;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// The state a scrape keeps between readings: the statvfs worker (so a mount that hung stays
/// marked until its call returns) and one reused read buffer. Created on the first reading.
pub struct NodeCollector {
    settings: Settings,
    statfs: StatfsRunner,
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
            buf: String::with_capacity(16 * 1024),
        }
    }

    /// Adds the node_* families of one reading.
    pub fn families(&mut self, set: &mut MetricSet) {
        let roots = &self.settings.roots;
        cpu::families(roots, &mut self.buf, set);
        system::families(roots, &mut self.buf, set);
        memory::families(roots, &mut self.buf, set);
        filesystem::families(roots, &mut self.statfs, &mut self.buf, set);
        diskstats::families(roots, &mut self.buf, set);
        md::families(roots, set);
        netdev::families(roots, &mut self.buf, set);
        netclass::families(roots, set);
        netstat::families(roots, &mut self.buf, set);
        sockstat::families(roots, &mut self.buf, set);
        hwmon::families(&self.settings.sensors_sys, set);
        vmstat::families(roots, &mut self.buf, set);
        pressure::families(roots, &mut self.buf, set);
        kernel::families(roots, &mut self.buf, set);
        timex::families(set);
    }
}

/// Reads a whole file into the reused buffer; false (buffer empty) when it cannot be read.
fn read_into(path: &Path, buf: &mut String) -> bool {
    buf.clear();
    match std::fs::File::open(path) {
        Ok(mut file) => {
            file.read_to_string(buf).is_ok() || {
                buf.clear();
                false
            }
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests;
