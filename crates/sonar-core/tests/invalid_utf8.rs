//! Text that is not UTF-8 in the kernel's files (spec beszel-v0.18.md §0): the hub rejects a whole
//! payload over one invalid byte, so every text value is made valid where it is read — each
//! invalid sequence becomes U+FFFD (battery names drop it, as Beszel does) — and a bad byte never
//! costs the metric, the rest of the file or the message.
#![cfg(target_os = "linux")]

mod common;

use common::{build_host, settings_for, write, write_bytes};
use sonar_core::collect::disk::DiskCollector;
use sonar_core::roots::Roots;
use sonar_core::{Agent, Key, Value};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Instant;

const NET_DEV_HEAD: &[u8] = b"Inter-|   Receive |  Transmit\n face |bytes packets|bytes packets\n";

/// A healthy host plus one foreign-encoded byte in every text source the payload carries.
fn host_with_invalid_bytes(root: &Path) {
    build_host(root);
    let mut net_dev = NET_DEV_HEAD.to_vec();
    net_dev.extend_from_slice(b"  eth0: 1000 1 0 0 0 0 0 0 2000 2 0 0 0 0 0 0\n");
    net_dev.extend_from_slice(b"wl\xffan0: 3000 3 0 0 0 0 0 0 4000 4 0 0 0 0 0 0\n");
    write_bytes(root, "proc/net/dev", &net_dev);
    // Latin-1 "®" in the model name
    write_bytes(
        root,
        "proc/cpuinfo",
        b"processor\t: 0\nmodel name\t: Pentium\xae CPU\n\nprocessor\t: 1\nmodel name\t: Pentium\xae CPU\n",
    );
    write_bytes(root, "proc/sys/kernel/osrelease", b"6.1.0-\xffcustom\n");
    // an unrelated mount whose path is Latin-1 comes before the root filesystem
    write_bytes(
        root,
        "proc/1/mountinfo",
        b"27 1 8:1 / /media/M\xfcller rw - ext4 /dev/sdb1 rw\n28 1 8:0 / / rw,relatime - ext4 /dev/sda rw\n",
    );
    write(root, "proc/filesystems", "nodev\tproc\n\text4\n");
    // sdb1 is the busier disk: only mountinfo's 8:0 ties the root filesystem to sda
    write(
        root,
        "proc/diskstats",
        "   8       0 sda 5000 0 400000 3000 8000 0 900000 9000 0 7000 12000 0 0 0 0\n   8      17 sdb1 9000 0 800000 3000 9000 0 990000 9000 0 7000 12000 0 0 0 0\n",
    );
    let hwmon = "sys/class/hwmon/hwmon0";
    write_bytes(root, format!("{hwmon}/name"), b"nct\xe96798\n");
    write(root, &format!("{hwmon}/fan1_input"), "1200\n");
    write_bytes(root, format!("{hwmon}/fan1_label"), b"CPU\xff Fan\n");
    write(root, &format!("{hwmon}/temp1_input"), "45000\n");
    write_bytes(root, format!("{hwmon}/temp1_label"), b"Core\xfe 0\n");
    // a chip directory whose own name is not UTF-8
    let odd_chip = Path::new("sys/class/hwmon").join(OsStr::from_bytes(b"hwmon\xff1"));
    write_bytes(root, odd_chip.join("name"), b"acpitz\n");
    write_bytes(root, odd_chip.join("temp1_input"), b"50000\n");
    let bat = "sys/class/power_supply/BAT0";
    write(root, &format!("{bat}/type"), "Battery\n");
    write(root, &format!("{bat}/capacity"), "77\n");
    write(root, &format!("{bat}/status"), "Discharging\n");
    // ThinkPad firmware, the example of Beszel #2241
    write_bytes(root, format!("{bat}/model_name"), b"LNV-5B11K63024@\xd0\n");
}

fn text_keys(map: Option<&Value>) -> Vec<String> {
    match map {
        Some(Value::Map(entries)) => entries
            .iter()
            .filter_map(|(k, _)| match k {
                Key::Text(t) => Some(t.clone()),
                Key::Field(..) => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn text(value: Option<&Value>) -> Option<&str> {
    match value {
        Some(Value::Text(t)) => Some(t),
        _ => None,
    }
}

#[test]
fn invalid_utf8_in_kernel_files_is_replaced_and_never_drops_a_metric() {
    let dir = tempfile::tempdir().unwrap();
    host_with_invalid_bytes(dir.path());
    let mut agent = Agent::new(settings_for(Roots::under(dir.path())));
    let payload = agent.collect_at(60000, Instant::now());
    let stats = payload.value.get(0);
    let info = payload.value.get(1);
    let stats = stats.expect("stats");
    let info = info.expect("info");

    // /proc/net/dev: the other interface is still there, the odd one renamed, not dropped
    assert_eq!(
        text_keys(stats.get(31)),
        ["eth0".to_string(), "wl\u{FFFD}an0".to_string()]
    );
    // /proc/cpuinfo: model name, and the CPU count read from the same file
    assert_eq!(text(info.get(4)), Some("Pentium\u{FFFD} CPU"));
    assert_eq!(info.get(3), Some(&Value::UInt(2)));
    // the kernel release
    assert_eq!(text(info.get(1)), Some("6.1.0-\u{FFFD}custom"));
    // hwmon: chip names and labels, and a chip directory whose name is not UTF-8
    assert_eq!(
        text_keys(stats.get(36)),
        ["nct\u{FFFD}6798_CPU\u{FFFD} Fan".to_string()]
    );
    let mut temps = text_keys(stats.get(20));
    temps.sort();
    assert_eq!(
        temps,
        [
            "acpitz".to_string(),
            "nct\u{FFFD}6798_core\u{FFFD}_0".to_string()
        ]
    );
    // battery names lose the invalid byte (Beszel #2241), the battery stays
    assert_eq!(text_keys(stats.get(37)), ["LNV-5B11K63024@".to_string()]);

    // the payload encodes, and every text string in it is valid UTF-8 (a strict decoder's view)
    assert_cbor_text_is_utf8(&payload.value.to_cbor());
}

#[test]
fn invalid_utf8_in_mountinfo_keeps_the_root_disk() {
    let dir = tempfile::tempdir().unwrap();
    host_with_invalid_bytes(dir.path());
    let disk = DiskCollector::new(&settings_for(Roots::under(dir.path())));
    let root = disk.filesystems().first().expect("a root filesystem");
    assert!(root.root);
    assert_eq!(root.io_device.as_deref(), Some("sda"));
}

/// Walks a CBOR item and checks every text string (major type 3) with a strict UTF-8 decoder.
fn assert_cbor_text_is_utf8(bytes: &[u8]) {
    fn item(b: &[u8], mut i: usize) -> usize {
        let head = b[i];
        let (major, info) = (head >> 5, head & 0x1f);
        i += 1;
        let arg = match info {
            0..=23 => u64::from(info),
            24..=27 => {
                let n = 1usize << (info - 24);
                let v = b[i..i + n].iter().fold(0u64, |a, &x| a << 8 | u64::from(x));
                i += n;
                v
            }
            other => panic!("unexpected additional info {other}"),
        };
        let len = usize::try_from(arg).unwrap();
        match major {
            0 | 1 | 7 => i,
            2 => i + len,
            3 => {
                let s = &b[i..i + len];
                assert!(std::str::from_utf8(s).is_ok(), "invalid UTF-8: {s:?}");
                i + len
            }
            4 => (0..len).fold(i, |at, _| item(b, at)),
            5 => (0..len * 2).fold(i, |at, _| item(b, at)),
            6 => item(b, i),
            _ => unreachable!(),
        }
    }
    assert_eq!(item(bytes, 0), bytes.len());
}
