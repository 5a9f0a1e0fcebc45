//! Host facts: hostname, kernel, cores/threads, CPU model, uptime, load (spec §1.3).
//!
//! Core and thread counts follow gopsutil's `cpu.Counts` on Linux, the CPU model its
//! `cpu.Info()[0].ModelName` (with the ARM part-number table for arm64 kernels, whose
//! /proc/cpuinfo has no "model name").

use std::collections::HashSet;

use crate::collect::portable;
use crate::roots::{describe_io_error, excerpt, read_text, read_trimmed, Roots};
use crate::units::parse_go_uint;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostInfo {
    pub hostname: String,
    pub kernel: String,
    /// Physical cores (lowered to the logical count under LXC limits).
    pub cores: u64,
    /// Logical CPUs; 0 when the LXC rule applies.
    pub threads: u64,
    pub cpu_model: String,
    /// Logical CPUs whatever the LXC rule did (v0.18.8's Details.Threads).
    pub logical_cpus: u64,
    /// os-release PRETTY_NAME (v0.18 Details only).
    pub os_name: String,
    /// uname machine (v0.18 Details only).
    pub arch: String,
}

impl HostInfo {
    pub fn read(roots: &Roots) -> HostInfo {
        let cpuinfo = read_text(&roots.proc("cpuinfo"));
        let physical = physical_cores(roots, cpuinfo.as_deref());
        let logical = logical_cpus(roots, cpuinfo.as_deref());
        let info = HostInfo {
            hostname: hostname().unwrap_or_default(),
            kernel: kernel_version(roots),
            cores: 0,
            threads: 0,
            cpu_model: cpuinfo.as_deref().map(cpu_model).unwrap_or_default(),
            os_name: os_name(roots),
            arch: uname_machine().unwrap_or_else(|| std::env::consts::ARCH.to_string()),
            ..HostInfo::default()
        };
        fill_gaps(info.with_counts(physical, logical))
    }

    /// Beszel's LXC rule: logical CPUs below the physical count reflect container limits, so
    /// they become the core count and threads stay 0.
    pub fn with_counts(mut self, physical: u64, logical: u64) -> HostInfo {
        self.logical_cpus = logical;
        if logical > 0 && logical < physical {
            self.cores = logical;
            self.threads = 0;
        } else {
            self.cores = physical;
            self.threads = logical;
        }
        self
    }
}

impl HostInfo {
    /// Every host fact from sysinfo (collect::portable), with Beszel's LXC rule applied to the
    /// counts. Compiled and tested on Linux too, where the kernel files are used instead.
    pub fn from_portable() -> HostInfo {
        let facts = portable::host_facts();
        HostInfo {
            hostname: facts.hostname,
            kernel: facts.kernel,
            cores: 0,
            threads: 0,
            cpu_model: facts.cpu_model,
            arch: std::env::consts::ARCH.to_string(),
            ..HostInfo::default()
        }
        .with_counts(facts.physical_cores, facts.logical_cpus)
    }

    /// Completes facts read from kernel files: the kernel string always comes from sysinfo
    /// (Beszel names it per OS), the rest only where the files gave nothing.
    pub fn fill_from_portable(mut self) -> HostInfo {
        let portable = HostInfo::from_portable();
        if !portable.kernel.is_empty() {
            self.kernel = portable.kernel;
        }
        if self.hostname.is_empty() {
            self.hostname = portable.hostname;
        }
        if self.cpu_model.is_empty() {
            self.cpu_model = portable.cpu_model;
        }
        if self.cores == 0 && self.threads == 0 {
            self.cores = portable.cores;
            self.threads = portable.threads;
        }
        if self.logical_cpus == 0 {
            self.logical_cpus = portable.logical_cpus;
        }
        if self.arch.is_empty() {
            self.arch = portable.arch;
        }
        self
    }
}

#[cfg(target_os = "linux")]
fn fill_gaps(info: HostInfo) -> HostInfo {
    info
}

/// Outside Linux the kernel files are absent; sysinfo fills in what they would give.
#[cfg(not(target_os = "linux"))]
fn fill_gaps(info: HostInfo) -> HostInfo {
    info.fill_from_portable()
}

/// The host name, as Go's `os.Hostname` gives it.
#[cfg(unix)]
pub fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its whole length; one byte is kept for the terminator.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
    if rc != 0 {
        return None;
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(buf.get(..len)?).into_owned();
    (!name.is_empty()).then_some(name)
}

#[cfg(not(unix))]
pub fn hostname() -> Option<String> {
    None
}

/// Kernel release: `<proc>/sys/kernel/osrelease`, else uname.
pub fn kernel_version(roots: &Roots) -> String {
    read_trimmed(&roots.proc("sys/kernel/osrelease"))
        .filter(|s| !s.is_empty())
        .or_else(uname_release)
        .unwrap_or_default()
}

#[cfg(unix)]
fn uname_release() -> Option<String> {
    // SAFETY: utsname is plain data; uname fills it with NUL-terminated strings.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut uts) } != 0 {
        return None;
    }
    // SAFETY: the kernel NUL-terminates every utsname field.
    let release = unsafe { std::ffi::CStr::from_ptr(uts.release.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    (!release.is_empty()).then_some(release)
}

#[cfg(not(unix))]
fn uname_release() -> Option<String> {
    None
}

/// uname's machine field (`x86_64`, `aarch64`, `armv7l`), as gopsutil's `KernelArch` gives it.
#[cfg(unix)]
fn uname_machine() -> Option<String> {
    // SAFETY: as in uname_release.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut uts) } != 0 {
        return None;
    }
    // SAFETY: the kernel NUL-terminates every utsname field.
    let machine = unsafe { std::ffi::CStr::from_ptr(uts.machine.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    (!machine.is_empty()).then_some(machine)
}

#[cfg(not(unix))]
fn uname_machine() -> Option<String> {
    None
}

/// The OS name v0.18.8 reports (spec beszel-v0.18.md §3.1): the first line of os-release that
/// starts with `PRETTY_NAME=`, with every leading and trailing `"` removed (an empty value stays
/// empty); without one, the `ID=` value. Read under HOST_ETC, so an agent in a container with the
/// host's /etc mounted names the host.
pub fn os_name(roots: &Roots) -> String {
    let Some(text) = read_text(&roots.etc("os-release")) else {
        return String::new();
    };
    os_release_field(&text, "PRETTY_NAME")
        .or_else(|| os_release_field(&text, "ID"))
        .unwrap_or_default()
}

/// The value of `NAME=` in os-release text (the first such line), without its quotes.
pub fn os_release_field(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(name)?.strip_prefix('=')?;
        Some(value.trim_matches(|c| c == '"' || c == '\'').to_string())
    })
}

/// Physical cores as gopsutil counts them: distinct `core_cpus_list` contents (else
/// `thread_siblings_list`) over `cpu[0-9]*`; failing that, the sum of "cpu cores" per distinct
/// "physical id" in /proc/cpuinfo.
pub fn physical_cores(roots: &Roots, cpuinfo: Option<&str>) -> u64 {
    let cpu_dir = roots.sys("devices/system/cpu");
    let cpus: Vec<_> = std::fs::read_dir(&cpu_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| {
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    name.strip_prefix("cpu")
                        .and_then(|rest| rest.chars().next())
                        .is_some_and(|c| c.is_ascii_digit())
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    let mut lists = HashSet::new();
    for file in ["core_cpus_list", "thread_siblings_list"] {
        for cpu in &cpus {
            let Some(text) = read_text(&cpu.join("topology").join(file)) else {
                continue;
            };
            // gopsutil keeps only files of exactly one line.
            let line = text.strip_suffix('\n').unwrap_or(&text);
            if line.is_empty() || line.contains('\n') {
                continue;
            }
            lists.insert(line.to_string());
        }
        if !lists.is_empty() {
            return lists.len() as u64;
        }
    }
    cpuinfo.map(cores_from_cpuinfo).unwrap_or(0)
}

fn cores_from_cpuinfo(text: &str) -> u64 {
    let mut per_package = std::collections::HashMap::new();
    let mut package: Option<i64> = None;
    let mut cores: Option<i64> = None;
    let mut flush = |package: &mut Option<i64>, cores: &mut Option<i64>| {
        if let (Some(p), Some(c)) = (package.take(), cores.take()) {
            per_package.insert(p, c);
        }
        *package = None;
        *cores = None;
    };
    for line in text.lines() {
        let line = line.trim().to_ascii_lowercase();
        if line.is_empty() {
            flush(&mut package, &mut cores);
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let Ok(value) = value.trim().parse::<i32>() else {
            continue;
        };
        match key.trim() {
            "physical id" => package = Some(value.into()),
            "cpu cores" => cores = Some(value.into()),
            _ => {}
        }
    }
    flush(&mut package, &mut cores);
    per_package.values().map(|&c| c.max(0) as u64).sum()
}

/// Logical CPUs as gopsutil counts them: `processor : N` lines of /proc/cpuinfo, else the
/// `cpuN` lines of /proc/stat.
pub fn logical_cpus(roots: &Roots, cpuinfo: Option<&str>) -> u64 {
    let from_cpuinfo = cpuinfo.map_or(0, |text| {
        text.lines()
            .filter(|line| {
                let lower = line.to_ascii_lowercase();
                lower.starts_with("processor")
                    && lower
                        .split_once(':')
                        .is_some_and(|(_, v)| v.trim().parse::<i32>().is_ok())
            })
            .count() as u64
    });
    if from_cpuinfo > 0 {
        return from_cpuinfo;
    }
    read_text(&roots.proc("stat")).map_or(0, |text| {
        text.lines()
            .filter(|line| {
                line.strip_prefix("cpu")
                    .and_then(|rest| rest.chars().next())
                    .is_some_and(|c| c.is_ascii_digit())
            })
            .count() as u64
    })
}

/// The model name of the first CPU in /proc/cpuinfo, as gopsutil's `cpu.Info()` sets it:
/// "model name" (x86, armv7), "cpu" (POWER), "uarch" (RISC-V), the ARM part-number name when
/// the implementer is ARM, else the "Processor" header of old arm kernels.
pub fn cpu_model(cpuinfo: &str) -> String {
    let mut processor_name = String::new();
    let mut current: Option<String> = None;
    let mut vendor_arm = false;
    for line in cpuinfo.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "Processor" => processor_name = value.to_string(),
            "processor" | "cpu number" => {
                if current.is_some() {
                    break; // the first CPU is complete
                }
                current = Some(processor_name.clone());
                vendor_arm = false;
            }
            "vendor_id" | "vendorId" => {
                vendor_arm = false;
                if value.contains("S390") {
                    processor_name = "S390".to_string();
                }
            }
            "CPU implementer" => {
                if let Some(implementer) = parse_go_uint(value) {
                    vendor_arm = implementer == 0x41;
                }
            }
            "model" | "CPU part" if vendor_arm => {
                if let (Some(name), Some(part)) = (current.as_mut(), parse_go_uint(value)) {
                    *name = arm_part_name(part).unwrap_or("Undefined").to_string();
                }
            }
            "Model Name" | "model name" | "cpu" | "uarch" => {
                if let Some(name) = current.as_mut() {
                    *name = value.to_string();
                }
            }
            _ => {}
        }
    }
    current.unwrap_or_default()
}

/// ARM Ltd. (implementer 0x41) part numbers, as in arch/arm64/kernel/cpuinfo.c and gopsutil.
fn arm_part_name(part: u64) -> Option<&'static str> {
    Some(match part {
        0x810 => "ARM810",
        0x920 => "ARM920",
        0x922 => "ARM922",
        0x926 => "ARM926",
        0x940 => "ARM940",
        0x946 => "ARM946",
        0x966 => "ARM966",
        0xa20 => "ARM1020",
        0xa22 => "ARM1022",
        0xa26 => "ARM1026",
        0xb02 => "ARM11 MPCore",
        0xb36 => "ARM1136",
        0xb56 => "ARM1156",
        0xb76 => "ARM1176",
        0xc05 => "Cortex-A5",
        0xc07 => "Cortex-A7",
        0xc08 => "Cortex-A8",
        0xc09 => "Cortex-A9",
        0xc0d => "Cortex-A17",
        0xc0f => "Cortex-A15",
        0xc0e => "Cortex-A17",
        0xc14 => "Cortex-R4",
        0xc15 => "Cortex-R5",
        0xc17 => "Cortex-R7",
        0xc18 => "Cortex-R8",
        0xc20 => "Cortex-M0",
        0xc21 => "Cortex-M1",
        0xc23 => "Cortex-M3",
        0xc24 => "Cortex-M4",
        0xc27 => "Cortex-M7",
        0xc60 => "Cortex-M0+",
        0xd01 => "Cortex-A32",
        0xd02 => "Cortex-A34",
        0xd03 => "Cortex-A53",
        0xd04 => "Cortex-A35",
        0xd05 => "Cortex-A55",
        0xd06 => "Cortex-A65",
        0xd07 => "Cortex-A57",
        0xd08 => "Cortex-A72",
        0xd09 => "Cortex-A73",
        0xd0a => "Cortex-A75",
        0xd0b => "Cortex-A76",
        0xd0c => "Neoverse-N1",
        0xd0d => "Cortex-A77",
        0xd0e => "Cortex-A76AE",
        0xd13 => "Cortex-R52",
        0xd20 => "Cortex-M23",
        0xd21 => "Cortex-M33",
        0xd40 => "Neoverse-V1",
        0xd41 => "Cortex-A78",
        0xd42 => "Cortex-A78AE",
        0xd43 => "Cortex-A65AE",
        0xd44 => "Cortex-X1",
        0xd46 => "Cortex-A510",
        0xd47 => "Cortex-A710",
        0xd48 => "Cortex-X2",
        0xd49 => "Neoverse-N2",
        0xd4a => "Neoverse-E1",
        0xd4b => "Cortex-A78C",
        0xd4c => "Cortex-X1C",
        0xd4d => "Cortex-A715",
        0xd4e => "Cortex-X3",
        0xd4f => "Neoverse-V2",
        0xd81 => "Cortex-A720",
        0xd82 => "Cortex-X4",
        0xd84 => "Neoverse-V3",
        0xd85 => "Cortex-X925",
        0xd87 => "Cortex-A725",
        0xd8e => "Neoverse-N3",
        _ => return None,
    })
}

/// Reads and parses a key file under HOST_PROC; a missing or garbled one is warned about once
/// (naming the file and `fallback`, what is reported instead) and gives None.
fn read_proc_value<T>(
    roots: &Roots,
    rel: &str,
    parse: impl FnOnce(&str) -> Option<T>,
    fallback: &str,
) -> Option<T> {
    let path = roots.proc(rel);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let value = parse(&text);
            if value.is_none() {
                let problem = format!("is garbled ({})", excerpt(&text));
                roots.warn_proc_file(&path, &problem, fallback);
            }
            value
        }
        Err(e) => {
            roots.warn_proc_file(&path, &describe_io_error(&e), fallback);
            None
        }
    }
}

/// Seconds since boot: the integer part of `<proc>/uptime`, else sysinfo(2).
pub fn uptime_secs(roots: &Roots) -> u64 {
    read_proc_value(
        roots,
        "uptime",
        parse_uptime,
        "the uptime comes from the kernel's sysinfo(2) instead",
    )
    .unwrap_or_else(fallback_uptime)
}

fn parse_uptime(text: &str) -> Option<u64> {
    let first = text.split_ascii_whitespace().next()?;
    let secs: f64 = first.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| secs.floor() as u64)
}

/// 1, 5 and 15 minute load averages, unrounded: `<proc>/loadavg`, else sysinfo(2) (the load is
/// the kernel's, the same inside a container).
pub fn load_avg(roots: &Roots) -> [f64; 3] {
    read_proc_value(
        roots,
        "loadavg",
        parse_loadavg,
        "load averages come from the kernel's sysinfo(2) instead",
    )
    .unwrap_or_else(fallback_load)
}

/// The load averages of /proc/loadavg's text already read (the Prometheus families keep the
/// file open); sysinfo(2)'s when the text is garbled, as `load_avg`.
pub(crate) fn load_avg_of(text: &str) -> [f64; 3] {
    parse_loadavg(text).unwrap_or_else(fallback_load)
}

/// The first three fields; None unless each is a finite, non-negative number (a garbled file
/// once sent NaN, Infinity and −1 to the hub).
fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut fields = text.split_ascii_whitespace();
    let mut load = [0.0; 3];
    for slot in load.iter_mut() {
        let value: f64 = fields.next()?.parse().ok()?;
        if !value.is_finite() || value < 0.0 {
            return None;
        }
        *slot = value;
    }
    Some(load)
}

#[cfg(target_os = "linux")]
fn sysinfo_syscall() -> Option<libc::sysinfo> {
    // SAFETY: sysinfo is plain data, filled by the kernel.
    let mut info: libc::sysinfo = unsafe { std::mem::zeroed() };
    (unsafe { libc::sysinfo(&mut info) } == 0).then_some(info)
}

#[cfg(target_os = "linux")]
fn fallback_uptime() -> u64 {
    sysinfo_syscall().map_or(0, |i| i.uptime.max(0) as u64)
}

#[cfg(target_os = "linux")]
fn fallback_load() -> [f64; 3] {
    // The kernel reports loads as fixed point with 16 fractional bits.
    const SCALE: f64 = 65536.0;
    sysinfo_syscall().map_or([0.0; 3], |i| i.loads.map(|l| l as f64 / SCALE))
}

#[cfg(not(target_os = "linux"))]
fn fallback_uptime() -> u64 {
    portable::uptime_secs(&portable::new_system())
}

#[cfg(not(target_os = "linux"))]
fn fallback_load() -> [f64; 3] {
    portable::load_avg(&portable::new_system())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_literals() {
        assert_eq!(parse_go_uint("0x41"), Some(0x41));
        assert_eq!(parse_go_uint("0xd08"), Some(0xd08));
        assert_eq!(parse_go_uint("010"), Some(8));
        assert_eq!(parse_go_uint("0"), Some(0));
        assert_eq!(parse_go_uint("12"), Some(12));
        assert_eq!(parse_go_uint("zz"), None);
    }

    #[test]
    fn loadavg_line() {
        assert_eq!(
            parse_loadavg("0.52 0.58 0.59 1/389 12345\n"),
            Some([0.52, 0.58, 0.59])
        );
        assert_eq!(parse_loadavg("0.5 x"), None);
    }

    /// A garbled /proc/loadavg gave NaN, Infinity and −1 in Stats 28 and Info 15/17/19.
    #[test]
    fn garbled_loadavg_gives_no_nan_infinity_or_negative() {
        for text in [
            "nan 0.5 0.5 1/2 3",
            "0.5 inf 0.5 1/2 3",
            "0.5 0.5 -1 1/2 3",
            "NaN Infinity -Infinity",
            "0.5 0.5 1e999",
        ] {
            assert_eq!(parse_loadavg(text), None, "{text}");
        }
        assert_eq!(parse_uptime("nan 1"), None);
        assert_eq!(parse_uptime("-5 1"), None);
        assert_eq!(parse_uptime("12.9 1"), Some(12));
    }

    #[test]
    fn lxc_rule() {
        let info = HostInfo::default().with_counts(8, 2);
        assert_eq!((info.cores, info.threads), (2, 0));
        let info = HostInfo::default().with_counts(4, 8);
        assert_eq!((info.cores, info.threads), (4, 8));
        let info = HostInfo::default().with_counts(4, 0);
        assert_eq!((info.cores, info.threads), (4, 0));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn host_facts_match_proc() {
        let info = HostInfo::from_portable();
        let nproc = std::fs::read_to_string("/proc/cpuinfo")
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count() as u64;
        assert!(info.cores >= 1);
        assert!(info.threads == nproc || (info.threads == 0 && info.cores == nproc));
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        assert_eq!(info.kernel, release.trim());
        assert!(!info.hostname.is_empty());
        assert!(!info.cpu_model.is_empty());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn fill_keeps_what_the_files_gave() {
        let info = HostInfo {
            hostname: "from-files".into(),
            kernel: String::new(),
            cores: 3,
            threads: 6,
            cpu_model: "Model X".into(),
            ..HostInfo::default()
        };
        let filled = info.fill_from_portable();
        assert_eq!(filled.hostname, "from-files");
        assert_eq!((filled.cores, filled.threads), (3, 6));
        assert_eq!(filled.cpu_model, "Model X");
        assert!(!filled.kernel.is_empty());
    }
}
