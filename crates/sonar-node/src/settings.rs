//! The settings table and value parsing, converted for JavaScript: `settings()` hands TypeScript
//! the core's catalog, `parseSettings()` parses raw values with the core's grammar.

use crate::args;
use crate::napi::{Args, Env, JsValue, Result};
use crate::read_arg;
use sonar_core::settings::catalog::{Kind, Setting, Support, SETTINGS};
use sonar_core::settings::parse::Parsed;
use sonar_core::settings::parse_settings;
use std::collections::HashMap;

/// The raw string values of `names` on a settings object (absent ones left out).
pub fn read_values<'s>(
    env: Env<'s>,
    object: JsValue<'s>,
    names: impl Iterator<Item = &'static str>,
) -> Result<HashMap<&'static str, String>> {
    args::settings_object(&read_arg(env, object)?)?;
    let mut values = HashMap::new();
    for name in names {
        let arg = read_arg(env, env.get_property(object, name)?)?;
        if let Some(value) = args::setting_value(name, arg)? {
            values.insert(name, value);
        }
    }
    Ok(values)
}

/// Names of the settings the core reads (what `configure` looks at).
pub fn core_names() -> impl Iterator<Item = &'static str> {
    SETTINGS.iter().filter(|s| s.read_by_core()).map(|s| s.name)
}

fn strings<'s>(env: Env<'s>, items: &[&str]) -> Result<JsValue<'s>> {
    let array = env.array(items.len())?;
    for (i, item) in (0u32..).zip(items) {
        env.set_element(array, i, env.string(item)?)?;
    }
    Ok(array)
}

fn setting_to_js<'s>(env: Env<'s>, s: &Setting) -> Result<JsValue<'s>> {
    let (core, agent) = s.sides();
    let side = match (core, agent) {
        (true, true) => "both",
        (true, false) => "core",
        _ => "agent",
    };
    let readers: Vec<&str> = s.read_by.iter().map(|c| c.name()).collect();
    let mut entries = vec![
        (env.string("name")?, env.string(s.name)?),
        (env.string("kind")?, env.string(s.kind.name())?),
        (env.string("default")?, env.string(s.default)?),
        (env.string("readBy")?, strings(env, &readers)?),
        (env.string("side")?, env.string(side)?),
        (env.string("meaning")?, env.string(s.meaning)?),
        (env.string("example")?, env.string(s.example)?),
    ];
    match s.kind {
        Kind::List {
            separator,
            separator_setting,
        } => {
            entries.push((env.string("separator")?, env.string(separator)?));
            if let Some(other) = separator_setting {
                entries.push((env.string("separatorSetting")?, env.string(other)?));
            }
        }
        Kind::Filter | Kind::Globs => {
            entries.push((env.string("separator")?, env.string(",")?));
        }
        Kind::Enum { values, .. } | Kind::EnumList { values } => {
            entries.push((env.string("values")?, strings(env, values)?));
        }
        _ => {}
    }
    if let Support::Refused(why) = s.support {
        entries.push((env.string("refused")?, env.string(why)?));
    }
    env.object_from_entries(&entries)
}

/// `settings(): SettingSpec[]` — the whole table, in documentation order.
pub fn settings<'s>(env: Env<'s>, _args: &Args<'s>) -> Result<JsValue<'s>> {
    let array = env.array(SETTINGS.len())?;
    for (i, setting) in (0u32..).zip(SETTINGS) {
        env.set_element(array, i, setting_to_js(env, setting)?)?;
    }
    Ok(array)
}

fn parsed_to_js<'s>(env: Env<'s>, value: &Parsed) -> Result<JsValue<'s>> {
    match value {
        Parsed::Bool(b) => env.boolean(*b),
        Parsed::Duration(d) => env.number(d.as_secs_f64() * 1000.0),
        Parsed::Text(t) => env.string(t),
        Parsed::List(items) => {
            let items: Vec<&str> = items.iter().map(String::as_str).collect();
            strings(env, &items)
        }
    }
}

/// `parseSettings(raw: Record<string, string | undefined>): { values, errors }` — every set,
/// non-blank setting typed by its kind (booleans, durations in ms, lists, text), and every
/// problem as `{ name, value, problem, example? }`, in table order.
pub fn parse<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let raw = read_values(env, args.get(0), SETTINGS.iter().map(|s| s.name))?;
    let (values, errors) = parse_settings(&|name| raw.get(name).cloned(), |_| true);
    let mut value_entries = Vec::with_capacity(values.len());
    // table order, so the object's keys are stable
    for setting in SETTINGS {
        if let Some(value) = values.get(setting.name) {
            value_entries.push((env.string(setting.name)?, parsed_to_js(env, value)?));
        }
    }
    let error_list = env.array(errors.len())?;
    for (i, e) in (0u32..).zip(&errors) {
        let mut entries = vec![
            (env.string("name")?, env.string(&e.name)?),
            (env.string("value")?, env.string(&e.value)?),
            (env.string("problem")?, env.string(&e.problem)?),
        ];
        if let Some(example) = &e.example {
            entries.push((env.string("example")?, env.string(example)?));
        }
        env.set_element(error_list, i, env.object_from_entries(&entries)?)?;
    }
    env.object_from_entries(&[
        (
            env.string("values")?,
            env.object_from_entries(&value_entries)?,
        ),
        (env.string("errors")?, error_list),
    ])
}
