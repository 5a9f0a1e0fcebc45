//! node_exporter's `cpu` and `stat` collectors: /proc/stat.

use super::kept_files::KeptFiles;
use crate::collect::cpu::parse_stat;
use crate::metrics::MetricSet;
use crate::roots::Roots;

/// /proc/stat counts in USER_HZ, which Linux fixes at 100 for user space whatever CONFIG_HZ is.
const USER_HZ: f64 = 100.0;

pub(super) fn families(
    roots: &Roots,
    files: &mut KeptFiles,
    buf: &mut String,
    set: &mut MetricSet,
) {
    if !files.read_into(&roots.proc("stat"), buf) {
        return;
    }
    let mut cores = Vec::new();
    if parse_stat(buf, &mut cores).is_some() {
        let seconds = set.counter(
            "node_cpu_seconds_total",
            "Seconds the CPUs spent in each mode.",
        );
        for core in &cores {
            let t = core.times;
            let cpu = core.id.to_string();
            // guest and guest_nice are already inside user and nice: reported apart below
            for (mode, jiffies) in [
                ("idle", t.idle),
                ("iowait", t.iowait),
                ("irq", t.irq),
                ("nice", t.nice),
                ("softirq", t.softirq),
                ("steal", t.steal),
                ("system", t.system),
                ("user", t.user),
            ] {
                seconds.push(
                    vec![("cpu", cpu.clone()), ("mode", mode.to_string())],
                    jiffies as f64 / USER_HZ,
                );
            }
        }
        let guest = set.counter(
            "node_cpu_guest_seconds_total",
            "Seconds the CPUs spent in guests (VMs) for each mode.",
        );
        for core in &cores {
            let cpu = core.id.to_string();
            for (mode, jiffies) in [("nice", core.times.guest_nice), ("user", core.times.guest)] {
                guest.push(
                    vec![("cpu", cpu.clone()), ("mode", mode.to_string())],
                    jiffies as f64 / USER_HZ,
                );
            }
        }
    }
    for line in buf.lines() {
        let mut fields = line.split_ascii_whitespace();
        let (Some(key), Some(value)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Ok(value) = value.parse::<u64>() else {
            continue;
        };
        let value = value as f64;
        match key {
            "btime" => set
                .gauge("node_boot_time_seconds", "Node boot time, in unixtime.")
                .push(vec![], value),
            "ctxt" => set
                .counter(
                    "node_context_switches_total",
                    "Total number of context switches.",
                )
                .push(vec![], value),
            "processes" => set
                .counter("node_forks_total", "Total number of forks.")
                .push(vec![], value),
            "intr" => set
                .counter("node_intr_total", "Total number of interrupts serviced.")
                .push(vec![], value),
            "procs_running" => set
                .gauge(
                    "node_procs_running",
                    "Number of processes in runnable state.",
                )
                .push(vec![], value),
            "procs_blocked" => set
                .gauge(
                    "node_procs_blocked",
                    "Number of processes blocked waiting for I/O to complete.",
                )
                .push(vec![], value),
            _ => {}
        }
    }
}
