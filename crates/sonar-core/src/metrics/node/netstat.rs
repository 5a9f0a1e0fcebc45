//! node_exporter's `netstat` collector with its default field selection: protocol counters
//! from /proc/net/netstat, /proc/net/snmp (header line, value line per protocol) and
//! /proc/net/snmp6 (`Ip6InOctets 123` per line), untyped as node_exporter leaves them.

use super::kept_files::KeptFiles;
use crate::metrics::{MetricSet, MetricType};
use crate::roots::Roots;

/// node_exporter 1.5's default `--collector.netstat.fields`:
/// `^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|
/// TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts)|Tcp_(ActiveOpens|InSegs|OutSegs|
/// OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|
/// RcvbufErrors|SndbufErrors))$`. (Later releases add TcpExt_TCPOFOQueue and TCPRcvQDrop, which
/// the current Node Exporter Full graphs; left out with 1.5, whose names promtool's lint on our
/// exposition is held to.)
pub(super) fn selected(protocol: &str, name: &str) -> bool {
    matches!(name, "InErrors" | "InErrs")
        || (protocol == "Ip" && name == "Forwarding")
        || (matches!(protocol, "Ip6" | "IpExt") && matches!(name, "InOctets" | "OutOctets"))
        || (matches!(protocol, "Icmp" | "Icmp6") && matches!(name, "InMsgs" | "OutMsgs"))
        || (protocol == "TcpExt"
            && (name.starts_with("Listen")
                || name.starts_with("Syncookies")
                || matches!(name, "TCPSynRetrans" | "TCPTimeouts")))
        || (protocol == "Tcp"
            && matches!(
                name,
                "ActiveOpens"
                    | "InSegs"
                    | "OutSegs"
                    | "OutRsts"
                    | "PassiveOpens"
                    | "RetransSegs"
                    | "CurrEstab"
            ))
        || (matches!(protocol, "Udp" | "Udp6")
            && matches!(
                name,
                "InDatagrams" | "OutDatagrams" | "NoPorts" | "RcvbufErrors" | "SndbufErrors"
            ))
}

fn push(set: &mut MetricSet, protocol: &str, name: &str, value: &str) {
    if !selected(protocol, name) {
        return;
    }
    if let Ok(value) = value.parse::<f64>() {
        set.family(
            &format!("node_netstat_{protocol}_{name}"),
            MetricType::Untyped,
            &format!("Statistic {protocol}{name}."),
        )
        .push(vec![], value);
    }
}

pub(super) fn families(
    roots: &Roots,
    files: &mut KeptFiles,
    buf: &mut String,
    set: &mut MetricSet,
) {
    for file in ["net/netstat", "net/snmp"] {
        if !files.read_into(&roots.proc(file), buf) {
            continue;
        }
        let mut lines = buf.lines();
        while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
            let mut names = names.split_ascii_whitespace();
            let mut values = values.split_ascii_whitespace();
            let (Some(protocol), Some(_)) = (names.next(), values.next()) else {
                continue;
            };
            let protocol = protocol.trim_end_matches(':');
            for (name, value) in names.zip(values) {
                push(set, protocol, name, value);
            }
        }
    }
    if files.read_into(&roots.proc("net/snmp6"), buf) {
        for line in buf.lines() {
            let mut fields = line.split_ascii_whitespace();
            let (Some(key), Some(value)) = (fields.next(), fields.next()) else {
                continue;
            };
            // "Ip6InOctets" → ("Ip6", "InOctets"): the protocol ends at the first '6'
            if let Some(six) = key.find('6') {
                let (protocol, name) = key.split_at(six + 1);
                push(set, protocol, name, value);
            }
        }
    }
}
