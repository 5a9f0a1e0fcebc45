//! Linux software RAID health from sysfs as SMART-like entries (spec §1.10, §3.7 [HEAD];
//! Beszel HEAD `agent/mdraid_linux.go`), for the SMART response (key 5) to merge in.
//!
//! An array is every `block/mdN` with a readable `md/array_state`. Its entry is keyed
//! `mdraid:mdN`: ModelName "Linux MD RAID (<level>)", DiskName "/dev/mdN", DiskType "mdraid",
//! Capacity from `size`, and the sysfs fields as attributes (text ones in `rs`, counts in `rv`,
//! zero counts and empty texts left out, as Beszel does).
//!
//! Status (first match wins):
//! - FAILED when the array is inactive, faulty, broken or stopped;
//! - WARNING while recovering or reshaping, or resyncing with a member missing or faulty;
//! - FAILED with a member whose `dev-*/state` says faulty;
//! - degraded > 0: WARNING when the unpopulated slots outnumber the populated ones (QNAP sets
//!   raid_disks far beyond what it uses, so a snapshot cannot tell a spare slot from a lost
//!   member), else FAILED;
//! - WARNING with mismatches found by a check;
//! - PASSED for the healthy states (a requested check/repair scrub stays green);
//! - UNKNOWN otherwise.
//!
//! Differences from Beszel 0.18.8 (spec v0.18 §5.1 "mdraid"), kept on purpose: these are the
//! rules of Beszel's later main branch (spec v0.18 §10), pinned by tests/mdraid.rs. 0.18.8 has no
//! FaultyDisks attribute and no faulty-member rule, calls every degraded array FAILED (QNAP's
//! sparse slots included), every resync WARNING (also the initial one with all members) and a
//! `repair` scrub WARNING, and multiplies `size` by `queue/logical_block_size` (eightfold on a
//! 4Kn array; the kernel's `size` is in 512-byte sectors). Files are read under the agent's sys
//! root (`HOST_SYS`) where Beszel hard-codes `/sys`, so a containerised agent with the host's
//! /sys mounted elsewhere sees the host's arrays. Text files are decoded lossily: one invalid
//! byte in a sysfs value does not drop the array (the hub needs valid UTF-8, spec v0.18 §0).

use crate::roots::{read_trimmed, read_trimmed_lossy, Roots};
use crate::value::{MapBuilder, Value};
use std::path::Path;

/// What sysfs says about one array.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MdArray {
    /// "md0"
    pub name: String,
    pub level: String,
    pub array_state: String,
    pub raid_disks: u64,
    /// raid_disks − active members (the kernel's count).
    pub degraded: u64,
    /// Members whose state contains "faulty".
    pub faulty_disks: u64,
    /// `dev-*` member directories, whatever their state.
    pub populated_disks: u64,
    pub sync_action: String,
    pub sync_completed: String,
    pub sync_speed: String,
    pub mismatch_cnt: u64,
    /// Bytes.
    pub capacity: u64,
}

pub const STATUS_PASSED: &str = "PASSED";
pub const STATUS_WARNING: &str = "WARNING";
pub const STATUS_FAILED: &str = "FAILED";
pub const STATUS_UNKNOWN: &str = "UNKNOWN";

/// Every array as (key "mdraid:mdN", SmartData tree), in name order; empty without md arrays.
pub fn read_arrays(roots: &Roots) -> Vec<(String, Value)> {
    scan(roots)
        .iter()
        .map(|array| (array.key(), array.to_value()))
        .collect()
}

/// Every array that sysfs shows, in name order.
pub fn scan(roots: &Roots) -> Vec<MdArray> {
    let block = roots.sys("block");
    let Ok(entries) = std::fs::read_dir(&block) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| is_md_name(name))
        .collect();
    names.sort();
    names
        .iter()
        .filter_map(|name| read_array(&block.join(name), name))
        .collect()
}

/// `mdN` with a decimal N (not `md127p1`, `md_d0` or `mdX`).
fn is_md_name(name: &str) -> bool {
    name.strip_prefix("md")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn read_array(dir: &Path, name: &str) -> Option<MdArray> {
    let md = dir.join("md");
    let text = |file: &str| read_trimmed_lossy(&md.join(file)).unwrap_or_default();
    let count = |file: &str| {
        read_trimmed(&md.join(file))
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let array_state = read_trimmed_lossy(&md.join("array_state"))?;
    let (faulty_disks, populated_disks) = member_states(&md);
    Some(MdArray {
        name: name.to_string(),
        level: text("level"),
        array_state,
        raid_disks: count("raid_disks"),
        degraded: count("degraded"),
        faulty_disks,
        populated_disks,
        sync_action: text("sync_action"),
        sync_completed: text("sync_completed"),
        sync_speed: text("sync_speed"),
        mismatch_cnt: count("mismatch_cnt"),
        capacity: capacity_bytes(dir),
    })
}

/// (faulty, populated) over the `dev-*` member directories.
fn member_states(md: &Path) -> (u64, u64) {
    let Ok(entries) = std::fs::read_dir(md) else {
        return (0, 0);
    };
    let mut faulty = 0;
    let mut populated = 0;
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with("dev-") {
            continue;
        }
        populated += 1;
        let state = read_trimmed_lossy(&entry.path().join("state")).unwrap_or_default();
        if state.contains("faulty") {
            faulty += 1;
        }
    }
    (faulty, populated)
}

/// The block device's `size` counts 512-byte sectors whatever the logical block size (Beszel
/// multiplies by `logical_block_size`, which overstates 4Kn arrays eightfold).
fn capacity_bytes(dir: &Path) -> u64 {
    read_trimmed(&dir.join("size"))
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(0, |sectors| sectors.saturating_mul(512))
}

impl MdArray {
    pub fn key(&self) -> String {
        format!("mdraid:{}", self.name)
    }

    pub fn status(&self) -> &'static str {
        let state = self.array_state.trim().to_lowercase();
        if matches!(state.as_str(), "inactive" | "faulty" | "broken" | "stopped") {
            return STATUS_FAILED;
        }
        match self.sync_action.trim().to_lowercase().as_str() {
            "recover" | "reshape" => return STATUS_WARNING,
            // A resync with every member present only re-verifies redundancy.
            "resync" if self.degraded > 0 || self.faulty_disks > 0 => return STATUS_WARNING,
            _ => {}
        }
        if self.faulty_disks > 0 {
            return STATUS_FAILED;
        }
        if self.degraded > 0 {
            return if self.sparse_slots_explain_degraded() {
                STATUS_WARNING
            } else {
                STATUS_FAILED
            };
        }
        if self.mismatch_cnt > 0 {
            return STATUS_WARNING;
        }
        match state.as_str() {
            "clean" | "active" | "active-idle" | "write-pending" | "read-auto" | "readonly" => {
                STATUS_PASSED
            }
            _ => STATUS_UNKNOWN,
        }
    }

    fn sparse_slots_explain_degraded(&self) -> bool {
        if self.populated_disks == 0 || self.raid_disks <= self.populated_disks {
            return false;
        }
        self.raid_disks - self.populated_disks > self.populated_disks
    }

    pub fn model_name(&self) -> String {
        if self.level.is_empty() {
            "Linux MD RAID".to_string()
        } else {
            format!("Linux MD RAID ({})", self.level)
        }
    }

    /// SmartData (spec §1.10) with its omitempty rules.
    pub fn to_value(&self) -> Value {
        let mut attributes = Vec::new();
        let mut text = |name: &'static str, v: &str| {
            if !v.is_empty() {
                attributes.push(attribute(name, 0, v));
            }
        };
        text("ArrayState", &self.array_state);
        text("RaidLevel", &self.level);
        let mut counts = Vec::new();
        for (name, v) in [
            ("RaidDisks", self.raid_disks),
            ("Degraded", self.degraded),
            ("FaultyDisks", self.faulty_disks),
        ] {
            if v > 0 {
                counts.push(attribute(name, v, ""));
            }
        }
        attributes.extend(counts);
        for (name, v) in [
            ("SyncAction", &self.sync_action),
            ("SyncCompleted", &self.sync_completed),
            ("SyncSpeed", &self.sync_speed),
        ] {
            if !v.is_empty() {
                attributes.push(attribute(name, 0, v));
            }
        }
        if self.mismatch_cnt > 0 {
            attributes.push(attribute("MismatchCount", self.mismatch_cnt, ""));
        }
        MapBuilder::new()
            .field(1, "mn", Value::Text(self.model_name()))
            .field_omit_empty(4, "c", Value::UInt(self.capacity))
            .field(5, "s", Value::Text(self.status().to_string()))
            .field(6, "dn", Value::Text(format!("/dev/{}", self.name)))
            .field(7, "dt", Value::Text("mdraid".to_string()))
            .field_omit_empty(9, "a", Value::Array(attributes))
            .build()
    }
}

/// A SmartAttribute (spec §1.10): `n` and `rv` always, `rs` when set.
fn attribute(name: &str, raw_value: u64, raw_string: &str) -> Value {
    MapBuilder::new()
        .field(1, "n", Value::Text(name.to_string()))
        .field(5, "rv", Value::UInt(raw_value))
        .field_omit_empty(6, "rs", Value::Text(raw_string.to_string()))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md_names() {
        assert!(is_md_name("md0"));
        assert!(is_md_name("md127"));
        assert!(!is_md_name("md"));
        assert!(!is_md_name("md127p1"));
        assert!(!is_md_name("mdX"));
        assert!(!is_md_name("sda"));
    }
}
