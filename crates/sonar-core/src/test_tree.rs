//! Fake host trees for the unit tests (the integration tests have tests/common).

use std::path::Path;

/// Writes `text` at `root/rel`, creating the directories on the way.
pub fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("a file under the root"))
        .expect("create the directories");
    std::fs::write(path, text).expect("write the file");
}
