//! Container stats (spec §1.7, §2.6, §3.6). The TypeScript side asks the engines (Docker,
//! Podman) and hands over the raw counters of one sample; this collector keeps the per-cache-time
//! baselines and turns them into the v0.17 container items.
//!
//! Decisions, where the Go agent's behaviour is a bug or does not carry over:
//! - with a Podman engine the CPU share is Δtotal/(Δread·online_cpus) (v0.18.8,
//!   beszel-v0.18.md §6.7): Podman's `system_cpu_usage` is the host's *busy* time (Σ of the top
//!   cgroups' usage), so Δtotal/Δsystem would be a share of the used CPU (a one-core busy loop on
//!   a 2-CPU host reads ~93 % instead of 50 %). Δread is the time between the engine's own `read`
//!   stamps of the two stats (when the cgroup was read, so the queueing of 200 one-shot requests
//!   does not skew a 1 s window); without stamps, this agent's time between the two samples of
//!   that (cache time, container). It is valid for Docker's containers too, so a mixed Docker +
//!   Podman set-up uses it for all;
//! - health: the engine's own health status when it gives one (`/containers/json`
//!   `Health.Status` on Docker API ≥ 1.52, container inspect on Podman, whose status text has no
//!   "(healthy)"), else the status text;
//! - ports (key 10) always describe the current list: a container that loses its published ports
//!   sends "" (v0.18.8 keeps the previous string, a leftover of its per-container cache; the hub
//!   stores whatever comes, so a stale value would stay on screen). An entry without an IP
//!   (Podman lists wildcard bindings so) prints the bare port, where v0.18.8 prints ":port";
//! - network rates use each (cache time, container)'s own previous read time, not the last read
//!   of any cache time (v0.17 mixes the 1 s and 60 s windows);
//! - a container whose CPU share comes out above 100 % (v0.17: dropped for the round, then
//!   retried with fresh stats we do not have) stays listed with CPU 0, and its CPU baseline is
//!   re-seeded so the next sample measures a clean window: a container vanishing from the hub's
//!   list for one sample is worse than one 0 point;
//! - memory of 0 or above 100 TiB (usage below the cache it excludes) skips the container for this
//!   sample, as v0.17 does; its baselines are kept;
//! - a status with "second" in it (the container is under a minute old) resets the container's
//!   baselines in every cache time when the previous sample saw it older, i.e. when it restarted.
//!   v0.17 resets on every such sample, which blanks CPU and network for a container's whole
//!   first minute; counters that go backwards (a restart we did not see) are caught by the delta
//!   rules instead;
//! - containers no longer listed are pruned from every cache time's baselines (v0.17 leaks the
//!   per-cache-time CPU maps);
//! - `now` is when the engines were read, which may be before the request: the caller answers
//!   with its last sample when an engine is slow. A reading a cache time has already measured
//!   (not newer than its baseline, or with the very same counters) gives that container's
//!   previous figures again instead of a window of (nearly) zero length.

use crate::baselines::Baselines;
use crate::delta::counter_delta;
use crate::model::ContainerStats;
use crate::units::{bytes_to_mib, per_second, two_decimals};
use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// A network rate above this is a counter glitch, not traffic (Go `maxNetworkSpeedBps`).
pub const MAX_NETWORK_BYTES_PER_SEC: u64 = 5_000_000_000;

/// Memory above this is a wrapped subtraction (Go `maxMemoryUsage`, 100 TiB).
pub const MAX_MEMORY_BYTES: u64 = 100 * 1024 * 1024 * 1024 * 1024;

/// Health enum of `container.Stats.Health`.
pub const HEALTH_NONE: u8 = 0;
pub const HEALTH_STARTING: u8 = 1;
pub const HEALTH_HEALTHY: u8 = 2;
pub const HEALTH_UNHEALTHY: u8 = 3;

/// A published port from `/containers/json` `Ports[]` (entries with PublicPort 0 are ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerPort {
    pub ip: String,
    pub public_port: u16,
}

/// The raw readings of one running container, as the engines report them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerSample {
    /// Full id from `/containers/json`; items carry its first 12 characters.
    pub id: String,
    /// `Names[0]` without the leading "/".
    pub name: String,
    pub image: String,
    /// The `Status` text, e.g. "Up About an hour (healthy)".
    pub status: String,
    pub ports: Vec<ContainerPort>,
    /// `cpu_stats.cpu_usage.total_usage`, ns.
    pub cpu_total: u64,
    /// `cpu_stats.system_cpu_usage`, ns.
    pub cpu_system: u64,
    /// `cpu_stats.online_cpus` (0 if absent).
    pub online_cpus: u32,
    /// `memory_stats.usage`, bytes.
    pub mem_usage: u64,
    /// `memory_stats.stats.inactive_file` (cgroup v2), 0 if absent.
    pub mem_inactive_file: u64,
    /// `memory_stats.stats.cache` (cgroup v1), 0 if absent.
    pub mem_cache: u64,
    /// Σ `networks.*.rx_bytes` / `tx_bytes`.
    pub net_rx: u64,
    pub net_tx: u64,
    /// The engine's health status ("healthy", "unhealthy", "starting", "none"); "" when it gave
    /// none and the status text decides.
    pub health: String,
    /// The stats' `read` stamp, µs since the Unix epoch; 0 when absent.
    pub read_us: u64,
}

/// What one (cache time, container) pair needs for the next rates.
#[derive(Debug, Clone, Copy)]
struct Baseline {
    cpu_total: u64,
    cpu_system: u64,
    net_tx: u64,
    net_rx: u64,
    read_us: u64,
    at: Instant,
    /// The figures measured at `at`: CPU %, sent and received B/s.
    measured: (f64, u64, u64),
}

impl Baseline {
    /// Whether `s` is the reading this baseline was taken from, sent again. The caller's clock
    /// and ours differ by a few ms, so time alone cannot tell; the counters can: the engine's
    /// system CPU counter is the host's and moves between any two real readings.
    fn is_reading(&self, s: &ContainerSample) -> bool {
        (self.cpu_total, self.cpu_system, self.net_tx, self.net_rx)
            == (s.cpu_total, s.cpu_system, s.net_tx, s.net_rx)
    }
}

#[derive(Default)]
pub struct ContainerCollector {
    /// cache time → short id → baseline.
    baselines: Baselines<HashMap<String, Baseline>>,
    /// short id → whether its last status said "second" (shared: the status is the engine's).
    young: HashMap<String, bool>,
}

impl ContainerCollector {
    pub fn new() -> ContainerCollector {
        ContainerCollector::default()
    }

    /// How many cache times keep baselines.
    pub fn windows(&self) -> usize {
        self.baselines.len()
    }

    /// The items of one sample for cache time `ct`, in the order given; duplicates (same short
    /// id from two engines) are reported once.
    pub fn sample(
        &mut self,
        ct: u16,
        now: Instant,
        input: &[ContainerSample],
    ) -> Vec<ContainerStats> {
        self.sample_engines(ct, now, input, false)
    }

    /// As `sample`; `podman`: a Podman engine is among the sources (CPU from wall time).
    pub fn sample_engines(
        &mut self,
        ct: u16,
        now: Instant,
        input: &[ContainerSample],
        podman: bool,
    ) -> Vec<ContainerStats> {
        let mut listed: HashSet<String> = HashSet::with_capacity(input.len());
        let mut out = Vec::with_capacity(input.len());
        for sample in input {
            let id = short_id(&sample.id);
            if !listed.insert(id.clone()) {
                continue;
            }
            self.detect_restart(&id, &sample.status);
            if let Some(stats) = self.update(ct, now, id, sample, podman) {
                out.push(stats);
            }
        }
        self.baselines
            .for_each_mut(|per_ct| per_ct.retain(|id, _| listed.contains(id)));
        self.young.retain(|id, _| listed.contains(id));
        out
    }

    /// Drops every baseline of a container that went from "Up N minutes" to "Up N seconds".
    fn detect_restart(&mut self, id: &str, status: &str) {
        let young = status.contains("second");
        let was_young = self.young.insert(id.to_string(), young);
        if young && was_young == Some(false) {
            self.baselines.for_each_mut(|per_ct| {
                per_ct.remove(id);
            });
        }
    }

    fn update(
        &mut self,
        ct: u16,
        now: Instant,
        id: String,
        s: &ContainerSample,
        podman: bool,
    ) -> Option<ContainerStats> {
        let mem = used_memory(s)?;
        let per_ct = self.baselines.get_or_default(ct);
        let prev = per_ct.get(&id).copied();
        let (status, from_text) = parse_status(&s.status);
        let health = health_code(&s.health).unwrap_or(from_text);
        let item = |cpu: f64, sent: u64, recv: u64| ContainerStats {
            name: s.name.clone(),
            cpu,
            mem: bytes_to_mib(mem as f64),
            net_sent: bytes_to_mib(sent as f64),
            net_recv: bytes_to_mib(recv as f64),
            health,
            status: status.clone(),
            id: id.clone(),
            image: s.image.clone(),
            bandwidth: [sent, recv],
            ports: format_ports(&s.ports),
        };
        if let Some(p) = prev.filter(|p| p.at >= now || p.is_reading(s)) {
            // this reading was measured already: the same figures, the baseline untouched
            let (cpu, sent, recv) = p.measured;
            return Some(item(cpu, sent, recv));
        }

        let cpu = prev.map_or(0.0, |p| {
            if podman && s.online_cpus > 0 {
                let elapsed_ns = if p.read_us > 0 && s.read_us > 0 {
                    // stamps out of order measure nothing: 0 %, as in Go
                    s.read_us.saturating_sub(p.read_us) as f64 * 1000.0
                } else {
                    now.saturating_duration_since(p.at).as_nanos() as f64
                };
                cpu_percent_wall(p.cpu_total, elapsed_ns, s)
            } else {
                cpu_percent(p.cpu_total, p.cpu_system, s)
            }
        });
        let (sent, recv) = prev.map_or((0, 0), |p| {
            let elapsed_ms = now.saturating_duration_since(p.at).as_millis();
            let elapsed_ms = u64::try_from(elapsed_ms).unwrap_or(u64::MAX);
            (
                network_rate(p.net_tx, s.net_tx, elapsed_ms),
                network_rate(p.net_rx, s.net_rx, elapsed_ms),
            )
        });
        per_ct.insert(
            id.clone(),
            Baseline {
                cpu_total: s.cpu_total,
                cpu_system: s.cpu_system,
                net_tx: s.net_tx,
                net_rx: s.net_rx,
                read_us: s.read_us,
                at: now,
                measured: (cpu, sent, recv),
            },
        );
        Some(item(cpu, sent, recv))
    }
}

/// The first 12 characters of the id (all of it when shorter).
pub fn short_id(id: &str) -> String {
    id.chars().take(12).collect()
}

/// usage − inactive_file (cgroup v2), else − cache (v1); `None` when 0 or implausible.
pub fn used_memory(s: &ContainerSample) -> Option<u64> {
    let cache = if s.mem_inactive_file != 0 {
        s.mem_inactive_file
    } else {
        s.mem_cache
    };
    let used = s.mem_usage.checked_sub(cache)?;
    (used != 0 && used <= MAX_MEMORY_BYTES).then_some(used)
}

/// Share of the whole host, 2 dp: Δtotal/Δsystem·100. 0 on the first sample (no previous total),
/// when either counter went backwards, when the system counter did not move, and when the share
/// is above 100 % (see the module notes).
pub fn cpu_percent(prev_total: u64, prev_system: u64, s: &ContainerSample) -> f64 {
    if prev_total == 0 || s.cpu_total < prev_total || s.cpu_system <= prev_system {
        return 0.0;
    }
    let pct = (s.cpu_total - prev_total) as f64 / (s.cpu_system - prev_system) as f64 * 100.0;
    if pct > 100.0 {
        return 0.0;
    }
    two_decimals(pct)
}

/// Share of the whole host from wall time: Δtotal/(wall_ns·online_cpus)·100, with the same
/// rules as `cpu_percent` (first sample, backwards counter, above 100 % → 0).
pub fn cpu_percent_wall(prev_total: u64, wall_ns: f64, s: &ContainerSample) -> f64 {
    let capacity = wall_ns * f64::from(s.online_cpus);
    if prev_total == 0 || s.cpu_total < prev_total || capacity <= 0.0 {
        return 0.0;
    }
    let pct = (s.cpu_total - prev_total) as f64 / capacity * 100.0;
    if pct > 100.0 {
        return 0.0;
    }
    two_decimals(pct)
}

/// B/s from two readings `elapsed_ms` apart; above the plausibility cap it is 0.
fn network_rate(prev: u64, cur: u64, elapsed_ms: u64) -> u64 {
    let rate = per_second(counter_delta(prev, cur), elapsed_ms);
    if rate > MAX_NETWORK_BYTES_PER_SEC {
        0
    } else {
        rate
    }
}

/// Status text and health code (spec §3.6): "Up About an hour (healthy)" → ("Up an hour", 2).
pub fn parse_status(status: &str) -> (String, u8) {
    let trimmed = status.trim();
    if trimmed.is_empty() {
        return (String::new(), HEALTH_NONE);
    }
    let trimmed = trimmed.replacen("About ", "", 1);
    let Some(open) = trimmed.rfind('(') else {
        return (trimmed, HEALTH_NONE);
    };
    let Some(inner) = trimmed.get(open + 1..).and_then(|t| t.strip_suffix(')')) else {
        return (trimmed, HEALTH_NONE);
    };
    let mut health_text = inner.trim().to_lowercase();
    if let Some((prefix, rest)) = health_text.split_once(':') {
        let prefix = prefix.trim();
        if prefix == "health" || prefix == "health status" {
            health_text = rest.trim().to_string();
        }
    }
    let Some(health) = health_code(&health_text) else {
        return (trimmed, HEALTH_NONE);
    };
    let before = trimmed.get(..open).unwrap_or("").trim();
    let status = if before.is_empty() {
        trimmed.clone()
    } else {
        before.to_string()
    };
    (status, health)
}

/// The health enum for a Docker health status word (any case); `None` for anything else.
pub fn health_code(text: &str) -> Option<u8> {
    match text.trim().to_lowercase().as_str() {
        "none" => Some(HEALTH_NONE),
        "starting" => Some(HEALTH_STARTING),
        "healthy" => Some(HEALTH_HEALTHY),
        "unhealthy" => Some(HEALTH_UNHEALTHY),
        _ => None,
    }
}

/// HEAD's ports string: sorted by (port, IP), 0.0.0.0 and :: written as the bare port, others as
/// "IP:port", duplicates (e.g. the usual 0.0.0.0 + :: pair) once, joined with ", ".
pub fn format_ports(ports: &[ContainerPort]) -> String {
    let mut sorted: Vec<&ContainerPort> = ports.iter().filter(|p| p.public_port != 0).collect();
    sorted.sort_by(|a, b| (a.public_port, &a.ip).cmp(&(b.public_port, &b.ip)));
    let mut seen = HashSet::new();
    let mut parts = Vec::new();
    for p in sorted {
        let text = match p.ip.as_str() {
            "" | "0.0.0.0" | "::" => p.public_port.to_string(),
            ip => format!("{ip}:{}", p.public_port),
        };
        if seen.insert(text.clone()) {
            parts.push(text);
        }
    }
    parts.join(", ")
}
