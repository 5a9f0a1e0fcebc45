//! node_exporter's `schedstat` collector: per-CPU scheduler time from /proc/schedstat
//! (`cpuN` lines; the 7th–9th numbers are running ns, waiting ns and timeslices).

use super::kept_files::KeptFiles;
use crate::metrics::MetricSet;
use crate::roots::Roots;

pub(super) fn families(
    roots: &Roots,
    files: &mut KeptFiles,
    buf: &mut String,
    set: &mut MetricSet,
) {
    if !files.read_into(&roots.proc("schedstat"), buf) {
        return;
    }
    let rows: Vec<(&str, [u64; 3])> = buf
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_ascii_whitespace();
            let cpu = fields.next()?.strip_prefix("cpu")?;
            let mut numbers = fields.skip(6).map(|f| f.parse::<u64>().ok());
            Some((cpu, [numbers.next()??, numbers.next()??, numbers.next()??]))
        })
        .collect();
    for (column, name, help, scale) in [
        (
            0,
            "node_schedstat_running_seconds_total",
            "Number of seconds CPU spent running a process.",
            1e9,
        ),
        (
            1,
            "node_schedstat_waiting_seconds_total",
            "Number of seconds spent by processing waiting for this CPU.",
            1e9,
        ),
        (
            2,
            "node_schedstat_timeslices_total",
            "Number of timeslices executed by CPU.",
            1.0,
        ),
    ] {
        let family = set.counter(name, help);
        for (cpu, row) in &rows {
            family.push(vec![("cpu", cpu.to_string())], row[column] as f64 / scale);
        }
    }
}
