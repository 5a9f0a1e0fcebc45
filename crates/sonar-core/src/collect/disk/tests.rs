//! Fixture trees live in `tests/fixtures/disk/<case>/`; the I/O tests build theirs in a tempdir
//! because they rewrite `/proc/diskstats` between samples. statvfs is replaced through the
//! collector's private seam: usage numbers must be exact, and a hung NFS server cannot be staged.

use super::diskstats::IoCounters;
use super::mountinfo;
use super::statfs::{StatVfs, StatfsFn};
use super::*;
use crate::roots::Roots;
use crate::settings::{parse_extra_filesystems, Settings};
use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/disk")
        .join(case)
}

fn settings(dir: &Path) -> Settings {
    Settings {
        roots: Roots::under(dir),
        statfs_timeout: Duration::from_millis(200),
        ..Settings::default()
    }
}

/// Byte-exact statvfs answer with 4 KiB fragments.
fn vfs(total: u64, used: u64, avail: u64) -> StatVfs {
    StatVfs {
        blocks: total / 4096,
        bfree: (total - used) / 4096,
        bavail: avail / 4096,
        frsize: 4096,
        ..StatVfs::default()
    }
}

/// statvfs stand-in answering per mountpoint (relative to the fixture root), counting calls,
/// and able to hold a call for as long as a test wants (the "hung NFS server").
struct FakeStatfs {
    base: PathBuf,
    answers: Mutex<HashMap<String, StatVfs>>,
    calls: Mutex<HashMap<String, usize>>,
    held: Mutex<HashSet<String>>,
    released: Condvar,
}

impl FakeStatfs {
    fn new(base: &Path) -> Arc<FakeStatfs> {
        Arc::new(FakeStatfs {
            base: base.to_path_buf(),
            answers: Mutex::new(HashMap::new()),
            calls: Mutex::new(HashMap::new()),
            held: Mutex::new(HashSet::new()),
            released: Condvar::new(),
        })
    }

    fn func(self: &Arc<Self>) -> StatfsFn {
        let me = self.clone();
        Arc::new(move |path: &Path| me.call(path))
    }

    fn mountpoint(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.base).unwrap_or(path);
        format!("/{}", rel.to_string_lossy().trim_end_matches('/'))
    }

    fn call(&self, path: &Path) -> io::Result<StatVfs> {
        let mp = self.mountpoint(path);
        *self.calls.lock().unwrap().entry(mp.clone()).or_default() += 1;
        let mut held = self.held.lock().unwrap();
        while held.contains(&mp) {
            held = self.released.wait(held).unwrap();
        }
        drop(held);
        self.answers
            .lock()
            .unwrap()
            .get(&mp)
            .copied()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }

    fn answer(&self, mountpoint: &str, v: StatVfs) {
        self.answers
            .lock()
            .unwrap()
            .insert(mountpoint.to_string(), v);
    }

    fn forget(&self, mountpoint: &str) {
        self.answers.lock().unwrap().remove(mountpoint);
    }

    fn calls(&self, mountpoint: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .get(mountpoint)
            .copied()
            .unwrap_or(0)
    }

    fn hold(&self, mountpoint: &str) {
        self.held.lock().unwrap().insert(mountpoint.to_string());
    }

    fn release(&self, mountpoint: &str) {
        self.held.lock().unwrap().remove(mountpoint);
        self.released.notify_all();
    }
}

fn collector(s: &Settings, fake: &Arc<FakeStatfs>, t0: Instant) -> DiskCollector {
    DiskCollector::with_statfs(s, fake.func(), t0)
}

/// (key, mountpoint, io device) of every tracked filesystem, root first.
fn tracked(c: &DiskCollector) -> Vec<(String, String, Option<String>)> {
    c.filesystems()
        .iter()
        .map(|f| (f.key.clone(), f.mountpoint.clone(), f.io_device.clone()))
        .collect()
}

fn t(key: &str, mp: &str, io: Option<&str>) -> (String, String, Option<String>) {
    (key.to_string(), mp.to_string(), io.map(str::to_string))
}

fn root_of(case: &str, s: impl FnOnce(&mut Settings)) -> TrackedFs {
    let dir = fixture(case);
    let mut st = settings(&dir);
    s(&mut st);
    let c = collector(&st, &FakeStatfs::new(&dir), Instant::now());
    c.filesystems()[0].clone()
}

// ---- partitions and mountinfo ----

#[test]
fn mountinfo_octal_escapes_and_filters() {
    let dir = fixture("partition");
    let parts = mountinfo::read_partitions(&Roots::under(&dir));
    let mps: Vec<&str> = parts.iter().map(|p| p.mountpoint.as_str()).collect();
    assert_eq!(
        mps,
        [
            "/",
            "/boot/efi",
            "/mnt/data",
            "/snap/core/1",
            "/mnt/my disk"
        ],
        "nodev types (proc, sysfs, tmpfs, devtmpfs) and device \"none\" are dropped"
    );
    assert_eq!(parts[0].devnum, Some((8, 2)));
    assert_eq!(mountinfo::unescape_octal(r"a\040b\011c\134d"), "a b\tc\\d");
    assert_eq!(mountinfo::unescape_octal(r"odd\9x\04"), r"odd\9x\04");
}

#[test]
fn optional_mountinfo_fields_and_missing_proc_filesystems() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("proc/self")).unwrap();
    // No proc/1 (fallback to self) and no proc/filesystems (keep what looks like a device).
    std::fs::write(
        dir.path().join("proc/self/mountinfo"),
        "28 1 8:2 / / rw shared:1 master:2 propagate_from:3 - ext4 /dev/sda2 rw\n\
         29 28 0:5 / /dev rw - devtmpfs udev rw\n\
         garbage\n",
    )
    .unwrap();
    let parts = mountinfo::read_partitions(&Roots::under(dir.path()));
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].device, "/dev/sda2");
    assert_eq!(parts[0].fstype, "ext4");
}

// ---- root selection ----

#[test]
fn root_on_partition() {
    let dir = fixture("partition");
    let fake = FakeStatfs::new(&dir);
    fake.answer("/", vfs(100 * GIB, 40 * GIB, 55 * GIB));
    let mut c = collector(&settings(&dir), &fake, Instant::now());
    assert_eq!(tracked(&c), [t("sda2", "/", Some("sda2"))]);
    let s = c.sample(60000, Instant::now());
    assert_eq!(s.root.stats.disk_total, 100.0);
    assert_eq!(s.root.stats.disk_used, 40.0);
    assert!(s.extra.is_empty());
}

#[test]
fn root_on_luks_dm_via_mapper() {
    let dir = fixture("luks");
    let mut st = settings(&dir);
    st.extra_filesystems = parse_extra_filesystems("/home__Home");
    let c = collector(&st, &FakeStatfs::new(&dir), Instant::now());
    // Root by major:minor 253:0; /home is btrfs (anonymous 0:46), found through dm/name.
    assert_eq!(
        tracked(&c),
        [
            t("dm-0", "/", Some("dm-0")),
            t("dm-1", "/home", Some("dm-1"))
        ]
    );
    assert_eq!(c.filesystems()[1].display_name(), "Home");
}

#[test]
fn root_on_md() {
    let root = root_of("md", |_| {});
    assert_eq!(root.io_device.as_deref(), Some("md0"));
    assert_eq!(root.mountpoint, "/");
}

#[test]
fn dev_root_via_major_minor() {
    let root = root_of("dev_root", |_| {});
    // The busiest-device fallback would have said mmcblk0 (the whole card).
    assert_eq!(root.io_device.as_deref(), Some("mmcblk0p2"));
}

#[test]
fn root_in_docker_via_bind_mounted_etc_files() {
    let root = root_of("docker", |_| {});
    assert_eq!(root.io_device.as_deref(), Some("nvme0n1p2"));
    assert_eq!(root.mountpoint, "/etc/resolv.conf");
}

#[test]
fn root_on_ostree_sysroot() {
    let root = root_of("ostree", |_| {});
    assert_eq!(root.io_device.as_deref(), Some("vda4"));
    assert_eq!(root.mountpoint, "/sysroot");
}

#[test]
fn root_fallback_busiest_untracked_device() {
    // ZFS root: nothing names a disk. loop0 is busiest but virtual; nvme0n1 is the busiest disk.
    let root = root_of("zfs", |_| {});
    assert_eq!(root.io_device.as_deref(), Some("nvme0n1"));
    assert_eq!(root.mountpoint, "/");

    // nvme0n1 tracked as an extra: root takes the busiest disk nobody claims.
    let dir = fixture("zfs");
    let mut st = settings(&dir);
    st.extra_filesystems = parse_extra_filesystems("/mnt/scratch");
    let c = collector(&st, &FakeStatfs::new(&dir), Instant::now());
    assert_eq!(
        tracked(&c),
        [
            t("sda", "/", Some("sda")),
            t("nvme0n1", "/mnt/scratch", Some("nvme0n1"))
        ]
    );
}

#[test]
fn filesystem_names_a_disk_without_partition() {
    let root = root_of("zfs", |s| s.filesystem = Some("sdb".into()));
    assert_eq!(root.io_device.as_deref(), Some("sdb"));
    assert_eq!(root.mountpoint, "/");
}

#[test]
fn filesystem_override() {
    let by_device = root_of("partition", |s| s.filesystem = Some("sdb1".into()));
    assert_eq!(by_device.io_device.as_deref(), Some("sdb1"));
    assert_eq!(by_device.mountpoint, "/mnt/data");
    let by_mountpoint = root_of("partition", |s| s.filesystem = Some("/mnt/data".into()));
    assert_eq!(by_mountpoint, by_device);
    let by_path = root_of("partition", |s| s.filesystem = Some("/dev/sdb1".into()));
    assert_eq!(by_path, by_device);
}

#[test]
fn no_proc_still_reports_root_usage() {
    // macOS/BSD: no mountinfo, no diskstats; root usage still comes from statvfs("/").
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeStatfs::new(dir.path());
    fake.answer("/", vfs(10 * GIB, 5 * GIB, 5 * GIB));
    let mut c = collector(&settings(dir.path()), &fake, Instant::now());
    assert_eq!(tracked(&c), [t("root", "/", None)]);
    let s = c.sample(60000, Instant::now());
    assert_eq!(
        (s.root.stats.disk_total, s.root.stats.disk_used, s.root.pct),
        (10.0, 5.0, 50.0)
    );
}

// ---- extra filesystems ----

#[test]
fn extra_filesystems_custom_names() {
    let dir = fixture("partition");
    let fake = FakeStatfs::new(&dir);
    fake.answer("/", vfs(100 * GIB, 40 * GIB, 55 * GIB));
    fake.answer("/mnt/data", vfs(500 * GIB, 100 * GIB, 400 * GIB));
    fake.answer("/mnt/my disk", vfs(50 * GIB, 10 * GIB, 40 * GIB));
    fake.answer("/srv/archive", vfs(2000 * GIB, 1000 * GIB, 1000 * GIB));
    let mut st = settings(&dir);
    st.extra_filesystems = parse_extra_filesystems(
        "sdb1__Fast Storage, /mnt/my disk ,/srv/archive__Archive,/srv/missing__Gone",
    );
    let mut c = collector(&st, &fake, Instant::now());
    assert_eq!(
        tracked(&c),
        [
            t("sda2", "/", Some("sda2")),
            t("sdb1", "/mnt/data", Some("sdb1")),
            t("sdb2", "/mnt/my disk", Some("sdb2")),
            t("archive", "/srv/archive", None),
        ],
        "a path statvfs cannot read is not tracked"
    );
    let s = c.sample(60000, Instant::now());
    let names: Vec<&str> = s.extra.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Fast Storage", "sdb2", "Archive"]);
    assert_eq!(s.extra[0].1.stats.disk_total, 500.0);
    assert_eq!(s.extra[2].1.stats.disk_used, 1000.0);
}

#[test]
fn extra_filesystems_folder_naming() {
    let dir = fixture("extra_folders");
    let fake = FakeStatfs::new(&dir);
    fake.answer("/", vfs(100 * GIB, 40 * GIB, 55 * GIB));
    for mp in [
        "/extra-filesystems/sdc1__Backup",
        "/extra-filesystems/sdd1__Vault",
        "/extra-filesystems/sdf1__Media",
        "/extra-filesystems/nvme1n1",
        "/extra-filesystems/usb__Stick",
    ] {
        fake.answer(mp, vfs(200 * GIB, 20 * GIB, 180 * GIB));
    }
    let mut c = collector(&settings(&dir), &fake, Instant::now());
    let got = tracked(&c);
    assert_eq!(
        got[1..],
        [
            // Mounted: I/O from the real partition device; the folder gives the name.
            t("sdc1", "/extra-filesystems/sdc1__Backup", Some("sdc1")),
            // LUKS: the real device is dm-5, not the sdd1 the folder names.
            t("dm-5", "/extra-filesystems/sdd1__Vault", Some("dm-5")),
            // Bare folders: the folder names the device.
            t("nvme1n1", "/extra-filesystems/nvme1n1", Some("nvme1n1")),
            t("root", "/extra-filesystems/root__Host", None),
            t("sdf1", "/extra-filesystems/sdf1__Media", Some("sdf1")),
            t("usb", "/extra-filesystems/usb__Stick", None),
        ]
    );
    let s = c.sample(60000, Instant::now());
    let names: Vec<&str> = s.extra.iter().map(|(n, _)| n.as_str()).collect();
    // root__Host has no statvfs answer here: omitted.
    assert_eq!(names, ["Backup", "Vault", "nvme1n1", "Media", "Stick"]);
}

#[test]
fn duplicate_of_root_extra_dropped() {
    let dir = fixture("extra_folders");
    let fake = FakeStatfs::new(&dir);
    let root = (100 * GIB, 40 * GIB);
    fake.answer("/", vfs(root.0, root.1, 55 * GIB));
    // The host root seen again through a folder: within 16 MiB on total and used.
    fake.answer(
        "/extra-filesystems/root__Host",
        vfs(root.0 + 4096, root.1 + 10 * MIB, 55 * GIB),
    );
    // Same total, 20 MiB more used: a different filesystem.
    fake.answer(
        "/extra-filesystems/usb__Stick",
        vfs(root.0, root.1 + 20 * MIB, 55 * GIB),
    );
    let mut c = collector(&settings(&dir), &fake, Instant::now());
    let s = c.sample(60000, Instant::now());
    let names: Vec<&str> = s.extra.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Stick"]);
    // Decided once: a later drift does not bring it back.
    fake.answer(
        "/extra-filesystems/root__Host",
        vfs(root.0, root.1 + GIB, 55 * GIB),
    );
    let s = c.sample(60000, Instant::now());
    assert!(!s.extra.iter().any(|(n, _)| n == "Host"));
    assert_eq!(
        fake.calls("/extra-filesystems/root__Host"),
        1,
        "a duplicate is not asked again"
    );
}

#[test]
fn extras_with_zero_total_omitted() {
    let dir = fixture("partition");
    let fake = FakeStatfs::new(&dir);
    fake.answer("/", vfs(100 * GIB, 40 * GIB, 55 * GIB));
    // 4 MiB rounds to 0.00 GiB.
    fake.answer("/mnt/data", vfs(4 * MIB, MIB, 3 * MIB));
    let mut st = settings(&dir);
    st.extra_filesystems = parse_extra_filesystems("sdb1");
    let mut c = collector(&st, &fake, Instant::now());
    assert!(c.sample(60000, Instant::now()).extra.is_empty());
}

// ---- usage ----

#[test]
fn dp_uses_available_not_total() {
    let dir = fixture("partition");
    let fake = FakeStatfs::new(&dir);
    // 100 GiB, 20 GiB free of which 5 GiB are reserved for root: used 80, available 15.
    fake.answer(
        "/",
        StatVfs {
            blocks: 100 * GIB / 4096,
            bfree: 20 * GIB / 4096,
            bavail: 15 * GIB / 4096,
            frsize: 4096,
            ..StatVfs::default()
        },
    );
    let mut c = collector(&settings(&dir), &fake, Instant::now());
    let s = c.sample(60000, Instant::now());
    assert_eq!(s.root.stats.disk_total, 100.0);
    assert_eq!(s.root.stats.disk_used, 80.0);
    // 80/(80+15)·100, not 80/100·100.
    assert_eq!(s.root.pct, 84.21);
}

#[test]
fn real_statvfs_matches_libc() {
    let v = statfs::statvfs(Path::new("/")).unwrap();
    assert!(v.blocks > 0 && v.frsize > 0);
    assert!(v.bfree <= v.blocks && v.bavail <= v.bfree);
    assert!(statfs::statvfs(Path::new("/definitely/not/here")).is_err());
}

#[test]
fn disk_usage_cache() {
    let dir = fixture("partition");
    let fake = FakeStatfs::new(&dir);
    fake.answer("/", vfs(100 * GIB, 40 * GIB, 55 * GIB));
    fake.answer("/mnt/data", vfs(500 * GIB, 100 * GIB, 400 * GIB));
    let mut st = settings(&dir);
    st.extra_filesystems = parse_extra_filesystems("sdb1");
    st.disk_usage_cache = Some(Duration::from_secs(15 * 60));
    let t0 = Instant::now();
    let mut c = collector(&st, &fake, t0);

    let s = c.sample(60000, t0 + Duration::from_secs(1));
    assert_eq!(s.extra[0].1.stats.disk_used, 100.0);
    assert_eq!(fake.calls("/mnt/data"), 1, "the first call always measures");

    fake.answer("/", vfs(100 * GIB, 41 * GIB, 54 * GIB));
    fake.answer("/mnt/data", vfs(500 * GIB, 200 * GIB, 300 * GIB));
    let s = c.sample(60000, t0 + Duration::from_secs(120));
    assert_eq!(s.root.stats.disk_used, 41.0, "root is always refreshed");
    assert_eq!(
        s.extra[0].1.stats.disk_used, 100.0,
        "extras come from the cache"
    );
    assert_eq!(fake.calls("/mnt/data"), 1);
    assert_eq!(fake.calls("/"), 2);

    let s = c.sample(60000, t0 + Duration::from_secs(15 * 60 + 2));
    assert_eq!(s.extra[0].1.stats.disk_used, 200.0);
    assert_eq!(fake.calls("/mnt/data"), 2);

    // Without the setting every sample measures.
    st.disk_usage_cache = None;
    let mut c = collector(&st, &fake, t0);
    c.sample(60000, t0 + Duration::from_secs(1));
    c.sample(60000, t0 + Duration::from_secs(2));
    assert_eq!(fake.calls("/mnt/data"), 4);
}

/// A hung NFS mount cannot be staged here, so the fake holds the call on /mnt/nas until released.
#[test]
fn statfs_timeout_does_not_hang_or_pile_up() {
    let dir = fixture("partition");
    let fake = FakeStatfs::new(&dir);
    fake.answer("/", vfs(100 * GIB, 40 * GIB, 55 * GIB));
    fake.answer("/mnt/data", vfs(500 * GIB, 100 * GIB, 400 * GIB));
    fake.answer("/mnt/nas", vfs(1000 * GIB, 10 * GIB, 990 * GIB));
    fake.hold("/mnt/nas");
    let mut st = settings(&dir);
    st.extra_filesystems = parse_extra_filesystems("sdb1,/mnt/nas__NAS");
    let t0 = Instant::now();
    let started = Instant::now();
    // Discovery probes the path entry, gives up after the timeout and keeps it.
    let mut c = collector(&st, &fake, t0);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(c.filesystems().iter().any(|f| f.mountpoint == "/mnt/nas"));

    for i in 1..=3 {
        let started = Instant::now();
        let s = c.sample(60000, t0 + Duration::from_secs(i));
        assert!(
            started.elapsed() < Duration::from_millis(150),
            "a pending mount is skipped, not waited for again"
        );
        assert_eq!(s.root.stats.disk_total, 100.0);
        let names: Vec<&str> = s.extra.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["sdb1"],
            "the hung mount is left out, the others work"
        );
    }
    assert_eq!(
        fake.calls("/mnt/nas"),
        1,
        "no new statvfs while the first is stuck"
    );

    fake.release("/mnt/nas");
    let nas = dir.join("mnt/nas");
    let deadline = Instant::now() + Duration::from_secs(5);
    while c.statfs.is_pending(&nas) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let s = c.sample(60000, t0 + Duration::from_secs(4));
    let names: Vec<&str> = s.extra.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["sdb1", "NAS"],
        "reported again once the mount answers"
    );
    assert_eq!(fake.calls("/mnt/nas"), 2);
}

#[test]
fn statfs_timeout_on_root_reports_zeros_and_keeps_others() {
    let dir = fixture("partition");
    let fake = FakeStatfs::new(&dir);
    fake.answer("/", vfs(100 * GIB, 40 * GIB, 55 * GIB));
    fake.answer("/mnt/data", vfs(500 * GIB, 100 * GIB, 400 * GIB));
    fake.hold("/");
    let mut st = settings(&dir);
    st.extra_filesystems = parse_extra_filesystems("sdb1");
    let t0 = Instant::now();
    let mut c = collector(&st, &fake, t0);
    let s = c.sample(60000, t0 + Duration::from_secs(1));
    assert_eq!(
        (s.root.stats.disk_total, s.root.stats.disk_used, s.root.pct),
        (0.0, 0.0, 0.0)
    );
    assert_eq!(s.extra.len(), 1, "a fresh worker serves the other mounts");
    assert_eq!(s.extra[0].1.stats.disk_total, 500.0);
    let started = Instant::now();
    c.sample(60000, t0 + Duration::from_secs(2));
    assert!(started.elapsed() < Duration::from_millis(150));
    fake.release("/");
}

#[test]
fn mounts_reread_every_minute_and_after_statfs_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("proc/1")).unwrap();
    std::fs::copy(
        fixture("partition").join("proc/filesystems"),
        dir.join("proc/filesystems"),
    )
    .unwrap();
    std::fs::copy(
        fixture("partition").join("proc/diskstats"),
        dir.join("proc/diskstats"),
    )
    .unwrap();
    let root_line = "28 1 8:2 / / rw - ext4 /dev/sda2 rw\n";
    let data_line = "41 28 8:17 / /mnt/data rw - xfs /dev/sdb1 rw\n";
    std::fs::write(dir.join("proc/1/mountinfo"), root_line).unwrap();
    let fake = FakeStatfs::new(dir);
    fake.answer("/", vfs(100 * GIB, 40 * GIB, 55 * GIB));
    fake.answer("/mnt/data", vfs(500 * GIB, 100 * GIB, 400 * GIB));
    let mut st = settings(dir);
    st.extra_filesystems = parse_extra_filesystems("sdb1");
    let t0 = Instant::now();
    let mut c = collector(&st, &fake, t0);
    assert_eq!(c.filesystems().len(), 1);

    // Mounted later: seen at the next periodic re-read, not before.
    std::fs::write(
        dir.join("proc/1/mountinfo"),
        format!("{root_line}{data_line}"),
    )
    .unwrap();
    c.sample(60000, t0 + Duration::from_secs(30));
    assert_eq!(c.filesystems().len(), 1);
    let s = c.sample(60000, t0 + Duration::from_secs(61));
    assert_eq!(c.filesystems().len(), 2);
    assert_eq!(s.extra.len(), 1);

    // Unmounted: statvfs fails, the mounts are read again a few seconds later.
    std::fs::write(dir.join("proc/1/mountinfo"), root_line).unwrap();
    fake.forget("/mnt/data");
    let s = c.sample(60000, t0 + Duration::from_secs(62));
    assert!(s.extra.is_empty());
    assert_eq!(c.filesystems().len(), 2);
    c.sample(60000, t0 + Duration::from_secs(68));
    assert_eq!(c.filesystems().len(), 1);
}

// ---- I/O rates ----

/// A tempdir tree with root on sda2 whose diskstats line the test rewrites.
struct IoTree {
    dir: tempfile::TempDir,
    fake: Arc<FakeStatfs>,
}

impl IoTree {
    fn new(initial: IoCounters) -> IoTree {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc/1")).unwrap();
        std::fs::copy(
            fixture("partition").join("proc/filesystems"),
            dir.path().join("proc/filesystems"),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("proc/1/mountinfo"),
            "28 1 8:2 / / rw - ext4 /dev/sda2 rw\n",
        )
        .unwrap();
        let fake = FakeStatfs::new(dir.path());
        fake.answer("/", vfs(100 * GIB, 40 * GIB, 55 * GIB));
        let tree = IoTree { dir, fake };
        tree.set(initial);
        tree
    }

    fn set(&self, c: IoCounters) {
        let line = format!(
            "   8       0 sda 1 0 8 1 1 0 8 1 0 1 1 0 0 0 0\n   8       2 sda2 {} 0 {} {} {} 0 {} {} 0 {} {} 0 0 0 0\n",
            c.read_count,
            c.read_sectors,
            c.read_time_ms,
            c.write_count,
            c.write_sectors,
            c.write_time_ms,
            c.io_time_ms,
            c.weighted_io_ms
        );
        std::fs::write(self.dir.path().join("proc/diskstats"), line).unwrap();
    }

    fn collector(&self, t0: Instant) -> DiskCollector {
        collector(&settings(self.dir.path()), &self.fake, t0)
    }
}

fn sectors(read: u64, write: u64) -> IoCounters {
    IoCounters {
        read_sectors: read,
        write_sectors: write,
        ..IoCounters::default()
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn io_rates_and_dios() {
    let base = IoCounters {
        read_count: 100,
        read_sectors: 10_000,
        read_time_ms: 1_000,
        write_count: 200,
        write_sectors: 20_000,
        write_time_ms: 2_000,
        io_time_ms: 5_000,
        weighted_io_ms: 9_000,
    };
    let tree = IoTree::new(base);
    let t0 = Instant::now();
    let mut c = tree.collector(t0);
    tree.set(IoCounters {
        read_count: 110,              // +10 reads
        read_sectors: 10_000 + 2048,  // +1 MiB
        read_time_ms: 1_050,          // +50 ms
        write_count: 220,             // +20 writes
        write_sectors: 20_000 + 4096, // +2 MiB
        write_time_ms: 2_100,         // +100 ms
        io_time_ms: 5_250,            // +250 ms busy
        weighted_io_ms: 9_400,        // +400 ms·requests
    });
    let s = c.sample(60000, t0 + ms(1000));
    assert_eq!(
        (s.root.stats.read_bytes, s.root.stats.write_bytes),
        (1_048_576, 2_097_152)
    );
    assert_eq!((s.root.stats.read_ps, s.root.stats.write_ps), (1.0, 2.0));
    assert_eq!(s.root.stats.io_stats, [5.0, 10.0, 25.0, 5.0, 5.0, 40.0]);
}

/// v0.18.8 seeds a cache time new to a device with the current time and op counters, so its
/// first `dios` are all 0 (beszel-v0.18.md §6.6). We measure from the latest snapshot of any
/// cache time, all counters taken together: the first window already shows the device's load.
#[test]
fn dios_of_a_new_cache_time_are_measured_from_the_latest_snapshot_not_zeroed() {
    let step = |n: u64| IoCounters {
        read_count: 100 * n,
        read_sectors: 2048 * n,
        read_time_ms: 400 * n,
        write_count: 0,
        write_sectors: 0,
        write_time_ms: 0,
        io_time_ms: 500 * n,
        weighted_io_ms: 800 * n,
    };
    let tree = IoTree::new(step(0));
    let t0 = Instant::now();
    let mut c = tree.collector(t0);
    tree.set(step(1));
    assert_eq!(
        c.sample(60000, t0 + ms(1000)).root.stats.io_stats,
        [40.0, 0.0, 50.0, 4.0, 0.0, 80.0]
    );
    // ct 1000 has never seen the device: its first window is the second since ct 60000's sample
    tree.set(step(2));
    assert_eq!(
        c.sample(1000, t0 + ms(2000)).root.stats.io_stats,
        [40.0, 0.0, 50.0, 4.0, 0.0, 80.0]
    );
}

#[test]
fn short_interval_skipped() {
    let tree = IoTree::new(sectors(0, 0));
    let t0 = Instant::now();
    let mut c = tree.collector(t0);
    tree.set(sectors(2048, 0));
    let s = c.sample(60000, t0 + ms(50));
    assert_eq!(s.root.stats.read_bytes, 0, "under 100 ms: no rate");
    tree.set(sectors(4096, 0));
    // The baseline stayed at t0, so this is 2 MiB over 1 s.
    let s = c.sample(60000, t0 + ms(1000));
    assert_eq!(s.root.stats.read_bytes, 2_097_152);
}

#[test]
fn disk_counter_reset() {
    let tree = IoTree::new(sectors(5_000_000_000_000, 7_000_000_000_000));
    let t0 = Instant::now();
    let mut c = tree.collector(t0);
    // Device re-created: counters start over. Only what accumulated since counts.
    tree.set(sectors(1000, 2000));
    let s = c.sample(60000, t0 + ms(1000));
    assert_eq!(
        (s.root.stats.read_bytes, s.root.stats.write_bytes),
        (512_000, 1_024_000)
    );
    tree.set(sectors(3048, 2000));
    let s = c.sample(60000, t0 + ms(2000));
    assert_eq!(
        (s.root.stats.read_bytes, s.root.stats.write_bytes),
        (1_048_576, 0)
    );
}

#[test]
fn counter_wrap() {
    // 32-bit kernels keep sectors in an unsigned long: it wraps at 2^32.
    let near_wrap = u64::from(u32::MAX) - 999;
    let tree = IoTree::new(sectors(near_wrap, 0));
    let t0 = Instant::now();
    let mut c = tree.collector(t0);
    tree.set(sectors(1000, 0));
    let s = c.sample(60000, t0 + ms(1000));
    assert_eq!(
        s.root.stats.read_bytes,
        2000 * 512,
        "2000 sectors across the wrap, no spike"
    );
}

#[test]
fn disk_io_anomaly_reseeds_only_this_cache_time() {
    let tree = IoTree::new(sectors(0, 0));
    let t0 = Instant::now();
    let mut c = tree.collector(t0);
    tree.set(sectors(2048, 0));
    let s = c.sample(60000, t0 + ms(1000));
    assert_eq!(s.root.stats.read_bytes, 1_048_576);

    // 100 GiB within a second: 102 400 MiB/s is above the 50 000 cap.
    let jump = 100 * GIB / 512;
    tree.set(sectors(2048 + 2048 + jump, 0));
    let s = c.sample(1000, t0 + ms(2000));
    assert_eq!((s.root.stats.read_bytes, s.root.stats.read_ps), (0, 0.0));
    // ct 1000 starts over from the counters it just saw.
    tree.set(sectors(2048 + 4096 + jump, 0));
    let s = c.sample(1000, t0 + ms(3000));
    assert_eq!(s.root.stats.read_bytes, 1_048_576);
    // ct 60000 keeps its own baseline (t0+1 s): everything since then over 60 s.
    tree.set(sectors(2048 + 4096 + jump, 0));
    let s = c.sample(60000, t0 + ms(61_000));
    let expected = (4096 + jump) * 512 * 1000 / 60_000;
    assert_eq!(s.root.stats.read_bytes, expected);
    assert!(s.root.stats.read_ps > 1000.0 && s.root.stats.read_ps < 50_000.0);
}

#[test]
fn per_cache_time_separation() {
    const MIB_SECTORS: u64 = 2048;
    let tree = IoTree::new(sectors(0, 0));
    let t0 = Instant::now();
    let mut c = tree.collector(t0);
    let at = |s: u64| t0 + Duration::from_secs(s);

    // t=1: ct 60000, 10 MiB since start.
    tree.set(sectors(10 * MIB_SECTORS, 0));
    assert_eq!(c.sample(60000, at(1)).root.stats.read_ps, 10.0);
    // t=2: ct 1000 is new: seeded from the latest baseline (t=1), 3 MiB in that second.
    tree.set(sectors(13 * MIB_SECTORS, 0));
    assert_eq!(c.sample(1000, at(2)).root.stats.read_ps, 3.0);
    // t=3..=60: ct 1000 every second at 5 MiB/s.
    let mut total = 13;
    for s in 3..=60 {
        total += 5;
        tree.set(sectors(total * MIB_SECTORS, 0));
        assert_eq!(c.sample(1000, at(s)).root.stats.read_ps, 5.0);
    }
    // t=61: ct 60000 measures its own window, t=1..61, whatever ct 1000 did in between.
    total += 6;
    tree.set(sectors(total * MIB_SECTORS, 0));
    let s = c.sample(60000, at(61));
    let expected_bytes = (total - 10) * MIB * 1000 / 60_000;
    assert_eq!(s.root.stats.read_bytes, expected_bytes);
    // ...and ct 1000 still sees only its last second.
    let s = c.sample(1000, at(61));
    assert_eq!(s.root.stats.read_ps, 6.0);
}

#[test]
fn busiest_guess_stays_put_across_rereads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("proc/1")).unwrap();
    for f in ["proc/1/mountinfo", "proc/filesystems", "proc/diskstats"] {
        std::fs::copy(fixture("zfs").join(f), dir.join(f)).unwrap();
    }
    let t0 = Instant::now();
    let mut c = collector(&settings(dir), &FakeStatfs::new(dir), t0);
    assert_eq!(c.filesystems()[0].io_device.as_deref(), Some("nvme0n1"));
    // sda becomes the busiest disk; the re-read a minute later keeps the earlier choice.
    std::fs::write(
        dir.join("proc/diskstats"),
        "   8       0 sda 9000000 10 900000000 3000 9000 20 900000 9000 0 7000 12000 0 0 0 0\n\
         259       0 nvme0n1 90000 10 9000000 3000 90000 20 9000000 9000 0 7000 12000 0 0 0 0\n",
    )
    .unwrap();
    c.sample(60000, t0 + Duration::from_secs(61));
    assert_eq!(c.filesystems()[0].io_device.as_deref(), Some("nvme0n1"));
}

#[test]
fn path_extra_not_probed_again_on_reread() {
    let dir = fixture("partition");
    let fake = FakeStatfs::new(&dir);
    fake.answer("/", vfs(100 * GIB, 40 * GIB, 55 * GIB));
    fake.answer("/srv/archive", vfs(2000 * GIB, 1000 * GIB, 1000 * GIB));
    let mut st = settings(&dir);
    st.extra_filesystems = parse_extra_filesystems("/srv/archive");
    st.disk_usage_cache = Some(Duration::from_secs(3600));
    let t0 = Instant::now();
    let mut c = collector(&st, &fake, t0);
    assert_eq!(
        fake.calls("/srv/archive"),
        1,
        "checked once when first seen"
    );
    c.sample(60000, t0 + Duration::from_secs(1));
    let s = c.sample(60000, t0 + Duration::from_secs(61));
    assert_eq!(s.extra.len(), 1);
    assert_eq!(
        fake.calls("/srv/archive"),
        2,
        "neither the minute re-read nor the cache wakes the disk"
    );
}
