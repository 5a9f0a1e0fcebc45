//! What each collector finds on this host, asked through the collectors' own functions, for
//! `sonar-agent doctor`: which GPU collectors detection takes and why, the system bus and whether
//! systemd answers on it, the smartctl the S.M.A.R.T. monitor would run, and the sensor inputs.
//! Nothing here starts a collector's threads or children; the slowest part (the bus, smartctl
//! --version) is bounded in time.

pub mod gpu;
pub mod sensors;
pub mod smart;
pub mod systemd;

use crate::collect::smart::runner::SmartConfig;
use crate::settings::Settings;
use crate::value::{Key, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Gpu,
    Systemd,
    Smart,
    Sensors,
}

impl Area {
    pub const ALL: [Area; 4] = [Area::Gpu, Area::Systemd, Area::Smart, Area::Sensors];

    pub fn name(self) -> &'static str {
        match self {
            Area::Gpu => "gpu",
            Area::Systemd => "systemd",
            Area::Smart => "smart",
            Area::Sensors => "sensors",
        }
    }

    pub fn from_name(name: &str) -> Option<Area> {
        Area::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// The areas asked for, each under its name. `smart` is the S.M.A.R.T. monitor's configuration
/// (its settings are not part of `Settings`).
pub fn probe(settings: &Settings, smart: &SmartConfig, areas: &[Area]) -> Value {
    let mut entries = Vec::new();
    for &area in Area::ALL.iter().filter(|a| areas.contains(a)) {
        let value = match area {
            Area::Gpu => gpu::probe(settings).to_value(),
            Area::Systemd => systemd::probe(settings).to_value(),
            Area::Smart => smart::probe(smart).to_value(),
            Area::Sensors => sensors::probe(settings).to_value(),
        };
        entries.push((Key::Text(area.name().to_string()), value));
    }
    Value::Map(entries)
}

/// A map with text keys (the probe's JS shape).
pub(crate) fn object(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Key::Text(k.to_string()), v))
            .collect(),
    )
}

pub(crate) fn text_or_null(value: Option<&str>) -> Value {
    value.map_or(Value::Null, |t| Value::Text(t.to_string()))
}

pub(crate) fn texts<S: AsRef<str>>(items: &[S]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|s| Value::Text(s.as_ref().to_string()))
            .collect(),
    )
}

pub(crate) fn count(n: usize) -> Value {
    Value::UInt(n as u64)
}
