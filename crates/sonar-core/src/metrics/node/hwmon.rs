//! node_exporter's `hwmon` collector, for temperatures: `node_hwmon_temp_celsius{chip,sensor}`
//! (and `_crit_celsius`, `_max_celsius`), `node_hwmon_chip_names` and `node_hwmon_sensor_label`,
//! with node_exporter's chip names: the device's bus and name (`platform_coretemp_0`,
//! `pci0000:00_0000:00:18_3`), else the `name` file, else the hwmonN directory.

use crate::collect::hwmon::sorted_matches;
use crate::metrics::MetricSet;
use crate::roots::read_trimmed;
use std::collections::BTreeMap;
use std::path::Path;

pub(super) fn families(sys: &Path, set: &mut MetricSet) {
    for dir in sorted_matches(&sys.join("class/hwmon"), "*") {
        let Some(chip) = chip_name(&dir) else {
            continue;
        };
        if let Some(name) = read_trimmed(&dir.join("name")) {
            set.gauge(
                "node_hwmon_chip_names",
                "Annotation metric for human-readable chip names",
            )
            .push(vec![("chip", chip.clone()), ("chip_name", name)], 1.0);
        }
        // sensor (temp1) → attribute (input, crit, max, label) → raw text; node_exporter
        // merges the hwmon directory with its `device` directory (older drivers put them there)
        let mut sensors: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for at in [dir.clone(), dir.join("device")] {
            for file in sorted_matches(&at, "temp*_*") {
                let Some((sensor, attribute)) = file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.split_once('_'))
                else {
                    continue;
                };
                if !matches!(attribute, "input" | "crit" | "max" | "label") {
                    continue;
                }
                if let Some(text) = read_trimmed(&file) {
                    sensors
                        .entry(sensor.to_string())
                        .or_default()
                        .insert(attribute.to_string(), text);
                }
            }
        }
        for (sensor, attributes) in &sensors {
            let labels = || vec![("chip", chip.clone()), ("sensor", sensor.clone())];
            for (attribute, name, help) in [
                (
                    "input",
                    "node_hwmon_temp_celsius",
                    "Hardware monitor for temperature (input)",
                ),
                (
                    "crit",
                    "node_hwmon_temp_crit_celsius",
                    "Hardware monitor for temperature (crit)",
                ),
                (
                    "max",
                    "node_hwmon_temp_max_celsius",
                    "Hardware monitor for temperature (max)",
                ),
            ] {
                if let Some(millidegrees) = attributes
                    .get(attribute)
                    .and_then(|t| t.parse::<f64>().ok())
                {
                    set.gauge(name, help).push(labels(), millidegrees * 0.001);
                }
            }
            if let Some(label) = attributes.get("label") {
                set.gauge("node_hwmon_sensor_label", "Label for given chip and sensor")
                    .push(
                        vec![
                            ("chip", chip.clone()),
                            ("label", label.clone()),
                            ("sensor", sensor.clone()),
                        ],
                        1.0,
                    );
            }
        }
    }
}

/// node_exporter's `hwmonName`: `<bus>_<device>` from where `device` links to (stable across
/// reboots, unlike hwmonN), else the `name` file, else the hwmonN directory's own name; each
/// lower-cased with every character outside `[a-z0-9:_]` turned into `_`, `_` trimmed.
pub(super) fn chip_name(dir: &Path) -> Option<String> {
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
    if let Some(name) = read_trimmed(&dir.join("name")).map(|n| clean(&n)) {
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
