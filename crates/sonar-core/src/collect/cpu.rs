//! CPU usage from `/proc/stat` deltas (spec data-model.md §2.3).
//!
//! Baselines are kept per cache time, as the Go agent does: only 60000 is seeded at start, and a
//! cache time seen for the first time starts from a copy of the 60000 baseline. Deltas are taken
//! on the integer jiffy counters, so the percentages are exact (no CLK_TCK division needed: it
//! cancels out of every ratio).

use std::path::PathBuf;

use crate::baselines::Baselines;
use crate::roots::{read_proc_into, warn_garbled, Roots};
use crate::units::{clamp_pct, two_decimals};

/// The cache time whose baseline is seeded at start and copied into every new cache time.
const SEED_CACHE_TIME: u16 = 60000;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuUsage {
    /// Busy % of all CPUs, 2 dp.
    pub total: f64,
    /// [user, system, iowait, steal, idle] %, 2 dp; None where the OS gives no breakdown
    /// (the portable path): the payload then leaves `cpub` out instead of sending zeros.
    pub breakdown: Option<[f64; 5]>,
    /// Per-core busy %, rounded to integers.
    pub per_core: Vec<u8>,
}

/// One `cpu` line of /proc/stat, in jiffies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
    pub guest: u64,
    pub guest_nice: u64,
}

impl CpuTimes {
    /// All time, without guest and guest_nice: Linux already counts them in user and nice.
    fn total(&self) -> i128 {
        let sum: i128 = [
            self.user,
            self.nice,
            self.system,
            self.idle,
            self.iowait,
            self.irq,
            self.softirq,
            self.steal,
            self.guest,
            self.guest_nice,
        ]
        .iter()
        .map(|&v| v as i128)
        .sum();
        sum - self.guest as i128 - self.guest_nice as i128
    }

    fn busy(&self) -> i128 {
        self.total() - self.idle as i128 - self.iowait as i128
    }
}

/// Busy % between two samples, clamped; 0 when either the total or the busy time did not grow.
fn busy_pct(prev: &CpuTimes, cur: &CpuTimes) -> f64 {
    let d_total = cur.total() - prev.total();
    let d_busy = cur.busy() - prev.busy();
    if d_total <= 0 || d_busy <= 0 {
        return 0.0;
    }
    clamp_pct(d_busy as f64 / d_total as f64 * 100.0)
}

fn field_pct(prev: u64, cur: u64, d_total: i128) -> f64 {
    let d = cur as i128 - prev as i128;
    two_decimals(clamp_pct(d as f64 / d_total as f64 * 100.0))
}

/// One `cpuN` line: the CPU number keeps baselines aligned when a CPU goes offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CoreTimes {
    pub id: u32,
    pub times: CpuTimes,
}

/// Parses the values after the `cpu…` name. Like gopsutil, a line needs at least the seven
/// fields up to softirq; steal, guest and guest_nice default to 0 on old kernels.
fn parse_times<'a>(mut fields: impl Iterator<Item = &'a str>) -> Option<CpuTimes> {
    let mut v = [0u64; 10];
    let mut n = 0;
    for slot in v.iter_mut() {
        match fields.next() {
            Some(f) => {
                *slot = f.parse().ok()?;
                n += 1;
            }
            None => break,
        }
    }
    if n < 7 {
        return None;
    }
    let [user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice] = v;
    Some(CpuTimes {
        user,
        nice,
        system,
        idle,
        iowait,
        irq,
        softirq,
        steal,
        guest,
        guest_nice,
    })
}

/// Parses /proc/stat text: the aggregate line (first line, if it is a `cpu` line) and the
/// per-CPU lines that follow it, into `cores` (cleared first).
pub(crate) fn parse_stat(text: &str, cores: &mut Vec<CoreTimes>) -> Option<CpuTimes> {
    cores.clear();
    let mut lines = text.lines();
    let first = lines.next()?;
    let total = if first.starts_with("cpu") {
        let mut fields = first.split_ascii_whitespace();
        fields.next();
        parse_times(fields)
    } else {
        None
    };
    if total.is_some() {
        for line in lines {
            if !line.starts_with("cpu") {
                break;
            }
            let mut fields = line.split_ascii_whitespace();
            let Some(id) = fields
                .next()
                .and_then(|name| name.strip_prefix("cpu"))
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(times) = parse_times(fields) {
                cores.push(CoreTimes { id, times });
            }
        }
    }
    total
}

/// Per-core busy % for the first min(len(prev), len(cur)) current CPUs. A CPU is compared with
/// the baseline of the same CPU number, so an offlined CPU in the middle does not shift the rest.
fn per_core_usage(prev: &[CoreTimes], cur: &[CoreTimes], out: &mut Vec<u8>) {
    let len = prev.len().min(cur.len());
    out.clear();
    out.reserve(len);
    for (i, core) in cur.iter().take(len).enumerate() {
        let base = match prev.get(i) {
            Some(p) if p.id == core.id => Some(p),
            _ => prev
                .binary_search_by_key(&core.id, |p| p.id)
                .ok()
                .and_then(|j| prev.get(j)),
        };
        let pct = base.map_or(0.0, |b| busy_pct(&b.times, &core.times));
        out.push(pct.round() as u8);
    }
}

/// What a missing or garbled /proc/stat costs (for its one warning).
const STAT_LOST: &str = "CPU usage is reported as 0";

pub struct CpuCollector {
    proc_root: PathBuf,
    stat_path: PathBuf,
    /// Reused read buffer: /proc/stat is read on every sample.
    buf: String,
    totals: Baselines<CpuTimes>,
    cores: Baselines<Vec<CoreTimes>>,
    /// The current per-core sample; swapped into the baseline map after use.
    scratch: Vec<CoreTimes>,
    /// Outside Linux, when /proc/stat is absent: one sysinfo meter per cache time.
    #[cfg(not(target_os = "linux"))]
    portable: Baselines<crate::collect::portable::CpuMeter>,
}

impl CpuCollector {
    /// Seeds the 60000 ms baseline from the current /proc/stat.
    pub fn new(roots: &Roots) -> Self {
        let mut collector = CpuCollector {
            proc_root: roots.proc.clone(),
            stat_path: roots.proc("stat"),
            buf: String::with_capacity(4096),
            totals: Baselines::new(),
            cores: Baselines::new(),
            scratch: Vec::new(),
            #[cfg(not(target_os = "linux"))]
            portable: Baselines::new(),
        };
        if let Some(total) = collector.read() {
            collector.totals.insert(SEED_CACHE_TIME, total);
            if !collector.scratch.is_empty() {
                let cores = std::mem::take(&mut collector.scratch);
                collector.cores.insert(SEED_CACHE_TIME, cores);
            }
        } else {
            #[cfg(not(target_os = "linux"))]
            collector
                .portable
                .insert(SEED_CACHE_TIME, crate::collect::portable::CpuMeter::new());
        }
        collector
    }

    /// How many cache times keep a baseline (totals or per-core, whichever has more).
    pub fn windows(&self) -> usize {
        self.totals.len().max(self.cores.len())
    }

    /// Reads /proc/stat into the buffer; the per-core lines land in `scratch`.
    fn read(&mut self) -> Option<CpuTimes> {
        if !read_proc_into(&self.proc_root, &self.stat_path, &mut self.buf, STAT_LOST) {
            return None;
        }
        let times = parse_stat(&self.buf, &mut self.scratch);
        if times.is_none() {
            warn_garbled(&self.proc_root, &self.stat_path, &self.buf, STAT_LOST);
        }
        times
    }

    /// Usage since the previous call with the same cache time.
    pub fn sample(&mut self, cache_time_ms: u16) -> CpuUsage {
        let Some(cur) = self.read() else {
            #[cfg(not(target_os = "linux"))]
            return self.portable_usage(cache_time_ms);
            #[cfg(target_os = "linux")]
            return CpuUsage {
                breakdown: Some([0.0; 5]),
                ..CpuUsage::default()
            };
        };
        let mut usage = CpuUsage {
            breakdown: Some([0.0; 5]),
            ..CpuUsage::default()
        };

        let seed = self
            .totals
            .get(SEED_CACHE_TIME)
            .copied()
            .unwrap_or_default();
        let prev = *self.totals.get_or_insert_with(cache_time_ms, || seed);
        let d_total = cur.total() - prev.total();
        // A total that did not grow gives zeros and keeps the baseline (spec §2.3). One that went
        // backwards (counters restarted, e.g. lxcfs after a container restart) starts over from
        // the new counters; keeping the old baseline would pin the CPU at 0 until they caught up.
        if d_total < 0 {
            self.totals.insert(cache_time_ms, cur);
        } else if d_total > 0 {
            usage.total = two_decimals(busy_pct(&prev, &cur));
            usage.breakdown = Some([
                field_pct(prev.user, cur.user, d_total),
                field_pct(prev.system, cur.system, d_total),
                field_pct(prev.iowait, cur.iowait, d_total),
                field_pct(prev.steal, cur.steal, d_total),
                field_pct(prev.idle, cur.idle, d_total),
            ]);
            self.totals.insert(cache_time_ms, cur);
        }

        if !self.scratch.is_empty() {
            if self.cores.get(cache_time_ms).is_none() {
                let seed = self.cores.get(SEED_CACHE_TIME).cloned().unwrap_or_default();
                self.cores.insert(cache_time_ms, seed);
            }
            if let Some(prev_cores) = self.cores.get_mut(cache_time_ms) {
                per_core_usage(prev_cores, &self.scratch, &mut usage.per_core);
                // The per-core baseline is always replaced; the old vector becomes the scratch.
                std::mem::swap(prev_cores, &mut self.scratch);
            }
        }
        usage
    }

    #[cfg(not(target_os = "linux"))]
    fn portable_usage(&mut self, cache_time_ms: u16) -> CpuUsage {
        // A new cache time starts from the meter seeded at start (as the Linux path copies the
        // seed baseline), so its first figure measures the time since then, not 0.
        if self.portable.get(cache_time_ms).is_none() {
            if let Some(seed) = self.portable.take(SEED_CACHE_TIME) {
                self.portable.insert(cache_time_ms, seed);
            }
        }
        let pcts = self.portable.get_or_default(cache_time_ms).usage();
        CpuUsage {
            total: pcts.total,
            breakdown: None,
            per_core: pcts.per_core,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_old_kernel_lines_without_steal_and_guest() {
        let mut cores = Vec::new();
        let t = parse_stat(
            "cpu  1 2 3 4 5 6 7\ncpu0 1 2 3 4 5 6 7\nintr 1\n",
            &mut cores,
        )
        .unwrap();
        assert_eq!(t.softirq, 7);
        assert_eq!(t.steal, 0);
        assert_eq!(cores.len(), 1);
    }

    #[test]
    fn short_or_garbled_lines_are_skipped() {
        let mut cores = Vec::new();
        assert!(parse_stat("cpu 1 2 3\n", &mut cores).is_none());
        assert!(parse_stat("", &mut cores).is_none());
        assert!(parse_stat("intr 5\n", &mut cores).is_none());
        let text = "cpu 1 2 3 4 5 6 7 8 9 10\ncpu0 1 x 3 4 5 6 7\ncpu1 1 2 3 4 5 6 7 8\n";
        assert!(parse_stat(text, &mut cores).is_some());
        assert_eq!(cores.len(), 1);
        assert_eq!(cores[0].id, 1);
    }

    #[test]
    fn guest_time_is_not_counted_twice() {
        let t = CpuTimes {
            user: 100,
            nice: 10,
            guest: 40,
            guest_nice: 5,
            idle: 50,
            ..CpuTimes::default()
        };
        assert_eq!(t.total(), 160);
        assert_eq!(t.busy(), 110);
    }
}
