//! CPU collector against /proc/stat files rewritten between calls (spec §2.3).
//! The Linux collectors read kernel files; elsewhere they fall back to sysinfo.
#![cfg(target_os = "linux")]

use std::path::Path;

use sonar_core::collect::cpu::CpuCollector;
use sonar_core::roots::Roots;

/// user nice system idle iowait irq softirq steal guest guest_nice
type Times = [u64; 10];

fn line(name: &str, t: &Times) -> String {
    let values: Vec<String> = t.iter().map(u64::to_string).collect();
    format!("{name} {}\n", values.join(" "))
}

fn write_stat(dir: &Path, total: &Times, cores: &[(u32, Times)]) {
    let mut text = line("cpu ", total);
    for (id, t) in cores {
        text.push_str(&line(&format!("cpu{id}"), t));
    }
    text.push_str("intr 12345 0 0\nctxt 999\nbtime 1700000000\nprocesses 42\n");
    std::fs::create_dir_all(dir.join("proc")).unwrap();
    std::fs::write(dir.join("proc/stat"), text).unwrap();
}

fn add(a: &Times, d: &Times) -> Times {
    let mut out = *a;
    for (o, x) in out.iter_mut().zip(d) {
        *o += x;
    }
    out
}

const BASE: Times = [10_000, 500, 4_000, 80_000, 1_000, 100, 200, 300, 0, 0];
const CORE_BASE: Times = [5_000, 250, 2_000, 40_000, 500, 50, 100, 150, 0, 0];

fn setup() -> (tempfile::TempDir, CpuCollector) {
    let dir = tempfile::tempdir().unwrap();
    write_stat(dir.path(), &BASE, &[(0, CORE_BASE), (1, CORE_BASE)]);
    let collector = CpuCollector::new(&Roots::under(dir.path()));
    (dir, collector)
}

#[test]
fn hand_computed_delta_and_breakdown() {
    let (dir, mut cpu) = setup();
    // Δuser 1000, Δsystem 500, Δidle 900, Δiowait 100, Δsteal 500: Δtotal 3000, Δbusy 2000.
    let d = [1_000, 0, 500, 900, 100, 0, 0, 500, 0, 0];
    write_stat(dir.path(), &add(&BASE, &d), &[]);
    let u = cpu.sample(60000);
    assert_eq!(u.total, 66.67);
    assert_eq!(u.breakdown, Some([33.33, 16.67, 3.33, 16.67, 30.0]));
}

#[test]
fn nice_irq_and_softirq_count_as_busy_but_not_in_the_breakdown() {
    let (dir, mut cpu) = setup();
    let d = [100, 200, 100, 400, 0, 100, 100, 0, 0, 0];
    write_stat(dir.path(), &add(&BASE, &d), &[]);
    let u = cpu.sample(60000);
    assert_eq!(u.total, 60.0);
    assert_eq!(u.breakdown, Some([10.0, 10.0, 0.0, 0.0, 40.0]));
}

#[test]
fn guest_time_is_subtracted_from_the_total() {
    let (dir, mut cpu) = setup();
    // Guest time is already inside user (and guest_nice inside nice).
    let d = [600, 100, 0, 300, 0, 0, 0, 0, 200, 100];
    write_stat(dir.path(), &add(&BASE, &d), &[]);
    let u = cpu.sample(60000);
    assert_eq!(u.total, 70.0); // 700 / 1000, not 1000 / 1300
    assert_eq!(u.breakdown.unwrap()[0], 60.0);
    assert_eq!(u.breakdown.unwrap()[4], 30.0);
}

#[test]
fn per_core_rounding() {
    let dir = tempfile::tempdir().unwrap();
    let cores: Vec<(u32, Times)> = (0..4).map(|i| (i, CORE_BASE)).collect();
    write_stat(dir.path(), &BASE, &cores);
    let mut cpu = CpuCollector::new(&Roots::under(dir.path()));
    let busy_idle = |busy: u64, idle: u64| add(&CORE_BASE, &[busy, 0, 0, idle, 0, 0, 0, 0, 0, 0]);
    let next = [
        (0, busy_idle(125, 875)), // 12.5 → 13 (half away from zero)
        (1, busy_idle(2, 1)),     // 66.67 → 67
        (2, busy_idle(4, 996)),   // 0.4 → 0
        (3, busy_idle(995, 5)),   // 99.5 → 100
    ];
    write_stat(
        dir.path(),
        &add(&BASE, &[10, 0, 0, 10, 0, 0, 0, 0, 0, 0]),
        &next,
    );
    assert_eq!(cpu.sample(60000).per_core, vec![13, 67, 0, 100]);
}

#[test]
fn first_sample_of_a_new_cache_time_starts_from_the_60000_baseline() {
    let (dir, mut cpu) = setup();
    let d = [250, 0, 250, 500, 0, 0, 0, 0, 0, 0];
    let core_d = [30, 0, 0, 70, 0, 0, 0, 0, 0, 0];
    let cores = [(0, add(&CORE_BASE, &core_d)), (1, add(&CORE_BASE, &core_d))];
    write_stat(dir.path(), &add(&BASE, &d), &cores);
    // 1000 was never seen: its delta runs from the baseline taken at creation.
    let u = cpu.sample(1000);
    assert_eq!(u.total, 50.0);
    assert_eq!(u.per_core, vec![30, 30]);
    // 60000 still has its own, untouched baseline.
    let u = cpu.sample(60000);
    assert_eq!(u.total, 50.0);
    assert_eq!(u.per_core, vec![30, 30]);
}

#[test]
fn cache_times_keep_separate_baselines() {
    let (dir, mut cpu) = setup();
    let b = add(&BASE, &[100, 0, 0, 100, 0, 0, 0, 0, 0, 0]); // 50 %
    write_stat(dir.path(), &b, &[]);
    assert_eq!(cpu.sample(60000).total, 50.0);
    // 1000 is new: it copies the 60000 baseline as it is now (already at b), so nothing elapsed.
    assert_eq!(cpu.sample(1000).total, 0.0);

    let c = add(&b, &[0, 0, 0, 100, 0, 0, 0, 0, 0, 0]); // idle only
    write_stat(dir.path(), &c, &[]);
    assert_eq!(cpu.sample(1000).total, 0.0);

    let d = add(&c, &[300, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    write_stat(dir.path(), &d, &[]);
    // 60000 spans b → d: 300 busy of 400; 1000 spans c → d: all busy.
    assert_eq!(cpu.sample(60000).total, 75.0);
    assert_eq!(cpu.sample(1000).total, 100.0);
}

#[test]
fn unchanged_counters_give_zeros_and_keep_the_baseline() {
    let (dir, mut cpu) = setup();
    // Nothing changed since creation.
    let u = cpu.sample(60000);
    assert_eq!(u.total, 0.0);
    assert_eq!(u.breakdown, Some([0.0; 5]));
    assert_eq!(u.per_core, vec![0, 0]);
    write_stat(
        dir.path(),
        &add(&BASE, &[1, 0, 0, 3, 0, 0, 0, 0, 0, 0]),
        &[],
    );
    assert_eq!(cpu.sample(60000).total, 25.0);
}

#[test]
fn cpu_counter_reset() {
    let (dir, mut cpu) = setup();
    let small: Times = [10, 0, 5, 100, 1, 0, 0, 0, 0, 0];
    write_stat(dir.path(), &small, &[(0, small), (1, small)]);
    let u = cpu.sample(60000);
    assert_eq!(u.total, 0.0);
    assert_eq!(u.breakdown, Some([0.0; 5]));
    assert_eq!(u.per_core, vec![0, 0]);

    // Both baselines restarted from the reset counters, so the next delta is a normal one
    // (keeping the pre-reset total would pin the CPU at 0 until the counters caught up).
    let after = add(&small, &[100, 0, 0, 100, 0, 0, 0, 0, 0, 0]);
    let core_after = add(&small, &[10, 0, 0, 30, 0, 0, 0, 0, 0, 0]);
    write_stat(dir.path(), &after, &[(0, core_after), (1, core_after)]);
    let u = cpu.sample(60000);
    assert_eq!(u.total, 50.0);
    assert_eq!(u.per_core, vec![25, 25]);
    assert!(u
        .breakdown
        .unwrap()
        .iter()
        .all(|p| (0.0..=100.0).contains(p)));
}

#[test]
fn a_field_going_backwards_is_clamped_not_negative() {
    let (dir, mut cpu) = setup();
    // iowait can go backwards on tickless kernels while the total still grows.
    let mut cur = add(&BASE, &[200, 0, 0, 200, 0, 0, 0, 0, 0, 0]);
    cur[4] -= 50;
    write_stat(dir.path(), &cur, &[]);
    let u = cpu.sample(60000);
    assert!(u
        .breakdown
        .unwrap()
        .iter()
        .all(|p| (0.0..=100.0).contains(p)));
    assert_eq!(u.breakdown.unwrap()[2], 0.0);
    assert!((0.0..=100.0).contains(&u.total));
}

#[test]
fn cpu_hot_unplug() {
    let dir = tempfile::tempdir().unwrap();
    let cores: Vec<(u32, Times)> = (0..4).map(|i| (i, CORE_BASE)).collect();
    write_stat(dir.path(), &BASE, &cores);
    let mut cpu = CpuCollector::new(&Roots::under(dir.path()));

    let busy = |pct: u64| add(&CORE_BASE, &[pct, 0, 0, 100 - pct, 0, 0, 0, 0, 0, 0]);
    // cpu1 went offline: three lines left.
    let after = [(0, busy(10)), (2, busy(30)), (3, busy(40))];
    write_stat(
        dir.path(),
        &add(&BASE, &[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
        &after,
    );
    let u = cpu.sample(60000);
    // Each CPU is compared with its own baseline, not with its neighbour's.
    assert_eq!(u.per_core, vec![10, 30, 40]);

    let again = [
        (0, add(&after[0].1, &[50, 0, 0, 50, 0, 0, 0, 0, 0, 0])),
        (2, add(&after[1].1, &[0, 0, 0, 10, 0, 0, 0, 0, 0, 0])),
        (3, add(&after[2].1, &[10, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
    ];
    write_stat(
        dir.path(),
        &add(&BASE, &[2, 0, 0, 2, 0, 0, 0, 0, 0, 0]),
        &again,
    );
    assert_eq!(cpu.sample(60000).per_core, vec![50, 0, 100]);

    // cpu1 back online: this round covers min(3, 4) CPUs, the next one all four.
    let back = [
        (0, add(&again[0].1, &[1, 0, 0, 1, 0, 0, 0, 0, 0, 0])),
        (1, busy(20)),
        (2, add(&again[1].1, &[1, 0, 0, 1, 0, 0, 0, 0, 0, 0])),
        (3, add(&again[2].1, &[1, 0, 0, 1, 0, 0, 0, 0, 0, 0])),
    ];
    write_stat(
        dir.path(),
        &add(&BASE, &[3, 0, 0, 3, 0, 0, 0, 0, 0, 0]),
        &back,
    );
    assert_eq!(cpu.sample(60000).per_core, vec![50, 0, 50]);
}

#[test]
fn missing_or_garbled_stat_degrades_to_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let mut cpu = CpuCollector::new(&Roots::under(dir.path()));
    assert_eq!(cpu.sample(60000).total, 0.0);
    std::fs::create_dir_all(dir.path().join("proc")).unwrap();
    std::fs::write(dir.path().join("proc/stat"), "cpu garbage\n\0\0").unwrap();
    let u = cpu.sample(1000);
    assert_eq!(u.total, 0.0);
    assert!(u.per_core.is_empty());
}

#[test]
fn plausible_on_this_machine() {
    let mut cpu = CpuCollector::new(&Roots::default());
    let start = std::time::Instant::now();
    let mut x = 1u64;
    while start.elapsed() < std::time::Duration::from_millis(250) {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
    }
    std::hint::black_box(x);
    let u = cpu.sample(60000);
    assert!(u.total > 0.0 && u.total <= 100.0, "{u:?}");
    assert!(u
        .breakdown
        .unwrap()
        .iter()
        .all(|p| (0.0..=100.0).contains(p)));
    assert!(u.breakdown.unwrap().iter().sum::<f64>() <= 100.05, "{u:?}");
    let cores = std::fs::read_to_string("/proc/stat")
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    assert_eq!(u.per_core.len(), cores);
    assert!(u.per_core.iter().all(|&p| p <= 100));

    // The whole agent sample targets well under a millisecond; this collector must be cheap.
    let t = std::time::Instant::now();
    for _ in 0..200 {
        std::hint::black_box(cpu.sample(1000));
    }
    let per_call = t.elapsed() / 200;
    assert!(
        per_call < std::time::Duration::from_millis(2),
        "{per_call:?}"
    );
}
