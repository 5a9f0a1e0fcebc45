//! The system calls of the file jail, each wrapped once: descriptors are `OwnedFd`s (closed on
//! every path out), errors are `io::Error`s with the errno kept.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// What `fstat` says about an open file, reduced to what the jail checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime_ms: i64,
}

impl Stat {
    // stat's field types differ between targets (st_nlink is u32 on aarch64)
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    fn from(st: &libc::stat) -> Stat {
        Stat {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            mode: st.st_mode,
            nlink: st.st_nlink as u64,
            uid: st.st_uid,
            gid: st.st_gid,
            size: u64::try_from(st.st_size).unwrap_or(0),
            mtime_ms: (st.st_mtime as i64).saturating_mul(1000)
                + st.st_mtime_nsec as i64 / 1_000_000,
        }
    }

    /// (st_dev, st_ino): the file itself, whatever name reached it.
    pub fn identity(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }

    pub fn file_type(&self) -> u32 {
        self.mode & libc::S_IFMT
    }

    pub fn is_dir(&self) -> bool {
        self.file_type() == libc::S_IFDIR
    }

    pub fn is_regular(&self) -> bool {
        self.file_type() == libc::S_IFREG
    }

    pub fn is_symlink(&self) -> bool {
        self.file_type() == libc::S_IFLNK
    }

    /// "a FIFO", "a socket"… for messages.
    pub fn kind_name(&self) -> &'static str {
        match self.file_type() {
            libc::S_IFREG => "a regular file",
            libc::S_IFDIR => "a directory",
            libc::S_IFLNK => "a symbolic link",
            libc::S_IFIFO => "a FIFO",
            libc::S_IFSOCK => "a socket",
            libc::S_IFCHR => "a character device",
            libc::S_IFBLK => "a block device",
            _ => "an unknown kind of file",
        }
    }
}

fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn owned(fd: libc::c_long) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the kernel just returned this descriptor to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub fn cstring(name: &str) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

pub fn openat(
    dir: RawFd,
    name: &CStr,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> io::Result<OwnedFd> {
    loop {
        // SAFETY: `name` is NUL-terminated; the result is checked and owned at once.
        let fd = unsafe { libc::openat(dir, name.as_ptr(), flags | libc::O_CLOEXEC, mode) };
        match owned(libc::c_long::from(fd)) {
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            other => return other,
        }
    }
}

// openat2(2) (Linux 5.6): not every libc crate version wraps it, so the syscall is made directly
// with the kernel's own `struct open_how` (include/uapi/linux/openat2.h).
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

pub fn openat2(dir: RawFd, path: &CStr, flags: libc::c_int, resolve: u64) -> io::Result<OwnedFd> {
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u32 as u64,
        mode: 0,
        resolve,
    };
    loop {
        // SAFETY: `path` is NUL-terminated and `how` is a valid open_how of the size we pass.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir,
                path.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        match owned(fd) {
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            other => return other,
        }
    }
}

pub fn fstat(fd: &OwnedFd) -> io::Result<Stat> {
    // SAFETY: a zeroed stat is a valid out-buffer; the fd is open.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    Ok(Stat::from(&st))
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`: the entry itself, a symbolic link as a link.
pub fn fstatat_nofollow(dir: &OwnedFd, name: &CStr) -> io::Result<Stat> {
    // SAFETY: as in `fstat`; `name` is NUL-terminated.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    cvt(unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    Ok(Stat::from(&st))
}

/// `statfs.f_type` of procfs.
pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;
/// `statfs.f_type` of sysfs.
pub const SYSFS_MAGIC: i64 = 0x6265_6572;

/// The filesystem's magic number (`statfs.f_type`), to recognise /proc, /sys and their kin.
pub fn fs_type(fd: &impl AsRawFd) -> io::Result<i64> {
    // SAFETY: a zeroed statfs is a valid out-buffer; the fd is open.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    cvt(unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) })?;
    #[allow(clippy::unnecessary_cast)] // f_type's integer type differs between libcs
    Ok(st.f_type as i64)
}

pub fn unlinkat(dir: &OwnedFd, name: &CStr) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated; flags 0 removes a non-directory only.
    cvt(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), 0) }).map(drop)
}

pub fn renameat(dir: &OwnedFd, from: &CStr, to: &CStr) -> io::Result<()> {
    // SAFETY: both names are NUL-terminated, both relative to the same open directory.
    cvt(unsafe { libc::renameat(dir.as_raw_fd(), from.as_ptr(), dir.as_raw_fd(), to.as_ptr()) })
        .map(drop)
}

const RENAME_NOREPLACE: libc::c_uint = 1;

/// `renameat2(RENAME_NOREPLACE)`: fails with EEXIST, atomically, when `to` exists. As a syscall
/// because musl's libc crate has no wrapper.
pub fn rename_noreplace(dir: &OwnedFd, from: &CStr, to: &CStr) -> io::Result<()> {
    // SAFETY: as in `renameat`.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            dir.as_raw_fd(),
            from.as_ptr(),
            dir.as_raw_fd(),
            to.as_ptr(),
            RENAME_NOREPLACE,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// A hard link `to` → the file `from` names (EEXIST if `to` exists).
pub fn linkat(dir: &OwnedFd, from: &CStr, to: &CStr) -> io::Result<()> {
    // SAFETY: as in `renameat`; flags 0 never follows a symbolic link `from`.
    cvt(unsafe {
        libc::linkat(
            dir.as_raw_fd(),
            from.as_ptr(),
            dir.as_raw_fd(),
            to.as_ptr(),
            0,
        )
    })
    .map(drop)
}

pub fn fchmod(fd: &OwnedFd, mode: u32) -> io::Result<()> {
    // SAFETY: plain fchmod on an open descriptor.
    cvt(unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) }).map(drop)
}

/// `None` leaves that id unchanged.
pub fn fchown(fd: &OwnedFd, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
    let uid = uid.unwrap_or(u32::MAX) as libc::uid_t;
    let gid = gid.unwrap_or(u32::MAX) as libc::gid_t;
    // SAFETY: plain fchown on an open descriptor; -1 means "unchanged".
    cvt(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) }).map(drop)
}

pub fn fsync(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: plain fsync on an open descriptor.
    cvt(unsafe { libc::fsync(fd.as_raw_fd()) }).map(drop)
}

pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

pub fn egid() -> u32 {
    // SAFETY: getegid cannot fail.
    unsafe { libc::getegid() }
}

/// `n` random bytes from the kernel (getrandom), for temporary file names.
pub fn random_bytes<const N: usize>() -> io::Result<[u8; N]> {
    let mut out = [0u8; N];
    let mut filled = 0;
    while filled < N {
        // SAFETY: writes at most N - filled bytes into `out` past `filled`.
        let n = unsafe { libc::getrandom(out[filled..].as_mut_ptr().cast(), N - filled, 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e);
        }
        filled += n as usize;
    }
    Ok(out)
}

/// The names in an open directory (without `.` and `..`), at most `limit` of them, and whether
/// there were more.
pub fn read_dir_names(dir: &OwnedFd, limit: usize) -> io::Result<(Vec<CString>, bool)> {
    // fdopendir takes ownership of its descriptor, so it gets a duplicate.
    let dup = dir.try_clone()?;
    let raw = dup.as_raw_fd();
    // SAFETY: `raw` is an open directory descriptor; on success the DIR owns it.
    let stream = unsafe { libc::fdopendir(raw) };
    if stream.is_null() {
        return Err(io::Error::last_os_error());
    }
    std::mem::forget(dup);
    let stream = DirStream(stream);
    let mut names = Vec::new();
    loop {
        // readdir reports errors only through errno, so it is cleared first.
        // SAFETY: errno is thread-local.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: `stream.0` is a live DIR*; the entry stays valid until the next readdir call,
        // and its name is copied out before that.
        let entry = unsafe { libc::readdir(stream.0) };
        if entry.is_null() {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(0) | None => Ok((names, false)),
                Some(_) => Err(e),
            };
        }
        // SAFETY: d_name is NUL-terminated within the entry.
        let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) };
        if name.to_bytes() == b"." || name.to_bytes() == b".." {
            continue;
        }
        if names.len() == limit {
            return Ok((names, true));
        }
        names.push(name.to_owned());
    }
}

struct DirStream(*mut libc::DIR);

impl Drop for DirStream {
    fn drop(&mut self) {
        // SAFETY: the DIR came from fdopendir and is closed exactly once (with its descriptor).
        unsafe { libc::closedir(self.0) };
    }
}

/// This process's umask, read where reading does not change it (Linux ≥ 4.7); 022 otherwise.
pub fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}
