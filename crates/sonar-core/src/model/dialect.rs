//! The two shapes of a GetData answer. One collection serves both: the v0.17 shape is the tables
//! of `model` as they stand; the v0.18.8 shape (spec beszel-v0.18.md §3.4, §6) is derived from it
//! here, by the keys v0.18.8 stopped sending or changed the omission rule of, and it carries
//! `Details` (CombinedData key 4) when the hub asks for them.

use crate::value::{Key, Value};

/// Which hub generation an answer is for: a ≥ 0.18.0 hub always sends GetData key 1
/// (`IncludeDetails`), a 0.17 hub never does (spec beszel-v0.18.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    #[default]
    V017,
    V018,
}

impl Dialect {
    /// `Info.v` in this shape; hub UIs gate charts and tables on it (spec beszel-v0.18.md §7.4).
    pub fn agent_version(self) -> &'static str {
        match self {
            Dialect::V017 => "0.17.0",
            Dialect::V018 => super::AGENT_VERSION,
        }
    }
}

/// CombinedData keys.
const STATS: u64 = 0;
const INFO: u64 = 1;
const CONTAINERS: u64 = 2;
/// CombinedData key of `Details`, the last field in Go's declaration order.
pub const DETAILS: u64 = 4;

/// Info fields a v0.18.8 agent never fills (they moved to Details, or were removed): hostname,
/// kernel, cores, CPU model, podman, os, and the legacy load averages (§3.4, §6.2). A v0.18 hub
/// loads the system's details only while the stored Info has no CPU model (key 4).
const INFO_MOVED_TO_DETAILS: [u64; 9] = [0, 1, 2, 4, 11, 14, 15, 16, 17];
const INFO_THREADS: u64 = 3;
/// Still always encoded by v0.18.8, but no longer computed: always 0.0.
const INFO_BANDWIDTH_MIB: u64 = 9;
const INFO_AGENT_VERSION: u64 = 10;
/// Stats `ns`/`nr`: no longer computed (§6.1).
const STATS_DROPPED: [u64; 2] = [16, 17];
/// Stats `dr`/`dw`: omitted when 0.0 (omitzero since 0.18.5).
const STATS_OMIT_ZERO: [u64; 2] = [12, 13];
/// Stats `f` and `bats` follow `t` (key 20) in v0.18.8's declaration order.
const STATS_AFTER_TEMPERATURES: [u64; 2] = [36, 37];
const STATS_TEMPERATURES: u64 = 20;
/// Container `ns`/`nr`: omitted when 0.0 (omitzero since 0.18.5, §6.7).
const CONTAINER_OMIT_ZERO: [u64; 2] = [3, 4];

/// What the v0.18.8 shape says differently from the v0.17 tables' values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct V018Facts {
    /// Details' logical CPU count, which v0.18.8 copies into Info key 3.
    pub threads: u64,
    /// [percent, state] of the primary battery (spec §6.4), v0.18.8's Stats and Info `bat`.
    pub battery: [u8; 2],
}

/// The v0.18.8 shape of a v0.17-shaped CombinedData tree (no Details: `with_details` adds them).
pub fn v018_from_v017(v017: &Value, facts: &V018Facts) -> Value {
    let Value::Map(fields) = v017 else {
        return v017.clone();
    };
    let fields = fields
        .iter()
        .map(|(key, value)| {
            let value = match field_key(key) {
                Some(STATS) => stats_v018(value, facts.battery),
                Some(INFO) => info_v018(value, facts),
                Some(CONTAINERS) => containers_v018(value),
                _ => value.clone(),
            };
            (key.clone(), value)
        })
        .collect();
    Value::Map(fields)
}

/// The encoded answer with key 4 appended: Go emits it last, so the rest of the bytes stay as
/// they are and only the top-level map's length grows. `None` when `cbor` does not start with a
/// short map header (a CombinedData map has at most five entries).
pub fn with_details(cbor: &[u8], details: &Value) -> Option<Vec<u8>> {
    let (&head, rest) = cbor.split_first()?;
    let len = head.checked_sub(0xa0).filter(|&n| n < 23)?;
    let mut out = Vec::with_capacity(cbor.len() + 160);
    out.push(0xa0 + len + 1);
    out.extend_from_slice(rest);
    Value::UInt(DETAILS).write_cbor(&mut out);
    details.write_cbor(&mut out);
    Some(out)
}

fn field_key(key: &Key) -> Option<u64> {
    match key {
        Key::Field(k, _) => Some(*k),
        Key::Text(_) => None,
    }
}

fn is_zero_float(value: &Value) -> bool {
    matches!(value, Value::Float(f) if *f == 0.0)
}

/// Stats and Info `bat` (omitzero in both shapes).
const STATS_BATTERY: u64 = 29;
const INFO_BATTERY: u64 = 23;

/// `fields` with `key` set to the battery figure in its declaration place, or without it when
/// the figure is [0, 0].
fn put_battery(fields: &mut Vec<(Key, Value)>, key: u64, name: &'static str, battery: [u8; 2]) {
    fields.retain(|(k, _)| field_key(k) != Some(key));
    if battery == [0, 0] {
        return;
    }
    let at = fields
        .iter()
        .position(|(k, _)| field_key(k).is_some_and(|k| k > key))
        .unwrap_or(fields.len());
    fields.insert(at, (Key::Field(key, name), Value::Bytes(battery.to_vec())));
}

fn stats_v018(stats: &Value, battery: [u8; 2]) -> Value {
    let Value::Map(fields) = stats else {
        return stats.clone();
    };
    let mut out: Vec<(Key, Value)> = fields
        .iter()
        .filter(|(key, value)| match field_key(key) {
            Some(k) if STATS_DROPPED.contains(&k) => false,
            Some(k) if STATS_OMIT_ZERO.contains(&k) => !is_zero_float(value),
            _ => true,
        })
        .cloned()
        .collect();
    put_battery(&mut out, STATS_BATTERY, "bat", battery);
    // A stable sort by declaration rank: 36 and 37 move up behind 20 (or where 20 would be).
    let rank = |key: &Key| match field_key(key) {
        Some(k) if STATS_AFTER_TEMPERATURES.contains(&k) => STATS_TEMPERATURES * 100 + k - 35,
        Some(k) => k * 100,
        None => u64::MAX,
    };
    out.sort_by_key(|(key, _)| rank(key));
    Value::Map(out)
}

fn info_v018(info: &Value, facts: &V018Facts) -> Value {
    let threads = facts.threads;
    let Value::Map(fields) = info else {
        return info.clone();
    };
    let mut out = Vec::with_capacity(fields.len());
    for (key, value) in fields {
        match field_key(key) {
            Some(k) if INFO_MOVED_TO_DETAILS.contains(&k) => {}
            // Threads is always Details' count (omitempty), inserted in its place below.
            Some(INFO_THREADS) => {}
            Some(INFO_BANDWIDTH_MIB) => out.push((key.clone(), Value::Float(0.0))),
            Some(INFO_AGENT_VERSION) => out.push((
                key.clone(),
                Value::Text(Dialect::V018.agent_version().into()),
            )),
            _ => out.push((key.clone(), value.clone())),
        }
    }
    if threads > 0 {
        let at = out
            .iter()
            .position(|(key, _)| field_key(key).is_some_and(|k| k > INFO_THREADS))
            .unwrap_or(out.len());
        out.insert(at, (Key::Field(INFO_THREADS, "t"), Value::UInt(threads)));
    }
    put_battery(&mut out, INFO_BATTERY, "bat", facts.battery);
    Value::Map(out)
}

fn containers_v018(containers: &Value) -> Value {
    let Value::Array(items) = containers else {
        return containers.clone();
    };
    let items = items
        .iter()
        .map(|item| match item {
            Value::Map(fields) => Value::Map(
                fields
                    .iter()
                    .filter(|(key, value)| {
                        !(field_key(key).is_some_and(|k| CONTAINER_OMIT_ZERO.contains(&k))
                            && is_zero_float(value))
                    })
                    .cloned()
                    .collect(),
            ),
            other => other.clone(),
        })
        .collect();
    Value::Array(items)
}
