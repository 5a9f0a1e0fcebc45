//! Resident pages of mapped files. When a process faults on a page of a mapped file, Linux maps
//! the neighbouring pages already in the page cache with it (fault-around, 64 KiB), and readahead
//! has put most of a freshly loaded file there: so a daemon that runs a small part of a large
//! binary or library is charged for most of it. `trim` drops this process's pages of a file's
//! read-only mappings and, once nothing maps them, the file's cached pages; with readahead off for
//! those mappings, what comes back is what the process really runs (`npm run bench:footprint`).
//! Only code and read-only data are touched: mappings with private (copied-on-write) pages — the
//! relocated data — are left alone, so no content ever changes.

use std::path::Path;

/// What `trim` did to one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trimmed {
    /// read-only mappings whose pages were dropped
    pub mappings: usize,
    /// bytes they spanned
    pub bytes: u64,
}

/// One line of /proc/self/maps that `trim` may act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub start: usize,
    pub end: usize,
    pub perms: String,
    pub path: String,
}

/// The mappings of `maps` (the text of /proc/self/maps) whose file is `path`.
pub fn mappings_of(maps: &str, path: &str) -> Vec<Mapping> {
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let range = fields.next()?;
            let perms = fields.next()?;
            // offset, device, inode, then the path (which may hold spaces)
            let rest: Vec<&str> = fields.skip(3).collect();
            let file = rest.join(" ");
            if file != path {
                return None;
            }
            let (start, end) = range.split_once('-')?;
            Some(Mapping {
                start: usize::from_str_radix(start, 16).ok()?,
                end: usize::from_str_radix(end, 16).ok()?,
                perms: perms.to_string(),
                path: file,
            })
        })
        .collect()
}

/// The start addresses of the mappings that hold private (copied) pages, from /proc/self/smaps:
/// relocated data, which must never be dropped.
pub fn with_private_pages(smaps: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut current: Option<usize> = None;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((start, _)) = first.split_once('-') {
            if let Ok(start) = usize::from_str_radix(start, 16) {
                current = Some(start);
                continue;
            }
        }
        // copied-on-write pages are anonymous (a page dirty in the page cache is Private_Dirty
        // but not copied: it is the file's)
        let private = line.strip_prefix("Anonymous:");
        if let (Some(value), Some(start)) = (private, current) {
            let kb: u64 = value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .unwrap_or(1);
            if kb > 0 && !out.contains(&start) {
                out.push(start);
            }
        }
    }
    out
}

/// Drops this process's pages of `path`'s read-only, unmodified mappings and the file's page
/// cache, and turns readahead off for them. Linux only; elsewhere nothing happens.
#[cfg(target_os = "linux")]
pub fn trim(path: &Path) -> std::io::Result<Trimmed> {
    use std::os::unix::io::AsRawFd;
    let name = path.to_string_lossy().into_owned();
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let private = with_private_pages(&smaps);
    let mut done = Trimmed::default();
    for m in mappings_of(&maps, &name) {
        if m.perms.contains('w') || private.contains(&m.start) || m.end <= m.start {
            continue;
        }
        let len = m.end - m.start;
        // SAFETY: the range is a whole mapping of this process, read-only and without private
        // pages: dropping its pages only makes the next access read them from the file again.
        unsafe {
            libc::madvise(m.start as *mut libc::c_void, len, libc::MADV_RANDOM);
            libc::madvise(m.start as *mut libc::c_void, len, libc::MADV_DONTNEED);
        }
        done.mappings += 1;
        done.bytes += len as u64;
    }
    let file = std::fs::File::open(path)?;
    // SAFETY: advice on an open descriptor; it changes no data.
    unsafe {
        libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
    }
    Ok(done)
}

#[cfg(not(target_os = "linux"))]
pub fn trim(_path: &Path) -> std::io::Result<Trimmed> {
    Ok(Trimmed::default())
}

/// The file this code was loaded from (the addon, when the core runs inside one).
#[cfg(unix)]
pub fn own_file() -> Option<std::path::PathBuf> {
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr only reads the loader's tables for an address inside this library.
    let found = unsafe { libc::dladdr(own_file as *const libc::c_void, &mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dli_fname is a NUL-terminated path owned by the loader.
    let name = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
    std::fs::canonicalize(name.to_string_lossy().as_ref()).ok()
}

#[cfg(not(unix))]
pub fn own_file() -> Option<std::path::PathBuf> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: &str = "\
7f0000000000-7f0000010000 r--p 00000000 fd:01 42 /opt/a b/addon.node
7f0000010000-7f0000200000 r-xp 00010000 fd:01 42 /opt/a b/addon.node
7f0000200000-7f0000210000 r--p 00200000 fd:01 42 /opt/a b/addon.node
7f0000210000-7f0000211000 rw-p 00210000 fd:01 42 /opt/a b/addon.node
7f0000300000-7f0000301000 r-xp 00000000 fd:01 43 /opt/other.node
";

    #[test]
    fn finds_a_files_mappings_also_with_spaces_in_its_path() {
        let found = mappings_of(MAPS, "/opt/a b/addon.node");
        assert_eq!(found.len(), 4);
        assert_eq!(found[1].start, 0x7f00_0001_0000);
        assert_eq!(found[1].perms, "r-xp");
    }

    #[test]
    fn relocated_read_only_data_is_recognised_by_its_private_pages() {
        let smaps = "\
7f0000200000-7f0000210000 r--p 00200000 fd:01 42 /opt/a b/addon.node
Size:                 64 kB
Private_Dirty:         8 kB
Anonymous:             8 kB
7f0000010000-7f0000200000 r-xp 00010000 fd:01 42 /opt/a b/addon.node
Private_Dirty:         0 kB
Anonymous:             0 kB
";
        assert_eq!(with_private_pages(smaps), vec![0x7f00_0020_0000]);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn trimming_a_mapped_file_keeps_its_content() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("sonar-resident-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("data.bin");
        let content: Vec<u8> = (0..256 * 1024).map(|i| (i % 251) as u8).collect();
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&content)
            .unwrap();
        let file = std::fs::File::open(&path).unwrap();
        use std::os::unix::io::AsRawFd;
        // SAFETY: a private read-only mapping of a file this test owns, unmapped below.
        let at = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                content.len(),
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        assert_ne!(at, libc::MAP_FAILED);
        // SAFETY: the mapping is content.len() bytes long.
        let mapped = unsafe { std::slice::from_raw_parts(at as *const u8, content.len()) };
        assert_eq!(mapped[1000], content[1000]);
        let done = trim(&path).unwrap();
        assert_eq!(done.mappings, 1);
        assert!(
            mapped == content.as_slice(),
            "the bytes read again are the file's"
        );
        // SAFETY: unmapping what this test mapped.
        unsafe { libc::munmap(at, content.len()) };
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
