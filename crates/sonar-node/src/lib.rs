//! Node-API binding of the SONAR agent core: the exported functions, converting arguments and
//! results and mapping errors. Everything unsafe lives in `napi`; validation in `args`; the
//! process-wide agent in `state`.
#![deny(clippy::all)]
#![deny(unsafe_code)]

mod args;
mod files;
mod metrics;
#[allow(unsafe_code)]
mod napi;
mod services;
mod settings;
mod smart;
mod state;
mod systemd;

use args::{Arg, PanicStage};
use napi::{queue_work, Args, Env, JsError, JsValue, Kind, Property, Result, ValueType};
use sonar_core::collect::containers::{ContainerPort, ContainerSample};
use sonar_core::collect::smart::runner::SmartConfig;
use sonar_core::model::AGENT_VERSION;
use sonar_core::probe::Area;
use sonar_core::settings::catalog::{Component, Support};
use sonar_core::{Answer, CollectInput, DataRequest, Payload, Value};
use std::sync::Arc;

/// Fills the exports object (called from `napi_register_module_v1`).
fn init<'s>(env: Env<'s>, exports: JsValue<'s>) -> Result<()> {
    env.define_properties(
        exports,
        &[
            Property::value("agentVersion", env.string(AGENT_VERSION)?),
            Property::value("metricsContentTypes", metrics::content_types(env)?),
            Property::method("settings", Kind::Sync, settings::settings),
            Property::method("parseSettings", Kind::Sync, settings::parse),
            Property::method("configure", Kind::Sync, configure),
            Property::method("collect", Kind::Promise, collect),
            Property::method("snapshot", Kind::Promise, snapshot),
            Property::method("isFresh", Kind::Sync, is_fresh),
            Property::method("setConnectionType", Kind::Sync, set_connection_type),
            Property::method("globMatch", Kind::Sync, glob_match),
            Property::method("trimResidentPages", Kind::Sync, trim_resident_pages),
            Property::method("parseDuration", Kind::Sync, parse_duration),
            Property::method("smartConfigure", Kind::Sync, smart_configure),
            Property::method("smartData", Kind::Promise, smart_data),
            Property::method("systemdInfo", Kind::Promise, systemd_info),
            Property::method("systemdStatus", Kind::Sync, systemd_status),
            Property::method("serviceList", Kind::Promise, services::list),
            Property::method("serviceStatus", Kind::Promise, services::status),
            Property::method("serviceAction", Kind::Promise, services::action),
            Property::method("probe", Kind::Promise, probe),
            Property::method("filesList", Kind::Promise, files::list),
            Property::method("filesRead", Kind::Promise, files::read),
            Property::method("filesWrite", Kind::Promise, files::write),
            Property::method("filesDelete", Kind::Promise, files::delete),
            Property::method("takeWarnings", Kind::Sync, take_warnings),
            Property::method("metricsExposition", Kind::Promise, metrics::exposition),
            Property::method("metricsRemoteWrite", Kind::Promise, metrics::remote_write),
            Property::method("__panicForTest", Kind::Promise, panic_for_test).hidden(),
            Property::method("__panicForTestSync", Kind::Sync, panic_for_test_sync).hidden(),
        ],
    )
}

pub(crate) fn read_arg<'s>(env: Env<'s>, value: JsValue<'s>) -> Result<Arg> {
    Ok(match env.type_of(value)? {
        ValueType::Undefined => Arg::Undefined,
        ValueType::Number => Arg::Number(env.get_number(value)?),
        ValueType::String => Arg::Text(env.get_string(value)?),
        ValueType::Boolean => Arg::Bool(env.get_bool(value)?),
        ValueType::Object if env.is_array(value)? => Arg::Array(env.array_length(value)?),
        ValueType::Object => Arg::Object,
        other => Arg::Other(other.name()),
    })
}

/// `configure(settings: Record<string, string | undefined>): void` — the core's own settings.
fn configure<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let values = settings::read_values(env, args.get(0), settings::core_names())?;
    state::configure(args::settings_from(&values)?);
    env.undefined()
}

/// `probe(settings, areas?): Promise<ProbeReport>` — what the collectors find with these
/// settings (the agent's own are not touched), off the JS thread: it may wait on the system bus
/// and on `smartctl --version` (a few seconds at most).
fn probe<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let values = settings::read_values(env, args.get(0), settings::core_names())?;
    let smart = SmartConfig::from_lookup(&|name| values.get(name).cloned());
    let settings = args::settings_from(&values)?;
    let list = args.get(1);
    let areas = match args::probe_area_list(&read_arg(env, list)?)? {
        None => Area::ALL.to_vec(),
        Some(len) => (0..len)
            .map(|i| {
                Ok(args::probe_area(
                    i,
                    &read_arg(env, env.get_element(list, i)?)?,
                )?)
            })
            .collect::<Result<Vec<_>>>()?,
    };
    queue_work(
        env,
        "sonar:probe",
        move || Ok(sonar_core::probe::probe(&settings, &smart, &areas)),
        |env, report: Value| to_js(env, &report),
    )
}

/// `cacheTimeMs`, `containers`, `podman`, `containersAgeMs` and `includeDetails` of an optional
/// options object.
fn collect_options<'s>(
    env: Env<'s>,
    options: JsValue<'s>,
) -> Result<(u16, CollectInput, DataRequest)> {
    if !args::options_given(&read_arg(env, options)?)? {
        return Ok((
            args::cache_time_ms(&Arg::Undefined)?,
            CollectInput::default(),
            DataRequest::default(),
        ));
    }
    let cache_time_ms =
        args::cache_time_ms(&read_arg(env, env.get_property(options, "cacheTimeMs")?)?)?;
    let containers = read_containers(env, env.get_property(options, "containers")?)?;
    let podman = args::podman_flag(&read_arg(env, env.get_property(options, "podman")?)?)?;
    let age_ms = args::containers_age_ms(&read_arg(
        env,
        env.get_property(options, "containersAgeMs")?,
    )?)?;
    let request = args::data_request(&read_arg(
        env,
        env.get_property(options, "includeDetails")?,
    )?)?;
    Ok((
        cache_time_ms,
        CollectInput {
            containers,
            podman,
            containers_age: std::time::Duration::from_millis(age_ms),
        },
        request,
    ))
}

/// `options.containers` (ContainerSampleInput[] | null | undefined), checked field by field; a
/// bad field rejects the call with an error naming it (`containers[3].cpuTotal`).
pub(crate) fn read_containers<'s>(
    env: Env<'s>,
    list: JsValue<'s>,
) -> Result<Option<Vec<ContainerSample>>> {
    let Some(len) = args::containers_list(&read_arg(env, list)?)? else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(len as usize);
    for i in 0..len {
        let path = format!("containers[{i}]");
        let item = env.get_element(list, i)?;
        args::list_item(&path, &read_arg(env, item)?)?;
        let field = |name: &str| -> Result<(String, Arg)> {
            let arg = read_arg(env, env.get_property(item, name)?)?;
            Ok((format!("{path}.{name}"), arg))
        };
        let text = |name: &str| -> Result<String> {
            let (at, arg) = field(name)?;
            Ok(args::text_field(&at, arg)?)
        };
        let counter = |name: &str| -> Result<u64> {
            let (at, arg) = field(name)?;
            Ok(args::counter_field(&at, &arg)?)
        };
        let (health_at, health) = field("health")?;
        let (read_at, read_us) = field("readUs")?;
        let (at, arg) = field("onlineCpus")?;
        let online_cpus = u32::try_from(args::bounded_field(&at, &arg, u32::MAX)?).unwrap_or(0);
        out.push(ContainerSample {
            id: text("id")?,
            name: text("name")?,
            image: text("image")?,
            status: text("status")?,
            ports: read_ports(env, item, &path)?,
            cpu_total: counter("cpuTotal")?,
            cpu_system: counter("cpuSystem")?,
            online_cpus,
            mem_usage: counter("memUsage")?,
            mem_inactive_file: counter("memInactiveFile")?,
            mem_cache: counter("memCache")?,
            net_rx: counter("netRx")?,
            net_tx: counter("netTx")?,
            health: args::optional_text_field(&health_at, health)?,
            read_us: args::optional_counter_field(&read_at, &read_us)?,
        });
    }
    Ok(Some(out))
}

fn read_ports<'s>(env: Env<'s>, item: JsValue<'s>, path: &str) -> Result<Vec<ContainerPort>> {
    let path = format!("{path}.ports");
    let list = env.get_property(item, "ports")?;
    let len = args::inner_list(&path, &read_arg(env, list)?)?;
    let mut out = Vec::with_capacity(len as usize);
    for i in 0..len {
        let at = format!("{path}[{i}]");
        let port = env.get_element(list, i)?;
        args::list_item(&at, &read_arg(env, port)?)?;
        let ip = args::text_field(
            &format!("{at}.ip"),
            read_arg(env, env.get_property(port, "ip")?)?,
        )?;
        let public_port = args::bounded_field(
            &format!("{at}.publicPort"),
            &read_arg(env, env.get_property(port, "publicPort")?)?,
            u32::from(u16::MAX),
        )?;
        out.push(ContainerPort {
            ip,
            public_port: u16::try_from(public_port).unwrap_or(0),
        });
    }
    Ok(out)
}

/// `collect(options?: CollectOptions): Promise<Buffer>` — the CBOR payload in the hub's dialect.
fn collect<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let (cache_time_ms, input, request) = collect_options(env, args.get(0))?;
    queue_work(
        env,
        "sonar:collect",
        move || Ok(state::answer(cache_time_ms, &input, request)),
        |env, answer: Answer| env.buffer_copy(answer.bytes()),
    )
}

/// `snapshot(options?: CollectOptions): Promise<object>` — the same payload as plain JS.
fn snapshot<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let (cache_time_ms, input, _) = collect_options(env, args.get(0))?;
    queue_work(
        env,
        "sonar:snapshot",
        move || Ok(state::collect(cache_time_ms, &input)),
        |env, payload: Arc<Payload>| to_js(env, &payload.value),
    )
}

/// `isFresh(cacheTimeMs): boolean` — whether collect() would answer from the snapshot cache,
/// so the caller can skip asking the container engines. Never waits for a collection.
fn is_fresh<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let cache_time_ms = args::cache_time_ms(&read_arg(env, args.get(0))?)?;
    env.boolean(state::is_fresh(cache_time_ms))
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

/// `globMatch(pattern, name): boolean | null` — Go `path.Match`, the core's one implementation, so
/// settings matched in TypeScript (EXCLUDE_CONTAINERS) behave like NICS and SENSORS; null for a
/// pattern Go rejects (ErrBadPattern).
fn glob_match<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let pattern = args::text_field("pattern", read_arg(env, args.get(0))?)?;
    let name = args::text_field("name", read_arg(env, args.get(1))?)?;
    if !sonar_core::filter::glob_is_valid(&pattern) {
        return env.null();
    }
    env.boolean(sonar_core::filter::glob_match(&pattern, &name))
}

/// `trimResidentPages(): number` — drops the pages of the addon and of the executable that this
/// process has not used (sonar_core::resident); the bytes of the mappings it trimmed. For the
/// daemon, once at start.
fn trim_resident_pages<'s>(env: Env<'s>, _args: &Args<'s>) -> Result<JsValue<'s>> {
    let mut bytes = 0u64;
    let files = [
        sonar_core::resident::own_file(),
        std::fs::canonicalize("/proc/self/exe").ok(),
    ];
    for file in files.into_iter().flatten() {
        if let Ok(done) = sonar_core::resident::trim(&file) {
            bytes += done.bytes;
        }
    }
    env.number(bytes as f64)
}

/// `parseDuration(text): number | null` — a Go duration ("2100ms", "1m30s") in milliseconds, null
/// when Go would reject it; the core's one parser, shared with DISK_USAGE_CACHE.
fn parse_duration<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let text = args::text_field("text", read_arg(env, args.get(0))?)?;
    match sonar_core::settings::parse_go_duration(text.trim()) {
        Some(duration) => env.number(duration.as_secs_f64() * 1000.0),
        None => env.null(),
    }
}

/// The settings the S.M.A.R.T. monitor reads (SMART_DEVICES, its separator, EXCLUDE_SMART).
fn smart_names() -> impl Iterator<Item = &'static str> {
    sonar_core::settings::catalog::SETTINGS
        .iter()
        .filter(|s| s.read_by.contains(&Component::Smart) && s.support == Support::Yes)
        .map(|s| s.name)
}

/// `smartConfigure(settings: { SMART_DEVICES?: string, EXCLUDE_SMART?: string, … }):
/// { available: boolean, smartctl: string | null }` — replaces the S.M.A.R.T. monitor; `available`
/// is false when smartctl is missing or SMART_DEVICES is blank (the caller logs that once).
fn smart_configure<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let values = settings::read_values(env, args.get(0), smart_names())?;
    // the same rules as configure(): SMART_DEVICES=--smart=off is an error, not an argument
    let (_, errors) =
        sonar_core::settings::parse_settings(&|name| values.get(name).cloned(), |s| {
            s.read_by.contains(&Component::Smart)
        });
    if let Some(first) = errors.into_iter().next() {
        return Err(args::setting_error(first).into());
    }
    let monitor = smart::configure(&|name| values.get(name).cloned(), state::roots());
    let smartctl = match monitor.smartctl_path() {
        Some(path) => env.string(&path.to_string_lossy())?,
        None => env.null()?,
    };
    env.object_from_entries(&[
        (env.string("available")?, env.boolean(monitor.available())?),
        (env.string("smartctl")?, smartctl),
    ])
}

/// `smartData(): Promise<{ cbor: Buffer, complete: boolean }>` — CBOR `map[string]SmartData`
/// (possibly empty) for response key 5, and whether the refresh behind it read every device
/// (key 8, v0.18 hubs only: the caller decides). The first call waits for smartctl; later ones
/// answer from memory and refresh behind.
fn smart_data<'s>(env: Env<'s>, _args: &Args<'s>) -> Result<JsValue<'s>> {
    queue_work(
        env,
        "sonar:smartData",
        || {
            let answer = smart::monitor().answer_and_refresh();
            Ok((answer.data.to_cbor(), answer.complete))
        },
        |env, (cbor, complete): (Vec<u8>, bool)| {
            env.object_from_entries(&[
                (env.string("cbor")?, env.buffer_copy(&cbor)?),
                (env.string("complete")?, env.boolean(complete)?),
            ])
        },
    )
}

/// `systemdInfo(name: string): Promise<Buffer>` — CBOR map of the unit's D-Bus properties
/// (response key 6). Rejects with ERR_SONAR_SYSTEMD_NAME (bad name),
/// ERR_SONAR_SYSTEMD_UNAVAILABLE (no bus, SKIP_SYSTEMD) or ERR_SONAR_SYSTEMD (systemd's answer).
fn systemd_info<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let name = args::text_field("name", read_arg(env, args.get(0))?)?;
    queue_work(
        env,
        "sonar:systemdInfo",
        move || systemd::details(&name),
        |env, cbor: Vec<u8>| env.buffer_copy(&cbor),
    )
}

/// `systemdStatus(): { state: 'disabled' | 'starting' | 'available' | 'unavailable', units?:
/// number, reason?: string }` — never waits.
fn systemd_status<'s>(env: Env<'s>, _args: &Args<'s>) -> Result<JsValue<'s>> {
    let (state, units, reason) = systemd::status();
    let mut entries = vec![(env.string("state")?, env.string(state)?)];
    if let Some(units) = units {
        entries.push((env.string("units")?, env.number(units as f64)?));
    }
    if let Some(reason) = reason {
        entries.push((env.string("reason")?, env.string(&reason)?));
    }
    env.object_from_entries(&entries)
}

/// `takeWarnings(): string[]` — the core's warnings since the last call (a bad HOST_PROC file, a
/// setting that names nothing…), each once per process; the caller logs them.
fn take_warnings<'s>(env: Env<'s>, _args: &Args<'s>) -> Result<JsValue<'s>> {
    let warnings = sonar_core::warnings::take();
    let array = env.array(warnings.len())?;
    for (i, warning) in (0u32..).zip(&warnings) {
        env.set_element(array, i, env.string(warning)?)?;
    }
    Ok(array)
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
