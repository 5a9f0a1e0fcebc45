//! systemd units over D-Bus (spec §3.8, items §1.8, details §1.9). A thread of its own refreshes
//! the unit list — at start, a minute later (so the first CPU figures exist), then every 10
//! minutes as the Go agent does — and GetData only reads the result from memory. Linux only.

#[cfg(target_os = "linux")]
pub mod bus;
#[cfg(target_os = "linux")]
pub mod details;
pub mod service;

use crate::settings::Settings;
use crate::value::Value;
pub use service::{Service, ServiceTracker, UnitReading};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The Go agent's refresh period; CPU % is averaged over it.
pub const REFRESH_PERIOD: Duration = Duration::from_secs(600);
/// The first CPU figures come from this window instead of waiting a whole period.
pub const FIRST_WINDOW: Duration = Duration::from_secs(60);
/// How long the first 60 s answer waits for the first refresh.
pub const FIRST_ANSWER_WAIT: Duration = Duration::from_secs(2);
/// One refresh (connect, list, two calls per unit) must end within this.
pub const REFRESH_DEADLINE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemdStatus {
    /// SKIP_SYSTEMD=true, or not Linux.
    Disabled(String),
    /// Before the first refresh finished.
    Starting,
    Available {
        units: usize,
    },
    /// The bus could not be reached or systemd did not answer; retried every period.
    Unavailable(String),
}

#[derive(Debug)]
struct State {
    services: Vec<Service>,
    /// A refresh happened since the list was last sent (the list goes out once per refresh).
    fresh: bool,
    status: SystemdStatus,
    stop: bool,
    refreshes: u64,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared
        .state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub struct SystemdCollector {
    shared: Arc<Shared>,
}

/// The services part of one 60000 ms GetData answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServicesForSend {
    /// CombinedData key 3: only when a refresh happened since the last send.
    pub list: Option<Vec<Value>>,
    /// Info.sv: [total, failed], only when there are services.
    pub counts: Option<[u16; 2]>,
}

impl SystemdCollector {
    pub fn new(settings: &Settings) -> SystemdCollector {
        Self::with_timing(settings, FIRST_WINDOW, REFRESH_PERIOD)
    }

    /// As `new`, with other refresh timings (tests cannot wait ten minutes).
    pub fn with_timing(settings: &Settings, first: Duration, period: Duration) -> SystemdCollector {
        let disabled = if settings.skip_systemd {
            Some("SKIP_SYSTEMD=true")
        } else if !cfg!(target_os = "linux") {
            Some("systemd is monitored on Linux only")
        } else {
            None
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                services: Vec::new(),
                fresh: false,
                status: match disabled {
                    Some(why) => SystemdStatus::Disabled(why.to_string()),
                    None => SystemdStatus::Starting,
                },
                stop: false,
                refreshes: 0,
            }),
            wake: Condvar::new(),
        });
        if disabled.is_none() {
            start_refresher(&shared, settings, first, period);
        }
        SystemdCollector { shared }
    }

    pub fn status(&self) -> SystemdStatus {
        lock(&self.shared).status.clone()
    }

    /// The units of the last refresh (for Prometheus; the hub's send-once flag is untouched).
    pub fn services(&self) -> Vec<Service> {
        lock(&self.shared).services.clone()
    }

    /// How many refreshes have finished (ok or not).
    pub fn refreshes(&self) -> u64 {
        lock(&self.shared).refreshes
    }

    /// Waits until `refreshes()` exceeds `seen` or `timeout` passes (tests and warm-up).
    pub fn wait_for_refresh(&self, seen: u64, timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        let mut state = lock(&self.shared);
        while state.refreshes <= seen {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = match self.shared.wake.wait_timeout(state, left) {
                Ok((s, _)) => s,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        state.refreshes
    }

    /// For a 60000 ms GetData: Info.sv always (when there are services), the list once per refresh.
    pub fn take_for_send(&self) -> ServicesForSend {
        // The Go agent lists the units before it answers anything; here the first refresh runs
        // on its own thread, so the first 60 s answer waits for it a little (off the JS thread).
        if lock(&self.shared).status == SystemdStatus::Starting {
            self.wait_for_refresh(0, FIRST_ANSWER_WAIT);
        }
        let mut state = lock(&self.shared);
        if state.services.is_empty() {
            return ServicesForSend::default();
        }
        let counts = Some(service::counts(&state.services));
        let list = if state.fresh {
            state.fresh = false;
            Some(state.services.iter().map(Service::to_value).collect())
        } else {
            None
        };
        ServicesForSend { list, counts }
    }
}

impl Drop for SystemdCollector {
    fn drop(&mut self) {
        lock(&self.shared).stop = true;
        self.shared.wake.notify_all();
    }
}

fn start_refresher(owner: &Arc<Shared>, settings: &Settings, first: Duration, period: Duration) {
    let shared = Arc::clone(owner);
    let address = settings.system_bus_address.clone();
    let patterns = settings.service_patterns.clone();
    let cpus = usable_cpus();
    let spawned = std::thread::Builder::new()
        .name("sonar-systemd".into())
        .spawn(move || {
            let clock = Instant::now();
            let mut tracker = ServiceTracker::new(cpus);
            let mut wait = Duration::ZERO;
            let mut round = 0u64;
            loop {
                {
                    let mut state = lock(&shared);
                    let deadline = Instant::now() + wait;
                    while !state.stop {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            break;
                        }
                        state = match shared.wake.wait_timeout(state, left) {
                            Ok((s, _)) => s,
                            Err(poisoned) => poisoned.into_inner().0,
                        };
                    }
                    if state.stop {
                        return;
                    }
                }
                let now_ns = u64::try_from(clock.elapsed().as_nanos()).unwrap_or(u64::MAX);
                let outcome = refresh(address.as_deref(), &patterns, &mut tracker, now_ns);
                let mut state = lock(&shared);
                match outcome {
                    Ok(services) => {
                        state.status = SystemdStatus::Available {
                            units: services.len(),
                        };
                        state.services = services;
                        state.fresh = true;
                    }
                    Err(reason) => {
                        // no stale counts under an "unavailable" status
                        state.services.clear();
                        state.fresh = false;
                        state.status = SystemdStatus::Unavailable(reason);
                    }
                }
                state.refreshes += 1;
                drop(state);
                shared.wake.notify_all();
                round += 1;
                wait = if round == 1 { first } else { period };
            }
        });
    if let Err(e) = spawned {
        lock(owner).status =
            SystemdStatus::Unavailable(format!("cannot start the systemd thread: {e}"));
    }
}

/// The CPUs this process may run on, as Go's runtime.NumCPU counts them (the affinity mask; a
/// cgroup CPU quota does not lower it, unlike `available_parallelism`).
fn usable_cpus() -> usize {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sched_getaffinity fills the zeroed cpu_set_t we own; CPU_COUNT only reads it.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::cpu_set_t>();
        if unsafe { libc::sched_getaffinity(0, size, &mut set) } == 0 {
            let count = unsafe { libc::CPU_COUNT(&set) };
            if let Ok(n) = usize::try_from(count) {
                if n > 0 {
                    return n;
                }
            }
        }
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Errors of one unit's read that mean "it is gone", not "the refresh failed".
#[cfg(target_os = "linux")]
fn unit_vanished(error: &bus::BusError) -> bool {
    matches!(error, bus::BusError::Method { name, .. } if matches!(name.as_str(),
        "org.freedesktop.systemd1.NoSuchUnit"
            | "org.freedesktop.DBus.Error.UnknownObject"
            | "org.freedesktop.DBus.Error.UnknownInterface"
            | "org.freedesktop.DBus.Error.UnknownMethod"
            | "org.freedesktop.DBus.Error.UnknownProperty"))
}

/// One refresh: list the matching loaded units and read each one's counters.
#[cfg(target_os = "linux")]
fn refresh(
    address: Option<&str>,
    patterns: &[String],
    tracker: &mut ServiceTracker,
    now_ns: u64,
) -> Result<Vec<Service>, String> {
    let bus = bus::SystemBus::connect(address, REFRESH_DEADLINE).map_err(|e| e.to_string())?;
    let units = bus.list_units(patterns).map_err(|e| e.to_string())?;
    let mut readings = Vec::with_capacity(units.len());
    for (unit, active, sub, path) in &units {
        match bus.read_unit(unit, active, sub, path) {
            Ok(r) => readings.push(r),
            // Garbage-collected between the list and the read: it is simply gone.
            Err(e) if unit_vanished(&e) => {}
            // AccessDenied, NoReply, a cut connection…: the refresh failed, and says why.
            Err(e) => return Err(format!("reading {unit}: {e}")),
        }
    }
    Ok(tracker.update(&readings, now_ns))
}

#[cfg(not(target_os = "linux"))]
fn refresh(
    _address: Option<&str>,
    _patterns: &[String],
    _tracker: &mut ServiceTracker,
    _now_ns: u64,
) -> Result<Vec<Service>, String> {
    Err("systemd is monitored on Linux only".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_systemd_starts_nothing() {
        let settings = Settings {
            skip_systemd: true,
            ..Settings::default()
        };
        let c = SystemdCollector::new(&settings);
        assert_eq!(
            c.status(),
            SystemdStatus::Disabled("SKIP_SYSTEMD=true".into())
        );
        assert_eq!(c.take_for_send(), ServicesForSend::default());
        assert_eq!(c.wait_for_refresh(0, Duration::from_millis(50)), 0);
    }

    #[test]
    fn no_bus_is_unavailable_with_the_reason() {
        let settings = Settings {
            system_bus_address: Some("unix:path=/nonexistent/sonar-test-bus".into()),
            ..Settings::default()
        };
        let c = SystemdCollector::with_timing(&settings, Duration::from_secs(60), REFRESH_PERIOD);
        assert_eq!(c.wait_for_refresh(0, Duration::from_secs(5)), 1);
        match c.status() {
            SystemdStatus::Unavailable(m) => {
                assert!(m.contains("/nonexistent/sonar-test-bus"), "{m}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.take_for_send(), ServicesForSend::default());
    }
}
