//! Host facts on fixture /proc and /sys trees (spec §1.3), and against this machine.
//! The Linux collectors read kernel files; elsewhere they fall back to sysinfo.
#![cfg(target_os = "linux")]

use std::path::PathBuf;

use sonar_core::collect::system::{
    cpu_model, load_avg, logical_cpus, physical_cores, uptime_secs, HostInfo,
};
use sonar_core::roots::Roots;

fn fixture(case: &str) -> Roots {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/system")
        .join(case);
    Roots::under(&dir)
}

fn counts(case: &str) -> (u64, u64) {
    let info = HostInfo::read(&fixture(case));
    (info.cores, info.threads)
}

#[test]
fn lxc_cpu_count() {
    // sysfs shows the host's 8 cores, lxcfs's cpuinfo the container's 2 CPUs.
    let roots = fixture("lxc");
    assert_eq!(physical_cores(&roots, None), 8);
    let cpuinfo = std::fs::read_to_string(roots.proc("cpuinfo")).unwrap();
    assert_eq!(logical_cpus(&roots, Some(&cpuinfo)), 2);
    let info = HostInfo::read(&roots);
    assert_eq!((info.cores, info.threads), (2, 0));
    assert_eq!(info.cpu_model, "AMD EPYC 7B13 64-Core Processor");
    assert_eq!(info.kernel, "6.8.12-4-pve");
}

#[test]
fn hyper_threaded_cores_and_threads() {
    assert_eq!(counts("ht"), (4, 8));
    let info = HostInfo::read(&fixture("ht"));
    assert_eq!(info.cpu_model, "Intel(R) Core(TM) i7-4770 CPU @ 3.40GHz");
}

#[test]
fn physical_cores_from_cpuinfo_without_sysfs() {
    // Two sockets × "cpu cores: 4", 16 processors.
    assert_eq!(counts("cpuinfo_sockets"), (8, 16));
}

#[test]
fn threads_from_proc_stat_without_cpuinfo() {
    assert_eq!(counts("stat_only"), (0, 3));
    let info = HostInfo::read(&fixture("stat_only"));
    assert_eq!(info.cpu_model, "");
}

#[test]
fn arm64_cpuinfo_without_model_name() {
    let info = HostInfo::read(&fixture("arm64"));
    assert_eq!(info.cpu_model, "Cortex-A72");
    assert_eq!((info.cores, info.threads), (4, 4));
}

#[test]
fn arm64_processor_header_with_other_implementer() {
    let info = HostInfo::read(&fixture("arm64_processor_header"));
    assert_eq!(info.cpu_model, "AArch64 Processor rev 4 (aarch64)");
    assert_eq!(info.threads, 2);
}

#[test]
fn cpu_model_variants() {
    // armv7: the ARM part name wins over "model name", as gopsutil applies it later.
    let armv7 = "processor\t: 0\nmodel name\t: ARMv7 Processor rev 5 (v7l)\nBogoMIPS\t: 38.40\n\
                 CPU implementer\t: 0x41\nCPU architecture: 7\nCPU part\t: 0xc07\n\n\
                 processor\t: 1\nmodel name\t: other\n";
    assert_eq!(cpu_model(armv7), "Cortex-A7");
    let unknown_part = "processor : 0\nCPU implementer : 0x41\nCPU part : 0xfff\n";
    assert_eq!(cpu_model(unknown_part), "Undefined");
    let power = "processor\t: 0\ncpu\t\t: POWER9 (architected), altivec supported\nclock\t\t: 2200.000000MHz\n";
    assert_eq!(cpu_model(power), "POWER9 (architected), altivec supported");
    let riscv = "processor\t: 0\nhart\t\t: 1\nisa\t\t: rv64imafdc\nmmu\t\t: sv39\nuarch\t\t: sifive,u74-mc\n";
    assert_eq!(cpu_model(riscv), "sifive,u74-mc");
    // Only the first CPU counts, and a colon inside the value is kept.
    let two = "processor : 0\nmodel name : A: first\n\nprocessor : 1\nmodel name : B\n";
    assert_eq!(cpu_model(two), "A: first");
    // Fields before the first "processor" line belong to no CPU.
    assert_eq!(cpu_model("model name : header\nprocessor : 0\n"), "");
    assert_eq!(cpu_model(""), "");
}

#[test]
fn uptime_and_load_from_fixture() {
    let roots = fixture("lxc");
    assert_eq!(uptime_secs(&roots), 86400);
    assert_eq!(load_avg(&roots), [0.52, 1.07, 2.30]);
}

#[test]
fn missing_files_fall_back_to_the_kernel() {
    let dir = tempfile::tempdir().unwrap();
    let roots = Roots::under(dir.path());
    // sysinfo(2) and uname answer when the files are missing.
    assert!(uptime_secs(&roots) > 0);
    assert!(load_avg(&roots).iter().all(|l| l.is_finite() && *l >= 0.0));
    let info = HostInfo::read(&roots);
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(info.kernel, release.trim());
    assert_eq!((info.cores, info.threads), (0, 0));
    assert_eq!(info.cpu_model, "");
}

#[test]
fn plausible_on_this_machine() {
    let roots = Roots::default();
    let info = HostInfo::read(&roots);

    let nproc = std::process::Command::new("nproc")
        .arg("--all")
        .output()
        .unwrap();
    let nproc: u64 = String::from_utf8(nproc.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(info.cores >= 1);
    if info.threads == 0 {
        assert_eq!(info.cores, nproc); // the LXC rule applied
    } else {
        assert_eq!(info.threads, nproc);
        assert!(info.cores <= info.threads);
    }
    assert!(!info.cpu_model.is_empty());

    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(info.kernel, release.trim());
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(info.hostname, hostname.trim());

    let proc_uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let up = uptime_secs(&roots);
    assert!(
        (up as f64 - proc_uptime).abs() < 5.0,
        "{up} vs {proc_uptime}"
    );

    let load = load_avg(&roots);
    let proc_load: Vec<f64> = std::fs::read_to_string("/proc/loadavg")
        .unwrap()
        .split_whitespace()
        .take(3)
        .map(|v| v.parse().unwrap())
        .collect();
    for (a, b) in load.iter().zip(&proc_load) {
        assert!((a - b).abs() < 1.0, "{load:?} vs {proc_load:?}");
    }
}
