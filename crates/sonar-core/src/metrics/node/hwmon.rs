//! node_exporter's `hwmon` collector: every sensor type it reads (temperatures
//! `node_hwmon_temp_celsius{chip,sensor}` and their limits, fans `node_hwmon_fan_rpm`, voltages,
//! currents, power, energy, humidity…) with its names, units and help texts, plus
//! `node_hwmon_chip_names` and `node_hwmon_sensor_label`,
//! with node_exporter's chip names: the device's bus and name (`platform_coretemp_0`,
//! `pci0000:00_0000:00:18_3`), else the `name` file, else the hwmonN directory.

use super::kept_files::KeptFiles;
use crate::metrics::MetricSet;
use std::collections::BTreeMap;
use std::path::Path;

/// The sensor types node_exporter reads (its `hwmonSensorTypes`).
const SENSOR_TYPES: [&str; 13] = [
    "vrm",
    "beep_enable",
    "update_interval",
    "in",
    "cpu",
    "fan",
    "pwm",
    "temp",
    "curr",
    "power",
    "energy",
    "humidity",
    "intrusion",
];

/// node_exporter's `explodeSensorFilename` (`^([^0-9]+)([0-9]*)?(_(.+))?$`): "temp1_crit_alarm"
/// → ("temp", 1, "crit_alarm"), "update_interval" → ("update_interval", 0, "").
fn explode(file: &str) -> Option<(&str, u64, &str)> {
    let digits_at = file
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(file.len());
    let (kind, rest) = file.split_at(digits_at);
    if kind.is_empty() {
        return None;
    }
    let digits_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (number, tail) = rest.split_at(digits_end);
    let number = if number.is_empty() {
        0
    } else {
        number.parse().ok()?
    };
    if digits_at == file.len() {
        // no digits: the type may itself contain `_` (beep_enable, update_interval)
        return Some((kind, 0, ""));
    }
    let property = match tail.strip_prefix('_') {
        Some(p) if !p.is_empty() => p,
        None if tail.is_empty() => "",
        _ => return None,
    };
    Some((kind, number, property))
}

/// sensor ("temp1") → property ("input", "crit", "label", "" for a bare file) → raw text.
type SensorData = BTreeMap<String, BTreeMap<String, String>>;

/// node_exporter's `collectSensorData`: the files of one directory that name a sensor.
fn collect_sensor_data(files: &mut KeptFiles, dir: &Path, data: &mut SensorData) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some((kind, number, property)) = name.to_str().and_then(explode) else {
            continue;
        };
        if !SENSOR_TYPES.contains(&kind) {
            continue;
        }
        let Some(text) = files.attribute(&entry.path()) else {
            continue;
        };
        data.entry(format!("{kind}{number}"))
            .or_default()
            .insert(property.to_string(), text);
    }
}

/// The type part of a sensor key ("temp1" → "temp", "beep_enable0" → "beep_enable").
fn sensor_type(sensor: &str) -> &str {
    sensor.trim_end_matches(|c: char| c.is_ascii_digit())
}

pub(super) fn families(sys: &Path, files: &mut KeptFiles, set: &mut MetricSet) {
    for dir in files.sorted_matches(&sys.join("class/hwmon"), "*") {
        let Some(chip) = chip_name(files, &dir) else {
            continue;
        };
        // node_exporter merges the hwmon directory with its `device` directory (older drivers
        // put their sensors there)
        let mut data = SensorData::new();
        collect_sensor_data(files, &dir, &mut data);
        collect_sensor_data(files, &dir.join("device"), &mut data);
        if let Some(name) = files.attribute(&dir.join("name")).map(|n| clean(&n)) {
            if !name.is_empty() {
                set.gauge(
                    "node_hwmon_chip_names",
                    "Annotation metric for human-readable chip names",
                )
                .push(vec![("chip", chip.clone()), ("chip_name", name)], 1.0);
            }
        }
        for (sensor, properties) in &data {
            sensor_families(&chip, sensor, properties, set);
        }
    }
}

/// One sensor's families, with node_exporter's names and units per sensor type.
fn sensor_families(
    chip: &str,
    sensor: &str,
    properties: &BTreeMap<String, String>,
    set: &mut MetricSet,
) {
    let labels = || vec![("chip", chip.to_string()), ("sensor", sensor.to_string())];
    let kind = sensor_type(sensor);
    if let Some(label) = properties.get("label") {
        set.gauge("node_hwmon_sensor_label", "Label for given chip and sensor")
            .push(
                vec![
                    ("chip", chip.to_string()),
                    ("label", label.clone()),
                    ("sensor", sensor.to_string()),
                ],
                1.0,
            );
    }
    let bare = properties.get("");
    let bare_value = || bare.and_then(|v| v.parse::<f64>().ok());
    match kind {
        "beep_enable" => {
            let on = bare.is_some_and(|v| v == "1");
            set.gauge("node_hwmon_beep_enabled", "Hardware beep enabled")
                .push(labels(), if on { 1.0 } else { 0.0 });
            return;
        }
        "vrm" => {
            if let Some(v) = bare_value() {
                set.gauge(
                    "node_hwmon_voltage_regulator_version",
                    "Hardware voltage regulator",
                )
                .push(labels(), v);
            }
            return;
        }
        "update_interval" => {
            if let Some(v) = bare_value() {
                set.gauge(
                    "node_hwmon_update_interval_seconds",
                    "Hardware monitor update interval",
                )
                .push(labels(), v / 1000.0);
            }
            return;
        }
        _ => {}
    }
    for (element, text) in properties {
        if element == "label" {
            continue;
        }
        let Ok(v) = text.parse::<f64>() else {
            continue;
        };
        let mut name = format!("node_hwmon_{kind}");
        if element == "input" {
            // input is the value itself, unless a bare file already is
            if bare.is_some() {
                name.push_str("_input");
            }
        } else if !element.is_empty() {
            name.push('_');
            name.push_str(&clean(element));
        }
        let mut counter = false;
        let (suffix, help, value) = match (kind, element.as_str()) {
            (_, "fault" | "alarm") => ("", format!("Hardware sensor {element} status ({kind})"), v),
            (_, "beep") => (
                "_enabled",
                "Hardware monitor sensor has beeping enabled".to_string(),
                v,
            ),
            ("in" | "cpu", _) => (
                "_volts",
                format!("Hardware monitor for voltage ({element})"),
                v / 1000.0,
            ),
            ("temp", e) if e != "type" => {
                let element = if e.is_empty() { "input" } else { e };
                (
                    "_celsius",
                    format!("Hardware monitor for temperature ({element})"),
                    v / 1000.0,
                )
            }
            ("curr", _) => (
                "_amps",
                format!("Hardware monitor for current ({element})"),
                v / 1000.0,
            ),
            ("energy", _) => {
                counter = true;
                (
                    "_joule_total",
                    format!("Hardware monitor for joules used so far ({element})"),
                    v / 1e6,
                )
            }
            ("power", "accuracy") => (
                "",
                "Hardware monitor power meter accuracy, as a ratio".to_string(),
                v / 1e6,
            ),
            ("power", "average_interval" | "average_interval_min" | "average_interval_max") => (
                "_seconds",
                format!("Hardware monitor power usage update interval ({element})"),
                v / 1000.0,
            ),
            ("power", _) => (
                "_watt",
                format!("Hardware monitor for power usage in watts ({element})"),
                v / 1e6,
            ),
            ("humidity", _) => (
                "",
                format!(
                    "Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the \
                     humidity as a percentage) ({element})"
                ),
                v / 1e6,
            ),
            ("fan", "input" | "min" | "max" | "target") => (
                "_rpm",
                format!("Hardware monitor for fan revolutions per minute ({element})"),
                v,
            ),
            _ => ("", format!("Hardware monitor {kind} element {element}"), v),
        };
        name.push_str(suffix);
        let family = if counter {
            set.counter(&name, &help)
        } else {
            set.gauge(&name, &help)
        };
        family.push(labels(), value);
    }
}

/// node_exporter's `hwmonName`: `<bus>_<device>` from where `device` links to (stable across
/// reboots, unlike hwmonN), else the `name` file, else the hwmonN directory's own name; each
/// lower-cased with every character outside `[a-z0-9:_]` turned into `_`, `_` trimmed.
pub(super) fn chip_name(files: &mut KeptFiles, dir: &Path) -> Option<String> {
    if let Ok(device) = std::fs::canonicalize(dir.join("device")) {
        let name = device.file_name().map(|n| clean(&n.to_string_lossy()));
        let bus = device
            .parent()
            .and_then(Path::file_name)
            .map(|n| clean(&n.to_string_lossy()));
        match (bus, name) {
            (Some(bus), Some(name)) if !bus.is_empty() && !name.is_empty() => {
                return Some(format!("{bus}_{name}"))
            }
            (_, Some(name)) if !name.is_empty() => return Some(name),
            _ => {}
        }
    }
    if let Some(name) = files.attribute(&dir.join("name")).map(|n| clean(&n)) {
        if !name.is_empty() {
            return Some(name);
        }
    }
    let real = std::fs::canonicalize(dir).ok()?;
    let name = clean(&real.file_name()?.to_string_lossy());
    (!name.is_empty()).then_some(name)
}

fn clean(name: &str) -> String {
    let replaced: String = name
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | ':' | '_' => c,
            _ => '_',
        })
        .collect();
    replaced.trim_matches('_').to_string()
}

#[cfg(test)]
mod tests {
    use super::explode;

    #[test]
    fn sensor_files_are_split_as_node_exporter_splits_them() {
        assert_eq!(explode("temp1_input"), Some(("temp", 1, "input")));
        assert_eq!(explode("temp1_crit_alarm"), Some(("temp", 1, "crit_alarm")));
        assert_eq!(explode("temp01_max"), Some(("temp", 1, "max")));
        assert_eq!(explode("pwm2"), Some(("pwm", 2, "")));
        assert_eq!(explode("beep_enable"), Some(("beep_enable", 0, "")));
        assert_eq!(explode("update_interval"), Some(("update_interval", 0, "")));
        assert_eq!(explode("name"), Some(("name", 0, "")));
        assert_eq!(explode("12"), None);
        assert_eq!(explode("fan1x"), None);
    }
}
