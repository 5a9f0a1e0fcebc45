//! node_exporter's `thermal_zone` collector: `node_thermal_zone_temp{zone,type}` and the
//! cooling devices' throttle states (`node_cooling_device_cur_state`, `_max_state`) from
//! /sys/class/thermal.

use super::read_attribute;
use crate::collect::hwmon::sorted_matches;
use crate::metrics::MetricSet;
use std::path::Path;

pub(super) fn families(sys: &Path, set: &mut MetricSet) {
    let thermal = sys.join("class/thermal");
    let number = |dir: &Path, file: &str| read_attribute(&dir.join(file))?.parse::<i64>().ok();
    let name_after = |dir: &Path, prefix: &str| {
        dir.file_name()?
            .to_str()?
            .strip_prefix(prefix)
            .map(str::to_string)
    };
    for zone in sorted_matches(&thermal, "thermal_zone*") {
        let (Some(name), Some(kind), Some(millidegrees)) = (
            name_after(&zone, "thermal_zone"),
            read_attribute(&zone.join("type")),
            number(&zone, "temp"),
        ) else {
            continue;
        };
        set.gauge("node_thermal_zone_temp", "Zone temperature in Celsius")
            .push(
                vec![("type", kind), ("zone", name)],
                millidegrees as f64 / 1000.0,
            );
    }
    for device in sorted_matches(&thermal, "cooling_device*") {
        let (Some(name), Some(kind)) = (
            name_after(&device, "cooling_device"),
            read_attribute(&device.join("type")),
        ) else {
            continue;
        };
        let labels = || vec![("name", name.clone()), ("type", kind.clone())];
        if let Some(state) = number(&device, "cur_state") {
            set.gauge(
                "node_cooling_device_cur_state",
                "Current throttle state of the cooling device",
            )
            .push(labels(), state as f64);
        }
        if let Some(state) = number(&device, "max_state") {
            set.gauge(
                "node_cooling_device_max_state",
                "Maximum throttle state of the cooling device",
            )
            .push(labels(), state as f64);
        }
    }
}
