//! GPUs (spec §1.6, §2.7, §3.5). Samplers run on their own threads — sysfs and NVML polled every
//! 3 s, `nvidia-smi` and `intel_gpu_top` as supervised children — and push readings into one
//! accumulator; `sample(ct)` only reads it, so a hub request never waits on a GPU.
//!
//! Collector choice follows Beszel HEAD: `GPU_COLLECTOR` is a priority list, at most one collector
//! per vendor; unset means NVML, else nvidia-smi, for NVIDIA; intel_gpu_top (unless a card uses
//! the `xe` driver), else intel sysfs with energy counters, for Intel; amd sysfs for AMD cards.
//! rocm-smi, nvtop, tegrastats and the Apple tools are not implemented.

pub mod accumulator;
pub mod intel_top;
pub mod nvidia;
pub mod sysfs;

pub use accumulator::{Accumulator, GpuData, Reading};

use crate::collect::child;
use crate::roots::Roots;
use crate::settings::catalog::GPU_COLLECTORS;
use crate::settings::Settings;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How often sysfs and NVML are polled.
pub const POLL_EVERY: Duration = Duration::from_secs(3);
/// A child that printed nothing for this long is restarted (intel_gpu_top is known to freeze
/// after hours: Beszel issues #1466, #1202).
pub const SILENCE_LIMIT: Duration = Duration::from_secs(30);
/// Wait before restarting a child that died.
pub const RESTART_WAIT: Duration = Duration::from_secs(5);
/// A child that dies this many times in a row without printing anything is given up.
pub const MAX_SILENT_FAILURES: u32 = 5;

/// How nvidia-smi and intel_gpu_top are kept running.
const SUPERVISION: child::Supervision = child::Supervision {
    silence_limit: SILENCE_LIMIT,
    restart_wait: RESTART_WAIT,
    max_silent_failures: MAX_SILENT_FAILURES,
};

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Nvml,
    NvidiaSmi(PathBuf),
    IntelGpuTop(PathBuf),
    IntelSysfs,
    AmdSysfs,
}

impl Source {
    fn vendor(&self) -> &'static str {
        match self {
            Source::Nvml | Source::NvidiaSmi(_) => "nvidia",
            Source::IntelGpuTop(_) | Source::IntelSysfs => "intel",
            Source::AmdSysfs => "amd",
        }
    }

    /// Its name in `GPU_COLLECTOR`.
    pub fn name(&self) -> &'static str {
        match self {
            Source::Nvml => "nvml",
            Source::NvidiaSmi(_) => "nvidia-smi",
            Source::IntelGpuTop(_) => "intel_gpu_top",
            Source::IntelSysfs => "intel_sysfs",
            Source::AmdSysfs => "amd_sysfs",
        }
    }
}

/// Why detection took a candidate collector or not.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Chosen,
    /// Usable, but the named collector, earlier in the list, already covers its vendor.
    Covered(&'static str),
    /// Not usable here: why.
    Unusable(String),
    /// `GPU_COLLECTOR` is set and does not name it: not tried.
    NotListed,
}

/// One candidate of the detection, in the order tried.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub name: &'static str,
    pub verdict: Verdict,
    /// What it found: the executable, NVML's driver and GPU count, the cards read.
    pub found: Option<String>,
}

/// What `detect` decided; the collector starts `sources`, the probe reports `candidates`.
pub(crate) struct Detection {
    pub sources: Vec<Source>,
    pub candidates: Vec<Candidate>,
    pub nvml: Option<nvidia::NvmlSampler>,
}

fn card_ids(cards: &[sysfs::Card]) -> String {
    cards
        .iter()
        .map(|c| c.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One candidate tried: the source it gives, or why not, and what it found.
fn try_candidate(
    name: &'static str,
    settings: &Settings,
    nvml: &mut Option<nvidia::NvmlSampler>,
) -> (Result<Source, String>, Option<String>) {
    let roots = &settings.roots;
    let explicit = !settings.gpu_collector.is_empty();
    let display = |path: &Path| Some(path.display().to_string());
    match name {
        "nvml" if !settings.nvml => (Err("NVML=false: NVML is not loaded".into()), None),
        "nvml" => match nvidia::NvmlSampler::try_open(&roots.sys) {
            Ok(sampler) => {
                let found = Some(sampler.describe());
                *nvml = Some(sampler);
                (Ok(Source::Nvml), found)
            }
            Err(why) => (Err(why), None),
        },
        "nvidia-smi" => match on_path("nvidia-smi") {
            Some(path) => (Ok(Source::NvidiaSmi(path.clone())), display(&path)),
            None => (Err("nvidia-smi is not on PATH".into()), None),
        },
        "intel_gpu_top" => match on_path("intel_gpu_top") {
            None => (Err("intel_gpu_top is not on PATH".into()), None),
            Some(path) if !explicit && sysfs::any_card_uses_driver(roots, "xe") => (
                Err("a card uses the xe driver, which intel_gpu_top does not read (unless GPU_COLLECTOR names it)".into()),
                display(&path),
            ),
            Some(path) => (Ok(Source::IntelGpuTop(path.clone())), display(&path)),
        },
        "intel_sysfs" => {
            let cards = sysfs::cards(roots, sysfs::VENDOR_INTEL);
            let found = (!cards.is_empty()).then(|| card_ids(&cards));
            if cards.is_empty() {
                let drm = roots.sys("class/drm");
                let why = format!("no Intel card (vendor {}) in {}", sysfs::VENDOR_INTEL, drm.display());
                return (Err(why), found);
            }
            let with_energy = cards
                .iter()
                .any(|c| sysfs::intel_energy_hwmon(&c.device).is_some());
            if explicit || with_energy {
                (Ok(Source::IntelSysfs), found)
            } else {
                let why = "no Intel card has hwmon energy counters (energy1_input); GPU_COLLECTOR=intel_sysfs reads them without";
                (Err(why.into()), found)
            }
        }
        "amd_sysfs" => {
            let cards = sysfs::cards(roots, sysfs::VENDOR_AMD);
            if cards.is_empty() {
                let drm = roots.sys("class/drm");
                let why = format!("no AMD card (vendor {}) in {}", sysfs::VENDOR_AMD, drm.display());
                (Err(why), None)
            } else {
                (Ok(Source::AmdSysfs), Some(card_ids(&cards)))
            }
        }
        other => (Err(format!("{other} is not implemented")), None),
    }
}

/// The collectors to run, at most one per vendor, in priority order (see the module comment),
/// and the verdict on every candidate. Opens NVML when it is a candidate; starts nothing.
pub(crate) fn detect(settings: &Settings) -> Detection {
    let mut nvml: Option<nvidia::NvmlSampler> = None;
    let mut sources: Vec<Source> = Vec::new();
    let mut candidates_seen = Vec::new();
    for name in candidates(&settings.gpu_collector) {
        let (outcome, found) = try_candidate(name, settings, &mut nvml);
        let verdict = match outcome {
            Err(why) => Verdict::Unusable(why),
            Ok(source) => match sources.iter().find(|s| s.vendor() == source.vendor()) {
                Some(earlier) => Verdict::Covered(earlier.name()),
                None => {
                    sources.push(source);
                    Verdict::Chosen
                }
            },
        };
        candidates_seen.push(Candidate {
            name,
            verdict,
            found,
        });
    }
    for name in GPU_COLLECTORS {
        if candidates_seen.iter().all(|c| c.name != *name) {
            candidates_seen.push(Candidate {
                name,
                verdict: Verdict::NotListed,
                found: None,
            });
        }
    }
    if !sources.contains(&Source::Nvml) {
        nvml = None;
    }
    Detection {
        sources,
        candidates: candidates_seen,
        nvml,
    }
}

/// What the GPU part of one payload holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GpuSample {
    /// GPU id → data (`Stats.g`).
    pub gpus: Vec<(String, GpuData)>,
    /// Whether a GPU collector runs (Beszel resets `Info.g` only then).
    pub active: bool,
}

impl GpuSample {
    /// `Info.g`: the highest usage.
    pub fn max_usage(&self) -> f64 {
        self.gpus.iter().map(|(_, g)| g.usage).fold(0.0, f64::max)
    }

    /// (name, °C) of GPUs with a temperature, for `Stats.t`.
    pub fn temperatures(&self) -> Vec<(String, f64)> {
        self.gpus
            .iter()
            .filter(|(_, g)| g.temperature > 0.0)
            .map(|(_, g)| (g.name.clone(), g.temperature))
            .collect()
    }
}

/// Adds GPU temperatures to the sensor readings and applies the dashboard rules of spec §3.4:
/// PRIMARY_SENSOR may name a GPU; with no dashboard value yet, the hottest GPU.
pub fn merge_temperatures(
    readings: &mut Vec<(String, f64)>,
    dashboard: &mut f64,
    primary: Option<&str>,
    gpu_temps: &[(String, f64)],
) {
    for (name, t) in gpu_temps {
        match readings.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = *t,
            None => readings.push((name.clone(), *t)),
        }
        if primary == Some(name.as_str()) {
            *dashboard = *t;
        }
    }
    if *dashboard == 0.0 {
        *dashboard = gpu_temps.iter().map(|(_, t)| *t).fold(0.0, f64::max);
    }
}

struct Shared {
    acc: Mutex<Accumulator>,
    stop: AtomicBool,
}

pub struct GpuCollector {
    shared: Option<Arc<Shared>>,
    pub sources: Vec<Source>,
}

impl Drop for GpuCollector {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            shared.stop.store(true, Ordering::Relaxed);
        }
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|dir| super::child::executable_in(&dir, name))
}

/// The candidates in priority order: the `GPU_COLLECTOR` list, or the default order.
pub fn candidates(list: &[String]) -> Vec<&'static str> {
    if list.is_empty() {
        return GPU_COLLECTORS.to_vec();
    }
    list.iter()
        .filter_map(|n| GPU_COLLECTORS.iter().copied().find(|c| c == n))
        .collect()
}

impl GpuCollector {
    /// No GPU collection (SKIP_GPU, or tests).
    pub fn disabled() -> GpuCollector {
        GpuCollector {
            shared: None,
            sources: Vec::new(),
        }
    }

    /// Detects the collectors and starts their threads.
    pub fn new(settings: &Settings) -> GpuCollector {
        if settings.skip_gpu {
            return GpuCollector::disabled();
        }
        let roots = settings.roots.clone();
        let Detection { sources, nvml, .. } = detect(settings);
        if sources.is_empty() {
            return GpuCollector::disabled();
        }
        let shared = Arc::new(Shared {
            acc: Mutex::new(Accumulator::default()),
            stop: AtomicBool::new(false),
        });
        start_pollers(&shared, &sources, roots, nvml);
        for source in &sources {
            match source {
                Source::NvidiaSmi(path) => {
                    let args: Vec<String> = nvidia::NVIDIA_SMI_ARGS
                        .iter()
                        .map(|a| a.to_string())
                        .collect();
                    spawn_supervised(&shared, path.clone(), args, |acc, line, _| {
                        if let Some(r) = nvidia::parse_smi_line(line) {
                            acc.push(r);
                        }
                    });
                }
                Source::IntelGpuTop(path) => {
                    let args = intel_top::args(settings.intel_gpu_device.as_deref());
                    let mut split = intel_top::ObjectSplitter::default();
                    let mut seen = 0u64;
                    spawn_supervised(&shared, path.clone(), args, move |acc, line, first| {
                        // A restarted child starts a new stream.
                        if first {
                            split = intel_top::ObjectSplitter::default();
                            seen = 0;
                        }
                        for obj in split.feed(line) {
                            seen += 1;
                            // The first period covers start-up: skipped, as Beszel does.
                            if seen > 1 {
                                if let Some(r) = intel_top::parse_period(&obj) {
                                    acc.push(r);
                                }
                            }
                        }
                    });
                }
                _ => {}
            }
        }
        GpuCollector {
            shared: Some(shared),
            sources,
        }
    }

    /// How many cache times keep averaging windows.
    pub fn windows(&self) -> usize {
        self.shared
            .as_ref()
            .map_or(0, |shared| shared.accumulator().windows())
    }

    /// Every GPU's last reading (for Prometheus); never blocks on a GPU.
    pub fn latest(&self) -> Vec<accumulator::Reading> {
        self.shared
            .as_ref()
            .map_or_else(Vec::new, |shared| shared.accumulator().latest())
    }

    /// Averages since the previous call for this cache time; never blocks on a GPU.
    pub fn sample(&mut self, ct: u16) -> GpuSample {
        let Some(shared) = &self.shared else {
            return GpuSample::default();
        };
        let gpus = shared.accumulator().current(ct);
        GpuSample { gpus, active: true }
    }
}

impl Shared {
    /// The accumulator, also after a sampler thread panicked while holding it.
    fn accumulator(&self) -> MutexGuard<'_, Accumulator> {
        self.acc
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

fn push_all(shared: &Shared, readings: Vec<Reading>) {
    let mut acc = shared.accumulator();
    for r in readings {
        acc.push(r);
    }
}

/// Sleeps `total` in short steps; false when asked to stop.
fn sleep_unless_stopped(shared: &Shared, total: Duration) -> bool {
    child::sleep_unless(total, &|| shared.stopped())
}

fn start_pollers(
    shared: &Arc<Shared>,
    sources: &[Source],
    roots: Roots,
    nvml: Option<nvidia::NvmlSampler>,
) {
    let amd = sources.contains(&Source::AmdSysfs);
    let intel = sources.contains(&Source::IntelSysfs);
    if !amd && !intel && nvml.is_none() {
        return;
    }
    let shared = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("sonar-gpu-poll".into())
        .spawn(move || {
            let mut names = HashMap::new();
            let mut intel_state = sysfs::IntelSysfs::default();
            let mut cards_at: Option<Instant> = None;
            let (mut amd_cards, mut intel_cards) = (Vec::new(), Vec::new());
            loop {
                let now = Instant::now();
                // Cards come and go (hotplug, driver reload): re-list them every minute.
                if cards_at.is_none_or(|t| now.duration_since(t) > Duration::from_secs(60)) {
                    if amd {
                        amd_cards = sysfs::cards(&roots, sysfs::VENDOR_AMD);
                    }
                    if intel {
                        intel_cards = sysfs::cards(&roots, sysfs::VENDOR_INTEL);
                    }
                    cards_at = Some(now);
                }
                let mut readings = Vec::new();
                if let Some(nvml) = &nvml {
                    readings.extend(nvml.poll());
                }
                readings.extend(sysfs::poll_amd(&roots, &amd_cards, &mut names));
                readings.extend(intel_state.poll(&intel_cards, now));
                push_all(&shared, readings);
                if !sleep_unless_stopped(&shared, POLL_EVERY) {
                    break;
                }
            }
        });
    drop(spawned);
}

/// Runs `program args` under supervision (restarted when it exits or goes silent for
/// SILENCE_LIMIT, given up after MAX_SILENT_FAILURES runs in a row that printed nothing) and
/// feeds each output line to `on_line`, flagged when it is the first line of a run.
fn spawn_supervised(
    shared: &Arc<Shared>,
    program: PathBuf,
    args: Vec<String>,
    mut on_line: impl FnMut(&mut Accumulator, &str, bool) + Send + 'static,
) {
    let for_stop = shared.clone();
    let for_lines = shared.clone();
    let spawned = child::supervise(
        "sonar-gpu-child",
        program,
        args,
        SUPERVISION,
        move || for_stop.stopped(),
        move |line, first| on_line(&mut for_lines.accumulator(), line, first),
    );
    drop(spawned);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn temperatures_merge_and_dashboard() {
        let gpus = vec![("RTX".to_string(), 70.0), ("RX".to_string(), 55.0)];
        let mut t = vec![("cpu".to_string(), 40.0)];
        let mut dash = 40.0;
        merge_temperatures(&mut t, &mut dash, None, &gpus);
        assert_eq!(t.len(), 3);
        assert_eq!(dash, 40.0, "a sensor already set it");
        let mut dash = 0.0;
        merge_temperatures(&mut Vec::new(), &mut dash, None, &gpus);
        assert_eq!(dash, 70.0, "hottest GPU when no sensor");
        let mut dash = 40.0;
        merge_temperatures(&mut Vec::new(), &mut dash, Some("RX"), &gpus);
        assert_eq!(dash, 55.0, "PRIMARY_SENSOR names a GPU");
    }

    #[test]
    fn collector_priority_list() {
        assert_eq!(candidates(&[]).first(), Some(&"nvml"));
        let list = vec!["amd_sysfs".to_string(), "nvidia-smi".to_string()];
        assert_eq!(candidates(&list), ["amd_sysfs", "nvidia-smi"]);
    }

    fn fake_tool(dir: &Path, name: &str, script: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn shared() -> Arc<Shared> {
        Arc::new(Shared {
            acc: Mutex::new(Accumulator::default()),
            stop: AtomicBool::new(false),
        })
    }

    #[test]
    fn child_lines_reach_the_accumulator() {
        let dir = tempfile::tempdir().unwrap();
        let smi = fake_tool(
            dir.path(),
            "nvidia-smi",
            "echo '0, NVIDIA GeForce RTX 4090, 45, 1024, 24564, 50, 100.5'\n\
             echo '0, NVIDIA GeForce RTX 4090, 47, 2048, 24564, 70, 200.5'",
        );
        let shared = shared();
        let printed = child::run_streaming(
            &smi,
            &[],
            Duration::from_secs(5),
            &|| shared.stopped(),
            &mut |line: &str, _| {
                if let Some(r) = nvidia::parse_smi_line(line) {
                    shared.accumulator().push(r);
                }
            },
        );
        assert!(printed);
        let gpus = shared.acc.lock().unwrap().current(60000);
        assert_eq!(gpus[0].1.name, "GeForce RTX 4090");
        assert_eq!(gpus[0].1.usage, 60.0);
        assert_eq!(gpus[0].1.power, 150.5);
        assert_eq!(gpus[0].1.temperature, 47.0);
        assert_eq!(gpus[0].1.memory_used, 2000.0);
    }

    /// Through the supervision thread: lines reach the accumulator, and stop ends it.
    #[test]
    fn supervised_tool_feeds_the_accumulator() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let smi = fake_tool(
            dir.path(),
            "nvidia-smi",
            &format!(
                "echo $$ > {}\n\
                 echo '0, NVIDIA GeForce RTX 4090, 45, 1024, 24564, 50, 100.5'\n\
                 exec sleep 60",
                pid_file.display()
            ),
        );
        let shared = shared();
        spawn_supervised(&shared, smi, Vec::new(), |acc, line, _| {
            if let Some(r) = nvidia::parse_smi_line(line) {
                acc.push(r);
            }
        });
        let started = Instant::now();
        while shared.accumulator().is_empty() && started.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(20));
        }
        shared.stop.store(true, Ordering::Relaxed);
        let gpus = shared.accumulator().current(60000);
        assert_eq!(gpus[0].1.name, "GeForce RTX 4090");
        assert_eq!(gpus[0].1.usage, 50.0);
        // Stopped means killed and reaped (a zombie keeps its /proc entry).
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let proc_entry = Path::new("/proc").join(pid.trim());
        let stopping = Instant::now();
        while proc_entry.exists() && stopping.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!proc_entry.exists(), "the tool outlived its stop");
    }

    #[test]
    fn skip_gpu_and_no_gpu_here() {
        let settings = Settings {
            skip_gpu: true,
            ..Settings::default()
        };
        let mut c = GpuCollector::new(&settings);
        assert!(c.sources.is_empty());
        assert_eq!(c.sample(60000), GpuSample::default());
    }

    /// This VM has no GPU, no NVIDIA library and no GPU tools: nothing starts, nothing is sent.
    #[test]
    fn plausible_on_this_machine() {
        let mut c = GpuCollector::new(&Settings::default());
        let s = c.sample(60000);
        eprintln!("GPU sources here: {:?}, sample: {s:?}", c.sources);
        if c.sources.is_empty() {
            assert!(s.gpus.is_empty());
            assert!(!s.active);
        }
        for (_, g) in &s.gpus {
            assert!(!g.name.is_empty());
            assert!((0.0..=100.0).contains(&g.usage));
        }
    }
}
