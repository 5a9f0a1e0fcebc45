//! Batteries from /sys/class/power_supply (spec §3.9). STUB: interface only.

use crate::roots::Roots;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatterySample {
    /// [percent, state enum]; all zero when there is no battery.
    pub battery: [u8; 2],
    /// name → percent per battery (HEAD key 37).
    pub batteries: Vec<(String, u8)>,
}

pub struct BatteryCollector {}

impl BatteryCollector {
    pub fn new(_roots: &Roots) -> Self {
        BatteryCollector {}
    }

    pub fn sample(&mut self) -> BatterySample {
        BatterySample::default()
    }
}
