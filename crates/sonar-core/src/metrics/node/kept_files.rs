//! The /proc and /sys files a scrape re-reads, kept open between scrapes and read again from
//! offset 0: the kernel generates their text afresh on every read at 0, so the answer is the
//! same as a new open's, without the open — a path walk through /proc/self or sysfs symlinks,
//! a permission check and a file allocation, about a third of a scrape's kernel time here
//! (bench:metrics) — or the close and the size lookup `read_to_string` makes.
//!
//! Only files of procfs and sysfs are kept: a regular file (os-release, a test's fixture tree)
//! may be replaced by a rename, which an open descriptor would never see. A kept file that stops
//! answering (its device is gone: ENODEV) is closed and opened again by path; files a reading
//! did not ask for are closed at its end, so a removed device's files do not linger.

use crate::filter::glob_match;
use crate::fnv::FnvHashMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// At most this many descriptors are kept (a host with hundreds of network devices): beyond it
/// a file is opened for each read, as without the cache.
const MAX_KEPT: usize = 256;

/// One sysfs attribute is at most a page; a read asks for that much.
const ATTRIBUTE_BYTES: usize = 4096;

struct Kept {
    file: File,
    /// the reading that last asked for it
    round: u64,
}

struct KeptListing {
    dir: listing::Dir,
    round: u64,
}

pub(crate) struct KeptFiles {
    /// by path bytes (a `PathBuf` key hashes component by component)
    kept: FnvHashMap<OsString, Kept>,
    /// directories listed every reading (/sys/class/net, …), rewound instead of reopened
    listings: FnvHashMap<OsString, KeptListing>,
    round: u64,
    /// keep files of any filesystem (tests of the mechanism on a fixture tree)
    any_filesystem: bool,
    bytes: Vec<u8>,
}

impl KeptFiles {
    pub fn new() -> Self {
        KeptFiles {
            kept: FnvHashMap::default(),
            listings: FnvHashMap::default(),
            round: 0,
            any_filesystem: false,
            bytes: Vec::new(),
        }
    }

    #[cfg(test)]
    fn keeping_any_filesystem() -> Self {
        KeptFiles {
            any_filesystem: true,
            ..Self::new()
        }
    }

    /// How many descriptors are held now.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.kept.len()
    }

    /// A whole file's text into `buf` (cleared first); false, with `buf` empty, when it cannot
    /// be read or is not UTF-8.
    pub fn read_into(&mut self, path: &Path, buf: &mut String) -> bool {
        buf.clear();
        let mut bytes = std::mem::take(&mut self.bytes);
        let read = self.read_bytes(path, &mut bytes, usize::MAX);
        let ok = match read.and_then(|n| std::str::from_utf8(bytes.get(..n)?).ok()) {
            Some(text) => {
                buf.push_str(text);
                true
            }
            None => false,
        };
        self.bytes = bytes;
        ok
    }

    /// A sysfs attribute's text, trimmed (one read: an attribute is at most a page).
    pub fn attribute(&mut self, path: &Path) -> Option<String> {
        let mut bytes = std::mem::take(&mut self.bytes);
        let read = self.read_bytes(path, &mut bytes, ATTRIBUTE_BYTES);
        let text = read
            .and_then(|n| bytes.get(..n))
            .map(|b| String::from_utf8_lossy(b).trim().to_string());
        self.bytes = bytes;
        text
    }

    /// The entries of `dir` whose names match the glob `pattern`, sorted by name, as paths (as
    /// `collect::hwmon::sorted_matches`). Only for directories that stay (a class directory,
    /// not a device's): a kept listing of a removed directory would read as empty.
    pub fn sorted_matches(&mut self, dir: &Path, pattern: &str) -> Vec<PathBuf> {
        let mut names: Vec<(String, OsString)> = self
            .list(dir)
            .into_iter()
            .flatten()
            .map(|raw| (raw.to_string_lossy().into_owned(), raw))
            .filter(|(name, _)| glob_match(pattern, name))
            .collect();
        names.sort();
        names.into_iter().map(|(_, raw)| dir.join(raw)).collect()
    }

    fn list(&mut self, dir: &Path) -> Option<Vec<OsString>> {
        if let Some(kept) = self.listings.get_mut(dir.as_os_str()) {
            kept.round = self.round;
            if let Ok(names) = kept.dir.names() {
                return Some(names);
            }
            self.listings.remove(dir.as_os_str());
        }
        let mut opened = listing::Dir::open(dir)?;
        let names = opened.names().ok()?;
        if self.listings.len() < MAX_KEPT && (self.any_filesystem || opened.kernel_generated()) {
            let round = self.round;
            self.listings.insert(
                dir.as_os_str().to_owned(),
                KeptListing { dir: opened, round },
            );
        }
        Some(names)
    }

    /// Closes the files the reading now ending did not ask for; the next reading is a new round.
    pub fn end_round(&mut self) {
        let round = self.round;
        self.kept.retain(|_, kept| kept.round == round);
        self.listings.retain(|_, kept| kept.round == round);
        self.round = round.wrapping_add(1);
    }

    /// Up to `limit` bytes of the file into the start of `bytes`: how many (whole file:
    /// `usize::MAX`). `bytes` stays as long as it has grown (zeroed once, not at every read).
    fn read_bytes(&mut self, path: &Path, bytes: &mut Vec<u8>, limit: usize) -> Option<usize> {
        if let Some(kept) = self.kept.get_mut(path.as_os_str()) {
            kept.round = self.round;
            match read_from_start(&kept.file, bytes, limit) {
                Ok(n) => return Some(n),
                // the file is gone (its device was removed): forget it, try the path afresh
                Err(e) if gone(&e) => {
                    self.kept.remove(path.as_os_str());
                }
                // the file answers with an error (a device that is down, for its speed): it will
                // again next time, from the same descriptor
                Err(_) => return None,
            }
        }
        let mut file = File::open(path).ok()?;
        if self.kept.len() < MAX_KEPT && self.worth_keeping(&file) {
            let read = read_from_start(&file, bytes, limit);
            if !read.as_ref().is_err_and(gone) {
                self.kept.insert(
                    path.as_os_str().to_owned(),
                    Kept {
                        file,
                        round: self.round,
                    },
                );
            }
            read.ok()
        } else {
            read_sequentially(&mut file, bytes, limit).ok()
        }
    }

    fn worth_keeping(&self, file: &File) -> bool {
        self.any_filesystem || kernel_generated(file)
    }
}

/// A kept descriptor whose file no longer exists (sysfs answers ENODEV once its node is removed).
fn gone(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(libc::ENODEV)
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        true
    }
}

/// Whether the file is on procfs or sysfs, whose text is generated at each read from offset 0.
#[cfg(target_os = "linux")]
pub(super) fn kernel_generated(file: &File) -> bool {
    use crate::files::sys::{fs_type, PROC_SUPER_MAGIC, SYSFS_MAGIC};
    matches!(fs_type(file), Ok(PROC_SUPER_MAGIC | SYSFS_MAGIC))
}

#[cfg(not(target_os = "linux"))]
pub(super) fn kernel_generated(_file: &File) -> bool {
    false
}

/// The file's text from offset 0 into the start of `bytes` (positional reads: a kept
/// descriptor's offset never matters); how many bytes.
#[cfg(unix)]
pub(super) fn read_from_start(
    file: &File,
    bytes: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut at = 0;
    loop {
        if at >= limit {
            return Ok(at);
        }
        if at == bytes.len() {
            bytes.resize((at * 2).max(ATTRIBUTE_BYTES), 0);
        }
        let end = bytes.len().min(limit);
        match file.read_at(&mut bytes[at..end], at as u64) {
            Ok(0) => return Ok(at),
            Ok(n) => {
                at += n;
                // an attribute is one page, read whole by one call
                if limit == ATTRIBUTE_BYTES {
                    return Ok(at);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(not(unix))]
pub(super) fn read_from_start(
    file: &File,
    bytes: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<usize> {
    let mut file = file;
    read_sequentially(&mut file, bytes, limit)
}

/// A freshly opened file's text, read from its start into the start of `bytes`; how many bytes.
fn read_sequentially(
    file: &mut impl Read,
    bytes: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<usize> {
    if limit == ATTRIBUTE_BYTES {
        if bytes.len() < ATTRIBUTE_BYTES {
            bytes.resize(ATTRIBUTE_BYTES, 0);
        }
        return file.read(&mut bytes[..ATTRIBUTE_BYTES]);
    }
    bytes.clear();
    file.read_to_end(bytes)
}

/// A directory handle kept open and rewound for each listing.
#[cfg(target_os = "linux")]
mod listing {
    use std::ffi::{CStr, CString, OsStr, OsString};
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::ptr::NonNull;

    pub struct Dir(NonNull<libc::DIR>);

    // SAFETY: the DIR stream is owned by this value alone and used by one thread at a time
    // (`&mut self`), as readdir(3) asks of a stream.
    unsafe impl Send for Dir {}

    impl Drop for Dir {
        fn drop(&mut self) {
            // SAFETY: opened by opendir, closed once here.
            unsafe { libc::closedir(self.0.as_ptr()) };
        }
    }

    impl Dir {
        pub fn open(path: &Path) -> Option<Dir> {
            let path = CString::new(path.as_os_str().as_bytes()).ok()?;
            // SAFETY: a NUL-terminated path; a null answer is an error.
            NonNull::new(unsafe { libc::opendir(path.as_ptr()) }).map(Dir)
        }

        pub fn kernel_generated(&self) -> bool {
            use crate::files::sys::{PROC_SUPER_MAGIC, SYSFS_MAGIC};
            // SAFETY: the stream is open; dirfd does not transfer ownership.
            let fd = unsafe { libc::dirfd(self.0.as_ptr()) };
            // SAFETY: a zeroed statfs is a valid out-buffer; the fd is open.
            let mut st: libc::statfs = unsafe { std::mem::zeroed() };
            // SAFETY: as above.
            if unsafe { libc::fstatfs(fd, &mut st) } != 0 {
                return false;
            }
            #[allow(clippy::unnecessary_cast)] // f_type's integer type differs between libcs
            let magic = st.f_type as i64;
            magic == PROC_SUPER_MAGIC || magic == SYSFS_MAGIC
        }

        /// The names in the directory now (from its start: the stream is rewound), `.` and `..`
        /// left out.
        pub fn names(&mut self) -> std::io::Result<Vec<OsString>> {
            let dir = self.0.as_ptr();
            // SAFETY: the stream is open.
            unsafe { libc::rewinddir(dir) };
            let mut names = Vec::new();
            loop {
                // SAFETY: errno is this thread's; cleared to tell the end from an error.
                unsafe { *libc::__errno_location() = 0 };
                // SAFETY: the stream is open; the entry stays valid until the next readdir.
                let entry = unsafe { libc::readdir(dir) };
                if entry.is_null() {
                    let error = std::io::Error::last_os_error();
                    return match error.raw_os_error() {
                        Some(0) | None => Ok(names),
                        Some(_) => Err(error),
                    };
                }
                // SAFETY: d_name is NUL-terminated within the entry.
                let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) }.to_bytes();
                if name != b"." && name != b".." {
                    names.push(OsStr::from_bytes(name).to_owned());
                }
            }
        }
    }
}

/// Elsewhere a listing is read afresh each time.
#[cfg(not(target_os = "linux"))]
mod listing {
    use std::ffi::OsString;
    use std::path::{Path, PathBuf};

    pub struct Dir(PathBuf);

    impl Dir {
        pub fn open(path: &Path) -> Option<Dir> {
            path.is_dir().then(|| Dir(path.to_path_buf()))
        }

        pub fn kernel_generated(&self) -> bool {
            false
        }

        pub fn names(&mut self) -> std::io::Result<Vec<OsString>> {
            Ok(std::fs::read_dir(&self.0)?
                .flatten()
                .map(|e| e.file_name())
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sonar-kept-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_kept_proc_file_reads_the_kernels_current_text() {
        let mut files = KeptFiles::new();
        let mut first = String::new();
        // this thread's own run time (the process's main thread may be asleep meanwhile)
        let path = Path::new("/proc/thread-self/schedstat");
        assert!(files.read_into(path, &mut first));
        assert_eq!(files.held(), 1, "a procfs file is kept");
        // burn some CPU so this thread's run time moves on
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert_ne!(x, 1);
        let mut second = String::new();
        assert!(files.read_into(path, &mut second));
        assert_eq!(files.held(), 1, "read again through the same descriptor");
        assert_ne!(first, second, "a kept descriptor still gets fresh text");
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn sysfs_attributes_are_kept_and_regular_files_are_not() {
        let mut files = KeptFiles::new();
        if files
            .attribute(Path::new("/sys/kernel/mm/transparent_hugepage/enabled"))
            .is_some()
            || files
                .attribute(Path::new("/sys/class/net/lo/mtu"))
                .is_some()
        {
            assert_eq!(files.held(), 1);
        }
        let dir = temp_dir("regular");
        std::fs::write(dir.join("os-release"), "ID=debian\n").unwrap();
        let mut buf = String::new();
        assert!(files.read_into(&dir.join("os-release"), &mut buf));
        assert_eq!(buf, "ID=debian\n");
        assert!(files.held() <= 1, "a regular file is never kept");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_file_replaced_or_removed_is_read_by_path_again() {
        let dir = temp_dir("replaced");
        let path = dir.join("operstate");
        std::fs::write(&path, "up\n").unwrap();
        let mut files = KeptFiles::keeping_any_filesystem();
        assert_eq!(files.attribute(&path).as_deref(), Some("up"));
        // rewritten in place: the kept descriptor sees it
        std::fs::write(&path, "down\n").unwrap();
        assert_eq!(files.attribute(&path).as_deref(), Some("down"));
        files.end_round();
        // a round that does not ask for it closes it
        files.end_round();
        assert_eq!(files.held(), 0);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(files.attribute(&path), None);
        let mut buf = String::from("old");
        assert!(!files.read_into(&path, &mut buf));
        assert!(buf.is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn whole_files_larger_than_a_page_are_read_whole() {
        let dir = temp_dir("large");
        let path = dir.join("netstat");
        let text: String = (0..3000).map(|i| format!("Field{i} {i}\n")).collect();
        std::fs::write(&path, &text).unwrap();
        let mut files = KeptFiles::keeping_any_filesystem();
        let mut buf = String::new();
        for _ in 0..2 {
            assert!(files.read_into(&path, &mut buf));
            assert_eq!(buf, text);
        }
        assert_eq!(files.held(), 1);
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert!(!files.read_into(&path, &mut buf), "not UTF-8: not read");
        assert!(buf.is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_kept_listing_sees_entries_come_and_go() {
        let dir = temp_dir("listing");
        std::fs::write(dir.join("eth0"), "").unwrap();
        std::fs::write(dir.join("bonding_masters"), "").unwrap();
        let mut files = KeptFiles::keeping_any_filesystem();
        let names = |files: &mut KeptFiles| -> Vec<String> {
            files
                .sorted_matches(&dir, "eth*")
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(names(&mut files), ["eth0"]);
        std::fs::write(dir.join("eth1"), "").unwrap();
        assert_eq!(names(&mut files), ["eth0", "eth1"]);
        std::fs::remove_file(dir.join("eth0")).unwrap();
        assert_eq!(names(&mut files), ["eth1"]);
        assert_eq!(files.listings.len(), 1, "one handle, rewound");
        files.end_round();
        files.end_round();
        assert!(files.listings.is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn sysfs_class_directories_are_listed_as_read_dir_lists_them() {
        let mut files = KeptFiles::new();
        let dir = Path::new("/sys/class/net");
        let expected = crate::collect::hwmon::sorted_matches(dir, "*");
        assert_eq!(files.sorted_matches(dir, "*"), expected);
        assert_eq!(files.sorted_matches(dir, "*"), expected);
        if !expected.is_empty() {
            assert_eq!(files.listings.len(), 1);
        }
    }

    #[test]
    fn no_more_than_the_bound_is_held() {
        let dir = temp_dir("bound");
        let mut files = KeptFiles::keeping_any_filesystem();
        for i in 0..MAX_KEPT + 10 {
            let path = dir.join(format!("f{i}"));
            std::fs::write(&path, format!("{i}\n")).unwrap();
            assert_eq!(files.attribute(&path), Some(i.to_string()));
        }
        assert_eq!(files.held(), MAX_KEPT);
        let _ = std::fs::remove_dir_all(dir);
    }
}
