//! The Service item the hub charts (spec §1.8) and the per-unit trackers behind its CPU figures.

pub use crate::model::Service;
use crate::units::two_decimals;
use std::collections::HashMap;

/// systemd reports "not available" (no cgroup, accounting off) as UINT64_MAX.
pub const UNSET: u64 = u64::MAX;

/// The properties of one unit read in one refresh.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnitReading {
    /// Full unit name, e.g. "nginx.service".
    pub unit: String,
    pub active_state: String,
    pub sub_state: String,
    /// µs since the epoch; 0 or UNSET = never active.
    pub active_enter_timestamp: u64,
    pub memory_current: u64,
    /// Absent before systemd 254 (and on cgroup v1).
    pub memory_peak: Option<u64>,
    pub cpu_usage_nsec: u64,
    pub n_restarts: u32,
    pub exec_main_start_timestamp: u64,
}

pub const STATE_FAILED: u8 = 2;

/// ActiveState → enum; unknown strings count as inactive (as the Go agent maps them).
pub fn state_code(active_state: &str) -> u8 {
    code_of(&ACTIVE_STATES, active_state).unwrap_or(1)
}

/// systemd's ActiveState values, each at its enum code (`Service::state`).
pub const ACTIVE_STATES: [&str; 6] = [
    "active",
    "inactive",
    "failed",
    "activating",
    "deactivating",
    "reloading",
];

/// The SubState values with a code of their own, each at it (`Service::sub`; 4 is "unknown").
pub const SUB_STATES: [&str; 5] = ["dead", "running", "exited", "failed", "unknown"];

fn code_of(names: &[&str], name: &str) -> Option<u8> {
    names
        .iter()
        .position(|n| *n == name)
        .and_then(|i| u8::try_from(i).ok())
}

/// SubState → enum; everything else is "unknown".
pub fn sub_code(sub_state: &str) -> u8 {
    code_of(&SUB_STATES[..4], sub_state).unwrap_or(4)
}

/// "systemd-fsck@dev-disk-by\x2duuid-1234.service" → "systemd-fsck@dev-disk-by-uuid-1234": the
/// ".service" suffix dropped and systemd's C-style `\xNN` escapes decoded. A malformed escape is
/// kept as written.
pub fn display_name(unit: &str) -> String {
    decode_hex_escapes(unit.strip_suffix(".service").unwrap_or(unit), b"\\x")
}

/// Decodes `<marker>HH` byte escapes (systemd's `\xNN` in unit names, D-Bus addresses' `%NN`); a
/// malformed escape is kept as written.
pub fn decode_hex_escapes(text: &str, marker: &[u8]) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes.get(i..i + marker.len()) == Some(marker) {
            let at = i + marker.len();
            let hex = bytes
                .get(at..at + 2)
                .and_then(|h| std::str::from_utf8(h).ok());
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i = at + 2;
                continue;
            }
        }
        if let Some(&b) = bytes.get(i) {
            out.push(b);
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What is remembered of a unit between refreshes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Baseline {
    cpu_nsec: Option<u64>,
    /// monotonic ns of the reading
    at_ns: u64,
    activation: (u32, u64),
    mem_peak: u64,
    cpu_peak: f64,
}

/// Turns each refresh's readings into Service items: CPU % from ΔCPUUsageNSec over the wall time
/// since the previous refresh, peaks carried across refreshes. Units that disappear are forgotten.
#[derive(Debug, Default)]
pub struct ServiceTracker {
    cpus: usize,
    baselines: HashMap<String, Baseline>,
}

impl ServiceTracker {
    pub fn new(cpus: usize) -> ServiceTracker {
        ServiceTracker {
            cpus: cpus.max(1),
            baselines: HashMap::new(),
        }
    }

    /// `now_ns`: a monotonic clock in ns (the caller's), so wall-clock jumps do not skew CPU %.
    pub fn update(&mut self, readings: &[UnitReading], now_ns: u64) -> Vec<Service> {
        let mut next = HashMap::with_capacity(readings.len());
        let mut services = Vec::with_capacity(readings.len());
        for r in readings {
            // A unit that was never active has nothing to chart (the Go agent skips it too).
            if r.active_enter_timestamp == 0 || r.active_enter_timestamp == UNSET {
                continue;
            }
            let prev = self.baselines.get(&r.unit);
            let cpu_nsec = (r.cpu_usage_nsec != UNSET).then_some(r.cpu_usage_nsec);
            let activation = (r.n_restarts, r.exec_main_start_timestamp);
            let cpu = match (prev, cpu_nsec) {
                (Some(p), Some(now_cpu)) if now_ns > p.at_ns => {
                    // CPUUsageNSec restarts at 0 with every activation (spec notes, systemd 252):
                    // after a restart the whole counter was spent since the last refresh.
                    let used = match p.cpu_nsec {
                        Some(before) if p.activation == activation => {
                            // same activation, counter went backwards: no figure (spec §2.8)
                            now_cpu.saturating_sub(before)
                        }
                        _ => now_cpu,
                    };
                    let pct = used as f64 / ((now_ns - p.at_ns) as f64 * self.cpus as f64) * 100.0;
                    two_decimals(pct.clamp(0.0, 100.0))
                }
                _ => 0.0,
            };
            let mem = if r.memory_current == UNSET {
                0
            } else {
                r.memory_current
            };
            let reported_peak = r.memory_peak.filter(|&p| p != UNSET).unwrap_or(0);
            let mem_peak = prev.map_or(0, |p| p.mem_peak).max(reported_peak).max(mem);
            let cpu_peak = prev.map_or(0.0, |p| p.cpu_peak).max(cpu);
            next.insert(
                r.unit.clone(),
                Baseline {
                    cpu_nsec,
                    at_ns: now_ns,
                    activation,
                    mem_peak,
                    cpu_peak,
                },
            );
            services.push(Service {
                name: display_name(&r.unit),
                state: state_code(&r.active_state),
                cpu,
                mem,
                mem_peak,
                sub: sub_code(&r.sub_state),
                cpu_peak,
            });
        }
        self.baselines = next;
        services
    }
}

/// `Info.sv`: [total, failed].
pub fn counts(services: &[Service]) -> [u16; 2] {
    let total = u16::try_from(services.len()).unwrap_or(u16::MAX);
    let failed = services.iter().filter(|s| s.state == STATE_FAILED).count();
    [total, u16::try_from(failed).unwrap_or(u16::MAX)]
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    fn unit(name: &str, cpu: u64, mem: u64) -> UnitReading {
        UnitReading {
            unit: name.into(),
            active_state: "active".into(),
            sub_state: "running".into(),
            active_enter_timestamp: 1_795_729_097_786_146,
            memory_current: mem,
            memory_peak: None,
            cpu_usage_nsec: cpu,
            n_restarts: 0,
            exec_main_start_timestamp: 1_795_729_097_000_000,
        }
    }

    #[test]
    fn cpu_percent_over_the_refresh_period() {
        let mut t = ServiceTracker::new(4);
        let first = t.update(&[unit("busy.service", 10 * SEC, 1000)], 100 * SEC);
        assert_eq!(first[0].cpu, 0.0, "no baseline yet");
        // 60 s of CPU in 600 s on 4 CPUs = 2.5 %
        let s = t.update(&[unit("busy.service", 70 * SEC, 1000)], 700 * SEC);
        assert_eq!(s[0].cpu, 2.5);
        assert_eq!(s[0].cpu_peak, 2.5);
        assert_eq!(s[0].name, "busy");
        let s = t.update(&[unit("busy.service", 70 * SEC, 1000)], 1300 * SEC);
        assert_eq!((s[0].cpu, s[0].cpu_peak), (0.0, 2.5), "the peak stays");
    }

    #[test]
    fn cpu_counter_restarts_with_the_unit() {
        let mut t = ServiceTracker::new(1);
        t.update(&[unit("flap.service", 5 * SEC, 0)], 0);
        // restarted: counter back near 0, NRestarts grew → the new counter is the usage
        let mut r = unit("flap.service", SEC, 0);
        r.n_restarts = 1;
        let s = t.update(&[r], 10 * SEC);
        assert_eq!(s[0].cpu, 10.0);
        // same activation but the counter went backwards anyway: no usage, never negative
        let mut r = unit("flap.service", SEC / 2, 0);
        r.n_restarts = 1;
        let s = t.update(&[r], 20 * SEC);
        assert_eq!(s[0].cpu, 0.0);
    }

    #[test]
    fn uint64_max_means_unavailable() {
        let mut t = ServiceTracker::new(2);
        let mut failed = unit("fail.service", UNSET, UNSET);
        failed.active_state = "failed".into();
        failed.sub_state = "failed".into();
        failed.memory_peak = Some(UNSET);
        t.update(&[failed.clone()], 0);
        let s = t.update(&[failed], 600 * SEC);
        assert_eq!((s[0].mem, s[0].mem_peak, s[0].cpu), (0, 0, 0.0));
        assert_eq!((s[0].state, s[0].sub), (2, 3));
        assert_eq!(counts(&s), [1, 1]);
    }

    #[test]
    fn memory_peak_is_the_largest_seen() {
        let mut t = ServiceTracker::new(1);
        let mut r = unit("web.service", 0, 5000);
        r.memory_peak = Some(7000);
        assert_eq!(t.update(&[r], 0)[0].mem_peak, 7000);
        let s = t.update(&[unit("web.service", 0, 6000)], SEC);
        assert_eq!((s[0].mem, s[0].mem_peak), (6000, 7000));
        let s = t.update(&[unit("web.service", 0, 9000)], 2 * SEC);
        assert_eq!(s[0].mem_peak, 9000);
    }

    #[test]
    fn never_active_units_are_skipped_and_vanished_units_forgotten() {
        let mut t = ServiceTracker::new(1);
        let mut never = unit("never.service", 0, 0);
        never.active_enter_timestamp = 0;
        let mut unset = unit("unset.service", 0, 0);
        unset.active_enter_timestamp = UNSET;
        let s = t.update(&[never, unset, unit("a.service", SEC, 0)], 0);
        assert_eq!(s.len(), 1);
        t.update(&[], SEC);
        // "a" came back: a fresh baseline, no CPU figure from the old one
        let s = t.update(&[unit("a.service", 9 * SEC, 0)], 2 * SEC);
        assert_eq!(s[0].cpu, 0.0);
    }

    #[test]
    fn enums_and_unknown_strings() {
        let codes: Vec<u8> = [
            "active",
            "inactive",
            "failed",
            "activating",
            "deactivating",
            "reloading",
            "maintenance",
        ]
        .iter()
        .map(|s| state_code(s))
        .collect();
        assert_eq!(codes, [0, 1, 2, 3, 4, 5, 1]);
        let subs: Vec<u8> = ["dead", "running", "exited", "failed", "auto-restart"]
            .iter()
            .map(|s| sub_code(s))
            .collect();
        assert_eq!(subs, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn escaped_unit_names() {
        assert_eq!(
            display_name(r"systemd-fsck@dev-disk-by\x2duuid-12.service"),
            "systemd-fsck@dev-disk-by-uuid-12"
        );
        assert_eq!(display_name("logrotate.timer"), "logrotate.timer");
        assert_eq!(display_name(r"odd\xZZ\x4"), r"odd\xZZ\x4");
        assert_eq!(display_name(r"caf\xc3\xa9.service"), "café");
    }

    #[test]
    fn item_keys_always_present() {
        let v = Service {
            name: "nginx".into(),
            ..Service::default()
        }
        .to_value();
        for key in 0..=6 {
            assert!(v.get(key).is_some(), "key {key}");
        }
    }
}
