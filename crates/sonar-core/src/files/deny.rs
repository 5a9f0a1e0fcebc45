//! The built-in deny list: what no root can serve, whatever the policy says. It is checked twice:
//! by path (the root's path and the hub's path joined, exact because neither has `..` and no link
//! is followed) and by identity — the (st_dev, st_ino) of every protected file this call could
//! stat — so a hard link or a bind mount of a protected file inside a root is refused too.
//! Identities are gathered on each call (a few dozen stats), so files replaced since the agent
//! started (a rotated /etc/shadow, a new key) are still known.

use super::sys::Stat;
use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What is being done, for the rules that depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    List,
    Read,
    Write,
    Delete,
}

pub const AGENT: &str = "the agent's own data and configuration";
const SHADOW: &str = "password hashes";
const SUDO: &str = "sudo's rules";
const SSH_KEY: &str = "an SSH private key";
const SSH_DIR: &str =
    "an SSH directory (only *.pub and known_hosts are readable there, nothing is written)";
const AUTHORIZED_KEYS: &str = "SSH authorized keys (never written)";
pub const PROC: &str = "process memory, environment or kernel memory (/proc)";

const BUILT_IN: &[(&str, &str)] = &[
    ("/etc/shadow", SHADOW),
    ("/etc/shadow-", SHADOW),
    ("/etc/gshadow", SHADOW),
    ("/etc/gshadow-", SHADOW),
    ("/etc/security/opasswd", SHADOW),
    ("/etc/sudoers", SUDO),
    ("/etc/sudoers.d", SUDO),
];

/// Files in /proc (per process, or the kernel's own) that are never served, even from a root
/// inside /proc: memory, environment, the kernel's memory and log.
const PROC_NAMES: &[&str] = &[
    "mem",
    "environ",
    "auxv",
    "pagemap",
    "syscall",
    "stack",
    "kcore",
    "kmem",
    "kmsg",
    "kpagecount",
    "kpageflags",
    "kpagecgroup",
];

/// Bounds on the identity gathering, so a huge protected directory cannot stall a request.
const MAX_DEPTH: usize = 4;
const MAX_ENTRIES_PER_PATH: usize = 4096;

pub struct DenyList {
    prefixes: Vec<(String, &'static str)>,
    identities: HashMap<(u64, u64), &'static str>,
}

/// Whether `name` is one of the /proc files never served.
pub fn proc_name_denied(name: &str) -> bool {
    PROC_NAMES.contains(&name)
}

/// `id_*` (not `.pub`) and `ssh_host_*_key`: private key names wherever they are.
fn private_key_name(name: &str) -> bool {
    (name.starts_with("id_") && !name.ends_with(".pub"))
        || (name.starts_with("ssh_host_") && name.ends_with("_key"))
}

fn under(path: &str, prefix: &str) -> bool {
    prefix == "/"
        || path == prefix
        || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
}

impl DenyList {
    /// The built-in list plus `protect` (the agent's data directory, its configuration…: each
    /// protected with everything beneath it), with the identities of what can be stat'ed now.
    pub fn gather(protect: &[PathBuf]) -> DenyList {
        let mut list = DenyList {
            prefixes: Vec::new(),
            identities: HashMap::new(),
        };
        let protected = BUILT_IN
            .iter()
            .map(|(path, why)| (PathBuf::from(path), *why))
            .chain(protect.iter().map(|path| (path.clone(), AGENT)));
        for (path, why) in protected {
            if !path.is_absolute() {
                continue;
            }
            list.add_prefix(&path, why);
            if let Ok(real) = fs::canonicalize(&path) {
                list.add_prefix(&real, why);
            }
            if let Ok(meta) = fs::metadata(&path) {
                list.identities.insert((meta.dev(), meta.ino()), why);
                if meta.is_dir() {
                    let mut budget = MAX_ENTRIES_PER_PATH;
                    list.add_tree(&path, why, MAX_DEPTH, &mut budget);
                }
            }
        }
        list.add_ssh_keys();
        list
    }

    fn add_prefix(&mut self, path: &Path, why: &'static str) {
        if let Some(text) = path.to_str() {
            let text = if text.len() > 1 {
                text.trim_end_matches('/')
            } else {
                text
            };
            if !self.prefixes.iter().any(|(p, _)| p == text) {
                self.prefixes.push((text.to_string(), why));
            }
        }
    }

    fn add_tree(&mut self, dir: &Path, why: &'static str, depth: usize, budget: &mut usize) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            if *budget == 0 {
                return;
            }
            *budget -= 1;
            let Ok(meta) = entry.metadata() else { continue };
            self.identities.insert((meta.dev(), meta.ino()), why);
            if meta.is_dir() && depth > 1 {
                self.add_tree(&entry.path(), why, depth - 1, budget);
            }
        }
    }

    /// Private keys in every home's .ssh (root, /home/*, the homes /etc/passwd names) and the
    /// host keys in /etc/ssh, by identity: their paths are covered by the name rules.
    fn add_ssh_keys(&mut self) {
        let mut homes: Vec<PathBuf> = vec![PathBuf::from("/root")];
        if let Ok(entries) = fs::read_dir("/home") {
            homes.extend(entries.flatten().map(|e| e.path()));
        }
        if let Ok(passwd) = fs::read_to_string("/etc/passwd") {
            homes.extend(
                passwd
                    .lines()
                    .filter_map(|line| line.split(':').nth(5))
                    .filter(|home| home.starts_with('/') && *home != "/")
                    .take(4096)
                    .map(PathBuf::from),
            );
        }
        homes.sort();
        homes.dedup();
        for home in homes {
            self.add_keys_in(&home.join(".ssh"), |name| {
                !(name.ends_with(".pub") || name == "known_hosts")
            });
        }
        self.add_keys_in(Path::new("/etc/ssh"), private_key_name);
    }

    fn add_keys_in(&mut self, dir: &Path, private: impl Fn(&str) -> bool) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten().take(MAX_ENTRIES_PER_PATH) {
            let name = entry.file_name();
            if !private(&name.to_string_lossy()) {
                continue;
            }
            if let Ok(meta) = entry.metadata() {
                if meta.is_file() {
                    self.identities.insert((meta.dev(), meta.ino()), SSH_KEY);
                }
            }
        }
    }

    /// The rules by path: `abs` is the root's path joined with the hub's (see `RootPath::join`).
    pub fn check_path(&self, abs: &str, op: Op) -> Result<(), &'static str> {
        if let Some((_, why)) = self.prefixes.iter().find(|(p, _)| under(abs, p)) {
            return Err(why);
        }
        let mut names: Vec<&str> = abs.split('/').filter(|n| !n.is_empty()).collect();
        let name = names.pop().unwrap_or("");
        let in_ssh_dir = names.contains(&".ssh");
        match op {
            Op::List => Ok(()),
            Op::Read | Op::Write | Op::Delete if private_key_name(name) => Err(SSH_KEY),
            Op::Read if in_ssh_dir && !(name.ends_with(".pub") || name == "known_hosts") => {
                Err(SSH_DIR)
            }
            Op::Write | Op::Delete if in_ssh_dir => Err(SSH_DIR),
            Op::Write | Op::Delete if name == "authorized_keys" || name == "authorized_keys2" => {
                Err(AUTHORIZED_KEYS)
            }
            _ if names.first() == Some(&"proc") && proc_name_denied(name) => Err(PROC),
            _ => Ok(()),
        }
    }

    /// The rule by identity: the opened file (or directory) is not a protected one.
    pub fn check_identity(&self, stat: &Stat) -> Result<(), &'static str> {
        match self.identities.get(&stat.identity()) {
            Some(why) => Err(why),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(protect: &[&str]) -> DenyList {
        DenyList::gather(&protect.iter().map(PathBuf::from).collect::<Vec<_>>())
    }

    #[test]
    fn paths_under_protected_ones_are_denied_for_every_action() {
        let deny = list(&["/var/lib/sonar-agent", "/etc/sonar-agent/"]);
        for op in [Op::List, Op::Read, Op::Write, Op::Delete] {
            assert!(deny.check_path("/etc/shadow", op).is_err());
            assert!(deny.check_path("/etc/sudoers.d/90-cloud", op).is_err());
            assert!(deny.check_path("/var/lib/sonar-agent", op).is_err());
            assert!(deny
                .check_path("/var/lib/sonar-agent/fingerprint", op)
                .is_err());
            assert!(deny
                .check_path("/etc/sonar-agent/extensions.yml", op)
                .is_err());
        }
        assert!(deny.check_path("/etc/shadowsocks.json", Op::Read).is_ok());
        assert!(deny.check_path("/var/lib/sonar-agent2/x", Op::Read).is_ok());
        assert!(deny.check_path("/etc", Op::List).is_ok());
    }

    #[test]
    fn ssh_rules() {
        let deny = list(&[]);
        assert!(deny.check_path("/srv/id_rsa", Op::Read).is_err());
        assert!(deny.check_path("/srv/id_ed25519_github", Op::Read).is_err());
        assert!(deny.check_path("/srv/id_rsa.pub", Op::Read).is_ok());
        assert!(deny
            .check_path("/etc/ssh/ssh_host_ed25519_key", Op::Read)
            .is_err());
        assert!(deny
            .check_path("/etc/ssh/ssh_host_ed25519_key.pub", Op::Read)
            .is_ok());
        assert!(deny.check_path("/home/u/.ssh/config", Op::Read).is_err());
        assert!(deny
            .check_path("/home/u/.ssh/authorized_keys", Op::Read)
            .is_err());
        assert!(deny
            .check_path("/home/u/.ssh/known_hosts", Op::Read)
            .is_ok());
        assert!(deny
            .check_path("/home/u/.ssh/known_hosts", Op::Write)
            .is_err());
        assert!(deny.check_path("/home/u/.ssh/a.pub", Op::Delete).is_err());
        assert!(deny.check_path("/home/u/.ssh", Op::List).is_ok());
        assert!(deny
            .check_path("/etc/ssh/authorized_keys", Op::Write)
            .is_err());
    }

    #[test]
    fn proc_memory_and_environment() {
        let deny = list(&[]);
        assert!(deny.check_path("/proc/self/mem", Op::Read).is_err());
        assert!(deny.check_path("/proc/1/environ", Op::Read).is_err());
        assert!(deny.check_path("/proc/1/task/1/environ", Op::Read).is_err());
        assert!(deny.check_path("/proc/kcore", Op::Read).is_err());
        assert!(deny.check_path("/proc/loadavg", Op::Read).is_ok());
        assert!(deny.check_path("/srv/mem", Op::Read).is_ok());
    }

    #[test]
    fn identities_of_protected_files_are_known() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("data/fingerprint");
        fs::create_dir_all(secret.parent().unwrap()).unwrap();
        fs::write(&secret, "x").unwrap();
        let deny = list(&[dir.path().join("data").to_str().unwrap()]);
        let meta = fs::metadata(&secret).unwrap();
        let stat = Stat {
            dev: meta.dev(),
            ino: meta.ino(),
            mode: meta.mode(),
            nlink: 1,
            uid: 0,
            gid: 0,
            size: 1,
            mtime_ms: 0,
        };
        assert_eq!(deny.check_identity(&stat), Err(AGENT));
    }
}
