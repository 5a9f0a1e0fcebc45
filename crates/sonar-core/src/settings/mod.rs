//! The collection settings. The core never reads the process environment itself: the caller hands
//! it a lookup (the TypeScript side resolves `SONAR_AGENT_<NAME>` → `BESZEL_AGENT_<NAME>` →
//! `<NAME>`, plus config files), and this module turns the raw strings into typed settings with
//! errors that name the setting, the problem and a good example. What each setting is, and the
//! grammar of its value, live in `catalog` and `grammar`; `parse` applies them.

pub mod catalog;
pub mod grammar;
pub mod parse;

use crate::filter::NameFilter;
use crate::roots::Roots;
use catalog::Setting;
pub use grammar::{parse_bool, parse_go_duration, split_list};
use parse::Parsed;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum SensorSelection {
    /// `SENSORS` unset: every sensor.
    All,
    /// `SENSORS=""`: temperature collection off.
    Disabled,
    Filter(NameFilter),
}

/// One `SERVICE_PATTERNS` entry: ".service" appended unless it already ends with it or (Beszel
/// HEAD) with "timer".
pub fn service_pattern(p: &str) -> String {
    if p.ends_with(".service") || p.ends_with("timer") {
        p.to_string()
    } else {
        format!("{p}.service")
    }
}

/// `SERVICE_PATTERNS` as a whole (the list grammar, then the suffix rule).
pub fn parse_service_patterns(value: &str) -> Vec<String> {
    split_list(value, ",").map(service_pattern).collect()
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
    /// `NVML=false`: never load NVML.
    pub nvml: bool,
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
    /// `SMART_INTERVAL`: sent to v0.18 hubs in Details, which then fetch SMART data that often.
    pub smart_interval: Option<Duration>,
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
            nvml: true,
            gpu_collector: Vec::new(),
            intel_gpu_device: None,
            skip_systemd: false,
            service_patterns: vec!["*.service".to_string()],
            system_bus_address: None,
            smart_interval: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    pub name: String,
    /// the raw value (never a secret's: those are not validated here)
    pub value: String,
    /// reads after the quoted value: "is not a duration"
    pub problem: String,
    /// a good value; None where no value would do (a refused setting)
    pub example: Option<String>,
}

impl SettingError {
    pub fn new(name: &str, value: &str, problem: String, example: Option<&str>) -> SettingError {
        SettingError {
            name: name.to_string(),
            value: value.to_string(),
            problem,
            example: example.map(String::from),
        }
    }
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?} {}", self.name, self.value, self.problem)?;
        match &self.example {
            Some(example) => write!(f, " (for example {}={example})", self.name),
            None => Ok(()),
        }
    }
}

impl std::error::Error for SettingError {}

/// Parses every set setting `wanted` selects; all errors, in table order.
pub fn parse_settings(
    lookup: &dyn Fn(&str) -> Option<String>,
    wanted: impl Fn(&Setting) -> bool,
) -> (HashMap<&'static str, Parsed>, Vec<SettingError>) {
    let mut values = HashMap::new();
    let mut errors = Vec::new();
    for setting in catalog::SETTINGS.iter().filter(|s| wanted(s)) {
        match parse::parse(setting, lookup(setting.name).as_deref(), lookup) {
            Ok(Some(value)) => {
                values.insert(setting.name, value);
            }
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    (values, errors)
}

/// The typed values of the core's settings, read by field.
struct CoreValues(HashMap<&'static str, Parsed>);

impl CoreValues {
    fn text(&self, name: &str) -> Option<String> {
        match self.0.get(name) {
            Some(Parsed::Text(t)) => Some(t.clone()),
            _ => None,
        }
    }
    fn path(&self, name: &str) -> Option<PathBuf> {
        self.text(name).map(PathBuf::from)
    }
    fn flag(&self, name: &str) -> Option<bool> {
        match self.0.get(name) {
            Some(Parsed::Bool(b)) => Some(*b),
            _ => None,
        }
    }
    fn list(&self, name: &str) -> Option<Vec<String>> {
        match self.0.get(name) {
            Some(Parsed::List(items)) => Some(items.clone()),
            _ => None,
        }
    }
    fn duration(&self, name: &str) -> Option<Duration> {
        match self.0.get(name) {
            Some(Parsed::Duration(d)) => Some(*d),
            _ => None,
        }
    }
}

impl Settings {
    /// Builds the settings from a lookup returning the raw value of a name (`Some("")` = set but
    /// empty, which matters for `SENSORS`). Every setting the core reads is checked against its
    /// kind first, refused ones included; the first problem is the error.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Settings, SettingError> {
        let (values, errors) = parse_settings(lookup, Setting::read_by_core);
        if let Some(first) = errors.into_iter().next() {
            return Err(first);
        }
        let v = CoreValues(values);
        let mut s = Settings::default();
        if let Some(p) = v.path("HOST_PROC") {
            s.roots.proc = p;
        }
        if let Some(p) = v.path("HOST_SYS") {
            s.roots.sys = p;
        }
        if let Some(p) = v.path("HOST_ETC") {
            s.roots.etc = p;
        }
        s.sensors_sys = v.path("SYS_SENSORS").unwrap_or_else(|| s.roots.sys.clone());
        s.mem_calc_htop = v.text("MEM_CALC").is_some();
        s.disk_usage_cache = v.duration("DISK_USAGE_CACHE").filter(|d| !d.is_zero());
        s.filesystem = v.text("FILESYSTEM");
        if let Some(items) = v.list("EXTRA_FILESYSTEMS") {
            s.extra_filesystems = items.iter().map(|e| extra_filesystem(e)).collect();
        }
        // NICS and SENSORS: set but empty means something (no NIC, no temperature)
        s.nics = lookup("NICS").map(|raw| NameFilter::parse(&raw));
        s.sensors = match lookup("SENSORS") {
            None => SensorSelection::All,
            Some(raw) if raw.trim().is_empty() => SensorSelection::Disabled,
            Some(raw) => SensorSelection::Filter(NameFilter::parse(&raw)),
        };
        s.primary_sensor = v.text("PRIMARY_SENSOR");
        s.skip_gpu = v.flag("SKIP_GPU").unwrap_or(false);
        s.gpu_collector = v.list("GPU_COLLECTOR").unwrap_or_default();
        s.nvml = v.flag("NVML").unwrap_or(true);
        if !s.nvml && s.gpu_collector.iter().any(|c| c == "nvml") {
            return Err(SettingError::new(
                "NVML",
                "false",
                "contradicts GPU_COLLECTOR, which lists nvml".into(),
                Some("true"),
            ));
        }
        if v.flag("AMD_SYSFS") == Some(false) {
            return Err(SettingError::new(
                "AMD_SYSFS",
                &lookup("AMD_SYSFS").unwrap_or_default(),
                "is not supported: SONAR reads AMD GPUs from sysfs only (it has no rocm-smi collector)"
                    .into(),
                Some("true"),
            ));
        }
        s.intel_gpu_device = v.text("INTEL_GPU_DEVICE");
        s.skip_systemd = v.flag("SKIP_SYSTEMD").unwrap_or(false);
        if let Some(patterns) = v.list("SERVICE_PATTERNS") {
            if !patterns.is_empty() {
                s.service_patterns = patterns.iter().map(|p| service_pattern(p)).collect();
            }
        }
        s.system_bus_address = v.text("DBUS_SYSTEM_BUS_ADDRESS");
        s.smart_interval = v.duration("SMART_INTERVAL");
        Ok(s)
    }
}

/// `dev[__Custom Name],…`.
pub fn parse_extra_filesystems(value: &str) -> Vec<ExtraFsEntry> {
    split_list(value, ",").map(extra_filesystem).collect()
}

/// One entry: split on the first `__`; an empty custom name means none.
pub fn extra_filesystem(entry: &str) -> ExtraFsEntry {
    match entry.split_once("__") {
        Some((dev, name)) => ExtraFsEntry {
            device: dev.to_string(),
            name: (!name.is_empty()).then(|| name.to_string()),
        },
        None => ExtraFsEntry {
            device: entry.to_string(),
            name: None,
        },
    }
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

    #[test]
    fn nvml_false_and_amd_sysfs() {
        let s =
            Settings::from_lookup(&lookup(&[("NVML", "false"), ("AMD_SYSFS", "true")])).unwrap();
        assert!(!s.nvml);
        assert!(Settings::from_lookup(&lookup(&[])).unwrap().nvml);
        let err = Settings::from_lookup(&lookup(&[("NVML", "false"), ("GPU_COLLECTOR", "nvml")]))
            .unwrap_err();
        assert_eq!(err.name, "NVML");
        let err = Settings::from_lookup(&lookup(&[("AMD_SYSFS", "false")])).unwrap_err();
        assert_eq!(err.name, "AMD_SYSFS");
        assert!(err.problem.contains("sysfs only"), "{}", err.problem);
    }

    /// HOST_ROOT, SENSORS_TIMEOUT, NVML… were accepted and did nothing: now each either works or
    /// stops the agent with the reason.
    #[test]
    fn settings_nothing_reads_are_refused() {
        for name in ["SENSORS_TIMEOUT", "HOST_ROOT", "LHM", "HOST_VAR"] {
            let err = Settings::from_lookup(&lookup(&[(name, "x")])).unwrap_err();
            assert_eq!(err.name, name);
            assert!(err.problem.contains("does not support it"), "{err}");
        }
    }

    /// SMART_INTERVAL was refused while the agent spoke only v0.17; v0.18 hubs read it from
    /// Details, so it is a positive duration now.
    #[test]
    fn smart_interval_is_a_positive_duration() {
        let s = Settings::from_lookup(&lookup(&[("SMART_INTERVAL", "6h")])).unwrap();
        assert_eq!(s.smart_interval, Some(Duration::from_secs(6 * 3600)));
        for bad in ["x", "0s", "-1h"] {
            let err = Settings::from_lookup(&lookup(&[("SMART_INTERVAL", bad)])).unwrap_err();
            assert_eq!(err.name, "SMART_INTERVAL", "{bad}");
        }
    }

    #[test]
    fn every_boolean_shares_one_grammar() {
        for name in ["SKIP_GPU", "SKIP_SYSTEMD", "NVML"] {
            let err = Settings::from_lookup(&lookup(&[(name, "yes")])).unwrap_err();
            assert_eq!(err.name, name);
            assert_eq!(err.problem, "is not true or false");
        }
        let s = Settings::from_lookup(&lookup(&[("SKIP_GPU", "True"), ("SKIP_SYSTEMD", "FALSE")]))
            .unwrap();
        assert!(s.skip_gpu && !s.skip_systemd);
    }
}
