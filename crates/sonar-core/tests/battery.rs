//! Battery collector against fixture trees under tests/fixtures/battery/<case>/sys.

use sonar_core::collect::battery::{
    BatteryCollector, BatterySample, RESCAN_EVERY, STATE_CHARGING, STATE_DISCHARGING, STATE_FULL,
    STATE_IDLE,
};
use sonar_core::roots::Roots;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/battery")
        .join(case)
}

fn sample(case: &str) -> BatterySample {
    BatteryCollector::new(&Roots::under(&fixture(case))).sample()
}

fn named(list: &[(&str, u8)]) -> Vec<(String, u8)> {
    list.iter().map(|(n, p)| (n.to_string(), *p)).collect()
}

#[test]
fn laptop_energy_battery() {
    // BAT0: 30 of 50 Wh, discharging; the Mains adapter is ignored.
    let s = sample("laptop");
    assert_eq!(s.battery, [60, STATE_DISCHARGING]);
    assert_eq!(s.batteries, named(&[("5B10W13930", 60)]));
}

#[test]
fn charge_battery_uses_voltage() {
    // charge_* in µAh times voltage_now; "Not charging" is the idle state. Named after `model`.
    let s = sample("charge");
    assert_eq!(s.battery, [50, STATE_IDLE]);
    assert_eq!(s.batteries, named(&[("DELL 1234", 50)]));
}

#[test]
fn two_batteries_are_weighed_by_capacity() {
    // (20.5 + 10) / (40 + 60) Wh = 30.5 % → floor 30; state of the last one (BAT1).
    let s = sample("two_batteries");
    assert_eq!(s.battery, [30, STATE_DISCHARGING]);
    // Same model twice: HEAD's " (2)" suffix.
    assert_eq!(s.batteries, named(&[("01AV430", 51), ("01AV430 (2)", 17)]));
}

#[test]
fn device_scope_mouse_is_not_the_host_battery() {
    // The mouse would drag the total to (40 + 0.037) / (50 + 1.85); it is left out of `bat`,
    // but HEAD lists it in `bats`.
    let s = sample("mouse");
    assert_eq!(s.battery, [80, STATE_CHARGING]);
    assert_eq!(s.batteries, named(&[("Primary", 80), ("MX Master 3", 5)]));
}

#[test]
fn mains_only_means_no_battery() {
    assert_eq!(sample("mains_only"), BatterySample::default());
}

#[test]
fn no_power_supply_dir() {
    let dir = tempfile::tempdir().unwrap();
    let s = BatteryCollector::new(&Roots::under(dir.path())).sample();
    assert_eq!(s, BatterySample::default());
}

#[test]
fn odd_values_are_clamped_or_skipped() {
    // BAT0 reports more than full (104 %): clamped. BAT1 has no full capacity: not counted in
    // `bat`, capacity −3 clamped to 0. BAT2's capacity does not parse: not listed.
    let s = sample("odd_values");
    assert_eq!(s.battery, [100, STATE_FULL]);
    assert_eq!(s.batteries, named(&[("BAT0", 100), ("BAT1", 0)]));
}

#[test]
fn no_status_leaves_bat_zero() {
    let s = sample("no_status");
    assert_eq!(s.battery, [0, 0]);
    assert_eq!(s.batteries, named(&[("BAT0", 70)]));
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, format!("{text}\n")).unwrap();
}

fn add_battery(sys: &Path, name: &str, pct: u64) {
    let dir = sys.join("class/power_supply").join(name);
    write(&dir.join("type"), "Battery");
    write(&dir.join("status"), "Discharging");
    write(&dir.join("capacity"), &pct.to_string());
    write(&dir.join("energy_now"), &(pct * 500_000).to_string());
    write(&dir.join("energy_full"), "50000000");
}

#[test]
fn no_battery_is_not_cached_forever() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = BatteryCollector::new(&Roots::under(dir.path()));
    let t0 = Instant::now();
    assert_eq!(c.sample_at(t0), BatterySample::default());
    add_battery(&dir.path().join("sys"), "BAT0", 40);
    // Cached scan: still nothing a minute later…
    assert_eq!(
        c.sample_at(t0 + Duration::from_secs(60)),
        BatterySample::default()
    );
    // …found at the periodic rescan.
    let s = c.sample_at(t0 + RESCAN_EVERY);
    assert_eq!(s.battery, [40, STATE_DISCHARGING]);
}

#[test]
fn removed_battery_triggers_a_rescan() {
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("sys");
    add_battery(&sys, "BAT0", 40);
    add_battery(&sys, "BAT1", 80);
    let mut c = BatteryCollector::new(&Roots::under(dir.path()));
    let t0 = Instant::now();
    assert_eq!(c.sample_at(t0).battery, [60, STATE_DISCHARGING]);
    // Hot-swapped out, and a new one inserted under another name.
    fs::remove_dir_all(sys.join("class/power_supply/BAT1")).unwrap();
    add_battery(&sys, "BAT2", 20);
    let s = c.sample_at(t0 + Duration::from_secs(1));
    assert_eq!(s.battery, [40, STATE_DISCHARGING]);
    let s = c.sample_at(t0 + Duration::from_secs(2));
    assert_eq!(s.battery, [30, STATE_DISCHARGING]);
    assert_eq!(s.batteries, named(&[("BAT0", 40), ("BAT2", 20)]));
}

#[test]
fn real_sys_is_plausible() {
    // This VM has no battery; elsewhere the values must at least be in range.
    let s = BatteryCollector::new(&Roots::default()).sample();
    assert!(s.battery[0] <= 100 && s.battery[1] <= 5);
    assert!(s.batteries.iter().all(|(_, p)| *p <= 100));
    let has_battery = fs::read_dir("/sys/class/power_supply")
        .map(|entries| {
            entries.flatten().any(|e| {
                fs::read_to_string(e.path().join("type")).is_ok_and(|t| t.trim() == "Battery")
            })
        })
        .unwrap_or(false);
    if !has_battery {
        assert_eq!(s, BatterySample::default());
    }
}

/// v0.18.8's `bat` (beszel-v0.18.md §6.4): the kernel's capacity and the status of one battery —
/// a reported charge_full/energy_full first, the larger first — not v0.17's weighted floor.
#[test]
fn primary_battery_v0_18_8_is_the_largest_full_capacity() {
    assert_eq!(sample("laptop").primary, [60, STATE_DISCHARGING]);
    assert_eq!(sample("charge").primary, [50, STATE_IDLE]);
    // v0.17 weighs both to 30 %; v0.18.8 takes BAT1 (60 Wh > 40 Wh) as it is
    assert_eq!(sample("two_batteries").primary, [17, STATE_DISCHARGING]);
    // energy_full 50 000 000 beats the mouse's charge_full 500 000 (units compared as Go does)
    assert_eq!(sample("mouse").primary, [80, STATE_CHARGING]);
    // clamped capacity; BAT1 reports energy_full 0, so BAT0 wins
    assert_eq!(sample("odd_values").primary, [100, STATE_FULL]);
    // no status file: state unknown (0), the percentage is still sent
    assert_eq!(sample("no_status").primary, [70, 0]);
    assert_eq!(sample("mains_only").primary, [0, 0]);
}

/// Without any full capacity: a system battery before a peripheral, then the lower name.
#[test]
fn primary_battery_v0_18_8_then_system_scope_then_name() {
    let dir = tempfile::tempdir().unwrap();
    let ps = dir.path().join("sys/class/power_supply");
    let bare = |name: &str, model: &str, pct: &str, scope: Option<&str>| {
        let d = ps.join(name);
        write(&d.join("type"), "Battery");
        write(&d.join("capacity"), pct);
        write(&d.join("status"), "Discharging");
        write(&d.join("model_name"), model);
        if let Some(scope) = scope {
            write(&d.join("scope"), scope);
        }
    };
    bare("a_mouse", "Aardvark Mouse", "5", Some("Device"));
    bare("BAT1", "Zeta", "40", None);
    bare("BAT0", "Mid", "30", Some("System"));
    let s = BatteryCollector::new(&Roots::under(dir.path())).sample();
    assert_eq!(
        s.primary,
        [30, STATE_DISCHARGING],
        "system scope, then name"
    );
    // a full capacity outranks scope and name
    write(&ps.join("a_mouse/charge_full"), "1000");
    let s = BatteryCollector::new(&Roots::under(dir.path())).sample();
    assert_eq!(s.primary, [5, STATE_DISCHARGING]);
}
