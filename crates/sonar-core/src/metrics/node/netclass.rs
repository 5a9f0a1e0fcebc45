//! node_exporter's `netclass` collector, the part dashboards use: `node_network_up`, `_info`,
//! `_carrier`, `_mtu_bytes` and `_speed_bytes` from /sys/class/net/<device>/.

use crate::collect::hwmon::sorted_matches;
use crate::metrics::MetricSet;
use crate::roots::{read_i64, read_trimmed_lossy, Roots};

pub(super) fn families(roots: &Roots, set: &mut MetricSet) {
    for dir in sorted_matches(&roots.sys("class/net"), "*") {
        let Some(device) = dir.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        // a plain file here (bonding_masters) is not a device
        if !dir.join("ifindex").exists() {
            continue;
        }
        let text = |file: &str| read_trimmed_lossy(&dir.join(file)).unwrap_or_default();
        let operstate = text("operstate");
        set.gauge(
            "node_network_info",
            "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
        )
        .push(
            vec![
                ("address", text("address")),
                ("broadcast", text("broadcast")),
                ("device", device.clone()),
                ("duplex", text("duplex")),
                ("ifalias", text("ifalias")),
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
        if let Some(carrier) = read_i64(&dir.join("carrier")) {
            set.gauge("node_network_carrier", "Network device property: carrier")
                .push(vec![("device", device.clone())], carrier as f64);
        }
        if let Some(mtu) = read_i64(&dir.join("mtu")) {
            set.gauge(
                "node_network_mtu_bytes",
                "Network device property: mtu_bytes",
            )
            .push(vec![("device", device.clone())], mtu as f64);
        }
        if let Some(mbit) = read_i64(&dir.join("speed")) {
            // Mbit/s in bytes/s; -1 (unknown) stays negative, as node_exporter reports it
            set.gauge(
                "node_network_speed_bytes",
                "Network device property: speed_bytes",
            )
            .push(vec![("device", device)], mbit as f64 * 125_000.0);
        }
    }
}
