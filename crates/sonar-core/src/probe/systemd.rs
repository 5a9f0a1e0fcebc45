//! The system bus and systemd: the address the collector would use, a connect + authentication
//! through the collector's own `SystemBus` (bounded by a deadline), then the collector's first
//! call — ListUnitsByPatterns with SERVICE_PATTERNS — to see whether systemd answers.

use super::{count, object, text_or_null, texts};
use crate::settings::Settings;
use crate::value::Value;
use std::time::Duration;

/// The whole probe (connect, authentication, two calls) ends within this.
pub const DEADLINE: Duration = Duration::from_secs(3);

/// Where the connection failed.
#[derive(Debug, Clone, PartialEq)]
pub struct BusFailure {
    /// "address" (no unix socket in it), "connect", "watchdog" or "handshake".
    pub stage: &'static str,
    /// The socket it is about, when there is one.
    pub socket: Option<String>,
    /// The OS error of connect(2) as its errno name ("ENOENT", "EACCES", "ECONNREFUSED",
    /// "ETIMEDOUT"…), when that is where it failed.
    pub code: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SystemdAnswer {
    /// Units matching the patterns, when systemd answered.
    pub units: Result<usize, String>,
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SystemdProbe {
    /// Why systemd monitoring is off (SKIP_SYSTEMD, not Linux); None when it is on.
    pub disabled_by: Option<String>,
    pub address: String,
    /// DBUS_SYSTEM_BUS_ADDRESS gave the address (else the default).
    pub from_setting: bool,
    /// The unix sockets of the address, in order ('@' before an abstract name).
    pub sockets: Vec<String>,
    pub patterns: Vec<String>,
    /// The socket that accepted the connection and the authentication, or why none did.
    pub bus: Option<Result<String, BusFailure>>,
    pub systemd: Option<SystemdAnswer>,
}

#[cfg(target_os = "linux")]
fn errno_name(error: &std::io::Error) -> Option<String> {
    if error.kind() == std::io::ErrorKind::TimedOut {
        return Some("ETIMEDOUT".into());
    }
    let name = match error.raw_os_error()? {
        libc::ENOENT => "ENOENT",
        libc::EACCES => "EACCES",
        libc::EPERM => "EPERM",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::ENOTDIR => "ENOTDIR",
        libc::ENOTSOCK => "ENOTSOCK",
        libc::EAGAIN => "EAGAIN",
        libc::EINVAL => "EINVAL",
        libc::EMFILE => "EMFILE",
        n => return Some(format!("errno {n}")),
    };
    Some(name.to_string())
}

#[cfg(target_os = "linux")]
fn failure(f: &crate::collect::systemd::bus::ConnectFailure) -> BusFailure {
    use crate::collect::systemd::bus::ConnectFailure as F;
    let (stage, socket, code) = match f {
        F::NoSocket { .. } => ("address", None, None),
        F::Socket { socket, error } => ("connect", Some(socket.clone()), errno_name(error)),
        F::Watchdog(error) => ("watchdog", None, errno_name(error)),
        F::Handshake { socket, .. } => ("handshake", Some(socket.clone()), None),
    };
    BusFailure {
        stage,
        socket,
        code,
        message: f.to_string(),
    }
}

#[cfg(target_os = "linux")]
use crate::collect::systemd::bus::{socket_candidates, DEFAULT_SYSTEM_BUS};

#[cfg(not(target_os = "linux"))]
const DEFAULT_SYSTEM_BUS: &str = "unix:path=/run/dbus/system_bus_socket";

#[cfg(not(target_os = "linux"))]
fn socket_candidates(_address: &str) -> Vec<String> {
    Vec::new()
}

/// Connects as the collector does, then makes the collector's first call.
#[cfg(target_os = "linux")]
fn ask(settings: &Settings, address: &str) -> (Result<String, BusFailure>, Option<SystemdAnswer>) {
    use crate::collect::systemd::bus::SystemBus;
    let bus = match SystemBus::try_connect(Some(address), DEADLINE) {
        Ok(bus) => bus,
        Err(f) => return (Err(failure(&f)), None),
    };
    let units = bus
        .list_units(&settings.service_patterns)
        .map(|u| u.len())
        .map_err(|e| e.to_string());
    let version = units.as_ref().ok().and_then(|_| bus.version().ok());
    (
        Ok(bus.socket().to_string()),
        Some(SystemdAnswer { units, version }),
    )
}

#[cfg(not(target_os = "linux"))]
fn ask(
    _settings: &Settings,
    _address: &str,
) -> (Result<String, BusFailure>, Option<SystemdAnswer>) {
    let message = "systemd is monitored on Linux only".to_string();
    (
        Err(BusFailure {
            stage: "address",
            socket: None,
            code: None,
            message,
        }),
        None,
    )
}

pub fn probe(settings: &Settings) -> SystemdProbe {
    let address = settings
        .system_bus_address
        .clone()
        .unwrap_or_else(|| DEFAULT_SYSTEM_BUS.to_string());
    let disabled_by = if settings.skip_systemd {
        Some("SKIP_SYSTEMD=true".to_string())
    } else if !cfg!(target_os = "linux") {
        Some("systemd is monitored on Linux only".to_string())
    } else {
        None
    };
    let (bus, systemd) = match disabled_by {
        Some(_) => (None, None),
        None => {
            let (bus, systemd) = ask(settings, &address);
            (Some(bus), systemd)
        }
    };
    SystemdProbe {
        disabled_by,
        sockets: socket_candidates(&address),
        address,
        from_setting: settings.system_bus_address.is_some(),
        patterns: settings.service_patterns.clone(),
        bus,
        systemd,
    }
}

impl SystemdProbe {
    pub fn to_value(&self) -> Value {
        let (connected, socket, error) = match &self.bus {
            None => (false, None, Value::Null),
            Some(Ok(socket)) => (true, Some(socket.as_str()), Value::Null),
            Some(Err(f)) => (
                false,
                f.socket.as_deref(),
                object(vec![
                    ("stage", Value::Text(f.stage.to_string())),
                    ("code", text_or_null(f.code.as_deref())),
                    ("message", Value::Text(f.message.clone())),
                ]),
            ),
        };
        let systemd = match &self.systemd {
            None => Value::Null,
            Some(answer) => object(vec![
                ("answered", Value::Bool(answer.units.is_ok())),
                (
                    "units",
                    answer.units.as_ref().map_or(Value::Null, |n| count(*n)),
                ),
                ("version", text_or_null(answer.version.as_deref())),
                (
                    "error",
                    text_or_null(answer.units.as_ref().err().map(String::as_str)),
                ),
            ]),
        };
        object(vec![
            ("enabled", Value::Bool(self.disabled_by.is_none())),
            ("disabledBy", text_or_null(self.disabled_by.as_deref())),
            ("address", Value::Text(self.address.clone())),
            ("fromSetting", Value::Bool(self.from_setting)),
            ("sockets", texts(&self.sockets)),
            ("patterns", texts(&self.patterns)),
            ("connected", Value::Bool(connected)),
            ("socket", text_or_null(socket)),
            ("error", error),
            ("systemd", systemd),
            ("deadlineMs", count(DEADLINE.as_millis() as usize)),
        ])
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn with_address(address: &str) -> Settings {
        Settings {
            system_bus_address: Some(address.to_string()),
            ..Settings::default()
        }
    }

    #[test]
    fn missing_socket_is_enoent_at_connect() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none");
        let p = probe(&with_address(&format!("unix:path={}", path.display())));
        assert!(p.from_setting);
        assert_eq!(p.sockets, [path.display().to_string()]);
        let f = p.bus.unwrap().unwrap_err();
        assert_eq!((f.stage, f.code.as_deref()), ("connect", Some("ENOENT")));
        assert_eq!(f.socket, Some(path.display().to_string()));
        assert_eq!(p.systemd, None);
    }

    #[test]
    fn a_file_that_is_not_a_socket_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        std::fs::write(&path, "").unwrap();
        let p = probe(&with_address(&format!("unix:path={}", path.display())));
        let f = p.bus.unwrap().unwrap_err();
        assert_eq!(f.code.as_deref(), Some("ECONNREFUSED"), "{f:?}");
    }

    #[test]
    fn tcp_only_address_has_no_socket() {
        let p = probe(&with_address("tcp:host=localhost,port=1"));
        assert!(p.sockets.is_empty());
        let f = p.bus.unwrap().unwrap_err();
        assert_eq!(f.stage, "address");
        assert!(f.message.contains("no unix socket"), "{}", f.message);
    }

    #[test]
    fn default_address_and_skip() {
        let p = probe(&Settings {
            skip_systemd: true,
            ..Settings::default()
        });
        assert_eq!(p.disabled_by.as_deref(), Some("SKIP_SYSTEMD=true"));
        assert!(!p.from_setting);
        assert_eq!(p.sockets, ["/run/dbus/system_bus_socket"]);
        assert_eq!(
            p.bus, None,
            "nothing is tried when systemd monitoring is off"
        );
    }

    /// A bus that hangs up at once: the connection fails at the handshake, not at connect.
    #[test]
    fn bus_hanging_up_fails_the_handshake() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bus");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || drop(listener.accept()));
        let p = probe(&with_address(&format!("unix:path={}", path.display())));
        let f = p.bus.unwrap().unwrap_err();
        assert_eq!(f.stage, "handshake", "{f:?}");
        assert_eq!(f.socket, Some(path.display().to_string()));
        server.join().unwrap();
    }
}
