//! Fan speeds from hwmon (spec §3.10, Beszel HEAD `agent/fans.go`), Stats key 36 `f`.
//!
//! - every `class/hwmon/<chip>` in name order; its `fan*_input` files, or, when it has none,
//!   those of `<chip>/device` (legacy drivers such as applesmc put them on the parent device);
//! - chip name = trimmed `name` next to the inputs, else the chip's own `name`, else the
//!   directory name; key = `<chip name>_<trimmed fanN_label>`, or `<chip name>_fanN` without a
//!   label (labels keep their case and spaces, unlike temperature keys);
//! - value = the input as an unsigned integer RPM; 0 is kept (a stopped fan is a reading),
//!   anything unparsable (negative, garbage, empty) is dropped; RPM beyond u16 saturates
//!   (Go's uint16 conversion would wrap).
//!
//! Beszel discovers once per process; we rebuild the list every minute and at once when an
//! input that used to read disappears, as the temperature collector does (hwmon devices
//! renumber when a driver is reloaded). The tree is the temperature collector's
//! (`SYS_SENSORS`, else the sys root), so containers that mount the host's sys elsewhere see
//! both.

use super::hwmon::{attribute_base, sorted_matches};
use crate::roots::read_text;
use crate::settings::Settings;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a discovered list of fan inputs is used before it is rebuilt.
pub const REDISCOVER_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
struct FanInput {
    key: String,
    path: PathBuf,
    /// Unreadable right after a discovery: a broken input, not a changed tree, so its failures
    /// do not trigger another discovery.
    broken: bool,
}

pub struct FanCollector {
    hwmon: PathBuf,
    inputs: Vec<FanInput>,
    discovered_at: Option<Instant>,
}

enum Reading {
    Rpm(u16),
    /// The file is there but holds no unsigned integer: dropped, not a sign of a changed tree.
    Garbage,
    Unreadable,
}

impl FanCollector {
    pub fn new(settings: &Settings) -> Self {
        FanCollector {
            hwmon: settings.sensors_sys.join("class/hwmon"),
            inputs: Vec::new(),
            discovered_at: None,
        }
    }

    /// name → RPM in discovery order; empty when the host has no fan inputs.
    pub fn sample(&mut self) -> Vec<(String, u16)> {
        self.sample_at(Instant::now())
    }

    /// `sample` with an explicit clock, for the rediscovery schedule.
    pub fn sample_at(&mut self, now: Instant) -> Vec<(String, u16)> {
        let due = self
            .discovered_at
            .is_none_or(|at| now.saturating_duration_since(at) >= REDISCOVER_EVERY);
        if due {
            self.discover(now);
        }
        match self.read_inputs(due) {
            Some(fans) => fans,
            None => {
                self.discover(now);
                self.read_inputs(true).unwrap_or_default()
            }
        }
    }

    fn discover(&mut self, now: Instant) {
        self.inputs = discover(&self.hwmon);
        self.discovered_at = Some(now);
    }

    /// `None` when an input that read before is gone and the list was not just discovered.
    fn read_inputs(&mut self, fresh: bool) -> Option<Vec<(String, u16)>> {
        let mut fans: Vec<(String, u16)> = Vec::with_capacity(self.inputs.len());
        for input in &mut self.inputs {
            let rpm = match read_rpm(&input.path) {
                Reading::Rpm(rpm) => rpm,
                Reading::Garbage => continue,
                Reading::Unreadable if fresh => {
                    input.broken = true;
                    continue;
                }
                Reading::Unreadable if input.broken => continue,
                Reading::Unreadable => return None,
            };
            // Beszel fills a Go map: a repeated key keeps the last reading.
            match fans.iter_mut().find(|(k, _)| *k == input.key) {
                Some(existing) => existing.1 = rpm,
                None => fans.push((input.key.clone(), rpm)),
            }
        }
        Some(fans)
    }
}

fn read_rpm(path: &Path) -> Reading {
    let Some(text) = read_text(path) else {
        return Reading::Unreadable;
    };
    match text.trim().parse::<u64>() {
        Ok(rpm) => Reading::Rpm(u16::try_from(rpm).unwrap_or(u16::MAX)),
        Err(_) => Reading::Garbage,
    }
}

fn trimmed(path: &Path) -> Option<String> {
    read_text(path)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn discover(hwmon: &Path) -> Vec<FanInput> {
    let mut inputs = Vec::new();
    for chip in sorted_matches(hwmon, "*") {
        let mut sensor_dir = chip.clone();
        let mut files = sorted_matches(&chip, "fan*_input");
        if files.is_empty() {
            let device = chip.join("device");
            files = sorted_matches(&device, "fan*_input");
            sensor_dir = device;
        }
        if files.is_empty() {
            continue;
        }
        let chip_name = trimmed(&sensor_dir.join("name"))
            .or_else(|| trimmed(&chip.join("name")))
            .or_else(|| Some(chip.file_name()?.to_string_lossy().into_owned()))
            .unwrap_or_default();
        for file in files {
            let Some(base) = attribute_base(&file) else {
                continue;
            };
            let label = trimmed(&sensor_dir.join(format!("{base}_label")));
            let key = format!("{chip_name}_{}", label.as_deref().unwrap_or(base));
            inputs.push(FanInput {
                key,
                path: file,
                broken: false,
            });
        }
    }
    inputs
}
