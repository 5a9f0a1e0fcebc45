//! The v0.18.8 shape of a GetData answer: the worked example (b) of
//! shared/spec/beszel-v0.18.md §8 byte for byte, and when an answer carries Details.

use sonar_core::model::dialect::{v018_from_v017, with_details, Dialect, V018Facts};
use sonar_core::model::{CombinedData, Details, Info, Stats};
use sonar_core::{Agent, Answer, CollectInput, DataRequest, Settings, Value};
use std::time::{Duration, Instant};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// Example (b)'s sample as the collectors give it (the v0.17 tables, legacy Info fields filled).
fn example_b() -> CombinedData {
    CombinedData {
        stats: Stats {
            cpu: 1.5,
            mem: 15.49,
            mem_used: 4.2,
            mem_pct: 27.1,
            mem_buff_cache: 8.1,
            disk_total: 100.0,
            disk_used: 40.0,
            disk_pct: 40.0,
            disk_read_ps: 0.0,
            disk_write_ps: 0.1,
            net_sent: 0.01,
            net_recv: 0.02,
            bandwidth: [1234, 5678],
            load_avg: [0.1, 0.2, 0.3],
            disk_io: [0, 104857],
            ..Stats::default()
        },
        info: Info {
            hostname: "web-01".into(),
            kernel: "6.8.0-45-generic".into(),
            cores: 4,
            threads: 8,
            cpu_model: "Intel(R) Xeon(R) E-2236 CPU @ 3.40GHz".into(),
            uptime: 86400,
            cpu: 1.5,
            mem_pct: 27.1,
            disk_pct: 40.0,
            bandwidth: 0.03,
            agent_version: "0.17.0".into(),
            os: 0,
            load_avg_1: 0.1,
            load_avg_5: 0.2,
            load_avg_15: 0.3,
            bandwidth_bytes: 6912,
            load_avg: [0.1, 0.2, 0.3],
            connection_type: 2,
            ..Info::default()
        },
        containers: None,
        services: None,
        details: None,
    }
}

fn example_b_details() -> Details {
    Details {
        hostname: "web-01".into(),
        kernel: "6.8.0-45-generic".into(),
        cores: 4,
        threads: 8,
        cpu_model: "Intel(R) Xeon(R) E-2236 CPU @ 3.40GHz".into(),
        os: 0,
        os_name: "Ubuntu 24.04.1 LTS".into(),
        arch: "x86_64".into(),
        podman: false,
        memory_total: 16633249792,
        smart_interval: 3_600_000_000_000,
    }
}

fn threads(threads: u64) -> V018Facts {
    V018Facts {
        threads,
        ..V018Facts::default()
    }
}

/// `{0: id, 1: payload}`, as the dispatcher wraps it.
fn envelope(id: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0xa2, 0x00, id, 0x01];
    out.extend_from_slice(payload);
    out
}

#[test]
fn worked_example_b_reply_with_details_is_362_bytes() {
    let v018 = v018_from_v017(&example_b().to_value(), &threads(8)).to_cbor();
    let payload = with_details(&v018, &example_b_details().to_value()).unwrap();
    let reply = envelope(2, &payload);
    assert_eq!(reply.len(), 362);
    assert_eq!(
        hex(&reply[..20]),
        "a2000201a400ac00fb3ff800000000000002fb40"
    );
    assert_eq!(reply[240], 0x04, "key 4 comes last");
    let details = unhex(
        "aa 00 66 77 65 62 2d 30 31 01 70 36 2e 38 2e 30 2d 34 35 2d 67 65 6e 65 72 69 63 02 04 03 08 04 78 25
         49 6e 74 65 6c 28 52 29 20 58 65 6f 6e 28 52 29 20 45 2d 32 32 33 36 20 43 50 55 20 40 20 33 2e 34 30
         47 48 7a 05 00 06 72 55 62 75 6e 74 75 20 32 34 2e 30 34 2e 31 20 4c 54 53 07 66 78 38 36 5f 36 34 09
         1b 00 00 00 03 df 6b 40 00 0a 1b 00 00 03 46 30 b8 a0 00",
    );
    assert_eq!(details.len(), 121);
    assert_eq!(hex(&reply[241..]), hex(&details));
}

#[test]
fn v018_info_drops_the_fields_that_moved_to_details() {
    let v018 = v018_from_v017(&example_b().to_value(), &threads(8));
    let info = v018.get(1).unwrap();
    let keys: Vec<u64> = match info {
        Value::Map(fields) => fields
            .iter()
            .map(|(k, _)| match k {
                sonar_core::Key::Field(k, _) => *k,
                sonar_core::Key::Text(_) => u64::MAX,
            })
            .collect(),
        _ => panic!("Info is a map"),
    };
    assert_eq!(keys, [3, 5, 6, 7, 8, 9, 10, 18, 19, 20]);
    assert_eq!(
        info.get(9),
        Some(&Value::Float(0.0)),
        "Info.b is always 0.0"
    );
    assert_eq!(info.get(10), Some(&Value::Text("0.18.8".into())));
    let stats = v018.get(0).unwrap();
    for dropped in [12, 16, 17] {
        assert!(stats.get(dropped).is_none(), "Stats key {dropped}");
    }
    assert_eq!(
        stats.get(13),
        Some(&Value::Float(0.1)),
        "dw is sent when non-zero"
    );
}

#[test]
fn v018_stats_put_fans_and_batteries_after_temperatures_as_go_declares_them() {
    let mut data = example_b();
    data.stats.temperatures = vec![("cpu".into(), 40.0)];
    data.stats.fans = vec![("nct6775_fan1".into(), 900)];
    data.stats.batteries = vec![("BAT0".into(), 80)];
    data.stats.interfaces = vec![("eth0".into(), [1, 2, 3, 4])];
    let v018 = v018_from_v017(&data.to_value(), &threads(8));
    let Value::Map(fields) = v018.get(0).unwrap() else {
        panic!("Stats is a map")
    };
    let keys: Vec<u64> = fields
        .iter()
        .filter_map(|(k, _)| match k {
            sonar_core::Key::Field(k, _) => Some(*k),
            sonar_core::Key::Text(_) => None,
        })
        .collect();
    assert_eq!(
        keys,
        [0, 2, 3, 4, 5, 9, 10, 11, 13, 20, 36, 37, 26, 28, 31, 32]
    );
}

/// v0.18.8 reports the primary battery's own capacity and state (spec §6.4) where v0.17 sent a
/// weighted figure; each shape gets its own, in Stats 29 and Info 23.
#[test]
fn each_shape_gets_its_own_battery_figure() {
    let mut data = example_b();
    data.stats.battery = [30, 4];
    data.info.battery = [30, 4];
    data.stats.battery_primary = [17, 4];
    let v017 = data.to_value();
    assert_eq!(
        v017.get(0).unwrap().get(29),
        Some(&Value::Bytes(vec![30, 4]))
    );
    let facts = V018Facts {
        threads: 8,
        battery: data.stats.battery_primary,
    };
    let v018 = v018_from_v017(&v017, &facts);
    assert_eq!(
        v018.get(0).unwrap().get(29),
        Some(&Value::Bytes(vec![17, 4]))
    );
    assert_eq!(
        v018.get(1).unwrap().get(23),
        Some(&Value::Bytes(vec![17, 4]))
    );
    // a primary battery without a status file is [70, 0] in v0.18.8, where v0.17 sent nothing
    data.stats.battery = [0, 0];
    data.info.battery = [0, 0];
    let v018 = v018_from_v017(
        &data.to_value(),
        &V018Facts {
            battery: [70, 0],
            ..facts
        },
    );
    assert_eq!(
        v018.get(0).unwrap().get(29),
        Some(&Value::Bytes(vec![70, 0]))
    );
    let none = v018_from_v017(&example_b().to_value(), &facts_without_battery());
    assert!(none.get(0).unwrap().get(29).is_none() && none.get(1).unwrap().get(23).is_none());
}

fn facts_without_battery() -> V018Facts {
    threads(8)
}

#[test]
fn v017_answer_is_unchanged_by_the_dialect_code() {
    let data = example_b();
    let v017 = data.to_value().to_cbor();
    let payload = sonar_core::Payload::with_threads(data, 8);
    assert_eq!(payload.cbor_for(Dialect::V017), v017.as_slice());
    assert_ne!(payload.cbor_for(Dialect::V018), v017.as_slice());
}

const V017: DataRequest = DataRequest {
    dialect: Dialect::V017,
    include_details: false,
};

fn v018(include_details: bool) -> DataRequest {
    DataRequest {
        dialect: Dialect::V018,
        include_details,
    }
}

/// Whether an answer's bytes are the v0.18.8 payload followed by these Details, as key 4.
fn carries(answer: &Answer, details: &Details) -> bool {
    let plain = answer.payload().cbor_for(Dialect::V018);
    let bytes = answer.bytes();
    let mut tail = vec![0x04];
    tail.extend(details.to_value().to_cbor());
    bytes.len() == plain.len() + tail.len()
        && bytes[0] == plain[0] + 1
        && bytes[1..plain.len()] == plain[1..]
        && bytes.ends_with(&tail)
}

#[test]
fn details_go_to_v018_hubs_that_ask_on_the_60s_poll_and_never_to_v017_hubs() {
    let mut agent = Agent::new(Settings::default());
    let t0 = Instant::now();
    let input = CollectInput::default();
    let v17 = agent.answer_at(60000, &input, V017, t0);
    assert!(!v17.has_details());
    assert_eq!(v17.bytes(), v17.payload().cbor.as_slice());
    let asked = agent.answer_at(60000, &input, v018(true), t0 + Duration::from_secs(31));
    assert!(asked.has_details() && carries(&asked, &agent.details(false)));
    let realtime = agent.answer_at(1000, &input, v018(true), t0 + Duration::from_secs(62));
    assert!(
        !realtime.has_details(),
        "realtime answers never carry Details"
    );
    let later = agent.answer_at(60000, &input, v018(false), t0 + Duration::from_secs(93));
    assert!(!later.has_details(), "not asked, nothing changed");
}

/// The Go agent answers from its 30 s cache without Details even when the hub asked (a fast
/// reconnect); a v0.18.8 hub then asks again a minute later, and one that saw Info key 0 would
/// synthesise Details and never ask again. Ours attaches them to the cached answer too.
#[test]
fn details_lost_on_a_cached_first_reply_never_happens() {
    let mut agent = Agent::new(Settings::default());
    let t0 = Instant::now();
    let input = CollectInput::default();
    let first = agent.answer_at(60000, &input, v018(false), t0);
    let cached = agent.answer_at(60000, &input, v018(true), t0 + Duration::from_secs(5));
    assert!(
        std::sync::Arc::ptr_eq(first.payload(), cached.payload()),
        "served from the cache"
    );
    assert!(cached.has_details() && carries(&cached, &agent.details(false)));
    assert!(!agent.details(false).hostname.is_empty());
    let v018 = v018_from_v017(&cached.payload().value, &threads(1));
    assert!(
        v018.get(1).unwrap().get(0).is_none(),
        "no Info hostname beside Details"
    );
}

#[test]
fn late_podman_detection_resends_details_unasked() {
    let mut agent = Agent::new(Settings::default());
    let t0 = Instant::now();
    let docker = CollectInput {
        containers: Some(Vec::new()),
        ..CollectInput::default()
    };
    let podman = CollectInput {
        podman: true,
        ..docker.clone()
    };
    assert!(agent
        .answer_at(60000, &docker, v018(true), t0)
        .has_details());
    assert!(!agent
        .answer_at(60000, &docker, v018(false), t0 + Duration::from_secs(31))
        .has_details());
    let detected = agent.answer_at(60000, &podman, v018(false), t0 + Duration::from_secs(62));
    assert!(detected.has_details(), "Podman detected after start-up");
    assert!(carries(&detected, &agent.details(true)), "with Podman set");
    assert!(!agent
        .answer_at(60000, &podman, v018(false), t0 + Duration::from_secs(93))
        .has_details());
}

#[test]
fn smart_interval_reaches_details_in_nanoseconds() {
    let settings =
        Settings::from_lookup(&|name| (name == "SMART_INTERVAL").then(|| "1h".to_string()))
            .unwrap();
    let agent = Agent::new(settings);
    assert_eq!(agent.details(false).smart_interval, 3_600_000_000_000);
    let unset = Agent::new(Settings::default());
    assert_eq!(unset.details(false).smart_interval, 0);
    assert!(
        unset.details(false).to_value().get(10).is_none(),
        "omitted when unset"
    );
}

#[test]
fn details_describe_this_host() {
    let agent = Agent::new(Settings::default());
    let details = agent.details(false);
    assert!(!details.hostname.is_empty());
    assert!(details.threads >= 1);
    assert!(!details.arch.is_empty());
    if cfg!(target_arch = "x86_64") {
        assert_eq!(details.arch, "x86_64");
    }
    if std::path::Path::new("/etc/os-release").exists() {
        assert!(!details.os_name.is_empty());
    }
}
