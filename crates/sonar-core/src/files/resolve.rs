//! Opening names beneath a root without ever following a symbolic link, so that what is opened
//! is beneath the root whatever happens to the tree meanwhile.
//!
//! Where the kernel has openat2(2) (Linux 5.6) it enforces that itself: RESOLVE_BENEATH (no
//! escape, not even by a racing rename), RESOLVE_NO_SYMLINKS and RESOLVE_NO_MAGICLINKS (no
//! /proc/self/root-style jumps). Where it has not (older kernels, or a seccomp filter that
//! answers ENOSYS or EPERM), the same walk is done one name at a time from the root's directory
//! descriptor, each step with O_NOFOLLOW and checked by fstat on the descriptor it returned.
//! No path string is resolved twice: every later step starts from a descriptor.

use super::error::{FileError, FileErrorKind};
use super::path::{RelPath, RootPath};
use super::sys::{self, Stat};
use super::Resolution;
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU8, Ordering};

const UNKNOWN: u8 = 0;
const AVAILABLE: u8 = 1;
const MISSING: u8 = 2;
static OPENAT2: AtomicU8 = AtomicU8::new(UNKNOWN);

/// Whether openat2 works here, asked once per process.
pub fn openat2_available() -> bool {
    match OPENAT2.load(Ordering::Relaxed) {
        AVAILABLE => true,
        MISSING => false,
        _ => {
            let works = sys::openat2(
                libc::AT_FDCWD,
                c"/",
                libc::O_PATH | libc::O_DIRECTORY,
                sys::RESOLVE_NO_SYMLINKS,
            )
            .is_ok();
            OPENAT2.store(if works { AVAILABLE } else { MISSING }, Ordering::Relaxed);
            works
        }
    }
}

/// An open descriptor and what fstat said about it when it was opened.
pub struct Opened {
    pub fd: OwnedFd,
    pub stat: Stat,
}

impl Opened {
    fn new(fd: OwnedFd) -> io::Result<Opened> {
        let stat = sys::fstat(&fd)?;
        Ok(Opened { fd, stat })
    }
}

pub struct Resolver {
    openat2: bool,
}

const BENEATH: u64 = sys::RESOLVE_BENEATH | sys::RESOLVE_NO_SYMLINKS | sys::RESOLVE_NO_MAGICLINKS;

impl Resolver {
    pub fn new(resolution: Resolution) -> Resolver {
        Resolver {
            openat2: resolution == Resolution::Auto && openat2_available(),
        }
    }

    /// The root directory (O_PATH), refused when any part of its path is a symbolic link now.
    pub fn open_root(&self, root: &RootPath, shown: &str) -> Result<Opened, FileError> {
        let fail = |e: io::Error| root_error(e, shown);
        let opened = if self.openat2 {
            let mut text = String::from("/");
            text.push_str(&root.names().join("/"));
            let path = sys::cstring(&text).map_err(fail)?;
            let fd = retry_eagain(|| {
                sys::openat2(
                    libc::AT_FDCWD,
                    &path,
                    libc::O_PATH | libc::O_DIRECTORY,
                    sys::RESOLVE_NO_SYMLINKS | sys::RESOLVE_NO_MAGICLINKS,
                )
            })
            .map_err(fail)?;
            Opened::new(fd).map_err(fail)?
        } else {
            let top = sys::openat(libc::AT_FDCWD, c"/", libc::O_PATH | libc::O_DIRECTORY, 0)
                .and_then(Opened::new)
                .map_err(fail)?;
            walk(top, root.names()).map_err(|e| match e {
                Step::Io(e) => fail(e),
                Step::Symlink(_) => fail(io::Error::from_raw_os_error(libc::ELOOP)),
                Step::NotDir => fail(io::Error::from_raw_os_error(libc::ENOTDIR)),
            })?
        };
        if !opened.stat.is_dir() {
            return Err(fail(io::Error::from_raw_os_error(libc::ENOTDIR)));
        }
        Ok(opened)
    }

    /// The directories `names` beneath `root` (O_PATH), each one a directory, no symbolic link.
    pub fn open_dirs(
        &self,
        root: &Opened,
        names: &[String],
        rel: &RelPath,
    ) -> Result<Opened, FileError> {
        if names.is_empty() {
            let fd = root.fd.try_clone().map_err(|e| io_error(e, rel))?;
            return Ok(Opened {
                fd,
                stat: root.stat,
            });
        }
        if self.openat2 {
            let path = sys::cstring(&names.join("/")).map_err(|e| io_error(e, rel))?;
            // No O_NOFOLLOW: a symbolic link as the last name is then ELOOP, like one on the way.
            let fd = retry_eagain(|| {
                sys::openat2(
                    root.fd.as_raw_fd(),
                    &path,
                    libc::O_PATH | libc::O_DIRECTORY,
                    BENEATH,
                )
            })
            .map_err(|e| step_error(e, rel))?;
            let opened = Opened::new(fd).map_err(|e| io_error(e, rel))?;
            if !opened.stat.is_dir() {
                return Err(not_dir(rel));
            }
            Ok(opened)
        } else {
            let start = Opened {
                fd: root.fd.try_clone().map_err(|e| io_error(e, rel))?,
                stat: root.stat,
            };
            walk(start, names).map_err(|e| match e {
                Step::Io(e) => step_error(e, rel),
                Step::Symlink(at) => symlink_error(rel, Some(&at)),
                Step::NotDir => not_dir(rel),
            })
        }
    }

    /// One name in `dir`, never through a symbolic link. With O_PATH a symbolic link itself is
    /// returned (its fstat says so); otherwise it is ELOOP.
    pub fn open_in(&self, dir: &OwnedFd, name: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
        if self.openat2 {
            retry_eagain(|| sys::openat2(dir.as_raw_fd(), name, flags | libc::O_NOFOLLOW, BENEATH))
        } else {
            sys::openat(dir.as_raw_fd(), name, flags | libc::O_NOFOLLOW, 0)
        }
    }
}

/// RESOLVE_BENEATH answers EAGAIN when a rename or mount raced the lookup: try again a few times.
fn retry_eagain(mut open: impl FnMut() -> io::Result<OwnedFd>) -> io::Result<OwnedFd> {
    let mut tries = 0;
    loop {
        match open() {
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) && tries < 8 => tries += 1,
            other => return other,
        }
    }
}

enum Step {
    Io(io::Error),
    /// the path up to and including the link
    Symlink(String),
    NotDir,
}

/// The fallback: one name at a time, O_PATH|O_NOFOLLOW, each result checked by fstat.
fn walk(start: Opened, names: &[String]) -> Result<Opened, Step> {
    let mut current = start;
    for (i, name) in names.iter().enumerate() {
        let c = sys::cstring(name).map_err(Step::Io)?;
        let fd = sys::openat(
            current.fd.as_raw_fd(),
            &c,
            libc::O_PATH | libc::O_NOFOLLOW,
            0,
        )
        .map_err(Step::Io)?;
        let next = Opened::new(fd).map_err(Step::Io)?;
        if next.stat.is_symlink() {
            return Err(Step::Symlink(names[..=i].join("/")));
        }
        if !next.stat.is_dir() {
            return Err(Step::NotDir);
        }
        current = next;
    }
    Ok(current)
}

fn root_error(e: io::Error, shown: &str) -> FileError {
    let why = match e.raw_os_error() {
        Some(libc::ENOENT) => "does not exist".to_string(),
        Some(libc::ELOOP) => {
            "has a symbolic link in its path now (roots are resolved without following links)"
                .to_string()
        }
        Some(libc::ENOTDIR) => "is not a directory".to_string(),
        Some(libc::EACCES) => {
            "cannot be reached by the agent's user (permission denied)".to_string()
        }
        _ => format!("cannot be opened ({e})"),
    };
    FileError::new(
        FileErrorKind::InvalidRoot,
        format!("root path {shown} {why}"),
    )
}

pub fn symlink_error(rel: &RelPath, at: Option<&str>) -> FileError {
    let at = match at {
        Some(at) => super::path::shown(at),
        None => "on the way".to_string(),
    };
    FileError::new(
        FileErrorKind::Symlink,
        format!(
            "{}: a symbolic link ({at}) is in the way; symbolic links are never followed",
            rel.shown()
        ),
    )
}

fn not_dir(rel: &RelPath) -> FileError {
    FileError::new(
        FileErrorKind::WrongKind,
        format!(
            "{} is not a directory (or a part of its path is not)",
            rel.shown()
        ),
    )
}

/// An error from resolving the directories of `rel`.
fn step_error(e: io::Error, rel: &RelPath) -> FileError {
    match e.raw_os_error() {
        Some(libc::ELOOP) => symlink_error(rel, None),
        // RESOLVE_BENEATH: the lookup would have left the root (cannot happen without `..` or a
        // link, both refused before; kept for a clear message should a kernel disagree).
        Some(libc::EXDEV) => FileError::new(
            FileErrorKind::Symlink,
            format!("{}: resolving it would leave the root", rel.shown()),
        ),
        Some(libc::ENOTDIR) => not_dir(rel),
        _ => io_error(e, rel),
    }
}

/// Any other failure, worded for the hub.
pub fn io_error(e: io::Error, rel: &RelPath) -> FileError {
    match e.raw_os_error() {
        Some(libc::ENOENT) => FileError::new(
            FileErrorKind::NotFound,
            format!("{} does not exist", rel.shown()),
        ),
        Some(libc::EACCES) | Some(libc::EPERM) => FileError::new(
            FileErrorKind::Io,
            format!("{}: permission denied to the agent's user", rel.shown()),
        ),
        Some(libc::EROFS) => FileError::new(
            FileErrorKind::Io,
            format!("{}: the filesystem is read-only", rel.shown()),
        ),
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => FileError::new(
            FileErrorKind::Io,
            format!("{}: no space left (or over quota)", rel.shown()),
        ),
        _ => FileError::new(FileErrorKind::Io, format!("{}: {e}", rel.shown())),
    }
}
