//! node_exporter's `loadavg`, `time`, `uname` and `os` collectors. uname's fields come from
//! HOST_PROC's sys/kernel files where they exist, so an agent in a container reports the host's
//! kernel and name; uname(2) fills what they lack.

use super::kept_files::KeptFiles;
use crate::collect::system::{load_avg_of, os_release_field};
use crate::metrics::MetricSet;
use crate::roots::Roots;
use std::time::{SystemTime, UNIX_EPOCH};

pub(super) fn families(
    roots: &Roots,
    files: &mut KeptFiles,
    buf: &mut String,
    set: &mut MetricSet,
) {
    if files.read_into(&roots.proc("loadavg"), buf) {
        let load = load_avg_of(buf);
        for (name, help, value) in [
            ("node_load1", "1m load average.", load[0]),
            ("node_load5", "5m load average.", load[1]),
            ("node_load15", "15m load average.", load[2]),
        ] {
            set.gauge(name, help).push(vec![], value);
        }
    }
    if let Ok(now) = SystemTime::now().duration_since(UNIX_EPOCH) {
        set.gauge(
            "node_time_seconds",
            "System time in seconds since epoch (1970).",
        )
        .push(vec![], now.as_secs_f64());
    }
    uname_info(roots, files, set);
    os_info(roots, files, buf, set);
}

fn uname_info(roots: &Roots, files: &mut KeptFiles, set: &mut MetricSet) {
    let own = own_uname();
    let mut kernel = |file: &str, fallback: &str| {
        files
            .attribute(&roots.proc(&format!("sys/kernel/{file}")))
            .unwrap_or_else(|| fallback.to_string())
    };
    let labels = vec![
        ("domainname", kernel("domainname", &own.domainname)),
        ("machine", kernel("arch", &own.machine)),
        ("nodename", kernel("hostname", &own.nodename)),
        ("release", kernel("osrelease", &own.release)),
        ("sysname", kernel("ostype", &own.sysname)),
        ("version", kernel("version", &own.version)),
    ];
    set.gauge(
        "node_uname_info",
        "Labeled system information as provided by the uname system call.",
    )
    .push(labels, 1.0);
}

#[derive(Default)]
struct Uname {
    sysname: String,
    nodename: String,
    release: String,
    version: String,
    machine: String,
    domainname: String,
}

#[cfg(target_os = "linux")]
fn own_uname() -> Uname {
    fn text(field: &[libc::c_char]) -> String {
        let bytes: Vec<u8> = field
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
    // SAFETY: uname only writes into the zeroed struct we own.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return Uname::default();
    }
    Uname {
        sysname: text(&u.sysname),
        nodename: text(&u.nodename),
        release: text(&u.release),
        version: text(&u.version),
        machine: text(&u.machine),
        domainname: text(&u.domainname),
    }
}

#[cfg(not(target_os = "linux"))]
fn own_uname() -> Uname {
    Uname::default()
}

/// os-release's labels, in node_exporter's order (its own field list).
const OS_FIELDS: [(&str, &str); 12] = [
    ("build_id", "BUILD_ID"),
    ("id", "ID"),
    ("id_like", "ID_LIKE"),
    ("image_id", "IMAGE_ID"),
    ("image_version", "IMAGE_VERSION"),
    ("name", "NAME"),
    ("pretty_name", "PRETTY_NAME"),
    ("variant", "VARIANT"),
    ("variant_id", "VARIANT_ID"),
    ("version", "VERSION"),
    ("version_codename", "VERSION_CODENAME"),
    ("version_id", "VERSION_ID"),
];

fn os_info(roots: &Roots, files: &mut KeptFiles, buf: &mut String, set: &mut MetricSet) {
    if !files.read_into(&roots.etc("os-release"), buf)
        && !files.read_into(&roots.root.join("usr/lib/os-release"), buf)
    {
        return;
    }
    let field = |key: &str| os_release_field(buf, key).unwrap_or_default();
    let labels = OS_FIELDS
        .iter()
        .map(|&(label, key)| (label, field(key)))
        .collect();
    set.gauge(
        "node_os_info",
        "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, \
         image_version, name, pretty_name, variant, variant_id, version, version_codename, \
         version_id.",
    )
    .push(labels, 1.0);
    set.gauge(
        "node_os_version",
        "Metric containing the major.minor part of the OS version.",
    )
    .push(
        vec![
            ("id", field("ID")),
            ("id_like", field("ID_LIKE")),
            ("name", field("NAME")),
        ],
        major_minor(&field("VERSION_ID")),
    );
}

/// The leading `major[.minor]` of VERSION_ID as a number (`22.04.3` → 22.04), 0 without one.
fn major_minor(version_id: &str) -> f64 {
    let mut end = 0;
    let mut dots = 0;
    for (i, c) in version_id.char_indices() {
        match c {
            '0'..='9' => end = i + 1,
            '.' if dots == 0 && end == i && i > 0 => dots += 1,
            _ => break,
        }
    }
    version_id[..end].parse().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::major_minor;

    #[test]
    fn os_version_is_the_leading_major_minor() {
        assert_eq!(major_minor("12"), 12.0);
        assert_eq!(major_minor("22.04"), 22.04);
        assert_eq!(major_minor("22.04.3"), 22.04);
        assert_eq!(major_minor("rolling"), 0.0);
        assert_eq!(major_minor(""), 0.0);
    }
}
