//! Host actions 7–9 (ListServices, GetServiceStatus, PerformServiceAction): systemd units listed,
//! read and acted on over the system bus, through the collector's client (collect/systemd/bus.rs;
//! no `systemctl`). The caller (ts/extensions/services.ts) has already checked the requested name
//! against the host's policy; here the unit systemd resolves the name to (an alias names another
//! unit) must match the same patterns too, with the core's one glob matcher. Linux only.

use crate::glob::glob_match;
use std::time::Duration;

/// ListServices: connect, list, and load the unit files not in memory yet.
pub const LIST_DEADLINE: Duration = Duration::from_secs(10);
/// GetServiceStatus: a handful of calls.
pub const STATUS_DEADLINE: Duration = Duration::from_secs(5);
/// How long PerformServiceAction waits for its job to finish before answering anyway.
pub const JOB_WAIT: Duration = Duration::from_secs(30);
/// The calls around the wait (load, queue, read back) get this much on top of it.
#[cfg(target_os = "linux")]
const CALL_MARGIN: Duration = Duration::from_secs(10);
/// How often a pending job is looked at (systemd drops the job's object when it ends).
#[cfg(target_os = "linux")]
const JOB_POLL: Duration = Duration::from_millis(100);

/// The unit types systemd knows; a unit name ends in one of them.
pub const UNIT_TYPES: &[&str] = &[
    "service",
    "socket",
    "target",
    "device",
    "mount",
    "automount",
    "swap",
    "timer",
    "path",
    "slice",
    "scope",
];

/// What a hub may ask for, by its wire name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitAction {
    Start,
    Stop,
    Restart,
    Reload,
    Enable,
    Disable,
}

impl UnitAction {
    pub fn parse(name: &str) -> Option<UnitAction> {
        Some(match name {
            "start" => UnitAction::Start,
            "stop" => UnitAction::Stop,
            "restart" => UnitAction::Restart,
            "reload" => UnitAction::Reload,
            "enable" => UnitAction::Enable,
            "disable" => UnitAction::Disable,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            UnitAction::Start => "start",
            UnitAction::Stop => "stop",
            UnitAction::Restart => "restart",
            UnitAction::Reload => "reload",
            UnitAction::Enable => "enable",
            UnitAction::Disable => "disable",
        }
    }
}

/// One row of ListServices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRow {
    pub name: String,
    pub load_state: String,
    pub active_state: String,
    pub sub_state: String,
    pub description: String,
}

/// GetServiceStatus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitStatus {
    /// the unit's own name (systemd's Id), which differs from the request for an alias
    pub name: String,
    pub load_state: String,
    pub active_state: String,
    pub sub_state: String,
    pub description: String,
    pub unit_file_state: String,
    /// 0 when none (or not a service)
    pub main_pid: u32,
    /// µs since the epoch; 0 when never active
    pub active_enter_timestamp: u64,
}

/// PerformServiceAction, done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionDone {
    pub unit: String,
    pub action: UnitAction,
    /// the job's object path; empty for enable/disable (no job)
    pub job: String,
    /// ActiveState once the job finished, or when the wait ran out
    pub active_state: String,
    /// the job was still running when the wait ran out
    pub wait_ran_out: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlError {
    /// Not a unit name (characters systemd does not allow, no type suffix).
    InvalidName(String),
    /// The name resolves to a unit (alias → target) that none of the patterns allows.
    NotAllowed { requested: String, unit: String },
    /// The unit has no usable unit file (LoadState not-found, masked, bad-setting, error).
    NotLoaded { unit: String, load_state: String },
    /// Refused by polkit (or, without polkitd, by systemd itself) at `method`.
    Denied(Denial),
    /// The system bus cannot be reached.
    Unavailable(String),
    /// systemd's own error, or the connection broke.
    Systemd(String),
}

/// Where and how an unprivileged call was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub unit: String,
    /// the D-Bus method systemd refused (Start, EnableUnitFiles, Reload…)
    pub method: &'static str,
    /// the polkit action systemd asked about for it
    pub polkit_action: &'static str,
    /// the D-Bus error name and message, as systemd answered
    pub error: String,
    pub detail: String,
    /// enable/disable: the unit files were already changed when the reload was refused
    pub files_changed: bool,
}

impl std::fmt::Display for ControlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ControlError::InvalidName(m) | ControlError::Unavailable(m) => f.write_str(m),
            ControlError::Systemd(m) => f.write_str(m),
            ControlError::NotAllowed { requested, unit } => {
                write!(f, "{requested} is an alias of {unit}, which is not allowed")
            }
            ControlError::NotLoaded { unit, load_state } => {
                write!(
                    f,
                    "{unit} cannot be acted on: its load state is {load_state}"
                )
            }
            ControlError::Denied(d) => {
                write!(
                    f,
                    "{} of {} refused ({} for {}): {}",
                    d.method, d.unit, d.error, d.polkit_action, d.detail
                )?;
                if d.files_changed {
                    f.write_str(" (the unit files were changed; systemd has not reloaded them)")?;
                }
                Ok(())
            }
        }
    }
}

/// A name systemd could have: at most 255 bytes of ASCII letters, digits and ":-_.\@", a
/// non-empty prefix, and a known type suffix (the caller appends ".service" where it means one).
pub fn is_unit_name(name: &str) -> bool {
    let valid_chars = name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":-_.\\@".contains(&b));
    let typed = name
        .rsplit_once('.')
        .is_some_and(|(prefix, kind)| !prefix.is_empty() && UNIT_TYPES.contains(&kind));
    valid_chars && typed && !name.starts_with('.')
}

#[cfg(target_os = "linux")]
fn check_name(name: &str) -> Result<(), ControlError> {
    if is_unit_name(name) {
        Ok(())
    } else {
        Err(ControlError::InvalidName(format!(
            "invalid unit name {name:?}: systemd unit names use letters, digits and :-_.\\@ and end in a unit type (.service, .timer…)"
        )))
    }
}

/// Whether one of the Go `path.Match` patterns matches the whole name.
pub fn allowed(patterns: &[String], unit: &str) -> bool {
    patterns.iter().any(|p| glob_match(p, unit))
}

#[cfg(target_os = "linux")]
pub use linux::{list_units, perform, unit_status};

#[cfg(target_os = "linux")]
mod linux {
    use super::*;
    use crate::collect::systemd::bus::{BusError, JobVerb, SystemBus, SERVICE_IFACE, UNIT_IFACE};
    use std::collections::{HashMap, HashSet};
    use std::time::Instant;
    use zbus::zvariant::{OwnedValue, Value};

    fn bus_error(e: BusError) -> ControlError {
        match e {
            BusError::Connect(m) => ControlError::Unavailable(m),
            other => ControlError::Systemd(other.to_string()),
        }
    }

    /// A refusal of an unprivileged call: polkit said no (InteractiveAuthorizationRequired: no
    /// rule allows it and nobody can type a password), systemd refused without a polkitd to ask
    /// (AccessDenied), or the polkit service itself could not be started.
    pub(super) fn denial(e: &BusError) -> Option<(String, String)> {
        let BusError::Method { name, detail } = e else {
            return None;
        };
        let refused = matches!(
            name.as_str(),
            "org.freedesktop.DBus.Error.AccessDenied"
                | "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"
        ) || detail.contains("polkit")
            || detail.contains("PolicyKit");
        refused.then(|| (name.clone(), detail.clone()))
    }

    /// Maps a refusal at `method` to `Denied`, anything else to its usual error.
    fn at<'u>(
        unit: &'u str,
        method: &'static str,
        polkit_action: &'static str,
        files_changed: bool,
    ) -> impl Fn(BusError) -> ControlError + 'u {
        move |e| match denial(&e) {
            Some((error, detail)) => ControlError::Denied(Denial {
                unit: unit.to_string(),
                method,
                polkit_action,
                error,
                detail,
                files_changed,
            }),
            None => bus_error(e),
        }
    }

    fn text(props: &HashMap<String, OwnedValue>, name: &str) -> String {
        match props.get(name).map(|v| &**v) {
            Some(Value::Str(s)) => s.as_str().to_string(),
            _ => String::new(),
        }
    }

    fn number(value: &Value<'_>) -> Option<u64> {
        match value {
            Value::U64(v) => Some(*v),
            Value::U32(v) => Some(u64::from(*v)),
            Value::Value(inner) => number(inner),
            _ => None,
        }
    }

    fn get_text(bus: &SystemBus, path: &str, name: &str) -> Result<String, BusError> {
        let value = bus.get(path, UNIT_IFACE, name)?;
        Ok(match &*value {
            Value::Str(s) => s.as_str().to_string(),
            _ => String::new(),
        })
    }

    /// Errors of one unit's read that mean it went away meanwhile.
    fn vanished(e: &BusError) -> bool {
        matches!(e, BusError::Method { name, .. } if matches!(name.as_str(),
            "org.freedesktop.systemd1.NoSuchUnit" | "org.freedesktop.DBus.Error.UnknownObject"))
    }

    /// ListServices: every unit systemd holds in memory and every unit file it finds (loaded for
    /// the occasion, as `systemctl status` does) whose name matches one of `patterns`, by name.
    pub fn list_units(
        address: Option<&str>,
        patterns: &[String],
    ) -> Result<Vec<UnitRow>, ControlError> {
        let bus = SystemBus::connect(address, LIST_DEADLINE).map_err(bus_error)?;
        let mut rows: Vec<UnitRow> = bus
            .list_units_by_patterns(&[], &[])
            .map_err(bus_error)?
            .into_iter()
            .filter(|u| allowed(patterns, &u.name))
            .map(|u| UnitRow {
                name: u.name,
                load_state: u.load_state,
                active_state: u.active_state,
                sub_state: u.sub_state,
                description: u.description,
            })
            .collect();
        let mut seen: HashSet<String> = rows.iter().map(|r| r.name.clone()).collect();
        for file in bus.unit_file_paths().map_err(bus_error)? {
            let name = file.rsplit('/').next().unwrap_or_default().to_string();
            // a template (foo@.service) is no unit until it has an instance
            let template = name.contains("@.");
            if template || seen.contains(&name) || !is_unit_name(&name) || !allowed(patterns, &name)
            {
                continue;
            }
            let props = match bus
                .unit_path(&name)
                .and_then(|path| bus.get_all(&path, UNIT_IFACE))
            {
                Ok(props) => props,
                Err(e) if vanished(&e) => continue,
                Err(e) => return Err(bus_error(e)),
            };
            // an alias: its unit is listed under its own name, if that is allowed
            let id = text(&props, "Id");
            if id != name {
                continue;
            }
            seen.insert(name.clone());
            rows.push(UnitRow {
                name,
                load_state: text(&props, "LoadState"),
                active_state: text(&props, "ActiveState"),
                sub_state: text(&props, "SubState"),
                description: text(&props, "Description"),
            });
        }
        rows.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(rows)
    }

    /// GetServiceStatus of `name`, which must resolve to a unit `patterns` allows.
    pub fn unit_status(
        address: Option<&str>,
        name: &str,
        patterns: &[String],
    ) -> Result<UnitStatus, ControlError> {
        check_name(name)?;
        let bus = SystemBus::connect(address, STATUS_DEADLINE).map_err(bus_error)?;
        let path = bus.unit_path(name).map_err(bus_error)?;
        let props = bus.get_all(&path, UNIT_IFACE).map_err(bus_error)?;
        let id = text(&props, "Id");
        if !allowed(patterns, &id) {
            return Err(ControlError::NotAllowed {
                requested: name.to_string(),
                unit: id,
            });
        }
        let main_pid = if id.ends_with(".service") {
            match bus.get(&path, SERVICE_IFACE, "MainPID") {
                Ok(v) => number(&v).and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
                // not-found units have no Service interface
                Err(BusError::Method { .. }) => 0,
                Err(e) => return Err(bus_error(e)),
            }
        } else {
            0
        };
        Ok(UnitStatus {
            load_state: text(&props, "LoadState"),
            active_state: text(&props, "ActiveState"),
            sub_state: text(&props, "SubState"),
            description: text(&props, "Description"),
            unit_file_state: text(&props, "UnitFileState"),
            main_pid,
            active_enter_timestamp: props
                .get("ActiveEnterTimestamp")
                .and_then(|v| number(v))
                .unwrap_or(0),
            name: id,
        })
    }

    /// PerformServiceAction: a job (start/stop/restart/reload, mode "replace") waited for up to
    /// `wait`, or the unit file enabled/disabled (runtime=false, force=false) and systemd
    /// reloaded. `name` must resolve to a unit `patterns` allows, with a unit file.
    pub fn perform(
        address: Option<&str>,
        name: &str,
        action: UnitAction,
        patterns: &[String],
        wait: Duration,
    ) -> Result<ActionDone, ControlError> {
        check_name(name)?;
        let bus = SystemBus::connect(address, wait + CALL_MARGIN).map_err(bus_error)?;
        let path = bus.unit_path(name).map_err(bus_error)?;
        let unit = get_text(&bus, &path, "Id").map_err(bus_error)?;
        if !allowed(patterns, &unit) {
            return Err(ControlError::NotAllowed {
                requested: name.to_string(),
                unit,
            });
        }
        let load_state = get_text(&bus, &path, "LoadState").map_err(bus_error)?;
        if load_state != "loaded" {
            return Err(ControlError::NotLoaded { unit, load_state });
        }
        const MANAGE_UNITS: &str = "org.freedesktop.systemd1.manage-units";
        const MANAGE_FILES: &str = "org.freedesktop.systemd1.manage-unit-files";
        const RELOAD: &str = "org.freedesktop.systemd1.reload-daemon";
        let verb = match action {
            UnitAction::Start => Some(JobVerb::Start),
            UnitAction::Stop => Some(JobVerb::Stop),
            UnitAction::Restart => Some(JobVerb::Restart),
            UnitAction::Reload => Some(JobVerb::Reload),
            UnitAction::Enable | UnitAction::Disable => None,
        };
        let (job, wait_ran_out) = match verb {
            Some(verb) => {
                let job = bus.queue_job(&path, verb).map_err(at(
                    &unit,
                    verb.method(),
                    MANAGE_UNITS,
                    false,
                ))?;
                let until = Instant::now() + wait;
                let mut pending = bus.job_pending(&job).map_err(bus_error)?;
                while pending && Instant::now() < until {
                    std::thread::sleep(JOB_POLL);
                    pending = bus.job_pending(&job).map_err(bus_error)?;
                }
                (job, pending)
            }
            None => {
                let names = [unit.as_str()];
                if action == UnitAction::Enable {
                    bus.enable_unit_files(&names).map_err(at(
                        &unit,
                        "EnableUnitFiles",
                        MANAGE_FILES,
                        false,
                    ))?;
                } else {
                    bus.disable_unit_files(&names).map_err(at(
                        &unit,
                        "DisableUnitFiles",
                        MANAGE_FILES,
                        false,
                    ))?;
                }
                bus.reload_daemon()
                    .map_err(at(&unit, "Reload", RELOAD, true))?;
                (String::new(), false)
            }
        };
        let active_state = get_text(&bus, &path, "ActiveState").map_err(bus_error)?;
        Ok(ActionDone {
            unit,
            action,
            job,
            active_state,
            wait_ran_out,
        })
    }
}

#[cfg(not(target_os = "linux"))]
pub fn list_units(_: Option<&str>, _: &[String]) -> Result<Vec<UnitRow>, ControlError> {
    Err(ControlError::Unavailable(
        "systemd units are managed on Linux only".into(),
    ))
}

#[cfg(not(target_os = "linux"))]
pub fn unit_status(_: Option<&str>, _: &str, _: &[String]) -> Result<UnitStatus, ControlError> {
    Err(ControlError::Unavailable(
        "systemd units are managed on Linux only".into(),
    ))
}

#[cfg(not(target_os = "linux"))]
pub fn perform(
    _: Option<&str>,
    _: &str,
    _: UnitAction,
    _: &[String],
    _: Duration,
) -> Result<ActionDone, ControlError> {
    Err(ControlError::Unavailable(
        "systemd units are managed on Linux only".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names_need_a_type_and_systemd_characters() {
        for good in [
            "nginx.service",
            "getty@tty1.service",
            r"dev-disk-by\x2duuid.device",
            "logrotate.timer",
            "a:b_c-d.socket",
        ] {
            assert!(is_unit_name(good), "{good}");
        }
        for bad in [
            "",
            "nginx",
            ".service",
            "x.unknown",
            "a b.service",
            "../x.service",
            "/etc/x.service",
            "x;rm.service",
            "é.service",
            "x\n.service",
            "x\0.service",
            "-",
        ] {
            assert!(!is_unit_name(bad), "{bad:?}");
        }
        assert!(!is_unit_name(&format!("{}.service", "a".repeat(250))));
    }

    #[test]
    fn the_one_glob_matcher_decides() {
        let patterns = vec!["app-*.service".to_string(), "nginx.service".to_string()];
        assert!(allowed(&patterns, "app-web.service"));
        assert!(allowed(&patterns, "nginx.service"));
        assert!(!allowed(&patterns, "nginx.service.d"));
        assert!(!allowed(&patterns, "app-web.socket"));
        assert!(!allowed(&[], "nginx.service"));
        // a malformed pattern matches nothing
        assert!(!allowed(&["[".to_string()], "["));
    }

    /// What systemd 252 answers an unprivileged caller (seen against the real one): no rule, no
    /// polkitd at all, polkit.service masked — each is polkit's refusal; other errors are not.
    #[cfg(target_os = "linux")]
    #[test]
    fn polkit_refusals_are_told_apart() {
        use crate::collect::systemd::bus::BusError;
        let method = |name: &str, detail: &str| BusError::Method {
            name: name.into(),
            detail: detail.into(),
        };
        for e in [
            method(
                "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
                "Interactive authentication required.",
            ),
            method(
                "org.freedesktop.DBus.Error.AccessDenied",
                "Permission denied",
            ),
            method(
                "org.freedesktop.systemd1.UnitMasked",
                "Unit polkit.service is masked.",
            ),
        ] {
            assert!(linux::denial(&e).is_some(), "{e:?}");
        }
        for e in [
            method(
                "org.freedesktop.systemd1.UnitMasked",
                "Unit nginx.service is masked.",
            ),
            method(
                "org.freedesktop.systemd1.JobTypeNotApplicable",
                "Job type reload is not applicable for unit x.service.",
            ),
            BusError::Io("the system bus closed the connection".into()),
        ] {
            assert!(linux::denial(&e).is_none(), "{e:?}");
        }
    }

    #[test]
    fn action_names_round_trip() {
        for name in ["start", "stop", "restart", "reload", "enable", "disable"] {
            assert_eq!(UnitAction::parse(name).map(UnitAction::name), Some(name));
        }
        assert_eq!(UnitAction::parse("mask"), None);
        assert_eq!(UnitAction::parse("Start"), None);
    }
}
