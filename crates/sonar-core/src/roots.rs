//! Where the kernel's files are read from. `HOST_PROC`, `HOST_SYS` and `HOST_ETC` remap them (as
//! gopsutil does) so the agent can run in a container with the host mounted, and tests can point
//! every collector at a fixture tree.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    pub proc: PathBuf,
    pub sys: PathBuf,
    pub etc: PathBuf,
    /// Root under which `/extra-filesystems` is looked for (the agent's own filesystem view).
    pub root: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            proc: PathBuf::from("/proc"),
            sys: PathBuf::from("/sys"),
            etc: PathBuf::from("/etc"),
            root: PathBuf::from("/"),
        }
    }
}

impl Roots {
    /// All roots under one fixture directory: `<dir>/proc`, `<dir>/sys`, `<dir>/etc`, `<dir>`.
    pub fn under(dir: &Path) -> Self {
        Roots {
            proc: dir.join("proc"),
            sys: dir.join("sys"),
            etc: dir.join("etc"),
            root: dir.to_path_buf(),
        }
    }

    pub fn proc(&self, rel: &str) -> PathBuf {
        self.proc.join(rel)
    }

    pub fn sys(&self, rel: &str) -> PathBuf {
        self.sys.join(rel)
    }

    pub fn etc(&self, rel: &str) -> PathBuf {
        self.etc.join(rel)
    }
}

/// Reads a small kernel file into a string; `None` when it is missing or unreadable.
pub fn read_text(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Reads a file holding one value and returns it trimmed.
pub fn read_trimmed(path: &Path) -> Option<String> {
    read_text(path).map(|s| s.trim().to_string())
}

/// Reads a file holding one unsigned integer.
pub fn read_u64(path: &Path) -> Option<u64> {
    read_trimmed(path)?.parse().ok()
}

/// Reads a file holding one signed integer.
pub fn read_i64(path: &Path) -> Option<i64> {
    read_trimmed(path)?.parse().ok()
}
