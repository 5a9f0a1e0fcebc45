//! `sonar_gpu_*`: every GPU's last reading (NVIDIA, AMD, Intel), labelled by the collector's id
//! and the card's name. Readings a card does not give (0 memory total, 0 °C, 0 W) have no series.

use super::{Family, MetricSet, MetricType};
use crate::collect::gpu::Reading;

pub fn families(readings: &[Reading], set: &mut MetricSet) {
    use MetricType::Gauge;
    let mut usage = Family::new(
        "sonar_gpu_utilization_percent",
        Gauge,
        "GPU busy percent at the last poll (Intel: the busiest engine class).",
    );
    let mut engines = Family::new(
        "sonar_gpu_engine_utilization_percent",
        Gauge,
        "Busy percent of each engine class at the last poll (Intel).",
    );
    let mut used = Family::new(
        "sonar_gpu_memory_used_bytes",
        Gauge,
        "GPU memory in use, bytes.",
    );
    let mut total = Family::new(
        "sonar_gpu_memory_total_bytes",
        Gauge,
        "GPU memory in all, bytes.",
    );
    let mut power = Family::new(
        "sonar_gpu_power_watts",
        Gauge,
        "GPU power draw at the last poll, watts.",
    );
    let mut package = Family::new(
        "sonar_gpu_package_power_watts",
        Gauge,
        "Package power draw at the last poll (Intel), watts.",
    );
    let mut temperature = Family::new(
        "sonar_gpu_temperature_celsius",
        Gauge,
        "GPU temperature, degrees Celsius.",
    );
    for r in readings {
        let labels = || vec![("gpu", r.id.clone()), ("name", r.name.clone())];
        let usage_value = if r.usage_from_engines {
            r.engines.iter().map(|(_, v)| *v).fold(0.0, f64::max)
        } else {
            r.usage
        };
        usage.push(labels(), usage_value);
        for (engine, busy) in &r.engines {
            let mut l = labels();
            l.push(("engine", engine.clone()));
            engines.push(l, *busy);
        }
        if r.memory_total > 0.0 {
            used.push(labels(), r.memory_bytes(r.memory_used));
            total.push(labels(), r.memory_bytes(r.memory_total));
        }
        if r.power > 0.0 {
            power.push(labels(), r.power);
        }
        if r.power_pkg > 0.0 {
            package.push(labels(), r.power_pkg);
        }
        if r.temperature > 0.0 {
            temperature.push(labels(), r.temperature);
        }
    }
    for family in [usage, engines, used, total, power, package, temperature] {
        set.add(family);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(set: &MetricSet, name: &str) -> Vec<f64> {
        set.families
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.samples.iter().map(|s| s.value).collect())
            .unwrap_or_default()
    }

    /// NVIDIA readings are in Beszel's "MB" (MiB/1.024): bytes must undo that, not treat them as MiB.
    #[test]
    fn nvidia_memory_in_bytes() {
        let nvidia = Reading {
            id: "0".into(),
            name: "H200".into(),
            memory_used: 1000.0,
            memory_total: 2000.0,
            memory_in_nvidia_mb: true,
            usage: 37.0,
            power: 120.5,
            temperature: 41.0,
            ..Reading::default()
        };
        let amd = Reading {
            id: "card0".into(),
            name: "Radeon".into(),
            memory_used: 1024.0,
            memory_total: 4096.0,
            ..Reading::default()
        };
        let mut set = MetricSet::default();
        families(&[nvidia, amd], &mut set);
        assert_eq!(
            series(&set, "sonar_gpu_memory_used_bytes"),
            vec![1024.0 * 1_048_576.0, 1024.0 * 1_048_576.0]
        );
        assert_eq!(
            series(&set, "sonar_gpu_utilization_percent"),
            vec![37.0, 0.0]
        );
        // the AMD card gave no power or temperature: no series, not a 0
        assert_eq!(series(&set, "sonar_gpu_power_watts"), vec![120.5]);
        assert_eq!(series(&set, "sonar_gpu_temperature_celsius"), vec![41.0]);
    }

    #[test]
    fn intel_usage_is_the_busiest_engine() {
        let intel = Reading {
            id: "i0".into(),
            name: "GPU".into(),
            engines: vec![("Render/3D".into(), 12.0), ("Video".into(), 55.0)],
            usage_from_engines: true,
            ..Reading::default()
        };
        let mut set = MetricSet::default();
        families(&[intel], &mut set);
        assert_eq!(series(&set, "sonar_gpu_utilization_percent"), vec![55.0]);
        assert_eq!(
            series(&set, "sonar_gpu_engine_utilization_percent"),
            vec![12.0, 55.0]
        );
    }
}
