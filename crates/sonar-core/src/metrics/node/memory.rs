//! node_exporter's `meminfo` collector: every /proc/meminfo field, named as it names them
//! (`Active(anon)` → `node_memory_Active_anon_bytes`; the unit-less HugePages_* counts keep their
//! name without `_bytes`).

use super::kept_files::KeptFiles;
use crate::collect::memory::meminfo_fields;
use crate::metrics::MetricSet;
use crate::roots::Roots;

pub(super) fn families(
    roots: &Roots,
    files: &mut KeptFiles,
    buf: &mut String,
    set: &mut MetricSet,
) {
    if !files.read_into(&roots.proc("meminfo"), buf) {
        return;
    }
    let mut name = String::with_capacity(64);
    for field in meminfo_fields(buf) {
        name.clear();
        name.push_str("node_memory_");
        for c in field.key.chars() {
            match c {
                '(' => name.push('_'),
                ')' => {}
                c => name.push(c),
            }
        }
        let value = if field.kib {
            name.push_str("_bytes");
            field.value.saturating_mul(1024) as f64
        } else {
            field.value as f64
        };
        let key = &name["node_memory_".len()..];
        let help = format!("Memory information field {key}.");
        set.gauge(&name, &help).push(vec![], value);
    }
}
