//! Every setting the agent knows, in one table: its name, the kind of value (which fixes its
//! grammar), its default, which component reads it and what it means. The core parses its own
//! settings from here; TypeScript receives the table through the binding and derives from it the
//! config file's known names, the validation of its own settings, the doctor's reading of each
//! value and the documentation checks. A new setting is added here, and only here.

/// The part of the agent that reads a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// the hub connection (TypeScript)
    Hub,
    /// the SSH fallback server (TypeScript)
    Ssh,
    /// the fingerprint and the data directory (TypeScript)
    Identity,
    /// logging (TypeScript)
    Logging,
    /// Docker/Podman engines (TypeScript, over the engine's HTTP API)
    Containers,
    /// SONAR's host actions 6–13: policy, READ_ONLY, audit (TypeScript)
    Extensions,
    /// Prometheus: the /metrics endpoint and remote write (TypeScript; the core renders)
    Metrics,
    /// the host's kernel files and system information (core)
    Host,
    Memory,
    Disks,
    Network,
    Sensors,
    Gpu,
    Smart,
    Systemd,
}

/// Which side of the binding does the reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// the Rust core
    Core,
    /// the TypeScript agent
    Agent,
}

impl Component {
    pub fn name(self) -> &'static str {
        match self {
            Component::Hub => "hub",
            Component::Ssh => "ssh",
            Component::Identity => "identity",
            Component::Logging => "logging",
            Component::Containers => "containers",
            Component::Extensions => "extensions",
            Component::Metrics => "metrics",
            Component::Host => "host",
            Component::Memory => "memory",
            Component::Disks => "disks",
            Component::Network => "network",
            Component::Sensors => "sensors",
            Component::Gpu => "gpu",
            Component::Smart => "smart",
            Component::Systemd => "systemd",
        }
    }

    pub fn side(self) -> Side {
        match self {
            Component::Hub
            | Component::Ssh
            | Component::Identity
            | Component::Logging
            | Component::Containers
            | Component::Extensions
            | Component::Metrics => Side::Agent,
            _ => Side::Core,
        }
    }
}

/// The kind of value, which decides how it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `true` or `false` (any case)
    Bool,
    /// a Go duration: `500ms`, `15m`, `1h30m` (`0` switches the feature off)
    Duration,
    /// a Go duration longer than zero (a limit or an interval, where zero has no meaning)
    Timeout,
    /// items separated by `separator`, or by the value of `separator_setting` when that is set
    List {
        separator: &'static str,
        separator_setting: Option<&'static str>,
    },
    /// comma-separated names with `*` globs; a leading `-` makes it a deny list
    Filter,
    /// comma-separated glob patterns
    Globs,
    /// one of `values` (any case); `aliases` map other spellings to one of them
    Enum {
        values: &'static [&'static str],
        aliases: &'static [(&'static str, &'static str)],
    },
    /// a comma-separated priority list of names from `values`
    EnumList { values: &'static [&'static str] },
    /// a file or folder
    Path,
    /// free text checked by its reader
    Text,
    /// a secret: never quoted in a message
    Secret,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bool => "bool",
            Kind::Duration => "duration",
            Kind::Timeout => "timeout",
            Kind::List { .. } => "list",
            Kind::Filter => "filter",
            Kind::Globs => "globs",
            Kind::Enum { .. } => "enum",
            Kind::EnumList { .. } => "enum-list",
            Kind::Path => "path",
            Kind::Text => "text",
            Kind::Secret => "secret",
        }
    }
}

/// Whether the agent does something with a setting. Beszel knows a few names SONAR has no use
/// for; a name that is accepted and then ignored is a trap, so those are refused with the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    Yes,
    Refused(&'static str),
}

/// What a list's items may be, beyond its kind's grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Items {
    Any,
    /// Handed to a program as arguments (`SMART_DEVICES` → smartctl): `name[:type]`, and no part
    /// may start with `-`, or the program would read it as an option (`--smart=off`, `-d`).
    Arguments,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub name: &'static str,
    pub kind: Kind,
    /// what applies when it is unset, as a person would write it
    pub default: &'static str,
    pub read_by: &'static [Component],
    /// one line: what it does
    pub meaning: &'static str,
    /// a good value, for error messages and the documentation
    pub example: &'static str,
    pub support: Support,
    pub items: Items,
}

impl Setting {
    /// Core, agent, or both (`HOST_PROC`: the collectors and the fingerprint).
    pub fn sides(&self) -> (bool, bool) {
        let core = self.read_by.iter().any(|c| c.side() == Side::Core);
        let agent = self.read_by.iter().any(|c| c.side() == Side::Agent);
        (core, agent)
    }

    pub fn read_by_core(&self) -> bool {
        self.sides().0
    }
}

/// `GPU_COLLECTOR` names this agent implements, in the default priority order.
pub const GPU_COLLECTORS: &[&str] = &[
    "nvml",
    "nvidia-smi",
    "intel_gpu_top",
    "intel_sysfs",
    "amd_sysfs",
];

/// Names of Beszel HEAD's `GPU_COLLECTOR` list this agent does not implement, with what to use
/// instead: a setting that silently collects nothing would be worse than one clear error.
pub const UNSUPPORTED_GPU_COLLECTORS: &[(&str, &str)] = &[
    ("rocm-smi", "AMD cards are read from sysfs: use amd_sysfs"),
    (
        "nvtop",
        "use nvml or nvidia-smi, amd_sysfs, intel_gpu_top or intel_sysfs",
    ),
    ("macmon", "Apple GPUs are not supported"),
    ("powermetrics", "Apple GPUs are not supported"),
];

pub const LOG_LEVELS: &[&str] = &["debug", "info", "warn", "error"];
pub const NETWORKS: &[&str] = &["tcp", "tcp4", "tcp6", "unix"];

const fn setting(
    name: &'static str,
    kind: Kind,
    default: &'static str,
    read_by: &'static [Component],
    meaning: &'static str,
    example: &'static str,
) -> Setting {
    Setting {
        name,
        kind,
        default,
        read_by,
        meaning,
        example,
        support: Support::Yes,
        items: Items::Any,
    }
}

impl Setting {
    /// The same setting, its list items passed to a program as arguments.
    const fn arguments(self) -> Setting {
        Setting {
            items: Items::Arguments,
            ..self
        }
    }
}

const fn refused(name: &'static str, read_by: &'static [Component], why: &'static str) -> Setting {
    Setting {
        name,
        kind: Kind::Text,
        default: "",
        read_by,
        meaning: why,
        example: "",
        support: Support::Refused(why),
        items: Items::Any,
    }
}

const COMMA: Kind = Kind::List {
    separator: ",",
    separator_setting: None,
};

use Component::*;

/// Every setting, in the order the documentation lists them.
pub const SETTINGS: &[Setting] = &[
    // the hub connection
    setting("HUB_URL", Kind::Text, "unset: SSH only", &[Hub], "the hub's URL (https://, http://, wss://, ws://)", "https://hub.example.com"),
    setting("TOKEN", Kind::Secret, "", &[Hub], "the registration token from the hub (required with HUB_URL)", "<the token from the hub's \"Add system\" dialog>"),
    setting("TOKEN_FILE", Kind::Path, "", &[Hub], "a file holding TOKEN", "/run/secrets/sonar-token"),
    setting("KEY", Kind::Secret, "", &[Hub, Ssh], "the hub's public key(s), ssh-ed25519 authorized_keys lines (required)", "\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA… hub\""),
    setting("KEY_FILE", Kind::Path, "", &[Hub, Ssh], "a file holding KEY", "/etc/sonar-agent/hub.pub"),
    setting("HUB_FLAVOR", Kind::Enum { values: &["sonar", "beszel"], aliases: &[] }, "try SONAR's route first, then Beszel's", &[Hub], "sonar or beszel: pin the hub's route", "beszel"),
    setting("CA_CERT_FILE", Kind::Path, "the system's CAs", &[Hub], "a PEM file of CAs that may sign the hub's certificate", "/etc/sonar-agent/hub-ca.pem"),
    setting("TLS_INSECURE_SKIP_VERIFY", Kind::Bool, "false", &[Hub], "true: do not verify the hub's certificate (logged)", "true"),
    setting("EXIT_ON_DNS_ERROR", Kind::Bool, "false", &[Hub], "true: exit with status 1 when the hub's name does not resolve", "true"),
    setting("REQUIRE_HUB_NONCE", Kind::Bool, "false", &[Hub], "true: accept only a hub that signs this connection's nonce (SONAR route; refuses stock hubs)", "true"),
    setting("HTTPS_PROXY", Kind::Text, "", &[Hub, Metrics], "proxy for wss:// and https:// hubs and https:// remote-write receivers", "http://proxy.example.com:3128"),
    setting("HTTP_PROXY", Kind::Text, "", &[Hub, Metrics], "proxy for ws:// and http:// hubs and http:// remote-write receivers", "http://proxy.example.com:3128"),
    setting("ALL_PROXY", Kind::Text, "", &[Hub, Metrics], "proxy for any hub or remote-write receiver (socks5:// too)", "socks5://127.0.0.1:1080"),
    setting("NO_PROXY", COMMA, "", &[Hub, Metrics], "hosts reached without a proxy", "localhost,.internal"),
    setting("SYSTEM_NAME", Kind::Text, "the hub's choice (the hostname)", &[Hub], "the name a universal-token hub gives this system", "web-01"),
    // the SSH fallback
    setting("LISTEN", Kind::Text, ":45876", &[Ssh], "SSH listen address: a port, host:port, [::1]:port or a unix socket path", "45876"),
    setting("PORT", Kind::Text, "", &[Ssh], "legacy alias of LISTEN", "45876"),
    setting("NETWORK", Kind::Enum { values: NETWORKS, aliases: &[] }, "inferred from LISTEN", &[Ssh], "the listen network", "tcp"),
    setting("DISABLE_SSH", Kind::Bool, "false", &[Ssh], "true: WebSocket only, no SSH server", "true"),
    // identity and logging
    setting("DATA_DIR", Kind::Path, "/var/lib/sonar-agent, else ~/.config/sonar-agent", &[Identity], "where the fingerprint, the SSH host key and remote write's unsent queue (at a stop) live", "/var/lib/sonar-agent"),
    setting("LOG_LEVEL", Kind::Enum { values: LOG_LEVELS, aliases: &[("warning", "warn")] }, "info", &[Logging], "debug, info, warn or error", "info"),
    setting("EXTENSIONS_FILE", Kind::Path, "/etc/sonar-agent/extensions.yml", &[Extensions], "the host-action policy (commands, services, files): the only way to enable actions 6–13; must be writable by root or the agent's user alone", "/etc/sonar-agent/extensions.yml"),
    setting("READ_ONLY", Kind::Bool, "false", &[Extensions], "true: running commands, service actions, file writes and deletes are refused whatever EXTENSIONS_FILE allows", "true"),
    setting("AUDIT_LOG", Kind::Path, "<DATA_DIR>/audit.jsonl", &[Extensions], "where every host-action decision is appended (JSON lines, 0600, rotated at 10 MiB, 5 old files kept)", "/var/log/sonar-agent/audit.jsonl"),
    // Prometheus-compatible engines
    setting("METRICS_LISTEN", Kind::Text, "off", &[Metrics], "serve Prometheus metrics at /metrics on this address: host:port, or a bare port for 127.0.0.1 only", "127.0.0.1:9101"),
    setting("METRICS_WEB_CONFIG", Kind::Path, "", &[Metrics], "TLS and basic auth of /metrics, in the web config file format of Prometheus's exporters (tls_server_config, basic_auth_users with bcrypt hashes)", "/etc/sonar-agent/web-config.yml"),
    setting("REMOTE_WRITE_URL", Kind::Text, "off", &[Metrics], "push every sample to this Prometheus remote-write receiver (Prometheus, VictoriaMetrics, Mimir, Thanos)", "https://vm.example.com/api/v1/write"),
    setting("REMOTE_WRITE_INTERVAL", Kind::Timeout, "15s", &[Metrics], "how often a sample is taken and pushed", "30s"),
    setting("REMOTE_WRITE_LABELS", COMMA, "job=sonar-agent,instance=<hostname>", &[Metrics], "labels added to every pushed series, name=value (these replace the defaults of the same name)", "instance=web-01,env=prod"),
    setting("REMOTE_WRITE_USERNAME", Kind::Text, "", &[Metrics], "basic auth user towards the receiver (with REMOTE_WRITE_PASSWORD_FILE)", "sonar"),
    setting("REMOTE_WRITE_PASSWORD_FILE", Kind::Path, "", &[Metrics], "a file holding the basic auth password towards the receiver", "/run/secrets/remote-write-password"),
    setting("REMOTE_WRITE_BEARER_TOKEN_FILE", Kind::Path, "", &[Metrics], "a file holding a bearer token sent to the receiver", "/run/secrets/remote-write-token"),
    setting("REMOTE_WRITE_QUEUE_MAX_AGE", Kind::Timeout, "30m", &[Metrics], "samples not yet accepted by the receiver are kept this long (the oldest are dropped, logged and counted)", "1h"),
    setting("REMOTE_WRITE_QUEUE_MAX_BYTES", Kind::Text, "8MiB", &[Metrics], "the most memory pending samples may take (compressed; the oldest are dropped, logged and counted)", "32MiB"),
    // the host
    setting("HOST_PROC", Kind::Path, "/proc", &[Host, Identity], "where the host's /proc is (an agent in a container with the host mounted)", "/host/proc"),
    setting("HOST_SYS", Kind::Path, "/sys", &[Host, Identity], "where the host's /sys is", "/host/sys"),
    setting("HOST_ETC", Kind::Path, "/etc", &[Host, Identity], "where the host's /etc is", "/host/etc"),
    setting("MEM_CALC", Kind::Enum { values: &["htop"], aliases: &[] }, "Total − Available", &[Memory], "htop: count used memory as htop does", "htop"),
    // disks
    setting("FILESYSTEM", Kind::Text, "the root filesystem", &[Disks], "device or mount point of the main disk", "/dev/sda1"),
    setting("EXTRA_FILESYSTEMS", COMMA, "", &[Disks], "more filesystems, optional names after __ (also every mount under /extra-filesystems)", "sdb1,/mnt/data__Backup"),
    setting("DISK_USAGE_CACHE", Kind::Duration, "off", &[Disks], "refresh non-root usage that rarely (lets disks sleep)", "15m"),
    // network
    setting("NICS", Kind::Filter, "all but lo, docker, br-, veth, bond masters, cali and idle NICs", &[Network], "interfaces to monitor: an allow list, or a deny list starting with -", "eth0,wlan*"),
    // sensors
    setting("SENSORS", Kind::Filter, "all", &[Sensors], "sensor names (globs) to keep, or to drop with a leading -; empty disables temperatures", "cpu_*,nvme*"),
    setting("PRIMARY_SENSOR", Kind::Text, "the hottest", &[Sensors], "the sensor shown as the dashboard temperature", "coretemp_package_id_0"),
    setting("SYS_SENSORS", Kind::Path, "HOST_SYS", &[Sensors], "where hwmon sensors are read from", "/host/sys"),
    // containers
    setting("DOCKER_HOST", Kind::Text, "/var/run/docker.sock, then the rootful and rootless Podman sockets", &[Containers], "the engine: unix:///path.sock, tcp://host:2375, https://host:2376; set but empty disables containers", "unix:///var/run/docker.sock"),
    setting("DOCKER_TIMEOUT", Kind::Timeout, "2100ms", &[Containers], "per-request timeout towards the engine", "5s"),
    setting("EXCLUDE_CONTAINERS", Kind::Globs, "", &[Containers], "container names (globs) not to monitor", "web-*,test"),
    // GPUs
    setting("SKIP_GPU", Kind::Bool, "false", &[Gpu], "true disables GPU collection", "true"),
    setting("GPU_COLLECTOR", Kind::EnumList { values: GPU_COLLECTORS }, "NVML, else nvidia-smi; AMD sysfs; intel_gpu_top or Intel sysfs", &[Gpu], "the collectors to use, in priority order", "nvml,amd_sysfs"),
    setting("NVML", Kind::Bool, "true", &[Gpu], "false: never load NVML (NVIDIA GPUs through nvidia-smi only)", "false"),
    setting("AMD_SYSFS", Kind::Bool, "true", &[Gpu], "AMD GPUs are read from sysfs (true is all SONAR does: false is refused)", "true"),
    setting("INTEL_GPU_DEVICE", Kind::Text, "", &[Gpu], "passed to intel_gpu_top -d", "drm:/dev/dri/card1"),
    // S.M.A.R.T.
    setting("SMART_DEVICES", Kind::List { separator: ",", separator_setting: Some("SMART_DEVICES_SEPARATOR") }, "smartctl --scan-open", &[Smart], "disks (and smartctl -d types) to read; empty disables S.M.A.R.T.", "/dev/sda,/dev/sdb:sat").arguments(),
    setting("SMART_DEVICES_SEPARATOR", Kind::Text, ",", &[Smart], "the separator of SMART_DEVICES (for -d types that contain commas)", ";"),
    setting("SMART_INTERVAL", Kind::Timeout, "unset: the hub's 1h", &[Smart], "how often a Beszel v0.18 hub fetches S.M.A.R.T. data (sent to it in Details; v0.17 hubs fetch once per connection)", "6h"),
    setting("EXCLUDE_SMART", COMMA, "", &[Smart], "disks not to read (sleeping disks are never woken either way)", "/dev/sdc"),
    // systemd
    setting("SKIP_SYSTEMD", Kind::Bool, "false", &[Systemd], "true disables systemd unit monitoring", "true"),
    setting("SERVICE_PATTERNS", Kind::Globs, "*.service", &[Systemd], "units to monitor (.service appended unless an entry ends with it or with timer)", "nginx*,docker,*-worker@*"),
    setting("DBUS_SYSTEM_BUS_ADDRESS", Kind::Text, "unix:path=/run/dbus/system_bus_socket", &[Systemd], "the system bus systemd answers on (the standard variable)", "unix:path=/run/dbus/system_bus_socket"),
    // Beszel names SONAR has no use for
    refused("SENSORS_TIMEOUT", &[Sensors], "SONAR reads temperatures straight from sysfs, with no helper process to time out"),
    refused("LHM", &[Sensors], "LibreHardwareMonitor is a Windows sensor source, and SONAR has no Windows sensors"),
    refused("HOST_VAR", &[Host], "SONAR reads nothing under /var of the host; it uses HOST_PROC, HOST_SYS and HOST_ETC"),
    refused("HOST_RUN", &[Host], "SONAR reads nothing under /run of the host this way; mount the sockets it needs (DOCKER_HOST, DBUS_SYSTEM_BUS_ADDRESS)"),
    refused("HOST_DEV", &[Host], "SONAR reads nothing under /dev of the host this way; it uses HOST_PROC, HOST_SYS and HOST_ETC"),
    refused("HOST_ROOT", &[Host], "SONAR uses HOST_PROC, HOST_SYS and HOST_ETC, not a whole host root"),
    refused("HOST_PROC_MOUNTINFO", &[Host], "SONAR reads the mount table from HOST_PROC (1/mountinfo, then self/mountinfo)"),
];

/// The setting of that name.
pub fn find(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_upper_case() {
        let mut seen = HashSet::new();
        for s in SETTINGS {
            assert!(seen.insert(s.name), "{} twice", s.name);
            assert!(
                s.name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                s.name
            );
            assert!(!s.read_by.is_empty(), "{} is read by nobody", s.name);
            assert!(!s.meaning.is_empty(), "{} has no meaning", s.name);
        }
    }

    #[test]
    fn every_supported_setting_has_an_example() {
        for s in SETTINGS.iter().filter(|s| s.support == Support::Yes) {
            assert!(!s.example.is_empty(), "{}", s.name);
        }
    }

    #[test]
    fn a_separator_setting_is_in_the_table() {
        for s in SETTINGS {
            if let Kind::List {
                separator_setting: Some(other),
                ..
            } = s.kind
            {
                assert!(find(other).is_some(), "{} names {other}", s.name);
            }
        }
    }
}
