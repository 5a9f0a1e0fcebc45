//! A connection to the system D-Bus for talking to systemd, through zbus (pure Rust: the addon
//! needs no libdbus on the host). zbus 1.9's blocking calls have no timeout, so every connection
//! carries a watchdog that shuts the socket down at its deadline — a stuck bus fails the call
//! instead of hanging the thread.

use super::service::UnitReading;
use std::collections::HashMap;
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

pub const DEFAULT_SYSTEM_BUS: &str = "unix:path=/run/dbus/system_bus_socket";
const SYSTEMD: &str = "org.freedesktop.systemd1";
const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
const PROPERTIES: &str = "org.freedesktop.DBus.Properties";
pub const UNIT_IFACE: &str = "org.freedesktop.systemd1.Unit";
pub const SERVICE_IFACE: &str = "org.freedesktop.systemd1.Service";
const JOB_IFACE: &str = "org.freedesktop.systemd1.Job";

/// One row of ListUnitsByPatterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedUnit {
    pub name: String,
    pub description: String,
    pub load_state: String,
    pub active_state: String,
    pub sub_state: String,
    pub path: String,
}

/// The unit methods that queue a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobVerb {
    Start,
    Stop,
    Restart,
    Reload,
}

impl JobVerb {
    pub fn method(self) -> &'static str {
        match self {
            JobVerb::Start => "Start",
            JobVerb::Stop => "Stop",
            JobVerb::Restart => "Restart",
            JobVerb::Reload => "Reload",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusError {
    /// No bus socket could be reached (systemd monitoring is off until one can).
    Connect(String),
    /// systemd answered with an error (e.g. org.freedesktop.systemd1.NoSuchUnit).
    Method { name: String, detail: String },
    /// The connection broke or the watchdog cut it.
    Io(String),
}

impl std::fmt::Display for BusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BusError::Connect(m) | BusError::Io(m) => f.write_str(m),
            BusError::Method { name, detail } if detail.is_empty() => f.write_str(name),
            BusError::Method { detail, .. } => f.write_str(detail),
        }
    }
}

fn from_zbus(error: zbus::Error) -> BusError {
    match error {
        zbus::Error::MethodError(name, detail, _) => BusError::Method {
            name,
            detail: detail.unwrap_or_default(),
        },
        other => BusError::Io(other.to_string()),
    }
}

/// The socket paths of a D-Bus address ("unix:path=/a;unix:abstract=b,guid=…"), with the
/// spec's %XX escapes decoded. Abstract names are returned with a leading '@'.
pub fn socket_candidates(address: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in address.split(';') {
        let Some(params) = entry.trim().strip_prefix("unix:") else {
            continue;
        };
        for kv in params.split(',') {
            match kv.split_once('=') {
                Some(("path", v)) => out.push(unescape(v)),
                Some(("abstract", v)) => out.push(format!("@{}", unescape(v))),
                _ => {}
            }
        }
    }
    out
}

fn unescape(value: &str) -> String {
    super::service::decode_hex_escapes(value, b"%")
}

/// Connects within `deadline`: a blocking unix connect() waits while the listener's accept queue
/// is full (a hung dbus-daemon), and Linux bounds that wait by the socket's send timeout.
fn connect_socket(candidate: &str, deadline: Duration) -> std::io::Result<UnixStream> {
    use std::os::unix::io::FromRawFd;
    let (path, abstract_name) = match candidate.strip_prefix('@') {
        Some(name) => (name.as_bytes(), true),
        None => (candidate.as_bytes(), false),
    };
    // SAFETY: a zeroed sockaddr_un is valid; we fill family and path within its bounds below.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let offset = usize::from(abstract_name); // abstract names start with a NUL byte
    if path.is_empty() || offset + path.len() >= addr.sun_path.len() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "bus socket path is empty or too long",
        ));
    }
    for (slot, byte) in addr.sun_path.iter_mut().skip(offset).zip(path) {
        *slot = *byte as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>()
        + offset
        + path.len()
        + usize::from(!abstract_name);
    // SAFETY: plain socket(2); the descriptor is owned by the UnixStream right away.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh socket nobody else owns.
    let stream = unsafe { UnixStream::from_raw_fd(fd) };
    stream.set_write_timeout(Some(deadline.max(Duration::from_millis(1))))?;
    // SAFETY: `addr` is a valid sockaddr_un and `len` does not exceed its size.
    let rc = unsafe {
        libc::connect(
            fd,
            (&addr as *const libc::sockaddr_un).cast::<libc::sockaddr>(),
            len as libc::socklen_t,
        )
    };
    if rc != 0 {
        let error = std::io::Error::last_os_error();
        return Err(match error.raw_os_error() {
            Some(libc::EAGAIN) => std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "no answer within {} s (the bus accepts no connections)",
                    deadline.as_secs_f64()
                ),
            ),
            _ => error,
        });
    }
    // zbus handles its own waiting; the connect timeout must not cut its writes
    stream.set_write_timeout(None)?;
    Ok(stream)
}

pub struct SystemBus {
    watchdog: Watchdog,
    deadline: Duration,
    conn: zbus::Connection,
    /// The socket of the address that answered.
    socket: String,
}

/// Ends a connection at its deadline, or as soon as the bus hangs up. zbus 1.9 loops forever on a
/// socket at end-of-file (its reads treat 0 bytes as "read again"), so closing the socket is not
/// enough: the watchdog points zbus's descriptor at /dev/null, where its next read fails with
/// ENOTSOCK, then shuts the socket down to wake any poll(). It is disarmed (under the same lock)
/// before zbus closes that descriptor, and it checks that the descriptor still is the socket it
/// was given (device and inode), so a closed or reused descriptor number is never touched.
struct Watchdog {
    state: Arc<Mutex<WatchState>>,
    cancel: mpsc::Sender<()>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WatchState {
    Armed,
    Disarmed,
    /// The deadline passed, or the bus hung up, and the connection was cut.
    Fired(Cut),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    Deadline,
    HungUp,
}

/// How often the watchdog looks for a hang-up before the deadline.
const HANGUP_CHECK: Duration = Duration::from_millis(20);

/// (device, inode) of an open descriptor.
fn identity(fd: RawFd) -> Option<(u64, u64)> {
    // SAFETY: fstat only writes into the zeroed struct we own; a bad descriptor is an error return.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    (unsafe { libc::fstat(fd, &mut st) } == 0).then_some((st.st_dev, st.st_ino))
}

/// The peer closed its side and nothing is left to read: zbus would now spin on end-of-file.
fn hung_up(socket: &UnixStream) -> bool {
    let mut poll = libc::pollfd {
        fd: socket.as_raw_fd(),
        events: libc::POLLIN | libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    if unsafe { libc::poll(&mut poll, 1, 0) } != 1 {
        return false;
    }
    if poll.revents & (libc::POLLRDHUP | libc::POLLHUP) == 0 {
        return false;
    }
    let mut unread: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int into `unread`.
    let ok = unsafe { libc::ioctl(socket.as_raw_fd(), libc::FIONREAD, &mut unread) } == 0;
    ok && unread == 0
}

impl Watchdog {
    /// `fd`: zbus's descriptor; `socket`: our own handle on the same socket.
    fn arm(fd: RawFd, socket: UnixStream, deadline: Duration) -> std::io::Result<Watchdog> {
        // Everything the watchdog needs is made now: at the deadline there may be no descriptor
        // left to open (EMFILE), and a watchdog that cannot act would leave zbus spinning.
        let null = std::fs::File::open("/dev/null")?;
        let target = identity(socket.as_raw_fd());
        let state = Arc::new(Mutex::new(WatchState::Armed));
        let (cancel, cancelled) = mpsc::channel::<()>();
        let shared = Arc::clone(&state);
        let until = std::time::Instant::now() + deadline;
        std::thread::Builder::new()
            .name("sonar-dbus-watchdog".into())
            .spawn(move || loop {
                let left = until.saturating_duration_since(std::time::Instant::now());
                let cut = match cancelled.recv_timeout(left.min(HANGUP_CHECK)) {
                    Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    Err(mpsc::RecvTimeoutError::Timeout) if left.is_zero() => Cut::Deadline,
                    Err(mpsc::RecvTimeoutError::Timeout) if hung_up(&socket) => Cut::HungUp,
                    Err(mpsc::RecvTimeoutError::Timeout) => continue,
                };
                let mut state = shared.lock().unwrap_or_else(|p| p.into_inner());
                if *state == WatchState::Armed {
                    if target.is_some() && identity(fd) == target {
                        // SAFETY: `fd` is still zbus's socket (not disarmed, same device and
                        // inode as our handle); dup2 atomically replaces what it refers to.
                        unsafe { libc::dup2(null.as_raw_fd(), fd) };
                    }
                    let _ = socket.shutdown(std::net::Shutdown::Both);
                    *state = WatchState::Fired(cut);
                }
                return;
            })?;
        Ok(Watchdog { state, cancel })
    }

    fn disarm(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if *state == WatchState::Armed {
            *state = WatchState::Disarmed;
        }
        let _ = self.cancel.send(());
    }

    /// Why the connection was cut, in words for the error the caller sees.
    fn cut_reason(&self, deadline: Duration) -> Option<String> {
        match *self.state.lock().unwrap_or_else(|p| p.into_inner()) {
            WatchState::Fired(Cut::Deadline) => Some(format!(
                "the system bus did not answer within {} s",
                deadline.as_secs_f64()
            )),
            WatchState::Fired(Cut::HungUp) => Some("the system bus closed the connection".into()),
            _ => None,
        }
    }
}

impl Drop for SystemBus {
    fn drop(&mut self) {
        // before `conn` (dropped after this) closes the descriptor
        self.watchdog.disarm();
    }
}

/// Why `SystemBus::try_connect` got no connection: the last socket's failure.
#[derive(Debug)]
pub enum ConnectFailure {
    /// The address has no unix:path= or unix:abstract= entry.
    NoSocket {
        address: String,
    },
    /// connect(2) on the socket failed (the last one tried).
    Socket {
        socket: String,
        error: std::io::Error,
    },
    Watchdog(std::io::Error),
    /// Connected, but the bus refused or did not finish the authentication.
    Handshake {
        socket: String,
        why: String,
    },
}

impl std::fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectFailure::NoSocket { address } => {
                write!(f, "no unix socket in the bus address {address:?}")
            }
            ConnectFailure::Socket { socket, error } => {
                write!(f, "cannot connect to the system bus at {socket}: {error}")
            }
            ConnectFailure::Watchdog(e) => write!(f, "system bus watchdog: {e}"),
            ConnectFailure::Handshake { socket, why } => {
                write!(
                    f,
                    "system bus at {socket} did not complete the handshake: {why}"
                )
            }
        }
    }
}

impl SystemBus {
    /// Connects and authenticates; every call on this connection must finish within `deadline`
    /// from now.
    pub fn connect(address: Option<&str>, deadline: Duration) -> Result<SystemBus, BusError> {
        Self::try_connect(address, deadline).map_err(|f| BusError::Connect(f.to_string()))
    }

    /// `connect`, with the failure kept whole (the probe reports the OS error).
    pub fn try_connect(
        address: Option<&str>,
        deadline: Duration,
    ) -> Result<SystemBus, ConnectFailure> {
        let address = address.unwrap_or(DEFAULT_SYSTEM_BUS);
        let mut last = ConnectFailure::NoSocket {
            address: address.to_string(),
        };
        for candidate in socket_candidates(address) {
            let stream = match connect_socket(&candidate, deadline) {
                Ok(s) => s,
                Err(error) => {
                    last = ConnectFailure::Socket {
                        socket: candidate,
                        error,
                    };
                    continue;
                }
            };
            // No call without its deadline: a watchdog that cannot start is a failed connect.
            let watchdog = match stream
                .try_clone()
                .and_then(|handle| Watchdog::arm(stream.as_raw_fd(), handle, deadline))
            {
                Ok(w) => w,
                Err(e) => return Err(ConnectFailure::Watchdog(e)),
            };
            return match zbus::Connection::new_unix_client(stream, true) {
                Ok(conn) => Ok(SystemBus {
                    watchdog,
                    deadline,
                    conn,
                    socket: candidate,
                }),
                Err(e) => {
                    watchdog.disarm();
                    let why = watchdog
                        .cut_reason(deadline)
                        .unwrap_or_else(|| e.to_string());
                    Err(ConnectFailure::Handshake {
                        socket: candidate,
                        why,
                    })
                }
            };
        }
        Err(last)
    }

    /// The socket connected to ('@' before an abstract name).
    pub fn socket(&self) -> &str {
        &self.socket
    }

    /// The manager's `Version` property ("252.30-1~deb12u2").
    pub fn version(&self) -> Result<String, BusError> {
        let value = self.get(MANAGER_PATH, MANAGER, "Version")?;
        match &*value {
            Value::Str(s) => Ok(s.as_str().to_string()),
            other => Err(BusError::Io(format!("Version is not a string: {other:?}"))),
        }
    }

    /// One method call on systemd's bus name, its reply decoded; a connection the watchdog cut
    /// says why.
    fn call<B, R>(&self, path: &str, interface: &str, method: &str, body: &B) -> Result<R, BusError>
    where
        B: serde::ser::Serialize + zbus::zvariant::Type,
        R: serde::de::DeserializeOwned + zbus::zvariant::Type,
    {
        let reply = self
            .conn
            .call_method(Some(SYSTEMD), path, Some(interface), method, body)
            .map_err(|e| match self.watchdog.cut_reason(self.deadline) {
                Some(why) => BusError::Io(why),
                None => from_zbus(e),
            })?;
        reply.body().map_err(|e| BusError::Io(e.to_string()))
    }

    /// (unit name, ActiveState, SubState, object path) of the loaded units matching `patterns`.
    pub fn list_units(
        &self,
        patterns: &[String],
    ) -> Result<Vec<(String, String, String, String)>, BusError> {
        Ok(self
            .list_units_by_patterns(&["loaded"], patterns)?
            .into_iter()
            .map(|u| (u.name, u.active_state, u.sub_state, u.path))
            .collect())
    }

    /// ListUnitsByPatterns: the units systemd holds in memory in one of `states` (all when empty)
    /// whose names match one of systemd's fnmatch `patterns` (all when empty). Aliases are not
    /// rows of their own.
    pub fn list_units_by_patterns(
        &self,
        states: &[&str],
        patterns: &[String],
    ) -> Result<Vec<ListedUnit>, BusError> {
        type Row = (
            String,
            String,
            String,
            String,
            String,
            String,
            OwnedObjectPath,
            u32,
            String,
            OwnedObjectPath,
        );
        let rows: Vec<Row> = self.call(
            MANAGER_PATH,
            MANAGER,
            "ListUnitsByPatterns",
            &(states, patterns),
        )?;
        Ok(rows
            .into_iter()
            .map(|r| ListedUnit {
                name: r.0,
                description: r.1,
                load_state: r.2,
                active_state: r.3,
                sub_state: r.4,
                path: r.6.as_str().to_string(),
            })
            .collect())
    }

    /// ListUnitFiles: the path of every unit file systemd finds, loaded or not.
    pub fn unit_file_paths(&self) -> Result<Vec<String>, BusError> {
        let rows: Vec<(String, String)> = self.call(MANAGER_PATH, MANAGER, "ListUnitFiles", &())?;
        Ok(rows.into_iter().map(|(path, _state)| path).collect())
    }

    /// Queues a start/stop/restart/reload job for the unit at `unit_path` (mode "replace", as
    /// systemctl does); the job's object path. systemd asks polkit
    /// (org.freedesktop.systemd1.manage-units, details unit and verb) when the caller is not root.
    pub fn queue_job(&self, unit_path: &str, verb: JobVerb) -> Result<String, BusError> {
        let job: OwnedObjectPath =
            self.call(unit_path, UNIT_IFACE, verb.method(), &("replace",))?;
        Ok(job.as_str().to_string())
    }

    /// Whether the job still exists (systemd drops its object when the job finishes).
    pub fn job_pending(&self, job_path: &str) -> Result<bool, BusError> {
        match self.get(job_path, JOB_IFACE, "State") {
            Ok(_) => Ok(true),
            Err(BusError::Method { name, .. })
                if name == "org.freedesktop.DBus.Error.UnknownObject"
                    || name == "org.freedesktop.systemd1.NoSuchJob" =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// EnableUnitFiles(names, runtime=false, force=false); polkit action
    /// org.freedesktop.systemd1.manage-unit-files (no unit detail).
    pub fn enable_unit_files(&self, names: &[&str]) -> Result<(), BusError> {
        let _: (bool, Vec<(String, String, String)>) = self.call(
            MANAGER_PATH,
            MANAGER,
            "EnableUnitFiles",
            &(names, false, false),
        )?;
        Ok(())
    }

    /// DisableUnitFiles(names, runtime=false); polkit as for enabling.
    pub fn disable_unit_files(&self, names: &[&str]) -> Result<(), BusError> {
        let _: Vec<(String, String, String)> =
            self.call(MANAGER_PATH, MANAGER, "DisableUnitFiles", &(names, false))?;
        Ok(())
    }

    /// Manager.Reload (daemon-reload); answers once the reload is done. Polkit action
    /// org.freedesktop.systemd1.reload-daemon.
    pub fn reload_daemon(&self) -> Result<(), BusError> {
        let _: () = self.call(MANAGER_PATH, MANAGER, "Reload", &())?;
        Ok(())
    }

    /// The object path of a unit, loading it when it is not loaded (as reading its path does for
    /// the Go agent); a unit without a file then reports LoadState "not-found".
    pub fn unit_path(&self, unit: &str) -> Result<String, BusError> {
        let path: OwnedObjectPath = self.call(MANAGER_PATH, MANAGER, "LoadUnit", &(unit,))?;
        Ok(path.as_str().to_string())
    }

    pub fn get_all(
        &self,
        path: &str,
        interface: &str,
    ) -> Result<HashMap<String, OwnedValue>, BusError> {
        self.call(path, PROPERTIES, "GetAll", &(interface,))
    }

    pub fn get(&self, path: &str, interface: &str, name: &str) -> Result<OwnedValue, BusError> {
        self.call(path, PROPERTIES, "Get", &(interface, name))
    }

    /// The properties the Service item needs; a unit that vanished meanwhile (garbage-collected
    /// oneshot) is an error the caller skips.
    pub fn read_unit(
        &self,
        unit: &str,
        active_state: &str,
        sub_state: &str,
        path: &str,
    ) -> Result<UnitReading, BusError> {
        let active_enter_timestamp =
            as_u64(&*self.get(path, UNIT_IFACE, "ActiveEnterTimestamp")?).unwrap_or(0);
        let mut reading = UnitReading {
            unit: unit.to_string(),
            active_state: active_state.to_string(),
            sub_state: sub_state.to_string(),
            active_enter_timestamp,
            memory_current: super::service::UNSET,
            cpu_usage_nsec: super::service::UNSET,
            ..UnitReading::default()
        };
        if !unit.ends_with(".service") || active_enter_timestamp == 0 {
            return Ok(reading);
        }
        // One GetAll instead of five Gets; a property this systemd lacks (MemoryPeak before 254)
        // is simply absent from the map.
        let props = self.get_all(path, SERVICE_IFACE)?;
        let num = |name: &str| props.get(name).and_then(|v| as_u64(v));
        reading.memory_current = num("MemoryCurrent").unwrap_or(super::service::UNSET);
        reading.memory_peak = num("MemoryPeak");
        reading.cpu_usage_nsec = num("CPUUsageNSec").unwrap_or(super::service::UNSET);
        reading.n_restarts = num("NRestarts").map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
        reading.exec_main_start_timestamp = num("ExecMainStartTimestamp").unwrap_or(0);
        Ok(reading)
    }
}

fn as_u64(value: &Value<'_>) -> Option<u64> {
    match value {
        Value::U64(v) => Some(*v),
        Value::U32(v) => Some(u64::from(*v)),
        Value::U16(v) => Some(u64::from(*v)),
        Value::U8(v) => Some(u64::from(*v)),
        Value::Value(inner) => as_u64(inner),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bus_addresses() {
        assert_eq!(
            socket_candidates("unix:path=/run/dbus/system_bus_socket"),
            ["/run/dbus/system_bus_socket"]
        );
        assert_eq!(
            socket_candidates(
                "tcp:host=x,port=1;unix:abstract=/tmp/dbus-x,guid=ab;unix:path=/a%20b"
            ),
            ["@/tmp/dbus-x", "/a b"]
        );
        assert!(socket_candidates("tcp:host=localhost,port=1").is_empty());
    }

    #[test]
    fn no_bus_is_a_connect_error_naming_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none");
        let address = format!("unix:path={}", path.display());
        let err = SystemBus::connect(Some(&address), Duration::from_secs(1))
            .err()
            .unwrap();
        assert!(
            matches!(&err, BusError::Connect(m) if m.contains("none")),
            "{err:?}"
        );
    }

    /// Connects (300 ms deadline) to a bus served by `serve`; how long the attempt took.
    fn connect_to_fake_bus(
        serve: impl FnOnce(std::os::unix::net::UnixListener) + Send + 'static,
    ) -> (Result<(), String>, Duration) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bus");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || serve(listener));
        let started = std::time::Instant::now();
        let address = format!("unix:path={}", path.display());
        let result = SystemBus::connect(Some(&address), Duration::from_millis(300))
            .map(drop)
            .map_err(|e| e.to_string());
        let took = started.elapsed();
        server.join().unwrap();
        (result, took)
    }

    /// A socket that accepts and then never speaks: the watchdog must end the handshake.
    #[test]
    fn silent_bus_times_out() {
        let (result, took) = connect_to_fake_bus(|listener| {
            let held = listener.accept();
            std::thread::sleep(Duration::from_secs(1));
            drop(held);
        });
        let err = result.unwrap_err();
        assert!(err.contains("did not answer within 0.3 s"), "{err}");
        assert!(took < Duration::from_secs(1), "{took:?}");
    }

    /// A listener that never accepts, its queue full: connect() itself must give up in time.
    #[test]
    fn full_accept_queue_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("busy");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        // fill the backlog (somaxconn-bounded) without accepting
        let mut held = Vec::new();
        for _ in 0..5000 {
            match connect_socket(path.to_str().unwrap(), Duration::from_millis(50)) {
                Ok(s) => held.push(s),
                Err(e) => {
                    assert_eq!(e.kind(), std::io::ErrorKind::TimedOut, "{e}");
                    break;
                }
            }
        }
        assert!(held.len() < 5000, "the queue never filled");
        let started = std::time::Instant::now();
        let address = format!("unix:path={}", path.display());
        let err = SystemBus::connect(Some(&address), Duration::from_millis(300))
            .err()
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(
            err.to_string().contains("the bus accepts no connections"),
            "{err}"
        );
        drop(listener);
    }

    #[test]
    fn abstract_socket_names() {
        let name = format!("sonar-test-{}", std::process::id());
        let addr = {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap()
        };
        let _listener = std::os::unix::net::UnixListener::bind_addr(&addr).unwrap();
        assert!(connect_socket(&format!("@{name}"), Duration::from_secs(1)).is_ok());
        assert!(connect_socket("@sonar-nobody-listens-here", Duration::from_secs(1)).is_err());
    }

    /// zbus 1.9 reads a closed socket forever (0 bytes = read again): the watchdog must end it.
    #[test]
    fn bus_closing_mid_handshake_does_not_spin() {
        // a 300 ms deadline, but the hang-up is seen at once
        let (result, took) = connect_to_fake_bus(|listener| drop(listener.accept()));
        assert!(result.is_err());
        assert!(took < Duration::from_millis(250), "{took:?}");
    }
}
