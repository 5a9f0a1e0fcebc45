//! The S.M.A.R.T. runner as a Beszel 0.18.8 agent runs it (spec v0.18 §5.1): the command line
//! for each kind of device, completeness (response key 8), DiskType, the NVMe controller →
//! namespace fallback, devices sharing a path, sleeping disks, and invalid UTF-8.
//!
//! smartctl is not installed on the build machines and could not read their virtio disks anyway,
//! so a small shell script plays it: it logs every call and replays the real smartctl output in
//! tests/fixtures/smart (or an edited copy) for the device the arguments name. That mock stands in
//! only for the binary; everything from the command line to the encoded answer is the real code.

use sonar_core::collect::smart::runner::{
    device_args, merge_devices, nvme_namespace, Device, SmartAnswer, SmartConfig, SmartMonitor,
};
use sonar_core::collect::smart::Parser;
use sonar_core::roots::Roots;
use sonar_core::{Key, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod common;
use common::text;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/smart")
            .join(name),
    )
    .unwrap()
}

/// sda.json with another serial: a second SATA disk.
fn sata_with_serial(serial: &str) -> Vec<u8> {
    String::from_utf8(fixture("sda.json"))
        .unwrap()
        .replace("9C40918040082", serial)
        .into_bytes()
}

/// A fake smartctl in a temp dir. `answers/<device>[@<-d type>].json|.code|.sleep` decide what a
/// device query prints, exits with, or how long it hangs; `scan.json` is the scan's output.
struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    fn new(scan: &[(&str, &str)]) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("answers")).unwrap();
        let script = format!(
            r#"#!/bin/sh
dir="{dir}"
echo "$*" >> "$dir/calls.log"
last=""; dtype=""; prev=""
for a in "$@"; do
  if [ "$prev" = "-d" ]; then dtype="$a"; fi
  prev="$a"; last="$a"
done
case "$1" in --scan-open) cat "$dir/scan.json"; exit 0;; esac
ans="$dir/answers/$(printf '%s@%s' "$last" "$dtype" | tr / _)"
if [ ! -e "$ans.json" ] && [ ! -e "$ans.code" ] && [ ! -e "$ans.sleep" ]; then
  ans="$dir/answers/$(printf '%s' "$last" | tr / _)"
fi
if [ -e "$ans.sleep" ]; then exec sleep "$(cat "$ans.sleep")"; fi
if [ -e "$ans.json" ]; then cat "$ans.json"; fi
if [ -e "$ans.code" ]; then exit "$(cat "$ans.code")"; fi
if [ -e "$ans.json" ]; then exit 0; fi
exit 1
"#,
            dir = dir.path().display()
        );
        let path = dir.path().join("smartctl");
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let fake = Fake { dir };
        fake.scan(scan);
        fake
    }

    fn scan(&self, devices: &[(&str, &str)]) {
        let list: Vec<String> = devices
            .iter()
            .map(|(n, t)| format!(r#"{{"name":"{n}","info_name":"{n}","type":"{t}"}}"#))
            .collect();
        std::fs::write(
            self.dir.path().join("scan.json"),
            format!(r#"{{"devices":[{}]}}"#, list.join(",")),
        )
        .unwrap();
    }

    fn file(&self, device: &str, device_type: Option<&str>, ext: &str) -> PathBuf {
        let mut key = device.replace('/', "_");
        if let Some(t) = device_type {
            key = format!("{key}@{t}");
        }
        self.dir.path().join("answers").join(format!("{key}.{ext}"))
    }

    /// The device prints `json` and exits with `code`.
    fn answer(&self, device: &str, device_type: Option<&str>, json: &[u8], code: i32) {
        for ext in ["json", "code", "sleep"] {
            let _ = std::fs::remove_file(self.file(device, device_type, ext));
        }
        std::fs::write(self.file(device, device_type, "json"), json).unwrap();
        std::fs::write(self.file(device, device_type, "code"), code.to_string()).unwrap();
    }

    /// smartctl's answer for a disk in standby under `-n standby`: exit status 2, no data.
    fn asleep(&self, device: &str) {
        self.answer(
            device,
            None,
            br#"{"smartctl":{"exit_status":2},"device":{"name":"x"}}"#,
            2,
        );
    }

    fn hang(&self, device: &str, seconds: u32) {
        std::fs::write(self.file(device, None, "sleep"), seconds.to_string()).unwrap();
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    fn clear_calls(&self) {
        let _ = std::fs::remove_file(self.dir.path().join("calls.log"));
    }

    fn monitor(&self, config: SmartConfig) -> SmartMonitor {
        SmartMonitor::new(SmartConfig {
            smartctl: Some(self.dir.path().join("smartctl")),
            call_timeout: Duration::from_secs(5),
            ..config
        })
    }
}

fn entries(answer: &SmartAnswer) -> &[(Key, Value)] {
    match &answer.data {
        Value::Map(entries) => entries,
        other => panic!("{other:?}"),
    }
}

fn keys(answer: &SmartAnswer) -> Vec<String> {
    entries(answer)
        .iter()
        .map(|(k, _)| k.json_name().to_string())
        .collect()
}

fn entry<'a>(answer: &'a SmartAnswer, key: &str) -> &'a Value {
    entries(answer)
        .iter()
        .find(|(k, _)| k.json_name() == key)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no entry {key} in {:?}", keys(answer)))
}

fn device(name: &str, device_type: &str, explicit: bool, parser: Option<Parser>) -> Device {
    Device {
        name: name.into(),
        device_type: device_type.into(),
        explicit,
        parser,
    }
}

fn args(dev: &Device) -> String {
    device_args(dev).join(" ")
}

#[test]
fn command_line_for_each_kind_of_device() {
    let cases = [
        // a scanned SATA disk: -d sat, and the device statistics for the temperature fallback
        (
            device("/dev/sda", "sat", false, None),
            "-d sat -a --json=c -l devstat -n standby /dev/sda",
        ),
        // scans misreport scsi/ata (Beszel issue 1345): no -d, but an ata type still gets devstat
        (
            device("/dev/sda", "ata", false, None),
            "-a --json=c -l devstat -n standby /dev/sda",
        ),
        (
            device("/dev/sde", "scsi", false, None),
            "-a --json=c -n standby /dev/sde",
        ),
        // an explicit SMART_DEVICES type is always passed (0.18.8)
        (
            device("/dev/sdb", "ata", true, Parser::from_type("ata")),
            "-d ata -a --json=c -l devstat -n standby /dev/sdb",
        ),
        (
            device("/dev/sde", "scsi", true, Parser::from_type("scsi")),
            "-d scsi -a --json=c -n standby /dev/sde",
        ),
        (
            device("/dev/nvme0", "nvme", false, None),
            "-d nvme -a --json=c -n standby /dev/nvme0",
        ),
        // a disk behind a RAID controller or USB bridge: its full type, no devstat
        (
            device("/dev/bus/0", "sat+megaraid,0", false, None),
            "-d sat+megaraid,0 -a --json=c -n standby /dev/bus/0",
        ),
        (
            device("/dev/sdc", "sat,12", true, None),
            "-d sat,12 -a --json=c -n standby /dev/sdc",
        ),
        // no type: smartctl decides
        (
            device("/dev/sdd", "", false, None),
            "-a --json=c -n standby /dev/sdd",
        ),
        // the parser that read the output decides devstat, not the scan's type
        (
            device("/dev/sdf", "scsi", false, Some(Parser::Sat)),
            "-a --json=c -l devstat -n standby /dev/sdf",
        ),
        (
            device("/dev/sdg", "sat", false, Some(Parser::Nvme)),
            "-d sat -a --json=c -n standby /dev/sdg",
        ),
    ];
    for (dev, expected) in cases {
        assert_eq!(args(&dev), expected, "{dev:?}");
    }
}

#[test]
fn nvme_controller_paths() {
    assert_eq!(
        nvme_namespace("/dev/nvme0").as_deref(),
        Some("/dev/nvme0n1")
    );
    assert_eq!(
        nvme_namespace("/dev/nvme12").as_deref(),
        Some("/dev/nvme12n1")
    );
    assert_eq!(nvme_namespace("/dev/nvme0n1"), None);
    assert_eq!(nvme_namespace("/dev/nvme"), None);
    assert_eq!(nvme_namespace("/dev/sda"), None);
}

#[test]
fn complete_when_every_device_was_read() {
    let fake = Fake::new(&[("/dev/sda", "sat"), ("/dev/nvme0", "nvme")]);
    fake.answer("/dev/sda", None, &fixture("sda.json"), 64);
    fake.answer("/dev/nvme0", None, &fixture("nvme0.json"), 0);
    let monitor = fake.monitor(SmartConfig::default());
    let answer = monitor.answer_and_refresh();
    assert_eq!(keys(&answer), ["2024031600129", "9C40918040082"]);
    assert!(answer.complete);
    // the next refresh skips the scan (30 minutes): that counts as a successful scan
    monitor.refresh();
    assert!(monitor.answer().complete);
    let scans = fake.calls().iter().filter(|c| c.contains("--scan")).count();
    assert_eq!(scans, 1);
}

#[test]
fn incomplete_when_a_device_is_not_read() {
    let fake = Fake::new(&[("/dev/sda", "sat"), ("/dev/sdb", "sat")]);
    fake.answer("/dev/sda", None, &fixture("sda.json"), 0);
    // open failed, smartctl's own words and no data
    fake.answer("/dev/sdb", None, br#"{"smartctl":{"exit_status":4}}"#, 4);
    let monitor = fake.monitor(SmartConfig::default());
    let answer = monitor.answer_and_refresh();
    assert_eq!(keys(&answer), ["9C40918040082"]);
    assert!(!answer.complete);

    // fixed before the next refresh, whose scan is skipped: complete again
    fake.answer("/dev/sdb", None, &sata_with_serial("SECOND"), 0);
    monitor.refresh();
    let answer = monitor.answer();
    assert_eq!(keys(&answer), ["9C40918040082", "SECOND"]);
    assert!(answer.complete);
}

#[test]
fn incomplete_when_a_device_times_out() {
    let fake = Fake::new(&[("/dev/sda", "sat"), ("/dev/sdh", "scsi")]);
    fake.answer("/dev/sda", None, &fixture("sda.json"), 0);
    fake.hang("/dev/sdh", 30);
    let monitor = SmartMonitor::new(SmartConfig {
        smartctl: Some(fake.dir.path().join("smartctl")),
        call_timeout: Duration::from_millis(300),
        ..SmartConfig::default()
    });
    let answer = monitor.answer_and_refresh();
    assert_eq!(keys(&answer), ["9C40918040082"]);
    assert!(!answer.complete);
}

/// A virtual disk is read but rejected (its SMART data means nothing): not collected, as in Go.
#[test]
fn incomplete_when_a_device_gives_no_usable_data() {
    let fake = Fake::new(&[("/dev/sda", "sat")]);
    let qemu = String::from_utf8(fixture("sda.json"))
        .unwrap()
        .replace("P3-2TB", "QEMU HARDDISK");
    fake.answer("/dev/sda", None, qemu.as_bytes(), 0);
    let answer = fake.monitor(SmartConfig::default()).answer_and_refresh();
    assert!(keys(&answer).is_empty());
    assert!(!answer.complete);
}

/// §5.1: a standby device with cached data counts as collected, and its data stays.
#[test]
fn sleeping_disk_with_cached_data_counts_as_read() {
    let fake = Fake::new(&[("/dev/sda", "sat")]);
    fake.answer("/dev/sda", None, &fixture("sda.json"), 0);
    let monitor = fake.monitor(SmartConfig::default());
    assert!(monitor.answer_and_refresh().complete);
    fake.asleep("/dev/sda");
    fake.clear_calls();
    monitor.refresh();
    let answer = monitor.answer();
    assert_eq!(keys(&answer), ["9C40918040082"]);
    assert!(answer.complete);
    // one call, with -n standby: no second attempt that would wake it
    assert_eq!(
        fake.calls(),
        ["-d sat -a --json=c -l devstat -n standby /dev/sda"]
    );
}

/// Our rule where 0.18.8 differs: a disk asleep before anything is cached is left asleep (0.18.8
/// queries it without `-n standby`, which wakes it). It is not reported, and the refresh is not
/// complete, so a v0.18 hub keeps its record of that disk.
#[test]
fn sleeping_disk_without_cached_data_is_not_woken() {
    let fake = Fake::new(&[("/dev/sda", "sat"), ("/dev/nvme0", "nvme")]);
    fake.asleep("/dev/sda");
    fake.answer("/dev/nvme0", None, &fixture("nvme0.json"), 0);
    let monitor = fake.monitor(SmartConfig::default());
    let answer = monitor.answer_and_refresh();
    assert_eq!(keys(&answer), ["2024031600129"]);
    assert!(!answer.complete);
    let calls = fake.calls();
    let sda: Vec<&String> = calls.iter().filter(|c| c.ends_with("/dev/sda")).collect();
    assert_eq!(
        sda,
        ["-d sat -a --json=c -l devstat -n standby /dev/sda"],
        "{calls:?}"
    );
    assert!(calls
        .iter()
        .all(|c| c.starts_with("--scan") || c.contains("-n standby")));

    // it wakes on its own: read at the next refresh, and the answer is complete
    fake.answer("/dev/sda", None, &fixture("sda.json"), 0);
    monitor.refresh();
    let answer = monitor.answer();
    assert_eq!(keys(&answer), ["2024031600129", "9C40918040082"]);
    assert!(answer.complete);
}

#[test]
fn scan_without_devices_is_incomplete() {
    let fake = Fake::new(&[]);
    let answer = fake.monitor(SmartConfig::default()).answer_and_refresh();
    assert!(keys(&answer).is_empty());
    assert!(!answer.complete);
}

/// Beszel refuses a SMART_DEVICES with an entry that names no device; the good entries are still
/// read here, but the refresh does not count as complete.
#[test]
fn invalid_smart_devices_entry_is_incomplete() {
    let fake = Fake::new(&[]);
    fake.answer("/dev/sda", None, &fixture("sda.json"), 0);
    let monitor = fake.monitor(SmartConfig {
        devices: Some("/dev/sda, :sat".into()),
        ..SmartConfig::default()
    });
    let answer = monitor.answer_and_refresh();
    assert_eq!(keys(&answer), ["9C40918040082"]);
    assert!(!answer.complete);

    let good = fake.monitor(SmartConfig {
        devices: Some("/dev/sda".into()),
        ..SmartConfig::default()
    });
    assert!(good.answer_and_refresh().complete);
}

#[test]
fn without_smartctl_configured_disks_are_incomplete() {
    let monitor = SmartMonitor::new(SmartConfig {
        smartctl: Some("/nonexistent/smartctl".into()),
        devices: Some("/dev/sda".into()),
        ..SmartConfig::default()
    });
    let answer = monitor.answer_and_refresh();
    assert!(keys(&answer).is_empty());
    assert!(!answer.complete);
}

/// smartctl is optional when sysfs has md arrays (or eMMC): they alone make a complete answer.
#[test]
fn md_arrays_alone_are_complete_and_excluded_by_name() {
    let roots =
        Roots::under(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mdraid/host"));
    let monitor = SmartMonitor::new(SmartConfig {
        smartctl: Some("/nonexistent/smartctl".into()),
        mdraid_roots: Some(roots),
        exclude: vec!["/dev/md0".into()],
        ..SmartConfig::default()
    });
    let answer = monitor.answer_and_refresh();
    let keys = keys(&answer);
    assert!(keys.contains(&"mdraid:md1".to_string()), "{keys:?}");
    // EXCLUDE_SMART names devices, md arrays included (Beszel filters them by their /dev path)
    assert!(!keys.contains(&"mdraid:md0".to_string()), "{keys:?}");
    assert!(answer.complete);
}

#[test]
fn disk_type_is_the_type_the_device_was_queried_as() {
    let fake = Fake::new(&[
        ("/dev/sdc", "scsi"),
        ("/dev/bus/0", "sat+megaraid,0"),
        ("/dev/bus/0", "sat+megaraid,1"),
    ]);
    // a SATA disk behind a SAS controller: the scan says scsi, the output is ATA
    fake.answer("/dev/sdc", None, &sata_with_serial("BEHIND-SAS"), 0);
    fake.answer(
        "/dev/bus/0",
        Some("sat+megaraid,0"),
        &sata_with_serial("SLOT0"),
        0,
    );
    fake.answer(
        "/dev/bus/0",
        Some("sat+megaraid,1"),
        &sata_with_serial("SLOT1"),
        0,
    );
    // no type given: smartctl's own device.type ("sat" in sda.json)
    fake.answer("/dev/sdx", None, &sata_with_serial("UNTYPED"), 0);
    let monitor = fake.monitor(SmartConfig {
        devices: Some("/dev/sdx".into()),
        ..SmartConfig::default()
    });
    let answer = monitor.answer_and_refresh();
    assert!(answer.complete);
    let disk_type = |serial: &str| text(entry(&answer, serial), 7).map(String::from);
    assert_eq!(disk_type("BEHIND-SAS").as_deref(), Some("scsi"));
    assert_eq!(disk_type("SLOT0").as_deref(), Some("sat+megaraid,0"));
    assert_eq!(disk_type("SLOT1").as_deref(), Some("sat+megaraid,1"));
    assert_eq!(disk_type("UNTYPED").as_deref(), Some("sat"));
    // both disks behind /dev/bus/0 were queried, each with its own -d
    let calls = fake.calls();
    for t in ["sat+megaraid,0", "sat+megaraid,1"] {
        assert!(
            calls.contains(&format!("-d {t} -a --json=c -n standby /dev/bus/0")),
            "{calls:?}"
        );
    }
}

/// Devices are told apart by (name, type): a path shared by several disks keeps them all, and a
/// later scan never folds them into one.
#[test]
fn devices_sharing_a_path_stay_apart() {
    let scanned = vec![
        device("/dev/bus/0", "megaraid,0", false, None),
        device("/dev/bus/0", "megaraid,1", false, None),
        device("/dev/sda", "sat", false, None),
    ];
    let first = merge_devices(&[], &scanned, &[]);
    assert_eq!(first.len(), 3);
    let mut verified = first.clone();
    verified[0].parser = Some(Parser::Sat);
    let again = merge_devices(&verified, &scanned, &[]);
    let identities: Vec<(&str, &str, Option<Parser>)> = again
        .iter()
        .map(|d| (d.name.as_str(), d.device_type.as_str(), d.parser))
        .collect();
    assert_eq!(
        identities,
        [
            ("/dev/bus/0", "megaraid,0", Some(Parser::Sat)),
            ("/dev/bus/0", "megaraid,1", None),
            ("/dev/sda", "sat", None)
        ]
    );
    // a SMART_DEVICES entry for a shared path adds that identity rather than guessing which
    let configured = vec![device("/dev/bus/0", "megaraid,2", true, None)];
    assert_eq!(merge_devices(&[], &scanned, &configured).len(), 4);
}

/// A SMART_DEVICES type wins over the scan's guess, and still does after the device was read
/// and the next scan guesses again.
#[test]
fn configured_type_survives_rescans() {
    let scanned = vec![device("/dev/sda", "sat", false, None)];
    let configured = vec![device("/dev/sda", "scsi", true, Parser::from_type("scsi"))];
    let first = merge_devices(&[], &scanned, &configured);
    assert_eq!(args(&first[0]), "-d scsi -a --json=c -n standby /dev/sda");
    let mut read = first.clone();
    read[0].parser = Some(Parser::Scsi);
    let again = merge_devices(&read, &scanned, &configured);
    assert_eq!(again.len(), 1);
    assert_eq!(args(&again[0]), "-d scsi -a --json=c -n standby /dev/sda");
}

#[test]
fn nvme_controller_falls_back_to_its_namespace() {
    let fake = Fake::new(&[("/dev/nvme0", "nvme")]);
    fake.answer("/dev/nvme0", None, br#"{"smartctl":{"exit_status":4}}"#, 4);
    let namespace = String::from_utf8(fixture("nvme0.json"))
        .unwrap()
        .replace(r#""name": "/dev/nvme0""#, r#""name": "/dev/nvme0n1""#);
    fake.answer("/dev/nvme0n1", None, namespace.as_bytes(), 0);
    let monitor = fake.monitor(SmartConfig {
        scan_interval: Duration::ZERO,
        ..SmartConfig::default()
    });
    let answer = monitor.answer_and_refresh();
    assert_eq!(keys(&answer), ["2024031600129"]);
    assert!(answer.complete);
    let v = entry(&answer, "2024031600129");
    assert_eq!(text(v, 6), Some("/dev/nvme0n1"));
    assert_eq!(text(v, 7), Some("nvme"));
    assert_eq!(
        fake.calls(),
        [
            "--scan-open -j",
            "-d nvme -a --json=c -n standby /dev/nvme0",
            "-d nvme -a --json=c -n standby /dev/nvme0n1"
        ]
    );
    // the controller path is left out from then on, also after a fresh scan lists it again
    fake.clear_calls();
    monitor.refresh();
    assert!(monitor.answer().complete);
    assert_eq!(
        fake.calls(),
        [
            "--scan-open -j",
            "-d nvme -a --json=c -n standby /dev/nvme0n1"
        ]
    );
    let names: Vec<String> = monitor.devices().into_iter().map(|d| d.name).collect();
    assert_eq!(names, ["/dev/nvme0n1"]);
}

#[test]
fn nvme_fallback_respects_exclude_smart() {
    let fake = Fake::new(&[("/dev/nvme0", "nvme")]);
    fake.answer("/dev/nvme0", None, br#"{"smartctl":{"exit_status":4}}"#, 4);
    fake.answer("/dev/nvme0n1", None, &fixture("nvme0.json"), 0);
    let monitor = fake.monitor(SmartConfig {
        exclude: vec!["/dev/nvme0n1".into()],
        ..SmartConfig::default()
    });
    let answer = monitor.answer_and_refresh();
    assert!(keys(&answer).is_empty());
    assert!(!answer.complete);
    assert!(!fake.calls().iter().any(|c| c.ends_with("/dev/nvme0n1")));
}

/// No fallback when the controller answered cleanly (exit 0) but without usable data, nor for
/// a namespace path.
#[test]
fn nvme_fallback_only_after_a_failed_call() {
    let fake = Fake::new(&[("/dev/nvme0", "nvme"), ("/dev/nvme1n1", "nvme")]);
    fake.answer("/dev/nvme0", None, br#"{"smartctl":{"exit_status":0}}"#, 0);
    fake.answer(
        "/dev/nvme1n1",
        None,
        br#"{"smartctl":{"exit_status":4}}"#,
        4,
    );
    let monitor = fake.monitor(SmartConfig::default());
    assert!(!monitor.answer_and_refresh().complete);
    let calls = fake.calls();
    assert!(!calls.iter().any(|c| c.ends_with("n1n1")), "{calls:?}");
    assert!(
        !calls.iter().any(|c| c.ends_with("/dev/nvme0n1")),
        "{calls:?}"
    );
}

/// A disk swapped at the same path: the old serial leaves the answer (and a v0.18 hub, told the
/// answer is complete, deletes its record).
#[test]
fn swapped_disk_replaces_the_old_entry() {
    let fake = Fake::new(&[("/dev/sda", "sat")]);
    fake.answer("/dev/sda", None, &fixture("sda.json"), 0);
    let monitor = fake.monitor(SmartConfig::default());
    assert_eq!(keys(&monitor.answer_and_refresh()), ["9C40918040082"]);
    fake.answer("/dev/sda", None, &sata_with_serial("NEWDISK"), 0);
    monitor.refresh();
    let answer = monitor.answer();
    assert_eq!(keys(&answer), ["NEWDISK"]);
    assert!(answer.complete);
}

/// One invalid byte in smartctl's output (a model name from a cheap bridge, an attribute name)
/// cost the whole device: it is now replaced by U+FFFD and the device is reported.
#[test]
fn invalid_utf8_in_smartctl_output_keeps_the_device() {
    let mut bytes = Vec::new();
    let sda = String::from_utf8(fixture("sda.json")).unwrap();
    let (before, after) = sda.split_once("P3-2TB").unwrap();
    bytes.extend_from_slice(before.as_bytes());
    bytes.extend_from_slice(b"P3-\xff2TB");
    let (middle, rest) = after.split_once("Power_On_Hours").unwrap();
    bytes.extend_from_slice(middle.as_bytes());
    bytes.extend_from_slice(b"Power_On_\xc3Hours");
    bytes.extend_from_slice(rest.as_bytes());
    assert!(std::str::from_utf8(&bytes).is_err());

    let fake = Fake::new(&[("/dev/sda", "sat")]);
    fake.answer("/dev/sda", None, &bytes, 0);
    let answer = fake.monitor(SmartConfig::default()).answer_and_refresh();
    assert!(answer.complete);
    let v = entry(&answer, "9C40918040082");
    assert_eq!(text(v, 1), Some("P3-\u{fffd}2TB"));
    let Some(Value::Array(attributes)) = v.get(9) else {
        panic!("no attributes")
    };
    assert!(attributes
        .iter()
        .any(|a| text(a, 1) == Some("Power_On_\u{fffd}Hours")));
    // and the encoded answer is well-formed CBOR text throughout
    let cbor = answer.data.to_cbor();
    assert!(cbor.windows(3).any(|w| w == "\u{fffd}".as_bytes()));
}

/// The temperature fallback end to end: `-l devstat` asked, page 5 used when `temperature` is 0.
#[test]
fn devstat_temperature_through_the_runner() {
    let sda = String::from_utf8(fixture("sda.json")).unwrap().replacen(
        r#""current": 31"#,
        r#""current": 0"#,
        1,
    );
    assert!(!sda.contains(r#""current": 31"#));
    let with_devstat = sda.trim_end().trim_end_matches('}').to_string()
        + r#", "ata_device_statistics": {"pages": [
            {"number": 5, "name": "Temperature Statistics", "revision": 1, "table": [
              {"offset": 8, "name": "Current Temperature", "size": 1, "value": 36,
               "flags": {"value": 160, "string": "V-D-- ", "valid": true}}]}]}}"#;
    let fake = Fake::new(&[("/dev/sda", "sat")]);
    fake.answer("/dev/sda", None, with_devstat.as_bytes(), 0);
    let answer = fake.monitor(SmartConfig::default()).answer_and_refresh();
    assert_eq!(
        entry(&answer, "9C40918040082").get(8),
        Some(&Value::UInt(36))
    );
    assert_eq!(
        fake.calls()[1],
        "-d sat -a --json=c -l devstat -n standby /dev/sda"
    );
}
