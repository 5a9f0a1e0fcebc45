//! Batteries from /sys/class/power_supply (spec §3.9).
//!
//! `bat` ([percent, state]) follows v0.17, which used distatus/battery v0.11: percent =
//! floor(Σ current / Σ full · 100) in mWh, from `energy_now`/`energy_full`, or from
//! `charge_now`/`charge_full` × `voltage_now`; state = status of the last counted battery.
//! Unlike v0.17 we leave out batteries whose `scope` is `Device` (a wireless mouse's battery
//! says nothing about the host; distatus v0.11 never read `scope`, so v0.17 counted any such
//! device that exposed energy or charge values).
//!
//! `bats` (name → percent) follows HEAD: the kernel's `capacity` per battery, named after
//! `model_name`, else `model`, else the directory; peripherals included.
//!
//! `primary` is v0.18.8's `bat` (beszel-v0.18.md §6.4): [capacity, state] of one battery among
//! those `bats` lists — one reporting `charge_full` (else `energy_full`) > 0 first, the larger
//! value first, then scope other than `Device`, then the lower name. A v0.17 hub gets `battery`
//! (the battery tests pin that rule); which value a v0.18 hub gets is the payload dialect's call.
//!
//! The list of battery directories is cached and rescanned every five minutes (laptops dock,
//! batteries get hot-swapped), and at the next sample when a cached one disappears.

use crate::roots::read_text;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatterySample {
    /// [percent, state enum]; all zero when there is no battery.
    pub battery: [u8; 2],
    /// name → percent per battery (HEAD key 37).
    pub batteries: Vec<(String, u8)>,
    /// v0.18.8's [percent, state] of the primary battery; all zero when there is none.
    pub primary: [u8; 2],
}

/// What v0.18.8 weighs to pick the primary battery (`battery.Primary`).
struct Listed {
    percent: u8,
    state: u8,
    /// `charge_full`, else `energy_full`, when > 0 (µAh or µWh: compared as they are, as Go does).
    full: Option<u64>,
    system: bool,
}

/// How long a scan of power_supply is trusted, including one that found no battery.
pub const RESCAN_EVERY: Duration = Duration::from_secs(300);

pub const STATE_UNKNOWN: u8 = 0;
pub const STATE_EMPTY: u8 = 1;
pub const STATE_FULL: u8 = 2;
pub const STATE_CHARGING: u8 = 3;
pub const STATE_DISCHARGING: u8 = 4;
/// "Not charging" (plugged in, held below full) or "Idle".
pub const STATE_IDLE: u8 = 5;

pub struct BatteryCollector {
    power_supply: PathBuf,
    batteries: Vec<PathBuf>,
    scanned_at: Option<Instant>,
    rescan: bool,
}

/// What one battery contributes to `bat`.
struct Charge {
    /// mWh
    current: f64,
    /// mWh
    full: f64,
    state: Option<u8>,
}

impl BatteryCollector {
    pub fn new(roots: &crate::roots::Roots) -> Self {
        BatteryCollector {
            power_supply: roots.sys("class/power_supply"),
            batteries: Vec::new(),
            scanned_at: None,
            rescan: false,
        }
    }

    pub fn sample(&mut self) -> BatterySample {
        self.sample_at(Instant::now())
    }

    /// `sample` with an explicit clock, for the rescan schedule.
    pub fn sample_at(&mut self, now: Instant) -> BatterySample {
        let due = self.rescan
            || self
                .scanned_at
                .is_none_or(|at| now.saturating_duration_since(at) >= RESCAN_EVERY);
        if due {
            self.batteries = scan(&self.power_supply);
            self.scanned_at = Some(now);
            self.rescan = false;
        }

        let mut current = 0.0;
        let mut full = 0.0;
        let mut state: Option<u8> = None;
        let mut named: Vec<(String, u8)> = Vec::new();
        let mut listed: Vec<Listed> = Vec::new();
        for dir in &self.batteries {
            if !dir.join("type").exists() {
                self.rescan = true;
                continue;
            }
            if let Some(percent) = capacity(dir) {
                named.push((battery_name(dir), percent));
                listed.push(Listed {
                    percent,
                    state: read_text(&dir.join("status"))
                        .and_then(|s| parse_state(s.trim()))
                        .unwrap_or(STATE_UNKNOWN),
                    full: ["charge_full", "energy_full"].iter().find_map(|file| {
                        let value: u64 = read_text(&dir.join(file))?.trim().parse().ok()?;
                        (value > 0).then_some(value)
                    }),
                    system: !is_peripheral(dir),
                });
            }
            if is_peripheral(dir) {
                continue;
            }
            if let Some(charge) = charge(dir) {
                current += charge.current;
                full += charge.full;
                state = charge.state.or(state);
            }
        }

        let battery = match state {
            Some(state) if full > 0.0 => {
                let pct = (current / full * 100.0).floor().clamp(0.0, 100.0);
                [pct as u8, state]
            }
            _ => [0, 0],
        };
        let batteries = dedupe_names(named);
        BatterySample {
            battery,
            primary: primary(&batteries, &listed),
            batteries,
        }
    }
}

/// v0.18.8 `battery.Primary` over the listed batteries (`names` deduplicated, same order).
fn primary(names: &[(String, u8)], listed: &[Listed]) -> [u8; 2] {
    let best = names.iter().zip(listed).min_by(|(a_name, a), (b_name, b)| {
        // None sorts after any capacity; then the larger capacity, system-scoped, lower name
        (
            a.full.is_none(),
            std::cmp::Reverse(a.full),
            !a.system,
            a_name,
        )
            .cmp(&(
                b.full.is_none(),
                std::cmp::Reverse(b.full),
                !b.system,
                b_name,
            ))
    });
    best.map_or([0, 0], |(_, b)| [b.percent, b.state])
}

/// Directories under power_supply whose `type` is Battery, in name order.
fn scan(power_supply: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(power_supply) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|dir| read_text(&dir.join("type")).is_some_and(|t| t.trim() == "Battery"))
        .collect();
    dirs.sort();
    dirs
}

fn is_peripheral(dir: &Path) -> bool {
    read_text(&dir.join("scope")).is_some_and(|s| s.trim() == "Device")
}

/// HEAD: the kernel's own percentage, clamped.
fn capacity(dir: &Path) -> Option<u8> {
    let value: i64 = read_text(&dir.join("capacity"))?.trim().parse().ok()?;
    Some(value.clamp(0, 100) as u8)
}

/// distatus v0.11: energy in µWh, or charge in µAh times the present voltage in µV.
fn charge(dir: &Path) -> Option<Charge> {
    let (current, full) = match read_number(&dir.join("energy_now")) {
        Ok(energy_now) => (
            energy_now / 1000.0,
            read_number(&dir.join("energy_full")).ok()? / 1000.0,
        ),
        Err(ErrorKind::NotFound) => {
            let volts = read_number(&dir.join("voltage_now")).ok()? / 1_000_000.0;
            let charge_now = read_number(&dir.join("charge_now")).ok()? / 1000.0;
            let charge_full = read_number(&dir.join("charge_full")).ok()? / 1000.0;
            (charge_now * volts, charge_full * volts)
        }
        Err(_) => return None,
    };
    // A battery without a full capacity cannot be weighed (a ghost entry).
    if !(full > 0.0 && full.is_finite() && current.is_finite()) {
        return None;
    }
    let state = read_text(&dir.join("status")).and_then(|s| parse_state(s.trim()));
    Some(Charge {
        current,
        full,
        state,
    })
}

/// A file holding one number; the error says whether the file was missing.
fn read_number(path: &Path) -> Result<f64, ErrorKind> {
    let text = std::fs::read_to_string(path).map_err(|e| e.kind())?;
    text.trim().parse().map_err(|_| ErrorKind::InvalidData)
}

fn parse_state(status: &str) -> Option<u8> {
    let state = match status.to_ascii_lowercase().as_str() {
        "unknown" => STATE_UNKNOWN,
        "empty" => STATE_EMPTY,
        "full" => STATE_FULL,
        "charging" => STATE_CHARGING,
        "discharging" => STATE_DISCHARGING,
        "not charging" | "idle" => STATE_IDLE,
        _ => return None,
    };
    Some(state)
}

/// `model_name`, else `model`, else the directory name. Firmware strings need not be UTF-8:
/// invalid bytes are dropped, as HEAD does, because the hub rejects such a payload.
fn battery_name(dir: &Path) -> String {
    for file in ["model_name", "model"] {
        if let Ok(bytes) = std::fs::read(dir.join(file)) {
            let name: String = String::from_utf8_lossy(&bytes)
                .chars()
                .filter(|&c| c != char::REPLACEMENT_CHARACTER)
                .collect();
            let name = name.trim();
            if !name.is_empty() {
                return name.to_string();
            }
        }
    }
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// HEAD's normalisation: an empty name becomes "Battery N", repeats get " (2)", " (3)", ….
fn dedupe_names(batteries: Vec<(String, u8)>) -> Vec<(String, u8)> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    batteries
        .into_iter()
        .enumerate()
        .map(|(i, (name, pct))| {
            let mut name = name.trim().to_string();
            if name.is_empty() {
                name = format!("Battery {}", i + 1);
            }
            let count = match seen.iter_mut().find(|(n, _)| *n == name) {
                Some(entry) => {
                    entry.1 += 1;
                    entry.1
                }
                None => {
                    seen.push((name.clone(), 1));
                    1
                }
            };
            if count > 1 {
                name = format!("{name} ({count})");
            }
            (name, pct)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states() {
        assert_eq!(parse_state("Not charging"), Some(STATE_IDLE));
        assert_eq!(parse_state("Discharging"), Some(STATE_DISCHARGING));
        assert_eq!(parse_state("Unknown"), Some(STATE_UNKNOWN));
        assert_eq!(parse_state("weird"), None);
    }

    #[test]
    fn duplicate_names_are_numbered() {
        let out = dedupe_names(vec![
            ("X".into(), 1),
            ("X".into(), 2),
            (" ".into(), 3),
            ("X".into(), 4),
        ]);
        let names: Vec<&str> = out.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["X", "X (2)", "Battery 3", "X (3)"]);
    }
}
