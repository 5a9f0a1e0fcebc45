//! Container families under cAdvisor's names, from the engines' last sample: raw counters
//! (CPU seconds, network bytes) and current gauges, labelled `image` and `name` as cAdvisor
//! labels Docker containers, so its dashboards and alerts work unchanged.

use super::{Family, MetricSet, MetricType};
use crate::collect::containers::{
    health_code, parse_status, ContainerSample, HEALTH_HEALTHY, HEALTH_NONE, HEALTH_STARTING,
    HEALTH_UNHEALTHY,
};

const NS_PER_SECOND: f64 = 1e9;

/// cAdvisor's working set: usage less the inactive file cache (cgroup v2's `inactive_file`);
/// with cgroup v1's figures only, less the page cache, as the hub's memory figure does.
pub fn working_set_bytes(c: &ContainerSample) -> u64 {
    let reclaimable = if c.mem_inactive_file > 0 {
        c.mem_inactive_file
    } else {
        c.mem_cache
    };
    c.mem_usage.saturating_sub(reclaimable)
}

fn health_name(code: u8) -> Option<&'static str> {
    match code {
        HEALTH_STARTING => Some("starting"),
        HEALTH_HEALTHY => Some("healthy"),
        HEALTH_UNHEALTHY => Some("unhealthy"),
        _ => None,
    }
}

/// Adds the container_* families of these containers.
pub fn families(containers: &[ContainerSample], set: &mut MetricSet) {
    use MetricType::{Counter, Gauge};
    let mut cpu = Family::new(
        "container_cpu_usage_seconds_total",
        Counter,
        "Cumulative cpu time consumed in seconds.",
    );
    let mut usage = Family::new(
        "container_memory_usage_bytes",
        Gauge,
        "Current memory usage in bytes, including all memory regardless of when it was accessed",
    );
    let mut working_set = Family::new(
        "container_memory_working_set_bytes",
        Gauge,
        "Current working set in bytes.",
    );
    let mut cache = Family::new(
        "container_memory_cache",
        Gauge,
        "Number of bytes of page cache memory.",
    );
    let mut rx = Family::new(
        "container_network_receive_bytes_total",
        Counter,
        "Cumulative count of bytes received",
    );
    let mut tx = Family::new(
        "container_network_transmit_bytes_total",
        Counter,
        "Cumulative count of bytes transmitted",
    );
    let mut health = Family::new(
        "sonar_container_health_status",
        Gauge,
        "The engine's health check state of the container: 1 for its current state (starting, healthy or unhealthy), 0 for the others; containers without a health check have no series.",
    );
    for c in containers {
        let labels = || vec![("image", c.image.clone()), ("name", c.name.clone())];
        cpu.push(labels(), c.cpu_total as f64 / NS_PER_SECOND);
        usage.push(labels(), c.mem_usage as f64);
        working_set.push(labels(), working_set_bytes(c) as f64);
        if c.mem_cache > 0 {
            cache.push(labels(), c.mem_cache as f64);
        }
        rx.push(labels(), c.net_rx as f64);
        tx.push(labels(), c.net_tx as f64);
        let code = health_code(&c.health).unwrap_or_else(|| parse_status(&c.status).1);
        if code != HEALTH_NONE {
            for state in [HEALTH_STARTING, HEALTH_HEALTHY, HEALTH_UNHEALTHY] {
                if let Some(name) = health_name(state) {
                    let mut l = labels();
                    l.push(("status", name.to_string()));
                    health.push(l, if state == code { 1.0 } else { 0.0 });
                }
            }
        }
    }
    for family in [cpu, usage, working_set, cache, rx, tx, health] {
        set.add(family);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> ContainerSample {
        ContainerSample {
            id: "0123456789abcdef".into(),
            name: name.into(),
            image: "nginx:1.25".into(),
            status: "Up 2 hours (healthy)".into(),
            cpu_total: 2_500_000_000,
            mem_usage: 100 << 20,
            mem_inactive_file: 30 << 20,
            net_rx: 1234,
            net_tx: 99,
            ..ContainerSample::default()
        }
    }

    fn value(set: &MetricSet, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let family = set.families.iter().find(|f| f.name == name)?;
        family
            .samples
            .iter()
            .find(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|s| s.value)
    }

    #[test]
    fn raw_counters_under_cadvisor_names() {
        let mut set = MetricSet::default();
        families(&[sample("web"), sample("db")], &mut set);
        let web = [("name", "web"), ("image", "nginx:1.25")];
        assert_eq!(
            value(&set, "container_cpu_usage_seconds_total", &web),
            Some(2.5)
        );
        assert_eq!(
            value(&set, "container_memory_working_set_bytes", &web),
            Some((70u64 << 20) as f64)
        );
        assert_eq!(
            value(&set, "container_network_receive_bytes_total", &web),
            Some(1234.0)
        );
        assert_eq!(
            value(
                &set,
                "sonar_container_health_status",
                &[("name", "db"), ("status", "healthy")]
            ),
            Some(1.0)
        );
        // one family per name, one series per container
        let cpu = set
            .families
            .iter()
            .filter(|f| f.name == "container_cpu_usage_seconds_total")
            .count();
        assert_eq!(cpu, 1);
        assert_eq!(set.families[0].samples.len(), 2);
    }

    /// cgroup v1 engines report `cache`, not `inactive_file`; usage below it must not wrap.
    #[test]
    fn working_set_never_wraps() {
        let c = ContainerSample {
            mem_usage: 10,
            mem_cache: 50,
            ..ContainerSample::default()
        };
        assert_eq!(working_set_bytes(&c), 0);
    }

    #[test]
    fn no_health_check_no_health_series() {
        let mut c = sample("plain");
        c.status = "Up 5 minutes".into();
        let mut set = MetricSet::default();
        families(&[c], &mut set);
        let health = set
            .families
            .iter()
            .find(|f| f.name == "sonar_container_health_status")
            .map_or(0, |f| f.samples.len());
        assert_eq!(health, 0);
    }
}
