//! Container rate math and encoding (spec §1.7, §2.6, §3.6), with the Beszel v0.17 fixtures
//! container.json → container2.json pinning the CPU and memory math.

use sonar_core::collect::containers::{
    format_ports, health_code, parse_status, short_id, ContainerCollector, ContainerPort,
    ContainerSample, HEALTH_HEALTHY, HEALTH_NONE, HEALTH_STARTING, HEALTH_UNHEALTHY,
    MAX_NETWORK_BYTES_PER_SEC,
};
use sonar_core::model::ContainerStats;
use sonar_core::{Agent, CollectInput, Settings, Value};
use std::time::{Duration, Instant};

const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// shared/fixtures/beszel-v0.17/container.json
fn fixture1() -> ContainerSample {
    ContainerSample {
        id: ID.into(),
        name: "web".into(),
        image: "nginx:latest".into(),
        status: "Up 2 hours".into(),
        cpu_total: 312_055_276_000,
        cpu_system: 1_366_399_830_000_000,
        mem_usage: 507_400_192,
        mem_inactive_file: 165_130_240,
        net_tx: 20_376_558 + 2_003_766,
        net_rx: 537_029_455 + 6_241,
        ..ContainerSample::default()
    }
}

/// shared/fixtures/beszel-v0.17/container2.json
fn fixture2() -> ContainerSample {
    ContainerSample {
        cpu_total: 314_891_801_000,
        cpu_system: 1_368_474_900_000_000,
        ..fixture1()
    }
}

fn one(items: Vec<ContainerStats>) -> ContainerStats {
    assert_eq!(items.len(), 1, "{items:?}");
    items.into_iter().next().unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn fixture_cpu_and_memory_match_the_go_test() {
    let mut c = ContainerCollector::new();
    let t0 = Instant::now();
    let first = one(c.sample(60000, t0, &[fixture1()]));
    assert_eq!(first.cpu, 0.0, "first sample");
    let second = one(c.sample(60000, t0 + Duration::from_secs(60), &[fixture2()]));
    // docker_test.go@17: 2 836 525 000 / 2 075 070 000 000 · 100 ≈ 0.1367 %
    let raw = 2_836_525_000f64 / 2_075_070_000_000f64 * 100.0;
    assert!((raw - 0.1367).abs() < 1e-4);
    assert_eq!(second.cpu, 0.14);
    let mib = ((507_400_192u64 - 165_130_240) as f64 / 1_048_576.0 * 100.0).round() / 100.0;
    assert_eq!(second.mem, mib);
    assert_eq!(second.mem, 326.41);
    // unchanged network counters
    assert_eq!((second.net_sent, second.net_recv), (0.0, 0.0));
    assert_eq!(second.bandwidth, [0, 0]);
    assert_eq!(second.id, "0123456789ab");
    assert_eq!(second.name, "web");
    assert_eq!(second.image, "nginx:latest");
}

#[test]
fn first_sample_of_each_cache_time_is_zero() {
    let mut c = ContainerCollector::new();
    let t0 = Instant::now();
    c.sample(60000, t0, &[fixture1()]);
    // 1000 has no baseline of its own yet, even though 60000 has one
    let s = one(c.sample(1000, t0 + Duration::from_secs(1), &[fixture2()]));
    assert_eq!(s.cpu, 0.0);
    assert_eq!(s.bandwidth, [0, 0]);
}

#[test]
fn per_cache_time_separation() {
    let mut c = ContainerCollector::new();
    let t0 = Instant::now();
    let at = |cpu_total: u64, cpu_system: u64, net_tx: u64| ContainerSample {
        cpu_total,
        cpu_system,
        net_tx,
        ..fixture1()
    };
    c.sample(60000, t0, &[at(1_000, 100_000, 0)]);
    c.sample(1000, t0, &[at(1_000, 100_000, 0)]);
    // 1000: 10 % over one second, 1 MB/s sent
    let s = one(c.sample(
        1000,
        t0 + Duration::from_secs(1),
        &[at(11_000, 200_000, 1_000_000)],
    ));
    assert_eq!(s.cpu, 10.0);
    assert_eq!(s.bandwidth, [1_000_000, 0]);
    assert_eq!(s.net_sent, 0.95);
    // 60000 measures its own window: Δ from its own baseline, over its own 60 s (v0.17 divided
    // by the time since the 1000 read)
    let s = one(c.sample(
        60000,
        t0 + Duration::from_secs(60),
        &[at(61_000, 1_100_000, 6_000_000)],
    ));
    assert_eq!(s.cpu, 6.0);
    assert_eq!(s.bandwidth, [100_000, 0]);
}

#[test]
fn counter_reset_gives_zero_cpu_and_counts_only_new_bytes() {
    let mut c = ContainerCollector::new();
    let t0 = Instant::now();
    let base = ContainerSample {
        cpu_total: 5_000_000,
        cpu_system: 10_000_000,
        net_rx: 10_000_000,
        ..fixture1()
    };
    c.sample(1000, t0, std::slice::from_ref(&base));
    let reset = ContainerSample {
        cpu_total: 1_000,
        cpu_system: 11_000_000,
        net_rx: 2_000,
        ..base.clone()
    };
    let s = one(c.sample(1000, t0 + Duration::from_secs(1), &[reset]));
    assert_eq!(s.cpu, 0.0);
    assert_eq!(s.bandwidth, [0, 2_000]);
    // the reset reading is the new baseline
    let next = ContainerSample {
        cpu_total: 101_000,
        cpu_system: 12_000_000,
        net_rx: 4_000,
        ..base.clone()
    };
    let s = one(c.sample(1000, t0 + Duration::from_secs(2), &[next]));
    assert_eq!(s.cpu, 10.0);
    assert_eq!(s.bandwidth, [0, 2_000]);
    // a system counter that went backwards
    let back = ContainerSample {
        cpu_total: 201_000,
        cpu_system: 11_500_000,
        ..base
    };
    assert_eq!(
        one(c.sample(1000, t0 + Duration::from_secs(3), &[back])).cpu,
        0.0
    );
}

#[test]
fn cpu_above_100_reports_zero_and_reseeds() {
    let mut c = ContainerCollector::new();
    let t0 = Instant::now();
    let s = |cpu_total, cpu_system| ContainerSample {
        cpu_total,
        cpu_system,
        ..fixture1()
    };
    c.sample(1000, t0, &[s(1_000, 1_000)]);
    let bad = c.sample(1000, t0 + Duration::from_secs(1), &[s(1_000_000, 2_000)]);
    assert_eq!(one(bad).cpu, 0.0, "kept in the list with CPU 0");
    let good = c.sample(1000, t0 + Duration::from_secs(2), &[s(1_000_500, 3_000)]);
    assert_eq!(one(good).cpu, 50.0);
}

#[test]
fn podman_cpu_is_a_share_of_wall_time_capacity() {
    // Real Podman 4 on a 2-CPU host, a one-core busy loop: system_cpu_usage grows by the busy
    // time only, so Δtotal/Δsystem would read ~93 %.
    let mut c = ContainerCollector::new();
    let t0 = Instant::now();
    let s = |cpu_total, cpu_system| ContainerSample {
        cpu_total,
        cpu_system,
        online_cpus: 2,
        ..fixture1()
    };
    c.sample_engines(1000, t0, &[s(2_296_268_448, 1_254_243_826_774)], true);
    let busy = one(c.sample_engines(
        1000,
        t0 + Duration::from_millis(2158),
        &[s(4_452_840_103, 1_256_568_311_468)],
        true,
    ));
    assert_eq!(busy.cpu, 49.97);
    // without the Podman flag: the v0.17 formula on the same counters
    let mut c = ContainerCollector::new();
    c.sample(1000, t0, &[s(2_296_268_448, 1_254_243_826_774)]);
    let docker = one(c.sample(
        1000,
        t0 + Duration::from_millis(2158),
        &[s(4_452_840_103, 1_256_568_311_468)],
    ));
    assert_eq!(docker.cpu, 92.78);
    // online_cpus absent: falls back to the system counter
    let mut c = ContainerCollector::new();
    let no_cpus = |cpu_total, cpu_system| ContainerSample {
        online_cpus: 0,
        ..s(cpu_total, cpu_system)
    };
    c.sample_engines(1000, t0, &[no_cpus(1_000, 10_000)], true);
    let s2 = c.sample_engines(
        1000,
        t0 + Duration::from_secs(1),
        &[no_cpus(2_000, 20_000)],
        true,
    );
    assert_eq!(one(s2).cpu, 10.0);
}

#[test]
fn memory_inactive_file_then_cache_and_implausible_values_skip() {
    let mut c = ContainerCollector::new();
    let t0 = Instant::now();
    let v1 = ContainerSample {
        mem_usage: 300 * 1_048_576,
        mem_inactive_file: 0,
        mem_cache: 100 * 1_048_576,
        ..fixture1()
    };
    assert_eq!(one(c.sample(1000, t0, &[v1])).mem, 200.0);
    for (usage, inactive) in [(0, 0), (100, 100), (100, 200), (u64::MAX, 1)] {
        let bad = ContainerSample {
            mem_usage: usage,
            mem_inactive_file: inactive,
            ..fixture1()
        };
        assert!(
            c.sample(1000, t0, &[bad]).is_empty(),
            "{usage} − {inactive} must skip"
        );
    }
}

#[test]
fn network_rate_above_cap_is_zero() {
    let mut c = ContainerCollector::new();
    let t0 = Instant::now();
    c.sample(1000, t0, &[fixture1()]);
    let burst = ContainerSample {
        net_tx: fixture1().net_tx + MAX_NETWORK_BYTES_PER_SEC + 1,
        net_rx: fixture1().net_rx + MAX_NETWORK_BYTES_PER_SEC,
        ..fixture1()
    };
    let s = one(c.sample(1000, t0 + Duration::from_secs(1), &[burst]));
    assert_eq!(s.bandwidth, [0, MAX_NETWORK_BYTES_PER_SEC]);
    assert_eq!(s.net_sent, 0.0);
    assert_eq!(s.net_recv, 4768.37);
}

#[test]
fn containers_keep_separate_baselines() {
    let mut c = ContainerCollector::new();
    let t0 = Instant::now();
    let a = |cpu_total| ContainerSample {
        id: "aaaaaaaaaaaaaaaa".into(),
        name: "a".into(),
        cpu_total,
        cpu_system: 0,
        ..fixture1()
    };
    let b = |cpu_total| ContainerSample {
        id: "bbbbbbbbbbbbbbbb".into(),
        name: "b".into(),
        cpu_total,
        cpu_system: 0,
        ..fixture1()
    };
    let sys = |s: ContainerSample, cpu_system| ContainerSample { cpu_system, ..s };
    c.sample(1000, t0, &[sys(a(100), 1000), sys(b(500), 1000)]);
    let items = c.sample(
        1000,
        t0 + Duration::from_secs(1),
        &[sys(a(200), 2000), sys(b(1000), 2000)],
    );
    let cpus: Vec<(&str, f64)> = items.iter().map(|s| (s.name.as_str(), s.cpu)).collect();
    assert_eq!(cpus, [("a", 10.0), ("b", 50.0)]);
    assert_eq!(items[0].id, "aaaaaaaaaaaa");
}

#[test]
fn duplicate_ids_from_two_engines_are_reported_once() {
    let mut c = ContainerCollector::new();
    let items = c.sample(1000, Instant::now(), &[fixture1(), fixture1()]);
    assert_eq!(items.len(), 1);
}

#[test]
fn removed_containers_are_pruned() {
    let mut c = ContainerCollector::new();
    let t0 = Instant::now();
    c.sample(1000, t0, &[fixture1()]);
    c.sample(1000, t0 + Duration::from_secs(1), &[]);
    // it comes back: no baseline any more, so the first sample again
    let s = one(c.sample(1000, t0 + Duration::from_secs(2), &[fixture2()]));
    assert_eq!(s.cpu, 0.0);
}

#[test]
fn restart_seen_in_status_resets_baselines() {
    let mut c = ContainerCollector::new();
    let t0 = Instant::now();
    let with = |status: &str, cpu_total, cpu_system| ContainerSample {
        status: status.into(),
        cpu_total,
        cpu_system,
        ..fixture1()
    };
    // a young container is measured from its second sample on (v0.17 shows 0 for a minute)
    c.sample(1000, t0, &[with("Up 5 seconds", 100, 1_000)]);
    c.sample(60000, t0, &[with("Up 5 seconds", 100, 1_000)]);
    let s = one(c.sample(
        1000,
        t0 + Duration::from_secs(1),
        &[with("Up 6 seconds", 200, 2_000)],
    ));
    assert_eq!(s.cpu, 10.0);
    c.sample(
        1000,
        t0 + Duration::from_secs(2),
        &[with("Up 2 minutes", 300, 3_000)],
    );
    // restarted: its baselines are gone in every cache time
    let s = one(c.sample(
        1000,
        t0 + Duration::from_secs(3),
        &[with("Up 1 second", 400, 4_000)],
    ));
    assert_eq!(s.cpu, 0.0);
    let s = one(c.sample(
        60000,
        t0 + Duration::from_secs(3),
        &[with("Up 1 second", 400, 4_000)],
    ));
    assert_eq!(s.cpu, 0.0);
}

#[test]
fn status_and_health_table() {
    let cases = [
        ("Up About an hour (healthy)", "Up an hour", 2),
        ("Up 2 minutes (health: starting)", "Up 2 minutes", 1),
        ("Up 5 hours (unhealthy)", "Up 5 hours", 3),
        ("Up 3 days (health status: healthy)", "Up 3 days", 2),
        ("Up 3 days (Healthy)", "Up 3 days", 2),
        ("Up 4 seconds (none)", "Up 4 seconds", 0),
        ("  Up About a minute  ", "Up a minute", 0),
        ("Up 2 hours (Paused)", "Up 2 hours (Paused)", 0),
        ("Exited (0) 2 hours ago", "Exited (0) 2 hours ago", 0),
        ("(healthy)", "(healthy)", 2),
        ("Up 1 hour (healthy", "Up 1 hour (healthy", 0),
        ("", "", 0),
    ];
    for (input, status, health) in cases {
        assert_eq!(
            parse_status(input),
            (status.to_string(), health),
            "{input:?}"
        );
    }
}

#[test]
fn ports_sorted_deduped_and_wildcards_bare() {
    let p = |ip: &str, public_port| ContainerPort {
        ip: ip.into(),
        public_port,
    };
    assert_eq!(
        format_ports(&[
            p("127.0.0.1", 8080),
            p("::", 80),
            p("0.0.0.0", 80),
            p("0.0.0.0", 0),
            p("127.0.0.1", 8080),
        ]),
        "80, 127.0.0.1:8080"
    );
    assert_eq!(
        format_ports(&[p("10.0.0.2", 443), p("10.0.0.1", 443), p("", 22)]),
        "22, 10.0.0.1:443, 10.0.0.2:443"
    );
    assert_eq!(format_ports(&[]), "");
}

#[test]
fn short_ids() {
    assert_eq!(short_id(ID), "0123456789ab");
    assert_eq!(short_id("abc"), "abc");
}

#[test]
fn golden_bytes_of_one_container_item() {
    let item = ContainerStats {
        name: "web".into(),
        cpu: 1.5,
        mem: 0.0,
        net_sent: 0.0,
        net_recv: 0.0,
        health: 2,
        status: "Up".into(),
        id: "0123456789ab".into(),
        image: "nginx".into(),
        bandwidth: [0, 0],
        ports: "80".into(),
    };
    let expected = concat!(
        "aa", // map(10): key 9 (zero bandwidth) omitted
        "00",
        "63776562", // 0: "web"
        "01",
        "fb3ff8000000000000", // 1: 1.5
        "02",
        "fb0000000000000000", // 2: 0.0, never omitted
        "03",
        "fb0000000000000000",
        "04",
        "fb0000000000000000",
        "05",
        "02", // health 2
        "06",
        "625570", // "Up"
        "07",
        "6c303132333435363738396162",
        "08",
        "656e67696e78",
        "0a",
        "623830", // ports "80"
    );
    assert_eq!(hex(&item.to_value().to_cbor()), expected);
    let with_bandwidth = ContainerStats {
        bandwidth: [1, 256],
        ports: String::new(),
        ..item
    };
    let bytes = hex(&with_bandwidth.to_value().to_cbor());
    assert!(bytes.starts_with("ab"), "{bytes}");
    assert!(bytes.ends_with("0982011901000a60"), "{bytes}");
}

#[test]
fn collect_input_sets_key_2_and_podman() {
    let mut agent = Agent::new(Settings::default());
    let t0 = Instant::now();
    let none = agent.collect_with_at(0, &CollectInput::default(), t0);
    assert_eq!(none.value.get(2), Some(&Value::Null));
    assert_eq!(none.value.get(1).and_then(|i| i.get(11)), None);

    let empty = CollectInput {
        containers: Some(vec![]),
        podman: true,
        ..CollectInput::default()
    };
    let payload = agent.collect_with_at(0, &empty, t0);
    assert_eq!(payload.value.get(2), Some(&Value::Array(vec![])));
    assert_eq!(
        payload.value.get(1).and_then(|i| i.get(11)),
        Some(&Value::Bool(true))
    );

    let listed = CollectInput {
        containers: Some(vec![fixture1()]),
        podman: false,
        ..CollectInput::default()
    };
    agent.collect_with_at(0, &listed, t0);
    let listed = CollectInput {
        containers: Some(vec![fixture2()]),
        podman: false,
        ..CollectInput::default()
    };
    let payload = agent.collect_with_at(0, &listed, t0 + Duration::from_secs(60));
    let Some(Value::Array(items)) = payload.value.get(2) else {
        panic!("no container list");
    };
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].get(1), Some(&Value::Float(0.14)));
    assert_eq!(items[0].get(7), Some(&Value::Text("0123456789ab".into())));
}

#[test]
fn is_fresh_follows_the_snapshot_cache() {
    let mut agent = Agent::new(Settings::default());
    let t0 = Instant::now();
    assert!(!agent.is_fresh_at(1000, t0));
    let input = CollectInput {
        containers: Some(vec![fixture1()]),
        podman: false,
        ..CollectInput::default()
    };
    let first = agent.collect_with_at(1000, &input, t0);
    assert!(agent.is_fresh_at(1000, t0 + Duration::from_millis(499)));
    assert!(!agent.is_fresh_at(1000, t0 + Duration::from_millis(500)));
    assert!(!agent.is_fresh_at(60000, t0));
    assert!(!agent.is_fresh_at(0, t0));
    // a fresh answer ignores the new input
    let again = agent.collect_with_at(1000, &CollectInput::default(), t0);
    assert!(std::sync::Arc::ptr_eq(&first, &again));
}

/// A container engine that never answers held GetData for the whole DOCKER_TIMEOUT; now the
/// caller answers with its last sample and says how old it is. Rates are measured to when the
/// engines were read, and a sample a cache time has already measured repeats its figures
/// instead of reporting zeros.
#[test]
fn a_slow_engines_last_sample_is_not_measured_twice() {
    let mut agent = Agent::new(Settings::default());
    let t0 = Instant::now();
    let input = |sample: ContainerSample, age_secs: u64| CollectInput {
        containers: Some(vec![sample]),
        containers_age: Duration::from_secs(age_secs),
        ..CollectInput::default()
    };
    let item = |agent: &mut Agent, input: &CollectInput, at_secs: u64| {
        let payload = agent.collect_with_at(60000, input, t0 + Duration::from_secs(at_secs));
        match payload.value.get(2) {
            Some(Value::Array(items)) if items.len() == 1 => items[0].clone(),
            other => panic!("not one container: {other:?}"),
        }
    };
    item(&mut agent, &input(fixture1(), 0), 0);
    let fresh = item(&mut agent, &input(fixture2(), 0), 60);
    assert_eq!(fresh.get(1), Some(&Value::Float(0.14)));
    // the engine hangs: the same sample, now a minute old, gives the same figures
    let repeated = item(&mut agent, &input(fixture2(), 60), 120);
    assert_eq!(repeated, fresh);
    // also when the caller's idea of its age is a little short (two clocks): the counters say
    // it is the same reading
    let repeated = item(&mut agent, &input(fixture2(), 59), 150);
    assert_eq!(repeated, fresh);
    // a sample read 30 s before the request: the network rate is over the 90 s since the
    // reading it follows (t=60 → t=150), not over the 120 s between the requests
    let third = ContainerSample {
        cpu_total: fixture2().cpu_total + 2_075_070_000,
        cpu_system: fixture2().cpu_system + 2_075_070_000_000,
        net_tx: fixture2().net_tx + 900_000,
        ..fixture2()
    };
    let later = item(&mut agent, &input(third, 30), 180);
    assert_eq!(later.get(9), Some(&Value::uint_array(&[10_000, 0])));
    assert_eq!(later.get(1), Some(&Value::Float(0.1)));
}

/// v0.18.8 (beszel-v0.18.md §6.7): Podman CPU % = Δtotal / (Δread · online CPUs), Δread between
/// the engine's own `read` stamps, not when this agent got the answers (200 one-shot requests
/// queue; a 1 s window would be off by the queueing).
#[test]
fn podman_cpu_v0_18_8_uses_the_engines_read_stamps() {
    let mut c = ContainerCollector::new();
    let t0 = Instant::now();
    let s = |cpu_total, read_us| ContainerSample {
        cpu_total,
        cpu_system: cpu_total * 3,
        online_cpus: 2,
        read_us,
        ..fixture1()
    };
    let stamp = 1_796_224_863_082_490;
    c.sample_engines(1000, t0, &[s(1_000_000_000, stamp)], true);
    // the engine read the cgroup 2 s later; this agent saw the answer 3 s later
    let item = one(c.sample_engines(
        1000,
        t0 + Duration::from_secs(3),
        &[s(2_000_000_000, stamp + 2_000_000)],
        true,
    ));
    assert_eq!(item.cpu, 25.0, "1 s of CPU over 2 s × 2 CPUs");
    // stamps out of order measure nothing (Go: a negative duration wraps to a huge one)
    let item = one(c.sample_engines(
        1000,
        t0 + Duration::from_secs(4),
        &[s(3_000_000_000, stamp + 1_000_000)],
        true,
    ));
    assert_eq!(item.cpu, 0.0);
    // no stamp: this agent's clock
    let mut c = ContainerCollector::new();
    c.sample_engines(1000, t0, &[s(1_000_000_000, 0)], true);
    let item = one(c.sample_engines(
        1000,
        t0 + Duration::from_secs(4),
        &[s(2_000_000_000, 0)],
        true,
    ));
    assert_eq!(item.cpu, 12.5);
}

/// v0.18.8: the engine's Health.Status (Docker API ≥ 1.52; Podman's inspect) decides the health;
/// the status text only when the engine gives none, or a word it does not know.
#[test]
fn health_from_the_engines_health_status_over_the_status_text() {
    let mut c = ContainerCollector::new();
    let t0 = Instant::now();
    let mut health = |status: &str, health: &str| {
        let s = ContainerSample {
            status: status.into(),
            health: health.into(),
            ..fixture1()
        };
        one(c.sample(1000, t0, &[s])).health
    };
    assert_eq!(health("Up 2 hours", "healthy"), HEALTH_HEALTHY);
    assert_eq!(
        health("Up 2 hours (healthy)", "Unhealthy"),
        HEALTH_UNHEALTHY
    );
    assert_eq!(health("Up 2 seconds", "starting"), HEALTH_STARTING);
    assert_eq!(health("Up 2 hours (unhealthy)", ""), HEALTH_UNHEALTHY);
    assert_eq!(health("Up 2 hours (healthy)", "odd"), HEALTH_HEALTHY);
    assert_eq!(health("Up 2 hours", ""), HEALTH_NONE);
    assert_eq!(health_code(" none "), Some(HEALTH_NONE));
    assert_eq!(health_code(""), None);
}

/// v0.18.8 keeps a container's previous ports string when its list comes back empty; we send
/// the current (empty) one, so the hub does not keep showing ports that are gone.
#[test]
fn ports_lost_are_cleared_not_kept_from_the_previous_sample() {
    let mut c = ContainerCollector::new();
    let t0 = Instant::now();
    let published = ContainerSample {
        ports: vec![ContainerPort {
            ip: "0.0.0.0".into(),
            public_port: 8080,
        }],
        ..fixture1()
    };
    assert_eq!(one(c.sample(1000, t0, &[published])).ports, "8080");
    let unpublished = one(c.sample(1000, t0 + Duration::from_secs(1), &[fixture1()]));
    assert_eq!(unpublished.ports, "");
}

/// The ports string of v0.18.8 (docker_test.go): IPv6 without brackets, sorted by port then IP,
/// v4 and v6 wildcards the same binding.
#[test]
fn ports_v0_18_8_format_ipv6_without_brackets() {
    let p = |ip: &str, public_port| ContainerPort {
        ip: ip.into(),
        public_port,
    };
    assert_eq!(
        format_ports(&[
            p("fd04:38e2:98c6:3fd::72", 65534),
            p("::", 80),
            p("0.0.0.0", 80)
        ]),
        "80, fd04:38e2:98c6:3fd::72:65534"
    );
    assert_eq!(
        format_ports(&[p("172.16.156.25", 65533), p("172.16.151.72", 65533)]),
        "172.16.151.72:65533, 172.16.156.25:65533"
    );
    assert_eq!(
        format_ports(&[p("1.2.3.4", 443), p("0.0.0.0", 80)]),
        "80, 1.2.3.4:443"
    );
}
