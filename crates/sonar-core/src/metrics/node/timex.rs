//! node_exporter's `timex` collector: the kernel clock's NTP discipline state from adjtimex(2)
//! in read-only mode (the node-mixin's clock alerts use offset, sync status and max error). One
//! kernel, so a containerised agent reads the host's clock state.

use crate::metrics::MetricSet;

#[cfg(target_os = "linux")]
pub(super) fn families(set: &mut MetricSet) {
    /// adjtimex's answer when the clock is not synchronised.
    const TIME_ERROR: libc::c_int = 5;
    /// Status bit: offsets are in nanoseconds rather than microseconds.
    const STA_NANO: libc::c_int = 0x2000;
    const MICRO: f64 = 1e6;

    // SAFETY: with modes 0 adjtimex only reads the clock state into the struct we own.
    let mut tx: libc::timex = unsafe { std::mem::zeroed() };
    let state = unsafe { libc::adjtimex(&mut tx) };
    if state < 0 {
        return;
    }
    let divisor = if tx.status & STA_NANO != 0 {
        1e9
    } else {
        MICRO
    };
    for (name, help, value) in [
        (
            "node_timex_sync_status",
            "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
            if state == TIME_ERROR { 0.0 } else { 1.0 },
        ),
        (
            "node_timex_offset_seconds",
            "Time offset in between local system and reference clock.",
            tx.offset as f64 / divisor,
        ),
        (
            "node_timex_frequency_adjustment_ratio",
            "Local clock frequency adjustment.",
            1.0 + tx.freq as f64 / 65536.0 / MICRO,
        ),
        (
            "node_timex_maxerror_seconds",
            "Maximum error in seconds.",
            tx.maxerror as f64 / MICRO,
        ),
        (
            "node_timex_estimated_error_seconds",
            "Estimated error in seconds.",
            tx.esterror as f64 / MICRO,
        ),
        (
            "node_timex_status",
            "Value of the status array bits.",
            f64::from(tx.status),
        ),
        (
            "node_timex_loop_time_constant",
            "Phase-locked loop time constant.",
            tx.constant as f64,
        ),
        (
            "node_timex_tick_seconds",
            "Seconds between clock ticks.",
            tx.tick as f64 / MICRO,
        ),
        (
            "node_timex_tai_offset_seconds",
            "International Atomic Time (TAI) offset.",
            f64::from(tx.tai),
        ),
    ] {
        set.gauge(name, help).push(vec![], value);
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn families(_set: &mut MetricSet) {}
