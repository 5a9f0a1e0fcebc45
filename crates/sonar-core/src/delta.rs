//! Counter deltas that survive wraps and resets. Kernel counters go backwards when a driver is
//! reloaded, an interface is recreated or a 32-bit counter wraps; a plain unsigned subtraction then
//! produces an absurd spike (Beszel issues #1267, #1246, #1983). Callers add a plausibility cap.

const U32_SPAN: u64 = 1 << 32;

/// Increase of a monotonic counter from `prev` to `cur`.
/// - normal: `cur - prev`;
/// - a 32-bit counter that wrapped (prev in the upper half of the 32-bit range, cur in the lower
///   half): the distance across the wrap;
/// - anything else that went backwards is a reset: only what accumulated since (`cur`) counts.
pub fn counter_delta(prev: u64, cur: u64) -> u64 {
    if cur >= prev {
        cur - prev
    } else if (U32_SPAN / 2..U32_SPAN).contains(&prev) && cur < U32_SPAN / 2 {
        U32_SPAN - prev + cur
    } else {
        cur
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_wrap_of_a_32_bit_counter() {
        assert_eq!(counter_delta(u32::MAX as u64 - 99, 100), 200);
    }

    #[test]
    fn counter_reset_counts_only_the_new_bytes() {
        assert_eq!(counter_delta(5_000_000_000_000, 1_000), 1_000);
        assert_eq!(counter_delta(1_000_000, 10), 10);
    }

    #[test]
    fn normal_increase() {
        assert_eq!(counter_delta(10, 15), 5);
        assert_eq!(counter_delta(7, 7), 0);
    }
}
