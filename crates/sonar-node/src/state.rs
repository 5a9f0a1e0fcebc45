//! The process-wide agent. `configure` only swaps a slot holding the new settings, and the agent
//! is built lazily by the first collection on the threadpool, so the JS thread never waits for a
//! collection in progress. Poisoned locks are recovered: a panic during one collection must not
//! wedge every later one.

use sonar_core::{Agent, Answer, CollectInput, DataRequest, Payload, Settings};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

struct Slot {
    settings: Settings,
    agent: Mutex<Option<Agent>>,
}

impl Slot {
    fn new(settings: Settings) -> Arc<Slot> {
        Arc::new(Slot {
            settings,
            agent: Mutex::new(None),
        })
    }
}

static CURRENT: Mutex<Option<Arc<Slot>>> = Mutex::new(None);

/// Kept outside the agent so setting it never waits for a collection, and so it survives
/// `configure` (the connection is the caller's state, not a setting).
static CONNECTION_TYPE: AtomicU8 = AtomicU8::new(0);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn current() -> Arc<Slot> {
    lock(&CURRENT)
        .get_or_insert_with(|| Slot::new(Settings::default()))
        .clone()
}

/// The configured /proc, /sys… roots (for readers outside the agent, like md arrays).
pub fn roots() -> sonar_core::roots::Roots {
    current().settings.roots.clone()
}

/// Replaces the agent; collections already running finish with the old one.
pub fn configure(settings: Settings) {
    *lock(&CURRENT) = Some(Slot::new(settings));
}

pub fn set_connection_type(connection_type: u8) {
    CONNECTION_TYPE.store(connection_type, Ordering::Relaxed);
}

/// Collects (or serves from the cache) on the calling thread; one collection at a time.
pub fn collect(cache_time_ms: u16, input: &CollectInput) -> Arc<Payload> {
    let slot = current();
    let mut agent = lock(&slot.agent);
    let agent = agent.get_or_insert_with(|| Agent::new(slot.settings.clone()));
    agent.set_connection_type(CONNECTION_TYPE.load(Ordering::Relaxed));
    agent.collect_with(cache_time_ms, input)
}

/// A GetData answer in the hub's dialect (see `collect`).
pub fn answer(cache_time_ms: u16, input: &CollectInput, request: DataRequest) -> Answer {
    let slot = current();
    let mut agent = lock(&slot.agent);
    let agent = agent.get_or_insert_with(|| Agent::new(slot.settings.clone()));
    agent.set_connection_type(CONNECTION_TYPE.load(Ordering::Relaxed));
    agent.answer(cache_time_ms, input, request)
}

/// One Prometheus reading (sonar_core::metrics), handed to `use_set` (rendering or encoding) while
/// the agent is held: the core keeps the set's families for the next reading. Waits for a
/// collection in progress.
pub fn with_metrics<R>(
    input: &sonar_core::metrics::MetricsInput<'_>,
    use_set: impl FnOnce(&sonar_core::metrics::MetricSet) -> R,
) -> R {
    let slot = current();
    let mut agent = lock(&slot.agent);
    let agent = agent.get_or_insert_with(|| Agent::new(slot.settings.clone()));
    use_set(agent.metrics(input))
}

/// `bytes` gzipped by the one kept compressor (its tables are reused across scrapes).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    static GZIP: Mutex<Option<sonar_core::metrics::exposition::Gzip>> = Mutex::new(None);
    lock(&GZIP)
        .get_or_insert_with(Default::default)
        .compress(bytes)
}

/// SMART_INTERVAL of the current configuration (read per scrape: the settings are not cloned).
pub fn smart_interval() -> Option<std::time::Duration> {
    current().settings.smart_interval
}

/// The settings of the current configuration.
pub fn settings() -> sonar_core::settings::Settings {
    current().settings.clone()
}

/// The systemd collector's state; None before the first collection created the agent or while
/// one runs (never waits: called on the JS thread).
pub fn systemd_status() -> Option<sonar_core::collect::systemd::SystemdStatus> {
    let slot = current();
    let agent = match slot.agent.try_lock() {
        Ok(guard) => guard,
        Err(TryLockError::Poisoned(e)) => e.into_inner(),
        Err(TryLockError::WouldBlock) => return None,
    };
    agent.as_ref().map(Agent::systemd_status)
}

/// Whether `collect(cache_time_ms)` would answer from the cache. Called on the JS thread, so it
/// never waits: while a collection runs (or before the first) the answer is false, and the
/// caller merely asks the engines once more than needed.
pub fn is_fresh(cache_time_ms: u16) -> bool {
    let slot = current();
    let agent = match slot.agent.try_lock() {
        Ok(guard) => guard,
        Err(TryLockError::Poisoned(e)) => e.into_inner(),
        Err(TryLockError::WouldBlock) => return false,
    };
    let connection_changed =
        |a: &Agent| a.connection_type() != CONNECTION_TYPE.load(Ordering::Relaxed);
    agent
        .as_ref()
        .is_some_and(|a| !connection_changed(a) && a.is_fresh(cache_time_ms))
}

/// Test hook: panics while holding the agent's lock, leaving it poisoned.
pub fn poison_for_test() {
    let slot = current();
    let _held = lock(&slot.agent);
    panic!("__panicForTest: poison");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The agent is process-wide, so these tests take turns.
    static SERIAL: Mutex<()> = Mutex::new(());

    #[test]
    fn poisoned_agent_lock_is_recovered() {
        let _turn = lock(&SERIAL);
        let poisoned = std::thread::spawn(poison_for_test).join();
        assert!(poisoned.is_err());
        assert!(current().agent.is_poisoned());
        let payload = collect(1000, &CollectInput::default());
        assert!(!payload.cbor.is_empty());
        // Served from the cache: the same payload.
        assert!(is_fresh(1000));
        assert!(Arc::ptr_eq(
            &payload,
            &collect(1000, &CollectInput::default())
        ));
    }

    #[test]
    fn is_fresh_without_waiting() {
        let _turn = lock(&SERIAL);
        configure(Settings::default());
        assert!(!is_fresh(1000), "no agent yet");
        collect(1000, &CollectInput::default());
        assert!(is_fresh(1000));
        assert!(!is_fresh(0));
        let slot = current();
        let _busy = lock(&slot.agent);
        assert!(!is_fresh(1000), "a collection in progress");
    }

    #[test]
    fn containers_reach_the_payload() {
        let _turn = lock(&SERIAL);
        let input = CollectInput {
            containers: Some(vec![]),
            podman: true,
            ..CollectInput::default()
        };
        let payload = collect(0, &input);
        let text = payload.value.to_json();
        assert!(text.contains("\"container\":[]"), "{text}");
        assert!(text.contains("\"p\":true"), "{text}");
    }

    #[test]
    fn connection_type_change_reaches_the_agent() {
        let _turn = lock(&SERIAL);
        set_connection_type(2);
        let payload = collect(0, &CollectInput::default());
        set_connection_type(0);
        let text = payload.value.to_json();
        assert!(text.contains("\"ct\":2"), "{text}");
    }
}
