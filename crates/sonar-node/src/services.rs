//! Host actions 7–9 (systemd units) for the JS side: argument conversion and error mapping only;
//! sonar-core's service_control does the D-Bus work, on the threadpool.

use crate::napi::{queue_work, Args, Env, JsError, JsValue, Result};
use crate::{args, read_arg, state, systemd};
use sonar_core::service_control::{self, ActionDone, ControlError, UnitRow, UnitStatus};

pub const ERR_SERVICE_NAME: &str = "ERR_SONAR_SERVICE_NAME";
pub const ERR_SERVICE_NOT_ALLOWED: &str = "ERR_SONAR_SERVICE_NOT_ALLOWED";
pub const ERR_SERVICE_NOT_LOADED: &str = "ERR_SONAR_SERVICE_NOT_LOADED";
pub const ERR_SERVICE_DENIED: &str = "ERR_SONAR_SERVICE_DENIED";

fn js_error(e: ControlError) -> JsError {
    let code = match &e {
        ControlError::InvalidName(_) => ERR_SERVICE_NAME,
        ControlError::NotAllowed { .. } => ERR_SERVICE_NOT_ALLOWED,
        ControlError::NotLoaded { .. } => ERR_SERVICE_NOT_LOADED,
        ControlError::Denied(_) => ERR_SERVICE_DENIED,
        ControlError::Unavailable(_) => systemd::ERR_SYSTEMD_UNAVAILABLE,
        ControlError::Systemd(_) => systemd::ERR_SYSTEMD,
    };
    JsError::error(code, e.to_string())
}

/// A `string[]` argument (`patterns`, `patterns[2]` in messages).
fn text_list<'s>(env: Env<'s>, list: JsValue<'s>, what: &str) -> Result<Vec<String>> {
    let len = args::inner_list(what, &read_arg(env, list)?)?;
    (0..len)
        .map(|i| {
            let item = read_arg(env, env.get_element(list, i)?)?;
            Ok(args::text_field(&format!("{what}[{i}]"), item)?)
        })
        .collect()
}

fn bus_address() -> Option<String> {
    state::settings().system_bus_address.clone()
}

/// `serviceList(patterns: string[]): Promise<ServiceRow[]>`
pub fn list<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let patterns = text_list(env, args.get(0), "patterns")?;
    queue_work(
        env,
        "sonar:serviceList",
        move || service_control::list_units(bus_address().as_deref(), &patterns).map_err(js_error),
        |env, rows: Vec<UnitRow>| {
            let array = env.array(rows.len())?;
            for (i, row) in (0u32..).zip(&rows) {
                let item = env.object_from_entries(&[
                    (env.string("name")?, env.string(&row.name)?),
                    (env.string("loadState")?, env.string(&row.load_state)?),
                    (env.string("activeState")?, env.string(&row.active_state)?),
                    (env.string("subState")?, env.string(&row.sub_state)?),
                    (env.string("description")?, env.string(&row.description)?),
                ])?;
                env.set_element(array, i, item)?;
            }
            Ok(array)
        },
    )
}

/// `serviceStatus(unit: string, patterns: string[]): Promise<ServiceStatus>`
pub fn status<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let unit = args::text_field("unit", read_arg(env, args.get(0))?)?;
    let patterns = text_list(env, args.get(1), "patterns")?;
    queue_work(
        env,
        "sonar:serviceStatus",
        move || {
            service_control::unit_status(bus_address().as_deref(), &unit, &patterns)
                .map_err(js_error)
        },
        |env, s: UnitStatus| {
            env.object_from_entries(&[
                (env.string("name")?, env.string(&s.name)?),
                (env.string("loadState")?, env.string(&s.load_state)?),
                (env.string("activeState")?, env.string(&s.active_state)?),
                (env.string("subState")?, env.string(&s.sub_state)?),
                (env.string("description")?, env.string(&s.description)?),
                (
                    env.string("unitFileState")?,
                    env.string(&s.unit_file_state)?,
                ),
                (env.string("mainPid")?, env.number(f64::from(s.main_pid))?),
                (
                    env.string("activeEnterTimestampUs")?,
                    env.number(s.active_enter_timestamp as f64)?,
                ),
            ])
        },
    )
}

/// `serviceAction(unit: string, action: ServiceAction, patterns: string[]):
/// Promise<ServiceActionDone>` — waits for the job up to 30 s.
pub fn action<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let unit = args::text_field("unit", read_arg(env, args.get(0))?)?;
    let action = args::service_action(read_arg(env, args.get(1))?)?;
    let patterns = text_list(env, args.get(2), "patterns")?;
    queue_work(
        env,
        "sonar:serviceAction",
        move || {
            service_control::perform(
                bus_address().as_deref(),
                &unit,
                action,
                &patterns,
                service_control::JOB_WAIT,
            )
            .map_err(js_error)
        },
        |env, done: ActionDone| {
            env.object_from_entries(&[
                (env.string("unit")?, env.string(&done.unit)?),
                (env.string("action")?, env.string(done.action.name())?),
                (env.string("job")?, env.string(&done.job)?),
                (env.string("activeState")?, env.string(&done.active_state)?),
                (env.string("waitRanOut")?, env.boolean(done.wait_ran_out)?),
            ])
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonar_core::service_control::{Denial, UnitAction};

    #[test]
    fn errors_keep_their_kind_in_the_code() {
        let denied = js_error(ControlError::Denied(Denial {
            unit: "a.service".into(),
            method: "Start",
            polkit_action: "org.freedesktop.systemd1.manage-units",
            error: "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired".into(),
            detail: "Interactive authentication required.".into(),
            files_changed: false,
        }));
        assert_eq!(denied.code, ERR_SERVICE_DENIED);
        assert!(
            denied.message.contains("manage-units"),
            "{}",
            denied.message
        );
        let alias = js_error(ControlError::NotAllowed {
            requested: "b.service".into(),
            unit: "a.service".into(),
        });
        assert_eq!(alias.code, ERR_SERVICE_NOT_ALLOWED);
        assert_eq!(
            js_error(ControlError::Unavailable("no bus".into())).code,
            systemd::ERR_SYSTEMD_UNAVAILABLE
        );
    }

    #[test]
    fn action_names() {
        assert_eq!(
            args::service_action(args::Arg::Text("restart".into())),
            Ok(UnitAction::Restart)
        );
        assert!(args::service_action(args::Arg::Text("mask".into())).is_err());
        assert!(args::service_action(args::Arg::Number(1.0)).is_err());
    }
}
