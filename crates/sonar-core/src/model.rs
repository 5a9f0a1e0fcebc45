//! CombinedData as the v0.17 Go agent sends it (plus HEAD-only keys, which v0.17 hubs ignore),
//! and its conversion into the document tree with the exact keys and omission rules of
//! shared/spec/data-model.md §1.

use crate::collect::gpu::GpuData;
use crate::value::{Key, MapBuilder, Value};

/// The protocol version we report: hub UIs gate features on it (spec protocol.md §6).
pub const AGENT_VERSION: &str = "0.17.0";

/// Operating system enum of `Info.os`.
pub const OS_LINUX: u8 = 0;
pub const OS_DARWIN: u8 = 1;
pub const OS_WINDOWS: u8 = 2;
pub const OS_FREEBSD: u8 = 3;

pub fn current_os() -> u8 {
    if cfg!(target_os = "macos") {
        OS_DARWIN
    } else if cfg!(target_os = "windows") {
        OS_WINDOWS
    } else if cfg!(target_os = "freebsd") {
        OS_FREEBSD
    } else {
        OS_LINUX
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CombinedData {
    pub stats: Stats,
    pub info: Info,
    /// Container items, already in tree form; `None` (no engine) is sent as CBOR null.
    pub containers: Option<Vec<Value>>,
    /// systemd services (key 3), sent on 60000 ms answers once per refresh; omitted when `None`.
    pub services: Option<Vec<Value>>,
}

/// One item of `CombinedData.container` (container.Stats, spec §1.7).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerStats {
    pub name: String,
    /// % of the whole host, 2 dp.
    pub cpu: f64,
    /// MiB, 2 dp.
    pub mem: f64,
    /// MiB/s, 2 dp.
    pub net_sent: f64,
    pub net_recv: f64,
    /// 0 none, 1 starting, 2 healthy, 3 unhealthy.
    pub health: u8,
    pub status: String,
    /// 12-character short id.
    pub id: String,
    pub image: String,
    /// [sent, received] B/s.
    pub bandwidth: [u64; 2],
    /// e.g. "80, 127.0.0.1:8080".
    pub ports: String,
}

/// Values of `Stats.efs` (FsStats).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FsStats {
    pub disk_total: f64,
    pub disk_used: f64,
    pub read_ps: f64,
    pub write_ps: f64,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub io_stats: [f64; 6],
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub cpu: f64,
    pub mem: f64,
    pub mem_used: f64,
    pub mem_pct: f64,
    pub mem_buff_cache: f64,
    pub mem_zfs_arc: f64,
    pub swap: f64,
    pub swap_used: f64,
    pub disk_total: f64,
    pub disk_used: f64,
    pub disk_pct: f64,
    pub disk_read_ps: f64,
    pub disk_write_ps: f64,
    pub net_sent: f64,
    pub net_recv: f64,
    pub temperatures: Vec<(String, f64)>,
    pub extra_fs: Vec<(String, FsStats)>,
    /// Key 22: GPU id → GPU.
    pub gpus: Vec<(String, GpuData)>,
    pub bandwidth: [u64; 2],
    pub load_avg: [f64; 3],
    pub battery: [u8; 2],
    pub interfaces: Vec<(String, [u64; 4])>,
    pub disk_io: [u64; 2],
    pub cpu_breakdown: Vec<f64>,
    pub cpu_cores: Vec<u8>,
    pub disk_io_stats: [f64; 6],
    pub batteries: Vec<(String, u8)>,
    /// HEAD key 36: fan name → RPM.
    pub fans: Vec<(String, u16)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Info {
    pub hostname: String,
    pub kernel: String,
    pub cores: u64,
    pub threads: u64,
    pub cpu_model: String,
    pub uptime: u64,
    pub cpu: f64,
    pub mem_pct: f64,
    pub disk_pct: f64,
    /// MiB/s, sent + received.
    pub bandwidth: f64,
    pub agent_version: String,
    pub podman: bool,
    pub gpu_pct: f64,
    pub dashboard_temp: f64,
    pub os: u8,
    /// Legacy l1/l5/l15 (v0.17 fills them from `load_avg`; HEAD dropped them).
    pub load_avg_legacy: [f64; 3],
    pub load_avg: [f64; 3],
    pub bandwidth_bytes: u64,
    pub connection_type: u8,
    pub extra_fs_pct: Vec<(String, f64)>,
    /// `[total, failed]` systemd services; `None` when not sent.
    pub services: Option<[u16; 2]>,
    pub battery: [u8; 2],
}

fn text_map<T>(entries: &[(String, T)], f: impl Fn(&T) -> Value) -> Value {
    Value::Map(
        entries
            .iter()
            .map(|(k, v)| (Key::Text(k.clone()), f(v)))
            .collect(),
    )
}

/// A fixed-size array with `omitzero`: dropped only when every element is zero.
fn omit_zero_array(b: MapBuilder, key: u64, name: &'static str, v: Value) -> MapBuilder {
    if v.is_zero_array() {
        b
    } else {
        b.field(key, name, v)
    }
}

impl ContainerStats {
    /// v0.17 keys 0–8 always (the Go struct has no omitempty there), HEAD's 9 omitzero and 10
    /// always. Keys 5–8 and 10 are CBOR-only in Go (`json:"-"`); the JSON names here serve the
    /// snapshot.
    pub fn to_value(&self) -> Value {
        let b = MapBuilder::new()
            .field(0, "n", Value::Text(self.name.clone()))
            .field(1, "c", Value::Float(self.cpu))
            .field(2, "m", Value::Float(self.mem))
            .field(3, "ns", Value::Float(self.net_sent))
            .field(4, "nr", Value::Float(self.net_recv))
            .field(5, "health", Value::UInt(u64::from(self.health)))
            .field(6, "status", Value::Text(self.status.clone()))
            .field(7, "id", Value::Text(self.id.clone()))
            .field(8, "image", Value::Text(self.image.clone()));
        omit_zero_array(b, 9, "b", Value::uint_array(&self.bandwidth))
            .field(10, "ports", Value::Text(self.ports.clone()))
            .build()
    }
}

impl FsStats {
    pub fn to_value(&self) -> Value {
        let b = MapBuilder::new()
            .field(0, "d", Value::Float(self.disk_total))
            .field(1, "du", Value::Float(self.disk_used))
            .field(2, "r", Value::Float(self.read_ps))
            .field(3, "w", Value::Float(self.write_ps))
            .field_omit_empty(6, "rb", Value::UInt(self.read_bytes))
            .field_omit_empty(7, "wb", Value::UInt(self.write_bytes));
        omit_zero_array(b, 8, "dios", Value::float_array(&self.io_stats)).build()
    }
}

impl Stats {
    pub fn to_value(&self) -> Value {
        let mut b = MapBuilder::new()
            .field(0, "cpu", Value::Float(self.cpu))
            .field(2, "m", Value::Float(self.mem))
            .field(3, "mu", Value::Float(self.mem_used))
            .field(4, "mp", Value::Float(self.mem_pct))
            .field(5, "mb", Value::Float(self.mem_buff_cache))
            .field_omit_empty(6, "mz", Value::Float(self.mem_zfs_arc))
            .field_omit_empty(7, "s", Value::Float(self.swap))
            .field_omit_empty(8, "su", Value::Float(self.swap_used))
            .field(9, "d", Value::Float(self.disk_total))
            .field(10, "du", Value::Float(self.disk_used))
            .field(11, "dp", Value::Float(self.disk_pct))
            .field(12, "dr", Value::Float(self.disk_read_ps))
            .field(13, "dw", Value::Float(self.disk_write_ps))
            .field(16, "ns", Value::Float(self.net_sent))
            .field(17, "nr", Value::Float(self.net_recv))
            .field_omit_empty(20, "t", text_map(&self.temperatures, |&t| Value::Float(t)))
            .field_omit_empty(21, "efs", text_map(&self.extra_fs, FsStats::to_value))
            .field_omit_empty(22, "g", text_map(&self.gpus, GpuData::to_value));
        b = omit_zero_array(b, 26, "b", Value::uint_array(&self.bandwidth));
        b = b.field(28, "la", Value::float_array(&self.load_avg));
        b = omit_zero_array(b, 29, "bat", Value::Bytes(self.battery.to_vec()));
        b = b.field_omit_empty(
            31,
            "ni",
            text_map(&self.interfaces, |v| Value::uint_array(v)),
        );
        b = omit_zero_array(b, 32, "dio", Value::uint_array(&self.disk_io));
        b = b
            .field_omit_empty(33, "cpub", Value::float_array(&self.cpu_breakdown))
            .field_omit_empty(34, "cpus", Value::Bytes(self.cpu_cores.clone()));
        b = omit_zero_array(b, 35, "dios", Value::float_array(&self.disk_io_stats));
        b = b.field_omit_empty(
            36,
            "f",
            text_map(&self.fans, |&rpm| Value::UInt(rpm as u64)),
        );
        b.field_omit_empty(
            37,
            "bats",
            text_map(&self.batteries, |&p| Value::UInt(p as u64)),
        )
        .build()
    }
}

impl Info {
    pub fn to_value(&self) -> Value {
        let mut b = MapBuilder::new()
            .field(0, "h", Value::Text(self.hostname.clone()))
            .field_omit_empty(1, "k", Value::Text(self.kernel.clone()))
            .field(2, "c", Value::UInt(self.cores))
            .field_omit_empty(3, "t", Value::UInt(self.threads))
            .field(4, "m", Value::Text(self.cpu_model.clone()))
            .field(5, "u", Value::UInt(self.uptime))
            .field(6, "cpu", Value::Float(self.cpu))
            .field(7, "mp", Value::Float(self.mem_pct))
            .field(8, "dp", Value::Float(self.disk_pct))
            .field(9, "b", Value::Float(self.bandwidth))
            .field(10, "v", Value::Text(self.agent_version.clone()))
            .field_omit_empty(11, "p", Value::Bool(self.podman))
            .field_omit_empty(12, "g", Value::Float(self.gpu_pct))
            .field_omit_empty(13, "dt", Value::Float(self.dashboard_temp))
            .field(14, "os", Value::UInt(self.os as u64))
            .field_omit_empty(15, "l1", Value::Float(self.load_avg_legacy[0]))
            .field_omit_empty(16, "l5", Value::Float(self.load_avg_legacy[1]))
            .field_omit_empty(17, "l15", Value::Float(self.load_avg_legacy[2]))
            .field(18, "bb", Value::UInt(self.bandwidth_bytes))
            .field(19, "la", Value::float_array(&self.load_avg))
            .field_omit_empty(20, "ct", Value::UInt(self.connection_type as u64))
            .field_omit_empty(
                21,
                "efs",
                text_map(&self.extra_fs_pct, |&p| Value::Float(p)),
            );
        if let Some([total, failed]) = self.services {
            if total > 0 {
                b = b.field(22, "sv", Value::uint_array(&[total as u64, failed as u64]));
            }
        }
        omit_zero_array(b, 23, "bat", Value::Bytes(self.battery.to_vec())).build()
    }
}

impl CombinedData {
    pub fn to_value(&self) -> Value {
        let containers = match &self.containers {
            Some(items) => Value::Array(items.clone()),
            None => Value::Null,
        };
        let mut map = MapBuilder::new()
            .field(0, "stats", self.stats.to_value())
            .field(1, "info", self.info.to_value())
            .field(2, "container", containers);
        if let Some(services) = &self.services {
            map = map.field_omit_empty(3, "systemd", Value::Array(services.clone()));
        }
        map.build()
    }
}
