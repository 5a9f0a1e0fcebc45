//! Filesystems and disk I/O (spec §3.2, §2.4). STUB: interface only.

use crate::settings::Settings;
use std::time::Instant;

/// One filesystem's usage and I/O rates for a cache time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FsUsage {
    /// GiB, 2 dp.
    pub total: f64,
    /// GiB, 2 dp.
    pub used: f64,
    /// used/(used+avail)·100, 2 dp (gopsutil UsedPercent).
    pub pct: f64,
    /// MiB/s, 2 dp.
    pub read_ps: f64,
    pub write_ps: f64,
    /// bytes/s.
    pub read_bytes: u64,
    pub write_bytes: u64,
    /// [read-time %, write-time %, util %, r_await ms, w_await ms, weighted %], 2 dp.
    pub io_stats: [f64; 6],
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiskSample {
    pub root: FsUsage,
    /// Non-root filesystems with a total above 0, keyed by custom name or device key.
    pub extra: Vec<(String, FsUsage)>,
}

pub struct DiskCollector {}

impl DiskCollector {
    pub fn new(_settings: &Settings) -> Self {
        DiskCollector {}
    }

    pub fn sample(&mut self, _cache_time_ms: u16, _now: Instant) -> DiskSample {
        DiskSample::default()
    }
}
