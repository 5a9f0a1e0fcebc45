//! The mount table a scrape reports, re-read only when it changed: /proc's mountinfo tells a
//! poller when its namespace's mounts changed (POLLPRI, the way systemd and udisks watch it), so
//! a scrape that finds no change reuses the parsed table instead of having the kernel print every
//! mount again (a tenth of a scrape's kernel time here, bench:metrics). A table that is not
//! procfs's (a fixture tree given as HOST_PROC) is read every time.

use super::kept_files::{kernel_generated, read_from_start};
use crate::collect::disk::mountinfo::{parse_mountinfo, Partition};
use std::fs::File;
use std::path::{Path, PathBuf};

#[derive(Default)]
pub(crate) struct MountTable {
    /// the mountinfo file watched, and the table parsed from it when it last changed
    watched: Option<(PathBuf, File, Vec<Partition>)>,
    bytes: Vec<u8>,
}

impl MountTable {
    /// The mounts of the first of `paths` that can be read (HOST_PROC's 1/mountinfo, then
    /// self's); None when none can.
    pub fn partitions(&mut self, paths: &[PathBuf]) -> Option<&[Partition]> {
        let unchanged = match &self.watched {
            Some((path, file, _)) => paths.first() == Some(path) && !changed(file),
            None => false,
        };
        if !unchanged {
            self.watched = None;
            for path in paths {
                if let Some(watched) = self.read(path) {
                    self.watched = Some(watched);
                    break;
                }
            }
        }
        self.watched.as_ref().map(|(_, _, parts)| parts.as_slice())
    }

    fn read(&mut self, path: &Path) -> Option<(PathBuf, File, Vec<Partition>)> {
        let file = File::open(path).ok()?;
        let n = read_from_start(&file, &mut self.bytes, usize::MAX).ok()?;
        let text = std::str::from_utf8(self.bytes.get(..n)?).ok()?;
        let partitions = parse_mountinfo(text);
        Some((path.to_path_buf(), file, partitions))
    }
}

/// Whether the mount table behind `file` may have changed since it was read or last asked: true
/// unless procfs says it did not.
fn changed(file: &File) -> bool {
    !kernel_generated(file) || polled_change(file).unwrap_or(true)
}

#[cfg(target_os = "linux")]
fn polled_change(file: &File) -> Option<bool> {
    use std::os::fd::AsRawFd;
    let mut fd = libc::pollfd {
        fd: file.as_raw_fd(),
        events: libc::POLLPRI,
        revents: 0,
    };
    // SAFETY: one valid pollfd, a zero timeout (never blocks).
    let ready = unsafe { libc::poll(&mut fd, 1, 0) };
    if ready < 0 {
        return None;
    }
    Some(fd.revents & (libc::POLLPRI | libc::POLLERR) != 0)
}

#[cfg(not(target_os = "linux"))]
fn polled_change(_file: &File) -> Option<bool> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn procfs_mountinfo_is_parsed_once_until_it_changes() {
        let mut table = MountTable::default();
        let paths = [PathBuf::from("/proc/self/mountinfo")];
        let first = table.partitions(&paths).map(<[Partition]>::len);
        assert!(first.is_some_and(|n| n > 0));
        let (_, file, _) = table.watched.as_ref().unwrap();
        assert!(kernel_generated(file));
        assert!(
            !changed(file),
            "nothing mounted in between: no change reported"
        );
        assert_eq!(table.partitions(&paths).map(<[Partition]>::len), first);
    }

    /// A mount in a private namespace (this test thread's own: the host's table is untouched)
    /// is seen by the next reading. Needs CAP_SYS_ADMIN; says so and stops without it.
    #[test]
    #[cfg(target_os = "linux")]
    fn a_mount_made_after_the_first_reading_is_seen_by_the_next() {
        let outcome = std::thread::spawn(|| -> Result<(usize, usize, usize), String> {
            use std::ffi::CString;
            // SAFETY: unshare and mount with valid NUL-terminated strings; they affect this thread
            // only (CLONE_NEWNS unshares its filesystem context too).
            if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
                return Err(format!("unshare: {}", std::io::Error::last_os_error()));
            }
            let root = CString::new("/").unwrap();
            let none = CString::new("none").unwrap();
            let tmpfs = CString::new("tmpfs").unwrap();
            // SAFETY: as above; no mount event of ours may reach the host's namespace
            if unsafe {
                libc::mount(
                    std::ptr::null(),
                    root.as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                )
            } != 0
            {
                return Err(format!(
                    "make-rprivate: {}",
                    std::io::Error::last_os_error()
                ));
            }
            let dir =
                std::env::temp_dir().join(format!("sonar-mount-table-new-{}", std::process::id()));
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let target = CString::new(dir.to_string_lossy().as_bytes()).unwrap();
            let mut table = MountTable::default();
            let paths = [PathBuf::from("/proc/thread-self/mountinfo")];
            let before = table.partitions(&paths).map_or(0, <[Partition]>::len);
            let unchanged = table.partitions(&paths).map_or(0, <[Partition]>::len);
            // SAFETY: as above
            if unsafe {
                libc::mount(
                    none.as_ptr(),
                    target.as_ptr(),
                    tmpfs.as_ptr(),
                    0,
                    std::ptr::null(),
                )
            } != 0
            {
                return Err(format!("mount: {}", std::io::Error::last_os_error()));
            }
            let after = table.partitions(&paths).map_or(0, <[Partition]>::len);
            // SAFETY: as above
            unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
            let _ = std::fs::remove_dir(&dir);
            Ok((before, unchanged, after))
        })
        .join()
        .unwrap_or_else(|_| Err("the test thread panicked".into()));
        match outcome {
            Ok((before, unchanged, after)) => {
                assert!(before > 0);
                assert_eq!(unchanged, before);
                assert_eq!(after, before + 1, "the new tmpfs is in the next reading");
            }
            Err(why) => eprintln!("SKIPPED a_mount_made_after_the_first_reading_is_seen_by_the_next: needs CAP_SYS_ADMIN ({why})"),
        }
    }

    #[test]
    fn a_table_outside_procfs_is_read_every_time() {
        let dir = std::env::temp_dir().join(format!("sonar-mount-table-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("mountinfo");
        let line =
            |n: u32| format!("{n} 1 8:1 / /mnt/d{n} rw,relatime shared:1 - ext4 /dev/sda{n} rw\n");
        std::fs::write(&path, line(1)).unwrap();
        let mut table = MountTable::default();
        let paths = [path.clone()];
        assert_eq!(table.partitions(&paths).map(<[Partition]>::len), Some(1));
        std::fs::write(&path, format!("{}{}", line(1), line(2))).unwrap();
        assert_eq!(table.partitions(&paths).map(<[Partition]>::len), Some(2));
        // gone: the next path is tried, none left → None
        std::fs::remove_file(&path).unwrap();
        assert_eq!(table.partitions(&paths).map(<[Partition]>::len), None);
        let _ = std::fs::remove_dir_all(dir);
    }
}
