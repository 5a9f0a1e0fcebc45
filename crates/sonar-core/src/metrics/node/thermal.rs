//! node_exporter's `thermal_zone` collector: `node_thermal_zone_temp{zone,type}` and the
//! cooling devices' throttle states (`node_cooling_device_cur_state`, `_max_state`) from
//! /sys/class/thermal.

use super::kept_files::KeptFiles;
use crate::metrics::MetricSet;
use std::path::Path;

pub(super) fn families(sys: &Path, files: &mut KeptFiles, set: &mut MetricSet) {
    let thermal = sys.join("class/thermal");
    let name_after = |dir: &Path, prefix: &str| {
        dir.file_name()?
            .to_str()?
            .strip_prefix(prefix)
            .map(str::to_string)
    };
    // one listing for both kinds (each a directory read per scrape otherwise)
    let entries = files.sorted_matches(&thermal, "*");
    let named = |prefix: &'static str| {
        entries.iter().filter(move |p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
    };
    for zone in named("thermal_zone") {
        let (Some(name), Some(kind), Some(millidegrees)) = (
            name_after(zone, "thermal_zone"),
            files.attribute(&zone.join("type")),
            number(files, zone, "temp"),
        ) else {
            continue;
        };
        set.gauge("node_thermal_zone_temp", "Zone temperature in Celsius")
            .push(
                vec![("type", kind), ("zone", name)],
                millidegrees as f64 / 1000.0,
            );
    }
    for device in named("cooling_device") {
        let (Some(name), Some(kind)) = (
            name_after(device, "cooling_device"),
            files.attribute(&device.join("type")),
        ) else {
            continue;
        };
        let labels = || vec![("name", name.clone()), ("type", kind.clone())];
        if let Some(state) = number(files, device, "cur_state") {
            set.gauge(
                "node_cooling_device_cur_state",
                "Current throttle state of the cooling device",
            )
            .push(labels(), state as f64);
        }
        if let Some(state) = number(files, device, "max_state") {
            set.gauge(
                "node_cooling_device_max_state",
                "Maximum throttle state of the cooling device",
            )
            .push(labels(), state as f64);
        }
    }
}

fn number(files: &mut KeptFiles, dir: &Path, file: &str) -> Option<i64> {
    files.attribute(&dir.join(file))?.parse().ok()
}
