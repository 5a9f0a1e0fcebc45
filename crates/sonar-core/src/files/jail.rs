//! The four file actions on Linux. Each one checks the hub's path by its text (deny list), opens
//! the root and the parent directory without following links (resolve.rs), looks at the target
//! through an O_PATH descriptor (which opens no device and blocks on no FIFO), checks that
//! descriptor (kind, identity, links, filesystem), and only then opens it for real — by name
//! again, from the same parent descriptor, refusing it unless fstat shows the very same file.

use super::deny::{self, DenyList, Op};
use super::error::{FileError, FileErrorKind};
use super::path::{self, RelPath, RootPath};
use super::resolve::{io_error, symlink_error, Opened, Resolver};
use super::sys::{self, Stat, PROC_SUPER_MAGIC, SYSFS_MAGIC};
use super::{
    Entry, EntryKind, Expected, Jail, Listing, ReadResult, WriteResult, MAX_LIST_ENTRIES,
    MAX_READ_BYTES,
};
use crate::sha256::{sha256, Sha256};
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::FileExt;

/// Read and hash in pieces of this size.
const CHUNK: usize = 64 * 1024;

/// One request's view: its checked paths, the deny list as of now, the open root.
struct Request {
    rel: RelPath,
    deny: DenyList,
    resolver: Resolver,
    root: Opened,
}

fn denied(rel: &RelPath, why: &str) -> FileError {
    FileError::new(
        FileErrorKind::Denied,
        format!(
            "{} is never served: it is {why}, on the agent's built-in deny list (no root overrides it)",
            rel.shown()
        ),
    )
}

fn refused(rel: &RelPath, why: impl std::fmt::Display) -> FileError {
    FileError::new(FileErrorKind::Refused, format!("{} {why}", rel.shown()))
}

fn conflict(rel: &RelPath, why: impl std::fmt::Display) -> FileError {
    FileError::new(FileErrorKind::Conflict, format!("{} {why}", rel.shown()))
}

impl Request {
    fn open(jail: &Jail, root: &str, path: &str, op: Op) -> Result<Request, FileError> {
        let rel = RelPath::parse(path)?;
        if rel.is_root() && op != Op::List {
            return Err(FileError::new(
                FileErrorKind::InvalidPath,
                "the path is empty: name a file beneath the root",
            ));
        }
        let root_path = RootPath::parse(root)?;
        let abs = root_path.join(&rel);
        let deny = DenyList::gather(&jail.protect);
        deny.check_path(&abs, op).map_err(|why| denied(&rel, why))?;
        let resolver = Resolver::new(jail.resolution);
        let root = resolver.open_root(&root_path, &path::shown(root))?;
        deny.check_identity(&root.stat)
            .map_err(|why| denied(&rel, why))?;
        Ok(Request {
            rel,
            deny,
            resolver,
            root,
        })
    }

    /// The directory the target is in, checked.
    fn parent(&self, op: Op) -> Result<Opened, FileError> {
        let dir = self
            .resolver
            .open_dirs(&self.root, self.rel.parent(), &self.rel)?;
        self.check_dir(&dir, op)?;
        Ok(dir)
    }

    /// A directory on the way (or to be listed): not protected, not on a pseudo filesystem the
    /// root is not on (and never one for writing).
    fn check_dir(&self, dir: &Opened, op: Op) -> Result<(), FileError> {
        self.deny
            .check_identity(&dir.stat)
            .map_err(|why| denied(&self.rel, why))?;
        self.check_filesystem(dir, op)
    }

    fn check_filesystem(&self, opened: &Opened, op: Op) -> Result<(), FileError> {
        let fs = sys::fs_type(&opened.fd).map_err(|e| io_error(e, &self.rel))?;
        let Some(fs_name) = pseudo_filesystem(fs) else {
            return Ok(());
        };
        if matches!(op, Op::Write | Op::Delete) {
            return Err(refused(
                &self.rel,
                format!("is on the kernel's {fs_name} filesystem: files there are never written or deleted"),
            ));
        }
        if opened.stat.dev != self.root.stat.dev {
            return Err(refused(
                &self.rel,
                format!("is on the kernel's {fs_name} filesystem, which only a root inside it can serve"),
            ));
        }
        Ok(())
    }

    /// The target named in `parent`, through O_PATH (no open side effects), or None if absent.
    fn look(&self, parent: &Opened, name: &CStr) -> Result<Option<Opened>, FileError> {
        match self.resolver.open_in(&parent.fd, name, libc::O_PATH) {
            Ok(fd) => {
                let stat = sys::fstat(&fd).map_err(|e| io_error(e, &self.rel))?;
                Ok(Some(Opened { fd, stat }))
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(io_error(e, &self.rel)),
        }
    }

    /// A regular file that may be served for `op`: its identity is not protected, it has one
    /// name only, it is not on a pseudo filesystem the root is not on, not a /proc secret.
    fn check_file(&self, file: &Opened, op: Op, what: &str) -> Result<(), FileError> {
        if file.stat.is_symlink() {
            return Err(symlink_error(&self.rel, Some(&self.rel.names().join("/"))));
        }
        if !file.stat.is_regular() {
            return Err(FileError::new(
                FileErrorKind::WrongKind,
                format!(
                    "{} is {}; {what} regular files only",
                    self.rel.shown(),
                    file.stat.kind_name()
                ),
            ));
        }
        self.deny
            .check_identity(&file.stat)
            .map_err(|why| denied(&self.rel, why))?;
        if sys::fs_type(&file.fd).map_err(|e| io_error(e, &self.rel))? == PROC_SUPER_MAGIC
            && self.rel.name().is_some_and(deny::proc_name_denied)
        {
            return Err(denied(&self.rel, deny::PROC));
        }
        self.check_filesystem(file, op)?;
        if file.stat.nlink > 1 {
            return Err(refused(
                &self.rel,
                format!(
                    "has {} hard links: a file with more than one name may be one from outside the root, so it is refused",
                    file.stat.nlink
                ),
            ));
        }
        Ok(())
    }

    /// Opens the checked target for reading: by name again from the same parent, refused unless
    /// it is the same file (a swap between the look and this open is caught here).
    fn reopen(&self, parent: &Opened, name: &CStr, seen: &Opened) -> Result<File, FileError> {
        let fd = self
            .resolver
            .open_in(
                &parent.fd,
                name,
                libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
            )
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ENOENT) | Some(libc::ELOOP) => changed(&self.rel),
                _ => io_error(e, &self.rel),
            })?;
        let now = sys::fstat(&fd).map_err(|e| io_error(e, &self.rel))?;
        if now.identity() != seen.stat.identity() || !now.is_regular() {
            return Err(changed(&self.rel));
        }
        Ok(File::from(fd))
    }

    /// SHA-256 of the checked target's content, read through a fresh descriptor of that file.
    fn hash(&self, parent: &Opened, name: &CStr, seen: &Opened) -> Result<[u8; 32], FileError> {
        let file = self.reopen(parent, name, seen)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; CHUNK];
        let mut at = 0u64;
        loop {
            let n = read_at(&file, &mut buf, at).map_err(|e| io_error(e, &self.rel))?;
            if n == 0 {
                return Ok(hasher.finish());
            }
            hasher.update(&buf[..n]);
            at = at.saturating_add(n as u64);
        }
    }

    /// Just before the rename or unlink: the name still holds the file that was checked.
    fn still_there(&self, parent: &Opened, name: &CStr, seen: &Opened) -> Result<(), FileError> {
        match self.look(parent, name)? {
            Some(now) if now.stat.identity() == seen.stat.identity() => Ok(()),
            Some(_) => Err(conflict(
                &self.rel,
                "was replaced by another writer meanwhile; nothing was changed",
            )),
            None => Err(conflict(
                &self.rel,
                "was removed by another writer meanwhile; nothing was changed",
            )),
        }
    }
}

fn changed(rel: &RelPath) -> FileError {
    refused(
        rel,
        "changed while it was being opened (replaced or swapped for a link); nothing was read or written",
    )
}

fn name_of(rel: &RelPath) -> Result<CString, FileError> {
    sys::cstring(rel.name().unwrap_or(".")).map_err(|e| io_error(e, rel))
}

fn read_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    loop {
        match file.read_at(buf, at) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Kernel filesystems whose files are not data: /proc, /sys and their kin.
fn pseudo_filesystem(magic: i64) -> Option<&'static str> {
    Some(match magic {
        PROC_SUPER_MAGIC => "proc",
        SYSFS_MAGIC => "sysfs",
        0x6462_6720 => "debugfs",
        0x7472_6163 => "tracefs",
        0x7363_6673 => "securityfs",
        0xde5e_81e4 => "efivarfs",
        0xcafe_4a11 => "bpf",
        0x0027_e0eb => "cgroup",
        0x6367_7270 => "cgroup2",
        0x6265_6570 => "configfs",
        0x6165_676c => "pstore",
        0xf97c_ff8c => "selinuxfs",
        0x4341_5d53 => "smackfs",
        0x6573_5543 => "fusectl",
        0x4249_4e4d => "binfmt_misc",
        0x1cd1 => "devpts",
        0x6e73_6673 => "nsfs",
        _ => return None,
    })
}

pub fn list(jail: &Jail, root: &str, path: &str) -> Result<Listing, FileError> {
    let req = Request::open(jail, root, path, Op::List)?;
    let dir = req
        .resolver
        .open_dirs(&req.root, req.rel.names(), &req.rel)?;
    req.check_dir(&dir, Op::List)?;
    // "." from the O_PATH descriptor is the same directory: nothing to swap.
    let readable = sys::openat(
        dir.fd.as_raw_fd(),
        c".",
        libc::O_RDONLY | libc::O_DIRECTORY,
        0,
    )
    .map_err(|e| io_error(e, &req.rel))?;
    let (names, truncated) =
        sys::read_dir_names(&readable, MAX_LIST_ENTRIES).map_err(|e| io_error(e, &req.rel))?;
    let mut entries: Vec<Entry> = names
        .iter()
        .filter_map(|name| {
            // an entry removed since readdir is simply left out
            let st = sys::fstatat_nofollow(&readable, name).ok()?;
            Some(entry(name, &st))
        })
        .collect();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Listing { entries, truncated })
}

fn entry(name: &CStr, st: &Stat) -> Entry {
    let kind = if st.is_regular() {
        EntryKind::File
    } else if st.is_dir() {
        EntryKind::Directory
    } else if st.is_symlink() {
        EntryKind::Symlink
    } else {
        EntryKind::Other
    };
    Entry {
        name: name.to_string_lossy().into_owned(),
        kind,
        size: st.size,
        mode: st.mode & 0o7777,
        mtime_ms: st.mtime_ms,
    }
}

pub fn read(
    jail: &Jail,
    root: &str,
    path: &str,
    offset: u64,
    length: usize,
) -> Result<ReadResult, FileError> {
    let req = Request::open(jail, root, path, Op::Read)?;
    let parent = req.parent(Op::Read)?;
    let name = name_of(&req.rel)?;
    let Some(seen) = req.look(&parent, &name)? else {
        return Err(io_error(
            io::Error::from_raw_os_error(libc::ENOENT),
            &req.rel,
        ));
    };
    req.check_file(&seen, Op::Read, "ReadFile reads")?;
    let file = req.reopen(&parent, &name, &seen)?;
    let length = length.min(MAX_READ_BYTES);
    let mut data = Vec::with_capacity(length.min(CHUNK));
    let mut buf = vec![0u8; CHUNK.min(length.max(1))];
    // past what a file offset can be (i64): nothing there, as past the end
    let mut eof = offset > i64::MAX as u64 - length as u64;
    while !eof && data.len() < length {
        let want = (length - data.len()).min(buf.len());
        let n = read_at(
            &file,
            &mut buf[..want],
            offset.saturating_add(data.len() as u64),
        )
        .map_err(|e| io_error(e, &req.rel))?;
        if n == 0 {
            eof = true;
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    if !eof {
        // exactly `length` bytes came: the file ends here only if nothing follows
        let mut one = [0u8; 1];
        eof = read_at(&file, &mut one, offset.saturating_add(data.len() as u64))
            .map_err(|e| io_error(e, &req.rel))?
            == 0;
    }
    let size = sys::fstat(&std::os::fd::OwnedFd::from(file))
        .map_err(|e| io_error(e, &req.rel))?
        .size;
    let sha256 = (offset == 0 && eof).then(|| sha256(&data));
    Ok(ReadResult {
        data,
        size,
        eof,
        sha256,
    })
}

/// A temporary file that is removed again unless it was renamed into place.
struct Temp<'p> {
    dir: &'p OwnedFd,
    name: CString,
    armed: bool,
}

impl Drop for Temp<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = sys::unlinkat(self.dir, &self.name);
        }
    }
}

pub fn write(
    jail: &Jail,
    root: &str,
    path: &str,
    content: &[u8],
    expected: Expected,
) -> Result<WriteResult, FileError> {
    let req = Request::open(jail, root, path, Op::Write)?;
    let parent = req.parent(Op::Write)?;
    let name = name_of(&req.rel)?;
    let existing = req.look(&parent, &name)?;
    let euid = sys::euid();
    if let Some(seen) = &existing {
        req.check_file(seen, Op::Write, "WriteFile replaces")?;
        if euid != 0 && seen.stat.uid != euid {
            return Err(refused(
                &req.rel,
                format!(
                    "is owned by uid {} and the agent runs as uid {euid}: replacing it would change its owner",
                    seen.stat.uid
                ),
            ));
        }
    }
    match (expected, &existing) {
        (Expected::Absent, Some(_)) => {
            return Err(conflict(
                &req.rel,
                "already exists and the request expected it not to; nothing was written",
            ))
        }
        (Expected::Sha256(_), None) => {
            return Err(conflict(
                &req.rel,
                "does not exist and the request expected a SHA-256; nothing was written",
            ))
        }
        (Expected::Sha256(want), Some(seen)) => {
            let have = req.hash(&parent, &name, seen)?;
            if have != want {
                return Err(conflict(
                    &req.rel,
                    format!(
                        "has changed: its SHA-256 is {} and the request expected {}; nothing was written",
                        hex(&have),
                        hex(&want)
                    ),
                ));
            }
        }
        _ => {}
    }
    // setuid/setgid never carry over to content the hub wrote
    let mode = match &existing {
        Some(seen) => seen.stat.mode & 0o1777,
        None => 0o666 & !sys::umask(),
    };
    let dir_fd = sys::openat(
        parent.fd.as_raw_fd(),
        c".",
        libc::O_RDONLY | libc::O_DIRECTORY,
        0,
    )
    .map_err(|e| io_error(e, &req.rel))?;
    let (temp, fd) = create_temp(&dir_fd, &req.rel)?;
    let mut file = File::from(fd);
    file.write_all(content).map_err(|e| io_error(e, &req.rel))?;
    let fd = OwnedFd::from(file);
    if let Some(seen) = &existing {
        keep_owner(&fd, &seen.stat, euid, &req.rel)?;
    }
    sys::fchmod(&fd, mode).map_err(|e| io_error(e, &req.rel))?;
    sys::fsync(&fd).map_err(|e| io_error(e, &req.rel))?;
    drop(fd);
    // The last compare, as close to the rename as it can be (docs: the residual window).
    if let Some(seen) = &existing {
        req.still_there(&parent, &name, seen)?;
        if let Expected::Sha256(want) = expected {
            if req.hash(&parent, &name, seen)? != want {
                return Err(conflict(
                    &req.rel,
                    "was changed by another writer meanwhile; nothing was written",
                ));
            }
        }
    }
    let mut temp = temp;
    match expected {
        Expected::Absent => place_new(&dir_fd, &temp.name, &name, &req.rel)?,
        _ => sys::renameat(&dir_fd, &temp.name, &name).map_err(|e| io_error(e, &req.rel))?,
    }
    temp.armed = false;
    sys::fsync(&dir_fd).map_err(|e| io_error(e, &req.rel))?;
    Ok(WriteResult {
        written: content.len() as u64,
        sha256: sha256(content),
    })
}

/// `.sonar-<16 hex>.tmp` beside the target, 0600 until it is complete.
fn create_temp<'d>(dir: &'d OwnedFd, rel: &RelPath) -> Result<(Temp<'d>, OwnedFd), FileError> {
    for _ in 0..8 {
        let random = sys::random_bytes::<8>().map_err(|e| io_error(e, rel))?;
        let name =
            sys::cstring(&format!(".sonar-{}.tmp", hex(&random))).map_err(|e| io_error(e, rel))?;
        match sys::openat(
            dir.as_raw_fd(),
            &name,
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
            0o600,
        ) {
            Ok(fd) => {
                return Ok((
                    Temp {
                        dir,
                        name,
                        armed: true,
                    },
                    fd,
                ))
            }
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
            Err(e) => return Err(io_error(e, rel)),
        }
    }
    Err(FileError::new(
        FileErrorKind::Io,
        format!("{}: no free temporary name", rel.shown()),
    ))
}

/// The replaced file's owner and group go to the new one. Root can always; another user keeps
/// its own files only (checked before), and their group when it belongs to it.
fn keep_owner(fd: &OwnedFd, old: &Stat, euid: u32, rel: &RelPath) -> Result<(), FileError> {
    if euid == 0 {
        return sys::fchown(fd, Some(old.uid), Some(old.gid)).map_err(|e| io_error(e, rel));
    }
    if old.gid != sys::egid() {
        sys::fchown(fd, None, Some(old.gid)).map_err(|_| {
            refused(
                rel,
                format!(
                    "belongs to group {}, which the agent's user is not in: replacing it would change its group",
                    old.gid
                ),
            )
        })?;
    }
    Ok(())
}

/// Moves the temporary file to a name that must not exist, atomically: renameat2 with
/// RENAME_NOREPLACE, or where the filesystem lacks it, a hard link (which fails on an existing
/// name just as atomically) and the temporary name removed.
fn place_new(dir: &OwnedFd, temp: &CStr, name: &CStr, rel: &RelPath) -> Result<(), FileError> {
    let exists = || {
        conflict(
            rel,
            "was created by another writer meanwhile; nothing was written",
        )
    };
    match sys::rename_noreplace(dir, temp, name) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Err(exists()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) => {
            match sys::linkat(dir, temp, name) {
                Ok(()) => {
                    let _ = sys::unlinkat(dir, temp);
                    Ok(())
                }
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Err(exists()),
                Err(e) => Err(io_error(e, rel)),
            }
        }
        Err(e) => Err(io_error(e, rel)),
    }
}

pub fn delete(
    jail: &Jail,
    root: &str,
    path: &str,
    expected: Option<[u8; 32]>,
) -> Result<(), FileError> {
    let req = Request::open(jail, root, path, Op::Delete)?;
    let parent = req.parent(Op::Delete)?;
    let name = name_of(&req.rel)?;
    let Some(seen) = req.look(&parent, &name)? else {
        return Err(io_error(
            io::Error::from_raw_os_error(libc::ENOENT),
            &req.rel,
        ));
    };
    req.check_file(&seen, Op::Delete, "DeleteFile removes")?;
    if let Some(want) = expected {
        let have = req.hash(&parent, &name, &seen)?;
        if have != want {
            return Err(conflict(
                &req.rel,
                format!(
                    "has changed: its SHA-256 is {} and the request expected {}; nothing was deleted",
                    hex(&have),
                    hex(&want)
                ),
            ));
        }
    }
    req.still_there(&parent, &name, &seen)?;
    sys::unlinkat(&parent.fd, &name).map_err(|e| io_error(e, &req.rel))?;
    if let Ok(dir) = sys::openat(
        parent.fd.as_raw_fd(),
        c".",
        libc::O_RDONLY | libc::O_DIRECTORY,
        0,
    ) {
        sys::fsync(&dir).map_err(|e| io_error(e, &req.rel))?;
    }
    Ok(())
}
