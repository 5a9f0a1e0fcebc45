//! Container families under cAdvisor's names, from the engines' last sample (raw counters).

use super::MetricSet;
use crate::collect::containers::ContainerSample;

/// Adds the container_* families of these containers.
pub fn families(_containers: &[ContainerSample], _set: &mut MetricSet) {}
