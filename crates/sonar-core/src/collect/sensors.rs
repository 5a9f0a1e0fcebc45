//! Temperatures from hwmon / thermal zones with gopsutil's naming (spec §3.4). STUB.

use crate::settings::Settings;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Temperatures {
    /// name → °C (2 dp), in discovery order, after the SENSORS filter.
    pub readings: Vec<(String, f64)>,
    /// PRIMARY_SENSOR's value, else the highest accepted reading; unrounded; 0 if none.
    pub dashboard: f64,
}

pub struct SensorCollector {}

impl SensorCollector {
    pub fn new(_settings: &Settings) -> Self {
        SensorCollector {}
    }

    pub fn sample(&mut self) -> Temperatures {
        Temperatures::default()
    }
}
