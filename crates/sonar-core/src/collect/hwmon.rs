//! What the temperature and fan collectors share about walking `/sys/class/hwmon`: Go-glob-like
//! directory matching (sorted by name, as Go's glob and `os.ReadDir` are). Small files are read
//! with `roots::read_text`, which keeps a value whose bytes are not UTF-8 (lossy).

use crate::filter::glob_match;
use std::path::{Path, PathBuf};

/// Entries of `dir` whose name matches `pattern`, sorted by name as Go's glob does. A missing
/// or unreadable directory (or a file) yields nothing. A name that is not UTF-8 is matched in
/// its lossy form but its path kept as is, so the entry still reads.
pub(crate) fn sorted_matches(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<(String, std::ffi::OsString)> = entries
        .filter_map(|e| {
            let raw = e.ok()?.file_name();
            Some((raw.to_string_lossy().into_owned(), raw))
        })
        .filter(|(name, _)| glob_match(pattern, name))
        .collect();
    names.sort();
    names.into_iter().map(|(_, raw)| dir.join(raw)).collect()
}

/// `hwmonN/<base>_<suffix>` → `<base>` ("fan1_input" → "fan1", "temp3_input" → "temp3").
pub(crate) fn attribute_base(file: &Path) -> Option<&str> {
    let name = file.file_name()?.to_str()?;
    Some(name.split('_').next().unwrap_or(name))
}
