//! The Prometheus text exposition format 0.0.4 and OpenMetrics 1.0.0, rendered from a MetricSet.

use super::MetricSet;

/// The content type of each rendering, as the response's Content-Type.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    OpenMetrics,
}

pub fn render(_set: &MetricSet, _format: Format) -> Vec<u8> {
    Vec::new()
}
