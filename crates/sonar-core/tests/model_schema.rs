//! The payload tables' schema (what index.d.ts and the dev hub's key table are generated from)
//! against the encoder's real output: a field the encoder writes with another key, name or type
//! than the schema says, or a schema field it never writes, fails here.

use sonar_core::collect::systemd::Service;
use sonar_core::model::schema::StructSchema;
use sonar_core::model::wire::{Omit, Ty};
use sonar_core::model::*;
use sonar_core::{Key, Value};
use std::collections::BTreeSet;

/// Every wire field non-empty, so every one is written.
fn full() -> CombinedData {
    let fs = FsStats {
        disk_total: 1.5,
        disk_used: 0.5,
        read_ps: 2.0,
        write_ps: 3.0,
        read_bytes: 7,
        write_bytes: 9,
        io_stats: [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    };
    let gpu = GpuData {
        name: "RTX".into(),
        temperature: 50.0,
        memory_used: 1.0,
        memory_total: 2.0,
        usage: 3.0,
        power: 4.0,
        engines: vec![("Video".into(), 1.0)],
        power_pkg: 5.0,
    };
    let stats = Stats {
        cpu: 1.1,
        mem: 2.2,
        mem_used: 3.3,
        mem_pct: 4.4,
        mem_buff_cache: 5.5,
        mem_zfs_arc: 6.6,
        swap: 7.7,
        swap_used: 8.8,
        disk_total: 9.9,
        disk_used: 10.1,
        disk_pct: 11.1,
        disk_read_ps: 12.1,
        disk_write_ps: 13.1,
        net_sent: 14.1,
        net_recv: 15.1,
        temperatures: vec![("cpu".into(), 40.5)],
        extra_fs: vec![("backup".into(), fs)],
        gpus: vec![("0".into(), gpu)],
        bandwidth: [1, 2],
        load_avg: [0.1, 0.2, 0.3],
        battery: [80, 3],
        battery_primary: [80, 3],
        interfaces: vec![("eth0".into(), [1, 2, 3, 4])],
        disk_io: [5, 6],
        cpu_breakdown: vec![1.0, 2.0, 3.0, 4.0, 90.0],
        cpu_cores: vec![0, 100],
        disk_io_stats: [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        fans: vec![("fan1".into(), 1200)],
        batteries: vec![("BAT0".into(), 80)],
    };
    let info = Info {
        hostname: "h".into(),
        kernel: "6.1".into(),
        cores: 4,
        threads: 8,
        cpu_model: "m".into(),
        uptime: 100,
        cpu: 1.0,
        mem_pct: 2.0,
        disk_pct: 3.0,
        bandwidth: 4.0,
        agent_version: AGENT_VERSION.into(),
        podman: true,
        gpu_pct: 5.0,
        dashboard_temp: 6.0,
        os: OS_DARWIN,
        load_avg_1: 0.1,
        load_avg_5: 0.2,
        load_avg_15: 0.3,
        bandwidth_bytes: 300,
        load_avg: [0.1, 0.2, 0.3],
        connection_type: 2,
        extra_fs_pct: vec![("backup".into(), 33.3)],
        services: Some([3, 1]),
        battery: [80, 3],
    };
    let container = ContainerStats {
        name: "web".into(),
        cpu: 1.0,
        mem: 2.0,
        net_sent: 3.0,
        net_recv: 4.0,
        health: 2,
        status: "Up".into(),
        id: "abcdef012345".into(),
        image: "nginx".into(),
        bandwidth: [1, 2],
        ports: "80".into(),
    };
    let service = Service {
        name: "nginx".into(),
        state: 2,
        cpu: 1.5,
        mem: 1 << 40,
        mem_peak: 3,
        sub: 1,
        cpu_peak: 2.5,
    };
    CombinedData {
        stats,
        info,
        containers: Some(vec![container]),
        services: Some(vec![service.to_value()]),
        details: Some(Details {
            hostname: "web-01".into(),
            kernel: "6.8.0".into(),
            cores: 4,
            threads: 8,
            cpu_model: "CPU".into(),
            os: 0,
            os_name: "Debian GNU/Linux 12 (bookworm)".into(),
            arch: "x86_64".into(),
            podman: true,
            memory_total: 1 << 34,
            smart_interval: 3_600_000_000_000,
        }),
    }
}

struct Checker {
    structs: Vec<StructSchema>,
    /// (struct, key) of every field written
    seen: BTreeSet<(&'static str, u64)>,
}

impl Checker {
    fn new() -> Checker {
        Checker {
            structs: schema(),
            seen: BTreeSet::new(),
        }
    }

    fn conforms(&mut self, value: &Value, ty: &Ty, at: &str) {
        match (ty, value) {
            (Ty::Bool, Value::Bool(_))
            | (Ty::UInt, Value::UInt(_))
            | (Ty::Float, Value::Float(_))
            | (Ty::Text, Value::Text(_))
            | (Ty::Nullable(_), Value::Null) => {}
            (Ty::Bytes(len), Value::Bytes(b)) => {
                if let Some(n) = len {
                    assert_eq!(b.len(), *n, "{at}: byte string length");
                }
            }
            (Ty::Tuple(item, n), Value::Array(items)) => {
                assert_eq!(items.len(), *n, "{at}: tuple length");
                items.iter().for_each(|v| self.conforms(v, item, at));
            }
            (Ty::List(item), Value::Array(items)) => {
                items.iter().for_each(|v| self.conforms(v, item, at));
            }
            (Ty::Map(item), Value::Map(entries)) => {
                for (k, v) in entries {
                    assert!(matches!(k, Key::Text(_)), "{at}: map keys are text");
                    self.conforms(v, item, at);
                }
            }
            (Ty::Nullable(inner), v) => self.conforms(v, inner, at),
            (Ty::Struct(name), Value::Map(entries)) => self.conforms_struct(name, entries, at),
            (ty, v) => panic!("{at}: {v:?} is not a {ty:?}"),
        }
    }

    fn conforms_struct(&mut self, name: &str, entries: &[(Key, Value)], at: &str) {
        let schema = self
            .structs
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{at}: no schema for {name}"))
            .clone();
        let mut keys = Vec::new();
        for (k, v) in entries {
            let Key::Field(key, json) = k else {
                panic!("{at}: {name} has a text key {k:?}");
            };
            let field = schema
                .fields
                .iter()
                .find(|f| f.key == *key)
                .unwrap_or_else(|| panic!("{at}: {name} writes key {key}, not in its schema"));
            assert_eq!(field.name, *json, "{at}: {name} key {key}");
            self.seen.insert((schema.name, *key));
            keys.push(*key);
            self.conforms(v, &field.ty, &format!("{at}.{json}"));
        }
        for f in schema.fields.iter().filter(|f| f.omit == Omit::Never) {
            assert!(keys.contains(&f.key), "{at}: {name}.{} always sent", f.name);
        }
    }
}

#[test]
fn every_struct_reference_resolves_and_keys_ascend() {
    let structs = schema();
    let names: BTreeSet<_> = structs.iter().map(|s| s.name).collect();
    assert_eq!(names.len(), structs.len());
    fn refs(ty: &Ty, out: &mut Vec<&'static str>) {
        match ty {
            Ty::Struct(name) => out.push(name),
            Ty::Tuple(t, _) | Ty::List(t) | Ty::Map(t) | Ty::Nullable(t) => refs(t, out),
            _ => {}
        }
    }
    for s in &structs {
        assert!(
            s.fields.windows(2).all(|w| w[0].key < w[1].key),
            "{}: keys in ascending order (the encoder writes table order)",
            s.name
        );
        let json: BTreeSet<_> = s.fields.iter().map(|f| f.name).collect();
        assert_eq!(json.len(), s.fields.len(), "{}: JSON names unique", s.name);
        let mut used = Vec::new();
        s.fields.iter().for_each(|f| refs(&f.ty, &mut used));
        for name in used {
            assert!(names.contains(name), "{}: {name} is not a payload", s.name);
        }
    }
}

#[test]
fn a_full_sample_writes_every_schema_field_as_declared() {
    let mut checker = Checker::new();
    checker.conforms(
        &full().to_value(),
        &Ty::Struct("CombinedData"),
        "CombinedData",
    );
    let declared: BTreeSet<_> = schema()
        .iter()
        .flat_map(|s| s.fields.iter().map(move |f| (s.name, f.key)))
        .collect();
    let missing: Vec<_> = declared.difference(&checker.seen).collect();
    assert!(missing.is_empty(), "never written: {missing:?}");
}

#[test]
fn an_empty_sample_conforms_and_null_is_only_where_declared() {
    let mut checker = Checker::new();
    let value = CombinedData::default().to_value();
    checker.conforms(&value, &Ty::Struct("CombinedData"), "CombinedData");
    assert_eq!(
        value.get(2),
        Some(&Value::Null),
        "no engine: container null"
    );
    let container = schema()
        .into_iter()
        .find(|s| s.name == "CombinedData")
        .and_then(|s| s.fields.into_iter().find(|f| f.key == 2));
    assert!(matches!(container.map(|f| f.ty), Some(Ty::Nullable(_))));
}

#[test]
fn schema_json_names_every_struct() {
    let json = schema::to_json(&schema());
    assert!(json.starts_with(r#"{"structs":[{"name":"ContainerStats","tsName":"ContainerJson""#));
    assert!(json.contains(
        r#"{"key":22,"name":"sv","doc":"[total, failed] systemd services; set only when there are services (Go sends a\nnil slice otherwise)","omit":"omitzero","type":{"kind":"tuple","len":2,"of":{"kind":"uint"}}}"#
    ));
}
