//! Memory, swap and ZFS ARC from /proc/meminfo and arcstats (spec §3.1).
//!
//! Follows gopsutil's `VirtualMemory` (Cached includes SReclaimable, Used = Total − Available)
//! and Beszel's buff/cache, htop and ZFS adjustments, with the saturating guards of Beszel HEAD:
//! /proc/meminfo can change while it is read, so no subtraction may wrap.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::roots::{read_proc_into, warn_garbled, Roots};
use crate::units::{bytes_to_gib, two_decimals};

/// Everything in GiB (2 dp) except `pct`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryUsage {
    pub total: f64,
    pub used: f64,
    pub pct: f64,
    pub buff_cache: f64,
    pub zfs_arc: f64,
    pub swap_total: f64,
    pub swap_used: f64,
    /// MemTotal in bytes (v0.18 Details.MemoryTotal)
    pub total_bytes: u64,
}

/// The /proc/meminfo values Beszel needs, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemInfo {
    pub total: u64,
    pub free: u64,
    /// MemAvailable, or gopsutil's estimate on kernels older than 3.14.
    pub available: u64,
    pub buffers: u64,
    /// Cached + SReclaimable, as gopsutil reports it.
    pub cached: u64,
    pub shared: u64,
    pub swap_total: u64,
    pub swap_free: u64,
    pub swap_cached: u64,
}

/// Raw fields, before gopsutil's derivations.
#[derive(Default)]
struct RawMeminfo {
    total: u64,
    free: u64,
    available: Option<u64>,
    buffers: u64,
    cached: u64,
    shared: u64,
    sreclaimable: Option<u64>,
    active_file: Option<u64>,
    inactive_file: Option<u64>,
    swap_total: u64,
    swap_free: u64,
    swap_cached: u64,
}

/// One /proc/meminfo line: its key (`Active(anon)`), its number, and whether it is in kB (the
/// HugePages_* counts have no unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeminfoField<'a> {
    pub key: &'a str,
    pub value: u64,
    pub kib: bool,
}

/// Every well-formed line of /proc/meminfo, in file order.
pub fn meminfo_fields(text: &str) -> impl Iterator<Item = MeminfoField<'_>> {
    text.lines().filter_map(|line| {
        let (key, rest) = line.split_once(':')?;
        let mut parts = rest.split_ascii_whitespace();
        let value = parts.next()?.parse::<u64>().ok()?;
        Some(MeminfoField {
            key: key.trim(),
            value,
            kib: parts.next() == Some("kB"),
        })
    })
}

fn parse_meminfo(text: &str) -> RawMeminfo {
    let mut raw = RawMeminfo::default();
    for field in meminfo_fields(text) {
        let bytes = field.value.saturating_mul(1024);
        match field.key {
            "MemTotal" => raw.total = bytes,
            "MemFree" => raw.free = bytes,
            "MemAvailable" => raw.available = Some(bytes),
            "Buffers" => raw.buffers = bytes,
            "Cached" => raw.cached = bytes,
            "Shmem" => raw.shared = bytes,
            "SReclaimable" => raw.sreclaimable = Some(bytes),
            "Active(file)" => raw.active_file = Some(bytes),
            "Inactive(file)" => raw.inactive_file = Some(bytes),
            "SwapTotal" => raw.swap_total = bytes,
            "SwapFree" => raw.swap_free = bytes,
            "SwapCached" => raw.swap_cached = bytes,
            _ => {}
        }
    }
    raw
}

/// gopsutil's estimate of MemAvailable for kernels before 3.14 (the kernel's own formula, with
/// the low watermarks from /proc/zoneinfo). Computed signed and clamped at 0.
fn estimate_available(
    raw: &RawMeminfo,
    cached: u64,
    zoneinfo: Option<&str>,
    page_size: u64,
) -> u64 {
    let (Some(active_file), Some(inactive_file), Some(sreclaimable)) =
        (raw.active_file, raw.inactive_file, raw.sreclaimable)
    else {
        return cached.saturating_add(raw.free);
    };
    let Some(zoneinfo) = zoneinfo else {
        return raw.free.saturating_add(cached);
    };
    let low_pages: u64 = zoneinfo
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_ascii_whitespace();
            if !fields.next()?.starts_with("low") {
                return None;
            }
            Some(
                fields
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0),
            )
        })
        .fold(0u64, u64::saturating_add);
    let watermark = low_pages.saturating_mul(page_size) as i128;
    let page_cache = active_file as i128 + inactive_file as i128;
    let reclaimable = sreclaimable as i128;
    let avail = raw.free as i128 - watermark + page_cache - (page_cache / 2).min(watermark)
        + reclaimable
        - (reclaimable / 2).min(watermark);
    avail.clamp(0, u64::MAX as i128) as u64
}

/// Turns /proc/meminfo text into gopsutil's view. `zoneinfo` and `page_size` matter only on
/// kernels without MemAvailable.
pub fn meminfo_from_text(text: &str, zoneinfo: Option<&str>, page_size: u64) -> MemInfo {
    let raw = parse_meminfo(text);
    let cached = raw.cached.saturating_add(raw.sreclaimable.unwrap_or(0));
    let available = match raw.available {
        Some(a) => a,
        None => estimate_available(&raw, cached, zoneinfo, page_size),
    };
    MemInfo {
        total: raw.total,
        free: raw.free,
        available,
        buffers: raw.buffers,
        cached,
        shared: raw.shared,
        swap_total: raw.swap_total,
        swap_free: raw.swap_free,
        swap_cached: raw.swap_cached,
    }
}

/// Beszel's memory figures from gopsutil's values. `arc` is the ZFS ARC size in bytes, when
/// ZFS is monitored.
pub fn compute_usage(m: &MemInfo, htop: bool, arc: Option<u64>) -> MemoryUsage {
    let mut used = m.total.saturating_sub(m.available);

    let mut buff_cache = m.cached.min(m.total);
    buff_cache += m.buffers.min(m.total - buff_cache);
    buff_cache = buff_cache.saturating_sub(m.shared.min(m.total));
    if m.cached == 0 && m.buffers == 0 {
        buff_cache = m.total.saturating_sub(m.free).saturating_sub(used);
    }
    if htop {
        used = m.total.saturating_sub(m.free).saturating_sub(buff_cache);
    }

    let mut zfs_arc = 0;
    if let Some(arc) = arc {
        if arc > 0 && arc < used {
            used -= arc;
            zfs_arc = arc;
        }
    }

    let pct = if m.total > 0 {
        two_decimals(used as f64 / m.total as f64 * 100.0)
    } else {
        0.0
    };
    let swap_used = m
        .swap_total
        .saturating_sub(m.swap_free)
        .saturating_sub(m.swap_cached);
    MemoryUsage {
        total: bytes_to_gib(m.total as f64),
        used: bytes_to_gib(used as f64),
        pct,
        buff_cache: bytes_to_gib(buff_cache as f64),
        zfs_arc: bytes_to_gib(zfs_arc as f64),
        swap_total: bytes_to_gib(m.swap_total as f64),
        swap_used: bytes_to_gib(swap_used as f64),
        total_bytes: m.total,
    }
}

/// The `size` row of arcstats (third column, bytes).
pub fn parse_arc_size(text: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let mut fields = line.split_ascii_whitespace();
        if fields.next()? != "size" {
            return None;
        }
        fields.nth(1)?.parse().ok()
    })
}

fn read_into(path: &Path, buf: &mut String) -> bool {
    buf.clear();
    File::open(path)
        .and_then(|mut f| f.read_to_string(buf))
        .is_ok()
}

#[cfg(unix)]
pub(crate) fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as u64
    } else {
        4096
    }
}

#[cfg(not(unix))]
pub(crate) fn page_size() -> u64 {
    4096
}

/// What a missing or garbled /proc/meminfo costs (for its one warning).
const MEMINFO_LOST: &str = "memory and swap are reported as 0";

pub struct MemoryCollector {
    proc_root: PathBuf,
    meminfo_path: PathBuf,
    zoneinfo_path: PathBuf,
    /// Set when arcstats was readable at creation (Beszel decides once, at start).
    arcstats_path: Option<PathBuf>,
    htop: bool,
    buf: String,
    #[cfg(not(target_os = "linux"))]
    portable: Option<crate::collect::portable::System>,
}

impl MemoryCollector {
    pub fn new(roots: &Roots, htop: bool) -> Self {
        let arcstats = roots.proc("spl/kstat/zfs/arcstats");
        let mut buf = String::with_capacity(4096);
        let zfs = read_into(&arcstats, &mut buf) && parse_arc_size(&buf).is_some();
        MemoryCollector {
            proc_root: roots.proc.clone(),
            meminfo_path: roots.proc("meminfo"),
            zoneinfo_path: roots.proc("zoneinfo"),
            arcstats_path: zfs.then_some(arcstats),
            htop,
            buf,
            #[cfg(not(target_os = "linux"))]
            portable: None,
        }
    }

    pub fn sample(&mut self) -> MemoryUsage {
        let Some(info) = self.read_meminfo() else {
            #[cfg(not(target_os = "linux"))]
            return self.portable_sample();
            #[cfg(target_os = "linux")]
            return MemoryUsage::default();
        };
        let arc = self.read_arc();
        compute_usage(&info, self.htop, arc)
    }

    fn read_meminfo(&mut self) -> Option<MemInfo> {
        if !read_proc_into(
            &self.proc_root,
            &self.meminfo_path,
            &mut self.buf,
            MEMINFO_LOST,
        ) {
            return None;
        }
        let needs_zoneinfo = !self.buf.contains("MemAvailable:");
        let zoneinfo = if needs_zoneinfo {
            std::fs::read_to_string(&self.zoneinfo_path).ok()
        } else {
            None
        };
        let info = meminfo_from_text(&self.buf, zoneinfo.as_deref(), page_size());
        if info.total == 0 {
            warn_garbled(&self.proc_root, &self.meminfo_path, &self.buf, MEMINFO_LOST);
            return None;
        }
        Some(info)
    }

    fn read_arc(&mut self) -> Option<u64> {
        let path = self.arcstats_path.as_ref()?;
        if !read_into(path, &mut self.buf) {
            return None;
        }
        parse_arc_size(&self.buf)
    }

    /// Outside Linux: totals from sysinfo; buff/cache falls back to Total − Free − Used.
    #[cfg(not(target_os = "linux"))]
    fn portable_sample(&mut self) -> MemoryUsage {
        let sys = self
            .portable
            .get_or_insert_with(crate::collect::portable::new_system);
        let t = crate::collect::portable::memory(sys);
        let info = MemInfo {
            total: t.total,
            free: t.free,
            available: t.total.saturating_sub(t.used),
            swap_total: t.swap_total,
            swap_free: t.swap_total.saturating_sub(t.swap_used),
            ..MemInfo::default()
        };
        compute_usage(&info, self.htop, None)
    }
}
