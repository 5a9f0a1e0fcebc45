//! Host actions 7–9 in the core against a REAL systemd 252, whose bus SONAR_TEST_SYSTEM_BUS names
//! (test/systemd/systemd-host.sh; its image holds the ext-* units). As root, so systemd asks no
//! polkit here: the unprivileged paths are test/extensions-services.test.ts. Ignored by a plain
//! `cargo test`; scripts/test.sh runs it with `--ignored` when that systemd came up.
#![cfg(target_os = "linux")]

use sonar_core::service_control::{
    list_units, perform, unit_status, ControlError, UnitAction, JOB_WAIT,
};

fn bus() -> String {
    std::env::var("SONAR_TEST_SYSTEM_BUS")
        .ok()
        .filter(|b| !b.is_empty())
        .expect("SONAR_TEST_SYSTEM_BUS names a real systemd's bus address")
}

fn patterns(list: &[&str]) -> Vec<String> {
    list.iter().map(|p| p.to_string()).collect()
}

#[test]
#[ignore = "needs a real systemd: SONAR_TEST_SYSTEM_BUS (scripts/test.sh starts one in Podman)"]
fn real_systemd_unit_actions() {
    let address = bus();
    let bus = Some(address.as_str());
    let core = patterns(&["ext-core.service"]);

    // listing: units in memory and unit files loaded for the occasion; an alias is no row
    let rows = list_units(bus, &patterns(&["ext-*"])).unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "ext-core.service",
            "ext-managed.service",
            "ext-other.service"
        ]
    );
    assert!(rows.iter().all(|r| r.load_state == "loaded"), "{rows:?}");
    assert_eq!(rows[0].description, "SONAR test unit ext-core");

    let run = |action| perform(bus, "ext-core.service", action, &core, JOB_WAIT);
    // stopped to begin with (nothing enables it), whatever an earlier run left
    run(UnitAction::Stop).unwrap();
    let before = unit_status(bus, "ext-core.service", &core).unwrap();
    assert_eq!(
        (before.active_state.as_str(), before.main_pid),
        ("inactive", 0)
    );

    let started = run(UnitAction::Start).unwrap();
    assert_eq!(started.active_state, "active");
    assert!(started.job.starts_with("/org/freedesktop/systemd1/job/"));
    assert!(!started.wait_ran_out);
    let running = unit_status(bus, "ext-core.service", &core).unwrap();
    assert_eq!(running.sub_state, "running");
    assert!(running.main_pid > 0);
    assert!(running.active_enter_timestamp > 1_600_000_000_000_000);

    let restarted = run(UnitAction::Restart).unwrap();
    assert_eq!(restarted.active_state, "active");
    let after_restart = unit_status(bus, "ext-core.service", &core).unwrap();
    assert_ne!(after_restart.main_pid, running.main_pid, "a new process");
    assert!(after_restart.active_enter_timestamp > running.active_enter_timestamp);

    // reload runs ExecReload; the process stays
    assert_eq!(run(UnitAction::Reload).unwrap().active_state, "active");
    let reloaded = unit_status(bus, "ext-core.service", &core).unwrap();
    assert_eq!(reloaded.main_pid, after_restart.main_pid);

    let enabled = run(UnitAction::Enable).unwrap();
    assert_eq!(enabled.job, "");
    let status = unit_status(bus, "ext-core.service", &core).unwrap();
    assert_eq!(status.unit_file_state, "enabled");
    run(UnitAction::Disable).unwrap();
    let status = unit_status(bus, "ext-core.service", &core).unwrap();
    assert_eq!(status.unit_file_state, "disabled");

    assert_eq!(run(UnitAction::Stop).unwrap().active_state, "inactive");
}

/// ext-alias.service is a symlink to ext-other.service: allowing the alias's name must not allow
/// the unit behind it, which systemd would act on.
#[test]
#[ignore = "needs a real systemd: SONAR_TEST_SYSTEM_BUS (scripts/test.sh starts one in Podman)"]
fn alias_of_an_unlisted_unit_is_refused() {
    let address = bus();
    let bus = Some(address.as_str());
    let alias = patterns(&["ext-alias.service"]);
    let err = perform(
        bus,
        "ext-alias.service",
        UnitAction::Start,
        &alias,
        JOB_WAIT,
    )
    .unwrap_err();
    assert_eq!(
        err,
        ControlError::NotAllowed {
            requested: "ext-alias.service".into(),
            unit: "ext-other.service".into()
        }
    );
    let err = unit_status(bus, "ext-alias.service", &alias).unwrap_err();
    assert!(matches!(err, ControlError::NotAllowed { .. }), "{err:?}");
    let other = unit_status(bus, "ext-other.service", &patterns(&["ext-other.service"])).unwrap();
    assert_eq!(other.active_state, "inactive", "nothing was started");
}

#[test]
#[ignore = "needs a real systemd: SONAR_TEST_SYSTEM_BUS (scripts/test.sh starts one in Podman)"]
fn units_without_a_file_and_bad_names() {
    let address = bus();
    let bus = Some(address.as_str());
    let all = patterns(&["*"]);
    let err = perform(bus, "ext-none.service", UnitAction::Start, &all, JOB_WAIT).unwrap_err();
    assert_eq!(
        err,
        ControlError::NotLoaded {
            unit: "ext-none.service".into(),
            load_state: "not-found".into()
        }
    );
    // status of a unit that does not exist says so instead of failing
    let none = unit_status(bus, "ext-none.service", &all).unwrap();
    assert_eq!(
        (none.load_state.as_str(), none.active_state.as_str()),
        ("not-found", "inactive")
    );
    for bad in ["ext-core", "../ext-core.service", "ext core.service"] {
        let err = perform(bus, bad, UnitAction::Start, &all, JOB_WAIT).unwrap_err();
        assert!(
            matches!(err, ControlError::InvalidName(_)),
            "{bad}: {err:?}"
        );
    }
}
