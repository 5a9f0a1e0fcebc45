//! The systemd collector against a REAL systemd, whose bus SONAR_TEST_SYSTEM_BUS names
//! (test/systemd/systemd-host.sh starts systemd 252 in Podman and prints the address; the vitest
//! suite does the same through the addon). Ignored by a plain `cargo test`; scripts/test.sh runs
//! it with `--ignored` when that systemd came up.
#![cfg(target_os = "linux")]

use sonar_core::collect::systemd::details::service_details;
use sonar_core::collect::systemd::{SystemdCollector, SystemdStatus};
use sonar_core::settings::Settings;
use sonar_core::value::Value;
use std::time::Duration;

fn bus() -> String {
    std::env::var("SONAR_TEST_SYSTEM_BUS")
        .ok()
        .filter(|b| !b.is_empty())
        .expect("SONAR_TEST_SYSTEM_BUS names a real systemd's bus address")
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.json_name() == key)
            .map(|(_, v)| v),
        _ => None,
    }
}

#[test]
#[ignore = "needs a real systemd: SONAR_TEST_SYSTEM_BUS (scripts/test.sh starts one in Podman)"]
fn real_systemd_units() {
    let address = bus();
    let settings = Settings {
        system_bus_address: Some(address.clone()),
        service_patterns: vec!["sonar-*.service".into()],
        ..Settings::default()
    };
    let c =
        SystemdCollector::with_timing(&settings, Duration::from_secs(3), Duration::from_secs(3));
    assert_eq!(c.wait_for_refresh(0, Duration::from_secs(20)), 1);
    assert!(
        matches!(c.status(), SystemdStatus::Available { .. }),
        "{:?}",
        c.status()
    );
    let first = c.take_for_send();
    eprintln!("{:?}", first);
    c.wait_for_refresh(1, Duration::from_secs(20));
    let second = c.take_for_send();
    let list = second.list.expect("a second refresh sends the list again");
    let json = Value::Array(list).to_json();
    eprintln!("{json}");
    assert!(
        second.counts.unwrap()[1] >= 1,
        "sonar-failing counts as failed"
    );
    let details = service_details(Some(&address), "sonar-running", Duration::from_secs(5)).unwrap();
    eprintln!("{}", details.to_json());
    assert_eq!(
        text(&details, "ActiveState"),
        Some(&Value::Text("active".into()))
    );
}
