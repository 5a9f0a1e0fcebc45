//! A small document tree every payload is built into once, then written either as CBOR with the
//! Go agent's integer keys (what goes on the wire) or with the JSON names (snapshots, the CLI).

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    UInt(u64),
    Int(i64),
    /// Always written as an 8-byte float, as the Go encoder does.
    Float(f64),
    Text(String),
    /// A CBOR byte string (Go byte arrays and `Uint8Slice`); a number array in JSON.
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    Map(Vec<(Key, Value)>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    /// A struct field: its CBOR integer key and its JSON name.
    Field(u64, &'static str),
    /// A map entry keyed by text (interface names, sensor names…).
    Text(String),
}

impl Key {
    pub fn json_name(&self) -> &str {
        match self {
            Key::Field(_, name) => name,
            Key::Text(t) => t,
        }
    }
}

/// Builds a struct-like map field by field, applying the Go omission rules at the call site.
#[derive(Default)]
pub struct MapBuilder(Vec<(Key, Value)>);

impl MapBuilder {
    pub fn new() -> Self {
        MapBuilder(Vec::new())
    }

    /// A field that is always present.
    pub fn field(mut self, key: u64, name: &'static str, value: Value) -> Self {
        self.0.push((Key::Field(key, name), value));
        self
    }

    /// A field dropped when `value.is_empty()` (Go `omitempty` / `omitzero`).
    pub fn field_omit_empty(self, key: u64, name: &'static str, value: Value) -> Self {
        if value.is_empty() {
            self
        } else {
            self.field(key, name, value)
        }
    }

    pub fn build(self) -> Value {
        Value::Map(self.0)
    }
}

impl Value {
    /// Go's `omitempty` notion of empty for the values we emit: 0, 0.0, false, "", null and
    /// empty containers. Fixed-size arrays with `omitzero` use `is_zero_array` instead.
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Bool(b) => !b,
            Value::UInt(u) => *u == 0,
            Value::Int(i) => *i == 0,
            Value::Float(f) => *f == 0.0,
            Value::Text(t) => t.is_empty(),
            Value::Bytes(b) => b.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Map(m) => m.is_empty(),
        }
    }

    /// An array of unsigned integers that is omitted only when every element is zero (omitzero on
    /// a fixed-size array such as `[2]uint64`).
    pub fn uint_array(values: &[u64]) -> Value {
        Value::Array(values.iter().map(|&v| Value::UInt(v)).collect())
    }

    pub fn float_array(values: &[f64]) -> Value {
        Value::Array(values.iter().map(|&v| Value::Float(v)).collect())
    }

    /// Every float in the tree with its JSON path (`.stats.la[0]`), for checks over a whole payload.
    pub fn floats(&self) -> Vec<(String, f64)> {
        fn walk(value: &Value, at: &str, out: &mut Vec<(String, f64)>) {
            match value {
                Value::Float(f) => out.push((at.to_string(), *f)),
                Value::Array(items) => {
                    for (i, v) in items.iter().enumerate() {
                        walk(v, &format!("{at}[{i}]"), out);
                    }
                }
                Value::Map(entries) => {
                    for (k, v) in entries {
                        walk(v, &format!("{at}.{}", k.json_name()), out);
                    }
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(self, "", &mut out);
        out
    }

    /// Whether every element of a fixed-size array is zero (Go `omitzero` on `[N]T`, including
    /// byte arrays such as the battery's `[2]uint8`).
    pub fn is_zero_array(&self) -> bool {
        match self {
            Value::Array(a) => a.iter().all(Value::is_empty),
            Value::Bytes(b) => b.iter().all(|&x| x == 0),
            other => other.is_empty(),
        }
    }

    pub fn get(&self, key: u64) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find_map(|(k, v)| match k {
                Key::Field(n, _) if *n == key => Some(v),
                _ => None,
            }),
            _ => None,
        }
    }

    /// CBOR as fxamacker/cbor writes it by default: definite lengths, shortest integers,
    /// 8-byte floats, integer keys for struct fields.
    pub fn to_cbor(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        self.write_cbor(&mut out);
        out
    }

    pub fn write_cbor(&self, out: &mut Vec<u8>) {
        match self {
            Value::Null => out.push(0xf6),
            Value::Bool(false) => out.push(0xf4),
            Value::Bool(true) => out.push(0xf5),
            Value::UInt(u) => write_head(out, 0, *u),
            Value::Int(i) if *i >= 0 => write_head(out, 0, *i as u64),
            Value::Int(i) => write_head(out, 1, (-1 - *i) as u64),
            Value::Float(f) => {
                // No NaN or ±Infinity ever leaves the core (payload floats are already
                // sanitised; this covers every other tree, e.g. D-Bus doubles).
                let f = if f.is_finite() { *f } else { 0.0 };
                out.push(0xfb);
                out.extend_from_slice(&f.to_bits().to_be_bytes());
            }
            Value::Text(t) => {
                write_head(out, 3, t.len() as u64);
                out.extend_from_slice(t.as_bytes());
            }
            Value::Bytes(b) => {
                write_head(out, 2, b.len() as u64);
                out.extend_from_slice(b);
            }
            Value::Array(a) => {
                write_head(out, 4, a.len() as u64);
                for v in a {
                    v.write_cbor(out);
                }
            }
            Value::Map(m) => {
                write_head(out, 5, m.len() as u64);
                for (k, v) in m {
                    match k {
                        Key::Field(n, _) => write_head(out, 0, *n),
                        Key::Text(t) => Value::write_text(out, t),
                    }
                    v.write_cbor(out);
                }
            }
        }
    }

    fn write_text(out: &mut Vec<u8>, t: &str) {
        write_head(out, 3, t.len() as u64);
        out.extend_from_slice(t.as_bytes());
    }

    /// JSON with the struct fields' JSON names; byte strings become number arrays.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(2048);
        self.write_json(&mut out);
        out
    }

    fn write_json(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::UInt(u) => {
                let _ = write!(out, "{u}");
            }
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) if f.is_finite() => {
                let _ = write!(out, "{f}");
            }
            Value::Float(_) => out.push_str("null"),
            Value::Text(t) => write_json_string(out, t),
            Value::Bytes(b) => {
                out.push('[');
                for (i, x) in b.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{x}");
                }
                out.push(']');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out);
                }
                out.push(']');
            }
            Value::Map(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_string(out, k.json_name());
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
        }
    }
}

fn write_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= u8::MAX as u64 {
        out.push(m | 24);
        out.push(n as u8);
    } else if n <= u16::MAX as u64 {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= u32::MAX as u64 {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn write_json_string(out: &mut String, s: &str) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn shortest_integer_heads() {
        assert_eq!(hex(&Value::UInt(23).to_cbor()), "17");
        assert_eq!(hex(&Value::UInt(24).to_cbor()), "1818");
        assert_eq!(hex(&Value::UInt(60000).to_cbor()), "19ea60");
        assert_eq!(hex(&Value::UInt(86400).to_cbor()), "1a00015180");
        assert_eq!(hex(&Value::UInt(1 << 40).to_cbor()), "1b0000010000000000");
        assert_eq!(hex(&Value::Int(-1).to_cbor()), "20");
    }

    #[test]
    fn floats_are_always_eight_bytes() {
        assert_eq!(hex(&Value::Float(1.5).to_cbor()), "fb3ff8000000000000");
        assert_eq!(hex(&Value::Float(0.0).to_cbor()), "fb0000000000000000");
    }

    #[test]
    fn non_finite_floats_are_written_as_zero() {
        for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(hex(&Value::Float(f).to_cbor()), "fb0000000000000000");
        }
        assert_eq!(Value::Float(f64::NAN).to_json(), "null");
    }

    #[test]
    fn byte_strings_and_text() {
        assert_eq!(hex(&Value::Bytes(vec![80, 3]).to_cbor()), "425003");
        assert_eq!(
            hex(&Value::Text("0.17.0".into()).to_cbor()),
            "66302e31372e30"
        );
        // omitempty keeps an all-zero slice (per-core usage of idle cores); omitzero drops an
        // all-zero fixed array (no battery)
        assert!(!Value::Bytes(vec![0, 0]).is_empty());
        assert!(Value::Bytes(vec![0, 0]).is_zero_array());
        assert!(!Value::Bytes(vec![0, 3]).is_zero_array());
    }

    #[test]
    fn json_names_and_escapes() {
        let v = MapBuilder::new()
            .field(0, "cpu", Value::Float(1.5))
            .field(1, "h", Value::Text("a\"b\n".into()))
            .field(2, "bat", Value::Bytes(vec![80, 3]))
            .field_omit_empty(3, "gone", Value::Float(0.0))
            .build();
        assert_eq!(v.to_json(), r#"{"cpu":1.5,"h":"a\"b\n","bat":[80,3]}"#);
    }
}
