//! Which filesystems are tracked, and which `/proc/diskstats` device carries each one's I/O
//! (spec §3.2). A filesystem is mapped to its device by, in order: the `major:minor` mountinfo
//! reports (covers /dev/root, dm/LUKS/LVM, md and plain partitions), the device's basename, the
//! device-mapper name (`/dev/mapper/<name>` ↔ `<sys>/block/dm-*/dm/name`), then the Go agent's
//! fallbacks (basename of the mountpoint or folder for extras; the busiest untracked disk for root).

use super::diskstats::{busiest, DiskStat};
use super::mountinfo::Partition;
use super::statfs::Probe;
use crate::roots::{read_text, read_trimmed, Roots};
use crate::settings::Settings;
use crate::warnings::warn_once;
use std::collections::HashSet;

pub(super) const EXTRA_FS_DIR: &str = "/extra-filesystems";
/// Files Docker bind-mounts into a container from the host's root filesystem.
const DOCKER_BIND_MOUNTS: [&str; 3] = ["/etc/hosts", "/etc/resolv.conf", "/etc/hostname"];

/// One tracked filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedFs {
    /// The diskstats device when one was found, else the basename of the mount source: the
    /// default `efs` key.
    pub key: String,
    /// Custom name from `EXTRA_FILESYSTEMS` (`dev__Name`) or an `/extra-filesystems/dev__Name`
    /// folder; replaces the key in `efs`.
    pub name: Option<String>,
    /// Where statvfs looks, as mountinfo names it (the host's view).
    pub mountpoint: String,
    pub root: bool,
    /// The `/proc/diskstats` device whose counters give this filesystem's I/O.
    pub io_device: Option<String>,
}

impl TrackedFs {
    /// The `efs` key: the custom name, else the device key.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.key)
    }
}

fn basename(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// `device[__Custom Name]`, split on the first `__`; an empty name is no name.
fn split_entry(entry: &str) -> (&str, Option<String>) {
    match entry.split_once("__") {
        Some((device, name)) => {
            let name = name.trim();
            (device.trim(), (!name.is_empty()).then(|| name.to_string()))
        }
        None => (entry.trim(), None),
    }
}

struct Lookup<'a> {
    disks: &'a [DiskStat],
    /// (device-mapper name, dm-N).
    dm_names: Vec<(String, String)>,
}

impl<'a> Lookup<'a> {
    fn new(roots: &Roots, disks: &'a [DiskStat]) -> Lookup<'a> {
        let mut dm_names = Vec::new();
        if let Ok(entries) = std::fs::read_dir(roots.sys("block")) {
            for entry in entries.flatten() {
                let dev = entry.file_name().to_string_lossy().into_owned();
                if !dev.starts_with("dm-") {
                    continue;
                }
                if let Some(name) = read_trimmed(&entry.path().join("dm/name")) {
                    dm_names.push((name, dev));
                }
            }
        }
        Lookup { disks, dm_names }
    }

    fn has(&self, name: &str) -> bool {
        self.disks.iter().any(|d| d.name == name)
    }

    fn by_devnum(&self, devnum: Option<(u32, u32)>) -> Option<String> {
        let (major, minor) = devnum?;
        self.disks
            .iter()
            .find(|d| d.major == major && d.minor == minor)
            .map(|d| d.name.clone())
    }

    /// A diskstats name, or a device-mapper name resolved to its dm-N.
    fn by_name(&self, name: &str) -> Option<String> {
        if name.is_empty() {
            return None;
        }
        if self.has(name) {
            return Some(name.to_string());
        }
        self.dm_names
            .iter()
            .find(|(dm_name, dev)| dm_name == name && self.has(dev))
            .map(|(_, dev)| dev.clone())
    }

    fn for_partition(&self, p: &Partition) -> Option<String> {
        self.by_devnum(p.devnum).or_else(|| {
            let name = p
                .device
                .strip_prefix("/dev/mapper/")
                .unwrap_or_else(|| basename(&p.device));
            self.by_name(name)
        })
    }
}

/// `/sysroot` on ostree systems (Silverblue, CoreOS, Flatcar…), where `/` is a deployment view.
pub(super) fn root_mount_point(roots: &Roots) -> String {
    if roots.root.join("sysroot").exists() {
        let os = read_text(&roots.etc("os-release")).unwrap_or_default();
        let immutable = (os.contains("fedora") && os.contains("silverblue"))
            || ["coreos", "flatcar", "rhel-atomic", "centos-atomic"]
                .iter()
                .any(|marker| os.contains(marker));
        if immutable || roots.root.join("run/ostree").exists() {
            return "/sysroot".to_string();
        }
    }
    "/".to_string()
}

#[derive(Default)]
struct Tracked {
    list: Vec<TrackedFs>,
}

impl Tracked {
    fn has_key(&self, key: &str) -> bool {
        self.list.iter().any(|f| f.key == key)
    }

    /// The first filesystem with a key wins, as in the Go agent.
    fn add(&mut self, fs: TrackedFs) {
        if !fs.key.is_empty() && !self.has_key(&fs.key) {
            self.list.push(fs);
        }
    }
}

/// Decides the tracked filesystems; root comes first. `previous_root_io` is the device an earlier
/// run gave root, kept when only the busiest-disk guess would pick one (so the guess does not
/// flip between re-reads). `probe` runs statvfs on a mountpoint (for `EXTRA_FILESYSTEMS` entries
/// that are plain paths).
pub(super) fn discover(
    settings: &Settings,
    partitions: &[Partition],
    disks: &[DiskStat],
    previous_root_io: Option<&str>,
    probe: &mut dyn FnMut(&str) -> Probe,
) -> Vec<TrackedFs> {
    let roots = &settings.roots;
    let lookup = Lookup::new(roots, disks);
    let root_mp = root_mount_point(roots);
    let filesystem = settings
        .filesystem
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty());
    let mut tracked = Tracked::default();

    // 1. FILESYSTEM: a partition by device suffix or mountpoint, else a disk named directly.
    let mut root: Option<TrackedFs> = None;
    if let Some(fs) = filesystem {
        if let Some(p) = partitions
            .iter()
            .find(|p| p.device.ends_with(fs) || p.mountpoint == fs)
        {
            let io = lookup.for_partition(p);
            root = Some(TrackedFs {
                key: io
                    .clone()
                    .unwrap_or_else(|| basename(&p.device).to_string()),
                name: None,
                mountpoint: p.mountpoint.clone(),
                root: true,
                io_device: io,
            });
        } else if let Some(io) = lookup.by_name(basename(fs)) {
            // ZFS and similar: the pool's disk never appears as a mount source.
            root = Some(TrackedFs {
                key: io.clone(),
                name: None,
                mountpoint: root_mp.clone(),
                root: true,
                io_device: Some(io),
            });
        } else {
            warn_once(&format!("FILESYSTEM:{fs}"), || {
                format!(
                    "FILESYSTEM: {fs:?} matches no mounted partition (by device or mount point, \
                     in the mount table under {}) and no disk in {}: the root filesystem is \
                     chosen as if it were unset",
                    roots.proc.display(),
                    roots.proc("diskstats").display(),
                )
            });
        }
    }

    // 2. The partition at the root mount point, or inside Docker one of the files bind-mounted
    //    from the host's root filesystem; accepted only with a known diskstats device.
    if root.is_none() {
        root = partitions
            .iter()
            .filter(|p| {
                p.mountpoint == root_mp
                    || (DOCKER_BIND_MOUNTS.contains(&p.mountpoint.as_str())
                        && p.device.starts_with("/dev"))
            })
            .find_map(|p| {
                lookup.for_partition(p).map(|io| TrackedFs {
                    key: io.clone(),
                    name: None,
                    mountpoint: p.mountpoint.clone(),
                    root: true,
                    io_device: Some(io),
                })
            });
    }
    if let Some(r) = &root {
        tracked.add(r.clone());
    }

    // 3. EXTRA_FILESYSTEMS: a partition by device suffix or mountpoint, else any path statvfs
    //    can read.
    for entry in &settings.extra_filesystems {
        let wanted = entry.device.trim();
        if wanted.is_empty() {
            continue;
        }
        if let Some(p) = partitions
            .iter()
            .find(|p| p.device.ends_with(wanted) || p.mountpoint == wanted)
        {
            // The mountpoint fallback is the Go agent's answer for LUKS volumes named after
            // their disk.
            let io = lookup
                .for_partition(p)
                .or_else(|| lookup.by_name(basename(&p.mountpoint)));
            tracked.add(TrackedFs {
                key: io
                    .clone()
                    .unwrap_or_else(|| basename(&p.device).to_string()),
                name: entry.name.clone(),
                mountpoint: p.mountpoint.clone(),
                root: false,
                io_device: io,
            });
        } else if probe(wanted) != Probe::Failed {
            // A timeout keeps the entry: it exists but hangs, and is reported once it answers.
            let io = lookup.by_name(basename(wanted));
            tracked.add(TrackedFs {
                key: basename(wanted).to_string(),
                name: entry.name.clone(),
                mountpoint: wanted.to_string(),
                root: false,
                io_device: io,
            });
        } else {
            warn_once(&format!("EXTRA_FILESYSTEMS:{wanted}"), || {
                format!(
                    "EXTRA_FILESYSTEMS: {wanted:?} matches no mounted partition (by device or \
                     mount point, in the mount table under {}) and no readable path: it is not \
                     reported",
                    roots.proc.display(),
                )
            });
        }
    }

    // 4. Partitions mounted directly under /extra-filesystems: I/O from the real device, the
    //    folder (`sdb1__Backup`) gives the custom name and the fallback device.
    for p in partitions {
        let Some(folder) = p
            .mountpoint
            .strip_prefix(EXTRA_FS_DIR)
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|rest| !rest.is_empty() && !rest.contains('/'))
        else {
            continue;
        };
        let (folder_device, name) = split_entry(folder);
        let io = lookup
            .for_partition(p)
            .or_else(|| lookup.by_name(folder_device));
        let key = match &io {
            Some(io) => io.clone(),
            None if !basename(&p.device).is_empty() => basename(&p.device).to_string(),
            None => folder_device.to_string(),
        };
        tracked.add(TrackedFs {
            key,
            name,
            mountpoint: p.mountpoint.clone(),
            root: false,
            io_device: io,
        });
    }

    // 5. Folders in /extra-filesystems that are not mounts we already track.
    let mut folders: Vec<String> =
        std::fs::read_dir(roots.root.join(EXTRA_FS_DIR.trim_start_matches('/')))
            .map(|entries| {
                entries
                    .flatten()
                    // d_type from the directory listing: no stat on a possibly hung mount.
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
    folders.sort();
    for folder in &folders {
        let mountpoint = format!("{EXTRA_FS_DIR}/{folder}");
        if tracked.list.iter().any(|f| f.mountpoint == mountpoint) {
            continue;
        }
        let (device, name) = split_entry(folder);
        let device = if device.is_empty() { folder } else { device };
        let io = lookup.by_name(device);
        tracked.add(TrackedFs {
            key: io.clone().unwrap_or_else(|| device.to_string()),
            name,
            mountpoint,
            root: false,
            io_device: io,
        });
    }

    // 6. Root without a device yet: the disk FILESYSTEM names, else the busiest disk that no
    //    other filesystem claims.
    let mut root = root.unwrap_or_else(|| TrackedFs {
        key: "root".to_string(),
        name: None,
        mountpoint: root_mp,
        root: true,
        io_device: None,
    });
    if root.io_device.is_none() {
        let claimed: HashSet<String> = tracked
            .list
            .iter()
            .filter(|f| !f.root)
            .filter_map(|f| f.io_device.clone())
            .collect();
        let io = filesystem
            .and_then(|fs| lookup.by_name(basename(fs)))
            .filter(|io| !claimed.contains(io))
            .or_else(|| {
                previous_root_io
                    .filter(|io| lookup.has(io) && !claimed.contains(*io))
                    .map(str::to_string)
            })
            .or_else(|| busiest(disks, &claimed).map(str::to_string));
        if let Some(io) = io {
            root.key = io.clone();
            root.io_device = Some(io);
        }
    }
    tracked.list.retain(|f| !f.root);
    // An extra on the device root now uses yields to root.
    if root.io_device.is_some() {
        tracked.list.retain(|f| f.io_device != root.io_device);
    }
    tracked.list.insert(0, root);
    tracked.list
}
