//! eMMC wear from sysfs as SMART entries (spec v0.18 §5.1 "eMMC"; Beszel 0.18.8
//! `agent/emmc_linux.go`, `emmc_common.go`): the kernel exposes the EXT_CSD health fields that
//! smartctl cannot read from an eMMC.
//!
//! A device is every `class/block/mmcblkN` (digits only: not `mmcblk0boot0`, `mmcblk0p1`) whose
//! `device/` has `pre_eol_info`, `life_time` or `device_life_time_est_typ_a|b`, and whose values
//! parse. Its entry is keyed by serial, else `/dev/mmcblkN`: ModelName `device/name`, serial
//! `device/serial`, firmware `device/prv`, DiskName `/dev/mmcblkN`, DiskType `emmc`, no
//! temperature; status from PRE_EOL_INFO; attributes `PreEOLInfo`, `DeviceLifeTimeEstA`,
//! `DeviceLifeTimeEstB` with Beszel's strings.
//!
//! Deliberate differences from Beszel, which hard-codes `/sys`: the files are read under the
//! agent's sys root (`HOST_SYS`), so an agent in a container with the host's /sys mounted
//! elsewhere reports the host's eMMC, as every other sysfs collector does; and Capacity is
//! `size` × 512, the unit the kernel documents for `size` (Beszel multiplies by
//! `queue/logical_block_size`, which agrees on every 512-byte-sector eMMC and overstates a
//! 4K-sector one eightfold — the same correction the md arrays make).

use super::{SmartAttribute, SmartData};
use crate::roots::{read_trimmed_lossy, Roots};
use crate::value::Value;
use std::path::Path;

pub const DISK_TYPE: &str = "emmc";

/// The health fields of one eMMC.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmmcHealth {
    /// "mmcblk0"
    pub name: String,
    pub model: String,
    pub serial: String,
    pub revision: String,
    /// Bytes.
    pub capacity: u64,
    pub pre_eol: u8,
    pub life_a: u8,
    pub life_b: u8,
}

/// Block devices that look like eMMC with health files, in name order (`mmcblkN`). A name
/// listed here but not readable by `read` is a device the refresh failed to collect.
pub fn candidates(roots: &Roots) -> Vec<String> {
    let block = roots.sys("class/block");
    let Ok(entries) = std::fs::read_dir(&block) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| is_emmc_name(name))
        .filter(|name| has_health_files(&block.join(name).join("device")))
        .collect();
    names.sort();
    names
}

/// Every readable eMMC as (key, SmartData), in name order.
pub fn read_devices(roots: &Roots) -> Vec<(String, SmartData)> {
    candidates(roots)
        .iter()
        .filter_map(|name| read(roots, name))
        .map(|health| (health.key(), health.to_smart_data()))
        .collect()
}

/// `mmcblk` followed by decimal digits only.
pub fn is_emmc_name(name: &str) -> bool {
    name.strip_prefix("mmcblk")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn has_health_files(device: &Path) -> bool {
    const FILES: [&str; 4] = [
        "pre_eol_info",
        "life_time",
        "device_life_time_est_typ_a",
        "device_life_time_est_typ_b",
    ];
    let Ok(entries) = std::fs::read_dir(device) else {
        return false;
    };
    entries
        .flatten()
        .any(|e| FILES.iter().any(|f| e.file_name() == *f))
}

/// One device's health; None when neither PRE_EOL_INFO nor a lifetime estimate parses.
pub fn read(roots: &Roots, name: &str) -> Option<EmmcHealth> {
    if !is_emmc_name(name) {
        return None;
    }
    let dir = roots.sys("class/block").join(name);
    let device = dir.join("device");
    let pre_eol = read_byte(&device.join("pre_eol_info"));
    let life = read_life_time(&device);
    if pre_eol.is_none() && life.is_none() {
        return None;
    }
    let (life_a, life_b) = life.unwrap_or((0, 0));
    let text = |file: &str| read_trimmed_lossy(&device.join(file)).unwrap_or_default();
    Some(EmmcHealth {
        name: name.to_string(),
        model: text("name"),
        serial: text("serial"),
        revision: text("prv"),
        capacity: capacity_bytes(&dir),
        pre_eol: pre_eol.unwrap_or(0),
        life_a,
        life_b,
    })
}

/// `life_time` ("0x01 0x02", both estimates) when present — then it alone decides —, else the
/// two separate files; either estimate may be missing.
fn read_life_time(device: &Path) -> Option<(u8, u8)> {
    if let Some(pair) = read_trimmed_lossy(&device.join("life_time")) {
        let mut fields = pair.split_whitespace();
        let (Some(a), Some(b)) = (fields.next(), fields.next()) else {
            return None;
        };
        return match (parse_byte(a), parse_byte(b)) {
            (None, None) => None,
            (a, b) => Some((a.unwrap_or(0), b.unwrap_or(0))),
        };
    }
    match (
        read_byte(&device.join("device_life_time_est_typ_a")),
        read_byte(&device.join("device_life_time_est_typ_b")),
    ) {
        (None, None) => None,
        (a, b) => Some((a.unwrap_or(0), b.unwrap_or(0))),
    }
}

fn read_byte(path: &Path) -> Option<u8> {
    parse_byte(&read_trimmed_lossy(path)?)
}

/// `0x`-prefixed hex or decimal, 0–255, no sign (Go `ParseUint(s, base, 8)`).
pub fn parse_byte(text: &str) -> Option<u8> {
    let text = text.trim();
    let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (text, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u8::from_str_radix(digits, radix).ok()
}

/// `size` counts 512-byte sectors (see the module comment).
fn capacity_bytes(dir: &Path) -> u64 {
    read_trimmed_lossy(&dir.join("size"))
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(0, |sectors| sectors.saturating_mul(512))
}

/// PRE_EOL_INFO: 0x01 normal, 0x02 warning (80 % of reserved blocks used), 0x03 urgent.
pub fn status(pre_eol: u8) -> &'static str {
    match pre_eol {
        0x01 => "PASSED",
        0x02 => "WARNING",
        0x03 => "FAILED",
        _ => "UNKNOWN",
    }
}

pub fn pre_eol_string(pre_eol: u8) -> String {
    match pre_eol {
        0x01 => "0x01 (normal)".to_string(),
        0x02 => "0x02 (warning)".to_string(),
        0x03 => "0x03 (urgent)".to_string(),
        other => format!("0x{other:02x}"),
    }
}

/// JEDEC DEVICE_LIFE_TIME_EST: 0x01–0x0A = 0–100 % used in 10 % steps, 0x0B = exceeded.
pub fn life_time_string(v: u8) -> String {
    match v {
        0 => "0x00 (not reported)".to_string(),
        1..=10 => format!(
            "0x{v:02x} ({}-{}% used)",
            u32::from(v - 1) * 10,
            u32::from(v) * 10
        ),
        0x0b => "0x0b (>100% used)".to_string(),
        other => format!("0x{other:02x}"),
    }
}

impl EmmcHealth {
    pub fn dev_path(&self) -> String {
        format!("/dev/{}", self.name)
    }

    /// The response key: the serial, else the device path.
    pub fn key(&self) -> String {
        if self.serial.is_empty() {
            self.dev_path()
        } else {
            self.serial.clone()
        }
    }

    pub fn to_smart_data(&self) -> SmartData {
        let attribute = |name: &str, raw: u8, text: String| SmartAttribute {
            name: name.to_string(),
            raw_value: u64::from(raw),
            raw_string: text,
            ..Default::default()
        };
        SmartData {
            model_name: self.model.clone(),
            serial_number: self.serial.clone(),
            firmware_version: self.revision.clone(),
            capacity: self.capacity,
            smart_status: status(self.pre_eol).to_string(),
            disk_name: self.dev_path(),
            disk_type: DISK_TYPE.to_string(),
            temperature: 0,
            attributes: vec![
                attribute("PreEOLInfo", self.pre_eol, pre_eol_string(self.pre_eol)),
                attribute(
                    "DeviceLifeTimeEstA",
                    self.life_a,
                    life_time_string(self.life_a),
                ),
                attribute(
                    "DeviceLifeTimeEstB",
                    self.life_b,
                    life_time_string(self.life_b),
                ),
            ],
        }
    }

    pub fn to_value(&self) -> Value {
        self.to_smart_data().to_value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emmc_names() {
        assert!(is_emmc_name("mmcblk0"));
        assert!(is_emmc_name("mmcblk12"));
        assert!(!is_emmc_name("mmcblk"));
        assert!(!is_emmc_name("mmcblk0p1"));
        assert!(!is_emmc_name("mmcblk0boot0"));
        assert!(!is_emmc_name("mmcblk0rpmb"));
        assert!(!is_emmc_name("sda"));
    }

    #[test]
    fn bytes_hex_or_decimal() {
        assert_eq!(parse_byte("0x01"), Some(1));
        assert_eq!(parse_byte("0X0B"), Some(11));
        assert_eq!(parse_byte(" 2\n"), Some(2));
        assert_eq!(parse_byte("255"), Some(255));
        assert_eq!(parse_byte("256"), None);
        assert_eq!(parse_byte("0x100"), None);
        assert_eq!(parse_byte("+1"), None);
        assert_eq!(parse_byte("0x"), None);
        assert_eq!(parse_byte(""), None);
        assert_eq!(parse_byte("0xg1"), None);
    }
}
