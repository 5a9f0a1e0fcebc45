//! The file jail against a real filesystem: real symbolic links, FIFOs, sockets, hard links,
//! /proc's magic links and a racing swapper. Every attack runs twice: with openat2 (the kernel
//! enforces RESOLVE_BENEATH) and with the component-by-component walk kernels without it get.
#![cfg(target_os = "linux")]

use sonar_core::files::{
    EntryKind, Expected, FileError, FileErrorKind, Jail, Resolution, MAX_LIST_ENTRIES,
};
use sonar_core::sha256::sha256;
use std::ffi::CString;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

/// A root with an outside sibling, and the agent's "data directory" beside them.
struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
    data: PathBuf,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        // the policy resolves roots (no symbolic link in them): so do we
        let base = fs::canonicalize(dir.path()).unwrap();
        let root = base.join("root");
        let outside = base.join("outside");
        let data = base.join("data");
        for d in [&root, &outside, &data] {
            fs::create_dir(d).unwrap();
        }
        fs::write(outside.join("secret"), "OUTSIDE").unwrap();
        fs::write(data.join("fingerprint"), "FINGERPRINT").unwrap();
        Tree {
            _dir: dir,
            root,
            outside,
            data,
        }
    }

    fn root(&self) -> &str {
        self.root.to_str().unwrap()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Both resolutions, protecting this tree's data directory.
    fn jails(&self) -> [Jail; 2] {
        [
            Jail::new(vec![self.data.clone()]),
            Jail::new(vec![self.data.clone()]).with_resolution(Resolution::Walk),
        ]
    }
}

fn kind<T: std::fmt::Debug>(result: Result<T, FileError>) -> FileErrorKind {
    match result {
        Ok(v) => panic!("expected a refusal, got {v:?}"),
        Err(e) => e.kind,
    }
}

fn read_all(jail: &Jail, root: &str, path: &str) -> Result<Vec<u8>, FileError> {
    jail.read(root, path, 0, 1 << 20).map(|r| r.data)
}

#[test]
fn openat2_is_used_where_the_kernel_has_it_and_never_when_the_walk_is_asked_for() {
    let probe = CString::new("/").unwrap();
    #[repr(C)]
    struct OpenHow(u64, u64, u64);
    let how = OpenHow(libc::O_PATH as u64, 0, 0);
    // SAFETY: a valid path and open_how; the descriptor is closed right away.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            probe.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd >= 0 {
        // SAFETY: our own descriptor.
        unsafe { libc::close(fd as i32) };
    }
    let tree = Tree::new();
    let [auto, walk] = tree.jails();
    assert_eq!(auto.uses_openat2(), fd >= 0);
    assert!(!walk.uses_openat2());
}

#[test]
fn dotdot_is_refused() {
    let tree = Tree::new();
    fs::create_dir(tree.path("a")).unwrap();
    for jail in tree.jails() {
        for path in ["..", "../outside/secret", "a/../../outside/secret", "a/.."] {
            assert_eq!(
                kind(read_all(&jail, tree.root(), path)),
                FileErrorKind::InvalidPath
            );
            assert_eq!(
                kind(jail.list(tree.root(), path)),
                FileErrorKind::InvalidPath
            );
            assert_eq!(
                kind(jail.write(tree.root(), path, b"x", Expected::Any)),
                FileErrorKind::InvalidPath
            );
            assert_eq!(
                kind(jail.delete(tree.root(), path, None)),
                FileErrorKind::InvalidPath
            );
        }
    }
    assert_eq!(
        fs::read_to_string(tree.outside.join("secret")).unwrap(),
        "OUTSIDE"
    );
}

#[test]
fn absolute_paths_outside_roots_are_refused() {
    let tree = Tree::new();
    let secret = tree.outside.join("secret");
    for jail in tree.jails() {
        for path in [secret.to_str().unwrap(), "/etc/passwd", "/"] {
            assert_eq!(
                kind(read_all(&jail, tree.root(), path)),
                FileErrorKind::InvalidPath
            );
            assert_eq!(
                kind(jail.write(tree.root(), path, b"x", Expected::Any)),
                FileErrorKind::InvalidPath
            );
        }
        assert_eq!(
            kind(read_all(&jail, tree.root(), "a\0b")),
            FileErrorKind::InvalidPath
        );
        assert_eq!(
            kind(read_all(&jail, tree.root(), "")),
            FileErrorKind::InvalidPath
        );
    }
}

#[test]
fn a_symlink_inside_a_root_pointing_out_is_never_followed() {
    let tree = Tree::new();
    std::os::unix::fs::symlink(&tree.outside, tree.path("out")).unwrap();
    std::os::unix::fs::symlink(tree.outside.join("secret"), tree.path("secret")).unwrap();
    std::os::unix::fs::symlink("/", tree.path("slash")).unwrap();
    // relative links that stay inside are not followed either
    fs::write(tree.path("inside.txt"), "INSIDE").unwrap();
    std::os::unix::fs::symlink("inside.txt", tree.path("alias")).unwrap();
    for jail in tree.jails() {
        for path in ["out/secret", "secret", "slash/etc/passwd", "alias"] {
            assert_eq!(
                kind(read_all(&jail, tree.root(), path)),
                FileErrorKind::Symlink,
                "{path}"
            );
        }
        assert_eq!(kind(jail.list(tree.root(), "out")), FileErrorKind::Symlink);
        assert_eq!(
            kind(jail.list(tree.root(), "slash/etc")),
            FileErrorKind::Symlink
        );
        assert_eq!(
            kind(jail.write(tree.root(), "secret", b"pwned", Expected::Any)),
            FileErrorKind::Symlink
        );
        assert_eq!(
            kind(jail.write(tree.root(), "out/new", b"pwned", Expected::Any)),
            FileErrorKind::Symlink
        );
        assert_eq!(
            kind(jail.delete(tree.root(), "out/secret", None)),
            FileErrorKind::Symlink
        );
        let listing = jail.list(tree.root(), "").unwrap();
        let out = listing.entries.iter().find(|e| e.name == "out").unwrap();
        assert_eq!(out.kind, EntryKind::Symlink);
    }
    assert_eq!(
        fs::read_to_string(tree.outside.join("secret")).unwrap(),
        "OUTSIDE"
    );
    assert_eq!(fs::read_dir(&tree.outside).unwrap().count(), 1);
}

fn exchange(a: &Path, b: &Path) {
    let a = CString::new(a.to_str().unwrap()).unwrap();
    let b = CString::new(b.to_str().unwrap()).unwrap();
    const RENAME_EXCHANGE: libc::c_uint = 2;
    // SAFETY: two valid paths; renameat2 swaps them atomically.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            RENAME_EXCHANGE,
        )
    };
    assert_eq!(
        rc,
        0,
        "renameat2(RENAME_EXCHANGE): {}",
        std::io::Error::last_os_error()
    );
}

/// Swaps `a` and `b` (a directory and a symbolic link) as fast as it can until told to stop.
fn swapper(a: PathBuf, b: PathBuf) -> (Arc<AtomicBool>, thread::JoinHandle<u64>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = thread::spawn(move || {
        let mut swaps = 0u64;
        while !flag.load(Ordering::Relaxed) {
            exchange(&a, &b);
            swaps += 1;
        }
        swaps
    });
    (stop, handle)
}

#[test]
fn a_symlink_swapped_in_between_check_and_open_never_leaks_data_from_outside() {
    let tree = Tree::new();
    // d is a directory inside; d.alt a link to the outside directory; the swapper exchanges them.
    fs::create_dir(tree.path("d")).unwrap();
    fs::write(tree.path("d/secret"), "INSIDE").unwrap();
    std::os::unix::fs::symlink(&tree.outside, tree.path("d.alt")).unwrap();
    // f is a file inside; f.alt a link to the outside file.
    fs::write(tree.path("f"), "INSIDE").unwrap();
    std::os::unix::fs::symlink(tree.outside.join("secret"), tree.path("f.alt")).unwrap();
    let (stop_d, swap_d) = swapper(tree.path("d"), tree.path("d.alt"));
    let (stop_f, swap_f) = swapper(tree.path("f"), tree.path("f.alt"));
    for jail in tree.jails() {
        let (mut served, mut refused) = (0, 0);
        for i in 0..3000 {
            let path = if i % 2 == 0 { "d/secret" } else { "f" };
            match read_all(&jail, tree.root(), path) {
                Ok(data) => {
                    assert_eq!(
                        data, b"INSIDE",
                        "read {path} returned data from outside the root"
                    );
                    served += 1;
                }
                Err(e) => {
                    assert!(
                        matches!(
                            e.kind,
                            FileErrorKind::Symlink
                                | FileErrorKind::Refused
                                | FileErrorKind::NotFound
                                | FileErrorKind::WrongKind
                        ),
                        "{e:?}"
                    );
                    refused += 1;
                }
            }
            // writes through the swapped directory land inside or nowhere
            if i % 10 == 0 {
                let _ = jail.write(tree.root(), "d/new", b"NEW", Expected::Any);
            }
        }
        assert!(
            served > 0,
            "no read got through: the race test tested nothing"
        );
        assert!(
            refused > 0,
            "no read met the link: the swapper did not race"
        );
    }
    stop_d.store(true, Ordering::Relaxed);
    stop_f.store(true, Ordering::Relaxed);
    assert!(swap_d.join().unwrap() > 0 && swap_f.join().unwrap() > 0);
    let outside: Vec<_> = fs::read_dir(&tree.outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(outside, vec!["secret"], "a write landed outside the root");
    assert_eq!(
        fs::read_to_string(tree.outside.join("secret")).unwrap(),
        "OUTSIDE"
    );
}

#[test]
fn a_directory_swapped_for_a_link_to_slash_never_leaks_etc_passwd() {
    let tree = Tree::new();
    fs::create_dir_all(tree.path("d/etc")).unwrap();
    fs::write(tree.path("d/etc/passwd"), "INSIDE").unwrap();
    std::os::unix::fs::symlink("/", tree.path("d.alt")).unwrap();
    let (stop, swap) = swapper(tree.path("d"), tree.path("d.alt"));
    for jail in tree.jails() {
        let mut refused = 0;
        for _ in 0..2000 {
            match read_all(&jail, tree.root(), "d/etc/passwd") {
                Ok(data) => assert_eq!(data, b"INSIDE", "/etc/passwd leaked"),
                Err(_) => refused += 1,
            }
            if let Ok(listing) = jail.list(tree.root(), "d/etc") {
                assert_eq!(listing.entries.len(), 1, "listed the real /etc");
            }
        }
        assert!(refused > 0, "the swapper did not race");
    }
    stop.store(true, Ordering::Relaxed);
    swap.join().unwrap();
}

/// Runs `f` on another thread and fails if it has not finished within two seconds.
fn within_two_seconds<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(2))
        .expect("blocked (a FIFO opened for reading without a writer?)")
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let tree = Tree::new();
    let fifo = CString::new(tree.path("pipe").to_str().unwrap()).unwrap();
    // SAFETY: a valid path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    for jail in tree.jails() {
        let root = tree.root().to_string();
        let j = jail.clone();
        let r = root.clone();
        assert_eq!(
            kind(within_two_seconds(move || read_all(&j, &r, "pipe"))),
            FileErrorKind::WrongKind
        );
        let j = jail.clone();
        let r = root.clone();
        assert_eq!(
            kind(within_two_seconds(move || j.write(
                &r,
                "pipe",
                b"x",
                Expected::Any
            ))),
            FileErrorKind::WrongKind
        );
        assert_eq!(
            kind(jail.delete(&root, "pipe", None)),
            FileErrorKind::WrongKind
        );
        let listing = jail.list(&root, "").unwrap();
        assert_eq!(listing.entries[0].kind, EntryKind::Other);
    }
    assert!(tree.path("pipe").exists());
}

#[test]
fn devices_and_sockets_are_refused() {
    let tree = Tree::new();
    let _listener = UnixListener::bind(tree.path("sock")).unwrap();
    for jail in tree.jails() {
        assert_eq!(
            kind(read_all(&jail, tree.root(), "sock")),
            FileErrorKind::WrongKind
        );
        assert_eq!(
            kind(read_all(&jail, "/dev", "null")),
            FileErrorKind::WrongKind
        );
        assert_eq!(
            kind(read_all(&jail, "/dev", "zero")),
            FileErrorKind::WrongKind
        );
        assert_eq!(
            kind(jail.write("/dev", "null", b"x", Expected::Any)),
            FileErrorKind::WrongKind
        );
        assert_eq!(
            kind(jail.delete("/dev", "null", None)),
            FileErrorKind::WrongKind
        );
    }
    assert!(Path::new("/dev/null").exists());
}

#[test]
fn proc_self_root_and_fd_as_root_paths_are_refused() {
    let tree = Tree::new();
    let file = fs::File::open(tree.outside.join("secret")).unwrap();
    let fd_dir = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&file));
    let pid_root = format!("/proc/{}/root", std::process::id());
    for jail in tree.jails() {
        for root in [
            "/proc/self/root",
            "/proc/self/root/etc",
            "/proc/thread-self/root",
            "/proc/self",
        ] {
            assert_eq!(
                kind(read_all(&jail, root, "passwd")),
                FileErrorKind::InvalidRoot,
                "{root}"
            );
        }
        // the per-pid link (no "self" link on the way) is a magic link itself
        assert_eq!(
            kind(read_all(&jail, &pid_root, "etc/passwd")),
            FileErrorKind::InvalidRoot
        );
        assert_eq!(
            kind(read_all(&jail, &fd_dir, "x")),
            FileErrorKind::InvalidRoot
        );
    }
}

#[test]
fn proc_self_root_and_fd_through_links_and_paths_are_refused() {
    let tree = Tree::new();
    let file = fs::File::open(tree.outside.join("secret")).unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    std::os::unix::fs::symlink("/proc/self/root", tree.path("r")).unwrap();
    std::os::unix::fs::symlink(format!("/proc/self/fd/{fd}"), tree.path("fdlink")).unwrap();
    let pid = std::process::id().to_string();
    for jail in tree.jails() {
        assert_eq!(
            kind(read_all(&jail, tree.root(), "r/etc/passwd")),
            FileErrorKind::Symlink
        );
        assert_eq!(
            kind(read_all(&jail, tree.root(), "fdlink")),
            FileErrorKind::Symlink
        );
        // a root at /proc: "self" is a link; the magic links under a pid are never followed
        assert_eq!(
            kind(read_all(&jail, "/proc", "self/root/etc/passwd")),
            FileErrorKind::Symlink
        );
        assert_eq!(
            kind(read_all(&jail, "/proc", &format!("{pid}/root/etc/passwd"))),
            FileErrorKind::Symlink
        );
        assert_eq!(
            kind(read_all(&jail, "/proc", &format!("{pid}/fd/{fd}"))),
            FileErrorKind::Symlink
        );
        assert_eq!(
            kind(read_all(&jail, "/proc", &format!("{pid}/cwd/x"))),
            FileErrorKind::Symlink
        );
        // memory and environment are on the deny list even from a root inside /proc
        for name in ["environ", "mem", "auxv"] {
            assert_eq!(
                kind(read_all(&jail, "/proc", &format!("{pid}/{name}"))),
                FileErrorKind::Denied,
                "{name}"
            );
            assert_eq!(
                kind(read_all(&jail, &format!("/proc/{pid}"), name)),
                FileErrorKind::Denied,
                "{name} from a root at /proc/<pid>"
            );
        }
        assert_eq!(
            kind(read_all(&jail, "/proc", "kcore")),
            FileErrorKind::Denied
        );
        // a root explicitly inside /proc serves its ordinary files
        let loadavg = read_all(&jail, "/proc", "loadavg").unwrap();
        assert!(!loadavg.is_empty());
        // a root above /proc and /sys does not reach into them
        assert_eq!(
            kind(read_all(&jail, "/", &format!("proc/{pid}/status"))),
            FileErrorKind::Refused
        );
        assert_eq!(kind(jail.list("/", "proc")), FileErrorKind::Refused);
        assert_eq!(kind(jail.list("/", "sys")), FileErrorKind::Refused);
        assert_eq!(
            kind(jail.write("/proc", "sonar-test", b"x", Expected::Any)),
            FileErrorKind::Refused
        );
    }
}

#[test]
fn a_hard_link_to_a_denied_file_is_refused() {
    let tree = Tree::new();
    fs::hard_link(tree.data.join("fingerprint"), tree.path("innocent.txt")).unwrap();
    for jail in tree.jails() {
        assert_eq!(
            kind(read_all(&jail, tree.root(), "innocent.txt")),
            FileErrorKind::Denied
        );
        assert_eq!(
            kind(jail.write(tree.root(), "innocent.txt", b"x", Expected::Any)),
            FileErrorKind::Denied
        );
        // an expected-hash write would otherwise be an oracle on the protected content
        assert_eq!(
            kind(jail.write(
                tree.root(),
                "innocent.txt",
                b"x",
                Expected::Sha256(sha256(b"FINGERPRINT"))
            )),
            FileErrorKind::Denied
        );
        assert_eq!(
            kind(jail.delete(tree.root(), "innocent.txt", None)),
            FileErrorKind::Denied
        );
    }
    assert_eq!(
        fs::read_to_string(tree.data.join("fingerprint")).unwrap(),
        "FINGERPRINT"
    );
}

#[test]
fn a_file_with_more_than_one_hard_link_is_refused() {
    let tree = Tree::new();
    // a link to a file outside the root that is on no deny list
    fs::hard_link(tree.outside.join("secret"), tree.path("linked")).unwrap();
    for jail in tree.jails() {
        assert_eq!(
            kind(read_all(&jail, tree.root(), "linked")),
            FileErrorKind::Refused
        );
        assert_eq!(
            kind(jail.write(tree.root(), "linked", b"x", Expected::Any)),
            FileErrorKind::Refused
        );
        assert_eq!(
            kind(jail.delete(tree.root(), "linked", None)),
            FileErrorKind::Refused
        );
    }
    assert_eq!(
        fs::read_to_string(tree.outside.join("secret")).unwrap(),
        "OUTSIDE"
    );
}

#[test]
fn the_deny_list_wins_over_a_root_that_contains_it() {
    let tree = Tree::new();
    let data_rel = tree
        .data
        .strip_prefix("/")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    for jail in tree.jails() {
        // a root at /
        assert_eq!(
            kind(read_all(&jail, "/", "etc/shadow")),
            FileErrorKind::Denied
        );
        assert_eq!(
            kind(read_all(&jail, "/", "etc/gshadow")),
            FileErrorKind::Denied
        );
        assert_eq!(
            kind(read_all(&jail, "/", "etc/sudoers")),
            FileErrorKind::Denied
        );
        assert_eq!(kind(jail.list("/", "etc/sudoers.d")), FileErrorKind::Denied);
        assert_eq!(
            kind(jail.write(
                "/",
                "etc/sudoers.d/sonar",
                b"ALL ALL=(ALL) NOPASSWD: ALL",
                Expected::Any
            )),
            FileErrorKind::Denied
        );
        assert_eq!(
            kind(read_all(&jail, "/", &format!("{data_rel}/fingerprint"))),
            FileErrorKind::Denied
        );
        assert_eq!(
            kind(jail.write("/", &format!("{data_rel}/new"), b"x", Expected::Any)),
            FileErrorKind::Denied
        );
        // a root at the data directory, or inside it
        assert_eq!(
            kind(jail.list(tree.data.to_str().unwrap(), "")),
            FileErrorKind::Denied
        );
        assert_eq!(
            kind(read_all(&jail, tree.data.to_str().unwrap(), "fingerprint")),
            FileErrorKind::Denied
        );
        assert_eq!(
            kind(jail.delete(tree.data.to_str().unwrap(), "fingerprint", None)),
            FileErrorKind::Denied
        );
        // a root at /etc
        assert_eq!(
            kind(read_all(&jail, "/etc", "shadow")),
            FileErrorKind::Denied
        );
        assert!(
            read_all(&jail, "/etc", "hostname").is_ok() || !Path::new("/etc/hostname").exists()
        );
    }
    assert!(!tree.data.join("new").exists());
    assert!(tree.data.join("fingerprint").exists());
}

#[test]
fn a_bind_mount_like_path_to_a_protected_directory_is_refused_by_identity() {
    // A symbolic link to the data directory is the path a DATA_DIR setting may use: protecting
    // the link's path protects the real directory too (canonical path and identity).
    let tree = Tree::new();
    let alias = tree.outside.join("data-alias");
    std::os::unix::fs::symlink(&tree.data, &alias).unwrap();
    let jail = Jail::new(vec![alias]);
    assert_eq!(
        kind(read_all(&jail, tree.data.to_str().unwrap(), "fingerprint")),
        FileErrorKind::Denied
    );
}

#[test]
fn ssh_private_keys_are_denied_public_ones_served() {
    let tree = Tree::new();
    fs::create_dir(tree.path(".ssh")).unwrap();
    for name in [
        "id_ed25519",
        "id_ed25519.pub",
        "known_hosts",
        "authorized_keys",
        "config",
    ] {
        fs::write(tree.path(&format!(".ssh/{name}")), name).unwrap();
    }
    fs::write(tree.path("id_rsa"), "KEY").unwrap();
    fs::write(tree.path("ssh_host_ed25519_key"), "KEY").unwrap();
    for jail in tree.jails() {
        for denied in [
            ".ssh/id_ed25519",
            ".ssh/authorized_keys",
            ".ssh/config",
            "id_rsa",
            "ssh_host_ed25519_key",
        ] {
            assert_eq!(
                kind(read_all(&jail, tree.root(), denied)),
                FileErrorKind::Denied,
                "{denied}"
            );
        }
        assert_eq!(
            read_all(&jail, tree.root(), ".ssh/id_ed25519.pub").unwrap(),
            b"id_ed25519.pub"
        );
        assert_eq!(
            read_all(&jail, tree.root(), ".ssh/known_hosts").unwrap(),
            b"known_hosts"
        );
        assert_eq!(
            kind(jail.write(
                tree.root(),
                ".ssh/authorized_keys",
                b"ssh-ed25519 AAAA",
                Expected::Any
            )),
            FileErrorKind::Denied
        );
        assert_eq!(
            kind(jail.delete(tree.root(), ".ssh/known_hosts", None)),
            FileErrorKind::Denied
        );
        assert_eq!(jail.list(tree.root(), ".ssh").unwrap().entries.len(), 5);
    }
}

#[test]
fn reads_honour_offset_length_and_hash_only_whole_files() {
    let tree = Tree::new();
    let content: Vec<u8> = (0..100u8).collect();
    fs::write(tree.path("f"), &content).unwrap();
    fs::write(tree.path("empty"), b"").unwrap();
    for jail in tree.jails() {
        let r = jail.read(tree.root(), "f", 0, 40).unwrap();
        assert_eq!(
            (r.data.as_slice(), r.size, r.eof, r.sha256),
            (&content[..40], 100, false, None)
        );
        let r = jail.read(tree.root(), "f", 40, 1000).unwrap();
        assert_eq!(
            (r.data.as_slice(), r.eof, r.sha256),
            (&content[40..], true, None)
        );
        // exactly the whole file: the end is found, so the hash is given
        let r = jail.read(tree.root(), "f", 0, 100).unwrap();
        assert_eq!((r.eof, r.sha256), (true, Some(sha256(&content))));
        let r = jail.read(tree.root(), "f", u64::MAX, 10).unwrap();
        assert_eq!((r.data.len(), r.eof, r.sha256), (0, true, None));
        let r = jail.read(tree.root(), "f", 500, 10).unwrap();
        assert_eq!((r.data.len(), r.eof, r.sha256), (0, true, None));
        let r = jail.read(tree.root(), "empty", 0, 10).unwrap();
        assert_eq!((r.size, r.eof, r.sha256), (0, true, Some(sha256(b""))));
        assert_eq!(
            kind(jail.read(tree.root(), "missing", 0, 10)),
            FileErrorKind::NotFound
        );
        fs::create_dir_all(tree.path("dir")).unwrap();
        assert_eq!(
            kind(jail.read(tree.root(), "dir", 0, 10)),
            FileErrorKind::WrongKind
        );
        assert_eq!(
            kind(jail.read(tree.root(), "f/x", 0, 10)),
            FileErrorKind::WrongKind
        );
    }
}

#[test]
fn writes_replace_atomically_and_keep_mode_and_owner() {
    let tree = Tree::new();
    let target = tree.path("conf");
    fs::write(&target, "old").unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o4751)).unwrap();
    // SAFETY: geteuid cannot fail.
    let root_user = unsafe { libc::geteuid() } == 0;
    if root_user {
        std::os::unix::fs::chown(&target, Some(1234), Some(5678)).unwrap();
    }
    let before = fs::metadata(&target).unwrap();
    for (i, jail) in tree.jails().into_iter().enumerate() {
        let content = format!("new content {i}");
        let replaced = fs::metadata(&target).unwrap().ino();
        let result = jail
            .write(tree.root(), "conf", content.as_bytes(), Expected::Any)
            .unwrap();
        assert_eq!(result.written, content.len() as u64);
        assert_eq!(result.sha256, sha256(content.as_bytes()));
        assert_eq!(fs::read_to_string(&target).unwrap(), content);
        let after = fs::metadata(&target).unwrap();
        assert_ne!(
            after.ino(),
            replaced,
            "replaced by rename, not rewritten in place"
        );
        // set-uid never carries over to what the hub wrote; the rest of the mode does
        assert_eq!(after.mode() & 0o7777, 0o0751);
        assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    }
    assert!(
        root_user,
        "run as root (as the build machines do) to check owners are kept"
    );
    // a new file: 0666 less the umask, in a directory that exists
    fs::create_dir(tree.path("sub")).unwrap();
    let jail = &tree.jails()[0];
    jail.write(tree.root(), "sub/new", b"n", Expected::Any)
        .unwrap();
    // SAFETY: umask is process-wide; read and restored at once.
    let mask = unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m
    };
    assert_eq!(
        fs::metadata(tree.path("sub/new")).unwrap().mode() & 0o777,
        0o666 & !mask
    );
    assert_eq!(
        kind(jail.write(tree.root(), "nodir/new", b"n", Expected::Any)),
        FileErrorKind::NotFound
    );
    // no temporary file is left behind
    let names: Vec<_> = fs::read_dir(&tree.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with(".sonar-")), "{names:?}");
}

#[test]
fn the_expected_hash_stops_a_second_writer_from_silently_overwriting() {
    let tree = Tree::new();
    for jail in tree.jails() {
        let _ = fs::remove_file(tree.path("shared"));
        // "must not exist": the first creates, the second is told
        let first = jail
            .write(tree.root(), "shared", b"one", Expected::Absent)
            .unwrap();
        assert_eq!(
            kind(jail.write(tree.root(), "shared", b"two", Expected::Absent)),
            FileErrorKind::Conflict
        );
        // "must have this hash": a writer holding the old hash loses
        jail.write(
            tree.root(),
            "shared",
            b"three",
            Expected::Sha256(first.sha256),
        )
        .unwrap();
        assert_eq!(
            kind(jail.write(
                tree.root(),
                "shared",
                b"four",
                Expected::Sha256(first.sha256)
            )),
            FileErrorKind::Conflict
        );
        assert_eq!(fs::read(tree.path("shared")).unwrap(), b"three");
        assert_eq!(
            kind(jail.write(tree.root(), "missing", b"x", Expected::Sha256(first.sha256))),
            FileErrorKind::Conflict
        );
        assert!(!tree.path("missing").exists());
        // delete with a stale hash keeps the file; with the right one removes it
        assert_eq!(
            kind(jail.delete(tree.root(), "shared", Some(first.sha256))),
            FileErrorKind::Conflict
        );
        assert!(tree.path("shared").exists());
        jail.delete(tree.root(), "shared", Some(sha256(b"three")))
            .unwrap();
        assert!(!tree.path("shared").exists());
    }
}

#[test]
fn delete_removes_regular_files_only() {
    let tree = Tree::new();
    fs::create_dir(tree.path("dir")).unwrap();
    fs::write(tree.path("file"), "x").unwrap();
    std::os::unix::fs::symlink(tree.outside.join("secret"), tree.path("link")).unwrap();
    std::os::unix::fs::symlink(&tree.outside, tree.path("dirlink")).unwrap();
    for jail in tree.jails() {
        assert_eq!(
            kind(jail.delete(tree.root(), "dir", None)),
            FileErrorKind::WrongKind
        );
        assert_eq!(
            kind(jail.delete(tree.root(), "link", None)),
            FileErrorKind::Symlink
        );
        assert_eq!(
            kind(jail.delete(tree.root(), "dirlink", None)),
            FileErrorKind::Symlink
        );
        assert_eq!(
            kind(jail.delete(tree.root(), "dirlink/secret", None)),
            FileErrorKind::Symlink
        );
    }
    assert!(tree.path("dir").is_dir());
    assert!(tree.path("link").symlink_metadata().is_ok());
    assert_eq!(
        fs::read_to_string(tree.outside.join("secret")).unwrap(),
        "OUTSIDE"
    );
    tree.jails()[1].delete(tree.root(), "file", None).unwrap();
    assert!(!tree.path("file").exists());
    assert_eq!(
        kind(tree.jails()[0].delete(tree.root(), "file", None)),
        FileErrorKind::NotFound
    );
}

#[test]
fn listings_show_kinds_without_following_links_and_stop_at_ten_thousand() {
    let tree = Tree::new();
    fs::write(tree.path("a.log"), "12345").unwrap();
    fs::set_permissions(tree.path("a.log"), fs::Permissions::from_mode(0o640)).unwrap();
    fs::create_dir(tree.path("b")).unwrap();
    std::os::unix::fs::symlink("/etc", tree.path("c")).unwrap();
    for jail in tree.jails() {
        let listing = jail.list(tree.root(), "").unwrap();
        assert!(!listing.truncated);
        let shown: Vec<_> = listing
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.kind, e.mode))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("a.log", EntryKind::File, 0o640),
                (
                    "b",
                    EntryKind::Directory,
                    0o755 & fs::metadata(tree.path("b")).unwrap().mode()
                ),
                ("c", EntryKind::Symlink, 0o777),
            ]
        );
        assert_eq!(listing.entries[0].size, 5);
        let mtime = fs::metadata(tree.path("a.log")).unwrap().mtime();
        assert_eq!(listing.entries[0].mtime_ms / 1000, mtime);
        assert_eq!(jail.list(tree.root(), "b/").unwrap().entries.len(), 0);
        assert_eq!(
            kind(jail.list(tree.root(), "a.log")),
            FileErrorKind::WrongKind
        );
        assert_eq!(
            kind(jail.list(tree.root(), "nothing")),
            FileErrorKind::NotFound
        );
    }
    let many = tree.path("many");
    fs::create_dir(&many).unwrap();
    for i in 0..=MAX_LIST_ENTRIES {
        fs::write(many.join(format!("{i:05}")), "").unwrap();
    }
    for jail in tree.jails() {
        let listing = jail.list(tree.root(), "many").unwrap();
        assert!(listing.truncated);
        assert_eq!(listing.entries.len(), MAX_LIST_ENTRIES);
    }
}

#[test]
fn a_root_whose_path_holds_a_symlink_now_is_refused() {
    let tree = Tree::new();
    let link = tree.outside.join("root-link");
    std::os::unix::fs::symlink(&tree.root, &link).unwrap();
    fs::write(tree.path("f"), "x").unwrap();
    for jail in tree.jails() {
        assert_eq!(
            kind(read_all(&jail, link.to_str().unwrap(), "f")),
            FileErrorKind::InvalidRoot
        );
        assert_eq!(
            kind(read_all(&jail, "relative/root", "f")),
            FileErrorKind::InvalidRoot
        );
        assert_eq!(
            kind(read_all(&jail, "/no/such/root", "f")),
            FileErrorKind::InvalidRoot
        );
        assert_eq!(read_all(&jail, tree.root(), "f").unwrap(), b"x");
    }
}
