//! Argument validation, kept free of Node-API so it can be unit-tested: the binding reduces each
//! JS argument to an `Arg` and these functions decide, with Node-style messages and codes.

use crate::napi::JsError;
use sonar_core::probe::Area;
use sonar_core::service_control::UnitAction;
use sonar_core::{DataRequest, Dialect, SettingError, Settings};
use std::collections::HashMap;

pub const ERR_INVALID_ARG_TYPE: &str = "ERR_INVALID_ARG_TYPE";
pub const ERR_INVALID_ARG_VALUE: &str = "ERR_INVALID_ARG_VALUE";
pub const ERR_SONAR_SETTING: &str = "ERR_SONAR_SETTING";

/// The hub's default cache time (one minute).
pub const DEFAULT_CACHE_TIME_MS: u16 = 60_000;

/// A JS argument reduced to what validation needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Undefined,
    Number(f64),
    Text(String),
    Object,
    /// A JS array and its length.
    Array(u32),
    Bool(bool),
    /// Any other `typeof` (null, boolean, function, symbol, bigint…).
    Other(&'static str),
}

impl Arg {
    /// The "Received …" part of a message, as Node words it.
    pub fn received(&self) -> String {
        match self {
            Arg::Undefined => "Received undefined".to_string(),
            Arg::Number(n) => format!("Received {}", js_number(*n)),
            Arg::Text(s) => {
                let shown: String = s.chars().take(28).collect();
                let more = if shown.len() < s.len() { "..." } else { "" };
                format!("Received type string ('{shown}{more}')")
            }
            Arg::Object => "Received type object".to_string(),
            Arg::Array(_) => "Received an instance of Array".to_string(),
            Arg::Bool(b) => format!("Received type boolean ({b})"),
            Arg::Other("null") => "Received null".to_string(),
            Arg::Other(t) => format!("Received type {t}"),
        }
    }
}

fn js_number(n: f64) -> String {
    if n.is_nan() {
        "NaN".to_string()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
    } else {
        format!("{n}")
    }
}

/// `options` of collect/snapshot: absent, or an object to read options from.
pub fn options_given(arg: &Arg) -> Result<bool, JsError> {
    match arg {
        Arg::Undefined => Ok(false),
        Arg::Object | Arg::Array(_) => Ok(true),
        other => Err(JsError::type_error(
            ERR_INVALID_ARG_TYPE,
            format!(
                "The \"options\" argument must be of type object. {}",
                other.received()
            ),
        )),
    }
}

/// `options.cacheTimeMs`: an integer 0..=65535, 60000 when absent.
pub fn cache_time_ms(arg: &Arg) -> Result<u16, JsError> {
    match arg {
        Arg::Undefined => Ok(DEFAULT_CACHE_TIME_MS),
        Arg::Number(n) => whole_number_in(*n, u16::MAX)
            .and_then(|v| u16::try_from(v).ok())
            .ok_or_else(|| {
                JsError::range_error(
                    ERR_INVALID_ARG_VALUE,
                    format!(
                        "The \"cacheTimeMs\" option must be an integer from 0 to 65535. {}",
                        arg.received()
                    ),
                )
            }),
        other => Err(JsError::type_error(
            ERR_INVALID_ARG_VALUE,
            format!(
                "The \"cacheTimeMs\" option must be of type number. {}",
                other.received()
            ),
        )),
    }
}

/// `setConnectionType(type)`: 0 none, 1 SSH, 2 WebSocket.
pub fn connection_type(arg: &Arg) -> Result<u8, JsError> {
    match arg {
        Arg::Number(n) => whole_number_in(*n, 2)
            .and_then(|v| u8::try_from(v).ok())
            .ok_or_else(|| {
                JsError::range_error(
                    ERR_INVALID_ARG_VALUE,
                    format!(
                        "The \"type\" argument must be 0, 1 or 2. {}",
                        arg.received()
                    ),
                )
            }),
        other => Err(JsError::type_error(
            ERR_INVALID_ARG_VALUE,
            format!(
                "The \"type\" argument must be of type number. {}",
                other.received()
            ),
        )),
    }
}

fn whole_number_in(n: f64, max: u16) -> Option<u64> {
    (n.is_finite() && n.fract() == 0.0 && n >= 0.0 && n <= f64::from(max)).then_some(n as u64)
}

/// `configure(settings)` needs an object (plain, `process.env`, …).
pub fn settings_object(arg: &Arg) -> Result<(), JsError> {
    match arg {
        Arg::Object | Arg::Array(_) => Ok(()),
        other => Err(JsError::type_error(
            ERR_INVALID_ARG_TYPE,
            format!(
                "The \"settings\" argument must be of type object. {}",
                other.received()
            ),
        )),
    }
}

/// One setting's raw value: a string (even "", which means something for SENSORS) or absent.
pub fn setting_value(name: &str, arg: Arg) -> Result<Option<String>, JsError> {
    match arg {
        Arg::Undefined => Ok(None),
        Arg::Text(s) => Ok(Some(s)),
        other => Err(JsError::type_error(
            ERR_INVALID_ARG_TYPE,
            format!(
                "The setting \"{name}\" must be a string or undefined. {}",
                other.received()
            ),
        )),
    }
}

/// The core's settings from the raw values; its message names the setting and an example.
pub fn settings_from(values: &HashMap<&str, String>) -> Result<Settings, JsError> {
    Settings::from_lookup(&|name: &str| values.get(name).cloned()).map_err(setting_error)
}

pub fn setting_error(e: SettingError) -> JsError {
    JsError::error(ERR_SONAR_SETTING, e.to_string())
}

/// `options.containers`: an array, or undefined/null when no engine answered (key 2 null).
/// Returns the array's length.
pub fn containers_list(arg: &Arg) -> Result<Option<u32>, JsError> {
    match arg {
        Arg::Undefined | Arg::Other("null") => Ok(None),
        Arg::Array(len) => Ok(Some(*len)),
        other => Err(type_error("containers", "an array or null", other)),
    }
}

/// `options.containersAgeMs`: how long ago the engines were read, 0 when absent.
pub fn containers_age_ms(arg: &Arg) -> Result<u64, JsError> {
    match arg {
        Arg::Undefined => Ok(0),
        other => bounded_field("containersAgeMs", other, u32::MAX),
    }
}

/// `options.podman`: a boolean, false when absent.
pub fn podman_flag(arg: &Arg) -> Result<bool, JsError> {
    match arg {
        Arg::Undefined => Ok(false),
        Arg::Bool(b) => Ok(*b),
        other => Err(type_error("podman", "of type boolean", other)),
    }
}

/// `includeDetails`: absent from a v0.17 hub's GetData, a boolean from a v0.18 hub's.
pub fn data_request(arg: &Arg) -> Result<DataRequest, JsError> {
    match arg {
        Arg::Undefined => Ok(DataRequest::default()),
        Arg::Bool(b) => Ok(DataRequest {
            dialect: Dialect::V018,
            include_details: *b,
        }),
        other => Err(type_error("includeDetails", "of type boolean", other)),
    }
}

/// An element of a list that must be a plain object (`containers[3]`, `containers[3].ports[0]`).
pub fn list_item(path: &str, arg: &Arg) -> Result<(), JsError> {
    match arg {
        Arg::Object => Ok(()),
        other => Err(type_error(path, "of type object", other)),
    }
}

/// A list inside an item (`containers[3].ports`); returns its length.
pub fn inner_list(path: &str, arg: &Arg) -> Result<u32, JsError> {
    match arg {
        Arg::Array(len) => Ok(*len),
        other => Err(type_error(path, "an array", other)),
    }
}

pub fn text_field(path: &str, arg: Arg) -> Result<String, JsError> {
    match arg {
        Arg::Text(s) => Ok(s),
        other => Err(type_error(path, "of type string", &other)),
    }
}

/// An optional string field: "" when undefined.
pub fn optional_text_field(path: &str, arg: Arg) -> Result<String, JsError> {
    match arg {
        Arg::Undefined => Ok(String::new()),
        other => text_field(path, other),
    }
}

/// An optional raw counter: 0 when undefined.
pub fn optional_counter_field(path: &str, arg: &Arg) -> Result<u64, JsError> {
    match arg {
        Arg::Undefined => Ok(0),
        other => counter_field(path, other),
    }
}

/// A raw engine counter: a whole number from 0 to 2^64 − 1.
pub fn counter_field(path: &str, arg: &Arg) -> Result<u64, JsError> {
    // 2^64 as f64; every f64 below it converts to u64 exactly (the large ones are integers).
    const LIMIT: f64 = 18_446_744_073_709_551_616.0;
    number_field(path, arg, LIMIT, "a non-negative integer")
}

/// A whole number from 0 to `max` (`onlineCpus`, `publicPort`).
pub fn bounded_field(path: &str, arg: &Arg, max: u32) -> Result<u64, JsError> {
    number_field(
        path,
        arg,
        f64::from(max) + 1.0,
        &format!("an integer from 0 to {max}"),
    )
}

fn number_field(path: &str, arg: &Arg, limit: f64, what: &str) -> Result<u64, JsError> {
    match arg {
        Arg::Number(n) if n.is_finite() && n.fract() == 0.0 && *n >= 0.0 && *n < limit => {
            Ok(*n as u64)
        }
        Arg::Number(_) => Err(JsError::range_error(
            ERR_INVALID_ARG_VALUE,
            format!("The \"{path}\" property must be {what}. {}", arg.received()),
        )),
        other => Err(type_error(path, "of type number", other)),
    }
}

fn type_error(path: &str, what: &str, arg: &Arg) -> JsError {
    JsError::type_error(
        ERR_INVALID_ARG_TYPE,
        format!("The \"{path}\" property must be {what}. {}", arg.received()),
    )
}

/// `probe(settings, areas?)`: the areas list, every area when absent. Returns its length.
pub fn probe_area_list(arg: &Arg) -> Result<Option<u32>, JsError> {
    match arg {
        Arg::Undefined => Ok(None),
        Arg::Array(len) => Ok(Some(*len)),
        other => Err(JsError::type_error(
            ERR_INVALID_ARG_TYPE,
            format!(
                "The \"areas\" argument must be an array. {}",
                other.received()
            ),
        )),
    }
}

/// One entry of `areas`: "gpu", "systemd", "smart" or "sensors".
pub fn probe_area(index: u32, arg: &Arg) -> Result<Area, JsError> {
    let names = Area::ALL.map(Area::name).join("', '");
    match arg {
        Arg::Text(name) => Area::from_name(name).ok_or_else(|| {
            JsError::type_error(
                ERR_INVALID_ARG_VALUE,
                format!(
                    "The \"areas[{index}]\" element must be one of '{names}'. {}",
                    arg.received()
                ),
            )
        }),
        other => Err(JsError::type_error(
            ERR_INVALID_ARG_TYPE,
            format!(
                "The \"areas[{index}]\" element must be of type string. {}",
                other.received()
            ),
        )),
    }
}

/// `serviceAction(unit, action, …)`: one of the host actions on a systemd unit.
pub fn service_action(arg: Arg) -> Result<UnitAction, JsError> {
    match &arg {
        Arg::Text(name) => UnitAction::parse(name).ok_or_else(|| {
            JsError::type_error(
                ERR_INVALID_ARG_VALUE,
                format!(
                    "The \"action\" argument must be 'start', 'stop', 'restart', 'reload', 'enable' or 'disable'. {}",
                    arg.received()
                ),
            )
        }),
        other => Err(type_error("action", "of type string", other)),
    }
}

/// Stages of the hidden `__panicForTest(stage)` hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanicStage {
    /// In the exported function itself, before any work is queued.
    Entry,
    /// On the threadpool.
    Execute,
    /// While converting the result on the JS thread.
    Complete,
    /// On the threadpool while holding the agent's lock (poisons it).
    Poison,
}

pub fn panic_stage(arg: &Arg) -> Result<PanicStage, JsError> {
    match arg {
        Arg::Text(s) if s == "entry" => Ok(PanicStage::Entry),
        Arg::Text(s) if s == "execute" => Ok(PanicStage::Execute),
        Arg::Text(s) if s == "complete" => Ok(PanicStage::Complete),
        Arg::Text(s) if s == "poison" => Ok(PanicStage::Poison),
        other => Err(JsError::type_error(
            ERR_INVALID_ARG_VALUE,
            format!(
                "The \"stage\" argument must be 'entry', 'execute', 'complete' or 'poison'. {}",
                other.received()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::napi::ErrorKind;

    #[test]
    fn cache_time_defaults_and_bounds() {
        assert_eq!(cache_time_ms(&Arg::Undefined), Ok(60_000));
        assert_eq!(cache_time_ms(&Arg::Number(0.0)), Ok(0));
        assert_eq!(cache_time_ms(&Arg::Number(-0.0)), Ok(0));
        assert_eq!(cache_time_ms(&Arg::Number(1000.0)), Ok(1000));
        assert_eq!(cache_time_ms(&Arg::Number(65535.0)), Ok(65535));
    }

    #[test]
    fn cache_time_rejects_out_of_range_fractions_and_nan() {
        for n in [
            65536.0,
            -1.0,
            1.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
        ] {
            let e = cache_time_ms(&Arg::Number(n)).unwrap_err();
            assert_eq!(e.kind, ErrorKind::RangeError, "{n}");
            assert_eq!(e.code, ERR_INVALID_ARG_VALUE);
            assert!(e.message.contains("cacheTimeMs"), "{}", e.message);
        }
        let e = cache_time_ms(&Arg::Number(f64::NAN)).unwrap_err();
        assert!(e.message.ends_with("Received NaN"), "{}", e.message);
    }

    #[test]
    fn cache_time_rejects_other_types() {
        for arg in [Arg::Text("1000".into()), Arg::Object, Arg::Other("null")] {
            let e = cache_time_ms(&arg).unwrap_err();
            assert_eq!(e.kind, ErrorKind::TypeError);
            assert_eq!(e.code, ERR_INVALID_ARG_VALUE);
            assert!(e.message.contains("cacheTimeMs"));
        }
    }

    #[test]
    fn options_must_be_an_object_when_given() {
        assert_eq!(options_given(&Arg::Undefined), Ok(false));
        assert_eq!(options_given(&Arg::Object), Ok(true));
        let e = options_given(&Arg::Other("null")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::TypeError);
        assert!(e.message.ends_with("Received null"), "{}", e.message);
    }

    #[test]
    fn connection_types() {
        assert_eq!(connection_type(&Arg::Number(0.0)), Ok(0));
        assert_eq!(connection_type(&Arg::Number(2.0)), Ok(2));
        for n in [3.0, -1.0, 1.5, f64::NAN] {
            let e = connection_type(&Arg::Number(n)).unwrap_err();
            assert_eq!(e.kind, ErrorKind::RangeError);
        }
        let e = connection_type(&Arg::Undefined).unwrap_err();
        assert_eq!(e.kind, ErrorKind::TypeError);
    }

    #[test]
    fn setting_values_string_or_undefined() {
        assert_eq!(setting_value("NICS", Arg::Undefined), Ok(None));
        assert_eq!(
            setting_value("SENSORS", Arg::Text(String::new())),
            Ok(Some(String::new()))
        );
        let e = setting_value("NICS", Arg::Number(1.0)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::TypeError);
        assert!(e.message.contains("\"NICS\""), "{}", e.message);
        let e = setting_value("NICS", Arg::Other("null")).unwrap_err();
        assert!(e.message.contains("Received null"));
    }

    #[test]
    fn setting_errors_keep_the_core_message() {
        let mut values = HashMap::new();
        values.insert("DISK_USAGE_CACHE", "soon".to_string());
        let e = settings_from(&values).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Error);
        assert_eq!(e.code, ERR_SONAR_SETTING);
        assert!(
            e.message.starts_with("DISK_USAGE_CACHE=\"soon\""),
            "{}",
            e.message
        );
        values.insert("DISK_USAGE_CACHE", "15m".to_string());
        assert!(settings_from(&values).is_ok());
    }

    #[test]
    fn long_strings_are_shortened_in_messages() {
        let e = cache_time_ms(&Arg::Text("x".repeat(100))).unwrap_err();
        assert!(e.message.len() < 120, "{}", e.message);
        assert!(e.message.contains("..."));
    }

    #[test]
    fn containers_list_or_null() {
        assert_eq!(containers_list(&Arg::Undefined), Ok(None));
        assert_eq!(containers_list(&Arg::Other("null")), Ok(None));
        assert_eq!(containers_list(&Arg::Array(0)), Ok(Some(0)));
        assert_eq!(containers_list(&Arg::Array(3)), Ok(Some(3)));
        for arg in [Arg::Object, Arg::Number(1.0), Arg::Bool(true)] {
            let e = containers_list(&arg).unwrap_err();
            assert_eq!(e.kind, ErrorKind::TypeError);
            assert_eq!(e.code, ERR_INVALID_ARG_TYPE);
            assert!(e.message.contains("\"containers\""), "{}", e.message);
        }
    }

    #[test]
    fn podman_flag_boolean_or_absent() {
        assert_eq!(podman_flag(&Arg::Undefined), Ok(false));
        assert_eq!(podman_flag(&Arg::Bool(true)), Ok(true));
        let e = podman_flag(&Arg::Text("true".into())).unwrap_err();
        assert_eq!(e.kind, ErrorKind::TypeError);
        assert!(e.message.contains("\"podman\""), "{}", e.message);
    }

    #[test]
    fn container_fields_name_their_path() {
        let e = counter_field("containers[3].cpuTotal", &Arg::Text("12".into())).unwrap_err();
        assert_eq!(e.kind, ErrorKind::TypeError);
        assert_eq!(e.code, ERR_INVALID_ARG_TYPE);
        assert!(
            e.message
                .starts_with("The \"containers[3].cpuTotal\" property"),
            "{}",
            e.message
        );
        for n in [-1.0, 1.5, f64::NAN, f64::INFINITY, 1.9e19] {
            let e = counter_field("containers[0].netRx", &Arg::Number(n)).unwrap_err();
            assert_eq!(e.kind, ErrorKind::RangeError, "{n}");
            assert!(e.message.contains("containers[0].netRx"));
        }
        let e = text_field("containers[1].id", Arg::Undefined).unwrap_err();
        assert!(e.message.contains("\"containers[1].id\""), "{}", e.message);
        assert!(e.message.ends_with("Received undefined"), "{}", e.message);
        let e = list_item("containers[2]", &Arg::Other("null")).unwrap_err();
        assert!(e.message.contains("\"containers[2]\""), "{}", e.message);
        assert!(list_item("containers[2]", &Arg::Array(1)).is_err());
        assert!(inner_list("containers[2].ports", &Arg::Object).is_err());
    }

    #[test]
    fn container_numbers_in_range() {
        assert_eq!(
            counter_field("c", &Arg::Number(1_368_474_900_000_000.0)),
            Ok(1_368_474_900_000_000)
        );
        assert_eq!(counter_field("c", &Arg::Number(0.0)), Ok(0));
        assert_eq!(
            counter_field("c", &Arg::Number(18_446_744_073_709_549_568.0)),
            Ok(18_446_744_073_709_549_568)
        );
        assert_eq!(bounded_field("p", &Arg::Number(65535.0), 65535), Ok(65535));
        let e = bounded_field(
            "containers[0].ports[1].publicPort",
            &Arg::Number(65536.0),
            65535,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::RangeError);
        assert!(e.message.contains("from 0 to 65535"), "{}", e.message);
        assert_eq!(text_field("t", Arg::Text("x".into())), Ok("x".to_string()));
    }

    #[test]
    fn optional_container_fields_default_when_absent() {
        assert_eq!(optional_text_field("h", Arg::Undefined), Ok(String::new()));
        assert_eq!(
            optional_text_field("h", Arg::Text("healthy".into())),
            Ok("healthy".to_string())
        );
        let e = optional_text_field("containers[0].health", Arg::Number(1.0)).unwrap_err();
        assert!(
            e.message.contains("\"containers[0].health\""),
            "{}",
            e.message
        );
        assert_eq!(optional_counter_field("r", &Arg::Undefined), Ok(0));
        assert_eq!(optional_counter_field("r", &Arg::Number(7.0)), Ok(7));
        assert!(optional_counter_field("containers[0].readUs", &Arg::Number(-1.0)).is_err());
    }

    #[test]
    fn probe_areas_named_or_all() {
        assert_eq!(probe_area_list(&Arg::Undefined), Ok(None));
        assert_eq!(probe_area_list(&Arg::Array(2)), Ok(Some(2)));
        let e = probe_area_list(&Arg::Text("gpu".into())).unwrap_err();
        assert_eq!(e.code, ERR_INVALID_ARG_TYPE);
        assert_eq!(probe_area(0, &Arg::Text("smart".into())), Ok(Area::Smart));
        let e = probe_area(1, &Arg::Text("disks".into())).unwrap_err();
        assert_eq!(e.code, ERR_INVALID_ARG_VALUE);
        assert!(e.message.contains("areas[1]"), "{}", e.message);
        assert!(
            e.message.contains("'gpu', 'systemd', 'smart', 'sensors'"),
            "{}",
            e.message
        );
        let e = probe_area(0, &Arg::Number(1.0)).unwrap_err();
        assert_eq!(e.code, ERR_INVALID_ARG_TYPE);
    }

    #[test]
    fn panic_stages() {
        assert_eq!(
            panic_stage(&Arg::Text("execute".into())),
            Ok(PanicStage::Execute)
        );
        assert!(panic_stage(&Arg::Undefined).is_err());
    }
}
