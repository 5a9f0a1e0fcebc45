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

fn connect_socket(candidate: &str) -> std::io::Result<UnixStream> {
    if let Some(name) = candidate.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
        UnixStream::connect_addr(&addr)
    } else {
        UnixStream::connect(candidate)
    }
}

pub struct SystemBus {
    watchdog: Watchdog,
    conn: zbus::Connection,
}

/// Ends a connection at its deadline. zbus 1.9 loops forever on a socket at end-of-file (its
/// reads treat 0 bytes as "read again"), so closing the socket is not enough: the watchdog first
/// points zbus's descriptor at /dev/null, where its next read fails with ENOTSOCK, then shuts the
/// socket down to wake any poll(). Disarmed (under the same lock) before zbus closes that
/// descriptor, so a reused descriptor number is never touched.
struct Watchdog {
    armed: Arc<Mutex<bool>>,
    cancel: mpsc::Sender<()>,
}

impl Watchdog {
    fn arm(fd: RawFd, socket: UnixStream, deadline: Duration) -> Watchdog {
        let armed = Arc::new(Mutex::new(true));
        let (cancel, cancelled) = mpsc::channel::<()>();
        let flag = Arc::clone(&armed);
        let spawned = std::thread::Builder::new()
            .name("sonar-dbus-watchdog".into())
            .spawn(move || {
                if let Err(mpsc::RecvTimeoutError::Timeout) = cancelled.recv_timeout(deadline) {
                    let mut armed = flag.lock().unwrap_or_else(|p| p.into_inner());
                    if *armed {
                        if let Ok(null) = std::fs::File::open("/dev/null") {
                            // SAFETY: `fd` is still open and owned by the zbus connection (the
                            // lock proves it was not disarmed, which happens before zbus closes
                            // it); dup2 atomically replaces what it refers to.
                            unsafe { libc::dup2(null.as_raw_fd(), fd) };
                        }
                        let _ = socket.shutdown(std::net::Shutdown::Both);
                        *armed = false;
                    }
                }
            });
        // Without a watchdog thread the calls still work; they just lose their deadline.
        drop(spawned);
        Watchdog { armed, cancel }
    }

    fn disarm(&self) {
        *self.armed.lock().unwrap_or_else(|p| p.into_inner()) = false;
        let _ = self.cancel.send(());
    }
}

impl Drop for SystemBus {
    fn drop(&mut self) {
        // before `conn` (dropped after this) closes the descriptor
        self.watchdog.disarm();
    }
}

impl SystemBus {
    /// Connects and authenticates; every call on this connection must finish within `deadline`
    /// from now.
    pub fn connect(address: Option<&str>, deadline: Duration) -> Result<SystemBus, BusError> {
        let address = address.unwrap_or(DEFAULT_SYSTEM_BUS);
        let mut last = format!("no unix socket in the bus address {address:?}");
        for candidate in socket_candidates(address) {
            let stream = match connect_socket(&candidate) {
                Ok(s) => s,
                Err(e) => {
                    last = format!("cannot connect to the system bus at {candidate}: {e}");
                    continue;
                }
            };
            let watchdog = match stream.try_clone() {
                Ok(handle) => Watchdog::arm(stream.as_raw_fd(), handle, deadline),
                Err(e) => return Err(BusError::Connect(e.to_string())),
            };
            return match zbus::Connection::new_unix_client(stream, true) {
                Ok(conn) => Ok(SystemBus { watchdog, conn }),
                Err(e) => {
                    watchdog.disarm();
                    Err(BusError::Connect(format!(
                        "system bus at {candidate} did not complete the handshake: {e}"
                    )))
                }
            };
        }
        Err(BusError::Connect(last))
    }

    /// One method call on systemd's bus name.
    fn call<B>(
        &self,
        path: &str,
        interface: &str,
        method: &str,
        body: &B,
    ) -> Result<zbus::Message, BusError>
    where
        B: serde::ser::Serialize + zbus::zvariant::Type,
    {
        self.conn
            .call_method(Some(SYSTEMD), path, Some(interface), method, body)
            .map_err(from_zbus)
    }

    /// (unit name, ActiveState, SubState, object path) of the loaded units matching `patterns`.
    pub fn list_units(
        &self,
        patterns: &[String],
    ) -> Result<Vec<(String, String, String, String)>, BusError> {
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
        let states = vec!["loaded"];
        let reply = self.call(
            MANAGER_PATH,
            MANAGER,
            "ListUnitsByPatterns",
            &(states, patterns),
        )?;
        let rows: Vec<Row> = reply.body().map_err(|e| BusError::Io(e.to_string()))?;
        Ok(rows
            .into_iter()
            .map(|r| (r.0, r.3, r.4, r.6.as_str().to_string()))
            .collect())
    }

    /// The object path of a unit; NoSuchUnit when it is not loaded.
    pub fn unit_path(&self, unit: &str) -> Result<String, BusError> {
        let reply = self.call(MANAGER_PATH, MANAGER, "GetUnit", &(unit,))?;
        let path: OwnedObjectPath = reply.body().map_err(|e| BusError::Io(e.to_string()))?;
        Ok(path.as_str().to_string())
    }

    pub fn get_all(
        &self,
        path: &str,
        interface: &str,
    ) -> Result<HashMap<String, OwnedValue>, BusError> {
        let reply = self
            .conn
            .call_method(
                Some(SYSTEMD),
                path,
                Some(PROPERTIES),
                "GetAll",
                &(interface,),
            )
            .map_err(from_zbus)?;
        reply.body().map_err(|e| BusError::Io(e.to_string()))
    }

    pub fn get(&self, path: &str, interface: &str, name: &str) -> Result<OwnedValue, BusError> {
        let reply = self
            .conn
            .call_method(
                Some(SYSTEMD),
                path,
                Some(PROPERTIES),
                "Get",
                &(interface, name),
            )
            .map_err(from_zbus)?;
        reply.body().map_err(|e| BusError::Io(e.to_string()))
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
    ) -> (bool, Duration) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bus");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || serve(listener));
        let started = std::time::Instant::now();
        let address = format!("unix:path={}", path.display());
        let ok = SystemBus::connect(Some(&address), Duration::from_millis(300)).is_ok();
        let took = started.elapsed();
        server.join().unwrap();
        (ok, took)
    }

    /// A socket that accepts and then never speaks: the watchdog must end the handshake.
    #[test]
    fn silent_bus_times_out() {
        let (ok, took) = connect_to_fake_bus(|listener| {
            let held = listener.accept();
            std::thread::sleep(Duration::from_secs(1));
            drop(held);
        });
        assert!(!ok);
        assert!(took < Duration::from_secs(1), "{took:?}");
    }

    /// zbus 1.9 reads a closed socket forever (0 bytes = read again): the watchdog must end it.
    #[test]
    fn bus_closing_mid_handshake_does_not_spin() {
        let (ok, took) = connect_to_fake_bus(|listener| drop(listener.accept()));
        assert!(!ok);
        assert!(took < Duration::from_secs(5), "{took:?}");
    }
}
