//! `sonar_battery_*` and `sonar_fan_*`: batteries' charge and fans' speed as the hub sees them.

use super::{Family, MetricSet, MetricType};
use crate::collect::battery::{
    BatterySample, STATE_CHARGING, STATE_DISCHARGING, STATE_EMPTY, STATE_FULL, STATE_IDLE,
};

fn state_name(state: u8) -> Option<&'static str> {
    match state {
        STATE_EMPTY => Some("empty"),
        STATE_FULL => Some("full"),
        STATE_CHARGING => Some("charging"),
        STATE_DISCHARGING => Some("discharging"),
        STATE_IDLE => Some("idle"),
        _ => None,
    }
}

pub fn battery_families(sample: &BatterySample, set: &mut MetricSet) {
    use MetricType::Gauge;
    let mut charge = Family::new(
        "sonar_battery_charge_percent",
        Gauge,
        "Battery charge, percent of full.",
    );
    for (name, percent) in &sample.batteries {
        charge.push(vec![("battery", name.clone())], f64::from(*percent));
    }
    let mut state = Family::new(
        "sonar_battery_state",
        Gauge,
        "1 for the primary battery's current state (empty, full, charging, discharging, idle), 0 for the others.",
    );
    if sample.batteries.is_empty() && sample.battery == [0, 0] {
        set.add(charge);
        return;
    }
    if let Some(current) = state_name(sample.primary[1]).or(state_name(sample.battery[1])) {
        for code in [
            STATE_EMPTY,
            STATE_FULL,
            STATE_CHARGING,
            STATE_DISCHARGING,
            STATE_IDLE,
        ] {
            if let Some(name) = state_name(code) {
                state.push(
                    vec![("state", name.to_string())],
                    if name == current { 1.0 } else { 0.0 },
                );
            }
        }
    }
    set.add(charge);
    set.add(state);
}

pub fn fan_families(fans: &[(String, u16)], set: &mut MetricSet) {
    let mut speed = Family::new(
        "sonar_fan_speed_rpm",
        MetricType::Gauge,
        "Fan speed, revolutions per minute.",
    );
    for (name, rpm) in fans {
        speed.push(vec![("fan", name.clone())], f64::from(*rpm));
    }
    set.add(speed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_charging_laptop() {
        let sample = BatterySample {
            battery: [80, STATE_CHARGING],
            batteries: vec![("BAT0".into(), 80)],
            primary: [80, STATE_CHARGING],
        };
        let mut set = MetricSet::default();
        battery_families(&sample, &mut set);
        fan_families(&[("cpu_fan".into(), 2100)], &mut set);
        assert_eq!(set.families[0].samples[0].value, 80.0);
        let on: Vec<_> = set.families[1]
            .samples
            .iter()
            .filter(|s| s.value == 1.0)
            .map(|s| s.labels[0].1.clone())
            .collect();
        assert_eq!(on, vec!["charging".to_string()]);
        assert_eq!(set.families[2].samples[0].value, 2100.0);
    }

    #[test]
    fn no_battery_no_series() {
        let mut set = MetricSet::default();
        battery_families(&BatterySample::default(), &mut set);
        assert_eq!(set.series_count(), 0);
    }
}
