//! Runs smartctl: a device scan at most every 30 minutes, then `-a --json=c [-l devstat] -n
//! standby` per device (spec v0.18 §5.1). Results stay in memory keyed by serial; the hub is
//! answered from there while the next refresh runs on its own thread, so a slow or hung disk
//! never holds up a request. eMMC and md arrays come from sysfs, read when the answer is built.
//!
//! Sleeping disks are never woken: `-n standby` is on every call. Beszel 0.18.8 leaves it off
//! while it has no data for a disk (and retries without it after exit status 2), which wakes a
//! disk that is asleep when the agent starts; here such a disk is simply not reported until it
//! wakes on its own, and the refresh counts as incomplete meanwhile (README, "S.M.A.R.T.").

use super::{emmc, parse_document, parse_output, parse_scan, smart_map_value, Parser, SmartData};
use crate::collect::child::{executable_in, is_executable, run_with_timeout, Finished};
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
    /// Where to read eMMC health from; None leaves them out.
    pub emmc_roots: Option<Roots>,
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
            emmc_roots: None,
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

    fn excluded(&self, name: &str) -> bool {
        self.exclude.iter().any(|e| e == name)
    }

    /// SMART_DEVICES is set and some entry named no device (`:sat`, an option): Beszel refuses
    /// the whole setting, which fails its scan. Here the good entries are still read, but the
    /// refresh is not complete (§5.1).
    fn configured_invalid(&self) -> bool {
        let Some(raw) = self.devices.as_deref() else {
            return false;
        };
        let entries = split_list(raw, &self.separator).count();
        let devices = parse_configured_with(raw, &self.separator).len();
        devices == 0 || devices != entries
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

/// A device's identity: (name, type). Several devices may share a path (disks behind a RAID
/// controller: `/dev/bus/0` as `megaraid,0`, `megaraid,1`), told apart by their type (§5.1).
pub type DeviceKey = (String, String);

impl Device {
    pub fn key(&self) -> DeviceKey {
        (self.name.clone(), self.device_type.clone())
    }

    fn same(&self, other: &Device) -> bool {
        self.name == other.name && self.device_type == other.device_type
    }
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

/// The one device of `devices` with this name; None when there is none or several (a path
/// shared by several disks cannot be matched by name alone).
fn only_by_name<'a>(devices: &'a [Device], name: &str) -> Option<&'a Device> {
    let mut found = devices.iter().filter(|d| d.name == name);
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// Scan results with SMART_DEVICES on top, devices told apart by (name, type). A device whose
/// parser already worked keeps that parser and the type it was read under (a later scan's
/// guess does not undo a SMART_DEVICES type); a SMART_DEVICES entry matches the scanned device
/// of the same identity, else the only one of its name, and its type replaces a type no read
/// has confirmed yet.
pub fn merge_devices(
    existing: &[Device],
    scanned: &[Device],
    configured: &[Device],
) -> Vec<Device> {
    if scanned.is_empty() && configured.is_empty() {
        return existing.to_vec();
    }
    // by identity, else by a name both lists hold once (a shared path is never guessed)
    let verified = |dev: &Device, source: &[Device]| {
        existing
            .iter()
            .find(|d| d.same(dev))
            .or_else(|| only_by_name(source, &dev.name).and(only_by_name(existing, &dev.name)))
            .filter(|d| d.parser.is_some())
    };
    let keep_verified = |dev: &Device, source: &[Device]| {
        let mut dev = dev.clone();
        if let Some(prev) = verified(&dev, source) {
            dev.parser = prev.parser;
            if !prev.device_type.is_empty() {
                dev.device_type = prev.device_type.clone();
            }
            dev.explicit |= prev.explicit;
        }
        dev
    };
    let mut out: Vec<Device> = Vec::new();
    for dev in scanned {
        let dev = keep_verified(dev, scanned);
        if !out.iter().any(|d| d.same(&dev)) {
            out.push(dev);
        }
    }
    for dev in configured {
        let known = match out.iter().position(|d| d.same(dev)) {
            Some(i) => Some(i),
            None => only_by_name(&out, &dev.name)
                .and_then(|only| out.iter().position(|d| std::ptr::eq(d, only))),
        };
        if let Some(known) = known.and_then(|i| out.get_mut(i)) {
            if !dev.device_type.is_empty() && known.parser.is_none() {
                known.device_type = dev.device_type.clone();
                known.parser = Parser::from_type(&dev.device_type);
                known.explicit = true;
            }
            continue;
        }
        let dev = keep_verified(dev, configured);
        if !out.iter().any(|d| d.same(&dev)) {
            out.push(dev);
        }
    }
    out
}

/// Where smartctl is looked for after PATH: where Debian and Homebrew install it (sbin folders
/// are often missing from a service's PATH).
pub const SMARTCTL_DIRS: [&str; 4] = ["/usr/sbin", "/usr/local/sbin", "/sbin", "/opt/homebrew/bin"];

/// The smartctl binary: PATH first, then SMARTCTL_DIRS.
pub fn find_smartctl(path_var: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    let from_path = path_var.map(std::env::split_paths).into_iter().flatten();
    let fixed = SMARTCTL_DIRS.iter().map(PathBuf::from);
    from_path
        .chain(fixed)
        .find_map(|dir| executable_in(&dir, "smartctl"))
}

/// The arguments for one device: `[-d TYPE] -a --json=c [-l devstat] -n standby DEVICE`
/// (spec v0.18 §5.1). `-d` is left out for scsi/ata types, which scans misreport (Beszel issue
/// 1345), unless the type was given explicitly in SMART_DEVICES. `-l devstat` (ATA device
/// statistics, the temperature fallback) for SATA parsers. `-n standby` always: see the module
/// comment.
pub fn device_args(dev: &Device) -> Vec<String> {
    let mut args = Vec::new();
    let t = dev.device_type.to_ascii_lowercase();
    if !t.is_empty() && (dev.explicit || (t != "scsi" && t != "ata")) {
        args.push("-d".to_string());
        args.push(dev.device_type.clone());
    }
    args.push("-a".to_string());
    args.push("--json=c".to_string());
    // the parser that read it, else the one its type names ("sat", "ata"; not "sat,12")
    if dev.parser.or_else(|| Parser::from_type(&t)) == Some(Parser::Sat) {
        args.push("-l".to_string());
        args.push("devstat".to_string());
    }
    args.push("-n".to_string());
    args.push("standby".to_string());
    args.push(dev.name.clone());
    args
}

/// `/dev/nvme0`: an NVMe controller, which does not always answer SMART queries; its first
/// namespace `/dev/nvme0n1` does (Beszel issue 1504).
pub fn nvme_namespace(name: &str) -> Option<String> {
    let base = name.rsplit('/').next().unwrap_or(name);
    let digits = base.strip_prefix("nvme")?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then(|| format!("{name}n1"))
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
    /// serial → (the device it was read from, data).
    data: BTreeMap<String, (DeviceKey, SmartData)>,
    /// NVMe controllers read through their first namespace: controller → namespace. The
    /// controller path is left out of later scans and the namespace queried in its place.
    namespaces: BTreeMap<String, String>,
    refreshed: bool,
    /// When the last refresh finished.
    refreshed_at: Option<Instant>,
    /// Whether the last finished refresh read every device it knew of (§5.1).
    complete: bool,
}

impl State {
    fn has_data_for(&self, dev: &Device) -> bool {
        let key = dev.key();
        self.data.values().any(|(k, _)| *k == key)
    }

    /// Stores a device's fresh data. DiskType is the type the device was queried as when it
    /// has one ("sat+megaraid,0"), else smartctl's `device.type` (§5.1, Beszel 0.18.8). A
    /// device holds one disk: another serial cached for it (a swapped disk) goes.
    fn store(&mut self, dev: &Device, parser: Parser, mut data: SmartData) {
        if !dev.device_type.is_empty() {
            data.disk_type = dev.device_type.clone();
        }
        if let Some(d) = self.devices.iter_mut().find(|d| d.same(dev)) {
            d.parser = Some(parser);
        }
        let key = dev.key();
        let serial = data.serial_number.clone();
        self.data.retain(|s, (k, _)| *k != key || *s == serial);
        self.data.insert(serial, (key, data));
    }

    /// The controller answered through its namespace: the namespace takes its place.
    fn substitute(&mut self, controller: &Device, namespace: &str) {
        self.namespaces
            .insert(controller.name.clone(), namespace.to_string());
        let replacement = Device {
            name: namespace.to_string(),
            ..controller.clone()
        };
        if self.devices.iter().any(|d| d.same(&replacement)) {
            self.devices.retain(|d| !d.same(controller));
        } else if let Some(d) = self.devices.iter_mut().find(|d| d.same(controller)) {
            d.name = namespace.to_string();
        }
    }
}

/// GetSmartData's answer: the map for key 5 and whether the refresh behind it read every
/// device (key 8 `SmartComplete`, spec v0.18 §4).
#[derive(Debug, Clone, PartialEq)]
pub struct SmartAnswer {
    pub data: Value,
    pub complete: bool,
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

/// One smartctl call: what it gave, and whether it failed (did not finish in time, or exited
/// non-zero) — what Beszel's NVMe fallback looks at.
struct Query {
    outcome: DeviceOutcome,
    failed: bool,
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

    /// The answer for `GetSmartData` (key 5 only): see `answer_and_refresh`.
    pub fn data_and_refresh(&self) -> Value {
        self.answer_and_refresh().data
    }

    /// The answer for `GetSmartData`: the first call waits for a refresh; later calls return what
    /// is in memory at once, with the completeness of the refresh that produced it, and start a
    /// refresh in the background (none if one is running).
    pub fn answer_and_refresh(&self) -> SmartAnswer {
        if !lock(&self.shared.state).refreshed {
            self.refresh();
        } else {
            self.refresh_in_background();
        }
        self.answer()
    }

    /// Starts a refresh on the monitor's own thread, unless one is running.
    fn refresh_in_background(&self) {
        if let Ok(guard) = self.shared.refreshing.try_lock() {
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
    }

    /// Starts a background refresh when none has finished within `max_age` (never waits): for
    /// readers that do not come through GetSmartData (Prometheus).
    pub fn refresh_if_older(&self, max_age: Duration) {
        if !self.available() {
            return;
        }
        let stale = lock(&self.shared.state)
            .refreshed_at
            .is_none_or(|at| at.elapsed() >= max_age);
        if stale {
            self.refresh_in_background();
        }
    }

    /// The disks in memory (smartctl's last readings) and the eMMC devices sysfs shows now,
    /// EXCLUDE_SMART applied; md arrays are left out (they have no S.M.A.R.T. attributes).
    pub fn disks(&self) -> Vec<SmartData> {
        let config = &self.shared.config;
        if config.disabled() {
            return Vec::new();
        }
        let mut out: Vec<SmartData> = lock(&self.shared.state)
            .data
            .values()
            .map(|(_, d)| d.clone())
            .collect();
        if let Some(roots) = &config.emmc_roots {
            out.extend(
                emmc::read_devices(roots)
                    .into_iter()
                    .map(|(_, d)| d)
                    .filter(|d| !config.excluded(&d.disk_name)),
            );
        }
        out
    }

    /// What is in memory: `data()` and the last refresh's completeness.
    pub fn answer(&self) -> SmartAnswer {
        let complete = lock(&self.shared.state).complete;
        SmartAnswer {
            data: self.data(),
            complete: complete && !self.shared.config.disabled(),
        }
    }

    /// The cached map serial → SmartData, then eMMC (serial, else "/dev/mmcblkN") and md arrays
    /// ("mdraid:mdN"), both read now (a few sysfs files each) and left out when EXCLUDE_SMART
    /// names their device. Empty when SMART_DEVICES disables SMART.
    pub fn data(&self) -> Value {
        let config = &self.shared.config;
        if config.disabled() {
            return Value::Map(Vec::new());
        }
        let state = lock(&self.shared.state);
        let mut map = smart_map_value(state.data.iter().map(|(k, (_, d))| (k.as_str(), d)));
        drop(state);
        let Value::Map(entries) = &mut map else {
            return map;
        };
        if let Some(roots) = &config.emmc_roots {
            for (key, data) in emmc::read_devices(roots) {
                if !config.excluded(&data.disk_name) {
                    entries.push((Key::Text(key), data.to_value()));
                }
            }
        }
        if let Some(roots) = &config.mdraid_roots {
            for array in crate::collect::mdraid::scan(roots) {
                if !config.excluded(&format!("/dev/{}", array.name)) {
                    entries.push((Key::Text(array.key()), array.to_value()));
                }
            }
        }
        map
    }

    /// eMMC devices and md arrays sysfs shows (EXCLUDE_SMART applied), and how many of them
    /// could not be read.
    fn sysfs_devices(&self) -> (usize, usize) {
        let config = &self.shared.config;
        let mut found = 0;
        let mut unreadable = 0;
        if let Some(roots) = &config.emmc_roots {
            for name in emmc::candidates(roots) {
                if !config.excluded(&format!("/dev/{name}")) {
                    found += 1;
                    if emmc::read(roots, &name).is_none() {
                        unreadable += 1;
                    }
                }
            }
        }
        if let Some(roots) = &config.mdraid_roots {
            found += crate::collect::mdraid::scan(roots)
                .iter()
                .filter(|a| !config.excluded(&format!("/dev/{}", a.name)))
                .count();
        }
        (found, unreadable)
    }

    /// Complete (§5.1) = the scan did not fail (a scan skipped within its 30 minutes counts as
    /// done) and every device was read — a disk asleep counts when its data is in memory.
    fn refresh_locked(&self) {
        if self.shared.config.disabled() {
            let mut state = lock(&self.shared.state);
            state.refreshed = true;
            state.complete = false;
            return;
        }
        let (sysfs_found, sysfs_unreadable) = self.sysfs_devices();
        let scanned_ok = self.scan_if_due(sysfs_found);
        let mut all_read = sysfs_unreadable == 0;
        for dev in self.devices() {
            all_read &= self.collect(&dev);
        }
        let mut state = lock(&self.shared.state);
        state.refreshed = true;
        state.refreshed_at = Some(Instant::now());
        state.complete = scanned_ok && all_read;
    }

    /// Reads one device into the cache; whether it counts as collected.
    fn collect(&self, dev: &Device) -> bool {
        let cached = lock(&self.shared.state).has_data_for(dev);
        let first = self.query(dev);
        match first.outcome {
            DeviceOutcome::Data(parser, data) => {
                lock(&self.shared.state).store(dev, parser, *data);
                return true;
            }
            // asleep and left so (or not openable): what is cached for it stands
            DeviceOutcome::Standby if cached => return true,
            _ => {}
        }
        if !first.failed {
            return false;
        }
        let Some(namespace) = nvme_namespace(&dev.name) else {
            return false;
        };
        if self.shared.config.excluded(&namespace) {
            return false;
        }
        let ns_dev = Device {
            name: namespace.clone(),
            ..dev.clone()
        };
        match self.query(&ns_dev).outcome {
            DeviceOutcome::Data(parser, data) => {
                let mut state = lock(&self.shared.state);
                state.substitute(dev, &namespace);
                state.store(&ns_dev, parser, *data);
                true
            }
            _ => false,
        }
    }

    fn query(&self, dev: &Device) -> Query {
        let Some(smartctl) = &self.shared.smartctl else {
            return Query {
                outcome: DeviceOutcome::NoData,
                failed: true,
            };
        };
        match run_with_timeout(smartctl, &device_args(dev), self.shared.config.call_timeout) {
            Some(Finished { code, stdout }) => Query {
                outcome: interpret(code, &stdout, dev.parser),
                failed: code != Some(0),
            },
            None => Query {
                outcome: DeviceOutcome::TimedOut,
                failed: true,
            },
        }
    }

    /// Rescans when due; whether the scan went well (§5.1): it fails when SMART_DEVICES is
    /// invalid or no device at all is left, counting the `sysfs` ones (eMMC, md arrays).
    fn scan_if_due(&self, sysfs: usize) -> bool {
        let config = &self.shared.config;
        {
            let state = lock(&self.shared.state);
            if state
                .last_scan
                .is_some_and(|t| t.elapsed() < config.scan_interval)
            {
                return true;
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
        // an NVMe controller read through its namespace is listed as that namespace
        let namespaces = &state.namespaces;
        let substituted = |list: Vec<Device>| -> Vec<Device> {
            list.into_iter()
                .map(|mut dev| {
                    if let Some(namespace) = namespaces.get(&dev.name) {
                        dev.name = namespace.clone();
                    }
                    dev
                })
                .collect()
        };
        let (scanned, configured) = (substituted(scanned), substituted(configured));
        let mut devices = merge_devices(&state.devices, &scanned, &configured);
        devices.retain(|d| !config.excluded(&d.name));
        // Disks that went away take their cached data with them.
        state
            .data
            .retain(|_, (key, _)| devices.iter().any(|d| d.key() == *key));
        let found = devices.len() + sysfs;
        state.devices = devices;
        !config.configured_invalid() && found > 0
    }
}
