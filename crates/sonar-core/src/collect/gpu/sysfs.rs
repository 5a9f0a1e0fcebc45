//! AMD and Intel GPUs read straight from `/sys/class/drm/cardN` (spec §3.5 [HEAD] amd_sysfs and
//! intel_sysfs), polled by the sampler thread every 3 s. AMD and Intel memory is MiB (§1.6).

use super::accumulator::Reading;
use crate::collect::hwmon::sorted_matches;
use crate::roots::{read_text, read_trimmed, read_u64, Roots};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub const VENDOR_AMD: &str = "0x1002";
pub const VENDOR_INTEL: &str = "0x8086";
/// No collector reads NVIDIA cards from sysfs; the id only names them (NVML and nvidia-smi find
/// them on their own).
pub(crate) const VENDOR_NVIDIA: &str = "0x10de";

/// "amd", "intel" or "nvidia" for a PCI vendor id.
pub(crate) fn vendor_name(id: &str) -> Option<&'static str> {
    [
        (VENDOR_AMD, "amd"),
        (VENDOR_INTEL, "intel"),
        (VENDOR_NVIDIA, "nvidia"),
    ]
    .iter()
    .find(|(v, _)| v.eq_ignore_ascii_case(id))
    .map(|(_, name)| *name)
}

const MIB: f64 = 1_048_576.0;

/// A DRM card of one vendor: `card0`, `card1`… (connector entries like `card0-DP-1` are skipped).
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    pub id: String,
    pub device: PathBuf,
}

pub fn cards(roots: &Roots, vendor: &str) -> Vec<Card> {
    drm_cards(roots)
        .into_iter()
        .filter(|(_, v)| v.eq_ignore_ascii_case(vendor))
        .map(|(card, _)| card)
        .collect()
}

/// Every DRM card with a readable PCI vendor id, whatever the vendor.
pub(crate) fn drm_cards(roots: &Roots) -> Vec<(Card, String)> {
    sorted_matches(&roots.sys("class/drm"), "card*")
        .into_iter()
        .filter_map(|path| {
            let id = path.file_name()?.to_string_lossy().into_owned();
            if id.contains('-') {
                return None;
            }
            let device = path.join("device");
            let vendor = read_trimmed(&device.join("vendor"))?;
            Some((Card { id, device }, vendor))
        })
        .collect()
}

/// The kernel driver of a card's device (the basename of its `driver` link).
pub(crate) fn driver(device: &Path) -> Option<String> {
    let target = std::fs::read_link(device.join("driver")).ok()?;
    Some(target.file_name()?.to_string_lossy().into_owned())
}

/// Whether any card is driven by `driver`.
pub fn any_card_uses_driver(roots: &Roots, driver_name: &str) -> bool {
    sorted_matches(&roots.sys("class/drm"), "card*")
        .iter()
        .any(|p| driver(&p.join("device")).is_some_and(|d| d == driver_name))
}

/// `gpu_busy_percent` of a card (amdgpu, and Intel's xe on recent kernels).
pub(crate) fn busy_percent(device: &Path) -> Option<f64> {
    read_f64(&device.join("gpu_busy_percent"))
}

fn hwmons(device: &Path) -> Vec<PathBuf> {
    sorted_matches(&device.join("hwmon"), "hwmon*")
}

fn read_f64(path: &Path) -> Option<f64> {
    read_trimmed(path)?
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

fn mem_mib(device: &Path, which: &str) -> f64 {
    read_u64(&device.join(format!("mem_info_{which}"))).map_or(0.0, |b| b as f64 / MIB)
}

/// Used/total VRAM in MiB, plus GTT when some of it is in use.
fn memory(device: &Path) -> (f64, f64) {
    let mut used = mem_mib(device, "vram_used");
    let mut total = mem_mib(device, "vram_total");
    let gtt_used = mem_mib(device, "gtt_used");
    if gtt_used > 0.0 {
        used += gtt_used;
        total += mem_mib(device, "gtt_total");
    }
    (used, total)
}

/// Marketing name from `/usr/share/libdrm/amdgpu.ids` ("744C,\tC8,\tAMD Radeon RX 7900 XTX").
pub fn amdgpu_ids_name(ids_file: &str, device_id: &str, revision: &str) -> Option<String> {
    let norm = |s: &str| {
        s.trim()
            .trim_start_matches("0x")
            .trim_start_matches("0X")
            .to_ascii_uppercase()
    };
    let (device_id, revision) = (norm(device_id), norm(revision));
    ids_file
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let mut parts = line.splitn(3, ',');
            let dev = norm(parts.next()?);
            let rev = norm(parts.next()?);
            let name = parts.next()?.trim();
            (dev == device_id && rev == revision).then(|| {
                let name = name.strip_suffix(" Graphics").unwrap_or(name);
                name.strip_suffix(" Series").unwrap_or(name).to_string()
            })
        })
}

fn amd_name(roots: &Roots, card: &Card) -> String {
    if let Some(name) = read_trimmed(&card.device.join("product_name")).filter(|n| !n.is_empty()) {
        return name;
    }
    let device_id = read_trimmed(&card.device.join("device")).unwrap_or_default();
    let revision = read_trimmed(&card.device.join("revision")).unwrap_or_default();
    let ids = read_text(&roots.root.join("usr/share/libdrm/amdgpu.ids")).unwrap_or_default();
    amdgpu_ids_name(&ids, &device_id, &revision).unwrap_or_else(|| {
        let short = device_id.trim_start_matches("0x");
        format!("AMD GPU ({short})")
    })
}

/// One poll of every AMD card.
pub fn poll_amd(
    roots: &Roots,
    cards: &[Card],
    names: &mut HashMap<String, String>,
) -> Vec<Reading> {
    cards
        .iter()
        .map(|card| {
            let name = names
                .entry(card.id.clone())
                .or_insert_with(|| amd_name(roots, card))
                .clone();
            let (memory_used, memory_total) = memory(&card.device);
            let mut temperature = 0.0;
            let mut power = 0.0;
            for (i, hw) in hwmons(&card.device).iter().enumerate() {
                if i == 0 {
                    temperature = read_f64(&hw.join("temp1_input")).map_or(0.0, |m| m / 1000.0);
                }
                let uw = read_f64(&hw.join("power1_average"))
                    .or_else(|| read_f64(&hw.join("power1_input")));
                power += uw.map_or(0.0, |uw| uw / 1e6);
            }
            Reading {
                id: card.id.clone(),
                name,
                temperature,
                memory_used,
                memory_total,
                usage: busy_percent(&card.device).unwrap_or(0.0),
                power,
                ..Reading::default()
            }
        })
        .collect()
}

/// Intel cards: power from the hwmon energy counters (µJ) between two polls, so it keeps the
/// previous counters.
#[derive(Debug, Default)]
pub struct IntelSysfs {
    prev: HashMap<String, (Instant, Vec<u64>)>,
}

/// The card's hwmon with `energy1_input`, if any.
pub fn intel_energy_hwmon(device: &Path) -> Option<PathBuf> {
    hwmons(device)
        .into_iter()
        .find(|hw| hw.join("energy1_input").exists())
}

impl IntelSysfs {
    pub fn poll(&mut self, cards: &[Card], now: Instant) -> Vec<Reading> {
        let mut out = Vec::new();
        for card in cards {
            let hw = intel_energy_hwmon(&card.device);
            let energies: Vec<u64> = hw
                .as_ref()
                .map(|hw| {
                    sorted_matches(hw, "energy*_input")
                        .iter()
                        .filter_map(|p| read_u64(p))
                        .collect()
                })
                .unwrap_or_default();
            let temperature = hw
                .as_ref()
                .and_then(|hw| {
                    sorted_matches(hw, "temp*_input")
                        .iter()
                        .filter_map(|p| read_f64(p))
                        .find(|&m| m > 0.0)
                })
                .map_or(0.0, |m| m / 1000.0);
            let prev = self.prev.insert(card.id.clone(), (now, energies.clone()));
            // The first poll only sets the energy baseline.
            let Some((then, prev_energies)) = prev else {
                continue;
            };
            let secs = now.saturating_duration_since(then).as_secs_f64();
            let watts = |i: usize| -> f64 {
                match (energies.get(i), prev_energies.get(i)) {
                    (Some(&e), Some(&p)) if secs > 0.0 && e >= p => (e - p) as f64 / 1e6 / secs,
                    _ => 0.0,
                }
            };
            let (memory_used, memory_total) = memory(&card.device);
            let name = read_trimmed(&card.device.join("product_name"))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "Intel GPU".to_string());
            out.push(Reading {
                id: card.id.clone(),
                name,
                temperature,
                memory_used,
                memory_total,
                usage: busy_percent(&card.device).unwrap_or(0.0),
                power: watts(0),
                power_pkg: watts(1),
                ..Reading::default()
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::test_tree::write;

    fn fixture(case: &str) -> Roots {
        Roots::under(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/gpu/{case}")),
        )
    }

    #[test]
    fn amd_sysfs_card() {
        let roots = fixture("amd");
        let cards = cards(&roots, VENDOR_AMD);
        // card0 is AMD, card1 Intel, card0-DP-1 a connector.
        assert_eq!(cards.len(), 2, "{cards:?}");
        let r = poll_amd(&roots, &cards, &mut HashMap::new());
        assert_eq!(r[0].id, "card0");
        assert_eq!(r[0].name, "AMD Radeon RX 6800 XT");
        assert_eq!(r[0].usage, 37.0);
        assert_eq!(r[0].temperature, 54.0);
        // 1 GiB VRAM + 256 MiB GTT in use, in MiB.
        assert_eq!(r[0].memory_used, 1024.0 + 256.0);
        assert_eq!(r[0].memory_total, 16368.0 + 8192.0);
        // power1_average preferred over power1_input, µW → W.
        assert_eq!(r[0].power, 42.5);
        // card2 has no product_name: amdgpu.ids gives the name, " Series" trimmed.
        assert_eq!(r[1].name, "AMD Radeon RX 7900 XTX");
        assert_eq!(r[1].memory_used, 512.0, "no GTT in use → VRAM only");
        assert_eq!(r[1].power, 10.0, "power1_input when no average");
    }

    #[test]
    fn amd_name_fallbacks() {
        let ids = "# comment\n1.0.0\n744C,\tC8,\tAMD Radeon RX 7900 XTX Series\n15BF,\tC1,\tAMD Radeon 780M Graphics\n";
        assert_eq!(
            amdgpu_ids_name(ids, "0x744c", "0xc8").as_deref(),
            Some("AMD Radeon RX 7900 XTX")
        );
        assert_eq!(
            amdgpu_ids_name(ids, "0x15bf", "0xc1").as_deref(),
            Some("AMD Radeon 780M")
        );
        assert_eq!(amdgpu_ids_name(ids, "0x15bf", "0xc2"), None);
    }

    #[test]
    fn intel_sysfs_energy_power() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "sys/class/drm/card0/device/vendor", "0x8086\n");
        write(root, "sys/class/drm/card0/device/gpu_busy_percent", "12\n");
        let hw = "sys/class/drm/card0/device/hwmon/hwmon3";
        write(root, &format!("{hw}/energy1_input"), "1000000\n");
        write(root, &format!("{hw}/energy2_input"), "5000000\n");
        write(root, &format!("{hw}/temp1_input"), "0\n");
        write(root, &format!("{hw}/temp2_input"), "47000\n");
        let roots = Roots::under(root);
        let cards = cards(&roots, VENDOR_INTEL);
        assert_eq!(cards.len(), 1);
        assert!(intel_energy_hwmon(&cards[0].device).is_some());
        let mut intel = IntelSysfs::default();
        let t0 = Instant::now();
        assert!(
            intel.poll(&cards, t0).is_empty(),
            "first poll is the baseline"
        );
        write(root, &format!("{hw}/energy1_input"), "7000000\n");
        write(root, &format!("{hw}/energy2_input"), "35000000\n");
        let r = intel.poll(&cards, t0 + Duration::from_secs(2));
        assert_eq!(r[0].power, 3.0);
        assert_eq!(r[0].power_pkg, 15.0);
        assert_eq!(r[0].temperature, 47.0, "first temp*_input above 0");
        assert_eq!(r[0].usage, 12.0);
        assert_eq!(r[0].name, "Intel GPU");
        // A counter reset gives 0, not a huge number.
        write(root, &format!("{hw}/energy1_input"), "10\n");
        let r = intel.poll(&cards, t0 + Duration::from_secs(4));
        assert_eq!(r[0].power, 0.0);
    }
}
