//! CombinedData as the v0.17 Go agent sends it (plus HEAD-only keys, which v0.17 hubs ignore):
//! every payload struct declared once, with the CBOR keys, JSON names and omission rules of
//! shared/spec/data-model.md §1. The encoder and the schema that index.d.ts and the dev hub's
//! key table are generated from (`npm run gen:model`) both come from these tables.

pub mod declare;
pub mod schema;
pub mod wire;

use crate::value::Value;
use declare::payload;
use schema::StructSchema;
use wire::Ty;

pub mod dialect;

/// The newest Beszel protocol we speak, announced before a hub has said which it speaks (the
/// WebSocket upgrade's header, the SSH banner). Hubs gate features on versions (spec
/// beszel-v0.18.md §7.4); each dialect reports its own in `Info.v` (`dialect::Dialect`).
pub const AGENT_VERSION: &str = "0.18.8";

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

/// Every payload struct, in the order of index.d.ts.
pub fn schema() -> Vec<StructSchema> {
    vec![
        ContainerStats::schema(),
        Details::schema(),
        FsStats::schema(),
        GpuData::schema(),
        Stats::schema(),
        Info::schema(),
        Service::schema(),
        CombinedData::schema(),
    ]
}

payload! {
    /// The answer to GetData (spec §1.1).
    pub struct CombinedData => "CombinedDataJson" {
        pub stats: Stats = 0 "stats",
        pub info: Info = 1 "info",
        /// null when no container engine answered
        pub containers: Option<Vec<ContainerStats>> = 2 "container",
        /// systemd services: only on 60000 ms samples right after a systemd refresh
        pub services: Option<Vec<Value>> = 3 "systemd" omitempty => Ty::list(Ty::Struct("Service")),
        /// v0.18 hubs only, when they ask (GetData key 1) or the Podman flag changed
        pub details: Option<Details> = 4 "details" omitempty,
    }
}

payload! {
    /// The host's slow-changing facts a v0.18 hub asks for once per connection (system.Details,
    /// spec beszel-v0.18.md §3.1); the v0.17 shape carries most of them in Info instead. The Go
    /// struct has no JSON tags, so its JSON names are the Go field names.
    pub struct Details => "DetailsJson" {
        pub hostname: String = 0 "Hostname",
        /// kernel release
        pub kernel: String = 1 "Kernel" omitempty,
        /// physical cores (lowered to the logical count under LXC limits)
        pub cores: u64 = 2 "Cores",
        /// logical CPUs
        pub threads: u64 = 3 "Threads",
        pub cpu_model: String = 4 "CpuModel",
        /// 0 Linux, 1 Darwin, 2 Windows, 3 FreeBSD
        pub os: u8 = 5 "Os",
        /// os-release PRETTY_NAME, e.g. "Debian GNU/Linux 12 (bookworm)"
        pub os_name: String = 6 "OsName",
        /// uname machine: x86_64, aarch64, armv7l…
        pub arch: String = 7 "Arch",
        /// a Podman engine is monitored
        pub podman: bool = 8 "Podman" omitempty,
        /// bytes
        pub memory_total: u64 = 9 "MemoryTotal",
        /// SMART_INTERVAL in nanoseconds (the hub fetches SMART data that often)
        pub smart_interval: u64 = 10 "SmartInterval" omitempty,
    }
}

payload! {
    /// An item of CombinedData.container (container.Stats, spec §1.7): the v0.17 shape plus HEAD's
    /// `b` and `ports`. Keys 5–8 and 10 are CBOR-only in Go (`json:"-"`); their JSON names serve
    /// the snapshot.
    pub struct ContainerStats => "ContainerJson" {
        pub name: String = 0 "n",
        /// % of the whole host, 2 dp
        pub cpu: f64 = 1 "c",
        /// MiB, 2 dp
        pub mem: f64 = 2 "m",
        /// MiB/s, 2 dp
        pub net_sent: f64 = 3 "ns",
        /// MiB/s, 2 dp
        pub net_recv: f64 = 4 "nr",
        /// 0 none, 1 starting, 2 healthy, 3 unhealthy
        pub health: u8 = 5 "health",
        /// cleaned status text, e.g. "Up an hour"
        pub status: String = 6 "status",
        /// 12-character short id
        pub id: String = 7 "id",
        pub image: String = 8 "image",
        /// [sent, received] bytes/s
        pub bandwidth: [u64; 2] = 9 "b" omitzero,
        /// e.g. "80, 127.0.0.1:8080"
        pub ports: String = 10 "ports",
    }
}

payload! {
    /// A filesystem of `Stats.efs` (FsStats).
    pub struct FsStats => "FsStatsJson" {
        /// GiB
        pub disk_total: f64 = 0 "d",
        /// GiB
        pub disk_used: f64 = 1 "du",
        /// MiB/s
        pub read_ps: f64 = 2 "r",
        /// MiB/s
        pub write_ps: f64 = 3 "w",
        /// bytes/s
        pub read_bytes: u64 = 6 "rb" omitempty,
        /// bytes/s
        pub write_bytes: u64 = 7 "wb" omitempty,
        /// [read-time %, write-time %, util %, r_await ms, w_await ms, weighted-io %]
        pub io_stats: [f64; 6] = 8 "dios" omitzero,
    }
}

payload! {
    /// A GPU of `Stats.g` (spec §1.6).
    pub struct GpuData => "GpuDataJson" {
        /// display name ("<name> <id>" when several GPUs share one)
        pub name: String = 0 "n",
        /// °C, 2 dp; not sent in `g`: it goes into `Stats.t` under the name
        pub temperature: f64,
        /// "MB" as the vendor reports it (NVIDIA: MiB/1.024, AMD/Intel: MiB; spec §1.6), 2 dp
        pub memory_used: f64 = 1 "mu" omitempty,
        /// "MB", 2 dp
        pub memory_total: f64 = 2 "mt" omitempty,
        /// busy %, 2 dp, mean since the last request with this cache time (Intel: the busiest
        /// engine's mean)
        pub usage: f64 = 3 "u" omitempty,
        /// W, 2 dp, mean since the last request with this cache time
        pub power: f64 = 4 "p" omitempty,
        /// Intel: busy % by engine class ("Render/3D", "Video", …), 2 dp
        pub engines: Vec<(String, f64)> = 5 "e" omitempty,
        /// W, Intel package power
        pub power_pkg: f64 = 6 "pp" omitempty,
    }
}

payload! {
    /// The host's figures of one sample (system.Stats, spec §1.3).
    pub struct Stats => "StatsJson" {
        /// CPU busy %, all CPUs
        pub cpu: f64 = 0 "cpu",
        /// GiB
        pub mem: f64 = 2 "m",
        /// GiB
        pub mem_used: f64 = 3 "mu",
        /// %
        pub mem_pct: f64 = 4 "mp",
        /// GiB
        pub mem_buff_cache: f64 = 5 "mb",
        /// GiB
        pub mem_zfs_arc: f64 = 6 "mz" omitempty,
        /// GiB
        pub swap: f64 = 7 "s" omitempty,
        /// GiB
        pub swap_used: f64 = 8 "su" omitempty,
        /// GiB
        pub disk_total: f64 = 9 "d",
        /// GiB
        pub disk_used: f64 = 10 "du",
        /// %
        pub disk_pct: f64 = 11 "dp",
        /// MiB/s
        pub disk_read_ps: f64 = 12 "dr",
        /// MiB/s
        pub disk_write_ps: f64 = 13 "dw",
        /// MiB/s
        pub net_sent: f64 = 16 "ns",
        /// MiB/s
        pub net_recv: f64 = 17 "nr",
        /// °C by sensor name
        pub temperatures: Vec<(String, f64)> = 20 "t" omitempty,
        /// by extra filesystem name
        pub extra_fs: Vec<(String, FsStats)> = 21 "efs" omitempty,
        /// by GPU id (NVIDIA index, AMD/Intel "cardN", intel_gpu_top "i0")
        pub gpus: Vec<(String, GpuData)> = 22 "g" omitempty,
        /// [sent, received] bytes/s
        pub bandwidth: [u64; 2] = 26 "b" omitzero,
        /// 1, 5 and 15 minute load averages
        pub load_avg: [f64; 3] = 28 "la",
        /// [percent, state]
        pub battery: [u8; 2] = 29 "bat" omitzero,
        /// v0.18.8's [percent, state] of the primary battery (its `bat` and Info `bat`; the
        /// v0.17 shape keeps v0.17's figure)
        pub battery_primary: [u8; 2],
        /// [up B/s, down B/s, total sent, total received] by interface
        pub interfaces: Vec<(String, [u64; 4])> = 31 "ni" omitempty,
        /// [read, write] bytes/s
        pub disk_io: [u64; 2] = 32 "dio" omitzero,
        /// [user, system, iowait, steal, idle] %
        pub cpu_breakdown: Vec<f64> = 33 "cpub" omitempty,
        /// per-core busy %
        pub cpu_cores: Vec<u8> = 34 "cpus" omitempty,
        /// [read-time %, write-time %, util %, r_await ms, w_await ms, weighted-io %]
        pub disk_io_stats: [f64; 6] = 35 "dios" omitzero,
        /// RPM by fan name (hwmon chip_label or chip_fanN)
        pub fans: Vec<(String, u16)> = 36 "f" omitempty,
        /// percent by battery name
        pub batteries: Vec<(String, u8)> = 37 "bats" omitempty,
    }
}

payload! {
    /// The host's facts and headline figures (system.Info, spec §1.4).
    pub struct Info => "InfoJson" {
        /// hostname
        pub hostname: String = 0 "h",
        /// kernel version
        pub kernel: String = 1 "k" omitempty,
        /// physical cores
        pub cores: u64 = 2 "c",
        /// logical CPUs
        pub threads: u64 = 3 "t" omitempty,
        /// CPU model
        pub cpu_model: String = 4 "m",
        /// seconds
        pub uptime: u64 = 5 "u",
        /// CPU busy %
        pub cpu: f64 = 6 "cpu",
        /// memory used %
        pub mem_pct: f64 = 7 "mp",
        /// root disk used %
        pub disk_pct: f64 = 8 "dp",
        /// MiB/s, sent + received
        pub bandwidth: f64 = 9 "b",
        /// agent version
        pub agent_version: String = 10 "v",
        /// a Podman engine is monitored
        pub podman: bool = 11 "p" omitempty,
        /// the busiest GPU's busy %
        pub gpu_pct: f64 = 12 "g" omitempty,
        /// dashboard temperature, °C
        pub dashboard_temp: f64 = 13 "dt" omitempty,
        /// 0 Linux, 1 Darwin, 2 Windows, 3 FreeBSD
        pub os: u8 = 14 "os",
        /// legacy 1 minute load average (v0.17 fills it from `la`; HEAD dropped it)
        pub load_avg_1: f64 = 15 "l1" omitempty,
        /// legacy 5 minute load average
        pub load_avg_5: f64 = 16 "l5" omitempty,
        /// legacy 15 minute load average
        pub load_avg_15: f64 = 17 "l15" omitempty,
        /// bytes/s, sent + received
        pub bandwidth_bytes: u64 = 18 "bb",
        /// 1, 5 and 15 minute load averages
        pub load_avg: [f64; 3] = 19 "la",
        /// 0 none, 1 SSH, 2 WebSocket
        pub connection_type: u8 = 20 "ct" omitempty,
        /// used % by extra filesystem name
        pub extra_fs_pct: Vec<(String, f64)> = 21 "efs" omitempty,
        /// [total, failed] systemd services; set only when there are services (Go sends a
        /// nil slice otherwise)
        pub services: Option<[u16; 2]> = 22 "sv" omitzero,
        /// same as Stats.bat
        pub battery: [u8; 2] = 23 "bat" omitzero,
    }
}

payload! {
    /// A systemd service of CombinedData key 3 (spec §1.8); every field is always sent.
    pub struct Service => "ServiceJson" {
        pub name: String = 0 "n",
        /// 0 active, 1 inactive, 2 failed, 3 activating, 4 deactivating, 5 reloading
        pub state: u8 = 1 "s",
        /// % of all logical CPUs, averaged over the last refresh period
        pub cpu: f64 = 2 "c",
        /// bytes
        pub mem: u64 = 3 "m",
        /// bytes, peak
        pub mem_peak: u64 = 4 "mp",
        /// 0 dead, 1 running, 2 exited, 3 failed, 4 unknown
        pub sub: u8 = 5 "ss",
        /// %, peak
        pub cpu_peak: f64 = 6 "cp",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A garbled /proc/loadavg sent NaN, Infinity and −1 to the hub in Stats 28 and Info
    /// 15/17/19; whatever a source gets wrong, the encoder sends none of them.
    #[test]
    fn nan_infinity_and_negatives_never_reach_the_hub() {
        let bad = [f64::NAN, f64::INFINITY, -1.0];
        let data = CombinedData {
            stats: Stats {
                cpu: f64::NAN,
                mem_pct: -3.0,
                load_avg: bad,
                cpu_breakdown: bad.to_vec(),
                temperatures: vec![("cpu".into(), f64::NEG_INFINITY)],
                ..Stats::default()
            },
            info: Info {
                load_avg_1: f64::NAN,
                load_avg_5: 0.5,
                load_avg_15: -1.0,
                load_avg: bad,
                ..Info::default()
            },
            ..CombinedData::default()
        };
        let value = data.to_value();
        let found = value.floats();
        assert!(!found.is_empty());
        for (at, f) in &found {
            assert!(f.is_finite() && *f >= 0.0, "{at} = {f}");
        }
        // omitempty fields whose value was dropped are omitted like any 0
        let info = value.get(1).unwrap();
        assert!(info.get(15).is_none());
        assert!(info.get(17).is_none());
        assert_eq!(info.get(16), Some(&Value::Float(0.5)));
        assert_eq!(
            value.get(0).unwrap().get(28),
            Some(&Value::float_array(&[0.0; 3]))
        );
    }
}
