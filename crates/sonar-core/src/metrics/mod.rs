//! Prometheus-compatible metrics: the same collection the hub gets, as raw counters and gauges
//! under the names existing dashboards know (node_exporter's where a metric overlaps it,
//! cAdvisor's for containers, `sonar_` for what neither has). One `MetricSet` per scrape or
//! remote-write tick; the renderers turn it into bytes, so TypeScript only sends them.
//!
//! - `node`: node_exporter-compatible families, read fresh from /proc and /sys (raw counters: the
//!   hub's rates and their baselines are not touched by a scrape);
//! - `cadvisor`: container families from the engines' last sample;
//! - `gpu`, `smart`, `systemd`, `power` (batteries and fans): `sonar_` families of what neither
//!   exporter has;
//! - `sonar`: the agent's own counters (remote write's queue);
//! - `exposition`: the Prometheus text format 0.0.4 and OpenMetrics 1.0.0;
//! - `remote_write`: a Prometheus remote-write request (protobuf, snappy-compressed).

use crate::fnv::{fnv1a, FnvHashMap};

pub mod cadvisor;
pub mod exposition;
pub mod gpu;
pub mod node;
pub mod power;
pub mod remote_write;
pub mod smart;
pub mod sonar;
pub mod systemd;

/// The Prometheus metric type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    /// No declared type (node_exporter's /proc/vmstat fields): `untyped` in the text format,
    /// `unknown` in OpenMetrics, UNKNOWN in remote-write metadata.
    Untyped,
}

impl MetricType {
    pub fn name(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Untyped => "untyped",
        }
    }
}

/// One series of a family: its labels (in the order they are written) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

/// A metric family. `name` is the name its samples carry: a counter's ends in `_total` (the
/// OpenMetrics renderer drops the suffix from its metadata lines, as the format asks).
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: String,
    pub help: String,
    pub kind: MetricType,
    pub samples: Vec<Sample>,
}

impl Family {
    pub fn new(name: &str, kind: MetricType, help: &str) -> Family {
        Family {
            name: name.to_string(),
            help: help.to_string(),
            kind,
            samples: Vec::new(),
        }
    }

    /// Adds a series. Non-finite values are dropped: a NaN from an odd reading is not data.
    pub fn push(&mut self, labels: Vec<(&'static str, String)>, value: f64) {
        if value.is_finite() {
            self.samples.push(Sample { labels, value });
        }
    }
}

/// Every family of one reading, each name once, in the order they were added.
#[derive(Debug, Clone, Default)]
pub struct MetricSet {
    pub families: Vec<Family>,
    /// FNV-1a of a name → position in `families` (a name is checked on every hit: two names of
    /// one hash fall back to a scan); rebuilt when `families` was changed directly
    index: FnvHashMap<u64, usize>,
}

impl PartialEq for MetricSet {
    fn eq(&self, other: &Self) -> bool {
        self.families == other.families
    }
}

impl MetricSet {
    /// The family of that name, created (empty) on first use; a later call with the same name
    /// adds to the same family, so a name is never written twice.
    pub fn family(&mut self, name: &str, kind: MetricType, help: &str) -> &mut Family {
        let at = match self.position(name) {
            Some(at) => at,
            None => {
                self.families.push(Family::new(name, kind, help));
                self.index.insert(fnv1a(name), self.families.len() - 1);
                self.families.len() - 1
            }
        };
        &mut self.families[at]
    }

    /// Where the family of that name is (a reading adds a few hundred: a scan per sample was a
    /// tenth of a scrape's rendering).
    fn position(&mut self, name: &str) -> Option<usize> {
        let hash = fnv1a(name);
        if self.index.len() != self.families.len() {
            // `families` was edited directly (tests retain or push): index it afresh
            self.index = self
                .families
                .iter()
                .enumerate()
                .map(|(at, f)| (fnv1a(&f.name), at))
                .collect();
        }
        match self.index.get(&hash) {
            Some(&at) if self.families.get(at).is_some_and(|f| f.name == name) => Some(at),
            // another name of the same hash (or an index made stale by a direct edit)
            Some(_) => self.families.iter().position(|f| f.name == name),
            None if self.index.len() == self.families.len() => None,
            None => self.families.iter().position(|f| f.name == name),
        }
    }

    pub fn gauge(&mut self, name: &str, help: &str) -> &mut Family {
        self.family(name, MetricType::Gauge, help)
    }

    pub fn counter(&mut self, name: &str, help: &str) -> &mut Family {
        self.family(name, MetricType::Counter, help)
    }

    /// Adds a family built elsewhere (its samples join a family of the same name).
    pub fn add(&mut self, family: Family) {
        match self.position(&family.name) {
            Some(at) => self.families[at].samples.extend(family.samples),
            None => {
                self.index.insert(fnv1a(&family.name), self.families.len());
                self.families.push(family);
            }
        }
    }

    /// Empties every family for the next reading, keeping the families themselves.
    pub fn clear_samples(&mut self) {
        for family in &mut self.families {
            family.samples.clear();
        }
    }

    /// Families without a sample are left out of every rendering.
    pub fn series_count(&self) -> usize {
        self.families.iter().map(|f| f.samples.len()).sum()
    }
}

/// What a reading needs besides the kernel's files and the collectors' own state.
#[derive(Debug, Clone, Copy, Default)]
pub struct MetricsInput<'a> {
    /// The engines' last sample; None when no engine answered (no container series).
    pub containers: Option<&'a [crate::collect::containers::ContainerSample]>,
    /// The disks' last S.M.A.R.T. readings.
    pub smart: &'a [crate::collect::smart::SmartData],
    pub counters: AgentCounters,
}

/// Counters only the TypeScript side keeps (remote write's queue), rendered with the rest so
/// that their names live here.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AgentCounters {
    /// remote write is configured (its families are written only then)
    pub remote_write: bool,
    pub remote_write_sent_samples: u64,
    pub remote_write_dropped_samples: u64,
    pub remote_write_failed_requests: u64,
    pub remote_write_pending_samples: u64,
    pub remote_write_pending_bytes: u64,
    pub remote_write_oldest_pending_seconds: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_one_family_even_after_families_were_edited_directly() {
        let mut set = MetricSet::default();
        set.gauge("a", "A").push(vec![], 1.0);
        set.gauge("b", "B").push(vec![], 2.0);
        set.gauge("c", "C").push(vec![], 3.0);
        set.families.retain(|f| f.name != "a");
        set.gauge("c", "C").push(vec![], 4.0);
        set.gauge("a", "A").push(vec![], 5.0);
        set.add(Family::new("b", MetricType::Gauge, "B"));
        let names: Vec<_> = set
            .families
            .iter()
            .map(|f| (f.name.as_str(), f.samples.len()))
            .collect();
        assert_eq!(names, [("b", 1), ("c", 2), ("a", 1)]);
    }

    #[test]
    fn a_family_name_is_created_once_and_non_finite_values_are_dropped() {
        let mut set = MetricSet::default();
        set.gauge("node_load1", "1m load average.")
            .push(vec![], 0.5);
        set.gauge("node_load1", "ignored").push(vec![], f64::NAN);
        assert_eq!(set.families.len(), 1);
        assert_eq!(set.series_count(), 1);
        assert_eq!(set.families[0].help, "1m load average.");
    }
}
