//! Golden bytes: the worked examples of shared/spec/protocol.md §2.14 and the encoding rules of
//! data-model.md §0, reproduced byte for byte.

use sonar_core::model::{CombinedData, FsStats, Info, Stats};
use sonar_core::Value;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The spec's example (d) data: a v0.17-style agent without Docker.
fn example_d() -> CombinedData {
    CombinedData {
        stats: Stats {
            cpu: 1.5,
            mem: 15.5,
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
            load_avg: [0.1, 0.2, 0.3],
            ..Stats::default()
        },
        info: Info {
            hostname: "web-01".into(),
            kernel: "6.8.0-45-generic".into(),
            cores: 4,
            threads: 8,
            cpu_model: "Intel(R) Xeon(R) CPU".into(),
            uptime: 86400,
            cpu: 1.5,
            mem_pct: 27.1,
            disk_pct: 40.0,
            bandwidth: 0.03,
            agent_version: "0.17.0".into(),
            os: 0,
            bandwidth_bytes: 31457,
            load_avg: [0.1, 0.2, 0.3],
            ..Info::default()
        },
        containers: None,
        services: None,
        details: None,
    }
}

/// `{0: id, 1: CombinedData}` — the AgentResponse envelope the dispatcher wraps payloads in.
fn envelope(id: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0xa2, 0x00];
    Value::UInt(id).write_cbor(&mut out);
    out.push(0x01);
    out.extend_from_slice(payload);
    out
}

#[test]
fn worked_example_d_get_data_reply_is_302_bytes() {
    let payload = example_d().to_value().to_cbor();
    let reply = envelope(2, &payload);
    assert_eq!(reply.len(), 302);
    assert!(hex(&reply).starts_with("a2000201a300ad00fb3ff8000000000000"));
    // containers key 2 is null, last byte of the payload
    assert_eq!(&payload[payload.len() - 2..], &[0x02, 0xf6]);
}

#[test]
fn worked_example_d_stats_in_full() {
    let stats = example_d().stats.to_value().to_cbor();
    let expected = concat!(
        "ad",
        "00fb3ff8000000000000", // 0 cpu 1.5
        "02fb402f000000000000", // 2 m 15.5
        "03fb4010cccccccccccd", // 3 mu 4.2
        "04fb403b19999999999a", // 4 mp 27.1
        "05fb4020333333333333", // 5 mb 8.1
        "09fb4059000000000000", // 9 d 100
        "0afb4044000000000000", // 10 du 40
        "0bfb4044000000000000", // 11 dp 40
        "0cfb0000000000000000", // 12 dr 0 (never omitted in v0.17)
        "0dfb3fb999999999999a", // 13 dw 0.1
        "10fb3f847ae147ae147b", // 16 ns 0.01
        "11fb3f947ae147ae147b", // 17 nr 0.02
        "181c",
        "83fb3fb999999999999afb3fc999999999999afb3fd3333333333333", // 28 la
    );
    assert_eq!(hex(&stats), expected);
}

#[test]
fn byte_strings_for_battery_and_per_core_usage() {
    let stats = Stats {
        battery: [80, 4],
        cpu_cores: vec![12, 100, 0],
        ..Stats::default()
    };
    let bytes = hex(&stats.to_value().to_cbor());
    assert!(bytes.contains("181d425004"), "bat as bytes(2): {bytes}");
    assert!(bytes.contains("1822430c6400"), "cpus as bytes(3): {bytes}");
}

#[test]
fn omitzero_arrays_and_omitempty_fields() {
    let bare = hex(&Stats::default().to_value().to_cbor());
    // 13 always-present fields (0,2,3,4,5,9,10,11,12,13,16,17,28); nothing else
    assert!(bare.starts_with("ad"), "{bare}");
    let with_bandwidth = Stats {
        bandwidth: [0, 5],
        disk_io: [0, 0],
        ..Stats::default()
    };
    let bytes = hex(&with_bandwidth.to_value().to_cbor());
    assert!(bytes.starts_with("ae"), "b present, dio omitted: {bytes}");
    assert!(bytes.contains("181a820005"), "{bytes}");
}

#[test]
fn extra_filesystems_encode_as_text_keyed_fs_stats() {
    let stats = Stats {
        extra_fs: vec![(
            "Backup".into(),
            FsStats {
                disk_total: 1.0,
                disk_used: 0.5,
                ..FsStats::default()
            },
        )],
        ..Stats::default()
    };
    let bytes = hex(&stats.to_value().to_cbor());
    // 21 → {"Backup": {0: 1.0, 1: 0.5, 2: 0.0, 3: 0.0}}
    let fs = concat!(
        "15a1",
        "664261636b7570",
        "a4",
        "00fb3ff0000000000000",
        "01fb3fe0000000000000",
        "02fb0000000000000000",
        "03fb0000000000000000"
    );
    assert!(bytes.contains(fs), "{bytes}");
}

#[test]
fn info_services_only_when_total_positive() {
    let mut info = Info {
        services: Some([0, 0]),
        ..Info::default()
    };
    assert!(!hex(&info.to_value().to_cbor()).contains("16820000"));
    info.services = Some([12, 1]);
    assert!(hex(&info.to_value().to_cbor()).contains("16820c01"));
}

#[test]
fn idle_cores_still_send_per_core_usage_but_no_battery_sends_nothing() {
    let stats = Stats {
        cpu_cores: vec![0, 0],
        battery: [0, 0],
        ..Stats::default()
    };
    let bytes = hex(&stats.to_value().to_cbor());
    assert!(bytes.contains("1822420000"), "cpus [0,0] kept: {bytes}");
    assert!(!bytes.contains("181d"), "bat [0,0] omitted: {bytes}");
    let info = hex(&Info::default().to_value().to_cbor());
    assert!(!info.contains("1742"), "Info.bat omitted: {info}");
}

/// systemd items (spec §1.8): seven integer keys always present, floats as 8 bytes; key 3 of
/// CombinedData follows the container key and Info.sv is key 22.
#[test]
fn systemd_services_bytes() {
    use sonar_core::collect::systemd::Service;
    let item = Service {
        name: "nginx".into(),
        state: 0,
        cpu: 1.5,
        mem: 1024,
        mem_peak: 2048,
        sub: 1,
        cpu_peak: 3.25,
    }
    .to_value();
    let hex: String = item.to_cbor().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "a7\
         00656e67696e78\
         0100\
         02fb3ff8000000000000\
         03190400\
         04190800\
         0501\
         06fb400a000000000000"
    );
    let mut data = example_d();
    data.services = Some(vec![item]);
    data.info.services = Some([1, 0]);
    let bytes = data.to_value().to_cbor();
    assert_eq!(bytes[0], 0xa4, "stats, info, container, systemd");
    let tail: String = bytes[bytes.len() - 43..]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        tail.starts_with("f603" /* container null, key 3 */),
        "{tail}"
    );
    assert!(tail[4..].starts_with("81a7"), "{tail}");
    let empty = CombinedData {
        services: Some(Vec::new()),
        ..example_d()
    };
    assert_eq!(
        empty.to_value().to_cbor()[0],
        0xa3,
        "an empty list is omitted"
    );
}
