//! The collection agent: owns every collector and the snapshot cache, and turns one request for a
//! cache time into a ready payload. Callers serialise access (one collection at a time, as the
//! Go agent's mutex does); the binding keeps it behind a mutex.

use crate::cache::{Payload, SnapshotCache};
use crate::collect::battery::BatteryCollector;
use crate::collect::containers::{ContainerCollector, ContainerSample};
use crate::collect::cpu::CpuCollector;
use crate::collect::disk::DiskCollector;
use crate::collect::fans::FanCollector;
use crate::collect::gpu::{self, GpuCollector};
use crate::collect::memory::MemoryCollector;
use crate::collect::network::NetworkCollector;
use crate::collect::sensors::SensorCollector;
use crate::collect::system::{self, HostInfo};
use crate::collect::systemd::{ServicesForSend, SystemdCollector};
use crate::metrics::{self, MetricSet, MetricsInput};
use crate::model::dialect::{self, Dialect};
use crate::model::{current_os, CombinedData, Details, FsStats, Info, Stats};
use crate::settings::Settings;
use crate::units::two_decimals;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the caller gathered for this sample besides the kernel's files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CollectInput {
    /// The running containers of every engine that answered; `None` when no engine answered
    /// (sent as a null container list).
    pub containers: Option<Vec<ContainerSample>>,
    /// `Info.p`: a Podman engine is monitored.
    pub podman: bool,
    /// How long ago the engines were read. The caller answers the hub without waiting for a
    /// slow engine, with the last sample it has: rates are measured to when it was read, and a
    /// sample a cache time has already used is not measured twice (its last items repeat).
    pub containers_age: Duration,
}

/// The cache time of the hub's regular tick; systemd data rides only on it.
pub const SERVICES_CACHE_TIME_MS: u16 = 60000;

/// The cache time a v0.18 hub asks for Details with (realtime answers never carry them).
pub const DETAILS_CACHE_TIME_MS: u16 = 60000;

/// What a GetData asked for besides its cache time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataRequest {
    pub dialect: Dialect,
    /// GetData key 1 (v0.18 hubs): send Details with this answer.
    pub include_details: bool,
}

/// An encoded GetData answer: the cached payload's bytes for its dialect, or those bytes with
/// Details appended.
pub struct Answer {
    payload: Arc<Payload>,
    dialect: Dialect,
    with_details: Option<Vec<u8>>,
}

impl Answer {
    pub fn bytes(&self) -> &[u8] {
        match &self.with_details {
            Some(bytes) => bytes,
            None => self.payload.cbor_for(self.dialect),
        }
    }

    pub fn payload(&self) -> &Arc<Payload> {
        &self.payload
    }

    /// Whether Details were attached.
    pub fn has_details(&self) -> bool {
        self.with_details.is_some()
    }
}

pub struct Agent {
    settings: Settings,
    host: HostInfo,
    cpu: CpuCollector,
    memory: MemoryCollector,
    disk: DiskCollector,
    network: NetworkCollector,
    sensors: SensorCollector,
    fans: FanCollector,
    gpu: GpuCollector,
    battery: BatteryCollector,
    containers: ContainerCollector,
    systemd: SystemdCollector,
    cache: SnapshotCache,
    connection_type: u8,
    /// MemTotal in bytes at the last collection (Details.MemoryTotal).
    memory_total: u64,
    /// The Podman flag of the last Details sent: a change re-sends them unasked, as v0.18.8
    /// does when it detects Podman late (spec beszel-v0.18.md §3.2–3.3).
    details_podman: Option<bool>,
    /// node_exporter-compatible families' state, created by the first Prometheus reading (so
    /// an agent without Prometheus holds none of it).
    node_metrics: Option<metrics::node::NodeCollector>,
    /// The last Prometheus reading. Its families (names, help, sample buffers) are kept and only
    /// their samples replaced by the next reading: rebuilding them was a third of a reading's
    /// allocations (examples/metrics_cost).
    metric_set: MetricSet,
}

impl Agent {
    pub fn new(settings: Settings) -> Agent {
        settings.roots.warn_if_missing();
        Agent {
            host: HostInfo::read(&settings.roots),
            cpu: CpuCollector::new(&settings.roots),
            memory: MemoryCollector::new(&settings.roots, settings.mem_calc_htop),
            disk: DiskCollector::new(&settings),
            network: NetworkCollector::new(&settings),
            sensors: SensorCollector::new(&settings),
            fans: FanCollector::new(&settings),
            gpu: GpuCollector::new(&settings),
            battery: BatteryCollector::new(&settings.roots),
            containers: ContainerCollector::new(),
            systemd: SystemdCollector::new(&settings),
            cache: SnapshotCache::default(),
            connection_type: 0,
            memory_total: 0,
            details_podman: None,
            node_metrics: None,
            metric_set: MetricSet::default(),
            settings,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn connection_type(&self) -> u8 {
        self.connection_type
    }

    /// `Info.ct`: 0 none, 1 SSH, 2 WebSocket. Cached payloads are dropped so the next answer
    /// reports the new connection.
    pub fn set_connection_type(&mut self, connection_type: u8) {
        if self.connection_type != connection_type {
            self.connection_type = connection_type;
            self.cache.clear();
        }
    }

    /// The payload for a hub request with this cache time: cached when fresh, else collected.
    pub fn collect(&mut self, cache_time_ms: u16) -> Arc<Payload> {
        self.collect_at(cache_time_ms, Instant::now())
    }

    pub fn collect_at(&mut self, cache_time_ms: u16, now: Instant) -> Arc<Payload> {
        self.collect_with_at(cache_time_ms, &CollectInput::default(), now)
    }

    /// As `collect`, with the caller's container readings. A fresh cached payload is returned
    /// as is and `input` is ignored (callers check `is_fresh` first to skip asking the engines).
    pub fn collect_with(&mut self, cache_time_ms: u16, input: &CollectInput) -> Arc<Payload> {
        self.collect_with_at(cache_time_ms, input, Instant::now())
    }

    pub fn collect_with_at(
        &mut self,
        cache_time_ms: u16,
        input: &CollectInput,
        now: Instant,
    ) -> Arc<Payload> {
        if let Some(hit) = self.cache.get(cache_time_ms, now) {
            return hit;
        }
        let data = self.gather(cache_time_ms, input, now);
        let payload = Arc::new(Payload::with_threads(data, self.host.logical_cpus));
        self.cache.set(cache_time_ms, now, payload.clone());
        payload
    }

    /// The answer to a GetData in the hub's dialect: the (possibly cached) payload, with Details
    /// when a v0.18 hub asked for them on its 60 s poll, or when the Podman flag changed since
    /// the last Details. Unlike the Go agent, a cached answer carries them too: a hub that asked
    /// must never go without (spec beszel-v0.18.md §3.2, §9).
    pub fn answer_at(
        &mut self,
        cache_time_ms: u16,
        input: &CollectInput,
        request: DataRequest,
        now: Instant,
    ) -> Answer {
        let payload = self.collect_with_at(cache_time_ms, input, now);
        let podman = payload.data.info.podman;
        let attach = request.dialect == Dialect::V018
            && cache_time_ms == DETAILS_CACHE_TIME_MS
            && (request.include_details || self.details_podman != Some(podman));
        let with_details = if attach {
            let details = self.details(podman).to_value();
            let bytes = dialect::with_details(payload.cbor_for(Dialect::V018), &details);
            if bytes.is_some() {
                self.details_podman = Some(podman);
            }
            bytes
        } else {
            None
        };
        Answer {
            payload,
            dialect: request.dialect,
            with_details,
        }
    }

    pub fn answer(
        &mut self,
        cache_time_ms: u16,
        input: &CollectInput,
        request: DataRequest,
    ) -> Answer {
        self.answer_at(cache_time_ms, input, request, Instant::now())
    }

    /// The host's Details (v0.18 hubs).
    pub fn details(&self, podman: bool) -> Details {
        let host = &self.host;
        Details {
            hostname: host.hostname.clone(),
            kernel: host.kernel.clone(),
            cores: host.cores,
            threads: host.logical_cpus,
            cpu_model: host.cpu_model.clone(),
            os: current_os(),
            os_name: host.os_name.clone(),
            arch: host.arch.clone(),
            podman,
            memory_total: self.memory_total,
            smart_interval: self
                .settings
                .smart_interval
                .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        }
    }

    /// Whether `collect` would answer from the snapshot cache now.
    pub fn is_fresh(&self, cache_time_ms: u16) -> bool {
        self.is_fresh_at(cache_time_ms, Instant::now())
    }

    pub fn is_fresh_at(&self, cache_time_ms: u16, now: Instant) -> bool {
        self.cache.get(cache_time_ms, now).is_some()
    }

    fn gather(&mut self, ct: u16, input: &CollectInput, now: Instant) -> CombinedData {
        let cpu = self.cpu.sample(ct);
        let mem = self.memory.sample();
        if mem.total_bytes > 0 {
            self.memory_total = mem.total_bytes;
        }
        let disk = self.disk.sample(ct, now);
        let net = self.network.sample(ct, now);
        let mut temps = self.sensors.sample();
        // GPUs are sampled on their own threads; this only reads their averages.
        let gpu = self.gpu.sample(ct);
        gpu::merge_temperatures(
            &mut temps.readings,
            &mut temps.dashboard,
            self.settings.primary_sensor.as_deref(),
            &gpu.temperatures(),
        );
        let fans = self.fans.sample();
        let battery = self.battery.sample();
        let load_avg = system::load_avg(&self.settings.roots);
        let read_at = now.checked_sub(input.containers_age).unwrap_or(now);
        let containers = input.containers.as_ref().map(|list| {
            self.containers
                .sample_engines(ct, read_at, list, input.podman)
        });

        // Services go out with the hub's normal 60 s tick only (spec §3.8); they are refreshed on
        // their own thread and only read here.
        let services = if ct == SERVICES_CACHE_TIME_MS {
            self.systemd.take_for_send()
        } else {
            ServicesForSend::default()
        };

        let root = disk.root.stats;
        let extra_fs: Vec<(String, FsStats)> = disk
            .extra
            .into_iter()
            .map(|(name, fs)| (name, fs.stats))
            .collect();
        // Computed from the already-rounded GiB values, as the Go agent does.
        let extra_fs_pct = extra_fs
            .iter()
            .map(|(name, fs)| {
                let pct = if fs.disk_total > 0.0 {
                    two_decimals(fs.disk_used / fs.disk_total * 100.0)
                } else {
                    0.0
                };
                (name.clone(), pct)
            })
            .collect();

        let stats = Stats {
            cpu: cpu.total,
            mem: mem.total,
            mem_used: mem.used,
            mem_pct: mem.pct,
            mem_buff_cache: mem.buff_cache,
            mem_zfs_arc: mem.zfs_arc,
            swap: mem.swap_total,
            swap_used: mem.swap_used,
            disk_total: root.disk_total,
            disk_used: root.disk_used,
            disk_pct: disk.root.pct,
            disk_read_ps: root.read_ps,
            disk_write_ps: root.write_ps,
            net_sent: net.sent_ps,
            net_recv: net.recv_ps,
            temperatures: temps.readings,
            extra_fs,
            gpus: gpu.gpus.clone(),
            bandwidth: net.bandwidth,
            load_avg,
            battery: battery.battery,
            battery_primary: battery.primary,
            interfaces: net.interfaces,
            disk_io: [root.read_bytes, root.write_bytes],
            cpu_breakdown: cpu.breakdown.map(|b| b.to_vec()).unwrap_or_default(),
            cpu_cores: cpu.per_core,
            disk_io_stats: root.io_stats,
            batteries: battery.batteries,
            fans,
        };
        let info = Info {
            hostname: self.host.hostname.clone(),
            kernel: self.host.kernel.clone(),
            cores: self.host.cores,
            threads: self.host.threads,
            cpu_model: self.host.cpu_model.clone(),
            uptime: system::uptime_secs(&self.settings.roots),
            cpu: stats.cpu,
            mem_pct: stats.mem_pct,
            disk_pct: stats.disk_pct,
            bandwidth: two_decimals(stats.net_sent + stats.net_recv),
            agent_version: Dialect::V017.agent_version().to_string(),
            podman: input.podman,
            gpu_pct: gpu.max_usage(),
            dashboard_temp: temps.dashboard,
            os: current_os(),
            load_avg_1: load_avg[0],
            load_avg_5: load_avg[1],
            load_avg_15: load_avg[2],
            load_avg,
            bandwidth_bytes: stats.bandwidth[0].saturating_add(stats.bandwidth[1]),
            connection_type: self.connection_type,
            extra_fs_pct,
            services: services.counts,
            battery: stats.battery,
        };
        CombinedData {
            stats,
            info,
            containers,
            services: services.list,
            details: None,
        }
    }

    /// One reading for Prometheus (a scrape or a remote-write tick): raw counters and gauges,
    /// read fresh. The hub's baselines, rates, averaging windows and snapshot cache are not
    /// touched.
    /// Families that got no sample this time stay in the set, empty (left out of every
    /// rendering).
    pub fn metrics(&mut self, input: &MetricsInput<'_>) -> &MetricSet {
        let set = &mut self.metric_set;
        set.clear_samples();
        let settings = &self.settings;
        self.node_metrics
            .get_or_insert_with(|| metrics::node::NodeCollector::new(settings))
            .families(set);
        if let Some(list) = input.containers {
            metrics::cadvisor::families(list, set);
        }
        metrics::gpu::families(&self.gpu.latest(), set);
        metrics::smart::families(input.smart, set);
        metrics::systemd::families(&self.systemd.services(), set);
        metrics::power::battery_families(&self.battery.sample(), set);
        metrics::power::fan_families(&self.fans.sample(), set);
        metrics::sonar::agent_families(&input.counters, set);
        &self.metric_set
    }

    /// How many cache times each per-cache-time store keeps (every one is bounded by
    /// `baselines::MAX_WINDOWS`, whatever cache times the hub sends).
    pub fn windows(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("cpu", self.cpu.windows()),
            ("disk", self.disk.windows()),
            ("network", self.network.windows()),
            ("gpu", self.gpu.windows()),
            ("containers", self.containers.windows()),
            ("snapshot cache", self.cache.len()),
        ]
    }

    /// The systemd collector's state (for the one-time log line and `doctor`).
    pub fn systemd_status(&self) -> crate::collect::systemd::SystemdStatus {
        self.systemd.status()
    }
}
