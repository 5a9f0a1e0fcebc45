//! Filesystem usage through statvfs(3), which blocks for as long as the filesystem does: a hard
//! NFS mount whose server is gone never answers (sysinfo#842, node_exporter#868). The calls
//! therefore run on one long-lived worker thread and the caller waits at most a timeout. A worker
//! that got stuck is abandoned and replaced; its path stays "pending" — no new call for it — until
//! the stuck call returns, so threads never pile up on a dead mount.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The statvfs fields the usage needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StatVfs {
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    /// Fragment size: the unit of the block counts.
    pub frsize: u64,
    /// Inodes: total and free (node_filesystem_files, _files_free).
    pub files: u64,
    pub ffree: u64,
}

/// Usage in bytes, as gopsutil's `disk.Usage` computes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RawUsage {
    pub total: u64,
    pub used: u64,
    /// Space an unprivileged user may still use (excludes the root reserve).
    pub avail: u64,
}

impl RawUsage {
    pub fn from_statvfs(s: StatVfs) -> RawUsage {
        RawUsage {
            total: s.blocks.saturating_mul(s.frsize),
            used: s.blocks.saturating_sub(s.bfree).saturating_mul(s.frsize),
            avail: s.bavail.saturating_mul(s.frsize),
        }
    }

    /// used/(used+avail)·100: the share of what users can fill, so a full disk reads 100 % even
    /// with the root reserve (ext4's 5 %) still free — the `df` Use% and gopsutil UsedPercent.
    pub fn used_pct(&self) -> f64 {
        let denominator = self.used.saturating_add(self.avail);
        if denominator == 0 {
            return 0.0;
        }
        self.used as f64 / denominator as f64 * 100.0
    }
}

pub(crate) type StatfsFn = Arc<dyn Fn(&Path) -> io::Result<StatVfs> + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    Usage(RawUsage),
    /// statvfs answered with an error (unmounted, removed, no permission).
    Failed,
    /// No answer within the timeout, or an earlier call on this path is still stuck.
    Unavailable,
}

/// What `probe_raw` got: statvfs's answer, or none in time.
#[derive(Debug)]
pub(crate) enum RawProbe {
    Answer(io::Result<StatVfs>),
    Unavailable,
}

struct Worker {
    requests: Sender<PathBuf>,
    results: Receiver<io::Result<StatVfs>>,
}

pub(crate) struct StatfsRunner {
    func: StatfsFn,
    timeout: Duration,
    worker: Option<Worker>,
    /// Paths a worker is inside statvfs for. The caller adds a path before handing it over and
    /// the worker removes it when the call returns, so after a timeout the path stays here exactly
    /// as long as the stuck call lasts.
    in_flight: Arc<Mutex<HashSet<PathBuf>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl StatfsRunner {
    pub fn new(func: StatfsFn, timeout: Duration) -> StatfsRunner {
        StatfsRunner {
            func,
            // A zero timeout would make every filesystem unavailable.
            timeout: timeout.max(Duration::from_millis(10)),
            worker: None,
            in_flight: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    /// True while an abandoned call on this path has not returned yet.
    pub fn is_pending(&self, path: &Path) -> bool {
        lock(&self.in_flight).contains(path)
    }

    pub fn probe(&mut self, path: &Path) -> Probe {
        match self.probe_raw(path) {
            RawProbe::Answer(Ok(s)) => Probe::Usage(RawUsage::from_statvfs(s)),
            RawProbe::Answer(Err(_)) => Probe::Failed,
            RawProbe::Unavailable => Probe::Unavailable,
        }
    }

    /// statvfs's own answer (node_exporter's families need the inode counts and the read-only
    /// flag too), or `Unavailable` as for `probe`.
    pub fn probe_raw(&mut self, path: &Path) -> RawProbe {
        if self.is_pending(path) {
            return RawProbe::Unavailable;
        }
        let worker = match self.worker.take().or_else(|| self.spawn()) {
            Some(w) => w,
            None => return RawProbe::Unavailable,
        };
        lock(&self.in_flight).insert(path.to_path_buf());
        if worker.requests.send(path.to_path_buf()).is_err() {
            lock(&self.in_flight).remove(path);
            return RawProbe::Unavailable;
        }
        match worker.results.recv_timeout(self.timeout) {
            Ok(result) => {
                self.worker = Some(worker);
                RawProbe::Answer(result)
            }
            // The worker is stuck in statvfs: drop our ends of its channels (it exits once the
            // call returns) and let the next probe start a fresh one.
            Err(RecvTimeoutError::Timeout) => RawProbe::Unavailable,
            Err(RecvTimeoutError::Disconnected) => {
                lock(&self.in_flight).remove(path);
                RawProbe::Unavailable
            }
        }
    }

    /// statvfs on the caller's thread, for filesystems that answer from memory and never wait on
    /// a device or a server (`answers_from_memory`): the hand-over to the worker costs more than
    /// the call. A path whose earlier call is still stuck stays `Unavailable`.
    pub fn probe_raw_in_place(&mut self, path: &Path) -> RawProbe {
        if self.is_pending(path) {
            return RawProbe::Unavailable;
        }
        RawProbe::Answer((self.func)(path))
    }

    fn spawn(&self) -> Option<Worker> {
        let (request_tx, request_rx) = mpsc::channel::<PathBuf>();
        let (result_tx, result_rx) = mpsc::channel();
        let func = self.func.clone();
        let in_flight = self.in_flight.clone();
        std::thread::Builder::new()
            .name("sonar-statfs".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                while let Ok(path) = request_rx.recv() {
                    let result = func(&path);
                    lock(&in_flight).remove(&path);
                    if result_tx.send(result).is_err() {
                        break;
                    }
                }
            })
            .ok()?;
        Some(Worker {
            requests: request_tx,
            results: result_rx,
        })
    }
}

/// Filesystems whose statvfs is answered from in-memory counters: local disk filesystems and
/// memory ones. Network and FUSE filesystems (a server that stops answering) and those whose
/// statfs may wait for a transaction (btrfs, zfs) are not among them.
pub(crate) fn answers_from_memory(fstype: &str) -> bool {
    matches!(
        fstype,
        "ext2" | "ext3" | "ext4" | "xfs" | "tmpfs" | "ramfs" | "vfat" | "exfat" | "f2fs"
    )
}

#[cfg(unix)]
fn to_u64<T: TryInto<u64>>(v: T) -> u64 {
    v.try_into().unwrap_or(0)
}

/// statvfs(3) of a path (POSIX, so this builds on macOS and the BSDs too).
#[cfg(unix)]
pub(crate) fn statvfs(path: &Path) -> io::Result<StatVfs> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;

    let c_path = CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: statvfs only writes into the zeroed struct we own; the path is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let frsize = match to_u64(st.f_frsize) {
        0 => to_u64(st.f_bsize),
        n => n,
    };
    Ok(StatVfs {
        blocks: to_u64(st.f_blocks),
        bfree: to_u64(st.f_bfree),
        bavail: to_u64(st.f_bavail),
        frsize,
        files: to_u64(st.f_files),
        ffree: to_u64(st.f_ffree),
    })
}

#[cfg(not(unix))]
pub(crate) fn statvfs(_path: &Path) -> io::Result<StatVfs> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "statvfs"))
}
