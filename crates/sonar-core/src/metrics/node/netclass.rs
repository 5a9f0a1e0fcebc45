//! node_exporter's `netclass` collector, the part dashboards use: `node_network_up`, `_info`,
//! `_carrier`, `_mtu_bytes` and `_speed_bytes` from /sys/class/net/<device>/.

use super::kept_files::KeptFiles;
use crate::metrics::MetricSet;
use crate::roots::Roots;

pub(super) fn families(roots: &Roots, files: &mut KeptFiles, set: &mut MetricSet) {
    for dir in files.sorted_matches(&roots.sys("class/net"), "*") {
        let Some(device) = dir.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let mut read = |file: &str| files.attribute(&dir.join(file));
        let number = |text: Option<String>| text?.parse::<i64>().ok();
        let operstate = match read("operstate") {
            Some(state) => state,
            // a plain file here (bonding_masters) is not a device; a device always has an
            // operstate, so the check costs a lookup only when that read fails
            None if !dir.is_dir() => continue,
            None => String::new(),
        };
        // a device that is down answers EINVAL for duplex, carrier and speed: not asked
        let down = operstate == "down";
        let mut link = |file: &str| if down { None } else { read(file) };
        let duplex = link("duplex").unwrap_or_default();
        let carrier = number(link("carrier"));
        let speed = number(link("speed"));
        let address = read("address").unwrap_or_default();
        let broadcast = read("broadcast").unwrap_or_default();
        let ifalias = read("ifalias").unwrap_or_default();
        let mtu = number(read("mtu"));
        set.gauge(
            "node_network_info",
            "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
        )
        .push(
            vec![
                ("address", address),
                ("broadcast", broadcast),
                ("device", device.clone()),
                ("duplex", duplex),
                ("ifalias", ifalias),
                ("operstate", operstate.clone()),
            ],
            1.0,
        );
        set.gauge(
            "node_network_up",
            "Value is 1 if operstate is 'up', 0 otherwise.",
        )
        .push(
            vec![("device", device.clone())],
            if operstate == "up" { 1.0 } else { 0.0 },
        );
        // carrier and speed cannot be read while a device is down: then left out, as there
        if let Some(carrier) = carrier {
            set.gauge("node_network_carrier", "Network device property: carrier")
                .push(vec![("device", device.clone())], carrier as f64);
        }
        if let Some(mtu) = mtu {
            set.gauge(
                "node_network_mtu_bytes",
                "Network device property: mtu_bytes",
            )
            .push(vec![("device", device.clone())], mtu as f64);
        }
        if let Some(mbit) = speed {
            // Mbit/s in bytes/s; -1 (unknown) stays negative, as node_exporter reports it
            set.gauge(
                "node_network_speed_bytes",
                "Network device property: speed_bytes",
            )
            .push(vec![("device", device)], mbit as f64 * 125_000.0);
        }
    }
}
