//! GetSystemdInfo and the systemd collector's status, for the JS side: conversion and error
//! mapping only (the D-Bus work is in sonar-core, run on the threadpool).

use crate::napi::JsError;
use crate::state;
use sonar_core::collect::systemd::SystemdStatus;
#[cfg(target_os = "linux")]
use std::time::Duration;

#[cfg(target_os = "linux")]
pub const ERR_SYSTEMD_NAME: &str = "ERR_SONAR_SYSTEMD_NAME";
pub const ERR_SYSTEMD_UNAVAILABLE: &str = "ERR_SONAR_SYSTEMD_UNAVAILABLE";
pub const ERR_SYSTEMD: &str = "ERR_SONAR_SYSTEMD";

/// The hub waits 5 s for this answer (spec protocol §2.10); finish inside that.
#[cfg(target_os = "linux")]
const DETAILS_DEADLINE: Duration = Duration::from_millis(4500);

/// CBOR of the unit's property map (response key 6).
#[cfg(target_os = "linux")]
pub fn details(name: &str) -> Result<Vec<u8>, JsError> {
    use sonar_core::collect::systemd::bus::BusError;
    use sonar_core::collect::systemd::details::{service_details, DetailsError};
    let settings = state::settings();
    if settings.skip_systemd {
        return Err(JsError::error(
            ERR_SYSTEMD_UNAVAILABLE,
            "systemd monitoring is off (SKIP_SYSTEMD=true)",
        ));
    }
    match service_details(
        settings.system_bus_address.as_deref(),
        name,
        DETAILS_DEADLINE,
    ) {
        Ok(value) => Ok(value.to_cbor()),
        Err(DetailsError::InvalidName(m)) => Err(JsError::error(ERR_SYSTEMD_NAME, m)),
        Err(DetailsError::Bus(BusError::Connect(m))) => {
            Err(JsError::error(ERR_SYSTEMD_UNAVAILABLE, m))
        }
        Err(DetailsError::Bus(e)) => Err(JsError::error(ERR_SYSTEMD, e.to_string())),
    }
}

#[cfg(not(target_os = "linux"))]
pub fn details(_name: &str) -> Result<Vec<u8>, JsError> {
    Err(JsError::error(
        ERR_SYSTEMD_UNAVAILABLE,
        "systemd is monitored on Linux only",
    ))
}

/// ("disabled" | "starting" | "available" | "unavailable", units, reason)
pub fn status() -> (&'static str, Option<usize>, Option<String>) {
    match state::systemd_status() {
        None => ("starting", None, None),
        Some(SystemdStatus::Starting) => ("starting", None, None),
        Some(SystemdStatus::Disabled(why)) => ("disabled", None, Some(why)),
        Some(SystemdStatus::Available { units }) => ("available", Some(units), None),
        Some(SystemdStatus::Unavailable(why)) => ("unavailable", None, Some(why)),
    }
}
