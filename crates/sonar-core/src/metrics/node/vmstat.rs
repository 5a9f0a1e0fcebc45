//! node_exporter's `vmstat` collector with its default field selection
//! (`^(oom_kill|pgpg|pswp|pg.*fault).*`): paging, swapping, page faults and OOM kills, untyped as
//! node_exporter leaves them.

use super::kept_files::KeptFiles;
use crate::metrics::{MetricSet, MetricType};
use crate::roots::Roots;

fn selected(key: &str) -> bool {
    key.starts_with("oom_kill")
        || key.starts_with("pgpg")
        || key.starts_with("pswp")
        || key
            .strip_prefix("pg")
            .is_some_and(|rest| rest.contains("fault"))
}

pub(super) fn families(
    roots: &Roots,
    files: &mut KeptFiles,
    buf: &mut String,
    set: &mut MetricSet,
) {
    if !files.read_into(&roots.proc("vmstat"), buf) {
        return;
    }
    for line in buf.lines() {
        let Some((key, value)) = line.split_once(' ') else {
            continue;
        };
        if !selected(key) {
            continue;
        }
        if let Ok(value) = value.trim().parse::<u64>() {
            set.family(
                &format!("node_vmstat_{key}"),
                MetricType::Untyped,
                &format!("/proc/vmstat information field {key}."),
            )
            .push(vec![], value as f64);
        }
    }
}
