//! `/proc/diskstats` (Documentation/admin-guide/iostats.rst): one line per block device,
//! `major minor name` then the counters. Sectors are always 512 bytes there.

use std::collections::HashSet;

/// The counters the rates and `dios` need, raw as the kernel reports them (sectors, ms, ops).
/// Kept raw so a wrap of a 32-bit kernel counter is seen before the ×512 scaling.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct IoCounters {
    pub read_count: u64,
    pub read_sectors: u64,
    pub read_time_ms: u64,
    pub write_count: u64,
    pub write_sectors: u64,
    pub write_time_ms: u64,
    pub io_time_ms: u64,
    pub weighted_io_ms: u64,
}

impl IoCounters {
    pub fn bytes(&self) -> u64 {
        self.read_sectors
            .saturating_add(self.write_sectors)
            .saturating_mul(512)
    }

    pub fn ops(&self) -> u64 {
        self.read_count.saturating_add(self.write_count)
    }

    /// A device that never did any I/O (unused loop/ram devices).
    pub fn is_idle(&self) -> bool {
        self.ops() == 0 && self.bytes() == 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DiskStat {
    pub major: u32,
    pub minor: u32,
    pub name: String,
    pub counters: IoCounters,
}

pub(super) fn parse(text: &str) -> Vec<DiskStat> {
    text.lines().filter_map(parse_line).collect()
}

/// Only the lines of the named devices: the per-sample path, which needs a handful of devices.
pub(super) fn parse_named(text: &str, names: &HashSet<String>) -> Vec<DiskStat> {
    text.lines()
        .filter(|line| {
            line.split_ascii_whitespace()
                .nth(2)
                .is_some_and(|name| names.contains(name))
        })
        .filter_map(parse_line)
        .collect()
}

/// Every field of one /proc/diskstats line (node_exporter's families use them all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DiskstatsLine<'a> {
    pub major: u32,
    pub minor: u32,
    pub name: &'a str,
    /// The counters after the name in the kernel's order (iostats.rst fields 1–17); only the
    /// first `count` are present: 11 before Linux 4.18, 15 with discards, 17 with flushes.
    pub values: [u64; 17],
    pub count: usize,
}

/// A line with at least the 11 classic counters; later ones are kept when present.
pub(crate) fn parse_fields(line: &str) -> Option<DiskstatsLine<'_>> {
    let mut fields = line.split_ascii_whitespace();
    let major = fields.next()?.parse().ok()?;
    let minor = fields.next()?.parse().ok()?;
    let name = fields.next()?;
    let mut values = [0u64; 17];
    let mut count = 0;
    for (slot, field) in values.iter_mut().zip(fields) {
        *slot = field.parse().ok()?;
        count += 1;
    }
    if count < 11 {
        return None;
    }
    Some(DiskstatsLine {
        major,
        minor,
        name,
        values,
        count,
    })
}

fn parse_line(line: &str) -> Option<DiskStat> {
    let line = parse_fields(line)?;
    let v = &line.values;
    Some(DiskStat {
        major: line.major,
        minor: line.minor,
        name: line.name.to_string(),
        counters: IoCounters {
            read_count: v[0],
            read_sectors: v[2],
            read_time_ms: v[3],
            write_count: v[4],
            write_sectors: v[6],
            write_time_ms: v[7],
            io_time_ms: v[9],
            weighted_io_ms: v[10],
        },
    })
}

/// Names that are never the disk a filesystem lives on when a better candidate exists.
fn is_virtual(name: &str) -> bool {
    name.starts_with("loop") || name.starts_with("ram") || name.starts_with("zram")
}

/// The most active device not in `exclude` (bytes, then ops, then the lowest name), ignoring
/// devices that never did I/O and preferring real disks over loop/ram/zram devices.
pub(super) fn busiest<'a>(disks: &'a [DiskStat], exclude: &HashSet<String>) -> Option<&'a str> {
    let pick = |virtual_devices: bool| {
        disks
            .iter()
            .filter(|d| !d.counters.is_idle() && !exclude.contains(&d.name))
            .filter(|d| is_virtual(&d.name) == virtual_devices)
            .max_by(|a, b| {
                (a.counters.bytes(), a.counters.ops())
                    .cmp(&(b.counters.bytes(), b.counters.ops()))
                    .then_with(|| b.name.cmp(&a.name))
            })
    };
    pick(false).or_else(|| pick(true)).map(|d| d.name.as_str())
}
