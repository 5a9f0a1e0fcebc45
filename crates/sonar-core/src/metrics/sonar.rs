//! `sonar_` families: what neither node_exporter nor cAdvisor has (GPUs, S.M.A.R.T., systemd
//! units, batteries, fans) and the agent's own counters.

use super::{AgentCounters, MetricSet};

/// Adds the agent's own families.
pub fn agent_families(_counters: &AgentCounters, _set: &mut MetricSet) {}
