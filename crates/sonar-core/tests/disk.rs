//! The disk collector against this machine's real /proc, /sys and statvfs: plausibility only
//! (the exact algorithms are pinned by the fixture tests in `src/collect/disk/tests.rs`).

use sonar_core::collect::disk::DiskCollector;
use sonar_core::Settings;
use std::ffi::CString;
use std::time::{Duration, Instant};

fn statvfs_root_gib() -> (f64, f64, f64) {
    let path = CString::new("/").unwrap();
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::statvfs(path.as_ptr(), &mut st) }, 0);
    let frsize = st.f_frsize as f64;
    let total = st.f_blocks as f64 * frsize;
    let used = (st.f_blocks - st.f_bfree) as f64 * frsize;
    let avail = st.f_bavail as f64 * frsize;
    let gib = 1024.0 * 1024.0 * 1024.0;
    (total / gib, used / gib, used / (used + avail) * 100.0)
}

/// The device mounted at `/` according to the kernel, e.g. "/dev/vda".
fn root_source() -> Option<String> {
    let text = std::fs::read_to_string("/proc/1/mountinfo")
        .or_else(|_| std::fs::read_to_string("/proc/self/mountinfo"))
        .ok()?;
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let sep = fields.iter().position(|f| *f == "-")?;
        (fields.get(4) == Some(&"/")).then(|| fields.get(sep + 2).map(|s| s.to_string()))?
    })
}

#[test]
fn real_proc_plausibility() {
    let t0 = Instant::now();
    let mut c = DiskCollector::new(&Settings::default());
    let root = c
        .filesystems()
        .first()
        .cloned()
        .expect("root is always tracked");
    assert!(root.root);
    // On the Debian VM the root is ext4 straight on /dev/vda.
    if root_source().as_deref() == Some("/dev/vda") {
        assert_eq!(root.io_device.as_deref(), Some("vda"));
        assert_eq!(root.mountpoint, "/");
    }

    let s = c.sample(60000, Instant::now());
    let (total, used, pct) = statvfs_root_gib();
    assert!(s.root.stats.disk_total > 0.0);
    assert!(
        (s.root.stats.disk_total - total).abs() < 0.02,
        "{} vs {total}",
        s.root.stats.disk_total
    );
    // Used space moves while tests write files: allow some drift.
    assert!(
        (s.root.stats.disk_used - used).abs() < 0.5,
        "{} vs {used}",
        s.root.stats.disk_used
    );
    assert!((s.root.pct - pct).abs() < 1.0, "{} vs {pct}", s.root.pct);
    assert!(s.root.pct >= 0.0 && s.root.pct <= 100.0);

    // Give the kernel something to count, then take a rate over at least 150 ms.
    let scratch = std::env::temp_dir().join(format!("sonar-disk-{}", std::process::id()));
    std::fs::write(&scratch, vec![0u8; 1 << 20]).unwrap();
    std::fs::remove_file(&scratch).ok();
    std::thread::sleep(Duration::from_millis(150));
    let s = c.sample(1000, Instant::now());
    let elapsed = t0.elapsed().as_secs_f64();
    assert!(s.root.stats.read_ps >= 0.0 && s.root.stats.write_ps >= 0.0);
    assert!(s.root.stats.read_ps < 50_000.0 && s.root.stats.write_ps < 50_000.0);
    assert!(s.root.stats.read_bytes as f64 <= 50_000.0 * 1_048_576.0 * elapsed.max(1.0));
    let [read_time, write_time, util, r_await, w_await, weighted] = s.root.stats.io_stats;
    assert!((0.0..=100.0).contains(&util), "util {util}");
    for v in [read_time, write_time, r_await, w_await, weighted] {
        assert!(v.is_finite() && v >= 0.0);
    }
    for (name, fs) in &s.extra {
        assert!(fs.stats.disk_total > 0.0, "{name} reported with total 0");
    }
}
