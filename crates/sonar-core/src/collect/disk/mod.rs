//! Filesystems and disk I/O (spec §3.2, §2.4; keys d/du/dp/dr/dw/dio/dios of §1.2 and the `efs`
//! values of §1.5).
//!
//! Cost per sample: one read of `/proc/diskstats` and one statvfs per filesystem due (through a
//! worker thread, see `statfs`). Mountinfo is read at start, every minute, and soon after a
//! statvfs failed (a filesystem may have been unmounted).

mod discovery;
pub(crate) mod diskstats;
mod drives;
mod io;
pub(crate) mod mountinfo;
pub(crate) mod statfs;
#[cfg(test)]
mod tests;

pub use discovery::TrackedFs;

use crate::model::FsStats;
use crate::roots::read_proc_into;
use crate::settings::Settings;
use crate::units::{bytes_to_gib, two_decimals};
use io::{IoRates, IoState};
use statfs::{Probe, RawUsage, StatfsFn, StatfsRunner};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const REDISCOVER_EVERY: Duration = Duration::from_secs(60);
/// After a statvfs error, look at the mounts again, but not more often than this.
const REDISCOVER_AFTER_FAILURE: Duration = Duration::from_secs(5);
/// Extras whose total and used bytes both lie this close to root's are root seen again (a bind
/// mount, Docker's view of the host root…; Beszel #1428).
const DUPLICATE_TOLERANCE_BYTES: u64 = 16 * 1024 * 1024;

/// One filesystem's usage and I/O rates for a cache time: the hub's FsStats, plus the root
/// disk's percentage (gopsutil UsedPercent = used/(used+avail)·100, 2 dp — not used/total).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FsUsage {
    pub stats: FsStats,
    pub pct: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiskSample {
    pub root: FsUsage,
    /// Non-root filesystems with a total above 0, keyed by custom name or device key.
    pub extra: Vec<(String, FsUsage)>,
}

#[derive(Debug, Clone, Copy, Default)]
struct UsageState {
    /// The last answer; `None` while unavailable or after an error.
    usage: Option<RawUsage>,
    /// statvfs answered at least once (success or error); DISK_USAGE_CACHE may reuse it.
    measured: bool,
    duplicate_checked: bool,
    /// Same usage as root: not reported.
    duplicate: bool,
}

pub struct DiskCollector {
    settings: Settings,
    statfs: StatfsRunner,
    /// Root first.
    filesystems: Vec<TrackedFs>,
    io_devices: HashSet<String>,
    /// By mountpoint, so a re-read of the mounts keeps cached usage.
    usage: HashMap<String, UsageState>,
    io: IoState,
    discovered_at: Instant,
    rediscover: bool,
    extras_refreshed_at: Option<Instant>,
    /// Windows has no mount table or statvfs: its drives come from sysinfo.
    #[cfg(windows)]
    drives: drives::Drives,
}

impl DiskCollector {
    pub fn new(settings: &Settings) -> Self {
        Self::with_statfs(settings, Arc::new(statfs::statvfs), Instant::now())
    }

    /// The seam tests use to replace statvfs (a hung NFS server cannot be staged in a test).
    fn with_statfs(settings: &Settings, func: StatfsFn, now: Instant) -> Self {
        let mut collector = DiskCollector {
            statfs: StatfsRunner::new(func, settings.statfs_timeout),
            settings: settings.clone(),
            filesystems: Vec::new(),
            io_devices: HashSet::new(),
            usage: HashMap::new(),
            io: IoState::default(),
            discovered_at: now,
            rediscover: false,
            extras_refreshed_at: None,
            #[cfg(windows)]
            drives: drives::Drives::new(),
        };
        let diskstats = collector.read_diskstats();
        collector.discover(&diskstats, now);
        collector
    }

    /// How many cache times keep I/O baselines.
    pub fn windows(&self) -> usize {
        self.io.windows()
    }

    /// The tracked filesystems, root first (for logs: which device feeds which metric).
    pub fn filesystems(&self) -> &[TrackedFs] {
        &self.filesystems
    }

    pub fn sample(&mut self, cache_time_ms: u16, now: Instant) -> DiskSample {
        #[cfg(windows)]
        {
            let _ = (cache_time_ms, now); // drives have no I/O baselines (see drives.rs)
            self.drives.sample()
        }
        #[cfg(not(windows))]
        self.mounted_sample(cache_time_ms, now)
    }

    /// Unix: the mounted filesystems' usage (statvfs) and their disks' I/O (/proc/diskstats).
    #[cfg_attr(windows, allow(dead_code))]
    fn mounted_sample(&mut self, cache_time_ms: u16, now: Instant) -> DiskSample {
        let diskstats = self.read_diskstats();
        let since = now.saturating_duration_since(self.discovered_at);
        if since >= REDISCOVER_EVERY || (self.rediscover && since >= REDISCOVER_AFTER_FAILURE) {
            self.discover(&diskstats, now);
        }
        self.refresh_usage(now);

        let disks = diskstats::parse_named(&diskstats, &self.io_devices);
        let mut sample = DiskSample::default();
        for fs in &self.filesystems {
            let rates = fs
                .io_device
                .as_deref()
                .and_then(|dev| disks.iter().find(|d| d.name == dev))
                .map(|d| self.io.rates(cache_time_ms, &d.name, d.counters, now))
                .unwrap_or_default();
            let state = self.usage.get(&fs.mountpoint).copied().unwrap_or_default();
            if fs.root {
                sample.root = fs_usage(state.usage.unwrap_or_default(), rates);
                continue;
            }
            if state.duplicate {
                continue;
            }
            if let Some(usage) = state.usage {
                let usage = fs_usage(usage, rates);
                if usage.stats.disk_total > 0.0 {
                    sample.extra.push((fs.display_name().to_string(), usage));
                }
            }
        }
        sample
    }

    fn read_diskstats(&self) -> String {
        let roots = &self.settings.roots;
        let mut text = String::new();
        read_proc_into(
            &roots.proc,
            &roots.proc("diskstats"),
            &mut text,
            "disk I/O is reported as 0",
        );
        text
    }

    fn discover(&mut self, diskstats: &str, now: Instant) {
        let partitions = mountinfo::read_partitions(&self.settings.roots);
        let disks = diskstats::parse(diskstats);
        let root = self.settings.roots.root.clone();
        let runner = &mut self.statfs;
        let usage = &self.usage;
        let mut probe = |mountpoint: &str| {
            // A path already tracked and answering is kept without asking again, so a
            // re-read of the mounts does not wake a disk DISK_USAGE_CACHE lets sleep.
            let healthy = usage
                .get(mountpoint)
                .is_some_and(|s| s.usage.is_some() || !s.measured);
            if healthy {
                Probe::Unavailable
            } else {
                runner.probe(&statfs_path(&root, mountpoint))
            }
        };
        let previous_root_io = self
            .filesystems
            .iter()
            .find(|f| f.root)
            .and_then(|f| f.io_device.clone());
        self.filesystems = discovery::discover(
            &self.settings,
            &partitions,
            &disks,
            previous_root_io.as_deref(),
            &mut probe,
        );

        self.io_devices = self
            .filesystems
            .iter()
            .filter_map(|f| f.io_device.clone())
            .collect();
        self.io.retain(&self.io_devices);
        for d in disks.iter().filter(|d| self.io_devices.contains(&d.name)) {
            self.io.seed(&d.name, d.counters, now);
        }
        let filesystems = &self.filesystems;
        self.usage
            .retain(|mountpoint, _| filesystems.iter().any(|f| &f.mountpoint == mountpoint));
        self.discovered_at = now;
        self.rediscover = false;
    }

    /// Root every time; the others unless DISK_USAGE_CACHE says their last answer is recent
    /// enough (so sleeping disks stay asleep). A filesystem never measured is always asked.
    fn refresh_usage(&mut self, now: Instant) {
        let cache_extras = match (self.settings.disk_usage_cache, self.extras_refreshed_at) {
            (Some(ttl), Some(at)) => now.saturating_duration_since(at) < ttl,
            _ => false,
        };
        let root = &self.settings.roots.root;
        for fs in &self.filesystems {
            let state = self.usage.entry(fs.mountpoint.clone()).or_default();
            if !fs.root && (state.duplicate || (cache_extras && state.measured)) {
                continue;
            }
            match self.statfs.probe(&statfs_path(root, &fs.mountpoint)) {
                Probe::Usage(usage) => {
                    state.usage = Some(usage);
                    state.measured = true;
                }
                Probe::Failed => {
                    state.usage = None;
                    state.measured = true;
                    self.rediscover = true;
                }
                Probe::Unavailable => state.usage = None,
            }
        }
        if !cache_extras {
            self.extras_refreshed_at = Some(now);
        }

        let root_usage = self
            .filesystems
            .iter()
            .find(|f| f.root)
            .and_then(|f| self.usage.get(&f.mountpoint))
            .and_then(|s| s.usage);
        if let Some(root_usage) = root_usage {
            for fs in self.filesystems.iter().filter(|f| !f.root) {
                if let Some(state) = self.usage.get_mut(&fs.mountpoint) {
                    if let (false, Some(usage)) = (state.duplicate_checked, state.usage) {
                        state.duplicate = same_usage(&root_usage, &usage);
                        state.duplicate_checked = true;
                    }
                }
            }
        }
    }
}

/// Mountpoints are paths in the agent's filesystem view, which tests move under a fixture root.
/// Where a mount point of the host's mount table is reached from here (under `root`).
pub(crate) fn statfs_path(root: &Path, mountpoint: &str) -> PathBuf {
    root.join(mountpoint.trim_start_matches('/'))
}

fn same_usage(a: &RawUsage, b: &RawUsage) -> bool {
    a.total > 0
        && b.total > 0
        && a.total.abs_diff(b.total) <= DUPLICATE_TOLERANCE_BYTES
        && a.used.abs_diff(b.used) <= DUPLICATE_TOLERANCE_BYTES
}

fn fs_usage(usage: RawUsage, rates: IoRates) -> FsUsage {
    FsUsage {
        stats: FsStats {
            disk_total: bytes_to_gib(usage.total as f64),
            disk_used: bytes_to_gib(usage.used as f64),
            read_ps: rates.read_ps,
            write_ps: rates.write_ps,
            read_bytes: rates.read_bytes,
            write_bytes: rates.write_bytes,
            io_stats: rates.io_stats,
        },
        pct: two_decimals(usage.used_pct()),
    }
}
