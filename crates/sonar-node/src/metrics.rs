//! `metricsExposition` and `metricsRemoteWrite`: one Prometheus reading of the core, rendered to
//! bytes off the JS thread (sonar_core::metrics).

use crate::args::{self, Arg};
use crate::napi::{queue_work, Args, Env, JsError, JsValue, Result};
use crate::{read_arg, read_containers, state};
use sonar_core::collect::containers::ContainerSample;
use sonar_core::metrics::exposition::{self, Format};
use sonar_core::metrics::remote_write::{self, WriteRequest};
use sonar_core::metrics::{AgentCounters, MetricSet, MetricsInput};
use std::time::Duration;

/// How often S.M.A.R.T. is re-read for Prometheus when SMART_INTERVAL is unset (a hub's default).
const SMART_DEFAULT_INTERVAL: Duration = Duration::from_secs(3600);

/// One reading, given to `use_set`: the disks' last S.M.A.R.T. data (a stale one starts a
/// background refresh: a scrape never waits for smartctl) and the agent's sample.
fn with_reading<R>(
    containers: Option<&[ContainerSample]>,
    counters: AgentCounters,
    use_set: impl FnOnce(&MetricSet) -> R,
) -> R {
    let smart = crate::smart::monitor();
    smart.refresh_if_older(state::smart_interval().unwrap_or(SMART_DEFAULT_INTERVAL));
    let disks = smart.disks();
    let input = MetricsInput {
        containers,
        smart: &disks,
        counters,
    };
    state::with_metrics(&input, use_set)
}

/// `containers` and `counters` of the options object.
fn read_options<'s>(
    env: Env<'s>,
    options: JsValue<'s>,
) -> Result<(Option<Vec<ContainerSample>>, AgentCounters)> {
    if !args::options_given(&read_arg(env, options)?)? {
        return Ok((None, AgentCounters::default()));
    }
    let containers = read_containers(env, env.get_property(options, "containers")?)?;
    let counters = env.get_property(options, "counters")?;
    if !args::options_given(&read_arg(env, counters)?)? {
        return Ok((containers, AgentCounters::default()));
    }
    let count = |name: &str| -> Result<u64> {
        let arg = read_arg(env, env.get_property(counters, name)?)?;
        Ok(args::optional_counter_field(
            &format!("counters.{name}"),
            &arg,
        )?)
    };
    let oldest = read_arg(
        env,
        env.get_property(counters, "remoteWriteOldestPendingSeconds")?,
    )?;
    let counters = AgentCounters {
        remote_write: matches!(
            read_arg(env, env.get_property(counters, "remoteWrite")?)?,
            Arg::Bool(true)
        ),
        remote_write_sent_samples: count("remoteWriteSentSamples")?,
        remote_write_dropped_samples: count("remoteWriteDroppedSamples")?,
        remote_write_failed_requests: count("remoteWriteFailedRequests")?,
        remote_write_pending_samples: count("remoteWritePendingSamples")?,
        remote_write_pending_bytes: count("remoteWritePendingBytes")?,
        remote_write_oldest_pending_seconds: match oldest {
            Arg::Number(n) if n.is_finite() && n >= 0.0 => n,
            _ => 0.0,
        },
    };
    Ok((containers, counters))
}

/// `metricsContentTypes`: `{ text, openmetrics }`, each rendering's Content-Type as the core
/// writes it (the server answers with these, never its own copies).
pub fn content_types<'s>(env: Env<'s>) -> Result<JsValue<'s>> {
    env.object_from_entries(&[
        (
            env.string("text")?,
            env.string(exposition::TEXT_CONTENT_TYPE)?,
        ),
        (
            env.string("openmetrics")?,
            env.string(exposition::OPENMETRICS_CONTENT_TYPE)?,
        ),
    ])
}

/// `metricsExposition(format, options?): Promise<Buffer>`.
pub fn exposition<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let format = match read_arg(env, args.get(0))? {
        Arg::Text(t) if t == "text" => Format::Text,
        Arg::Text(t) if t == "openmetrics" => Format::OpenMetrics,
        other => {
            return Err(JsError::type_error(
                args::ERR_INVALID_ARG_VALUE,
                format!(
                    "The \"format\" argument must be 'text' or 'openmetrics'. {}",
                    other.received()
                ),
            )
            .into())
        }
    };
    let options = args.get(1);
    let (containers, counters) = read_options(env, options)?;
    let gzip = args::options_given(&read_arg(env, options)?)?
        && matches!(
            read_arg(env, env.get_property(options, "gzip")?)?,
            Arg::Bool(true)
        );
    queue_work(
        env,
        "sonar:metrics",
        move || {
            let text = with_reading(containers.as_deref(), counters, |set| {
                exposition::render(set, format)
            });
            Ok(if gzip { state::gzip(&text) } else { text })
        },
        |env, bytes: Vec<u8>| env.buffer_copy(&bytes),
    )
}

/// `[name, value]` pairs of `options.labels`.
fn read_labels<'s>(env: Env<'s>, list: JsValue<'s>) -> Result<Vec<(String, String)>> {
    let arg = read_arg(env, list)?;
    let len = match arg {
        Arg::Undefined => return Ok(Vec::new()),
        other => args::inner_list("labels", &other)?,
    };
    let mut out = Vec::with_capacity(len as usize);
    for i in 0..len {
        let at = format!("labels[{i}]");
        let pair = env.get_element(list, i)?;
        let n = args::inner_list(&at, &read_arg(env, pair)?)?;
        if n != 2 {
            return Err(JsError::type_error(
                args::ERR_INVALID_ARG_VALUE,
                format!("{at} must be a [name, value] pair"),
            )
            .into());
        }
        let name = args::text_field(
            &format!("{at}[0]"),
            read_arg(env, env.get_element(pair, 0)?)?,
        )?;
        let value = args::text_field(
            &format!("{at}[1]"),
            read_arg(env, env.get_element(pair, 1)?)?,
        )?;
        out.push((name, value));
    }
    Ok(out)
}

/// `metricsRemoteWrite(options): Promise<{ body: Buffer; samples: number }>`.
pub fn remote_write<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let options = args.get(0);
    let (containers, counters) = read_options(env, options)?;
    let timestamp_ms = args::counter_field(
        "timestampMs",
        &read_arg(env, env.get_property(options, "timestampMs")?)?,
    )?;
    let labels = read_labels(env, env.get_property(options, "labels")?)?;
    queue_work(
        env,
        "sonar:remote-write",
        move || {
            let timestamp = i64::try_from(timestamp_ms).unwrap_or(i64::MAX);
            with_reading(containers.as_deref(), counters, |set| {
                remote_write::encode(set, timestamp, &labels)
            })
            .map_err(|e| JsError::range_error(args::ERR_INVALID_ARG_VALUE, format!("labels: {e}")))
        },
        |env, request: WriteRequest| {
            let body = env.buffer_copy(&request.body)?;
            let samples = env.number(request.samples as f64)?;
            env.object_from_entries(&[
                (env.string("body")?, body),
                (env.string("samples")?, samples),
            ])
        },
    )
}
