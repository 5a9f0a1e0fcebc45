//! `sonar_smart_*`: each disk's last S.M.A.R.T. reading (smartctl, eMMC from sysfs), labelled by
//! its device path. What a disk does not report (0 °C, no status) has no series.

use super::{Family, MetricSet, MetricType};
use crate::collect::smart::SmartData;

pub fn families(disks: &[SmartData], set: &mut MetricSet) {
    use MetricType::Gauge;
    let mut info = Family::new(
        "sonar_smart_device_info",
        Gauge,
        "A disk S.M.A.R.T. data is read from; always 1.",
    );
    let mut passed = Family::new(
        "sonar_smart_status_passed",
        Gauge,
        "1 when the disk's overall S.M.A.R.T. self-assessment passed, 0 when it failed.",
    );
    let mut temperature = Family::new(
        "sonar_smart_temperature_celsius",
        Gauge,
        "Disk temperature reported by S.M.A.R.T., degrees Celsius.",
    );
    let mut capacity = Family::new("sonar_smart_capacity_bytes", Gauge, "Disk capacity, bytes.");
    let mut value = Family::new(
        "sonar_smart_attribute_value",
        Gauge,
        "Normalised value of a S.M.A.R.T. attribute (ATA; lower is worse).",
    );
    let mut worst = Family::new(
        "sonar_smart_attribute_worst",
        Gauge,
        "Worst normalised value a S.M.A.R.T. attribute has had (ATA).",
    );
    let mut threshold = Family::new(
        "sonar_smart_attribute_threshold",
        Gauge,
        "Failure threshold of a S.M.A.R.T. attribute's normalised value (ATA).",
    );
    let mut raw = Family::new(
        "sonar_smart_attribute_raw",
        Gauge,
        "Raw value of a S.M.A.R.T. attribute (ATA) or of an NVMe health log field.",
    );
    for d in disks {
        let device = || vec![("device", d.disk_name.clone())];
        info.push(
            vec![
                ("device", d.disk_name.clone()),
                ("firmware", d.firmware_version.clone()),
                ("model", d.model_name.clone()),
                ("serial", d.serial_number.clone()),
                ("type", d.disk_type.clone()),
            ],
            1.0,
        );
        match d.smart_status.trim().to_ascii_uppercase().as_str() {
            "PASSED" => passed.push(device(), 1.0),
            "FAILED" => passed.push(device(), 0.0),
            _ => {}
        }
        if d.temperature > 0 {
            temperature.push(device(), f64::from(d.temperature));
        }
        if d.capacity > 0 {
            capacity.push(device(), d.capacity as f64);
        }
        for a in &d.attributes {
            let labels = || {
                let id = if a.id > 0 {
                    a.id.to_string()
                } else {
                    String::new()
                };
                vec![
                    ("device", d.disk_name.clone()),
                    ("id", id),
                    ("name", a.name.clone()),
                ]
            };
            if a.id > 0 {
                value.push(labels(), f64::from(a.value));
                worst.push(labels(), f64::from(a.worst));
                threshold.push(labels(), f64::from(a.threshold));
            }
            raw.push(labels(), a.raw_value as f64);
        }
    }
    for family in [
        info,
        passed,
        temperature,
        capacity,
        value,
        worst,
        threshold,
        raw,
    ] {
        set.add(family);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::smart::SmartAttribute;

    #[test]
    fn ata_and_nvme_disks() {
        let ata = SmartData {
            model_name: "WDC WD40EFRX".into(),
            serial_number: "WD-1".into(),
            capacity: 4_000_787_030_016,
            smart_status: "PASSED".into(),
            disk_name: "/dev/sda".into(),
            disk_type: "sat".into(),
            temperature: 34,
            attributes: vec![SmartAttribute {
                id: 5,
                name: "Reallocated_Sector_Ct".into(),
                value: 200,
                worst: 200,
                threshold: 140,
                raw_value: 3,
                ..SmartAttribute::default()
            }],
            ..SmartData::default()
        };
        let nvme = SmartData {
            disk_name: "/dev/nvme0".into(),
            smart_status: "FAILED".into(),
            attributes: vec![SmartAttribute {
                name: "PercentageUsed".into(),
                raw_value: 7,
                ..SmartAttribute::default()
            }],
            ..SmartData::default()
        };
        let mut set = MetricSet::default();
        families(&[ata, nvme], &mut set);
        let get = |name: &str| {
            set.families
                .iter()
                .find(|f| f.name == name)
                .map(|f| f.samples.clone())
                .unwrap_or_default()
        };
        assert_eq!(
            get("sonar_smart_status_passed")
                .iter()
                .map(|s| s.value)
                .collect::<Vec<_>>(),
            vec![1.0, 0.0]
        );
        // the NVMe disk gave no temperature: no 0 °C series
        assert_eq!(get("sonar_smart_temperature_celsius").len(), 1);
        // NVMe health fields have no normalised value, only raw
        assert_eq!(get("sonar_smart_attribute_value").len(), 1);
        let raw = get("sonar_smart_attribute_raw");
        assert_eq!(raw.len(), 2);
        assert_eq!(raw[1].value, 7.0);
        assert!(raw[1]
            .labels
            .contains(&("name", "PercentageUsed".to_string())));
    }
}
