//! Memory, swap and ZFS ARC from /proc/meminfo and arcstats (spec §3.1). STUB: interface only.

use crate::roots::Roots;

/// Everything in GiB (2 dp) except `pct`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryUsage {
    pub total: f64,
    pub used: f64,
    pub pct: f64,
    pub buff_cache: f64,
    pub zfs_arc: f64,
    pub swap_total: f64,
    pub swap_used: f64,
}

pub struct MemoryCollector {
    _roots: Roots,
}

impl MemoryCollector {
    pub fn new(roots: &Roots, _htop: bool) -> Self {
        MemoryCollector {
            _roots: roots.clone(),
        }
    }

    pub fn sample(&mut self) -> MemoryUsage {
        MemoryUsage::default()
    }
}
