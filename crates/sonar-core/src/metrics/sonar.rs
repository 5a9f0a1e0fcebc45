//! `sonar_` families: what neither node_exporter nor cAdvisor has (GPUs, S.M.A.R.T., systemd
//! units, batteries, fans) and the agent's own counters.

use super::{AgentCounters, MetricSet};

/// Adds the agent's own families. Remote write's are written only while it is configured, so a
/// scrape of an agent that does not push shows no always-zero queue.
pub fn agent_families(counters: &AgentCounters, set: &mut MetricSet) {
    if counters.remote_write {
        remote_write_families(counters, set);
    }
}

/// The remote-write queue, named after Prometheus's own `prometheus_remote_storage_*` where the
/// meaning is the same.
fn remote_write_families(c: &AgentCounters, set: &mut MetricSet) {
    set.counter(
        "sonar_remote_write_sent_samples_total",
        "Samples the remote-write receiver accepted (a 2xx answer).",
    )
    .push(vec![], c.remote_write_sent_samples as f64);
    set.counter(
        "sonar_remote_write_dropped_samples_total",
        "Samples dropped unsent: the queue's age or size bound (REMOTE_WRITE_QUEUE_MAX_AGE, REMOTE_WRITE_QUEUE_MAX_BYTES) was hit, or the receiver refused them with a 4xx other than 429.",
    )
    .push(vec![], c.remote_write_dropped_samples as f64);
    set.counter(
        "sonar_remote_write_failed_requests_total",
        "Remote-write requests that failed: a network error or a non-2xx answer (5xx and 429 are retried with backoff).",
    )
    .push(vec![], c.remote_write_failed_requests as f64);
    set.gauge(
        "sonar_remote_write_pending_samples",
        "Samples queued for the remote-write receiver and not yet accepted.",
    )
    .push(vec![], c.remote_write_pending_samples as f64);
    set.gauge(
        "sonar_remote_write_pending_bytes",
        "Bytes of queued remote-write requests (snappy-compressed), bounded by REMOTE_WRITE_QUEUE_MAX_BYTES.",
    )
    .push(vec![], c.remote_write_pending_bytes as f64);
    set.gauge(
        "sonar_remote_write_oldest_pending_age_seconds",
        "Age of the oldest queued remote-write sample (0 when the queue is empty), bounded by REMOTE_WRITE_QUEUE_MAX_AGE.",
    )
    .push(vec![], c.remote_write_oldest_pending_seconds);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::MetricType;

    #[test]
    fn remote_write_families_appear_only_when_it_is_configured() {
        let mut set = MetricSet::default();
        agent_families(&AgentCounters::default(), &mut set);
        assert!(set.families.is_empty());

        let counters = AgentCounters {
            remote_write: true,
            remote_write_sent_samples: 120,
            remote_write_dropped_samples: 3,
            remote_write_failed_requests: 2,
            remote_write_pending_samples: 40,
            remote_write_pending_bytes: 2048,
            remote_write_oldest_pending_seconds: 1.5,
        };
        agent_families(&counters, &mut set);
        let got: Vec<(&str, MetricType, f64)> = set
            .families
            .iter()
            .map(|f| (f.name.as_str(), f.kind, f.samples[0].value))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "sonar_remote_write_sent_samples_total",
                    MetricType::Counter,
                    120.0
                ),
                (
                    "sonar_remote_write_dropped_samples_total",
                    MetricType::Counter,
                    3.0
                ),
                (
                    "sonar_remote_write_failed_requests_total",
                    MetricType::Counter,
                    2.0
                ),
                (
                    "sonar_remote_write_pending_samples",
                    MetricType::Gauge,
                    40.0
                ),
                (
                    "sonar_remote_write_pending_bytes",
                    MetricType::Gauge,
                    2048.0
                ),
                (
                    "sonar_remote_write_oldest_pending_age_seconds",
                    MetricType::Gauge,
                    1.5
                ),
            ]
        );
        for family in &set.families {
            assert!(
                family.help.ends_with('.'),
                "{}: {}",
                family.name,
                family.help
            );
            assert_eq!(
                family.kind == MetricType::Counter,
                family.name.ends_with("_total"),
                "{}",
                family.name
            );
        }
    }
}
