//! Fan collector against fixture trees under tests/fixtures/fans/<case>/sys, tempdir trees for
//! the rediscovery cases, and this machine's own /sys.

use sonar_core::collect::fans::{FanCollector, REDISCOVER_EVERY};
use sonar_core::Settings;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fans")
        .join(case)
        .join("sys")
}

fn collector(sys: &Path) -> FanCollector {
    let settings = Settings {
        sensors_sys: sys.to_path_buf(),
        ..Settings::default()
    };
    FanCollector::new(&settings)
}

fn pairs(list: &[(&str, u16)]) -> Vec<(String, u16)> {
    list.iter().map(|(n, v)| (n.to_string(), *v)).collect()
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// Labels as written (case and inner spaces kept), `fanN` without one (or with a blank one),
/// 0 RPM kept, garbage and negative dropped, RPM beyond u16 saturated, chips in name order.
#[test]
fn labels_zero_rpm_and_garbage() {
    let fans = collector(&fixture("desktop")).sample();
    assert_eq!(
        fans,
        pairs(&[
            ("amdgpu_fan1", 1500),
            ("nct6798_CPU Fan", 1203),
            ("nct6798_fan2", 0),
            ("nct6798_fan5", 845),
            ("nct6798_fan6", u16::MAX),
        ])
    );
}

/// applesmc puts its inputs on the parent device; a chip without `name` uses its directory name.
#[test]
fn device_inputs_and_unnamed_chip() {
    let fans = collector(&fixture("legacy")).sample();
    assert_eq!(
        fans,
        pairs(&[("applesmc_Exhaust", 2000), ("hwmon1_fan1", 900)])
    );
}

#[test]
fn no_hwmon_no_fans() {
    let dir = tempfile::tempdir().unwrap();
    assert!(collector(dir.path()).sample().is_empty());
}

/// The list is cached: a fan that appears is seen only at the next scheduled discovery.
#[test]
fn new_fan_seen_after_rediscovery() {
    let dir = tempfile::tempdir().unwrap();
    let chip = dir.path().join("class/hwmon/hwmon0");
    write(&chip.join("name"), "nct6775\n");
    write(&chip.join("fan1_input"), "1000\n");
    let mut c = collector(dir.path());
    let t0 = Instant::now();
    assert_eq!(c.sample_at(t0), pairs(&[("nct6775_fan1", 1000)]));
    write(&chip.join("fan2_input"), "1100\n");
    write(&chip.join("fan1_input"), "1010\n");
    assert_eq!(
        c.sample_at(t0 + Duration::from_secs(5)),
        pairs(&[("nct6775_fan1", 1010)])
    );
    assert_eq!(
        c.sample_at(t0 + REDISCOVER_EVERY),
        pairs(&[("nct6775_fan1", 1010), ("nct6775_fan2", 1100)])
    );
}

/// hwmon devices renumber when a driver is reloaded: a vanished input triggers a discovery at
/// once instead of a minute without fans.
#[test]
fn renumbered_chip_rediscovered_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let hwmon = dir.path().join("class/hwmon");
    write(&hwmon.join("hwmon3/name"), "it8688\n");
    write(&hwmon.join("hwmon3/fan1_input"), "700\n");
    let mut c = collector(dir.path());
    let t0 = Instant::now();
    assert_eq!(c.sample_at(t0), pairs(&[("it8688_fan1", 700)]));
    fs::rename(hwmon.join("hwmon3"), hwmon.join("hwmon4")).unwrap();
    assert_eq!(
        c.sample_at(t0 + Duration::from_secs(1)),
        pairs(&[("it8688_fan1", 700)])
    );
}

/// An input that reads garbage is dropped each time but does not cause rediscovery; a value
/// that becomes readable again comes back.
#[test]
fn garbage_reading_dropped_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let chip = dir.path().join("class/hwmon/hwmon0");
    write(&chip.join("name"), "nct6775\n");
    write(&chip.join("fan1_input"), "\n");
    let mut c = collector(dir.path());
    let t0 = Instant::now();
    assert!(c.sample_at(t0).is_empty());
    write(&chip.join("fan1_input"), "640\n");
    assert_eq!(
        c.sample_at(t0 + Duration::from_secs(1)),
        pairs(&[("nct6775_fan1", 640)])
    );
}

/// This VM has no hwmon: no fans, no error. On a machine with fans, every key has a chip prefix.
#[test]
fn real_host_plausible() {
    let fans = collector(Path::new("/sys")).sample();
    for (key, _) in &fans {
        assert!(key.contains('_'), "{key}");
    }
    if !Path::new("/sys/class/hwmon").exists() {
        assert!(fans.is_empty());
    }
}

/// Stats key 36 `f`: a text-keyed map of unsigned RPM, omitted when there are no fans.
#[test]
fn stats_key_36_encoding() {
    use sonar_core::model::Stats;
    let with = Stats {
        fans: pairs(&[("nct6798_CPU Fan", 1203), ("nct6798_fan2", 0)]),
        ..Stats::default()
    };
    let f = with.to_value().get(36).cloned().unwrap();
    let mut cbor = Vec::new();
    f.write_cbor(&mut cbor);
    let mut expected = vec![0xa2, 0x6f];
    expected.extend_from_slice(b"nct6798_CPU Fan");
    expected.extend_from_slice(&[0x19, 0x04, 0xb3, 0x6c]);
    expected.extend_from_slice(b"nct6798_fan2");
    expected.push(0x00);
    assert_eq!(cbor, expected);
    assert_eq!(Stats::default().to_value().get(36), None);
}
