//! Where the kernel's files are read from. `HOST_PROC`, `HOST_SYS` and `HOST_ETC` remap them (as
//! gopsutil does) so the agent can run in a container with the host mounted, and tests can point
//! every collector at a fixture tree.

use crate::warnings::warn_once;
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

    /// One warning for each of HOST_PROC and HOST_SYS that is not a directory: everything read
    /// under it silently comes out as zero or absent otherwise. Linux only: elsewhere there is no
    /// /proc and the portable readings are the normal path.
    pub fn warn_if_missing(&self) {
        if !cfg!(target_os = "linux") {
            return;
        }
        let check = |setting: &str, root: &Path, what: &str, usual: &str| {
            if root.is_dir() {
                return;
            }
            // keyed by the path too: a reconfigured agent with another wrong path says so again
            warn_once(&format!("root:{setting}:{}", root.display()), || {
                let why = match std::fs::metadata(root) {
                    Ok(_) => "is not a directory".to_string(),
                    Err(e) => describe_io_error(&e),
                };
                format!(
                    "{setting}: {} {why}: {what} (set {setting} to where the host's {usual} is)",
                    root.display(),
                )
            });
        };
        check(
            "HOST_PROC",
            &self.proc,
            "CPU, memory, network, disk I/O and load read as 0",
            "/proc",
        );
        check(
            "HOST_SYS",
            &self.sys,
            "sensors, fans, batteries, GPUs and link speeds are not read",
            "/sys",
        );
    }

    /// A key file under HOST_PROC that could not be used: one warning naming the setting, the
    /// file, the problem and what the payload loses — unless HOST_PROC itself is missing, which
    /// `warn_if_missing` already said (one warning, not one per file).
    pub fn warn_proc_file(&self, path: &Path, problem: &str, consequence: &str) {
        warn_proc_file(&self.proc, path, problem, consequence);
    }
}

/// `Roots::warn_proc_file` for a collector that keeps only the HOST_PROC folder.
pub fn warn_proc_file(proc_root: &Path, path: &Path, problem: &str, consequence: &str) {
    if !cfg!(target_os = "linux") || !proc_root.is_dir() {
        return;
    }
    warn_once(&format!("proc-file:{}", path.display()), || {
        format!("HOST_PROC: {} {problem}: {consequence}", path.display())
    });
}

/// Reads a key file under HOST_PROC into `buf`; a missing or unreadable one is warned about once
/// (`consequence`: what the payload loses). False when it could not be read.
/// Bytes that are not UTF-8 become U+FFFD: one bad byte (an interface or mount named in another
/// encoding) must not cost the whole file.
pub fn read_proc_into(proc_root: &Path, path: &Path, buf: &mut String, consequence: &str) -> bool {
    use std::io::Read;
    // The buffer's allocation is reused for the raw bytes.
    let mut bytes = std::mem::take(buf).into_bytes();
    bytes.clear();
    match std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)) {
        Ok(_) => {
            *buf = lossy_string(bytes);
            true
        }
        Err(e) => {
            bytes.clear();
            *buf = lossy_string(bytes);
            warn_proc_file(proc_root, path, &describe_io_error(&e), consequence);
            false
        }
    }
}

/// `bytes` as text, each invalid UTF-8 sequence replaced by U+FFFD (no copy when valid). The hub
/// rejects a whole payload over one invalid byte, and a failed read would drop the metric.
pub fn lossy_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The garbled-content counterpart of `read_proc_into`'s warning.
pub fn warn_garbled(proc_root: &Path, path: &Path, text: &str, consequence: &str) {
    let problem = format!("is garbled ({})", excerpt(text));
    warn_proc_file(proc_root, path, &problem, consequence);
}

/// "does not exist" / "is not readable (permission denied)" for an I/O error.
pub fn describe_io_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "does not exist".to_string(),
        std::io::ErrorKind::PermissionDenied => "is not readable (permission denied)".to_string(),
        _ => format!("cannot be read ({e})"),
    }
}

/// A short, quoted excerpt of a file's text for a warning about its content.
pub fn excerpt(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    let mut short: String = line.chars().take(60).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    format!("{short:?}")
}

/// Reads a small kernel file into a string; `None` when it is missing or unreadable. Bytes that
/// are not UTF-8 become U+FFFD (firmware and driver strings carry any encoding).
pub fn read_text(path: &Path) -> Option<String> {
    std::fs::read(path).ok().map(lossy_string)
}

/// Reads a file holding one value and returns it trimmed.
pub fn read_trimmed(path: &Path) -> Option<String> {
    read_text(path).map(|s| s.trim().to_string())
}

/// Reads a file holding one text value, trimmed, with invalid UTF-8 replaced by U+FFFD: a device
/// name or serial with one bad byte is still reported (the hub needs valid UTF-8, spec v0.18 §0),
/// not dropped as `read_trimmed` would.
pub fn read_trimmed_lossy(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(String::from_utf8_lossy(&bytes).trim().to_string())
}

/// Reads a file holding one unsigned integer.
pub fn read_u64(path: &Path) -> Option<u64> {
    read_trimmed(path)?.parse().ok()
}

/// Reads a file holding one signed integer.
pub fn read_i64(path: &Path) -> Option<i64> {
    read_trimmed(path)?.parse().ok()
}
