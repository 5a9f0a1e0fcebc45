//! Runs smartctl: a device scan at most every 30 minutes, then `-a --json=c -n standby` per
//! device. Results stay in memory keyed by serial; the hub is answered from there while the next
//! refresh runs on its own thread, so a slow or hung disk never holds up a request.

use super::{parse_document, parse_output, parse_scan, smart_map_value, Parser, SmartData};
use crate::collect::child::run_with_timeout;
use crate::roots::Roots;
use crate::settings::grammar::split_list;
use crate::settings::parse::looks_like_an_option;
use crate::value::{Key, Value};
use crate::warnings::warn_once;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub const SCAN_INTERVAL: Duration = Duration::from_secs(30 * 60);
/// Beszel v0.17 allowed 2 s and raised it to 15 s: disks behind RAID/USB bridges answer slowly.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);
pub const SCAN_TIMEOUT: Duration = Duration::from_secs(10);

/// smartctl's exit status bit 1: the device could not be opened or, with `-n standby`, it is in
/// a low-power mode and was left asleep. The other bits report disk health and still come with
/// a full JSON document.
pub const EXIT_OPEN_FAILED_OR_STANDBY: i32 = 1 << 1;

#[derive(Debug, Clone)]
pub struct SmartConfig {
    /// None: look for `smartctl` on PATH and in the usual sbin folders.
    pub smartctl: Option<PathBuf>,
    /// `SMART_DEVICES` as given; `Some("")` disables SMART.
    pub devices: Option<String>,
    /// `SMART_DEVICES_SEPARATOR`: what separates `devices` (`,` unless set).
    pub separator: String,
    /// `EXCLUDE_SMART`: exact device names.
    pub exclude: Vec<String>,
    pub call_timeout: Duration,
    pub scan_timeout: Duration,
    pub scan_interval: Duration,
    /// Where to read Linux md arrays from; None leaves them out.
    pub mdraid_roots: Option<Roots>,
}

impl Default for SmartConfig {
    fn default() -> Self {
        SmartConfig {
            smartctl: None,
            devices: None,
            separator: ",".into(),
            exclude: Vec::new(),
            call_timeout: CALL_TIMEOUT,
            scan_timeout: SCAN_TIMEOUT,
            scan_interval: SCAN_INTERVAL,
            mdraid_roots: None,
        }
    }
}

impl SmartConfig {
    /// Reads `SMART_DEVICES` and `EXCLUDE_SMART` through the caller's lookup (prefixes applied).
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Self {
        SmartConfig {
            devices: lookup("SMART_DEVICES"),
            separator: lookup("SMART_DEVICES_SEPARATOR")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| ",".into()),
            exclude: lookup("EXCLUDE_SMART")
                .map(|v| split_list(&v, ",").map(String::from).collect())
                .unwrap_or_default(),
            ..Default::default()
        }
    }

    fn disabled(&self) -> bool {
        self.devices.as_deref().is_some_and(|d| d.trim().is_empty())
    }
}

/// A device to query. `explicit`: its type came from SMART_DEVICES, so `-d` is always passed.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub name: String,
    pub device_type: String,
    pub explicit: bool,
    /// The parser that last read this device's output.
    pub parser: Option<Parser>,
}

/// `SMART_DEVICES` entries `path[:type]`, comma-separated, type lowercased.
pub fn parse_configured(value: &str) -> Vec<Device> {
    parse_configured_with(value, ",")
}

/// The same with `SMART_DEVICES_SEPARATOR`'s separator. Settings parsing refuses entries that
/// look like options (`--smart=off`); one that reaches here anyway (a caller that skipped the
/// check) is dropped with a warning, never passed to smartctl.
pub fn parse_configured_with(value: &str, separator: &str) -> Vec<Device> {
    split_list(value, separator)
        .filter(|entry| {
            let option = looks_like_an_option(entry);
            if option {
                warn_once(&format!("SMART_DEVICES:{entry}"), || {
                    format!(
                        "SMART_DEVICES: {entry:?} looks like a command-line option: it is not \
                         passed to smartctl"
                    )
                });
            }
            !option
        })
        .filter_map(|entry| {
            let (name, device_type) = match entry.split_once(':') {
                Some((n, t)) => (n.trim(), t.trim().to_ascii_lowercase()),
                None => (entry, String::new()),
            };
            (!name.is_empty()).then(|| Device {
                name: name.to_string(),
                parser: Parser::from_type(&device_type),
                explicit: !device_type.is_empty(),
                device_type,
            })
        })
        .collect()
}

/// Scan results with SMART_DEVICES on top; a parser that already worked for a device is kept.
pub fn merge_devices(
    existing: &[Device],
    scanned: &[Device],
    configured: &[Device],
) -> Vec<Device> {
    if scanned.is_empty() && configured.is_empty() {
        return existing.to_vec();
    }
    let verified = |name: &str| {
        existing
            .iter()
            .find(|d| d.name == name && d.parser.is_some())
    };
    let mut out: Vec<Device> = Vec::new();
    for dev in scanned.iter().chain(configured) {
        let configured_entry = configured.iter().any(|c| std::ptr::eq(c, dev));
        if let Some(known) = out.iter_mut().find(|d| d.name == dev.name) {
            if configured_entry && !dev.device_type.is_empty() && known.parser.is_none() {
                known.device_type = dev.device_type.clone();
                known.parser = Parser::from_type(&dev.device_type);
                known.explicit = true;
            }
            continue;
        }
        let mut dev = dev.clone();
        if let Some(prev) = verified(&dev.name) {
            dev.parser = prev.parser;
            if dev.device_type.is_empty() {
                dev.device_type = prev.device_type.clone();
            }
        }
        out.push(dev);
    }
    out
}

/// Where smartctl is looked for after PATH: where Debian and Homebrew install it (sbin folders
/// are often missing from a service's PATH).
pub const SMARTCTL_DIRS: [&str; 4] = ["/usr/sbin", "/usr/local/sbin", "/sbin", "/opt/homebrew/bin"];

/// The smartctl binary: PATH first, then SMARTCTL_DIRS.
pub fn find_smartctl(path_var: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    let from_path = path_var
        .map(std::env::split_paths)
        .into_iter()
        .flatten()
        .map(|dir| dir.join("smartctl"));
    let fixed = SMARTCTL_DIRS.iter().map(|d| Path::new(d).join("smartctl"));
    from_path.chain(fixed).find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The arguments for one device. `-d` is left out for scsi/ata types, which scans misreport
/// (Beszel issue 1345), unless the type was given explicitly in SMART_DEVICES.
pub fn device_args(dev: &Device) -> Vec<String> {
    let mut args = Vec::new();
    let t = dev.device_type.to_ascii_lowercase();
    if !t.is_empty() && (dev.explicit || (t != "scsi" && t != "ata")) {
        args.push("-d".to_string());
        args.push(dev.device_type.clone());
    }
    for a in ["-a", "--json=c", "-n", "standby"] {
        args.push(a.to_string());
    }
    args.push(dev.name.clone());
    args
}

/// What one device's query gave.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceOutcome {
    Data(Parser, Box<SmartData>),
    /// Asleep (left so) or not openable: cached data for it is kept.
    Standby,
    NoData,
    TimedOut,
}

pub fn interpret(code: Option<i32>, stdout: &str, known: Option<Parser>) -> DeviceOutcome {
    // The output is read whatever the exit status: bits 2..7 report health, not failure.
    if let Some((parser, data)) = parse_document(stdout).and_then(|doc| parse_output(&doc, known)) {
        return DeviceOutcome::Data(parser, Box::new(data));
    }
    if code.is_some_and(|c| c & EXIT_OPEN_FAILED_OR_STANDBY != 0) {
        DeviceOutcome::Standby
    } else {
        DeviceOutcome::NoData
    }
}

#[derive(Default)]
struct State {
    devices: Vec<Device>,
    last_scan: Option<Instant>,
    /// serial → (queried device name, data).
    data: BTreeMap<String, (String, SmartData)>,
    refreshed: bool,
}

struct Shared {
    config: SmartConfig,
    smartctl: Option<PathBuf>,
    state: Mutex<State>,
    /// Held for the whole of a refresh: one at a time.
    refreshing: Mutex<()>,
}

#[derive(Clone)]
pub struct SmartMonitor {
    shared: Arc<Shared>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SmartMonitor {
    pub fn new(config: SmartConfig) -> Self {
        let smartctl = match &config.smartctl {
            Some(p) => is_executable(p).then(|| p.clone()),
            None => find_smartctl(std::env::var_os("PATH").as_deref()),
        };
        SmartMonitor {
            shared: Arc::new(Shared {
                config,
                smartctl,
                state: Mutex::new(State::default()),
                refreshing: Mutex::new(()),
            }),
        }
    }

    /// Whether smartctl was found and SMART is not disabled by an empty SMART_DEVICES.
    pub fn available(&self) -> bool {
        self.shared.smartctl.is_some() && !self.shared.config.disabled()
    }

    pub fn smartctl_path(&self) -> Option<&Path> {
        self.shared.smartctl.as_deref()
    }

    pub fn devices(&self) -> Vec<Device> {
        lock(&self.shared.state).devices.clone()
    }

    /// A scan (when due) and a query of every device, on the calling thread. Waits for a refresh
    /// already running instead of starting a second one.
    pub fn refresh(&self) {
        let _one = lock(&self.shared.refreshing);
        self.refresh_locked();
    }

    /// The answer for `GetSmartData`: the first call waits for a refresh; later calls return what
    /// is in memory at once and start a refresh in the background (none if one is running).
    pub fn data_and_refresh(&self) -> Value {
        if !lock(&self.shared.state).refreshed {
            self.refresh();
        } else if let Ok(guard) = self.shared.refreshing.try_lock() {
            drop(guard);
            let me = self.clone();
            let spawned = std::thread::Builder::new()
                .name("sonar-smart".into())
                .spawn(move || {
                    if let Ok(_one) = me.shared.refreshing.try_lock() {
                        me.refresh_locked();
                    }
                });
            drop(spawned);
        }
        self.data()
    }

    /// The cached map serial → SmartData, then the md arrays ("mdraid:mdN", read now: a few
    /// sysfs files). Empty when SMART_DEVICES disables SMART.
    pub fn data(&self) -> Value {
        if self.shared.config.disabled() {
            return Value::Map(Vec::new());
        }
        let state = lock(&self.shared.state);
        let mut map = smart_map_value(state.data.iter().map(|(k, (_, d))| (k.as_str(), d)));
        drop(state);
        if let (Value::Map(entries), Some(roots)) = (&mut map, &self.shared.config.mdraid_roots) {
            for (key, value) in crate::collect::mdraid::read_arrays(roots) {
                entries.push((Key::Text(key), value));
            }
        }
        map
    }

    fn refresh_locked(&self) {
        if !self.available() {
            lock(&self.shared.state).refreshed = true;
            return;
        }
        self.scan_if_due();
        let devices = self.devices();
        for dev in devices {
            let outcome = self.query(&dev);
            let mut state = lock(&self.shared.state);
            if let DeviceOutcome::Data(parser, data) = outcome {
                if let Some(d) = state.devices.iter_mut().find(|d| d.name == dev.name) {
                    d.parser = Some(parser);
                }
                state
                    .data
                    .insert(data.serial_number.clone(), (dev.name.clone(), *data));
            }
        }
        lock(&self.shared.state).refreshed = true;
    }

    fn query(&self, dev: &Device) -> DeviceOutcome {
        let Some(smartctl) = &self.shared.smartctl else {
            return DeviceOutcome::NoData;
        };
        match run_with_timeout(smartctl, &device_args(dev), self.shared.config.call_timeout) {
            Some(done) => interpret(done.code, &done.stdout, dev.parser),
            None => DeviceOutcome::TimedOut,
        }
    }

    fn scan_if_due(&self) {
        let config = &self.shared.config;
        {
            let state = lock(&self.shared.state);
            if state
                .last_scan
                .is_some_and(|t| t.elapsed() < config.scan_interval)
            {
                return;
            }
        }
        let scanned: Vec<Device> = self
            .shared
            .smartctl
            .as_ref()
            .and_then(|s| {
                let args = ["--scan-open".to_string(), "-j".to_string()];
                run_with_timeout(s, &args, config.scan_timeout)
            })
            .and_then(|done| parse_scan(&done.stdout))
            .unwrap_or_default()
            .into_iter()
            .map(|(name, device_type)| Device {
                name,
                device_type,
                explicit: false,
                parser: None,
            })
            .collect();
        let configured = config
            .devices
            .as_deref()
            .map(|d| parse_configured_with(d, &config.separator))
            .unwrap_or_default();
        let mut state = lock(&self.shared.state);
        state.last_scan = Some(Instant::now());
        let mut devices = merge_devices(&state.devices, &scanned, &configured);
        devices.retain(|d| !config.exclude.contains(&d.name));
        // Disks that went away take their cached data with them.
        state
            .data
            .retain(|_, (name, _)| devices.iter().any(|d| &d.name == name));
        state.devices = devices;
    }
}
