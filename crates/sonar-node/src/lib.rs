//! Node-API binding of the SONAR agent core: the exported functions, converting arguments and
//! results and mapping errors. Everything unsafe lives in `napi`; validation in `args`; the
//! process-wide agent in `state`.
#![deny(clippy::all)]
#![deny(unsafe_code)]

mod args;
#[allow(unsafe_code)]
mod napi;
mod state;

use args::{Arg, PanicStage};
use napi::{queue_work, Args, Env, JsError, JsValue, Kind, Property, Result, ValueType};
use sonar_core::model::AGENT_VERSION;
use sonar_core::{Payload, Value, SETTING_NAMES};
use std::collections::HashMap;
use std::sync::Arc;

/// Fills the exports object (called from `napi_register_module_v1`).
fn init<'s>(env: Env<'s>, exports: JsValue<'s>) -> Result<()> {
    env.define_properties(
        exports,
        &[
            Property::value("agentVersion", env.string(AGENT_VERSION)?),
            Property::method("settingNames", Kind::Sync, setting_names),
            Property::method("configure", Kind::Sync, configure),
            Property::method("collect", Kind::Promise, collect),
            Property::method("snapshot", Kind::Promise, snapshot),
            Property::method("setConnectionType", Kind::Sync, set_connection_type),
            Property::method("__panicForTest", Kind::Promise, panic_for_test).hidden(),
            Property::method("__panicForTestSync", Kind::Sync, panic_for_test_sync).hidden(),
        ],
    )
}

fn read_arg<'s>(env: Env<'s>, value: JsValue<'s>) -> Result<Arg> {
    Ok(match env.type_of(value)? {
        ValueType::Undefined => Arg::Undefined,
        ValueType::Number => Arg::Number(env.get_number(value)?),
        ValueType::String => Arg::Text(env.get_string(value)?),
        ValueType::Object => Arg::Object,
        other => Arg::Other(other.name()),
    })
}

/// `settingNames(): string[]`
fn setting_names<'s>(env: Env<'s>, _args: &Args<'s>) -> Result<JsValue<'s>> {
    let array = env.array(SETTING_NAMES.len())?;
    for (i, name) in (0u32..).zip(SETTING_NAMES) {
        env.set_element(array, i, env.string(name)?)?;
    }
    Ok(array)
}

/// `configure(settings: Record<string, string | undefined>): void`
fn configure<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let object = args.get(0);
    args::settings_object(&read_arg(env, object)?)?;
    let mut values = HashMap::new();
    for &name in SETTING_NAMES {
        let arg = read_arg(env, env.get_property(object, name)?)?;
        if let Some(value) = args::setting_value(name, arg)? {
            values.insert(name, value);
        }
    }
    state::configure(args::settings_from(&values)?);
    env.undefined()
}

/// `cacheTimeMs` of an optional options object.
fn cache_time_option<'s>(env: Env<'s>, options: JsValue<'s>) -> Result<u16> {
    let given = args::options_given(&read_arg(env, options)?)?;
    let arg = if given {
        read_arg(env, env.get_property(options, "cacheTimeMs")?)?
    } else {
        Arg::Undefined
    };
    Ok(args::cache_time_ms(&arg)?)
}

/// `collect(options?: { cacheTimeMs?: number }): Promise<Buffer>` — the CBOR payload.
fn collect<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let cache_time_ms = cache_time_option(env, args.get(0))?;
    queue_work(
        env,
        "sonar:collect",
        move || Ok(state::collect(cache_time_ms)),
        |env, payload: Arc<Payload>| env.buffer_copy(&payload.cbor),
    )
}

/// `snapshot(options?: { cacheTimeMs?: number }): Promise<object>` — the same payload as plain JS.
fn snapshot<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let cache_time_ms = cache_time_option(env, args.get(0))?;
    queue_work(
        env,
        "sonar:snapshot",
        move || Ok(state::collect(cache_time_ms)),
        |env, payload: Arc<Payload>| to_js(env, &payload.value),
    )
}

/// Maps keyed by JSON names, byte strings as number arrays, every number as a JS number.
fn to_js<'s>(env: Env<'s>, value: &Value) -> Result<JsValue<'s>> {
    match value {
        Value::Null => env.null(),
        Value::Bool(b) => env.boolean(*b),
        Value::UInt(u) => env.number(*u as f64),
        Value::Int(i) => env.number(*i as f64),
        Value::Float(f) => env.number(*f),
        Value::Text(t) => env.string(t),
        Value::Bytes(bytes) => {
            let array = env.array(bytes.len())?;
            for (i, &b) in (0u32..).zip(bytes) {
                env.set_element(array, i, env.number(f64::from(b))?)?;
            }
            Ok(array)
        }
        Value::Array(items) => {
            let array = env.array(items.len())?;
            for (i, item) in (0u32..).zip(items) {
                env.set_element(array, i, to_js(env, item)?)?;
            }
            Ok(array)
        }
        Value::Map(entries) => {
            let entries = entries
                .iter()
                .map(|(key, value)| Ok((env.string(key.json_name())?, to_js(env, value)?)))
                .collect::<Result<Vec<_>>>()?;
            env.object_from_entries(&entries)
        }
    }
}

/// `setConnectionType(type: 0 | 1 | 2): void`
fn set_connection_type<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let connection_type = args::connection_type(&read_arg(env, args.get(0))?)?;
    state::set_connection_type(connection_type);
    env.undefined()
}

/// Hidden test hook: `__panicForTest(stage)` panics at the given stage; the promise must reject
/// with code ERR_SONAR_PANIC and Node must live on. Touches no agent state except for "poison",
/// which only locks the agent (poisoning the lock, which the next collection recovers).
fn panic_for_test<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    match args::panic_stage(&read_arg(env, args.get(0))?)? {
        PanicStage::Entry => panic!("__panicForTest: entry"),
        PanicStage::Execute => queue_work(
            env,
            "sonar:panicForTest",
            || -> std::result::Result<(), JsError> { panic!("__panicForTest: execute") },
            |env, ()| env.undefined(),
        ),
        PanicStage::Complete => queue_work(
            env,
            "sonar:panicForTest",
            || Ok(()),
            |_env, ()| panic!("__panicForTest: complete"),
        ),
        PanicStage::Poison => queue_work(
            env,
            "sonar:panicForTest",
            || {
                state::poison_for_test();
                Ok(())
            },
            |env, ()| env.undefined(),
        ),
    }
}

/// Hidden test hook: a panic in a synchronous function must become a thrown exception.
fn panic_for_test_sync<'s>(_env: Env<'s>, _args: &Args<'s>) -> Result<JsValue<'s>> {
    panic!("__panicForTestSync")
}
