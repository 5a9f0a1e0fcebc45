//! node_exporter's `cpufreq` collector: each CPU's frequency and its limits from
//! /sys/devices/system/cpu/cpuN/cpufreq (kHz there, Hz here). Virtual machines usually have none.

use super::kept_files::KeptFiles;
use crate::metrics::MetricSet;
use crate::roots::Roots;

const FILES: [(&str, &str, &str); 6] = [
    (
        "cpuinfo_cur_freq",
        "node_cpu_frequency_hertz",
        "Current cpu thread frequency in hertz.",
    ),
    (
        "cpuinfo_min_freq",
        "node_cpu_frequency_min_hertz",
        "Minimum cpu thread frequency in hertz.",
    ),
    (
        "cpuinfo_max_freq",
        "node_cpu_frequency_max_hertz",
        "Maximum cpu thread frequency in hertz.",
    ),
    (
        "scaling_cur_freq",
        "node_cpu_scaling_frequency_hertz",
        "Current scaled CPU thread frequency in hertz.",
    ),
    (
        "scaling_min_freq",
        "node_cpu_scaling_frequency_min_hertz",
        "Minimum scaled CPU thread frequency in hertz.",
    ),
    (
        "scaling_max_freq",
        "node_cpu_scaling_frequency_max_hertz",
        "Maximum scaled CPU thread frequency in hertz.",
    ),
];

pub(super) fn families(roots: &Roots, files: &mut KeptFiles, set: &mut MetricSet) {
    for dir in files.sorted_matches(&roots.sys("devices/system/cpu"), "cpu[0-9]*") {
        let Some(cpu) = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("cpu"))
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_string)
        else {
            continue;
        };
        let cpufreq = dir.join("cpufreq");
        if !cpufreq.is_dir() {
            continue;
        }
        for (file, name, help) in FILES {
            // cpuinfo_cur_freq is readable by root only: left out otherwise, as there
            if let Some(khz) = files
                .attribute(&cpufreq.join(file))
                .and_then(|t| t.parse::<u64>().ok())
            {
                set.gauge(name, help)
                    .push(vec![("cpu", cpu.clone())], khz as f64 * 1000.0);
            }
        }
    }
}
