//! Temperatures from hwmon / thermal zones with gopsutil's naming (spec §3.4).
//!
//! Discovery follows gopsutil v4.25.10 `sensors_linux.go` so hub charts keep their series names:
//! - `class/hwmon/hwmon*/temp*_input`, else `class/hwmon/hwmon*/device/temp*_input`, in Go glob
//!   order (each directory level sorted by name, so hwmon10 comes before hwmon2);
//! - key = trimmed `name` of the input's directory, plus `_` + label when `tempN_label` is
//!   non-empty (lowercased, trimmed, spaces → `_`); an input whose directory has no readable
//!   `name` is dropped; value = `tempN_input` parsed as a float / 1000;
//! - only when neither glob finds an input: `class/thermal/thermal_zone*`, key = trimmed `type`,
//!   value = `temp` parsed as an integer / 1000.
//!
//! Then Beszel's processing (`agent/sensors.go`): fractional scaling, the 0 < t < 200 window,
//! `_<i>` suffixes for duplicate keys, the SENSORS filter on the final name, two decimals.
//!
//! The list of inputs and their keys is cached; it is rebuilt every minute, and at once when an
//! input that used to read fine fails (hwmon devices renumber when a driver is reloaded).

use super::hwmon::{attribute_base, sorted_matches};
use crate::filter::NameFilter;
use crate::roots::read_text;
use crate::settings::{SensorSelection, Settings};
use crate::units::two_decimals;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Temperatures {
    /// name → °C (2 dp), in discovery order, after the SENSORS filter.
    pub readings: Vec<(String, f64)>,
    /// Unrounded. With PRIMARY_SENSOR set: that sensor's value, or 0 when no reading has that
    /// name (as in Beszel, so the caller can fall back to a GPU, which PRIMARY_SENSOR may name).
    /// Without it: the highest accepted reading, 0 if none.
    pub dashboard: f64,
}

/// How long a discovered list of inputs is used before it is rebuilt.
pub const REDISCOVER_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InputKind {
    /// hwmon `temp*_input`: millidegrees, parsed as a float.
    Hwmon,
    /// thermal zone `temp`: millidegrees, parsed as an integer.
    ThermalZone,
}

#[derive(Debug, Clone)]
struct Input {
    key: String,
    path: PathBuf,
    kind: InputKind,
    /// Failed to read right after a discovery: a broken sensor, not a changed tree, so its
    /// failures do not trigger another discovery.
    broken: bool,
}

pub struct SensorCollector {
    sys: PathBuf,
    selection: SensorSelection,
    primary: Option<String>,
    inputs: Vec<Input>,
    discovered_at: Option<Instant>,
}

impl SensorCollector {
    pub fn new(settings: &Settings) -> Self {
        SensorCollector {
            sys: settings.sensors_sys.clone(),
            selection: settings.sensors.clone(),
            primary: settings.primary_sensor.clone(),
            inputs: Vec::new(),
            discovered_at: None,
        }
    }

    pub fn sample(&mut self) -> Temperatures {
        self.sample_at(Instant::now())
    }

    /// `sample` with an explicit clock, for the rediscovery schedule.
    pub fn sample_at(&mut self, now: Instant) -> Temperatures {
        if self.selection == SensorSelection::Disabled {
            return Temperatures::default();
        }
        let due = self
            .discovered_at
            .is_none_or(|at| now.saturating_duration_since(at) >= REDISCOVER_EVERY);
        if due {
            self.discover(now);
        }
        let mut raw = self.read_inputs(due);
        if raw.is_none() {
            // A sensor that used to read failed: the tree changed. Rediscover and read again.
            self.discover(now);
            raw = self.read_inputs(true);
        }
        process(
            &raw.unwrap_or_default(),
            &self.selection,
            self.primary.as_deref(),
        )
    }

    fn discover(&mut self, now: Instant) {
        self.inputs = discover_inputs(&self.sys);
        self.discovered_at = Some(now);
    }

    /// Reads every input: (key, °C) for those that read, in list order (gopsutil's list, whose
    /// indexes the duplicate suffixes use). `None` when a previously good input failed and the
    /// list was not just discovered.
    fn read_inputs(&mut self, fresh: bool) -> Option<Vec<(String, f64)>> {
        let mut out = Vec::with_capacity(self.inputs.len());
        for input in &mut self.inputs {
            match read_input(&input.path, input.kind) {
                Some(celsius) => out.push((input.key.clone(), celsius)),
                None if fresh => input.broken = true,
                None if input.broken => {}
                None => return None,
            }
        }
        Some(out)
    }
}

fn read_input(path: &Path, kind: InputKind) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    let text = text.trim();
    let milli = match kind {
        InputKind::Hwmon => text.parse::<f64>().ok()?,
        InputKind::ThermalZone => text.parse::<i64>().ok()? as f64,
    };
    Some(milli / 1000.0)
}

/// Beszel's `updateTemperatures` over gopsutil's list.
fn process(
    raw: &[(String, f64)],
    selection: &SensorSelection,
    primary: Option<&str>,
) -> Temperatures {
    let mut readings: Vec<(String, f64)> = Vec::with_capacity(raw.len());
    let mut dashboard: f64 = 0.0;
    for (i, (key, value)) in raw.iter().enumerate() {
        let mut t = *value;
        if t != 0.0 && t < 1.0 {
            t = scale_fraction(t);
        }
        // Written so that NaN is rejected too (Go would pass it through).
        if !(t > 0.0 && t < 200.0) {
            continue;
        }
        let name = if readings.iter().any(|(n, _)| n == key) {
            format!("{key}_{i}")
        } else {
            key.clone()
        };
        if !sensor_allowed(selection, &name) {
            continue;
        }
        match primary {
            None => dashboard = dashboard.max(t),
            Some(p) if p == name => dashboard = t,
            Some(_) => {}
        }
        // A Go map: a suffixed name that collides with an existing one overwrites it.
        let value = two_decimals(t);
        match readings.iter_mut().find(|(n, _)| *n == name) {
            Some(existing) => existing.1 = value,
            None => readings.push((name, value)),
        }
    }
    Temperatures {
        readings,
        dashboard,
    }
}

/// Some drivers report fractions of 100 °C or of 1000 °C; pick the scale that lands in a
/// plausible 15–95 °C, else assume hundreds (Beszel `scaleTemperature`).
fn scale_fraction(t: f64) -> f64 {
    if t > 1.0 {
        return t;
    }
    let by_100 = t * 100.0;
    let by_1000 = t * 1000.0;
    if (15.0..=95.0).contains(&by_100) {
        by_100
    } else if (15.0..=95.0).contains(&by_1000) {
        by_1000
    } else {
        by_100
    }
}

/// SENSORS: unlike NICS, a list with no entries (e.g. "-" or ",") lets everything through.
fn sensor_allowed(selection: &SensorSelection, name: &str) -> bool {
    match selection {
        SensorSelection::All => true,
        SensorSelection::Disabled => false,
        SensorSelection::Filter(filter) => is_empty_filter(filter) || filter.allows(name),
    }
}

fn is_empty_filter(filter: &NameFilter) -> bool {
    *filter == NameFilter::parse("") || *filter == NameFilter::parse("-")
}

/// (source, key) of every input discovery finds under `sys`; the source is "hwmon" or
/// "thermal_zone". For the probe.
pub(crate) fn discovered_inputs(sys: &Path) -> Vec<(&'static str, String)> {
    discover_inputs(sys)
        .into_iter()
        .map(|input| match input.kind {
            InputKind::Hwmon => ("hwmon", input.key),
            InputKind::ThermalZone => ("thermal_zone", input.key),
        })
        .collect()
}

/// gopsutil's discovery (see the module comment).
fn discover_inputs(sys: &Path) -> Vec<Input> {
    let hwmon_root = sys.join("class/hwmon");
    let mut files = hwmon_input_files(&hwmon_root, false);
    if files.is_empty() {
        files = hwmon_input_files(&hwmon_root, true);
    }
    if !files.is_empty() {
        return files.iter().filter_map(|f| hwmon_input(f)).collect();
    }
    let thermal_root = sys.join("class/thermal");
    sorted_matches(&thermal_root, "thermal_zone*")
        .into_iter()
        .filter_map(|zone| {
            let key = read_text(&zone.join("type"))?.trim().to_string();
            Some(Input {
                key,
                path: zone.join("temp"),
                kind: InputKind::ThermalZone,
                broken: false,
            })
        })
        .collect()
}

/// Go `filepath.Glob("<root>/hwmon*/temp*_input")` (or `…/hwmon*/device/temp*_input`).
fn hwmon_input_files(hwmon_root: &Path, via_device: bool) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for hwmon in sorted_matches(hwmon_root, "hwmon*") {
        let dir = if via_device {
            hwmon.join("device")
        } else {
            hwmon
        };
        files.extend(sorted_matches(&dir, "temp*_input"));
    }
    files
}

fn hwmon_input(file: &Path) -> Option<Input> {
    let dir = file.parent()?;
    let base = attribute_base(file)?;
    let label = read_text(&dir.join(format!("{base}_label")))
        .map(|raw| raw.to_lowercase().trim().replace(' ', "_"))
        .unwrap_or_default();
    let name = read_text(&dir.join("name"))?.trim().to_string();
    let key = if label.is_empty() {
        name
    } else {
        format!("{name}_{label}")
    };
    Some(Input {
        key,
        path: file.to_path_buf(),
        kind: InputKind::Hwmon,
        broken: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_rule() {
        assert_eq!(scale_fraction(0.45), 45.0);
        assert_eq!(scale_fraction(0.05), 50.0);
        assert_eq!(scale_fraction(0.001), 0.1);
        assert!((scale_fraction(0.99) - 99.0).abs() < 1e-9);
    }

    #[test]
    fn processing_window_and_duplicates() {
        let raw = vec![
            ("a".to_string(), 40.0),
            ("a".to_string(), 0.0),
            ("a".to_string(), 41.0),
            ("b".to_string(), 250.0),
            ("a".to_string(), 42.0),
        ];
        let t = process(&raw, &SensorSelection::All, None);
        assert_eq!(
            t.readings,
            vec![
                ("a".to_string(), 40.0),
                ("a_2".to_string(), 41.0),
                ("a_4".to_string(), 42.0)
            ]
        );
        assert_eq!(t.dashboard, 42.0);
    }
}
