//! Block-device partitions from `/proc/<pid>/mountinfo`, filtered like gopsutil's
//! `disk.Partitions(false)`: only filesystem types that `/proc/filesystems` does not mark `nodev`,
//! and never the device "none".

use crate::roots::{read_text, Roots};
use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Partition {
    /// Mount source, e.g. `/dev/sda2`, `/dev/mapper/vg-root`, `/dev/root`.
    pub device: String,
    pub mountpoint: String,
    pub fstype: String,
    /// `major:minor` of the mounted filesystem (field 3). For filesystems on one block device this
    /// is that device's number, which `/proc/diskstats` lists in its first two columns.
    pub devnum: Option<(u32, u32)>,
    /// `ro` in the mount's own options or its superblock's.
    pub read_only: bool,
}

/// Reads the partitions of PID 1's mount namespace (the host's view when the agent shares it),
/// falling back to the agent's own.
pub(super) fn read_partitions(roots: &Roots) -> Vec<Partition> {
    let text = match read_text(&roots.proc("1/mountinfo"))
        .or_else(|| read_text(&roots.proc("self/mountinfo")))
    {
        Some(t) => t,
        None => {
            let path = roots.proc("self/mountinfo");
            roots.warn_proc_file(
                &path,
                "is not readable (nor is 1/mountinfo)",
                "disk usage is reported as 0",
            );
            return Vec::new();
        }
    };
    let block_types = read_text(&roots.proc("filesystems")).map(|t| block_filesystem_types(&t));
    parse_mountinfo(&text)
        .into_iter()
        .filter(|p| p.device != "none")
        .filter(|p| match &block_types {
            Some(types) => types.contains(p.fstype.as_str()),
            // Without /proc/filesystems keep what looks like a block device.
            None => p.device.starts_with('/'),
        })
        .collect()
}

/// Filesystem types in `/proc/filesystems` without the `nodev` flag.
pub(super) fn block_filesystem_types(text: &str) -> HashSet<String> {
    text.lines()
        .filter(|line| !line.starts_with("nodev"))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// Every mount in a mountinfo file, unfiltered.
pub(crate) fn parse_mountinfo(text: &str) -> Vec<Partition> {
    text.lines().filter_map(parse_line).collect()
}

/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
fn parse_line(line: &str) -> Option<Partition> {
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    // Optional fields (shared:N, master:N…) end at the lone "-".
    let sep = 6 + fields.iter().skip(6).position(|f| *f == "-")?;
    let devnum = fields.get(2).and_then(|d| parse_devnum(d));
    let mountpoint = unescape_octal(fields.get(4)?);
    let fstype = unescape_octal(fields.get(sep + 1)?);
    let device = fields
        .get(sep + 2)
        .map(|d| unescape_octal(d))
        .unwrap_or_default();
    let is_ro = |options: Option<&&str>| options.is_some_and(|o| o.split(',').any(|o| o == "ro"));
    let read_only = is_ro(fields.get(5)) || is_ro(fields.get(sep + 3));
    Some(Partition {
        device,
        mountpoint,
        fstype,
        devnum,
        read_only,
    })
}

fn parse_devnum(s: &str) -> Option<(u32, u32)> {
    let (major, minor) = s.split_once(':')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The kernel writes space, tab, newline and backslash in paths as `\040`, `\011`, `\012`, `\134`.
pub(super) fn unescape_octal(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'\\' {
            if let Some(value) = bytes.get(i + 1..i + 4).and_then(octal_byte) {
                out.push(value);
                i += 4;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn octal_byte(digits: &[u8]) -> Option<u8> {
    let mut value: u32 = 0;
    for d in digits {
        if !(b'0'..=b'7').contains(d) {
            return None;
        }
        value = value * 8 + u32::from(d - b'0');
    }
    u8::try_from(value).ok()
}
