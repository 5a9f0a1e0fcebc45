//! node_exporter's `softnet` collector: per-CPU packet processing from /proc/net/softnet_stat
//! (one line per CPU, hexadecimal columns: processed, dropped, time squeezed).

use super::read_into;
use crate::metrics::MetricSet;
use crate::roots::Roots;

pub(super) fn families(roots: &Roots, buf: &mut String, set: &mut MetricSet) {
    if !read_into(&roots.proc("net/softnet_stat"), buf) {
        return;
    }
    let rows: Vec<[u64; 3]> = buf
        .lines()
        .filter_map(|line| {
            let mut fields = line
                .split_ascii_whitespace()
                .map(|f| u64::from_str_radix(f, 16).ok());
            Some([fields.next()??, fields.next()??, fields.next()??])
        })
        .collect();
    for (column, name, help) in [
        (
            0,
            "node_softnet_processed_total",
            "Number of processed packets",
        ),
        (1, "node_softnet_dropped_total", "Number of dropped packets"),
        (
            2,
            "node_softnet_times_squeezed_total",
            "Number of times processing packets ran out of quota",
        ),
    ] {
        let family = set.counter(name, help);
        for (cpu, row) in rows.iter().enumerate() {
            family.push(vec![("cpu", cpu.to_string())], row[column] as f64);
        }
    }
}
