//! The probe against real things: a REAL systemd when SONAR_TEST_SYSTEM_BUS names its bus
//! (test/systemd/systemd-host.sh), a real dbus-daemon without systemd on it, and a stand-in
//! smartctl found on PATH the way the S.M.A.R.T. monitor finds it.
#![cfg(target_os = "linux")]

use sonar_core::collect::smart::runner::SmartConfig;
use sonar_core::probe::{probe, systemd, Area};
use sonar_core::settings::Settings;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn with_bus(address: &str) -> Settings {
    Settings {
        system_bus_address: Some(address.to_string()),
        ..Settings::default()
    }
}

#[test]
fn real_systemd_answers() {
    let Some(address) = std::env::var("SONAR_TEST_SYSTEM_BUS")
        .ok()
        .filter(|b| !b.is_empty())
    else {
        eprintln!("SKIPPED: set SONAR_TEST_SYSTEM_BUS to a real systemd's bus address");
        return;
    };
    let p = systemd::probe(&with_bus(&address));
    let answer = p.systemd.clone().expect("connected");
    assert!(matches!(p.bus, Some(Ok(_))), "{p:?}");
    assert!(answer.units.as_ref().is_ok_and(|n| *n > 0), "{answer:?}");
    assert!(
        answer
            .version
            .as_deref()
            .is_some_and(|v| v.starts_with("252")),
        "{answer:?}"
    );
    let json = p.to_value().to_json();
    assert!(json.contains(r#""connected":true"#), "{json}");
    assert!(json.contains(r#""answered":true"#), "{json}");
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A bus that admits this user but has no systemd on it: connected, systemd does not answer.
#[test]
fn a_bus_without_systemd() {
    if !std::path::Path::new("/usr/bin/dbus-daemon").exists() {
        eprintln!("SKIPPED: no /usr/bin/dbus-daemon");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bus");
    let address = format!("unix:path={}", path.display());
    let _daemon = Daemon(
        Command::new("/usr/bin/dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile"])
            .arg(format!("--address={address}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let until = Instant::now() + Duration::from_secs(5);
    while !path.exists() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    let p = systemd::probe(&with_bus(&address));
    assert_eq!(p.bus, Some(Ok(path.display().to_string())), "{p:?}");
    let answer = p.systemd.expect("connected");
    let error = answer.units.unwrap_err();
    assert!(error.contains("org.freedesktop.systemd1"), "{error}");
    assert_eq!(answer.version, None);
}

/// The only test here that changes PATH (the monitor reads it), so it cannot race another.
#[test]
fn smartctl_on_path_and_its_version() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let tool = dir.path().join("smartctl");
    std::fs::write(
        &tool,
        "#!/bin/sh\necho 'smartctl 6.6 2016-05-31 r4324 [x86_64-linux] (local build)'\necho 'Copyright (C) 2002-16'\n",
    )
    .unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let old = std::env::var_os("PATH");
    std::env::set_var("PATH", dir.path());
    let value = probe(
        &Settings::default(),
        &SmartConfig::default(),
        &[Area::Smart],
    );
    match old {
        Some(p) => std::env::set_var("PATH", p),
        None => std::env::remove_var("PATH"),
    }
    let json = value.to_json();
    assert!(json.starts_with(r#"{"smart":{"#), "{json}");
    assert!(
        json.contains(&format!(r#""smartctl":"{}""#, tool.display())),
        "{json}"
    );
    assert!(json.contains(r#""version":"6.6""#), "{json}");
    assert!(
        json.contains(r#""json":false"#),
        "6.6 has no --json: {json}"
    );
}

#[test]
fn only_the_areas_asked_for() {
    // (no GPU area: loading NVML reads the environment while another test changes PATH)
    let settings = Settings {
        skip_systemd: true,
        ..Settings::default()
    };
    let json = probe(
        &settings,
        &SmartConfig::default(),
        &[Area::Sensors, Area::Systemd],
    )
    .to_json();
    assert!(json.starts_with(r#"{"systemd":{"enabled":false"#), "{json}");
    assert!(json.contains(r#""sensors":{"#), "{json}");
    assert!(!json.contains(r#""gpu":{"#), "{json}");
    assert!(!json.contains(r#""smart":{"#), "{json}");
}
