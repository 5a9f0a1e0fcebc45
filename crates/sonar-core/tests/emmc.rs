//! eMMC health (spec v0.18 §5.1 "eMMC") from a fake sysfs tree built under a temp dir: the
//! fields, statuses and attribute strings Beszel 0.18.8 reports, read under the agent's sys root
//! (HOST_SYS), and what the SMART answer does with them.

use sonar_core::collect::smart::emmc::{
    candidates, life_time_string, pre_eol_string, read, read_devices, status,
};
use sonar_core::collect::smart::runner::{SmartConfig, SmartMonitor};
use sonar_core::roots::Roots;
use sonar_core::Value;
use std::path::Path;

mod common;
use common::{attributes, text};

/// Writes `files` (path under `<root>/sys/class/block/<name>`, contents) for one block device.
fn block(root: &Path, name: &str, files: &[(&str, &[u8])]) {
    let dir = root.join("sys/class/block").join(name);
    for (file, contents) in files {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
}

/// A board with a healthy eMMC (one `life_time` file), a worn one (separate estimate files,
/// decimal values, no serial), an end-of-life one, partitions and boot areas (not devices), an
/// SD card without health files, an eMMC whose files do not parse, and a SATA disk.
fn host() -> (tempfile::TempDir, Roots) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    block(
        root,
        "mmcblk0",
        &[
            ("size", b"30535680\n"),
            ("queue/logical_block_size", b"512\n"),
            ("device/name", b"DG4016\n"),
            ("device/serial", b"0x1c3a5b7d\n"),
            ("device/prv", b"0x8\n"),
            ("device/pre_eol_info", b"0x01\n"),
            ("device/life_time", b"0x02 0x01\n"),
        ],
    );
    block(
        root,
        "mmcblk1",
        &[
            ("size", b"15269888\n"),
            ("device/name", b"8GTF4R\n"),
            ("device/pre_eol_info", b"2\n"),
            ("device/device_life_time_est_typ_a", b"0x0a\n"),
            ("device/device_life_time_est_typ_b", b"0x0B\n"),
        ],
    );
    block(
        root,
        "mmcblk2",
        &[
            ("device/name", b"OLD\n"),
            ("device/serial", b"0xdead\n"),
            ("device/pre_eol_info", b"0x03\n"),
            ("device/life_time", b"0x0c 0x00\n"),
        ],
    );
    block(root, "mmcblk0p1", &[("device/pre_eol_info", b"0x01\n")]);
    block(root, "mmcblk0boot0", &[("device/pre_eol_info", b"0x01\n")]);
    block(
        root,
        "mmcblk3",
        &[("device/name", b"SD card\n"), ("size", b"100\n")],
    );
    block(
        root,
        "mmcblk4",
        &[
            ("device/serial", b"0xbad\n"),
            ("device/pre_eol_info", b"unknown\n"),
            ("device/life_time", b"0x01\n"),
        ],
    );
    block(root, "sda", &[("device/model", b"Samsung SSD\n")]);
    let roots = Roots::under(root);
    (dir, roots)
}

fn attr(name: &str, rv: u64, rs: &str) -> (String, u64, String) {
    (name.to_string(), rv, rs.to_string())
}

#[test]
fn devices_are_mmcblk_n_with_health_files() {
    let (_dir, roots) = host();
    assert_eq!(
        candidates(&roots),
        ["mmcblk0", "mmcblk1", "mmcblk2", "mmcblk4"]
    );
    // mmcblk4 has health files that do not parse: a device, but not readable
    assert!(read(&roots, "mmcblk4").is_none());
    let keys: Vec<String> = read_devices(&roots).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["0x1c3a5b7d", "/dev/mmcblk1", "0xdead"]);
}

#[test]
fn healthy_emmc_entry() {
    let (_dir, roots) = host();
    let v = read(&roots, "mmcblk0").unwrap().to_value();
    assert_eq!(text(&v, 1), Some("DG4016"));
    assert_eq!(text(&v, 2), Some("0x1c3a5b7d"));
    assert_eq!(text(&v, 3), Some("0x8"));
    assert_eq!(v.get(4), Some(&Value::UInt(30_535_680 * 512)));
    assert_eq!(text(&v, 5), Some("PASSED"));
    assert_eq!(text(&v, 6), Some("/dev/mmcblk0"));
    assert_eq!(text(&v, 7), Some("emmc"));
    assert_eq!(v.get(8), None, "temperature 0 is omitted");
    assert_eq!(
        attributes(&v),
        [
            attr("PreEOLInfo", 1, "0x01 (normal)"),
            attr("DeviceLifeTimeEstA", 2, "0x02 (10-20% used)"),
            attr("DeviceLifeTimeEstB", 1, "0x01 (0-10% used)"),
        ]
    );
    // SmartData keys 1-7 and 9; attributes n, rv, rs only
    let Value::Map(fields) = &v else { panic!() };
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.json_name()).collect();
    assert_eq!(names, ["mn", "sn", "fv", "c", "s", "dn", "dt", "a"]);
}

#[test]
fn worn_emmc_without_serial_keyed_by_path() {
    let (_dir, roots) = host();
    let health = read(&roots, "mmcblk1").unwrap();
    assert_eq!(health.key(), "/dev/mmcblk1");
    let v = health.to_value();
    assert_eq!(text(&v, 2), None);
    assert_eq!(text(&v, 5), Some("WARNING"));
    assert_eq!(
        attributes(&v),
        [
            attr("PreEOLInfo", 2, "0x02 (warning)"),
            attr("DeviceLifeTimeEstA", 10, "0x0a (90-100% used)"),
            attr("DeviceLifeTimeEstB", 11, "0x0b (>100% used)"),
        ]
    );
}

#[test]
fn end_of_life_emmc_failed() {
    let (_dir, roots) = host();
    let v = read(&roots, "mmcblk2").unwrap().to_value();
    assert_eq!(text(&v, 5), Some("FAILED"));
    assert_eq!(v.get(4), None, "no size file: no capacity");
    assert_eq!(
        attributes(&v),
        [
            attr("PreEOLInfo", 3, "0x03 (urgent)"),
            attr("DeviceLifeTimeEstA", 12, "0x0c"),
            attr("DeviceLifeTimeEstB", 0, "0x00 (not reported)"),
        ]
    );
}

#[test]
fn status_and_strings() {
    assert_eq!(status(0), "UNKNOWN");
    assert_eq!(status(4), "UNKNOWN");
    assert_eq!(pre_eol_string(0), "0x00");
    assert_eq!(pre_eol_string(0xff), "0xff");
    assert_eq!(life_time_string(5), "0x05 (40-50% used)");
    assert_eq!(life_time_string(0xff), "0xff");
}

/// `life_time` present decides alone, even when it does not parse (as Beszel reads it); then
/// PRE_EOL_INFO alone still makes the device.
#[test]
fn life_time_file_wins_over_separate_files() {
    let dir = tempfile::tempdir().unwrap();
    block(
        dir.path(),
        "mmcblk0",
        &[
            ("device/pre_eol_info", b"0x01"),
            ("device/life_time", b"garbage"),
            ("device/device_life_time_est_typ_a", b"0x05"),
        ],
    );
    let health = read(&Roots::under(dir.path()), "mmcblk0").unwrap();
    assert_eq!((health.life_a, health.life_b), (0, 0));
    // one estimate of the pair parses: kept, the other 0
    block(dir.path(), "mmcblk0", &[("device/life_time", b"0x03 zz")]);
    let health = read(&Roots::under(dir.path()), "mmcblk0").unwrap();
    assert_eq!((health.life_a, health.life_b), (3, 0));
}

/// `size` counts 512-byte sectors whatever the logical block size (Beszel multiplies by it; see
/// the module comment for this deliberate difference).
#[test]
fn capacity_in_512_byte_sectors() {
    let dir = tempfile::tempdir().unwrap();
    block(
        dir.path(),
        "mmcblk0",
        &[
            ("size", b"1000"),
            ("queue/logical_block_size", b"4096"),
            ("device/pre_eol_info", b"0x01"),
        ],
    );
    let health = read(&Roots::under(dir.path()), "mmcblk0").unwrap();
    assert_eq!(health.capacity, 512_000);
}

/// An invalid byte in a sysfs text (a vendor's name, a serial) is replaced, never the reason a
/// device or the answer goes missing.
#[test]
fn invalid_utf8_in_sysfs_keeps_the_device() {
    let dir = tempfile::tempdir().unwrap();
    block(
        dir.path(),
        "mmcblk0",
        &[
            ("device/name", b"MMC\xff32G\n"),
            ("device/serial", b"0x12\xc3\n"),
            ("device/prv", b"0x\xfe1\n"),
            ("device/pre_eol_info", b"0x01\n"),
        ],
    );
    let devices = read_devices(&Roots::under(dir.path()));
    assert_eq!(devices.len(), 1);
    let (key, data) = &devices[0];
    assert_eq!(key, "0x12\u{fffd}");
    assert_eq!(data.model_name, "MMC\u{fffd}32G");
    assert_eq!(data.firmware_version, "0x\u{fffd}1");
    assert!(data.to_value().to_cbor().len() > 20);
}

/// Through the monitor, without smartctl: eMMC entries after the disks, EXCLUDE_SMART by device
/// path, and an eMMC with unreadable health makes the refresh incomplete.
#[test]
fn emmc_in_the_smart_answer() {
    let (_dir, roots) = host();
    let monitor = |exclude: &[&str]| {
        SmartMonitor::new(SmartConfig {
            smartctl: Some("/nonexistent/smartctl".into()),
            emmc_roots: Some(roots.clone()),
            exclude: exclude.iter().map(|e| e.to_string()).collect(),
            ..SmartConfig::default()
        })
    };
    let keys = |answer: &Value| -> Vec<String> {
        let Value::Map(entries) = answer else {
            panic!()
        };
        entries
            .iter()
            .map(|(k, _)| k.json_name().to_string())
            .collect()
    };
    let all = monitor(&[]).answer_and_refresh();
    assert_eq!(keys(&all.data), ["0x1c3a5b7d", "/dev/mmcblk1", "0xdead"]);
    assert!(!all.complete, "mmcblk4's health files do not parse");

    let healthy = monitor(&["/dev/mmcblk4", "/dev/mmcblk2"]).answer_and_refresh();
    assert_eq!(keys(&healthy.data), ["0x1c3a5b7d", "/dev/mmcblk1"]);
    assert!(healthy.complete);

    // SMART_DEVICES="" disables eMMC too
    let off = SmartMonitor::new(SmartConfig {
        devices: Some(String::new()),
        emmc_roots: Some(roots.clone()),
        ..SmartConfig::default()
    })
    .answer_and_refresh();
    assert_eq!(off.data, Value::Map(Vec::new()));
    assert!(!off.complete);
}
