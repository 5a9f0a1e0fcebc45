//! Temperature collector against fixture trees under tests/fixtures/sensors/<case>/sys.

use sonar_core::collect::sensors::{SensorCollector, Temperatures, REDISCOVER_EVERY};
use sonar_core::filter::NameFilter;
use sonar_core::settings::SensorSelection;
use sonar_core::Settings;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sensors")
        .join(case)
        .join("sys")
}

fn collector(sys: &Path, sensors: SensorSelection, primary: Option<&str>) -> SensorCollector {
    let settings = Settings {
        sensors_sys: sys.to_path_buf(),
        sensors,
        primary_sensor: primary.map(str::to_string),
        ..Settings::default()
    };
    SensorCollector::new(&settings)
}

fn sample(case: &str) -> Temperatures {
    collector(&fixture(case), SensorSelection::All, None).sample()
}

fn filtered(case: &str, filter: &str) -> Vec<String> {
    let selection = SensorSelection::Filter(NameFilter::parse(filter));
    names(&collector(&fixture(case), selection, None).sample())
}

fn names(t: &Temperatures) -> Vec<String> {
    t.readings.iter().map(|(n, _)| n.clone()).collect()
}

fn pairs(list: &[(&str, f64)]) -> Vec<(String, f64)> {
    list.iter().map(|(n, v)| (n.to_string(), *v)).collect()
}

#[test]
fn laptop_names_values_and_dashboard() {
    let t = sample("laptop");
    assert_eq!(
        t.readings,
        pairs(&[
            ("acpitz", 27.8),
            ("coretemp_package_id_0", 55.0),
            ("coretemp_core_0", 52.0),
            ("coretemp_core_1", 55.46),
            ("nvme_composite", 38.85),
        ])
    );
    // The highest accepted reading, unrounded.
    assert_eq!(t.dashboard, 55.456);
}

#[test]
fn hwmon_duplicate_labels() {
    // Two sockets both have "Core 0", two NVMe drives both "Composite": the later ones get the
    // index in gopsutil's list as a suffix, as Beszel does.
    let t = sample("duplicate_labels");
    assert_eq!(
        t.readings,
        pairs(&[
            ("nvme_composite", 38.85),
            ("coretemp_package_id_0", 50.0),
            ("coretemp_core_0", 48.0),
            ("coretemp_package_id_1", 51.0),
            ("coretemp_core_0_4", 49.0),
            ("nvme_composite_5", 41.0),
        ])
    );
}

#[test]
fn hwmon10_sorts_before_hwmon2() {
    // Go's glob sorts names bytewise: hwmon1, hwmon10, hwmon2; temp10_input before temp1_input.
    // The order decides which duplicate keeps the plain name.
    let t = sample("ordering");
    assert_eq!(
        t.readings,
        pairs(&[
            ("acpitz", 30.0),
            ("k10temp_tctl", 61.0),
            ("k10temp_tccd8", 63.0),
            ("k10temp_tctl_3", 62.0),
            ("k10temp_tccd1", 64.0),
        ])
    );
}

#[test]
fn labels_missing_empty_or_spaced_and_chips_without_name() {
    // No label or an empty/blank label: the chip name alone. Inner spaces each become "_".
    // A chip without a `name` file is dropped, and an unparsable input takes no list index.
    let t = sample("no_label");
    assert_eq!(
        t.readings,
        pairs(&[
            ("pch_cannonlake", 45.0),
            ("iwlwifi_1", 40.0),
            ("iwlwifi_1_2", 41.0),
            ("gpu_edge__temp", 42.0),
            ("drivetemp", 44.0),
        ])
    );
}

#[test]
fn device_directory_fallback() {
    // CentOS: inputs, labels and the chip name all live under hwmonN/device.
    let t = sample("device_fallback");
    assert_eq!(
        t.readings,
        pairs(&[
            ("coretemp_physical_id_0", 47.0),
            ("coretemp_core_0", 46.0),
            ("k8temp", 44.0),
        ])
    );
}

#[test]
fn thermal_zone_fallback() {
    // No hwmon temperature input at all: thermal zones, in glob order, integer millidegrees.
    let t = sample("thermal_zone");
    assert_eq!(
        t.readings,
        pairs(&[
            ("acpitz", 27.8),
            ("x86_pkg_temp", 45.5),
            ("acpitz_2", 29.0),
            ("iwlwifi_1", 38.0),
        ])
    );
}

#[test]
fn fractional_scaling_and_plausible_window() {
    let t = sample("scaling");
    assert_eq!(
        t.readings,
        pairs(&[
            ("frac", 45.0),   // 0.45 → ×100
            ("frac_1", 50.0), // 0.05 → ×1000
            ("frac_2", 99.0), // 0.99 → neither lands in 15..95 → ×100
            ("frac_6", 199.99),
            ("frac_7", 45.68),
        ])
    );
    assert_eq!(t.dashboard, 199.99);
}

#[test]
fn sensors_allow_list() {
    assert_eq!(filtered("laptop", "acpitz"), ["acpitz"]);
    assert_eq!(
        filtered("laptop", "coretemp_core*, nvme_composite"),
        ["coretemp_core_0", "coretemp_core_1", "nvme_composite"]
    );
}

#[test]
fn sensors_deny_list() {
    assert_eq!(filtered("laptop", "-acpitz,coretemp_*"), ["nvme_composite"]);
}

#[test]
fn sensors_filter_sees_the_suffixed_name() {
    assert_eq!(
        filtered("duplicate_labels", "coretemp_core_0*"),
        ["coretemp_core_0", "coretemp_core_0_4"]
    );
    // Only accepted names count as taken (a Go map of the results): once the first
    // "coretemp_core_0" is filtered out, the second one is not a duplicate and keeps the plain
    // name, which is filtered out as well.
    assert!(filtered("duplicate_labels", "*_4").is_empty());
    assert_eq!(
        filtered("duplicate_labels", "-coretemp_core_0, nvme*"),
        ["coretemp_package_id_0", "coretemp_package_id_1"]
    );
}

#[test]
fn sensors_empty_list_allows_all() {
    // Beszel: "no sensors configured, everything is valid" (unlike NICS).
    assert_eq!(filtered("laptop", "-").len(), 5);
    assert_eq!(filtered("laptop", " , ").len(), 5);
}

#[test]
fn filter_decides_the_dashboard_too() {
    let selection = SensorSelection::Filter(NameFilter::parse("-coretemp_*"));
    let t = collector(&fixture("laptop"), selection, None).sample();
    assert_eq!(t.dashboard, 38.85);
}

#[test]
fn primary_sensor() {
    let t = collector(
        &fixture("laptop"),
        SensorSelection::All,
        Some("nvme_composite"),
    )
    .sample();
    assert_eq!(t.dashboard, 38.85);
    assert_eq!(t.readings.len(), 5);
    // The final (suffixed) name counts.
    let t = collector(
        &fixture("duplicate_labels"),
        SensorSelection::All,
        Some("coretemp_core_0_4"),
    )
    .sample();
    assert_eq!(t.dashboard, 49.0);
}

#[test]
fn primary_sensor_absent_leaves_dashboard_zero() {
    // As in Beszel: the agent then falls back to the hottest GPU (PRIMARY_SENSOR may name one).
    let t = collector(&fixture("laptop"), SensorSelection::All, Some("gpu")).sample();
    assert_eq!(t.dashboard, 0.0);
    assert_eq!(t.readings.len(), 5);
}

#[test]
fn disabled() {
    let t = collector(&fixture("laptop"), SensorSelection::Disabled, None).sample();
    assert_eq!(t, Temperatures::default());
}

#[test]
fn missing_tree_gives_nothing() {
    let t = collector(Path::new("/nonexistent/sys"), SensorSelection::All, None).sample();
    assert_eq!(t, Temperatures::default());
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, format!("{text}\n")).unwrap();
}

#[test]
fn renumbered_hwmon_is_rediscovered_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let hwmon = dir.path().join("sys/class/hwmon");
    write(&hwmon.join("hwmon0/name"), "coretemp");
    write(&hwmon.join("hwmon0/temp1_input"), "50000");
    let mut c = collector(&dir.path().join("sys"), SensorSelection::All, None);
    let t0 = Instant::now();
    assert_eq!(c.sample_at(t0).readings, pairs(&[("coretemp", 50.0)]));
    // Driver reload: the chip comes back as hwmon3.
    fs::rename(hwmon.join("hwmon0"), hwmon.join("hwmon3")).unwrap();
    let t = c.sample_at(t0 + Duration::from_secs(1));
    assert_eq!(t.readings, pairs(&[("coretemp", 50.0)]));
}

#[test]
fn new_chips_are_found_by_the_periodic_rediscovery() {
    let dir = tempfile::tempdir().unwrap();
    let hwmon = dir.path().join("sys/class/hwmon");
    write(&hwmon.join("hwmon0/name"), "coretemp");
    write(&hwmon.join("hwmon0/temp1_input"), "50000");
    let mut c = collector(&dir.path().join("sys"), SensorSelection::All, None);
    let t0 = Instant::now();
    c.sample_at(t0);
    write(&hwmon.join("hwmon1/name"), "nvme");
    write(&hwmon.join("hwmon1/temp1_input"), "40000");
    // Values are read fresh every time, the list of inputs is cached.
    write(&hwmon.join("hwmon0/temp1_input"), "51000");
    let t = c.sample_at(t0 + Duration::from_secs(30));
    assert_eq!(t.readings, pairs(&[("coretemp", 51.0)]));
    let t = c.sample_at(t0 + REDISCOVER_EVERY);
    assert_eq!(t.readings, pairs(&[("coretemp", 51.0), ("nvme", 40.0)]));
}

#[test]
fn broken_input_is_skipped_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let hwmon = dir.path().join("sys/class/hwmon");
    write(&hwmon.join("hwmon0/name"), "chip");
    write(&hwmon.join("hwmon0/temp1_input"), "50000");
    // A directory where a value should be: reading it always fails.
    fs::create_dir_all(hwmon.join("hwmon0/temp2_input")).unwrap();
    let mut c = collector(&dir.path().join("sys"), SensorSelection::All, None);
    let t0 = Instant::now();
    for s in 0..3 {
        let t = c.sample_at(t0 + Duration::from_secs(s));
        assert_eq!(t.readings, pairs(&[("chip", 50.0)]));
    }
}

#[test]
fn real_sys_is_plausible() {
    // This VM has neither hwmon nor thermal zones; elsewhere every reading must be sane.
    let t = SensorCollector::new(&Settings::default()).sample();
    for (name, value) in &t.readings {
        assert!(*value > 0.0 && *value < 200.0, "{name} = {value}");
    }
    let max = t.readings.iter().map(|r| r.1).fold(0.0, f64::max);
    assert!((t.dashboard - max).abs() <= 0.005 + 1e-9);
    if !Path::new("/sys/class/hwmon").exists() && !Path::new("/sys/class/thermal").exists() {
        assert_eq!(t, Temperatures::default());
    }
}
