//! Network interface rates from /proc/net/dev (spec §2.5, §3.3).
//!
//! Differences from the Go agent, all deliberate:
//! - the NIC set is re-evaluated on every sample (we read /proc/net/dev anyway), so interfaces
//!   that appear after start are picked up; one without a baseline yet reports rate 0;
//! - bonding masters are recognised through sysfs whatever their name, so a bond and its slaves
//!   are never counted twice;
//! - totals are the sum of the per-NIC rates (Σcurrent − Σprevious wraps when one NIC resets);
//! - an implausible per-NIC rate zeroes only that NIC in only that cache time, instead of
//!   clearing every cache time's baselines. Implausible is above 1.5 × the NIC's link speed, or
//!   50 GB/s without one; v0.18.8 resets when the *total* exceeds 10¹⁰ B/s in either direction
//!   (beszel-v0.18.md §6.1), which misses a glitch on a 1 Gbit NIC and zeroes the real traffic
//!   of two busy 100 GbE links.
//! - with `NICS` as an allow list the default filters (virtual prefixes, idle NICs, bond
//!   masters) do not apply; a `-` deny list keeps them (v0.18.8, §6.9).

use crate::baselines::Baselines;
use crate::delta::counter_delta;
use crate::filter::NameFilter;
use crate::roots::{read_i64, read_proc_into};
use crate::settings::Settings;
use crate::units::{bytes_to_mib, per_second};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

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

/// Name prefixes of virtual interfaces skipped by default (Go `skipNetworkInterface`).
const SKIPPED_PREFIXES: &[&str] = &["lo", "docker", "br-", "veth", "bond", "cali"];

/// Cap for a NIC without a usable link speed: 50 GB/s (400 Gbit/s) is beyond any real NIC.
pub const FALLBACK_CAP_BYTES_PER_SEC: u64 = 50_000_000_000;

/// How long a NIC's link speed is trusted before `speed` is read again. Reading it takes the
/// kernel's RTNL lock, so not on every sample.
const LINK_SPEED_TTL: Duration = Duration::from_secs(60);

/// Counters of one interface as read from /proc/net/dev.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicCounters {
    pub name: String,
    pub bytes_recv: u64,
    pub bytes_sent: u64,
}

/// The state one cache time needs to turn the next reading into rates.
struct Baseline {
    time: Instant,
    /// name → (bytes sent, bytes received) of the NICs selected in that sample.
    counters: HashMap<String, (u64, u64)>,
}

struct LinkCap {
    bytes_per_sec: u64,
    checked: Instant,
}

pub struct NetworkCollector {
    proc_root: PathBuf,
    net_dev: PathBuf,
    /// Reused read buffer.
    buf: String,
    sys_class_net: PathBuf,
    nics: Option<NameFilter>,
    baselines: Baselines<Baseline>,
    link_caps: HashMap<String, LinkCap>,
    /// Outside Linux, when /proc/net/dev is absent: sysinfo's interface counters.
    #[cfg(not(target_os = "linux"))]
    portable: Option<crate::collect::portable::System>,
}

impl NetworkCollector {
    pub fn new(settings: &Settings) -> Self {
        NetworkCollector {
            proc_root: settings.roots.proc.clone(),
            net_dev: settings.roots.proc("net/dev"),
            buf: String::new(),
            sys_class_net: settings.roots.sys("class/net"),
            nics: settings.nics.clone(),
            baselines: Baselines::new(),
            link_caps: HashMap::new(),
            #[cfg(not(target_os = "linux"))]
            portable: None,
        }
    }

    /// How many cache times keep a baseline.
    pub fn windows(&self) -> usize {
        self.baselines.len()
    }

    pub fn sample(&mut self, cache_time_ms: u16, now: Instant) -> NetworkSample {
        let Some(counters) = self.read_counters() else {
            return NetworkSample::default();
        };
        let selected: Vec<NicCounters> = counters
            .into_iter()
            .filter(|nic| self.is_selected(nic))
            .collect();

        // Taken out (and replaced below) so the link-speed cache can be updated meanwhile.
        let previous = self.baselines.take(cache_time_ms);
        let elapsed_ms = previous
            .as_ref()
            .map(|b| now.saturating_duration_since(b.time).as_millis())
            .map(|ms| u64::try_from(ms).unwrap_or(u64::MAX))
            .unwrap_or(0);

        let mut interfaces = Vec::with_capacity(selected.len());
        let mut total_sent: u64 = 0;
        let mut total_recv: u64 = 0;
        for nic in &selected {
            let (mut up, mut down) = (0, 0);
            if let Some(&(prev_sent, prev_recv)) =
                previous.as_ref().and_then(|b| b.counters.get(&nic.name))
            {
                up = per_second(counter_delta(prev_sent, nic.bytes_sent), elapsed_ms);
                down = per_second(counter_delta(prev_recv, nic.bytes_recv), elapsed_ms);
                // Only look the link speed up when there is a rate to check.
                if up.max(down) > 0 {
                    let cap = self.link_cap(&nic.name, now);
                    if up > cap || down > cap {
                        // Counters we cannot trust: report nothing for this NIC this time; the
                        // baseline below is re-seeded from the current counters.
                        up = 0;
                        down = 0;
                    }
                }
            }
            total_sent = total_sent.saturating_add(up);
            total_recv = total_recv.saturating_add(down);
            interfaces.push((nic.name.clone(), [up, down, nic.bytes_sent, nic.bytes_recv]));
        }
        interfaces.sort_by(|a, b| a.0.cmp(&b.0));

        // Only selected NICs keep a baseline: one that drops out and comes back starts again at 0.
        let counters = selected
            .into_iter()
            .map(|nic| (nic.name, (nic.bytes_sent, nic.bytes_recv)))
            .collect();
        self.baselines.insert(
            cache_time_ms,
            Baseline {
                time: now,
                counters,
            },
        );
        self.link_caps
            .retain(|name, _| interfaces.iter().any(|(n, _)| n == name));

        NetworkSample {
            interfaces,
            sent_ps: bytes_to_mib(total_sent as f64),
            recv_ps: bytes_to_mib(total_recv as f64),
            bandwidth: [total_sent, total_recv],
        }
    }

    /// Every interface's counters: /proc/net/dev, else (outside Linux) sysinfo's.
    fn read_counters(&mut self) -> Option<Vec<NicCounters>> {
        let lost = "network rates are reported as 0";
        if read_proc_into(&self.proc_root, &self.net_dev, &mut self.buf, lost) {
            return Some(parse_net_dev(&self.buf));
        }
        #[cfg(not(target_os = "linux"))]
        {
            let sys = self
                .portable
                .get_or_insert_with(crate::collect::portable::new_system);
            let nics = crate::collect::portable::nic_counters(sys)
                .into_iter()
                .map(|(name, bytes_recv, bytes_sent)| NicCounters {
                    name,
                    bytes_recv,
                    bytes_sent,
                })
                .collect::<Vec<_>>();
            Some(nics)
        }
        #[cfg(target_os = "linux")]
        None
    }

    fn is_selected(&self, nic: &NicCounters) -> bool {
        match &self.nics {
            // An allow list is the user's explicit choice: it bypasses the default skip (HEAD).
            Some(filter) if !filter.is_deny_list() => filter.allows(&nic.name),
            Some(filter) => filter.allows(&nic.name) && !self.skipped_by_default(nic),
            None => !self.skipped_by_default(nic),
        }
    }

    fn skipped_by_default(&self, nic: &NicCounters) -> bool {
        SKIPPED_PREFIXES.iter().any(|p| nic.name.starts_with(p))
            || nic.bytes_recv == 0
            || nic.bytes_sent == 0
            || self.is_bond_master(&nic.name)
    }

    /// A bonding master carries its slaves' traffic; counting both doubles it. Its name need
    /// not start with "bond", so ask sysfs.
    fn is_bond_master(&self, name: &str) -> bool {
        self.sys_class_net.join(name).join("bonding").exists()
    }

    /// Highest believable rate for a NIC in bytes/s: 1.5 × its link speed, else 50 GB/s.
    fn link_cap(&mut self, name: &str, now: Instant) -> u64 {
        if let Some(cap) = self.link_caps.get(name) {
            if now.saturating_duration_since(cap.checked) < LINK_SPEED_TTL {
                return cap.bytes_per_sec;
            }
        }
        let bytes_per_sec = self.read_link_cap(name);
        self.link_caps.insert(
            name.to_string(),
            LinkCap {
                bytes_per_sec,
                checked: now,
            },
        );
        bytes_per_sec
    }

    fn read_link_cap(&self, name: &str) -> u64 {
        let dir = self.sys_class_net.join(name);
        // Only hardware-backed NICs: tun devices (OpenVPN, Tailscale) report a nominal 10 Mbit/s
        // that real traffic exceeds all the time.
        if !dir.join("device").exists() {
            return FALLBACK_CAP_BYTES_PER_SEC;
        }
        match read_i64(&dir.join("speed")) {
            Some(mbit) if mbit > 0 => (mbit as u64).saturating_mul(125_000).saturating_mul(3) / 2,
            _ => FALLBACK_CAP_BYTES_PER_SEC,
        }
    }
}

/// One /proc/net/dev line: the interface and its 16 counters (receive bytes, packets, errs,
/// drop, fifo, frame, compressed, multicast; transmit bytes, packets, errs, drop, fifo, colls,
/// carrier, compressed). Only the first `count` are present (at least 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetDevLine<'a> {
    pub name: &'a str,
    pub values: [u64; 16],
    pub count: usize,
}

/// The lines of /proc/net/dev after its two header lines. Lines that do not parse are skipped
/// rather than failing the whole reading.
pub fn net_dev_lines(text: &str) -> impl Iterator<Item = NetDevLine<'_>> {
    text.lines().skip(2).filter_map(|line| {
        // Interface names cannot contain ':', and old kernels print no space after it.
        let (name, rest) = line.split_once(':')?;
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        let mut values = [0u64; 16];
        let mut count = 0;
        for (slot, field) in values.iter_mut().zip(rest.split_whitespace()) {
            *slot = field.parse().ok()?;
            count += 1;
        }
        (count >= 9).then_some(NetDevLine {
            name,
            values,
            count,
        })
    })
}

/// Received and sent bytes of every interface.
pub fn parse_net_dev(text: &str) -> Vec<NicCounters> {
    net_dev_lines(text)
        .map(|line| NicCounters {
            name: line.name.to_string(),
            bytes_recv: line.values[0],
            bytes_sent: line.values[8],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_net_dev() {
        let text = "Inter-|   Receive                                                |  Transmit\n \
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
lo:    3245      30    0    0    0     0          0         0     3245      30    0    0    0     0       0          0\n  \
eth0:177701911    5094    0    0    0     0          0         0   309227    2884    0    0    0     0       0          0\n  \
bad: x\n";
        let nics = parse_net_dev(text);
        assert_eq!(nics.len(), 2);
        assert_eq!(
            nics[1],
            NicCounters {
                name: "eth0".into(),
                bytes_recv: 177_701_911,
                bytes_sent: 309_227
            }
        );
    }
}
