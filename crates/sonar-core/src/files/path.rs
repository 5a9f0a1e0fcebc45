//! The two kinds of path a file action sees: the root's absolute path (from the host's policy) and
//! the path beneath it (from the hub). Both are checked by their text first; the kernel (or the
//! walk) then enforces that what is opened lies beneath the root.

use super::error::{FileError, FileErrorKind};

/// Linux's PATH_MAX: no longer path is accepted from the hub.
pub const MAX_PATH_BYTES: usize = 4096;
/// Linux's NAME_MAX.
pub const MAX_NAME_BYTES: usize = 255;

/// A path relative to a root: zero or more plain names, never `.`, `..`, empty or absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelPath {
    names: Vec<String>,
}

impl RelPath {
    /// `""` is the root itself; one trailing `/` is allowed (`logs/`).
    pub fn parse(text: &str) -> Result<RelPath, FileError> {
        let bad = |why: &str| {
            Err(FileError::new(
                FileErrorKind::InvalidPath,
                format!("path {} {why}", shown(text)),
            ))
        };
        if text.len() > MAX_PATH_BYTES {
            return bad(&format!("is longer than {MAX_PATH_BYTES} bytes"));
        }
        if text.contains('\0') {
            return bad("contains a NUL byte");
        }
        if text.starts_with('/') {
            return bad("is absolute; paths are relative to their root");
        }
        let trimmed = text.strip_suffix('/').unwrap_or(text);
        if trimmed.is_empty() {
            return if text.is_empty() {
                Ok(RelPath { names: Vec::new() })
            } else {
                bad("is empty")
            };
        }
        let mut names = Vec::new();
        for name in trimmed.split('/') {
            match name {
                "" => return bad("has an empty component (//)"),
                "." => return bad("has a \".\" component"),
                ".." => return bad("has a \"..\" component; paths cannot leave their root"),
                _ if name.len() > MAX_NAME_BYTES => {
                    return bad(&format!("has a name longer than {MAX_NAME_BYTES} bytes"))
                }
                _ => names.push(name.to_string()),
            }
        }
        Ok(RelPath { names })
    }

    /// The root itself (`""`).
    pub fn is_root(&self) -> bool {
        self.names.is_empty()
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The directories on the way (all names but the last).
    pub fn parent(&self) -> &[String] {
        match self.names.split_last() {
            Some((_, parent)) => parent,
            None => &[],
        }
    }

    /// The last name; None for the root itself.
    pub fn name(&self) -> Option<&str> {
        self.names.last().map(String::as_str)
    }

    /// The path as the hub wrote it (normalised: no trailing `/`), quoted for messages.
    pub fn shown(&self) -> String {
        shown(&self.names.join("/"))
    }
}

/// An absolute root path from the policy: `/` or `/a/b` with plain names only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootPath {
    names: Vec<String>,
}

impl RootPath {
    pub fn parse(text: &str) -> Result<RootPath, FileError> {
        let bad = |why: &str| {
            Err(FileError::new(
                FileErrorKind::InvalidRoot,
                format!("root path {} {why}", shown(text)),
            ))
        };
        let Some(rest) = text.strip_prefix('/') else {
            return bad("is not absolute");
        };
        if text.len() > MAX_PATH_BYTES || text.contains('\0') {
            return bad("is too long or contains a NUL byte");
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() {
            return Ok(RootPath { names: Vec::new() });
        }
        let mut names = Vec::new();
        for name in rest.split('/') {
            if name.is_empty() || name == "." || name == ".." {
                return bad("is not normalised (empty, \".\" or \"..\" components)");
            }
            names.push(name.to_string());
        }
        Ok(RootPath { names })
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The absolute path of `rel` beneath this root (both already checked: no `.`/`..`, so this
    /// text is exactly where the kernel goes when no symbolic link is followed).
    pub fn join(&self, rel: &RelPath) -> String {
        let mut out = String::new();
        for name in self.names.iter().chain(rel.names()) {
            out.push('/');
            out.push_str(name);
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }
}

/// A path for a message: quoted and escaped, cut at 200 characters.
pub fn shown(text: &str) -> String {
    const MAX: usize = 200;
    if text.chars().count() <= MAX {
        format!("{text:?}")
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut:?}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Option<FileErrorKind> {
        RelPath::parse(text).err().map(|e| e.kind)
    }

    #[test]
    fn relative_paths_are_plain_names() {
        assert_eq!(RelPath::parse("").map(|p| p.is_root()), Ok(true));
        assert_eq!(
            RelPath::parse("a/b.log").map(|p| p.names().to_vec()),
            Ok(vec!["a".to_string(), "b.log".to_string()])
        );
        assert_eq!(
            RelPath::parse("logs/").map(|p| p.names().to_vec()),
            Ok(vec!["logs".to_string()])
        );
        assert_eq!(
            RelPath::parse("...").map(|p| p.names().to_vec()),
            Ok(vec!["...".to_string()])
        );
        for bad in [
            "/etc/passwd",
            "..",
            "a/../../etc",
            "a/..",
            "./a",
            "a//b",
            "/",
            "a\0b",
            "//",
        ] {
            assert_eq!(kind(bad), Some(FileErrorKind::InvalidPath), "{bad:?}");
        }
        assert_eq!(
            kind(&"a/".repeat(2049)),
            Some(FileErrorKind::InvalidPath),
            "longer than PATH_MAX"
        );
        assert_eq!(kind(&"x".repeat(256)), Some(FileErrorKind::InvalidPath));
    }

    #[test]
    fn roots_are_absolute_and_normalised() {
        let root = RootPath::parse("/var/log").unwrap();
        let rel = RelPath::parse("app/x.log").unwrap();
        assert_eq!(root.join(&rel), "/var/log/app/x.log");
        assert_eq!(
            RootPath::parse("/")
                .unwrap()
                .join(&RelPath::parse("").unwrap()),
            "/"
        );
        for bad in ["var/log", "/var/../etc", "/var//log", "/var/./log", ""] {
            assert!(RootPath::parse(bad).is_err(), "{bad:?}");
        }
    }
}
