//! The process-wide S.M.A.R.T. monitor. smartctl runs on the threadpool (first request) or on the
//! monitor's own thread (later refreshes), never on the JS thread.

use sonar_core::collect::smart::runner::{SmartConfig, SmartMonitor};
use sonar_core::roots::Roots;
use std::sync::{Mutex, MutexGuard, PoisonError};

static MONITOR: Mutex<Option<SmartMonitor>> = Mutex::new(None);

fn lock() -> MutexGuard<'static, Option<SmartMonitor>> {
    MONITOR.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Replaces the monitor (SMART_DEVICES / EXCLUDE_SMART looked up by the caller; md arrays and
/// eMMC read under the agent's configured roots, HOST_SYS). Only looks for the binary: nothing
/// runs yet.
pub fn configure(lookup: &dyn Fn(&str) -> Option<String>, roots: Roots) -> SmartMonitor {
    let monitor = SmartMonitor::new(SmartConfig {
        mdraid_roots: Some(roots.clone()),
        emmc_roots: Some(roots),
        ..SmartConfig::from_lookup(lookup)
    });
    *lock() = Some(monitor.clone());
    monitor
}

pub fn monitor() -> SmartMonitor {
    lock()
        .get_or_insert_with(|| {
            SmartMonitor::new(SmartConfig {
                mdraid_roots: Some(crate::state::roots()),
                emmc_roots: Some(crate::state::roots()),
                ..SmartConfig::default()
            })
        })
        .clone()
}
