//! What the temperature and fan collectors share about walking `/sys/class/hwmon`: Go-glob-like
//! directory matching (sorted by name, as Go's glob and `os.ReadDir` are) and lossy small-file
//! reads.

use crate::filter::glob_match;
use std::path::{Path, PathBuf};

/// Entries of `dir` whose name matches `pattern`, sorted by name as Go's glob does. A missing
/// or unreadable directory (or a file) yields nothing.
pub(crate) fn sorted_matches(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| glob_match(pattern, name))
        .collect();
    names.sort();
    names.into_iter().map(|name| dir.join(name)).collect()
}

/// Reads a small file; bytes that are not UTF-8 become U+FFFD instead of losing the whole value.
pub(crate) fn read_lossy(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// `hwmonN/<base>_<suffix>` → `<base>` ("fan1_input" → "fan1", "temp3_input" → "temp3").
pub(crate) fn attribute_base(file: &Path) -> Option<&str> {
    let name = file.file_name()?.to_str()?;
    Some(name.split('_').next().unwrap_or(name))
}
