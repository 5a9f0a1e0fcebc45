//! Network collector against fixture trees written per test (the counters change between
//! samples, so a tempdir is clearer than static files).

use sonar_core::collect::network::{NetworkCollector, NetworkSample, FALLBACK_CAP_BYTES_PER_SEC};
use sonar_core::filter::NameFilter;
use sonar_core::roots::Roots;
use sonar_core::Settings;
use std::fs;
use std::time::{Duration, Instant};
use tempfile::TempDir;

const HEADER: &str = "Inter-|   Receive                                                |  Transmit\n \
face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n";

struct Host {
    dir: TempDir,
}

impl Host {
    fn new() -> Host {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("proc/net")).unwrap();
        fs::create_dir_all(dir.path().join("sys/class/net")).unwrap();
        Host { dir }
    }

    /// Writes /proc/net/dev with (name, bytes received, bytes sent) rows.
    fn counters(&self, nics: &[(&str, u64, u64)]) {
        let mut text = HEADER.to_string();
        for (name, recv, sent) in nics {
            text.push_str(&format!(
                "{name:>6}: {recv} 10 0 0 0 0 0 0 {sent} 10 0 0 0 0 0 0\n"
            ));
        }
        fs::write(self.dir.path().join("proc/net/dev"), text).unwrap();
    }

    fn sys_net(&self, nic: &str) -> std::path::PathBuf {
        let p = self.dir.path().join("sys/class/net").join(nic);
        fs::create_dir_all(&p).unwrap();
        p
    }

    fn bond_master(&self, nic: &str, slaves: &str) {
        let bonding = self.sys_net(nic).join("bonding");
        fs::create_dir_all(&bonding).unwrap();
        fs::write(bonding.join("slaves"), slaves).unwrap();
    }

    /// A hardware NIC (it has a `device` link) with a link speed in Mbit/s.
    fn link(&self, nic: &str, speed: &str) {
        let p = self.sys_net(nic);
        fs::create_dir_all(p.join("device")).unwrap();
        fs::write(p.join("speed"), format!("{speed}\n")).unwrap();
    }

    fn collector(&self, nics: Option<&str>) -> NetworkCollector {
        let settings = Settings {
            roots: Roots::under(self.dir.path()),
            nics: nics.map(NameFilter::parse),
            ..Settings::default()
        };
        NetworkCollector::new(&settings)
    }
}

fn names(sample: &NetworkSample) -> Vec<&str> {
    sample.interfaces.iter().map(|(n, _)| n.as_str()).collect()
}

fn nic<'a>(sample: &'a NetworkSample, name: &str) -> &'a [u64; 4] {
    &sample
        .interfaces
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} missing from {:?}", sample.interfaces))
        .1
}

#[test]
fn first_call_is_zero() {
    let host = Host::new();
    host.counters(&[("eth0", 5_000, 7_000)]);
    let mut c = host.collector(None);
    let s = c.sample(60_000, Instant::now());
    assert_eq!(
        s.interfaces,
        vec![("eth0".to_string(), [0, 0, 7_000, 5_000])]
    );
    assert_eq!(s.bandwidth, [0, 0]);
    assert_eq!((s.sent_ps, s.recv_ps), (0.0, 0.0));
}

#[test]
fn spec_pinned_one_megabyte_per_second() {
    // network_test.go@17: 1 000 000 B/s → 0.95 MiB/s, 2 000 000 B/s → 1.91 MiB/s.
    let host = Host::new();
    let t0 = Instant::now();
    host.counters(&[("eth0", 10, 10)]);
    let mut c = host.collector(None);
    c.sample(1000, t0);
    host.counters(&[("eth0", 2_000_010, 1_000_010)]);
    let s = c.sample(1000, t0 + Duration::from_millis(1000));
    assert_eq!(s.bandwidth, [1_000_000, 2_000_000]);
    assert_eq!(s.sent_ps, 0.95);
    assert_eq!(s.recv_ps, 1.91);
    assert_eq!(
        nic(&s, "eth0"),
        &[1_000_000, 2_000_000, 1_000_010, 2_000_010]
    );
}

#[test]
fn counter_wrap() {
    // A 32-bit counter wrapping gives the true small delta, not 2^64 − something.
    let host = Host::new();
    let t0 = Instant::now();
    let before = u32::MAX as u64 - 99;
    host.counters(&[("eth0", before, before)]);
    let mut c = host.collector(None);
    c.sample(1000, t0);
    host.counters(&[("eth0", 100, 300)]);
    let s = c.sample(1000, t0 + Duration::from_secs(1));
    assert_eq!(nic(&s, "eth0")[..2], [400, 200]);
    assert_eq!(s.bandwidth, [400, 200]);
}

#[test]
fn counter_reset() {
    // Driver reload: eth0's counters restart near zero while eth1 keeps counting. Go's
    // Σcurrent − Σprevious wrapped into an absurd spike here; the per-NIC sum cannot.
    let host = Host::new();
    let t0 = Instant::now();
    host.counters(&[
        ("eth0", 5_000_000_000_000, 4_000_000_000_000),
        ("eth1", 1_000, 1_000),
    ]);
    let mut c = host.collector(None);
    c.sample(1000, t0);
    host.counters(&[("eth0", 2_000, 1_000), ("eth1", 3_000, 2_000)]);
    let s = c.sample(1000, t0 + Duration::from_secs(1));
    assert_eq!(nic(&s, "eth0")[..2], [1_000, 2_000]);
    assert_eq!(nic(&s, "eth1")[..2], [1_000, 2_000]);
    assert_eq!(s.bandwidth, [2_000, 4_000]);
}

#[test]
fn bond_double_count() {
    // bond0 = eth0 + eth1; a second bonding master named "uplink0" (no "bond" prefix) = eth2 +
    // eth3. Only the slaves count.
    let host = Host::new();
    host.bond_master("bond0", "eth0 eth1");
    host.bond_master("uplink0", "eth2 eth3");
    let t0 = Instant::now();
    host.counters(&[
        ("bond0", 2, 2),
        ("eth0", 1, 1),
        ("eth1", 1, 1),
        ("uplink0", 2, 2),
        ("eth2", 1, 1),
        ("eth3", 1, 1),
    ]);
    let mut c = host.collector(None);
    c.sample(1000, t0);
    host.counters(&[
        ("bond0", 3_002, 302),
        ("eth0", 1_001, 101),
        ("eth1", 2_001, 201),
        ("uplink0", 70_002, 7_002),
        ("eth2", 30_001, 3_001),
        ("eth3", 40_001, 4_001),
    ]);
    let s = c.sample(1000, t0 + Duration::from_secs(1));
    assert_eq!(names(&s), ["eth0", "eth1", "eth2", "eth3"]);
    assert_eq!(s.bandwidth, [300 + 7_000, 3_000 + 70_000]);
}

#[test]
fn default_skips() {
    let host = Host::new();
    host.counters(&[
        ("lo", 9, 9),
        ("docker0", 9, 9),
        ("br-1a2b", 9, 9),
        ("veth12", 9, 9),
        ("bond1", 9, 9),
        ("cali77", 9, 9),
        ("ifb0", 0, 0),
        ("wg0", 9, 0),
        ("tun0", 0, 9),
        ("eth0", 9, 9),
        ("wlan0", 9, 9),
    ]);
    let s = host.collector(None).sample(1000, Instant::now());
    assert_eq!(names(&s), ["eth0", "wlan0"]);
}

#[test]
fn nics_allow_list_bypasses_default_skip() {
    let host = Host::new();
    host.bond_master("bond0", "eth0");
    host.counters(&[
        ("bond0", 9, 9),
        ("eth0", 9, 9),
        ("docker0", 9, 9),
        ("ifb0", 0, 0),
    ]);
    let s = host
        .collector(Some("bond0,docker0,ifb0"))
        .sample(1000, Instant::now());
    assert_eq!(names(&s), ["bond0", "docker0", "ifb0"]);
}

#[test]
fn nics_deny_list_keeps_default_skip() {
    let host = Host::new();
    host.counters(&[("lo", 9, 9), ("eth0", 9, 9), ("eth1", 9, 9), ("ifb0", 0, 0)]);
    let s = host.collector(Some("-eth1")).sample(1000, Instant::now());
    assert_eq!(names(&s), ["eth0"]);
    // An empty deny list allows everything the default skip allows.
    let s = host.collector(Some("-")).sample(1000, Instant::now());
    assert_eq!(names(&s), ["eth0", "eth1"]);
}

#[test]
fn nics_globs() {
    let host = Host::new();
    host.counters(&[
        ("eth0", 9, 9),
        ("eth1", 9, 9),
        ("enp3s0", 9, 9),
        ("wlan0", 9, 9),
    ]);
    // As in Beszel, only entries containing `*` are globs: "enp3s?" is matched literally.
    let s = host
        .collector(Some("eth*, wl?n*, enp3s?"))
        .sample(1000, Instant::now());
    assert_eq!(names(&s), ["eth0", "eth1", "wlan0"]);
    let s = host.collector(Some("-eth*")).sample(1000, Instant::now());
    assert_eq!(names(&s), ["enp3s0", "wlan0"]);
}

#[test]
fn nics_empty_allow_list_selects_nothing() {
    let host = Host::new();
    host.counters(&[("eth0", 9, 9)]);
    let s = host.collector(Some("")).sample(1000, Instant::now());
    assert!(s.interfaces.is_empty());
    assert_eq!(s.bandwidth, [0, 0]);
}

#[test]
fn per_cache_time_separation() {
    // 1000 and 60000 interleaved: each rate is over the interval since the same cache time's
    // previous call.
    let host = Host::new();
    let t0 = Instant::now();
    let mut c = host.collector(None);
    host.counters(&[("eth0", 1_000, 1_000)]);
    assert_eq!(c.sample(60_000, t0).bandwidth, [0, 0]);
    assert_eq!(c.sample(1000, t0).bandwidth, [0, 0]);
    for k in 1..=59u64 {
        host.counters(&[("eth0", 1_000 + k * 2_000, 1_000 + k * 500)]);
        let s = c.sample(1000, t0 + Duration::from_secs(k));
        assert_eq!(s.bandwidth, [500, 2_000], "second {k}");
    }
    // 60 s after its own baseline, with a burst in the last second.
    host.counters(&[("eth0", 1_000 + 59 * 2_000 + 62_000, 1_000 + 59 * 500 + 500)]);
    let s = c.sample(60_000, t0 + Duration::from_secs(60));
    assert_eq!(s.bandwidth, [500, (59 * 2_000 + 62_000) / 60]);
    let s = c.sample(1000, t0 + Duration::from_secs(60));
    assert_eq!(s.bandwidth, [500, 62_000]);
}

#[test]
fn link_speed_cap() {
    // 1 Gbit/s link: 187.5 MB/s is the most we believe.
    let host = Host::new();
    host.link("eth0", "1000");
    let t0 = Instant::now();
    let mut c = host.collector(None);
    host.counters(&[("eth0", 1_000, 1_000)]);
    c.sample(1000, t0);
    c.sample(60_000, t0);
    // 200 MB in one second: implausible for this ct → 0, baseline re-seeded.
    host.counters(&[("eth0", 200_001_000, 2_000)]);
    let s = c.sample(1000, t0 + Duration::from_secs(1));
    assert_eq!(nic(&s, "eth0")[..2], [0, 0]);
    assert_eq!(s.bandwidth, [0, 0]);
    host.counters(&[("eth0", 200_101_000, 3_000)]);
    let s = c.sample(1000, t0 + Duration::from_secs(2));
    assert_eq!(s.bandwidth, [1_000, 100_000]);
    // The other cache time kept its own baseline: over 60 s the same bytes are plausible.
    host.counters(&[("eth0", 200_101_000 + 59_000_000, 3_000 + 59_000)]);
    let s = c.sample(60_000, t0 + Duration::from_secs(60));
    assert_eq!(s.bandwidth, [61_000 / 60, (200_100_000 + 59_000_000) / 60]);
    // Exactly the cap passes.
    host.counters(&[("eth0", 200_101_000 + 187_500_000, 62_000)]);
    let s = c.sample(1000, t0 + Duration::from_secs(3));
    assert_eq!(s.bandwidth, [59_000, 187_500_000]);
}

#[test]
fn fallback_cap_without_link_speed() {
    let host = Host::new();
    // virtio reports -1, tun devices a nominal 10 Mbit/s without a backing device: both fall
    // back to 50 GB/s.
    host.link("eth0", "-1");
    fs::write(host.sys_net("tun0").join("speed"), "10\n").unwrap();
    let t0 = Instant::now();
    let mut c = host.collector(None);
    host.counters(&[("eth0", 1, 1), ("tun0", 1, 1)]);
    c.sample(1000, t0);
    host.counters(&[
        ("eth0", 1 + FALLBACK_CAP_BYTES_PER_SEC + 1, 2),
        ("tun0", 1 + 40_000_000, 2),
    ]);
    let s = c.sample(1000, t0 + Duration::from_secs(1));
    assert_eq!(nic(&s, "eth0")[..2], [0, 0]);
    assert_eq!(nic(&s, "tun0")[..2], [1, 40_000_000]);
}

#[test]
fn new_nic_appearing() {
    let host = Host::new();
    let t0 = Instant::now();
    let mut c = host.collector(None);
    host.counters(&[("eth0", 1_000, 1_000)]);
    c.sample(1000, t0);
    host.counters(&[("eth0", 2_000, 2_000), ("wlan0", 50_000, 40_000)]);
    let s = c.sample(1000, t0 + Duration::from_secs(1));
    assert_eq!(names(&s), ["eth0", "wlan0"]);
    assert_eq!(nic(&s, "wlan0"), &[0, 0, 40_000, 50_000]);
    assert_eq!(s.bandwidth, [1_000, 1_000]);
    host.counters(&[("eth0", 3_000, 3_000), ("wlan0", 60_000, 45_000)]);
    let s = c.sample(1000, t0 + Duration::from_secs(2));
    assert_eq!(nic(&s, "wlan0")[..2], [5_000, 10_000]);
    assert_eq!(s.bandwidth, [6_000, 11_000]);
}

#[test]
fn nic_gone_and_back_restarts_at_zero() {
    let host = Host::new();
    let t0 = Instant::now();
    let mut c = host.collector(None);
    host.counters(&[("eth0", 1_000, 1_000), ("usb0", 1_000, 1_000)]);
    c.sample(1000, t0);
    host.counters(&[("eth0", 2_000, 2_000)]);
    c.sample(1000, t0 + Duration::from_secs(1));
    host.counters(&[("eth0", 3_000, 3_000), ("usb0", 900_000, 900_000)]);
    let s = c.sample(1000, t0 + Duration::from_secs(2));
    assert_eq!(nic(&s, "usb0")[..2], [0, 0]);
}

#[test]
fn missing_proc_net_dev() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        roots: Roots::under(dir.path()),
        ..Settings::default()
    };
    let s = NetworkCollector::new(&settings).sample(1000, Instant::now());
    assert_eq!(s, NetworkSample::default());
}

#[test]
fn real_proc_net_dev_is_plausible() {
    let settings = Settings::default();
    let mut c = NetworkCollector::new(&settings);
    let t0 = Instant::now();
    c.sample(1000, t0);
    std::thread::sleep(Duration::from_millis(200));
    let s = c.sample(1000, Instant::now());
    for (name, [up, down, _, _]) in &s.interfaces {
        assert!(!name.starts_with("lo"), "{name} should be skipped");
        assert!(*up < FALLBACK_CAP_BYTES_PER_SEC && *down < FALLBACK_CAP_BYTES_PER_SEC);
    }
    let dev = fs::read_to_string("/proc/net/dev").unwrap();
    let eth0_active = dev.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.first() == Some(&"eth0:") && f.get(1) != Some(&"0") && f.get(9) != Some(&"0")
    });
    if eth0_active {
        assert!(names(&s).contains(&"eth0"), "{:?}", s.interfaces);
    }
    let total_up: u64 = s.interfaces.iter().map(|(_, v)| v[0]).sum();
    assert_eq!(s.bandwidth[0], total_up);
    assert!(s.sent_ps.is_finite() && s.recv_ps.is_finite());
}
