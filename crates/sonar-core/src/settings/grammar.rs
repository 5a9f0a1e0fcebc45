//! The value grammar every setting shares, whichever side reads it: one boolean spelling, Go
//! durations, separated lists. TypeScript gets its values parsed here too (through the binding),
//! so `SKIP_GPU=1` means the same thing to the agent, the doctor and the core: an error.

use std::time::Duration;

/// `true` or `false`, any case, surrounding blanks ignored; anything else is None. Beszel reads
/// `== "true"` and treats every other spelling as false, so `1`, `yes` or `on` would silently
/// mean "off" there: refusing them is the only reading that cannot surprise anyone.
pub fn parse_bool(value: &str) -> Option<bool> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("true") {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// The items of a separated list, trimmed, empty items dropped (`"a, ,b,"` → `["a", "b"]`).
pub fn split_list<'a>(value: &'a str, separator: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    // an empty separator would split nowhere useful: treat the value as one item
    let separator = if separator.is_empty() {
        "\0"
    } else {
        separator
    };
    value
        .split(separator)
        .map(str::trim)
        .filter(|e| !e.is_empty())
}

/// Go `time.ParseDuration`: a sequence of decimal numbers with units ns, us/µs, ms, s, m, h
/// ("1h30m", "1.5h", "500ms"); a bare "0" is zero. Negative durations are rejected.
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    if s.is_empty() {
        return None;
    }
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    let mut total_ns: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total_ns += number * scale;
    }
    if !total_ns.is_finite() || total_ns > u64::MAX as f64 {
        return None;
    }
    Some(Duration::from_nanos(total_ns as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_go_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_go_duration("15"), None);
        assert_eq!(parse_go_duration("abc"), None);
        assert_eq!(parse_go_duration("-5m"), None);
    }

    #[test]
    fn one_boolean_spelling() {
        for t in ["true", "TRUE", " True "] {
            assert_eq!(parse_bool(t), Some(true), "{t:?}");
        }
        for f in ["false", "FALSE", "False\n"] {
            assert_eq!(parse_bool(f), Some(false), "{f:?}");
        }
        for bad in ["1", "0", "yes", "no", "on", "off", "t", "", "truee"] {
            assert_eq!(parse_bool(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn lists_drop_blank_items() {
        let items: Vec<&str> = split_list(" a, ,b,, c ", ",").collect();
        assert_eq!(items, ["a", "b", "c"]);
        let items: Vec<&str> = split_list("/dev/sda;/dev/sdb:sat", ";").collect();
        assert_eq!(items, ["/dev/sda", "/dev/sdb:sat"]);
        let items: Vec<&str> = split_list("x,y", "").collect();
        assert_eq!(items, ["x,y"]);
    }
}
