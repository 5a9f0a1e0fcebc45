//! What the agent says when the host it reads is not what it expects: a missing HOST_PROC or
//! HOST_SYS, a key file under HOST_PROC missing or garbled, an EXTRA_FILESYSTEMS entry naming
//! nothing. Each used to degrade to zeros without a word; now each gives one warning naming the
//! setting and the path, and never a NaN, an Infinity or a negative value on the wire.
//! Warnings are process-wide, so each test builds its own tree and looks for its own paths.
#![cfg(target_os = "linux")]

use sonar_core::settings::{ExtraFsEntry, Settings};
use sonar_core::{roots::Roots, warnings, Agent, Value};
use std::fs;
use std::time::{Duration, Instant};

mod common;
use common::{build_host, settings_for, write};

/// Collects a few samples (cache times 1000 and 60000) and returns the last payload.
fn collect_some(settings: Settings) -> Value {
    let mut agent = Agent::new(settings);
    let t0 = Instant::now();
    let mut last = Value::Null;
    for i in 0..4u64 {
        let ct = if i % 2 == 0 { 1000 } else { 60000 };
        last = agent
            .collect_at(ct, t0 + Duration::from_secs(61 * i))
            .value
            .clone();
    }
    last
}

/// The recorded warnings that mention `needle`.
fn warnings_about(needle: &str) -> Vec<String> {
    warnings::recorded()
        .into_iter()
        .filter(|m| m.contains(needle))
        .collect()
}

fn assert_every_float_is_finite_and_non_negative(value: &Value) {
    let found = value.floats();
    assert!(found.len() > 10, "{found:?}");
    for (at, f) in found {
        assert!(f.is_finite() && f >= 0.0, "{at} = {f}");
    }
}

#[test]
fn garbled_loadavg_sends_no_nan_infinity_or_negative_and_warns_once_naming_the_file() {
    for (i, text) in ["nan inf -1 1/2 3\n", "0.5 0.5 -1 1/2 3\n", "x y z\n"]
        .into_iter()
        .enumerate()
    {
        let dir = tempfile::tempdir().unwrap();
        build_host(dir.path());
        write(dir.path(), "proc/loadavg", text);
        let payload = collect_some(settings_for(Roots::under(dir.path())));
        assert_every_float_is_finite_and_non_negative(&payload);
        let stats = payload.get(0).unwrap();
        let info = payload.get(1).unwrap();
        // Stats 28 and Info 19 are the kernel's own load (sysinfo), never the garbage
        for la in [stats.get(28), info.get(19)] {
            let Some(Value::Array(items)) = la else {
                panic!("no load average: {la:?}")
            };
            assert_eq!(items.len(), 3);
        }
        let file = dir.path().join("proc/loadavg");
        let about = warnings_about(&file.display().to_string());
        assert_eq!(about.len(), 1, "case {i}: {about:?}");
        assert!(about[0].starts_with("HOST_PROC: "), "{}", about[0]);
        assert!(about[0].contains("garbled"), "{}", about[0]);
    }
}

#[test]
fn missing_host_proc_warns_once_naming_the_setting_not_every_file() {
    let dir = tempfile::tempdir().unwrap();
    build_host(dir.path());
    let mut roots = Roots::under(dir.path());
    roots.proc = dir.path().join("no-such-proc");
    let payload = collect_some(settings_for(roots.clone()));
    assert_every_float_is_finite_and_non_negative(&payload);
    let about = warnings_about(&roots.proc.display().to_string());
    assert_eq!(about.len(), 1, "{about:?}");
    assert!(
        about[0].starts_with(&format!(
            "HOST_PROC: {} does not exist",
            roots.proc.display()
        )),
        "{}",
        about[0]
    );
}

#[test]
fn missing_host_sys_warns_once_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    build_host(dir.path());
    let mut roots = Roots::under(dir.path());
    roots.sys = dir.path().join("no-such-sys");
    collect_some(settings_for(roots.clone()));
    let about = warnings_about(&roots.sys.display().to_string());
    assert_eq!(about.len(), 1, "{about:?}");
    assert!(about[0].starts_with("HOST_SYS: "), "{}", about[0]);
}

#[test]
fn missing_or_garbled_key_files_warn_once_each() {
    let dir = tempfile::tempdir().unwrap();
    build_host(dir.path());
    fs::remove_file(dir.path().join("proc/stat")).unwrap();
    fs::remove_file(dir.path().join("proc/net/dev")).unwrap();
    write(dir.path(), "proc/meminfo", "hello\n");
    write(dir.path(), "proc/uptime", "-3 x\n");
    let payload = collect_some(settings_for(Roots::under(dir.path())));
    assert_every_float_is_finite_and_non_negative(&payload);
    for (file, problem, loses) in [
        ("proc/stat", "does not exist", "CPU usage"),
        ("proc/net/dev", "does not exist", "network rates"),
        ("proc/meminfo", "is garbled (\"hello\")", "memory"),
        ("proc/uptime", "is garbled", "uptime"),
    ] {
        let path = dir.path().join(file).display().to_string();
        let about = warnings_about(&path);
        assert_eq!(about.len(), 1, "{file}: {about:?}");
        assert!(
            about[0].starts_with(&format!("HOST_PROC: {path} {problem}")),
            "{}",
            about[0]
        );
        assert!(about[0].contains(loses), "{}", about[0]);
    }
}

#[test]
fn extra_filesystems_naming_nothing_warns_once() {
    let dir = tempfile::tempdir().unwrap();
    build_host(dir.path());
    let mut settings = settings_for(Roots::under(dir.path()));
    let nothing = format!("{}/no-such-mount", dir.path().display());
    settings.extra_filesystems = vec![
        ExtraFsEntry {
            device: nothing.clone(),
            name: Some("Backup".into()),
        },
        // a real path (statfs looks under the host root, the tree here): tracked, no warning
        ExtraFsEntry {
            device: "/sys".into(),
            name: None,
        },
    ];
    collect_some(settings);
    let about = warnings_about(&nothing);
    assert_eq!(about.len(), 1, "{about:?}");
    assert!(
        about[0].starts_with(&format!("EXTRA_FILESYSTEMS: {nothing:?} matches no")),
        "{}",
        about[0]
    );
    let real = warnings_about("EXTRA_FILESYSTEMS: \"/sys\"");
    assert!(real.is_empty(), "{real:?}");
}

#[test]
fn a_healthy_host_warns_about_nothing() {
    let dir = tempfile::tempdir().unwrap();
    build_host(dir.path());
    collect_some(settings_for(Roots::under(dir.path())));
    let about = warnings_about(&dir.path().display().to_string());
    assert!(about.is_empty(), "{about:?}");
}

#[test]
fn filesystem_naming_nothing_warns_once() {
    let dir = tempfile::tempdir().unwrap();
    build_host(dir.path());
    let mut settings = settings_for(Roots::under(dir.path()));
    let nothing = format!("no-such-disk-{}", std::process::id());
    settings.filesystem = Some(nothing.clone());
    collect_some(settings);
    let about = warnings_about(&nothing);
    assert_eq!(about.len(), 1, "{about:?}");
    assert!(
        about[0].starts_with(&format!("FILESYSTEM: {nothing:?} matches no")),
        "{}",
        about[0]
    );
}
