//! A small fake host shared by the integration tests that need a healthy tree to start from.
#![allow(dead_code)]

use sonar_core::roots::Roots;
use sonar_core::settings::Settings;
use sonar_core::Value;
use std::fs;
use std::path::Path;

pub fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// Raw bytes, for files that are not valid UTF-8 (firmware strings, foreign-encoded names).
pub fn write_bytes(root: &Path, rel: impl AsRef<Path>, bytes: &[u8]) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// A small, healthy host: every key file present and well-formed.
pub fn build_host(root: &Path) {
    write(
        root,
        "proc/stat",
        "cpu  100 0 50 800 10 0 0 0 0 0\ncpu0 100 0 50 800 10 0 0 0 0 0\nintr 0\n",
    );
    write(
        root,
        "proc/meminfo",
        "MemTotal: 16384000 kB\nMemFree: 2048000 kB\nMemAvailable: 8192000 kB\nBuffers: 0 kB\nCached: 0 kB\n",
    );
    write(root, "proc/loadavg", "0.52 0.58 0.59 1/389 12345\n");
    write(root, "proc/uptime", "86400.55 170000.00\n");
    write(root, "proc/net/dev", "Inter-| Receive | Transmit\n face |bytes packets|bytes packets\n  eth0: 1000 1 0 0 0 0 0 0 2000 2 0 0 0 0 0 0\n");
    write(
        root,
        "proc/diskstats",
        "   8       0 sda 5000 0 400000 3000 8000 0 900000 9000 0 7000 12000 0 0 0 0\n",
    );
    write(
        root,
        "proc/1/mountinfo",
        "28 1 8:0 / / rw,relatime - ext4 /dev/sda rw\n",
    );
    fs::create_dir_all(root.join("sys/class/net/eth0")).unwrap();
}

pub fn settings_for(roots: Roots) -> Settings {
    Settings {
        sensors_sys: roots.sys.clone(),
        roots,
        skip_gpu: true,
        skip_systemd: true,
        ..Settings::default()
    }
}

/// A text field of an encoded map (a SmartData entry, an attribute).
pub fn text(v: &Value, key: u64) -> Option<&str> {
    match v.get(key) {
        Some(Value::Text(t)) => Some(t),
        _ => None,
    }
}

/// The attributes (key 9) of an encoded SmartData entry as (name, raw value, raw string); none:
/// an empty list.
pub fn attributes(v: &Value) -> Vec<(String, u64, String)> {
    let Some(Value::Array(items)) = v.get(9) else {
        return Vec::new();
    };
    items
        .iter()
        .map(|a| {
            let rv = match a.get(5) {
                Some(Value::UInt(u)) => *u,
                other => panic!("rv {other:?}"),
            };
            (
                text(a, 1).expect("attribute name").to_string(),
                rv,
                text(a, 6).unwrap_or("").to_string(),
            )
        })
        .collect()
}
