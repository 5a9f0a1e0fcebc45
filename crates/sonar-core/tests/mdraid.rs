//! mdraid health against the fixture tree tests/fixtures/mdraid/host (one array per case) and
//! this machine's own /sys.

use sonar_core::collect::mdraid::{read_arrays, scan, MdArray};
use sonar_core::roots::Roots;
use sonar_core::Value;
use std::path::Path;

mod common;
use common::{attributes, text};

fn host() -> Roots {
    Roots::under(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mdraid/host"))
}

fn array(name: &str) -> MdArray {
    scan(&host())
        .into_iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("{name} not scanned"))
}

fn attr(name: &str, rv: u64, rs: &str) -> (String, u64, String) {
    (name.to_string(), rv, rs.to_string())
}

#[test]
fn only_md_arrays_in_name_order() {
    let keys: Vec<String> = read_arrays(&host()).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "mdraid:md0",
            "mdraid:md1",
            "mdraid:md2",
            "mdraid:md3",
            "mdraid:md4",
            "mdraid:md5",
            "mdraid:md6",
            "mdraid:md7",
            "mdraid:md8"
        ]
    );
}

#[test]
fn clean_raid1_entry() {
    let a = array("md0");
    assert_eq!(a.status(), "PASSED");
    let v = a.to_value();
    assert_eq!(text(&v, 1), Some("Linux MD RAID (raid1)"));
    assert_eq!(text(&v, 2), None, "no serial for an array");
    assert_eq!(text(&v, 5), Some("PASSED"));
    assert_eq!(text(&v, 6), Some("/dev/md0"));
    assert_eq!(text(&v, 7), Some("mdraid"));
    assert_eq!(
        attributes(&v),
        vec![
            attr("ArrayState", 0, "clean"),
            attr("RaidLevel", 0, "raid1"),
            attr("RaidDisks", 2, ""),
            attr("SyncAction", 0, "idle"),
            attr("SyncCompleted", 0, "none"),
            attr("SyncSpeed", 0, "none"),
        ]
    );
}

/// `size` counts 512-byte sectors even on a 4Kn array (logical_block_size 4096).
#[test]
fn capacity_in_512_byte_sectors() {
    assert_eq!(
        array("md0").to_value().get(4),
        Some(&Value::UInt(1_953_257_472 * 512))
    );
}

#[test]
fn degraded_raid5_failed() {
    let a = array("md1");
    assert_eq!(a.status(), "FAILED");
    assert!(attributes(&a.to_value()).contains(&attr("Degraded", 1, "")));
}

#[test]
fn rebuild_in_progress_warning() {
    let a = array("md2");
    assert_eq!(a.status(), "WARNING");
    let attrs = attributes(&a.to_value());
    assert!(attrs.contains(&attr("SyncAction", 0, "recover")));
    assert!(attrs.contains(&attr("SyncCompleted", 0, "1048576 / 3907018752")));
    assert!(attrs.contains(&attr("SyncSpeed", 0, "152341")));
}

/// An initial resync with every member present is not a health problem.
#[test]
fn resync_with_all_members_passed() {
    assert_eq!(array("md3").status(), "PASSED");
}

/// raid0 has no degraded/sync/mismatch files: those attributes are simply absent.
#[test]
fn raid0_without_redundancy_files() {
    let a = array("md4");
    assert_eq!(a.status(), "PASSED");
    assert_eq!(
        attributes(&a.to_value()),
        vec![
            attr("ArrayState", 0, "clean"),
            attr("RaidLevel", 0, "raid0"),
            attr("RaidDisks", 2, ""),
        ]
    );
}

#[test]
fn check_mismatches_warning() {
    let a = array("md5");
    assert_eq!(a.status(), "WARNING");
    assert!(attributes(&a.to_value()).contains(&attr("MismatchCount", 128, "")));
}

#[test]
fn inactive_array_failed_without_level_or_capacity() {
    let v = array("md6").to_value();
    assert_eq!(text(&v, 5), Some("FAILED"));
    assert_eq!(text(&v, 1), Some("Linux MD RAID"));
    assert_eq!(v.get(4), None);
}

#[test]
fn faulty_member_failed() {
    let a = array("md7");
    assert_eq!(a.faulty_disks, 1);
    assert_eq!(a.populated_disks, 2);
    assert_eq!(a.status(), "FAILED");
    assert!(attributes(&a.to_value()).contains(&attr("FaultyDisks", 1, "")));
}

/// QNAP sets raid_disks to 32 for two members: the kernel's degraded count is not a lost disk.
#[test]
fn sparse_slots_warning_not_failed() {
    assert_eq!(array("md8").status(), "WARNING");
}

#[test]
fn status_rule_order() {
    let base = MdArray {
        name: "md0".into(),
        level: "raid1".into(),
        array_state: "clean".into(),
        raid_disks: 2,
        populated_disks: 2,
        ..MdArray::default()
    };
    let with = |f: &dyn Fn(&mut MdArray)| {
        let mut a = base.clone();
        f(&mut a);
        a.status()
    };
    assert_eq!(base.status(), "PASSED");
    assert_eq!(with(&|a| a.array_state = "broken".into()), "FAILED");
    assert_eq!(with(&|a| a.array_state = "clear".into()), "UNKNOWN");
    assert_eq!(with(&|a| a.array_state = "read-auto".into()), "PASSED");
    assert_eq!(with(&|a| a.sync_action = "reshape".into()), "WARNING");
    assert_eq!(with(&|a| a.sync_action = "repair".into()), "PASSED");
    assert_eq!(
        with(&|a| {
            a.sync_action = "resync".into();
            a.degraded = 1;
        }),
        "WARNING"
    );
    // A faulty member outranks mismatches.
    assert_eq!(
        with(&|a| {
            a.faulty_disks = 1;
            a.mismatch_cnt = 5;
        }),
        "FAILED"
    );
}

/// The CBOR shape: SmartData keys 1,4,5,6,7,9; attributes keep `n` and `rv` even when rv is 0.
#[test]
fn cbor_keys() {
    let v = array("md4").to_value();
    let Value::Map(entries) = &v else {
        panic!("not a map")
    };
    let keys: Vec<String> = entries
        .iter()
        .map(|(k, _)| k.json_name().to_string())
        .collect();
    assert_eq!(keys, ["mn", "c", "s", "dn", "dt", "a"]);
    let cbor = v.to_cbor();
    assert_eq!(cbor[0], 0xa6, "map of 6");
}

/// This VM has no md arrays: an empty list, no error. Elsewhere every entry has a status.
#[test]
fn real_host_plausible() {
    let arrays = read_arrays(&Roots::default());
    for (key, v) in &arrays {
        assert!(key.starts_with("mdraid:md"), "{key}");
        assert!(matches!(
            text(v, 5),
            Some("PASSED" | "WARNING" | "FAILED" | "UNKNOWN")
        ));
    }
    if !Path::new("/sys/block").exists() || !Path::new("/proc/mdstat").exists() {
        assert!(arrays.is_empty());
    }
}

/// One invalid byte in an md sysfs text (array_state was read strictly) dropped the whole array;
/// it is replaced by U+FFFD instead (the hub needs valid UTF-8, spec v0.18 §0).
#[test]
fn invalid_utf8_in_sysfs_keeps_the_array() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("sys/block/md0/md");
    std::fs::create_dir_all(&md).unwrap();
    std::fs::write(md.join("array_state"), b"clean\xff\n").unwrap();
    std::fs::write(md.join("level"), b"raid\xc31\n").unwrap();
    std::fs::write(md.join("raid_disks"), b"2\n").unwrap();
    let arrays = read_arrays(&Roots::under(dir.path()));
    assert_eq!(arrays.len(), 1);
    let (key, v) = &arrays[0];
    assert_eq!(key, "mdraid:md0");
    assert_eq!(text(v, 1), Some("Linux MD RAID (raid\u{fffd}1)"));
    assert_eq!(
        attributes(v)[..2],
        [
            attr("ArrayState", 0, "clean\u{fffd}"),
            attr("RaidLevel", 0, "raid\u{fffd}1")
        ]
    );
}
