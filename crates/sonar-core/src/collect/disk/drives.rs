//! Windows: every fixed drive's usage from sysinfo (GetDiskFreeSpaceExW), where Linux reads the
//! mount table and calls statvfs. The system drive (%SystemDrive%, normally C:) is the root disk
//! of `d`/`du`/`dp`; every other fixed drive is an `efs` entry named by its letter ("D:").
//! sysinfo 0.26 has no per-drive I/O counters on Windows: the I/O rates stay 0 and the
//! zero-omitted ones (`dio`, `dios`, `rb`, `wb`) are left out; `doctor` says so.

use super::io::IoRates;
use super::statfs::RawUsage;
use super::{fs_usage, DiskSample};
use crate::collect::portable::FixedDisk;

#[cfg(windows)]
pub(super) struct Drives {
    sys: crate::collect::portable::System,
    system_drive: String,
}

#[cfg(windows)]
impl Drives {
    pub fn new() -> Self {
        Drives {
            sys: crate::collect::portable::new_system(),
            system_drive: std::env::var("SystemDrive").unwrap_or_else(|_| "C:".to_string()),
        }
    }

    pub fn sample(&mut self) -> DiskSample {
        split(
            crate::collect::portable::fixed_disks(&mut self.sys),
            &self.system_drive,
        )
    }
}

/// The drive letter part of a mount point: `C:\` → `C:`.
fn drive_name(mount_point: &str) -> &str {
    mount_point.trim_end_matches(['\\', '/'])
}

/// Root (the system drive, else the first drive) and the other drives as extras.
#[cfg_attr(not(windows), allow(dead_code))]
pub(super) fn split(disks: Vec<FixedDisk>, system_drive: &str) -> DiskSample {
    let is_system = |d: &FixedDisk| drive_name(&d.mount_point).eq_ignore_ascii_case(system_drive);
    let root_index = disks.iter().position(is_system).unwrap_or(0);
    let mut sample = DiskSample::default();
    for (index, disk) in disks.into_iter().enumerate() {
        let usage = fs_usage(
            RawUsage {
                total: disk.total,
                used: disk.total.saturating_sub(disk.available),
                avail: disk.available,
            },
            IoRates::default(),
        );
        if index == root_index {
            sample.root = usage;
        } else {
            sample
                .extra
                .push((drive_name(&disk.mount_point).to_string(), usage));
        }
    }
    sample
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    fn disk(mount_point: &str, total_gib: u64, free_gib: u64) -> FixedDisk {
        FixedDisk {
            mount_point: mount_point.to_string(),
            total: total_gib * GIB,
            available: free_gib * GIB,
        }
    }

    #[test]
    fn the_system_drive_is_root_and_the_others_are_extras_by_letter() {
        let sample = split(
            vec![
                disk("C:\\", 100, 25),
                disk("D:\\", 50, 50),
                disk("E:\\", 10, 1),
            ],
            "c:",
        );
        assert_eq!(sample.root.stats.disk_total, 100.0);
        assert_eq!(sample.root.stats.disk_used, 75.0);
        assert_eq!(sample.root.pct, 75.0);
        let names: Vec<&str> = sample.extra.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["D:", "E:"]);
        assert_eq!(sample.extra[1].1.pct, 90.0);
    }

    #[test]
    fn without_the_system_drive_the_first_drive_is_root() {
        let sample = split(vec![disk("D:\\", 50, 10), disk("E:\\", 10, 5)], "C:");
        assert_eq!(sample.root.stats.disk_total, 50.0);
        assert_eq!(sample.extra.len(), 1);
    }

    #[test]
    fn no_drives_no_figures() {
        assert_eq!(split(Vec::new(), "C:"), DiskSample::default());
    }
}
