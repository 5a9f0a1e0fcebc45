//! Temperatures and fans: the inputs the collectors' own discovery finds under the sensors root
//! (SYS_SENSORS, else the sys root), one reading of them, and which names the SENSORS filter
//! lets through.

use super::{count, object, text_or_null, texts};
use crate::collect::fans::FanCollector;
use crate::collect::hwmon::sorted_matches;
use crate::collect::sensors::{discovered_inputs, SensorCollector};
use crate::settings::{SensorSelection, Settings};
use crate::value::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct SensorsProbe {
    pub root: String,
    /// "all" (SENSORS unset), "disabled" (SENSORS=""), "filter".
    pub selection: &'static str,
    pub hwmon: String,
    /// Why `hwmon` could not be listed (a missing folder is the usual case in VMs).
    pub hwmon_error: Option<String>,
    pub hwmon_chips: usize,
    pub thermal_zones: usize,
    /// "hwmon" or "thermal_zone": where discovery took the temperature inputs from.
    pub source: Option<&'static str>,
    pub inputs: usize,
    /// Inputs that gave a plausible reading (before SENSORS).
    pub readings: usize,
    /// The names reported after SENSORS.
    pub selected: Vec<String>,
    /// Fan inputs that read.
    pub fans: usize,
}

pub fn probe(settings: &Settings) -> SensorsProbe {
    let root = &settings.sensors_sys;
    let hwmon = root.join("class/hwmon");
    let hwmon_error = std::fs::read_dir(&hwmon).err().map(|e| e.to_string());
    let inputs = discovered_inputs(root);
    let everything = Settings {
        sensors: SensorSelection::All,
        ..settings.clone()
    };
    let readings = SensorCollector::new(&everything).sample().readings.len();
    let selected = SensorCollector::new(settings)
        .sample()
        .readings
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    SensorsProbe {
        root: root.display().to_string(),
        selection: match settings.sensors {
            SensorSelection::All => "all",
            SensorSelection::Disabled => "disabled",
            SensorSelection::Filter(_) => "filter",
        },
        hwmon: hwmon.display().to_string(),
        hwmon_error,
        hwmon_chips: sorted_matches(&hwmon, "hwmon*").len(),
        thermal_zones: sorted_matches(&root.join("class/thermal"), "thermal_zone*").len(),
        source: inputs.first().map(|(source, _)| *source),
        inputs: inputs.len(),
        readings,
        selected,
        fans: FanCollector::new(settings).sample().len(),
    }
}

impl SensorsProbe {
    pub fn to_value(&self) -> Value {
        object(vec![
            ("root", Value::Text(self.root.clone())),
            ("selection", Value::Text(self.selection.to_string())),
            ("hwmon", Value::Text(self.hwmon.clone())),
            ("hwmonError", text_or_null(self.hwmon_error.as_deref())),
            ("hwmonChips", count(self.hwmon_chips)),
            ("thermalZones", count(self.thermal_zones)),
            (
                "temperatures",
                object(vec![
                    ("source", text_or_null(self.source)),
                    ("inputs", count(self.inputs)),
                    ("readings", count(self.readings)),
                    ("selected", texts(&self.selected)),
                ]),
            ),
            ("fans", count(self.fans)),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::NameFilter;
    use std::path::Path;

    use crate::test_tree::write;

    fn settings(sys: &Path, sensors: SensorSelection) -> Settings {
        Settings {
            sensors_sys: sys.to_path_buf(),
            sensors,
            ..Settings::default()
        }
    }

    #[test]
    fn hwmon_inputs_readings_and_the_filter() {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path();
        write(sys, "class/hwmon/hwmon0/name", "coretemp\n");
        write(sys, "class/hwmon/hwmon0/temp1_input", "45000\n");
        write(sys, "class/hwmon/hwmon0/temp1_label", "Package id 0\n");
        write(sys, "class/hwmon/hwmon0/temp2_input", "0\n");
        write(sys, "class/hwmon/hwmon1/name", "nvme\n");
        write(sys, "class/hwmon/hwmon1/temp1_input", "38000\n");
        write(sys, "class/hwmon/hwmon1/fan1_input", "1200\n");
        write(sys, "class/thermal/thermal_zone0/type", "x86_pkg_temp\n");

        let p = probe(&settings(sys, SensorSelection::All));
        assert_eq!(p.hwmon_error, None);
        assert_eq!((p.hwmon_chips, p.thermal_zones), (2, 1));
        assert_eq!((p.source, p.inputs), (Some("hwmon"), 3));
        assert_eq!(p.readings, 2, "0 °C is not a reading");
        assert_eq!(p.selected, ["coretemp_package_id_0", "nvme"]);
        assert_eq!(p.fans, 1);

        let p = probe(&settings(
            sys,
            SensorSelection::Filter(NameFilter::parse("nvme*")),
        ));
        assert_eq!((p.selection, p.readings), ("filter", 2));
        assert_eq!(p.selected, ["nvme"]);

        let p = probe(&settings(sys, SensorSelection::Disabled));
        assert_eq!(p.selection, "disabled");
        assert!(p.selected.is_empty());
    }

    #[test]
    fn no_hwmon_folder() {
        let dir = tempfile::tempdir().unwrap();
        let p = probe(&settings(dir.path(), SensorSelection::All));
        assert!(p.hwmon_error.is_some());
        assert_eq!((p.hwmon_chips, p.inputs, p.fans), (0, 0, 0));
        assert_eq!(p.source, None);
        let json = p.to_value().to_json();
        assert!(
            json.contains(r#""temperatures":{"source":null,"inputs":0"#),
            "{json}"
        );
    }
}
