//! Unit conversions shared by every collector. "MB" and "GB" in Beszel mean MiB and GiB.

const MIB: f64 = 1_048_576.0;
const GIB: f64 = 1_073_741_824.0;

/// Rounds to two decimals, half away from zero (Go's `math.Round`). Non-finite input gives 0 so a
/// bad reading can never poison a payload with NaN or infinity.
pub fn two_decimals(x: f64) -> f64 {
    if !x.is_finite() {
        return 0.0;
    }
    (x * 100.0).round() / 100.0
}

pub fn bytes_to_mib(bytes: f64) -> f64 {
    two_decimals(bytes / MIB)
}

pub fn bytes_to_gib(bytes: f64) -> f64 {
    two_decimals(bytes / GIB)
}

/// Clamps a percentage into 0..=100.
pub fn clamp_pct(x: f64) -> f64 {
    if !x.is_finite() || x < 0.0 {
        0.0
    } else if x > 100.0 {
        100.0
    } else {
        x
    }
}

/// Per-second rate from a counter delta, integer math as the Go agent does (bytes·1000/ms).
pub fn per_second(delta: u64, elapsed_ms: u64) -> u64 {
    if elapsed_ms == 0 {
        return 0;
    }
    ((delta as u128 * 1000) / elapsed_ms as u128).min(u64::MAX as u128) as u64
}

/// Go's `strconv.ParseUint(s, 0, 64)`: 0x/0o/0b prefixes, a leading 0 means octal, `_` only
/// between digits after a prefix. SMART raw values and /proc/cpuinfo's `CPU part: 0xd08` use it.
pub fn parse_go_uint(s: &str) -> Option<u64> {
    let s = s.strip_prefix('+').unwrap_or(s);
    let lower = s.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d, true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d, true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d, true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..], true)
    } else {
        (10, lower.as_str(), false)
    };
    let digits = if prefixed && digits.contains('_') {
        if digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
            return None;
        }
        digits.replace('_', "")
    } else {
        digits.to_string()
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(&digits, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(two_decimals(1.005_000_000_1), 1.01);
        assert_eq!(two_decimals(0.125), 0.13);
        assert_eq!(two_decimals(-0.125), -0.13);
        assert_eq!(two_decimals(f64::NAN), 0.0);
        assert_eq!(two_decimals(f64::INFINITY), 0.0);
    }

    #[test]
    fn network_rates_pinned_by_the_go_tests() {
        // network_test.go@17: 1 000 000 B/s → 0.95 MiB/s, 2 000 000 B/s → 1.91 MiB/s
        assert_eq!(bytes_to_mib(1_000_000.0), 0.95);
        assert_eq!(bytes_to_mib(2_000_000.0), 1.91);
    }

    #[test]
    fn per_second_uses_integer_math() {
        assert_eq!(per_second(1500, 1000), 1500);
        assert_eq!(per_second(1000, 3), 333_333);
        assert_eq!(per_second(5, 0), 0);
    }
}
