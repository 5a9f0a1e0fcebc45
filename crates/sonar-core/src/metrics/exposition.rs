//! The Prometheus text exposition format 0.0.4 and OpenMetrics 1.0.0, rendered from a MetricSet.
//!
//! One buffer, sized up front from the set; values and escapes are written straight into it (no
//! string per sample). Families without samples are left out. Values follow Go's `strconv`
//! shortest form, as client_golang writes them, except that a whole number below 2^53 is written
//! as plain digits (`33554432000`, not `3.3554432e+10`): exact, and what a reader expects.

use std::fmt::Write as _;

use super::{Family, MetricSet, MetricType};

/// The content type of each rendering, as the response's Content-Type.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    OpenMetrics,
}

/// gzip for /metrics answers: one member around our own fast DEFLATE (crate::deflate), whose
/// state (hash table, token buffer) is kept between answers.
#[derive(Default)]
pub struct Gzip {
    deflate: crate::deflate::Deflate,
}

/// A gzip member's header: deflate, no name or time, no extra flags, OS unknown (as Go's gzip).
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

impl Gzip {
    /// `bytes` as one gzip member.
    pub fn compress(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len() / 4 + GZIP_HEADER.len() + 8);
        out.extend_from_slice(&GZIP_HEADER);
        self.deflate.compress(bytes, &mut out);
        let mut crc = flate2::Crc::new();
        crc.update(bytes);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        // ISIZE: the input's length modulo 2^32, as the format defines it
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out
    }
}

pub fn render(set: &MetricSet, format: Format) -> Vec<u8> {
    let mut out = Vec::with_capacity(estimated_len(set));
    for family in &set.families {
        if !family.samples.is_empty() {
            write_family(&mut out, family, format);
        }
    }
    if format == Format::OpenMetrics {
        out.extend_from_slice(b"# EOF\n");
    }
    out
}

/// An upper-ish bound of the rendering's length, so the buffer grows at most once or twice.
fn estimated_len(set: &MetricSet) -> usize {
    let mut len = 8;
    for family in &set.families {
        if family.samples.is_empty() {
            continue;
        }
        len += 2 * family.name.len() + family.help.len() + 32;
        for sample in &family.samples {
            // name, braces, value (at most 24 characters) and newline
            len += family.name.len() + 28;
            for (name, value) in &sample.labels {
                len += name.len() + value.len() + 4;
            }
        }
    }
    len
}

fn write_family(out: &mut Vec<u8>, family: &Family, format: Format) {
    let (meta_name, type_name) = match (format, family.kind) {
        // OpenMetrics names the counter family without the suffix its samples carry; a counter
        // without the suffix would be invalid there, so it goes out untyped.
        (Format::OpenMetrics, MetricType::Counter) => match family.name.strip_suffix("_total") {
            Some(base) => (base, "counter"),
            None => (family.name.as_str(), "unknown"),
        },
        (Format::OpenMetrics, MetricType::Untyped) => (family.name.as_str(), "unknown"),
        (_, kind) => (family.name.as_str(), kind.name()),
    };
    if !family.help.is_empty() {
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(meta_name.as_bytes());
        out.push(b' ');
        write_escaped(out, &family.help, format == Format::OpenMetrics);
        out.push(b'\n');
    }
    out.extend_from_slice(b"# TYPE ");
    out.extend_from_slice(meta_name.as_bytes());
    out.push(b' ');
    out.extend_from_slice(type_name.as_bytes());
    out.push(b'\n');
    for sample in &family.samples {
        out.extend_from_slice(family.name.as_bytes());
        if !sample.labels.is_empty() {
            out.push(b'{');
            for (i, (name, value)) in sample.labels.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"=\"");
                write_escaped(out, value, true);
                out.push(b'"');
            }
            out.push(b'}');
        }
        out.push(b' ');
        write_value(out, sample.value);
        out.push(b'\n');
    }
}

/// Escapes `\` and newline (both formats' HELP), and `"` where asked (label values; OpenMetrics
/// HELP).
fn write_escaped(out: &mut Vec<u8>, text: &str, quote: bool) {
    let bytes = text.as_bytes();
    let needs = |b: u8| b == b'\\' || b == b'\n' || (quote && b == b'"');
    if !bytes.iter().any(|&b| needs(b)) {
        out.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'"' if quote => out.extend_from_slice(b"\\\""),
            _ => out.push(b),
        }
    }
}

/// 2^53: every whole number below it is exactly representable, so plain digits are exact.
const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;

/// A sample value as Go's `strconv.FormatFloat(v, 'g', -1, 64)` writes it (shortest digits that
/// read back to the same float; exponent form when the decimal exponent is below -4 or at least
/// 6), `+Inf`/`-Inf`/`NaN`, and whole numbers below 2^53 as plain digits.
pub fn write_value(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else if v.fract() == 0.0 && v.abs() < EXACT_INTEGER_LIMIT {
        write_integer(out, v as i64);
    } else {
        write_go_float(out, v);
    }
}

fn write_integer(out: &mut Vec<u8>, v: i64) {
    let mut digits = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[at..]);
}

/// A small stack buffer for `write!` (a float's text is at most ~25 bytes).
struct StackText {
    bytes: [u8; 40],
    len: usize,
}

impl StackText {
    fn new() -> Self {
        StackText {
            bytes: [0; 40],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

fn write_go_float(out: &mut Vec<u8>, v: f64) {
    // Rust's `{:e}` gives the same shortest round-trip digits as Go: "1.5e-7", "-2.5e9".
    let mut sci = StackText::new();
    if write!(sci, "{v:e}").is_err() {
        out.extend_from_slice(b"NaN");
        return;
    }
    let text = sci.as_bytes();
    let Some(e_at) = text.iter().position(|&b| b == b'e') else {
        out.extend_from_slice(text);
        return;
    };
    let (mantissa, exponent) = (&text[..e_at], &text[e_at + 1..]);
    let (negative_exp, exp_digits) = match exponent.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, exponent),
    };
    let exp = exp_digits
        .iter()
        .fold(0i32, |acc, &d| acc * 10 + i32::from(d - b'0'));
    let exp = if negative_exp { -exp } else { exp };
    if (-4..6).contains(&exp) {
        // plain decimal: Rust's Display writes the same shortest digits without an exponent
        let mut plain = StackText::new();
        if write!(plain, "{v}").is_ok() {
            out.extend_from_slice(plain.as_bytes());
            return;
        }
    }
    out.extend_from_slice(mantissa);
    out.push(b'e');
    out.push(if negative_exp { b'-' } else { b'+' });
    if exp_digits.len() < 2 {
        out.push(b'0');
    }
    out.extend_from_slice(exp_digits);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_one_member_that_decodes_to_the_rendering() {
        use std::io::Read;
        let text = b"# TYPE node_load1 gauge\nnode_load1 0.5\n".repeat(50);
        let mut gzip = Gzip::default();
        // the kept state must not leak one answer into the next: each decodes on its own
        let other = b"node_load5 0.25\n".repeat(3000);
        for input in [&text, &other, &Vec::new(), &text] {
            let packed = gzip.compress(input);
            if !input.is_empty() {
                assert!(packed.len() < input.len() / 4);
            }
            let mut decoder = flate2::bufread::GzDecoder::new(packed.as_slice());
            let mut unpacked = Vec::new();
            assert!(decoder.read_to_end(&mut unpacked).is_ok());
            assert_eq!(&unpacked, input);
            assert!(
                decoder.into_inner().is_empty(),
                "one member, nothing after it"
            );
        }
    }

    fn value_text(v: f64) -> String {
        let mut out = Vec::new();
        write_value(&mut out, v);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn values_are_written_as_go_writes_them_with_whole_numbers_in_plain_digits() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (758608.0, "758608"),
            (25275990016.0, "25275990016"),
            (9007199254740991.0, "9007199254740991"),
            (9007199254740992.0, "9.007199254740992e+15"),
            (1e22, "1e+22"),
            (429.32, "429.32"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (3.7581e-05, "3.7581e-05"),
            (123456.5, "123456.5"),
            (1234567.5, "1.2345675e+06"),
            (1796236020.6989179, "1.7962360206989179e+09"),
            (-2.5e-300, "-2.5e-300"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        ];
        for &(v, want) in cases {
            assert_eq!(value_text(v), want, "value {v:?}");
        }
    }

    fn sample_set() -> MetricSet {
        let mut set = MetricSet::default();
        set.counter(
            "node_cpu_seconds_total",
            "Seconds the CPUs spent in each mode.",
        )
        .push(vec![("cpu", "0".into()), ("mode", "idle".into())], 429.32);
        set.gauge("node_load1", "1m load average.")
            .push(vec![], 1.23);
        set.family(
            "node_vmstat_pgfault",
            MetricType::Untyped,
            "/proc/vmstat information field pgfault.",
        )
        .push(vec![], 1.0);
        set.gauge("node_empty", "A family without samples.");
        set.gauge(
            "sonar_escaped",
            "Help with \\ backslash,\nnewline and \"quotes\".",
        )
        .push(
            vec![
                ("path", "C:\\dir \"x\"\nnext".into()),
                ("plain", "ok".into()),
            ],
            0.5,
        );
        set
    }

    #[test]
    fn text_format_golden_with_escapes_and_empty_families_left_out() {
        let text = String::from_utf8(render(&sample_set(), Format::Text)).unwrap_or_default();
        let want = concat!(
            "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n",
            "# TYPE node_cpu_seconds_total counter\n",
            "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 429.32\n",
            "# HELP node_load1 1m load average.\n",
            "# TYPE node_load1 gauge\n",
            "node_load1 1.23\n",
            "# HELP node_vmstat_pgfault /proc/vmstat information field pgfault.\n",
            "# TYPE node_vmstat_pgfault untyped\n",
            "node_vmstat_pgfault 1\n",
            "# HELP sonar_escaped Help with \\\\ backslash,\\nnewline and \"quotes\".\n",
            "# TYPE sonar_escaped gauge\n",
            "sonar_escaped{path=\"C:\\\\dir \\\"x\\\"\\nnext\",plain=\"ok\"} 0.5\n",
        );
        assert_eq!(text, want);
    }

    #[test]
    fn openmetrics_golden_names_counter_families_without_total_and_ends_with_eof() {
        let text =
            String::from_utf8(render(&sample_set(), Format::OpenMetrics)).unwrap_or_default();
        let want = concat!(
            "# HELP node_cpu_seconds Seconds the CPUs spent in each mode.\n",
            "# TYPE node_cpu_seconds counter\n",
            "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 429.32\n",
            "# HELP node_load1 1m load average.\n",
            "# TYPE node_load1 gauge\n",
            "node_load1 1.23\n",
            "# HELP node_vmstat_pgfault /proc/vmstat information field pgfault.\n",
            "# TYPE node_vmstat_pgfault unknown\n",
            "node_vmstat_pgfault 1\n",
            "# HELP sonar_escaped Help with \\\\ backslash,\\nnewline and \\\"quotes\\\".\n",
            "# TYPE sonar_escaped gauge\n",
            "sonar_escaped{path=\"C:\\\\dir \\\"x\\\"\\nnext\",plain=\"ok\"} 0.5\n",
            "# EOF\n",
        );
        assert_eq!(text, want);
    }

    #[test]
    fn an_empty_set_renders_nothing_or_only_eof() {
        let set = MetricSet::default();
        assert!(render(&set, Format::Text).is_empty());
        assert_eq!(render(&set, Format::OpenMetrics), b"# EOF\n");
    }

    #[test]
    fn a_counter_without_the_total_suffix_goes_out_untyped_in_openmetrics() {
        let mut set = MetricSet::default();
        set.counter("odd_counter", "No suffix.").push(vec![], 1.0);
        let om = String::from_utf8(render(&set, Format::OpenMetrics)).unwrap_or_default();
        assert!(om.contains("# TYPE odd_counter unknown\n"), "{om}");
        let text = String::from_utf8(render(&set, Format::Text)).unwrap_or_default();
        assert!(text.contains("# TYPE odd_counter counter\n"), "{text}");
    }

    #[test]
    fn the_buffer_is_sized_once_for_a_typical_set() {
        let mut set = MetricSet::default();
        let family = set.counter(
            "node_network_receive_bytes_total",
            "Network device statistic.",
        );
        for i in 0..100 {
            family.push(
                vec![("device", format!("veth{i:08x}"))],
                1.234e12 + f64::from(i),
            );
        }
        let out = render(&set, Format::Text);
        assert!(
            out.len() <= estimated_len(&set),
            "{} > {}",
            out.len(),
            estimated_len(&set)
        );
    }
}
