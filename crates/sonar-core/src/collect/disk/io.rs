//! Disk I/O rates per cache time (spec §2.4). Each cache time keeps its own baseline per device,
//! so a 1 s real-time view never shortens the 60 s window and vice versa. A cache time that sees
//! a device for the first time starts from the most recent successful baseline of any cache time.

use super::diskstats::IoCounters;
use crate::baselines::Baselines;
use crate::delta::counter_delta;
use crate::units::{bytes_to_mib, clamp_pct, per_second, two_decimals};
use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// Go's plausibility cap: more than this many MiB/s in either direction is a bad reading.
const MAX_MIB_PER_SECOND: f64 = 50_000.0;
/// Shorter intervals give meaningless rates.
const MIN_ELAPSED_MS: u64 = 100;
const SECTOR_BYTES: u64 = 512;

#[derive(Debug, Clone, Copy)]
struct Snapshot {
    counters: IoCounters,
    at: Instant,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct IoRates {
    pub read_bytes: u64,
    pub write_bytes: u64,
    /// MiB/s, 2 dp.
    pub read_ps: f64,
    pub write_ps: f64,
    /// [read-time %, write-time %, util %, r_await ms, w_await ms, weighted-io %], 2 dp.
    pub io_stats: [f64; 6],
}

#[derive(Debug, Default)]
pub(super) struct IoState {
    per_cache_time: Baselines<HashMap<String, Snapshot>>,
    /// Last successful baseline of any cache time; seeds cache times new to a device.
    latest: HashMap<String, Snapshot>,
}

impl IoState {
    /// Gives a device its starting point (at start-up or when it is first tracked).
    pub fn seed(&mut self, device: &str, counters: IoCounters, now: Instant) {
        self.latest
            .entry(device.to_string())
            .or_insert(Snapshot { counters, at: now });
    }

    /// How many cache times keep a window.
    pub fn windows(&self) -> usize {
        self.per_cache_time.len()
    }

    /// Drops the state of devices no longer tracked.
    pub fn retain(&mut self, devices: &HashSet<String>) {
        self.latest.retain(|d, _| devices.contains(d));
        self.per_cache_time
            .for_each_mut(|baselines| baselines.retain(|d, _| devices.contains(d)));
    }

    pub fn rates(
        &mut self,
        cache_time_ms: u16,
        device: &str,
        cur: IoCounters,
        now: Instant,
    ) -> IoRates {
        let IoState {
            per_cache_time,
            latest,
        } = self;
        let baselines = per_cache_time.get_or_default(cache_time_ms);
        let prev = match baselines.get(device) {
            Some(p) => *p,
            None => {
                let seed = latest.get(device).copied().unwrap_or(Snapshot {
                    counters: cur,
                    at: now,
                });
                baselines.insert(device.to_string(), seed);
                seed
            }
        };
        let elapsed_ms =
            u64::try_from(now.saturating_duration_since(prev.at).as_millis()).unwrap_or(u64::MAX);
        if elapsed_ms < MIN_ELAPSED_MS {
            // Keep the older baseline so the next call measures a long enough interval.
            return IoRates::default();
        }
        let current = Snapshot {
            counters: cur,
            at: now,
        };
        baselines.insert(device.to_string(), current);

        let p = &prev.counters;
        let read_bytes = per_second(
            counter_delta(p.read_sectors, cur.read_sectors).saturating_mul(SECTOR_BYTES),
            elapsed_ms,
        );
        let write_bytes = per_second(
            counter_delta(p.write_sectors, cur.write_sectors).saturating_mul(SECTOR_BYTES),
            elapsed_ms,
        );
        let read_ps = bytes_to_mib(read_bytes as f64);
        let write_ps = bytes_to_mib(write_bytes as f64);
        if read_ps > MAX_MIB_PER_SECOND || write_ps > MAX_MIB_PER_SECOND {
            // This cache time's baseline was just re-seeded from the current counters; other
            // cache times keep theirs (unlike Go, which resets every window).
            return IoRates::default();
        }
        latest.insert(device.to_string(), current);

        let elapsed = elapsed_ms as f64;
        let read_time = counter_delta(p.read_time_ms, cur.read_time_ms);
        let write_time = counter_delta(p.write_time_ms, cur.write_time_ms);
        let reads = counter_delta(p.read_count, cur.read_count);
        let writes = counter_delta(p.write_count, cur.write_count);
        let io_time = counter_delta(p.io_time_ms, cur.io_time_ms);
        let weighted = counter_delta(p.weighted_io_ms, cur.weighted_io_ms);
        let await_ms = |time: u64, ops: u64| {
            if ops == 0 {
                0.0
            } else {
                two_decimals(time as f64 / ops as f64)
            }
        };
        IoRates {
            read_bytes,
            write_bytes,
            read_ps,
            write_ps,
            io_stats: [
                // Read/write time and the weighted time may exceed 100 % with parallel I/O.
                two_decimals(read_time as f64 / elapsed * 100.0),
                two_decimals(write_time as f64 / elapsed * 100.0),
                // The device cannot be busy longer than wall time; only timer jitter gets there.
                two_decimals(clamp_pct(io_time as f64 / elapsed * 100.0)),
                await_ms(read_time, reads),
                await_ms(write_time, writes),
                two_decimals(weighted as f64 / elapsed * 100.0),
            ],
        }
    }
}
