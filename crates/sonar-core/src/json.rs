//! The JSON the tools we run print: smartctl's `--json` documents (SMART) and intel_gpu_top's
//! `-J` periods (GPU). A small reader with Go `encoding/json` manners rather than serde_json:
//! members stay in document order (intel_gpu_top's engine order is the order we send), names
//! also match ASCII case-insensitively as Go's decoder does, and numbers keep their text so
//! integer fields are checked the way Go checks them (range, no fraction).

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    /// The number's literal text.
    Number(String),
    Text(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// A field was present with a type or range the Go struct could not hold: the whole parse fails,
/// as `json.Unmarshal` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mismatch;

impl Json {
    pub fn parse(text: &str) -> Option<Json> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
            depth: 0,
        };
        let v = p.value()?;
        p.ws();
        if p.i == p.s.len() {
            Some(v)
        } else {
            None
        }
    }

    /// Object member by name: exact match first, then ASCII case-insensitive like Go's decoder.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members
                .iter()
                .find(|(k, _)| k == key)
                .or_else(|| members.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Present and not null (smartctl writes null for sections that do not apply).
    pub fn has(&self, key: &str) -> bool {
        !matches!(self.get(key), None | Some(Json::Null))
    }

    /// A nested object; absent or null gives an empty object, another type is a mismatch.
    pub fn object(&self, key: &str) -> Result<&Json, Mismatch> {
        static EMPTY: Json = Json::Object(Vec::new());
        match self.get(key) {
            None | Some(Json::Null) => Ok(&EMPTY),
            Some(v @ Json::Object(_)) => Ok(v),
            Some(_) => Err(Mismatch),
        }
    }

    pub fn array(&self, key: &str) -> Result<&[Json], Mismatch> {
        match self.get(key) {
            None | Some(Json::Null) => Ok(&[]),
            Some(Json::Array(items)) => Ok(items),
            Some(_) => Err(Mismatch),
        }
    }

    pub fn text(&self, key: &str) -> Result<String, Mismatch> {
        match self.get(key) {
            None | Some(Json::Null) => Ok(String::new()),
            Some(Json::Text(t)) => Ok(t.clone()),
            Some(_) => Err(Mismatch),
        }
    }

    pub fn boolean(&self, key: &str) -> Result<bool, Mismatch> {
        match self.get(key) {
            None | Some(Json::Null) => Ok(false),
            Some(Json::Bool(b)) => Ok(*b),
            Some(_) => Err(Mismatch),
        }
    }

    /// An unsigned integer no larger than `max` (the Go field's width).
    pub fn uint(&self, key: &str, max: u64) -> Result<u64, Mismatch> {
        match self.get(key) {
            None | Some(Json::Null) => Ok(0),
            Some(Json::Number(n)) => match n.parse::<u64>() {
                Ok(v) if v <= max => Ok(v),
                _ => Err(Mismatch),
            },
            Some(_) => Err(Mismatch),
        }
    }

    pub fn int(&self, key: &str) -> Result<i64, Mismatch> {
        match self.get(key) {
            None | Some(Json::Null) => Ok(0),
            Some(Json::Number(n)) => n.parse::<i64>().map_err(|_| Mismatch),
            Some(_) => Err(Mismatch),
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

const MAX_DEPTH: usize = 128;

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn literal(&mut self, word: &[u8], value: Json) -> Option<Json> {
        if self.s.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Some(value)
        } else {
            None
        }
    }

    fn value(&mut self) -> Option<Json> {
        self.ws();
        match self.peek()? {
            b'n' => self.literal(b"null", Json::Null),
            b't' => self.literal(b"true", Json::Bool(true)),
            b'f' => self.literal(b"false", Json::Bool(false)),
            b'"' => self.string().map(Json::Text),
            b'[' => self.nested(|p| p.array_body()),
            b'{' => self.nested(|p| p.object_body()),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn nested(&mut self, body: impl FnOnce(&mut Self) -> Option<Json>) -> Option<Json> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.i += 1;
        let v = body(self);
        self.depth -= 1;
        v
    }

    fn array_body(&mut self) -> Option<Json> {
        let mut items = Vec::new();
        self.ws();
        if self.peek()? == b']' {
            self.i += 1;
            return Some(Json::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(Json::Array(items));
                }
                _ => return None,
            }
        }
    }

    fn object_body(&mut self) -> Option<Json> {
        let mut members = Vec::new();
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(Json::Object(members));
        }
        loop {
            self.ws();
            if self.peek()? != b'"' {
                return None;
            }
            let key = self.string()?;
            self.ws();
            if self.peek()? != b':' {
                return None;
            }
            self.i += 1;
            members.push((key, self.value()?));
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(Json::Object(members));
                }
                _ => return None,
            }
        }
    }

    fn number(&mut self) -> Option<Json> {
        let start = self.i;
        while matches!(
            self.peek(),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.i += 1;
        }
        let text = std::str::from_utf8(self.s.get(start..self.i)?).ok()?;
        // Validates the grammar loosely; the integer getters are strict.
        text.parse::<f64>().ok()?;
        Some(Json::Number(text.to_string()))
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = std::str::from_utf8(self.s.get(self.i..self.i + 4)?).ok()?;
        self.i += 4;
        u32::from_str_radix(digits, 16).ok()
    }

    fn string(&mut self) -> Option<String> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let c = self.peek()?;
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let e = self.peek()?;
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi)
                                && self.s.get(self.i..self.i + 2) == Some(b"\\u")
                            {
                                self.i += 2;
                                let lo = self.hex4()?;
                                0x10000 + ((hi - 0xD800) << 10) + lo.wrapping_sub(0xDC00)
                            } else {
                                hi
                            };
                            char::from_u32(code).unwrap_or('\u{FFFD}')
                        }
                        _ => return None,
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                _ => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_documents() {
        let j = Json::parse(
            r#" {"a": [1, -2, 3.5e1, true, null], "B": {"s": "x\"\u00e9\ud83d\ude00"}} "#,
        )
        .unwrap();
        assert_eq!(j.array("a").unwrap().len(), 5);
        assert_eq!(j.object("b").unwrap().text("S").unwrap(), "x\"é😀");
        assert!(Json::parse("{\"a\":1} x").is_none());
        assert!(Json::parse("{\"a\":}").is_none());
        assert!(Json::parse(&"[".repeat(1000)).is_none());
    }

    #[test]
    fn integer_getters_check_type_and_range() {
        let j = Json::parse(r#"{"t": 300, "f": 1.5, "n": -1, "s": "7"}"#).unwrap();
        assert_eq!(j.uint("t", u64::from(u16::MAX)), Ok(300));
        assert_eq!(j.uint("t", u64::from(u8::MAX)), Err(Mismatch));
        assert_eq!(j.uint("f", u64::MAX), Err(Mismatch));
        assert_eq!(j.uint("n", u64::MAX), Err(Mismatch));
        assert_eq!(j.int("n"), Ok(-1));
        assert_eq!(j.uint("s", u64::MAX), Err(Mismatch));
        assert_eq!(j.uint("missing", 1), Ok(0));
    }
}
