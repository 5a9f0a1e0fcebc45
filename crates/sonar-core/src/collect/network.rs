//! Network interface rates from /proc/net/dev (spec §2.5, §3.3). STUB: interface only.

use crate::settings::Settings;
use std::time::Instant;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkSample {
    /// name → [up B/s, down B/s, total bytes sent, total bytes received], sorted by name.
    pub interfaces: Vec<(String, [u64; 4])>,
    /// MiB/s, 2 dp.
    pub sent_ps: f64,
    pub recv_ps: f64,
    /// [sent B/s, received B/s].
    pub bandwidth: [u64; 2],
}

pub struct NetworkCollector {}

impl NetworkCollector {
    pub fn new(_settings: &Settings) -> Self {
        NetworkCollector {}
    }

    pub fn sample(&mut self, _cache_time_ms: u16, _now: Instant) -> NetworkSample {
        NetworkSample::default()
    }
}
