//! `sonar_systemd_unit_*`: the monitored units (SERVICE_PATTERNS) as of the last refresh.
//! The state is one-hot over systemd's active states, as node_exporter's systemd collector
//! writes it, so `sonar_systemd_unit_state{state="failed"} == 1` finds the failed ones.

use super::{Family, MetricSet, MetricType};
use crate::collect::systemd::service::{ACTIVE_STATES, SUB_STATES};
use crate::model::Service;

pub fn families(units: &[Service], set: &mut MetricSet) {
    use MetricType::Gauge;
    let mut state = Family::new(
        "sonar_systemd_unit_state",
        Gauge,
        "1 for the unit's current ActiveState, 0 for the others.",
    );
    let mut sub = Family::new(
        "sonar_systemd_unit_sub_state_info",
        Gauge,
        "The unit's current SubState; always 1.",
    );
    let mut memory = Family::new(
        "sonar_systemd_unit_memory_bytes",
        Gauge,
        "Memory of the unit's cgroup (MemoryCurrent), bytes.",
    );
    let mut memory_peak = Family::new(
        "sonar_systemd_unit_memory_peak_bytes",
        Gauge,
        "Peak memory of the unit's cgroup (MemoryPeak), bytes.",
    );
    let mut cpu = Family::new(
        "sonar_systemd_unit_cpu_percent",
        Gauge,
        "CPU used by the unit over the last refresh period, percent of all logical CPUs.",
    );
    for unit in units {
        let name = || vec![("name", unit.name.clone())];
        for (i, s) in ACTIVE_STATES.iter().enumerate() {
            let mut labels = name();
            labels.push(("state", (*s).to_string()));
            state.push(
                labels,
                if usize::from(unit.state) == i {
                    1.0
                } else {
                    0.0
                },
            );
        }
        if let Some(s) = SUB_STATES.get(usize::from(unit.sub)) {
            let mut labels = name();
            labels.push(("sub_state", (*s).to_string()));
            sub.push(labels, 1.0);
        }
        if unit.mem > 0 {
            memory.push(name(), unit.mem as f64);
        }
        if unit.mem_peak > 0 {
            memory_peak.push(name(), unit.mem_peak as f64);
        }
        cpu.push(name(), unit.cpu);
    }
    for family in [state, sub, memory, memory_peak, cpu] {
        set.add(family);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_unit_is_one_hot() {
        let units = [Service {
            name: "nginx.service".into(),
            state: 2,
            sub: 3,
            mem: 0,
            cpu: 0.0,
            ..Service::default()
        }];
        let mut set = MetricSet::default();
        families(&units, &mut set);
        let state = &set.families[0];
        assert_eq!(state.samples.len(), 6);
        let on: Vec<_> = state
            .samples
            .iter()
            .filter(|s| s.value == 1.0)
            .map(|s| s.labels[1].1.clone())
            .collect();
        assert_eq!(on, vec!["failed".to_string()]);
        // no cgroup memory figure: no series
        assert!(set
            .families
            .iter()
            .all(|f| f.name != "sonar_systemd_unit_memory_bytes" || f.samples.is_empty()));
    }
}
