//! NVIDIA: NVML (libnvidia-ml loaded at run time through nvml-wrapper) and the `nvidia-smi` CSV
//! stream (spec §3.5). Both report memory as MiB/1.024 — Beszel's "MB" for NVIDIA (§1.6 trap).

use super::accumulator::Reading;
use nvml_wrapper::enum_wrappers::device::TemperatureSensor;
use nvml_wrapper::Nvml;
use nvml_wrapper_sys::bindings::{nvmlMemory_v2_t, nvmlReturn_enum_NVML_SUCCESS, NvmlLib};
use std::path::{Path, PathBuf};

/// Arguments of the long-lived `nvidia-smi` child (one CSV line per GPU every 4 s).
pub const NVIDIA_SMI_ARGS: &[&str] = &[
    "-l",
    "4",
    "--query-gpu=index,name,temperature.gpu,memory.used,memory.total,utilization.gpu,power.draw",
    "--format=csv,noheader,nounits",
];

/// NVIDIA's "MB" in Beszel is MiB/1.024.
const NVIDIA_MB_PER_MIB: f64 = 1.024;

/// "NVIDIA GeForce RTX 3050 Ti Laptop GPU" → "GeForce RTX 3050 Ti".
pub fn display_name(name: &str) -> String {
    let name = name.trim();
    let name = name.strip_prefix("NVIDIA ").unwrap_or(name);
    name.strip_suffix(" Laptop GPU").unwrap_or(name).to_string()
}

/// Go's `strconv.ParseFloat` with the error ignored: "[N/A]", "N/A" or garbage read as 0.
fn number(field: &str) -> f64 {
    field
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}

/// One line of the CSV stream; None for blank or short lines.
pub fn parse_smi_line(line: &str) -> Option<Reading> {
    let fields: Vec<&str> = line.trim_end_matches(['\r', '\n']).split(", ").collect();
    if fields.len() < 7 {
        return None;
    }
    let field = |i: usize| fields.get(i).copied().unwrap_or("");
    Some(Reading {
        id: field(0).trim().to_string(),
        name: display_name(field(1)),
        temperature: number(field(2)),
        memory_used: number(field(3)) / NVIDIA_MB_PER_MIB,
        memory_total: number(field(4)) / NVIDIA_MB_PER_MIB,
        usage: number(field(5)),
        power: number(field(6)),
        memory_in_nvidia_mb: true,
        ..Reading::default()
    })
}

/// The NVML session; polled by the sampler thread every 3 s.
pub struct NvmlSampler {
    nvml: Nvml,
    /// A second handle on the same library for `nvmlDeviceGetMemoryInfo_v2`, which nvml-wrapper
    /// 0.9 does not wrap. v1 counts the driver's reserved memory as used (about 615 MiB on an
    /// H200 with nothing running, where nvidia-smi says 0); v2, as Beszel HEAD uses, does not.
    v2: Option<NvmlLib>,
    sys: PathBuf,
}

impl NvmlSampler {
    /// Loads libnvidia-ml (the driver's `.so.1` first, then the dev symlink). None when the
    /// library is absent or finds no GPU: no NVIDIA collector, silently.
    pub fn open(sys: &Path) -> Option<NvmlSampler> {
        Self::try_open(sys).ok()
    }

    /// `open`, saying why not (for the probe).
    pub(crate) fn try_open(sys: &Path) -> Result<NvmlSampler, String> {
        let nvml = Nvml::builder()
            .lib_path(std::ffi::OsStr::new("libnvidia-ml.so.1"))
            .init()
            .or_else(|_| Nvml::init())
            .map_err(|e| format!("NVML (libnvidia-ml) did not load: {e}"))?;
        match nvml.device_count() {
            Ok(0) => return Err("NVML loaded but finds no GPU".into()),
            Err(e) => return Err(format!("NVML loaded but cannot count GPUs: {e}")),
            Ok(_) => {}
        }
        // SAFETY: loading the NVML library runs no code of ours; nvml-wrapper has just loaded and
        // initialised the same library, so this handle only adds a reference to it.
        let v2 = unsafe { NvmlLib::new("libnvidia-ml.so.1") }
            .ok()
            .filter(|lib| lib.nvmlDeviceGetMemoryInfo_v2.is_ok());
        Ok(NvmlSampler {
            nvml,
            v2,
            sys: sys.to_path_buf(),
        })
    }

    /// "driver 550.54.15, 2 GPUs": what the session sees.
    pub(crate) fn describe(&self) -> String {
        let count = self.nvml.device_count().unwrap_or(0);
        let driver = self
            .nvml
            .sys_driver_version()
            .map_or_else(|_| String::new(), |v| format!("driver {v}, "));
        format!("{driver}{count} GPU{}", if count == 1 { "" } else { "s" })
    }

    pub fn poll(&self) -> Vec<Reading> {
        let count = self.nvml.device_count().unwrap_or(0);
        let mut out = Vec::new();
        for index in 0..count {
            let Ok(device) = self.nvml.device_by_index(index) else {
                continue;
            };
            let name = display_name(&device.name().unwrap_or_else(|_| "GPU".into()));
            let mut reading = Reading {
                id: index.to_string(),
                name,
                memory_in_nvidia_mb: true,
                ..Reading::default()
            };
            // A runtime-suspended GPU is reported by name only: querying it would wake it.
            let asleep = device
                .pci_info()
                .ok()
                .is_some_and(|pci| runtime_suspended(&self.sys, &pci.bus_id));
            if !asleep {
                if let Ok(util) = device.utilization_rates() {
                    reading.usage = f64::from(util.gpu);
                    reading.temperature = device
                        .temperature(TemperatureSensor::Gpu)
                        .map_or(0.0, f64::from);
                    let memory = self
                        .memory_v2(&device)
                        .or_else(|| device.memory_info().ok().map(|mem| (mem.used, mem.total)));
                    if let Some((used, total)) = memory {
                        reading.memory_used = used as f64 / 1_048_576.0 / NVIDIA_MB_PER_MIB;
                        reading.memory_total = total as f64 / 1_048_576.0 / NVIDIA_MB_PER_MIB;
                    }
                    reading.power = device
                        .power_usage()
                        .map_or(0.0, |mw| f64::from(mw) / 1000.0);
                }
            }
            out.push(reading);
        }
        out
    }
}

impl NvmlSampler {
    /// (used, total) bytes from `nvmlDeviceGetMemoryInfo_v2`; None where the driver lacks it.
    fn memory_v2(&self, device: &nvml_wrapper::Device) -> Option<(u64, u64)> {
        let lib = self.v2.as_ref()?;
        let mut memory = nvmlMemory_v2_t {
            version: MEMORY_V2_VERSION,
            total: 0,
            reserved: 0,
            free: 0,
            used: 0,
        };
        // SAFETY: the device handle belongs to the initialised NVML session that outlives this
        // call, and `memory` is a properly sized, versioned v2 struct NVML writes into.
        let status = unsafe { lib.nvmlDeviceGetMemoryInfo_v2(device.handle(), &mut memory) };
        (status == nvmlReturn_enum_NVML_SUCCESS && memory.total > 0)
            .then_some((memory.used, memory.total))
    }
}

/// NVML_STRUCT_VERSION(Memory, 2): the struct's size with the version in the top byte.
const MEMORY_V2_VERSION: u32 = std::mem::size_of::<nvmlMemory_v2_t>() as u32 | (2 << 24);

/// NVML's bus id is "00000000:01:00.0" (8-digit domain); sysfs names it "0000:01:00.0".
pub fn sysfs_pci_name(bus_id: &str) -> String {
    let lower = bus_id.trim().to_ascii_lowercase();
    match lower.split_once(':') {
        Some((domain, rest)) if domain.len() > 4 => {
            let start = domain.len() - 4;
            format!("{}:{}", domain.get(start..).unwrap_or(domain), rest)
        }
        _ => lower,
    }
}

/// `power/runtime_status` other than active/resuming means the GPU sleeps; unreadable = awake.
pub fn runtime_suspended(sys: &Path, bus_id: &str) -> bool {
    let path = sys
        .join("bus/pci/devices")
        .join(sysfs_pci_name(bus_id))
        .join("power/runtime_status");
    match crate::roots::read_trimmed(&path) {
        Some(status) => !matches!(status.as_str(), "active" | "resuming"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written from nvidia-smi's documented `--format=csv,noheader,nounits` output: one line per
    /// GPU, fields joined by ", ", "[N/A]" where a query is not supported.
    const SMI: &str = "0, NVIDIA GeForce RTX 3050 Ti Laptop GPU, 48, 12, 4096, 0, 12.34\n\
                       1, NVIDIA A100-SXM4-40GB, 35, 4, 40960, 87, [N/A]\n\
                       \n\
                       2, Tesla T4, [N/A], [N/A], 15360, [N/A], 27.70\n\
                       broken line\n";

    #[test]
    fn nvidia_smi_csv() {
        let r: Vec<Reading> = SMI.lines().filter_map(parse_smi_line).collect();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].id, "0");
        assert_eq!(r[0].name, "GeForce RTX 3050 Ti");
        assert_eq!(r[0].temperature, 48.0);
        assert_eq!(r[0].power, 12.34);
        assert_eq!(r[1].name, "A100-SXM4-40GB");
        assert_eq!(r[1].usage, 87.0);
        assert_eq!(r[1].power, 0.0, "[N/A] reads as 0");
        assert_eq!(r[2].name, "Tesla T4");
        assert_eq!(r[2].temperature, 0.0);
        assert_eq!(r[2].memory_used, 0.0);
    }

    #[test]
    fn nvidia_memory_unit_trap() {
        let r = parse_smi_line("0, NVIDIA RTX 4090, 40, 1024, 24564, 5, 30.5").unwrap();
        // MiB / 1.024, as Beszel sends it: 1024 MiB → 1000 "MB".
        assert_eq!(r.memory_used, 1000.0);
        assert!((r.memory_total - 23988.28125).abs() < 1e-9);
    }

    /// Real output, captured on an H200 (idle, then a bf16 matmul loop).
    #[test]
    fn nvidia_smi_h200_capture() {
        let text = include_str!("../../../tests/fixtures/gpu/nvidia-smi/h200-loop.csv");
        let r: Vec<Reading> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(parse_smi_line)
            .collect();
        assert_eq!(r.len(), 10);
        assert!(r.iter().all(|g| g.id == "0" && g.name == "H200"));
        assert!(
            (r[0].memory_total - 140401.3671875).abs() < 1e-6,
            "143771 MiB / 1.024"
        );
        assert_eq!(
            (r[0].usage, r[0].memory_used, r[0].power),
            (0.0, 0.0, 78.31)
        );
        assert_eq!(
            (r[9].usage, r[9].temperature, r[9].power),
            (94.0, 56.0, 686.99)
        );
        assert!((r[9].memory_used - 975.0 / 1.024).abs() < 1e-9);
    }

    #[test]
    fn nvml_memory_v2_struct_version() {
        // nvml.h: nvmlMemory_v2 = NVML_STRUCT_VERSION(Memory, 2) = sizeof(nvmlMemory_v2_t) | 2 << 24
        assert_eq!(MEMORY_V2_VERSION, 40 | (2 << 24));
    }

    #[test]
    fn pci_bus_id_to_sysfs() {
        assert_eq!(sysfs_pci_name("00000000:01:00.0"), "0000:01:00.0");
        assert_eq!(sysfs_pci_name("0000:0A:00.0"), "0000:0a:00.0");
    }

    #[test]
    fn suspended_gpu_detected_from_sysfs() {
        let dir = tempfile::tempdir().unwrap();
        let dev = dir.path().join("bus/pci/devices/0000:01:00.0/power");
        std::fs::create_dir_all(&dev).unwrap();
        std::fs::write(dev.join("runtime_status"), "suspended\n").unwrap();
        assert!(runtime_suspended(dir.path(), "00000000:01:00.0"));
        std::fs::write(dev.join("runtime_status"), "active\n").unwrap();
        assert!(!runtime_suspended(dir.path(), "00000000:01:00.0"));
        assert!(!runtime_suspended(dir.path(), "00000000:02:00.0"));
    }

    fn real_sampler() -> NvmlSampler {
        NvmlSampler::open(Path::new("/sys")).expect("libnvidia-ml and an NVIDIA GPU")
    }

    /// scripts/test.sh runs it with `--ignored` where /dev/nvidia0 and libnvidia-ml.so.1 exist.
    #[test]
    #[ignore = "needs an NVIDIA GPU and libnvidia-ml"]
    fn nvml_on_real_gpu() {
        let started = std::time::Instant::now();
        let sampler = real_sampler();
        let opened = started.elapsed();
        let t = std::time::Instant::now();
        let readings = sampler.poll();
        let took = t.elapsed();
        eprintln!("NVML open {opened:?}, one poll {took:?}: {readings:#?}");
        assert!(!readings.is_empty());
        for r in &readings {
            assert!(!r.name.is_empty());
            assert!(r.memory_total > 0.0, "{r:?}");
            assert!((0.0..=100.0).contains(&r.usage));
            assert!(r.temperature > 0.0 && r.temperature < 120.0, "{r:?}");
        }
    }

    /// NVML and nvidia-smi must agree on memory used (v1 NVML counted reserved memory: +615 MiB
    /// on an idle H200), so switching GPU_COLLECTOR does not move the chart. scripts/test.sh
    /// runs it where nvml_on_real_gpu runs and nvidia-smi is on PATH.
    #[test]
    #[ignore = "needs an NVIDIA GPU, libnvidia-ml and nvidia-smi"]
    fn nvml_and_nvidia_smi_agree_on_memory_used() {
        let readings = real_sampler().poll();
        let out = std::process::Command::new("nvidia-smi")
            .args(["--query-gpu=memory.used", "--format=csv,noheader,nounits"])
            .output()
            .expect("nvidia-smi on PATH");
        assert!(out.status.success(), "nvidia-smi: {:?}", out.status);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.lines().count(), readings.len(), "{text}");
        for (line, r) in text.lines().zip(&readings) {
            let smi_mib: f64 = line.trim().parse().unwrap_or(f64::NAN);
            let nvml_mib = r.memory_used * 1.024;
            eprintln!("memory used: NVML {nvml_mib:.1} MiB, nvidia-smi {smi_mib} MiB");
            assert!((nvml_mib - smi_mib).abs() < 64.0, "{nvml_mib} vs {smi_mib}");
        }
    }
}
