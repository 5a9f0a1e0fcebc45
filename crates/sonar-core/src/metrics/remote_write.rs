//! A Prometheus remote-write 1.0 request (prometheus.WriteRequest, protobuf, snappy block
//! format) from a MetricSet: every series at one timestamp, with the extra labels.
//!
//! The protobuf is written by hand: four messages, five fields, all of them length-delimited
//! except the sample's double and int64 (prompb/types.proto, prompb/remote.proto).

use super::MetricSet;

/// The encoded request and how many samples it carries.
#[derive(Debug)]
pub struct WriteRequest {
    pub body: Vec<u8>,
    pub samples: usize,
}

/// Why a request could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// an extra label's name is not `[a-zA-Z_][a-zA-Z0-9_]*` (or starts with `__`, which is
    /// reserved to Prometheus)
    LabelName(String),
    /// the request is larger than snappy's block format takes (about 4 GiB: never in practice)
    Compress(String),
}

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodeError::LabelName(name) => write!(
                f,
                "label name {name:?} is not valid: it must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __"
            ),
            EncodeError::Compress(why) => write!(f, "snappy compression failed: {why}"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// Whether `name` is a label name Prometheus accepts from a user (`__` is its own namespace).
pub fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_');
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.starts_with("__")
}

// Field keys: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited).
const WRITE_REQUEST_TIMESERIES: u8 = 1 << 3 | 2;
const TIMESERIES_LABELS: u8 = 1 << 3 | 2;
const TIMESERIES_SAMPLES: u8 = 2 << 3 | 2;
const LABEL_NAME: u8 = 1 << 3 | 2;
const LABEL_VALUE: u8 = 2 << 3 | 2;
const SAMPLE_VALUE: u8 = 1 << 3 | 1;
const SAMPLE_TIMESTAMP: u8 = 2 << 3;

fn varint_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A length-delimited field's key, length and bytes.
fn put_bytes(out: &mut Vec<u8>, key: u8, bytes: &[u8]) {
    out.push(key);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn label_len(name: &str, value: &str) -> usize {
    1 + varint_len(name.len() as u64)
        + name.len()
        + 1
        + varint_len(value.len() as u64)
        + value.len()
}

/// One TimeSeries: its labels (already sorted) and one sample.
fn put_series(out: &mut Vec<u8>, labels: &[(&str, &str)], value: f64, timestamp_ms: i64) {
    // Sample { double value = 1; int64 timestamp = 2; } (an int64 is a varint of its two's
    // complement, so a negative timestamp takes ten bytes)
    let sample_len = 1 + 8 + 1 + varint_len(timestamp_ms as u64);
    let mut series_len = 1 + varint_len(sample_len as u64) + sample_len;
    for (name, value) in labels {
        let len = label_len(name, value);
        series_len += 1 + varint_len(len as u64) + len;
    }
    out.push(WRITE_REQUEST_TIMESERIES);
    put_varint(out, series_len as u64);
    for (name, value) in labels {
        out.push(TIMESERIES_LABELS);
        put_varint(out, label_len(name, value) as u64);
        put_bytes(out, LABEL_NAME, name.as_bytes());
        put_bytes(out, LABEL_VALUE, value.as_bytes());
    }
    out.push(TIMESERIES_SAMPLES);
    put_varint(out, sample_len as u64);
    out.push(SAMPLE_VALUE);
    out.extend_from_slice(&value.to_le_bytes());
    out.push(SAMPLE_TIMESTAMP);
    put_varint(out, timestamp_ms as u64);
}

/// The uncompressed prometheus.WriteRequest and its sample count. Each series gets `__name__`,
/// its own labels and the extra ones (an extra label replaces a series label of the same name);
/// labels with an empty value are left out (Prometheus treats them as absent) and the rest are
/// sorted by name, as the protocol requires.
pub fn write_request(
    set: &MetricSet,
    timestamp_ms: i64,
    extra: &[(String, String)],
) -> Result<(Vec<u8>, usize), EncodeError> {
    if let Some((name, _)) = extra.iter().find(|(name, _)| !valid_label_name(name)) {
        return Err(EncodeError::LabelName(name.clone()));
    }
    let mut out = Vec::with_capacity(64 * set.series_count());
    let mut labels: Vec<(&str, &str)> = Vec::new();
    let mut samples = 0;
    for family in &set.families {
        for sample in &family.samples {
            labels.clear();
            labels.push(("__name__", family.name.as_str()));
            for (name, value) in &sample.labels {
                if !extra.iter().any(|(n, _)| n == name) {
                    labels.push((name, value.as_str()));
                }
            }
            for (name, value) in extra {
                labels.push((name.as_str(), value.as_str()));
            }
            labels.retain(|(_, value)| !value.is_empty());
            labels.sort_by(|a, b| a.0.cmp(b.0));
            put_series(&mut out, &labels, sample.value, timestamp_ms);
            samples += 1;
        }
    }
    Ok((out, samples))
}

/// The body of one remote-write POST: the request, snappy-compressed (block format, as the
/// protocol asks: `Content-Encoding: snappy`).
pub fn encode(
    set: &MetricSet,
    timestamp_ms: i64,
    labels: &[(String, String)],
) -> Result<WriteRequest, EncodeError> {
    let (raw, samples) = write_request(set, timestamp_ms, labels)?;
    let body = snap::raw::Encoder::new()
        .compress_vec(&raw)
        .map_err(|e| EncodeError::Compress(e.to_string()))?;
    Ok(WriteRequest { body, samples })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decoded TimeSeries: labels in wire order, and (value, timestamp) samples.
    #[derive(Debug, PartialEq)]
    struct Series {
        labels: Vec<(String, String)>,
        samples: Vec<(f64, i64)>,
    }

    /// A minimal protobuf reader: enough of the wire format for prometheus.WriteRequest, and
    /// strict (an unknown field or wire type fails the test).
    struct Reader<'a> {
        bytes: &'a [u8],
        at: usize,
    }

    impl<'a> Reader<'a> {
        fn new(bytes: &'a [u8]) -> Self {
            Reader { bytes, at: 0 }
        }
        fn done(&self) -> bool {
            self.at >= self.bytes.len()
        }
        fn varint(&mut self) -> u64 {
            let mut n = 0u64;
            for shift in (0..64).step_by(7) {
                let b = self.bytes[self.at];
                self.at += 1;
                n |= u64::from(b & 0x7f) << shift;
                if b & 0x80 == 0 {
                    return n;
                }
            }
            panic!("varint longer than ten bytes");
        }
        fn key(&mut self) -> (u64, u64) {
            let key = self.varint();
            (key >> 3, key & 7)
        }
        fn bytes(&mut self) -> &'a [u8] {
            let len = self.varint() as usize;
            let slice = &self.bytes[self.at..self.at + len];
            self.at += len;
            slice
        }
        fn fixed64(&mut self) -> [u8; 8] {
            let mut b = [0u8; 8];
            b.copy_from_slice(&self.bytes[self.at..self.at + 8]);
            self.at += 8;
            b
        }
    }

    fn text(bytes: &[u8]) -> String {
        String::from_utf8(bytes.to_vec()).expect("label text is UTF-8")
    }

    fn decode(body: &[u8]) -> Vec<Series> {
        let raw = snap::raw::Decoder::new()
            .decompress_vec(body)
            .expect("a snappy block");
        let mut request = Reader::new(&raw);
        let mut out = Vec::new();
        while !request.done() {
            assert_eq!(request.key(), (1, 2), "WriteRequest.timeseries");
            let mut ts = Reader::new(request.bytes());
            let mut series = Series {
                labels: vec![],
                samples: vec![],
            };
            while !ts.done() {
                match ts.key() {
                    (1, 2) => {
                        let mut label = Reader::new(ts.bytes());
                        assert_eq!(label.key(), (1, 2), "Label.name");
                        let name = text(label.bytes());
                        assert_eq!(label.key(), (2, 2), "Label.value");
                        let value = text(label.bytes());
                        assert!(label.done());
                        series.labels.push((name, value));
                    }
                    (2, 2) => {
                        let mut sample = Reader::new(ts.bytes());
                        assert_eq!(sample.key(), (1, 1), "Sample.value");
                        let value = f64::from_le_bytes(sample.fixed64());
                        assert_eq!(sample.key(), (2, 0), "Sample.timestamp");
                        let timestamp = sample.varint() as i64;
                        assert!(sample.done());
                        series.samples.push((value, timestamp));
                    }
                    other => panic!("unexpected TimeSeries field {other:?}"),
                }
            }
            out.push(series);
        }
        out
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn sample_set() -> MetricSet {
        let mut set = MetricSet::default();
        let cpu = set.counter(
            "node_cpu_seconds_total",
            "Seconds the CPUs spent in each mode.",
        );
        cpu.push(vec![("mode", "user".into()), ("cpu", "0".into())], 12345.67);
        cpu.push(vec![("cpu", "1".into()), ("mode", "idle".into())], 0.5);
        set.gauge("node_load1", "1m load average.")
            .push(vec![], 0.25);
        // a family without samples writes nothing
        set.gauge("node_unused", "nothing");
        set.gauge("sonar_odd", "a label with an empty value").push(
            vec![("device", String::new()), ("job", "mine".into())],
            -1.0,
        );
        set
    }

    #[test]
    fn the_request_decodes_to_every_series_with_sorted_labels_and_one_timestamp() {
        let set = sample_set();
        let extra = pairs(&[("job", "sonar-agent"), ("instance", "web-01")]);
        let request = encode(&set, 1_764_700_000_123, &extra).expect("encodes");
        assert_eq!(request.samples, 4);
        let series = decode(&request.body);
        let t = 1_764_700_000_123;
        assert_eq!(
            series,
            vec![
                Series {
                    labels: pairs(&[
                        ("__name__", "node_cpu_seconds_total"),
                        ("cpu", "0"),
                        ("instance", "web-01"),
                        ("job", "sonar-agent"),
                        ("mode", "user"),
                    ]),
                    samples: vec![(12345.67, t)],
                },
                Series {
                    labels: pairs(&[
                        ("__name__", "node_cpu_seconds_total"),
                        ("cpu", "1"),
                        ("instance", "web-01"),
                        ("job", "sonar-agent"),
                        ("mode", "idle"),
                    ]),
                    samples: vec![(0.5, t)],
                },
                Series {
                    labels: pairs(&[
                        ("__name__", "node_load1"),
                        ("instance", "web-01"),
                        ("job", "sonar-agent"),
                    ]),
                    samples: vec![(0.25, t)],
                },
                // the extra job replaces the series' own; the empty device is left out
                Series {
                    labels: pairs(&[
                        ("__name__", "sonar_odd"),
                        ("instance", "web-01"),
                        ("job", "sonar-agent"),
                    ]),
                    samples: vec![(-1.0, t)],
                },
            ]
        );
    }

    #[test]
    fn labels_are_sorted_bytewise_even_for_upper_case_extra_names() {
        let mut set = MetricSet::default();
        set.gauge("node_load5", "5m").push(vec![], 1.0);
        let request = encode(&set, 0, &pairs(&[("Zone", "a"), ("az", "b")])).expect("encodes");
        let names: Vec<String> = decode(&request.body)[0]
            .labels
            .iter()
            .map(|(n, _)| n.clone())
            .collect();
        // 'Z' < '_' < 'a' in byte order, which is the order Prometheus compares label names in
        assert_eq!(names, ["Zone", "__name__", "az"]);
    }

    #[test]
    fn negative_and_large_timestamps_round_trip() {
        let mut set = MetricSet::default();
        set.gauge("g", "g").push(vec![], 1.0);
        for t in [0, -1, i64::MIN, i64::MAX, 1 << 40] {
            let series = decode(&encode(&set, t, &[]).expect("encodes").body);
            assert_eq!(series[0].samples, vec![(1.0, t)]);
        }
    }

    #[test]
    fn an_invalid_extra_label_name_is_refused_with_its_name() {
        let set = sample_set();
        for bad in ["1abc", "a-b", "", "__reserved", "é"] {
            let err = encode(&set, 0, &pairs(&[(bad, "x")])).expect_err(bad);
            assert_eq!(err, EncodeError::LabelName(bad.to_string()));
            assert!(err.to_string().contains(&format!("{bad:?}")));
        }
        assert!(valid_label_name("_ok_1"));
        assert!(valid_label_name("Instance"));
    }

    #[test]
    fn an_empty_set_is_a_valid_empty_request() {
        let request = encode(&MetricSet::default(), 0, &[]).expect("encodes");
        assert_eq!(request.samples, 0);
        assert!(decode(&request.body).is_empty());
    }

    #[test]
    fn long_labels_use_multi_byte_lengths() {
        let mut set = MetricSet::default();
        let long = "x".repeat(300);
        set.gauge("g", "g").push(vec![("path", long.clone())], 2.0);
        let series = decode(&encode(&set, 5, &[]).expect("encodes").body);
        assert_eq!(series[0].labels[1], ("path".to_string(), long));
    }
}
