//! A Prometheus remote-write 1.0 request (prometheus.WriteRequest, protobuf, snappy block
//! format) from a MetricSet: every series at one timestamp, with the extra labels.

use super::MetricSet;

/// The encoded request and how many samples it carries.
pub struct WriteRequest {
    pub body: Vec<u8>,
    pub samples: usize,
}

pub fn encode(_set: &MetricSet, _timestamp_ms: i64, _labels: &[(String, String)]) -> WriteRequest {
    WriteRequest {
        body: Vec::new(),
        samples: 0,
    }
}
