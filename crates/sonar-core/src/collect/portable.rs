//! Fallback for operating systems without /proc and /sys (macOS, Windows, FreeBSD), built on
//! sysinfo 0.26. It gives the basics that the Linux collectors read from kernel files: host facts,
//! memory and swap, total and per-core CPU %, network interface counters and (on Windows, where
//! there is no statvfs) the fixed disks' usage. The Linux collectors do not use it on Linux; it is
//! compiled and tested there all the same. What sysinfo cannot give (the CPU breakdown, disk I/O,
//! ZFS ARC) is left out of the payload, not sent as zeros; `doctor` lists it per OS.

use std::time::{Duration, Instant};
pub use sysinfo::System;

use sysinfo::{CpuExt, CpuRefreshKind, DiskExt, NetworkExt, NetworksExt, SystemExt};

use crate::units::two_decimals;

/// A bare `System`: nothing is read until a function below refreshes what it needs. Keep it
/// between calls where a rate is wanted (CPU %).
pub fn new_system() -> System {
    System::new()
}

pub fn hostname(sys: &System) -> Option<String> {
    sys.host_name().filter(|h| !h.is_empty())
}

/// The kernel string Beszel shows for this OS: macOS and FreeBSD give their OS version
/// ("15.1", "14.1-RELEASE"), Windows "<product without 'Microsoft '> <version>", anything else
/// the kernel release.
pub fn kernel_version(sys: &System) -> String {
    let version = if cfg!(target_os = "windows") {
        sys.long_os_version().map(|product| {
            let product = product.replacen("Microsoft ", "", 1);
            match sys.kernel_version() {
                // gopsutil's version reads "10.0.<build> Build <build>[.<rev>]".
                Some(build) => format!("{product} 10.0.{build} Build {build}"),
                None => product,
            }
        })
    } else if cfg!(any(target_os = "macos", target_os = "freebsd")) {
        sys.os_version()
    } else {
        sys.kernel_version()
    };
    version.unwrap_or_default()
}

/// Physical cores and logical CPUs (0 where unknown).
pub fn core_counts(sys: &mut System) -> (u64, u64) {
    if sys.cpus().is_empty() {
        sys.refresh_cpu_specifics(CpuRefreshKind::new());
    }
    let logical = sys.cpus().len() as u64;
    let physical = sys.physical_core_count().map_or(0, |n| n as u64);
    (physical, logical)
}

pub fn cpu_brand(sys: &mut System) -> String {
    if sys.cpus().is_empty() {
        sys.refresh_cpu_specifics(CpuRefreshKind::new());
    }
    let brand = sys
        .cpus()
        .first()
        .map(|cpu| cpu.brand())
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| sys.global_cpu_info().brand());
    brand.trim().to_string()
}

/// The host facts sysinfo gives, as it gives them (no LXC rule: `system::HostInfo` applies it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    pub hostname: String,
    pub kernel: String,
    pub physical_cores: u64,
    pub logical_cpus: u64,
    pub cpu_model: String,
}

pub fn host_facts() -> HostFacts {
    let mut sys = new_system();
    let (physical_cores, logical_cpus) = core_counts(&mut sys);
    HostFacts {
        hostname: hostname(&sys).unwrap_or_default(),
        kernel: kernel_version(&sys),
        physical_cores,
        logical_cpus,
        cpu_model: cpu_brand(&mut sys),
    }
}

pub fn uptime_secs(sys: &System) -> u64 {
    sys.uptime()
}

pub fn load_avg(sys: &System) -> [f64; 3] {
    let load = sys.load_average();
    [load.one, load.five, load.fifteen]
}

/// Memory and swap, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemTotals {
    pub total: u64,
    /// Total − available, as sysinfo reports it.
    pub used: u64,
    pub free: u64,
    pub swap_total: u64,
    pub swap_used: u64,
}

pub fn memory(sys: &mut System) -> MemTotals {
    sys.refresh_memory();
    let total = sys.total_memory();
    MemTotals {
        total,
        used: sys.used_memory().min(total),
        free: sys.free_memory().min(total),
        swap_total: sys.total_swap(),
        swap_used: sys.used_swap().min(sys.total_swap()),
    }
}

/// Busy % of all CPUs since the previous call on the same `System` (2 dp). The first call on
/// a fresh `System` only sets the baseline and gives 0.
pub fn cpu_total_pct(sys: &mut System) -> f64 {
    cpu_usage(sys).total
}

/// Busy % of all CPUs (2 dp) and of each logical CPU (rounded), since the previous call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuPcts {
    pub total: f64,
    /// Empty after the first call (the baseline).
    pub per_core: Vec<u8>,
}

/// `cpu_total_pct` with the per-core figures of the same refresh.
pub fn cpu_usage(sys: &mut System) -> CpuPcts {
    let first = sys.cpus().is_empty();
    sys.refresh_cpu_specifics(CpuRefreshKind::new().with_cpu_usage());
    if first {
        return CpuPcts::default();
    }
    let pct = f64::from(sys.global_cpu_info().cpu_usage());
    let per_core = sys
        .cpus()
        .iter()
        .map(|cpu| crate::units::clamp_pct(f64::from(cpu.cpu_usage())).round() as u8)
        .collect();
    CpuPcts {
        total: two_decimals(crate::units::clamp_pct(pct)),
        per_core,
    }
}

/// Bytes received and sent so far by each network interface sysinfo lists (`/proc/net/dev`'s
/// counters elsewhere): (name, received, sent).
pub fn nic_counters(sys: &mut System) -> Vec<(String, u64, u64)> {
    // the list itself changes (adapters come and go); refreshing it refreshes the counters too
    sys.refresh_networks_list();
    sys.networks()
        .iter()
        .map(|(name, data)| {
            (
                name.clone(),
                data.total_received(),
                data.total_transmitted(),
            )
        })
        .collect()
}

/// A fixed (not removable) disk with a filesystem, as sysinfo lists them (Windows: drive letters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedDisk {
    /// e.g. `C:\` on Windows
    pub mount_point: String,
    pub total: u64,
    pub available: u64,
}

pub fn fixed_disks(sys: &mut System) -> Vec<FixedDisk> {
    sys.refresh_disks_list();
    sys.disks()
        .iter()
        .filter(|d| !d.is_removable() && d.total_space() > 0)
        .map(|d| FixedDisk {
            mount_point: d.mount_point().to_string_lossy().into_owned(),
            total: d.total_space(),
            available: d.available_space().min(d.total_space()),
        })
        .collect()
}

/// sysinfo's usage is noise over very short intervals (a few ticks); closer calls repeat the
/// last value instead of refreshing.
const MIN_CPU_INTERVAL: Duration = Duration::from_millis(200);

/// A CPU % meter (total and per core): one `System` and the time of its last refresh.
pub struct CpuMeter {
    sys: System,
    last: Option<(Instant, CpuPcts)>,
}

impl Default for CpuMeter {
    fn default() -> Self {
        Self::new()
    }
}

impl CpuMeter {
    /// Takes the baseline now.
    pub fn new() -> Self {
        let mut sys = new_system();
        let pcts = cpu_usage(&mut sys);
        CpuMeter {
            sys,
            last: Some((Instant::now(), pcts)),
        }
    }

    /// Busy % since the previous refresh (2 dp).
    pub fn total_pct(&mut self) -> f64 {
        self.usage().total
    }

    /// Busy % of all CPUs and per core since the previous refresh. The first call after the
    /// baseline waits out the rest of the minimum interval (once, at most 200 ms) rather than
    /// answer the baseline's 0 as if it were measured.
    pub fn usage(&mut self) -> CpuPcts {
        let mut now = Instant::now();
        if let Some((at, pcts)) = &self.last {
            let since = now.saturating_duration_since(*at);
            if since < MIN_CPU_INTERVAL {
                if !pcts.per_core.is_empty() {
                    return pcts.clone();
                }
                std::thread::sleep(MIN_CPU_INTERVAL - since);
                now = Instant::now();
            }
        }
        let pcts = cpu_usage(&mut self.sys);
        self.last = Some((now, pcts.clone()));
        pcts
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn proc_u64(path: &str, key: &str) -> u64 {
        let text = std::fs::read_to_string(path).unwrap();
        let line = text.lines().find(|l| l.starts_with(key)).unwrap();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            * 1024
    }

    #[test]
    fn uptime_and_load_match_proc() {
        let sys = new_system();
        let up = uptime_secs(&sys);
        let proc_up: f64 = std::fs::read_to_string("/proc/uptime")
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(up > 0 && (up as f64 - proc_up).abs() < 5.0);
        let load = load_avg(&sys);
        assert!(load.iter().all(|l| l.is_finite() && *l >= 0.0));
    }

    #[test]
    fn memory_matches_meminfo() {
        let mut sys = new_system();
        let m = memory(&mut sys);
        assert_eq!(m.total, proc_u64("/proc/meminfo", "MemTotal:"));
        assert!(m.used > 0 && m.used < m.total);
        assert_eq!(m.swap_total, proc_u64("/proc/meminfo", "SwapTotal:"));
        assert!(m.swap_used <= m.swap_total);
    }

    #[test]
    fn cpu_total_is_a_percentage_after_a_baseline() {
        let mut sys = new_system();
        assert_eq!(cpu_total_pct(&mut sys), 0.0);
        // Burn a little CPU so the second reading has something to measure.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(300) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let pct = cpu_total_pct(&mut sys);
        assert!((0.0..=100.0).contains(&pct), "{pct}");
    }

    #[test]
    fn per_core_usage_has_one_figure_per_logical_cpu() {
        let mut meter = CpuMeter::new();
        std::thread::sleep(MIN_CPU_INTERVAL + Duration::from_millis(20));
        let pcts = meter.usage();
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        assert_eq!(pcts.per_core.len(), cpus);
        assert!(pcts.per_core.iter().all(|&p| p <= 100));
    }

    #[test]
    fn nic_counters_match_proc_net_dev() {
        let mut sys = new_system();
        let nics = nic_counters(&mut sys);
        // read here, not with collect::network's parser: network uses this module
        let text = std::fs::read_to_string("/proc/net/dev").unwrap();
        for line in text.lines().skip(2) {
            let (name, counters) = line.split_once(':').unwrap();
            let fields: Vec<u64> = counters
                .split_whitespace()
                .map(|f| f.parse().unwrap())
                .collect();
            let (proc_recv, proc_sent) = (fields[0], fields[8]);
            let name = name.trim();
            let found = nics.iter().find(|(n, _, _)| n == name);
            let (_, recv, sent) = found.unwrap_or_else(|| panic!("{name} not listed"));
            // read a moment apart: counters only grow
            assert!(*recv <= proc_recv + (1 << 20), "{name}");
            assert!(*sent <= proc_sent + (1 << 20), "{name}");
        }
    }

    #[test]
    fn fixed_disks_have_sizes() {
        let mut sys = new_system();
        for disk in fixed_disks(&mut sys) {
            assert!(disk.available <= disk.total, "{disk:?}");
        }
    }

    #[test]
    fn cpu_meter_repeats_its_value_within_the_minimum_interval() {
        let mut meter = CpuMeter::new();
        // Right after the baseline: the first reading waits for a measurable interval
        let started = Instant::now();
        let first = meter.usage();
        assert!(started.elapsed() >= MIN_CPU_INTERVAL - Duration::from_millis(5));
        assert!(
            !first.per_core.is_empty(),
            "a measured figure, not the baseline"
        );
        // then, within the interval, the same figure again without waiting
        let started = Instant::now();
        assert_eq!(meter.usage(), first);
        assert!(started.elapsed() < MIN_CPU_INTERVAL);
        std::thread::sleep(MIN_CPU_INTERVAL + Duration::from_millis(20));
        let pct = meter.total_pct();
        assert!((0.0..=100.0).contains(&pct), "{pct}");
        assert_eq!(meter.total_pct(), pct);
    }
}
