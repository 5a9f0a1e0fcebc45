//! Memory collector on fixture /proc trees (spec §3.1). KiB figures in the comments are the
//! fixture values; 1 GiB = 1 048 576 KiB.
//! The Linux collectors read kernel files; elsewhere they fall back to sysinfo.
#![cfg(target_os = "linux")]

use std::path::PathBuf;

use sonar_core::collect::memory::{
    compute_usage, meminfo_from_text, parse_arc_size, MemInfo, MemoryCollector, MemoryUsage,
};
use sonar_core::roots::Roots;

fn fixture(case: &str) -> Roots {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/memory")
        .join(case);
    Roots::under(&dir)
}

fn sample(case: &str, htop: bool) -> MemoryUsage {
    MemoryCollector::new(&fixture(case), htop).sample()
}

#[test]
fn normal_meminfo() {
    let m = sample("normal", false);
    assert_eq!(m.total, 15.63); // 16 384 000 KiB = 15.625 GiB, rounded half away from zero
    assert_eq!(m.used, 7.81); // Total − MemAvailable = 8 192 000 KiB
    assert_eq!(m.pct, 50.0);
    // Cached 5 120 000 + SReclaimable 409 600 + Buffers 512 000 − Shmem 256 000 = 5 785 600 KiB
    assert_eq!(m.buff_cache, 5.52);
    assert_eq!(m.zfs_arc, 0.0);
    assert_eq!(m.swap_total, 4.0);
    // SwapTotal 4 194 304 − SwapFree 3 145 728 − SwapCached 10 240 = 1 038 336 KiB
    assert_eq!(m.swap_used, 0.99);
}

#[test]
fn htop_mode() {
    let m = sample("normal", true);
    // Total − Free − buff/cache = 16 384 000 − 2 048 000 − 5 785 600 = 8 550 400 KiB
    assert_eq!(m.used, 8.15);
    assert_eq!(m.pct, 52.19); // 52.1875
    assert_eq!(m.buff_cache, 5.52);
    assert_eq!(m.total, 15.63);
}

#[test]
fn shared_exceeds_cache_does_not_wrap() {
    // Shmem 600 000 KiB > Cached 20 000 + SReclaimable 5 000 + Buffers 1 000: v0.17 wrapped
    // this to ~17 billion GiB; the HEAD guards give 0.
    let m = sample("shared_exceeds_cache", false);
    assert_eq!(m.buff_cache, 0.0);
    assert_eq!(m.used, 0.81); // 850 000 KiB
    assert_eq!(m.pct, 85.0);
    let m = sample("shared_exceeds_cache", true);
    assert_eq!(m.buff_cache, 0.0);
    assert_eq!(m.used, 0.86); // 1 000 000 − 100 000 − 0
    assert_eq!(m.pct, 90.0);
}

#[test]
fn zfs_arc_subtracted() {
    let m = sample("zfs", false);
    assert_eq!(m.zfs_arc, 4.0);
    // 8 192 000 KiB used − 4 194 304 KiB of ARC = 3 997 696 KiB
    assert_eq!(m.used, 3.81);
    assert_eq!(m.pct, 24.4);
    assert_eq!(m.total, 15.63);
}

#[test]
fn zfs_arc_not_subtracted_when_not_smaller_than_used() {
    let info = MemInfo {
        total: 8 << 30,
        free: 1 << 30,
        available: 6 << 30,
        buffers: 0,
        cached: 1 << 30,
        ..MemInfo::default()
    };
    let m = compute_usage(&info, false, Some(3 << 30));
    assert_eq!((m.used, m.zfs_arc, m.pct), (2.0, 0.0, 25.0));
    let m = compute_usage(&info, false, Some(0));
    assert_eq!((m.used, m.zfs_arc), (2.0, 0.0));
    let m = compute_usage(&info, false, Some(1 << 30));
    assert_eq!((m.used, m.zfs_arc, m.pct), (1.0, 1.0, 12.5));
}

#[test]
fn zfs_is_decided_at_creation() {
    let dir = tempfile::tempdir().unwrap();
    let proc = dir.path().join("proc");
    std::fs::create_dir_all(proc.join("spl/kstat/zfs")).unwrap();
    let meminfo = fixture("normal").proc.join("meminfo");
    std::fs::copy(meminfo, proc.join("meminfo")).unwrap();
    let mut collector = MemoryCollector::new(&Roots::under(dir.path()), false);
    std::fs::write(
        proc.join("spl/kstat/zfs/arcstats"),
        "name type data\nsize 4 1073741824\n",
    )
    .unwrap();
    assert_eq!(collector.sample().zfs_arc, 0.0);
}

#[test]
fn arcstats_size_row() {
    let text = "13 1 0x01 1 2 3 4\nname type data\nc_max 4 99\nsize 4 1234\nhdr_size 4 5\n";
    assert_eq!(parse_arc_size(text), Some(1234));
    assert_eq!(parse_arc_size("name type data\nhdr_size 4 5\n"), None);
    assert_eq!(parse_arc_size("size 4\n"), None);
}

#[test]
fn no_swap() {
    let m = sample("no_swap", false);
    assert_eq!((m.swap_total, m.swap_used), (0.0, 0.0));
    assert_eq!(m.used, 7.81);
}

#[test]
fn swap_cached_larger_than_used_swap_saturates() {
    let info = MemInfo {
        total: 1 << 30,
        available: 1 << 29,
        swap_total: 1 << 30,
        swap_free: (1 << 30) - 1000,
        swap_cached: 5000,
        ..MemInfo::default()
    };
    assert_eq!(compute_usage(&info, false, None).swap_used, 0.0);
}

#[test]
fn old_kernel_without_memavailable() {
    // No MemAvailable, no Active(file)/SReclaimable: gopsutil takes Cached + Free as available.
    let m = sample("old_kernel", false);
    assert_eq!(m.used, 2.38); // 4 000 000 − 1 500 000 = 2 500 000 KiB
    assert_eq!(m.pct, 62.5);
    assert_eq!(m.buff_cache, 1.05); // 1 000 000 + 100 000 KiB
    assert_eq!((m.swap_total, m.swap_used), (0.95, 0.0));
}

#[test]
fn old_kernel_estimate_from_zoneinfo_watermarks() {
    let meminfo = "MemTotal: 4000000 kB\nMemFree: 500000 kB\nBuffers: 100000 kB\n\
                   Cached: 1000000 kB\nSReclaimable: 200000 kB\nActive(file): 600000 kB\n\
                   Inactive(file): 400000 kB\n";
    let zoneinfo = [
        "Node 0, zone   Normal",
        "  pages free     1000",
        "        min      500",
        "        low      1000",
        "        high     1500",
        "        protection: (0, 0)",
        "Node 0, zone    DMA32",
        "        low      2000",
    ]
    .join("\n");
    // low watermark = 3000 pages · 4 KiB = 12 000 KiB
    // free 500 000 − 12 000 + file 1 000 000 − 12 000 + SReclaimable 200 000 − 12 000
    let info = meminfo_from_text(meminfo, Some(&zoneinfo), 4096);
    assert_eq!(info.available, 1_664_000 * 1024);
    assert_eq!(info.cached, 1_200_000 * 1024);
    // Without zoneinfo: Free + Cached (with SReclaimable).
    let info = meminfo_from_text(meminfo, None, 4096);
    assert_eq!(info.available, 1_700_000 * 1024);
    // A watermark above everything clamps at 0 instead of wrapping.
    let info = meminfo_from_text(meminfo, Some("low 100000000\n"), 4096);
    assert_eq!(info.available, 0);
    assert_eq!(compute_usage(&info, false, None).pct, 100.0);
}

#[test]
fn missing_meminfo_degrades_to_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let m = MemoryCollector::new(&Roots::under(dir.path()), false).sample();
    assert_eq!(m, MemoryUsage::default());
}

#[test]
fn plausible_on_this_machine() {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kib = |key: &str| -> f64 {
        let line = text.lines().find(|l| l.starts_with(key)).unwrap();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    let m = MemoryCollector::new(&Roots::default(), false).sample();
    let gib = |k: f64| k / 1_048_576.0;
    assert!((m.total - gib(kib("MemTotal:"))).abs() <= 0.005);
    assert!(m.used > 0.0 && m.used < m.total);
    assert!(m.pct > 0.0 && m.pct < 100.0);
    let expected_pct = (kib("MemTotal:") - kib("MemAvailable:")) / kib("MemTotal:") * 100.0;
    assert!(
        (m.pct - expected_pct).abs() < 2.0,
        "{} vs {expected_pct}",
        m.pct
    );
    assert!(m.buff_cache >= 0.0 && m.buff_cache <= m.total);
    assert!((m.swap_total - gib(kib("SwapTotal:"))).abs() <= 0.005);
    assert!(m.swap_used <= m.swap_total);
}
