//! The file jail behind host actions 10–13 (ListFiles, ReadFile, WriteFile, DeleteFile): every
//! path the hub sends is opened beneath a root the host's policy names, never through a symbolic
//! link, never outside the root, never a device, FIFO or socket, and never anything on the
//! built-in deny list (docs/extensions-files.md). The policy itself (which roots, read-only or
//! not, size limits) is the caller's; this module enforces the filesystem side.
//!
//! Linux only: elsewhere every action answers `Unsupported`.

pub mod error;
pub mod path;

#[cfg(target_os = "linux")]
mod deny;
#[cfg(target_os = "linux")]
mod jail;
#[cfg(target_os = "linux")]
mod resolve;
#[cfg(target_os = "linux")]
pub(crate) mod sys;

pub use error::{FileError, FileErrorKind};
use std::path::PathBuf;

/// ListFiles answers at most this many entries (and says it cut the list).
pub const MAX_LIST_ENTRIES: usize = 10_000;
/// ReadFile never returns more than this, whatever the caller asks (the policy's limit is lower).
pub const MAX_READ_BYTES: usize = 64 * 1024 * 1024;

/// How names are resolved beneath a root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resolution {
    /// openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS where the
    /// kernel offers it, else the walk.
    #[default]
    Auto,
    /// Always the component-by-component walk with O_NOFOLLOW (what kernels before 5.6, or a
    /// seccomp filter that refuses openat2, get); tests run both.
    Walk,
}

/// ListFiles' kind of entry (its wire value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File = 0,
    Directory = 1,
    Symlink = 2,
    Other = 3,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// the name as UTF-8 (a name that is not is shown with U+FFFD and cannot be named back)
    pub name: String,
    pub kind: EntryKind,
    pub size: u64,
    /// mode & 0o7777
    pub mode: u32,
    pub mtime_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// sorted by name
    pub entries: Vec<Entry>,
    /// more than MAX_LIST_ENTRIES entries: the rest are left out
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    pub data: Vec<u8>,
    /// the file's size when the read ended
    pub size: u64,
    /// nothing follows `data`
    pub eof: bool,
    /// SHA-256 of the whole file: only when `data` is the whole file (offset 0, up to its end)
    pub sha256: Option<[u8; 32]>,
}

/// What WriteFile expects to find before it replaces the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// no check
    Any,
    /// the file must not exist (atomic: the final rename refuses to replace)
    Absent,
    /// the file must exist with this SHA-256
    Sha256([u8; 32]),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteResult {
    pub written: u64,
    pub sha256: [u8; 32],
}

/// The jail: the paths the caller protects (the agent's data directory, its configuration, the
/// policy file, the audit log) on top of the built-in deny list, and how names are resolved.
/// Roots are given per call, as absolute paths without symbolic links (the policy resolves them).
#[derive(Debug, Clone, Default)]
// Read by the Linux resolver only; elsewhere every call answers "unsupported".
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub struct Jail {
    protect: Vec<PathBuf>,
    resolution: Resolution,
}

impl Jail {
    pub fn new(protect: Vec<PathBuf>) -> Jail {
        Jail {
            protect,
            resolution: Resolution::Auto,
        }
    }

    pub fn with_resolution(self, resolution: Resolution) -> Jail {
        Jail { resolution, ..self }
    }

    /// Whether this jail resolves with openat2 on this kernel (false: the walk).
    pub fn uses_openat2(&self) -> bool {
        #[cfg(target_os = "linux")]
        return self.resolution == Resolution::Auto && resolve::openat2_available();
        #[cfg(not(target_os = "linux"))]
        return false;
    }

    /// The entries of the directory `path` beneath `root` (`""`: the root itself).
    pub fn list(&self, root: &str, path: &str) -> Result<Listing, FileError> {
        #[cfg(target_os = "linux")]
        return jail::list(self, root, path);
        #[cfg(not(target_os = "linux"))]
        return unsupported(root, path);
    }

    /// At most `length` bytes (and MAX_READ_BYTES) of the regular file `path`, from `offset`.
    pub fn read(
        &self,
        root: &str,
        path: &str,
        offset: u64,
        length: usize,
    ) -> Result<ReadResult, FileError> {
        #[cfg(target_os = "linux")]
        return jail::read(self, root, path, offset, length);
        #[cfg(not(target_os = "linux"))]
        return unsupported((root, offset, length), path);
    }

    /// Replaces (or creates) the regular file `path` with `content`: a temporary file in the same
    /// directory, fsync, rename over the target, fsync of the directory; mode and owner kept.
    pub fn write(
        &self,
        root: &str,
        path: &str,
        content: &[u8],
        expected: Expected,
    ) -> Result<WriteResult, FileError> {
        #[cfg(target_os = "linux")]
        return jail::write(self, root, path, content, expected);
        #[cfg(not(target_os = "linux"))]
        return unsupported((root, content, expected), path);
    }

    /// Removes the regular file `path` (never a directory or a symbolic link), optionally only
    /// when its SHA-256 is `expected`.
    pub fn delete(
        &self,
        root: &str,
        path: &str,
        expected: Option<[u8; 32]>,
    ) -> Result<(), FileError> {
        #[cfg(target_os = "linux")]
        return jail::delete(self, root, path, expected);
        #[cfg(not(target_os = "linux"))]
        return unsupported((root, expected), path);
    }
}

#[cfg(not(target_os = "linux"))]
fn unsupported<T, U>(_: U, _: &str) -> Result<T, FileError> {
    Err(FileError::new(
        FileErrorKind::Unsupported,
        "file actions are supported on Linux only",
    ))
}
