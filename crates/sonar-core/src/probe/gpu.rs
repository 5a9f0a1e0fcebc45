//! GPUs: the collector's own detection (`collect::gpu::detect`, the same code `GpuCollector::new`
//! runs), with the verdict on every candidate, plus the cards and PCI display devices the host has.

use super::{object, text_or_null, texts};
use crate::collect::gpu::{detect, sysfs, Candidate, Verdict};
use crate::collect::hwmon::sorted_matches;
use crate::roots::{read_trimmed, Roots};
use crate::settings::Settings;
use crate::value::Value;

/// A DRM card (`/sys/class/drm/cardN`).
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    pub id: String,
    pub vendor_id: String,
    pub driver: Option<String>,
    /// `gpu_busy_percent`, as the sysfs collectors read it; None when unreadable.
    pub busy_percent: Option<f64>,
}

/// A PCI display controller (class 0x03xxxx), with or without a driver.
#[derive(Debug, Clone, PartialEq)]
pub struct PciDisplay {
    pub address: String,
    pub vendor_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GpuProbe {
    /// Why GPU collection is off (SKIP_GPU); None when it is on.
    pub disabled_by: Option<String>,
    /// `GPU_COLLECTOR` as parsed; empty = detect.
    pub requested: Vec<String>,
    /// Empty when collection is off.
    pub candidates: Vec<Candidate>,
    pub drm: String,
    pub cards: Vec<Card>,
    pub displays: Vec<PciDisplay>,
}

pub fn probe(settings: &Settings) -> GpuProbe {
    let roots = &settings.roots;
    let (disabled_by, candidates) = if settings.skip_gpu {
        (Some("SKIP_GPU=true".to_string()), Vec::new())
    } else {
        // the sampler NVML opened is dropped here: nothing keeps running
        (None, detect(settings).candidates)
    };
    GpuProbe {
        disabled_by,
        requested: settings.gpu_collector.clone(),
        candidates,
        drm: roots.sys("class/drm").display().to_string(),
        cards: cards(roots),
        displays: displays(roots),
    }
}

fn cards(roots: &Roots) -> Vec<Card> {
    sysfs::drm_cards(roots)
        .into_iter()
        .map(|(card, vendor_id)| Card {
            driver: sysfs::driver(&card.device),
            busy_percent: sysfs::busy_percent(&card.device),
            id: card.id,
            vendor_id: vendor_id.to_ascii_lowercase(),
        })
        .collect()
}

fn displays(roots: &Roots) -> Vec<PciDisplay> {
    sorted_matches(&roots.sys("bus/pci/devices"), "*")
        .into_iter()
        .filter(|dir| read_trimmed(&dir.join("class")).is_some_and(|c| c.starts_with("0x03")))
        .filter_map(|dir| {
            Some(PciDisplay {
                address: dir.file_name()?.to_string_lossy().into_owned(),
                vendor_id: read_trimmed(&dir.join("vendor"))?.to_ascii_lowercase(),
            })
        })
        .collect()
}

fn vendor(id: &str) -> Value {
    text_or_null(sysfs::vendor_name(id))
}

fn candidate_value(c: &Candidate) -> Value {
    let (verdict, reason) = match &c.verdict {
        Verdict::Chosen => ("chosen", None),
        Verdict::Covered(by) => (
            "covered",
            Some(format!("{by}, earlier in the list, covers this vendor")),
        ),
        Verdict::Unusable(why) => ("unusable", Some(why.clone())),
        Verdict::NotListed => (
            "not_listed",
            Some("GPU_COLLECTOR does not name it".to_string()),
        ),
    };
    object(vec![
        ("name", Value::Text(c.name.to_string())),
        ("verdict", Value::Text(verdict.to_string())),
        ("reason", text_or_null(reason.as_deref())),
        ("found", text_or_null(c.found.as_deref())),
    ])
}

impl GpuProbe {
    pub fn to_value(&self) -> Value {
        let chosen: Vec<&str> = self
            .candidates
            .iter()
            .filter(|c| c.verdict == Verdict::Chosen)
            .map(|c| c.name)
            .collect();
        object(vec![
            ("enabled", Value::Bool(self.disabled_by.is_none())),
            ("disabledBy", text_or_null(self.disabled_by.as_deref())),
            ("requested", texts(&self.requested)),
            ("sources", texts(&chosen)),
            (
                "candidates",
                Value::Array(self.candidates.iter().map(candidate_value).collect()),
            ),
            ("drm", Value::Text(self.drm.clone())),
            (
                "cards",
                Value::Array(
                    self.cards
                        .iter()
                        .map(|c| {
                            object(vec![
                                ("id", Value::Text(c.id.clone())),
                                ("vendorId", Value::Text(c.vendor_id.clone())),
                                ("vendor", vendor(&c.vendor_id)),
                                ("driver", text_or_null(c.driver.as_deref())),
                                (
                                    "busyPercent",
                                    c.busy_percent.map_or(Value::Null, Value::Float),
                                ),
                            ])
                        })
                        .collect(),
                ),
            ),
            (
                "displays",
                Value::Array(
                    self.displays
                        .iter()
                        .map(|d| {
                            object(vec![
                                ("address", Value::Text(d.address.clone())),
                                ("vendorId", Value::Text(d.vendor_id.clone())),
                                ("vendor", vendor(&d.vendor_id)),
                            ])
                        })
                        .collect(),
                ),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    use crate::test_tree::write;

    fn settings(root: &Path, collectors: &[&str]) -> Settings {
        let mut s = Settings {
            roots: Roots::under(root),
            gpu_collector: collectors.iter().map(|c| c.to_string()).collect(),
            ..Settings::default()
        };
        s.sensors_sys = s.roots.sys.clone();
        s
    }

    fn verdict<'a>(p: &'a GpuProbe, name: &str) -> &'a Verdict {
        &p.candidates
            .iter()
            .find(|c| c.name == name)
            .unwrap()
            .verdict
    }

    #[test]
    fn cards_vendors_and_verdicts_from_a_fixture_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "sys/class/drm/card0/device/vendor", "0x1002\n");
        write(root, "sys/class/drm/card0/device/gpu_busy_percent", "12\n");
        write(root, "sys/class/drm/card1/device/vendor", "0x8086\n");
        write(root, "sys/class/drm/card0-DP-1/status", "connected\n");
        std::fs::create_dir_all(root.join("sys/bus/pci/drivers/xe")).unwrap();
        std::os::unix::fs::symlink(
            root.join("sys/bus/pci/drivers/xe"),
            root.join("sys/class/drm/card1/device/driver"),
        )
        .unwrap();
        write(root, "sys/bus/pci/devices/0000:03:00.0/class", "0x030000\n");
        write(root, "sys/bus/pci/devices/0000:03:00.0/vendor", "0x10DE\n");
        write(root, "sys/bus/pci/devices/0000:00:1f.0/class", "0x060100\n");
        write(root, "sys/bus/pci/devices/0000:00:1f.0/vendor", "0x8086\n");

        let p = probe(&settings(root, &[]));
        assert_eq!(p.disabled_by, None);
        let ids: Vec<&str> = p.cards.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["card0", "card1"], "connectors are not cards");
        assert_eq!(p.cards[0].busy_percent, Some(12.0));
        assert_eq!(p.cards[1].driver.as_deref(), Some("xe"));
        assert_eq!(p.cards[1].busy_percent, None);
        assert_eq!(
            p.displays,
            [PciDisplay {
                address: "0000:03:00.0".into(),
                vendor_id: "0x10de".into()
            }]
        );
        assert_eq!(verdict(&p, "amd_sysfs"), &Verdict::Chosen);
        // the xe card has no energy counters: intel_sysfs is not taken without GPU_COLLECTOR
        assert!(matches!(verdict(&p, "intel_sysfs"), Verdict::Unusable(w) if w.contains("energy")));
        let json = p.to_value().to_json();
        assert!(json.contains(r#""vendor":"nvidia""#), "{json}");
        assert!(json.contains(r#""sources":["amd_sysfs"]"#), "{json}");

        // named: intel_sysfs reads any Intel card; amd_sysfs is not tried
        let p = probe(&settings(root, &["intel_sysfs"]));
        assert_eq!(verdict(&p, "intel_sysfs"), &Verdict::Chosen);
        assert_eq!(verdict(&p, "amd_sysfs"), &Verdict::NotListed);
        assert_eq!(
            p.candidates.len(),
            crate::settings::catalog::GPU_COLLECTORS.len()
        );

        // a named tool that is not installed says so
        let s = settings(root, &["amd_sysfs", "nvidia-smi"]);
        let p = probe(&s);
        assert!(matches!(verdict(&p, "nvidia-smi"), Verdict::Unusable(w) if w.contains("PATH")));

        let mut s = settings(root, &[]);
        s.skip_gpu = true;
        let p = probe(&s);
        assert_eq!(p.disabled_by.as_deref(), Some("SKIP_GPU=true"));
        assert!(p.candidates.is_empty());
        assert_eq!(p.cards.len(), 2, "the cards are still listed");
    }
}
