//! The collection settings. The core never reads the process environment itself: the caller hands
//! it a lookup (the TypeScript side resolves `SONAR_AGENT_<NAME>` → `BESZEL_AGENT_<NAME>` →
//! `<NAME>`, plus config files), and this module turns the raw strings into typed settings with
//! errors that name the setting, the problem and a good example.

use crate::filter::{glob_is_valid, NameFilter};
use crate::roots::Roots;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Every setting name the core reads, for the caller to look up.
pub const SETTING_NAMES: &[&str] = &[
    "HOST_PROC",
    "HOST_SYS",
    "HOST_ETC",
    "SYS_SENSORS",
    "MEM_CALC",
    "DISK_USAGE_CACHE",
    "FILESYSTEM",
    "EXTRA_FILESYSTEMS",
    "NICS",
    "SENSORS",
    "PRIMARY_SENSOR",
    "SKIP_GPU",
    "GPU_COLLECTOR",
    "INTEL_GPU_DEVICE",
    "SKIP_SYSTEMD",
    "SERVICE_PATTERNS",
    "DBUS_SYSTEM_BUS_ADDRESS",
];

#[derive(Debug, Clone, PartialEq)]
pub enum SensorSelection {
    /// `SENSORS` unset: every sensor.
    All,
    /// `SENSORS=""`: temperature collection off.
    Disabled,
    Filter(NameFilter),
}

/// `SERVICE_PATTERNS` entries: comma-separated; ".service" appended unless the entry already ends
/// with it or (Beszel HEAD) with "timer".
pub fn parse_service_patterns(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            if p.ends_with(".service") || p.ends_with("timer") {
                p.to_string()
            } else {
                format!("{p}.service")
            }
        })
        .collect()
}

/// One `EXTRA_FILESYSTEMS` entry: `device[__Custom Name]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraFsEntry {
    pub device: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub roots: Roots,
    /// hwmon/thermal root (`SYS_SENSORS`, else the sys root).
    pub sensors_sys: PathBuf,
    /// `MEM_CALC=htop`.
    pub mem_calc_htop: bool,
    /// `DISK_USAGE_CACHE`: how long non-root filesystem usage is reused.
    pub disk_usage_cache: Option<Duration>,
    pub filesystem: Option<String>,
    pub extra_filesystems: Vec<ExtraFsEntry>,
    /// `NICS`; `None` means the default skip rules only.
    pub nics: Option<NameFilter>,
    pub sensors: SensorSelection,
    pub primary_sensor: Option<String>,
    /// How long one statfs may take before that filesystem is reported as unavailable.
    pub statfs_timeout: Duration,
    /// `SKIP_GPU=true`.
    pub skip_gpu: bool,
    /// `GPU_COLLECTOR`: priority list of collector names; empty = detect.
    pub gpu_collector: Vec<String>,
    /// `INTEL_GPU_DEVICE`: passed to `intel_gpu_top -d`.
    pub intel_gpu_device: Option<String>,
    /// `SKIP_SYSTEMD=true`.
    pub skip_systemd: bool,
    /// `SERVICE_PATTERNS`, each with ".service" appended unless it ends with it (or with "timer").
    pub service_patterns: Vec<String>,
    /// `DBUS_SYSTEM_BUS_ADDRESS` (the standard variable); unset = /run/dbus/system_bus_socket.
    pub system_bus_address: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        let roots = Roots::default();
        Settings {
            sensors_sys: roots.sys.clone(),
            roots,
            mem_calc_htop: false,
            disk_usage_cache: None,
            filesystem: None,
            extra_filesystems: Vec::new(),
            nics: None,
            sensors: SensorSelection::All,
            primary_sensor: None,
            statfs_timeout: Duration::from_secs(2),
            skip_gpu: false,
            gpu_collector: Vec::new(),
            intel_gpu_device: None,
            skip_systemd: false,
            service_patterns: vec!["*.service".to_string()],
            system_bus_address: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    pub name: String,
    pub value: String,
    pub problem: String,
    pub example: String,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={:?}: {} (for example {}={})",
            self.name, self.value, self.problem, self.name, self.example
        )
    }
}

impl std::error::Error for SettingError {}

impl Settings {
    /// Builds the settings from a lookup returning the raw value of a name (`Some("")` = set but
    /// empty, which matters for `SENSORS`).
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Settings, SettingError> {
        let mut s = Settings::default();
        let non_empty = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        if let Some(v) = non_empty("HOST_PROC") {
            s.roots.proc = PathBuf::from(v.trim());
        }
        if let Some(v) = non_empty("HOST_SYS") {
            s.roots.sys = PathBuf::from(v.trim());
        }
        if let Some(v) = non_empty("HOST_ETC") {
            s.roots.etc = PathBuf::from(v.trim());
        }
        s.sensors_sys = match non_empty("SYS_SENSORS") {
            Some(v) => PathBuf::from(v.trim()),
            None => s.roots.sys.clone(),
        };
        s.mem_calc_htop = non_empty("MEM_CALC").is_some_and(|v| v.trim() == "htop");
        if let Some(v) = non_empty("DISK_USAGE_CACHE") {
            let d = parse_go_duration(v.trim()).ok_or_else(|| SettingError {
                name: "DISK_USAGE_CACHE".into(),
                value: v.clone(),
                problem: "not a duration".into(),
                example: "15m".into(),
            })?;
            s.disk_usage_cache = (!d.is_zero()).then_some(d);
        }
        s.filesystem = non_empty("FILESYSTEM").map(|v| v.trim().to_string());
        if let Some(v) = non_empty("EXTRA_FILESYSTEMS") {
            s.extra_filesystems = parse_extra_filesystems(&v);
        }
        s.nics = lookup("NICS").map(|v| NameFilter::parse(&v));
        s.sensors = match lookup("SENSORS") {
            None => SensorSelection::All,
            Some(v) if v.trim().is_empty() => SensorSelection::Disabled,
            Some(v) => SensorSelection::Filter(NameFilter::parse(&v)),
        };
        s.primary_sensor = non_empty("PRIMARY_SENSOR").map(|v| v.trim().to_string());
        s.skip_gpu = non_empty("SKIP_GPU").is_some_and(|v| v.trim() == "true");
        if let Some(v) = non_empty("GPU_COLLECTOR") {
            for name in v.split(',').map(|n| n.trim().to_ascii_lowercase()) {
                if name.is_empty() {
                    continue;
                }
                let unsupported = crate::collect::gpu::UNSUPPORTED_COLLECTORS
                    .iter()
                    .find(|(n, _)| *n == name.as_str());
                if let Some((_, instead)) = unsupported {
                    return Err(SettingError {
                        name: "GPU_COLLECTOR".into(),
                        value: v.clone(),
                        problem: format!("{name} is not implemented in SONAR ({instead})"),
                        example: "nvml,amd_sysfs".into(),
                    });
                }
                if !crate::collect::gpu::COLLECTOR_NAMES.contains(&name.as_str()) {
                    return Err(SettingError {
                        name: "GPU_COLLECTOR".into(),
                        value: v.clone(),
                        problem: format!(
                            "unknown collector {name:?} (known: {})",
                            crate::collect::gpu::COLLECTOR_NAMES.join(", ")
                        ),
                        example: "nvml,amd_sysfs".into(),
                    });
                }
                s.gpu_collector.push(name);
            }
        }
        s.intel_gpu_device = non_empty("INTEL_GPU_DEVICE").map(|v| v.trim().to_string());
        s.skip_systemd = non_empty("SKIP_SYSTEMD").is_some_and(|v| v.trim() == "true");
        if let Some(v) = non_empty("SERVICE_PATTERNS") {
            let patterns = parse_service_patterns(&v);
            if let Some(bad) = patterns.iter().find(|p| !glob_is_valid(p)) {
                return Err(SettingError {
                    name: "SERVICE_PATTERNS".into(),
                    value: v.clone(),
                    problem: format!("{bad:?} is not a valid glob"),
                    example: "nginx*,docker,*-worker@*".into(),
                });
            }
            if !patterns.is_empty() {
                s.service_patterns = patterns;
            }
        }
        s.system_bus_address = non_empty("DBUS_SYSTEM_BUS_ADDRESS").map(|v| v.trim().to_string());
        Ok(s)
    }
}

/// `dev[__Custom Name],…`: split on the first `__`; an empty custom name means none.
pub fn parse_extra_filesystems(value: &str) -> Vec<ExtraFsEntry> {
    value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| match entry.split_once("__") {
            Some((dev, name)) => ExtraFsEntry {
                device: dev.to_string(),
                name: (!name.is_empty()).then(|| name.to_string()),
            },
            None => ExtraFsEntry {
                device: entry.to_string(),
                name: None,
            },
        })
        .collect()
}

/// Go `time.ParseDuration`: a sequence of decimal numbers with units ns, us/µs, ms, s, m, h
/// ("1h30m", "1.5h", "500ms"); a bare "0" is zero. Negative durations are rejected.
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    if s.is_empty() {
        return None;
    }
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    let mut total_ns: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total_ns += number * scale;
    }
    if !total_ns.is_finite() || total_ns > u64::MAX as f64 {
        return None;
    }
    Some(Duration::from_nanos(total_ns as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_go_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_go_duration("15"), None);
        assert_eq!(parse_go_duration("abc"), None);
        assert_eq!(parse_go_duration("-5m"), None);
    }

    #[test]
    fn extra_filesystems_split_on_first_double_underscore() {
        let e = parse_extra_filesystems("sdb1__Backup Drive, /mnt/data__my__disk ,sdc,sdd__");
        assert_eq!(e[0].device, "sdb1");
        assert_eq!(e[0].name.as_deref(), Some("Backup Drive"));
        assert_eq!(e[1].device, "/mnt/data");
        assert_eq!(e[1].name.as_deref(), Some("my__disk"));
        assert_eq!(e[2].name, None);
        assert_eq!(e[3].device, "sdd");
        assert_eq!(e[3].name, None);
    }

    #[test]
    fn sensors_unset_empty_and_list() {
        let s = Settings::from_lookup(&lookup(&[])).unwrap();
        assert_eq!(s.sensors, SensorSelection::All);
        let s = Settings::from_lookup(&lookup(&[("SENSORS", "")])).unwrap();
        assert_eq!(s.sensors, SensorSelection::Disabled);
        let s = Settings::from_lookup(&lookup(&[("SENSORS", "cpu*")])).unwrap();
        assert!(matches!(s.sensors, SensorSelection::Filter(_)));
    }

    #[test]
    fn roots_and_sys_sensors() {
        let s = Settings::from_lookup(&lookup(&[("HOST_SYS", "/host/sys")])).unwrap();
        assert_eq!(s.roots.sys, PathBuf::from("/host/sys"));
        assert_eq!(s.sensors_sys, PathBuf::from("/host/sys"));
        let s = Settings::from_lookup(&lookup(&[("SYS_SENSORS", "/x/sys")])).unwrap();
        assert_eq!(s.sensors_sys, PathBuf::from("/x/sys"));
    }

    #[test]
    fn gpu_settings() {
        let s = Settings::from_lookup(&lookup(&[
            ("SKIP_GPU", "true"),
            ("GPU_COLLECTOR", "nvml, AMD_SYSFS,"),
            ("INTEL_GPU_DEVICE", "drm:/dev/dri/card1"),
        ]))
        .unwrap();
        assert!(s.skip_gpu);
        assert_eq!(s.gpu_collector, ["nvml", "amd_sysfs"]);
        assert_eq!(s.intel_gpu_device.as_deref(), Some("drm:/dev/dri/card1"));
        let err = Settings::from_lookup(&lookup(&[("GPU_COLLECTOR", "cuda")])).unwrap_err();
        assert_eq!(err.name, "GPU_COLLECTOR");
    }

    /// rocm-smi and friends were accepted and then collected nothing, without a word.
    #[test]
    fn unsupported_gpu_collector_is_an_error_naming_the_alternative() {
        let err =
            Settings::from_lookup(&lookup(&[("GPU_COLLECTOR", "nvml,rocm-smi")])).unwrap_err();
        assert_eq!(err.name, "GPU_COLLECTOR");
        assert!(
            err.problem.contains("rocm-smi is not implemented"),
            "{}",
            err.problem
        );
        assert!(err.problem.contains("amd_sysfs"), "{}", err.problem);
    }

    #[test]
    fn bad_duration_names_the_setting() {
        let err = Settings::from_lookup(&lookup(&[("DISK_USAGE_CACHE", "soon")])).unwrap_err();
        assert_eq!(err.name, "DISK_USAGE_CACHE");
        assert!(err.to_string().contains("DISK_USAGE_CACHE=15m"));
    }

    #[test]
    fn service_patterns_get_the_service_suffix() {
        assert_eq!(
            parse_service_patterns(" nginx* , docker.service,,logrotate.timer,*-worker@*"),
            [
                "nginx*.service",
                "docker.service",
                "logrotate.timer",
                "*-worker@*.service"
            ]
        );
        let s = Settings::from_lookup(&lookup(&[("SERVICE_PATTERNS", " , ")])).unwrap();
        assert_eq!(
            s.service_patterns,
            ["*.service"],
            "nothing usable = the default"
        );
        let s = Settings::from_lookup(&lookup(&[
            ("SKIP_SYSTEMD", "true"),
            ("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/tmp/bus"),
        ]))
        .unwrap();
        assert!(s.skip_systemd);
        assert_eq!(s.system_bus_address.as_deref(), Some("unix:path=/tmp/bus"));
        let err = Settings::from_lookup(&lookup(&[("SERVICE_PATTERNS", "ngin[x")])).unwrap_err();
        assert_eq!(err.name, "SERVICE_PATTERNS");
    }
}
