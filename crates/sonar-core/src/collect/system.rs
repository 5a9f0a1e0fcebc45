//! Host facts: hostname, kernel, cores/threads, CPU model, uptime, load. STUB: interface only.

use crate::roots::Roots;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostInfo {
    pub hostname: String,
    pub kernel: String,
    /// Physical cores (lowered to the logical count under LXC limits).
    pub cores: u64,
    /// Logical CPUs; 0 when the LXC rule applies.
    pub threads: u64,
    pub cpu_model: String,
}

impl HostInfo {
    pub fn read(_roots: &Roots) -> HostInfo {
        HostInfo::default()
    }
}

/// Seconds since boot.
pub fn uptime_secs(_roots: &Roots) -> u64 {
    0
}

/// 1, 5 and 15 minute load averages, unrounded.
pub fn load_avg(_roots: &Roots) -> [f64; 3] {
    [0.0; 3]
}
