//! CPU usage from /proc/stat deltas (spec data-model.md §2.3). STUB: interface only.

use crate::roots::Roots;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuUsage {
    /// Busy % of all CPUs, 2 dp.
    pub total: f64,
    /// [user, system, iowait, steal, idle] %, 2 dp.
    pub breakdown: [f64; 5],
    /// Per-core busy %, rounded to integers.
    pub per_core: Vec<u8>,
}

pub struct CpuCollector {
    _roots: Roots,
}

impl CpuCollector {
    /// Seeds the 60000 ms baseline from the current /proc/stat.
    pub fn new(roots: &Roots) -> Self {
        CpuCollector {
            _roots: roots.clone(),
        }
    }

    /// Usage since the previous call with the same cache time.
    pub fn sample(&mut self, _cache_time_ms: u16) -> CpuUsage {
        CpuUsage::default()
    }
}
