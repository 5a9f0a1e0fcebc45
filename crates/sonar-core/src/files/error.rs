//! Why a file action did not happen. The message is meant for the hub's user: it names the path
//! as the hub sent it (relative to the root), never a host path the hub does not already know.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileErrorKind {
    /// The path from the hub is not acceptable (absolute, `..`, NUL, too long…).
    InvalidPath,
    /// The root from the policy cannot be used now (gone, a symbolic link in its path…).
    InvalidRoot,
    NotFound,
    /// A symbolic link on the way or at the end: never followed.
    Symlink,
    /// Not a regular file (or not a directory, for a listing): devices, FIFOs, sockets…
    WrongKind,
    /// The built-in deny list or a path the agent protects (its data and configuration).
    Denied,
    /// Another jail rule: more than one hard link, a kernel pseudo filesystem, a file that
    /// changed while it was being opened, an owner the agent cannot keep.
    Refused,
    /// The expected SHA-256 does not hold (or the file exists when it must not).
    Conflict,
    Io,
    Unsupported,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub kind: FileErrorKind,
    pub message: String,
}

impl FileError {
    pub fn new(kind: FileErrorKind, message: impl Into<String>) -> FileError {
        FileError {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FileError {}
