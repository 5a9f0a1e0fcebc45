//! Every collector at once against one fake host tree (/proc, /sys, a battery, hwmon, ZFS, a
//! bonded NIC…), two samples a second apart through `Agent`, compared with a golden JSON file.
//! Values that come from the real machine (hostname, statvfs of the tree's own directory) are
//! masked. Regenerate with `UPDATE_GOLDEN=1 cargo test -p sonar-core --test end_to_end`.
#![cfg(target_os = "linux")]

use sonar_core::settings::Settings;
use sonar_core::{roots::Roots, Agent, Key, Value};
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

mod common;
use common::write;

/// Counters at sample `n` (0 or 1): everything advances by a known amount in one second.
fn write_counters(root: &Path, n: u64) {
    // cpu: 2 cores; per second each core adds 50 user, 10 system, 10 iowait, 30 idle jiffies
    let c = |base: u64, d: u64| base + d * n;
    let core = |i: u64| {
        format!(
            "cpu{i} {} 0 {} {} {} 0 0 0 0 0\n",
            c(1000, 50),
            c(500, 10),
            c(8000, 30),
            c(100, 10)
        )
    };
    write(
        root,
        "proc/stat",
        &format!(
            "cpu  {} 0 {} {} {} 0 0 0 0 0\n{}{}intr 0\nctxt 0\nbtime 0\n",
            c(2000, 100),
            c(1000, 20),
            c(16000, 60),
            c(200, 20),
            core(0),
            core(1)
        ),
    );
    // network: eth0/eth1 are bond0's slaves, bond0 itself must not be counted twice
    write(
        root,
        "proc/net/dev",
        &format!(
            "Inter-|   Receive                                                |  Transmit\n \
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n\
             \x20   lo: 5000 10 0 0 0 0 0 0 5000 10 0 0 0 0 0 0\n\
             \x20 eth0: {} 100 0 0 0 0 0 0 {} 100 0 0 0 0 0 0\n\
             \x20 eth1: {} 100 0 0 0 0 0 0 {} 100 0 0 0 0 0 0\n\
             \x20bond0: {} 200 0 0 0 0 0 0 {} 200 0 0 0 0 0 0\n",
            c(1_000_000, 2_000_000),
            c(500_000, 1_000_000),
            c(3_000_000, 1_000_000),
            c(700_000, 500_000),
            c(4_000_000, 3_000_000),
            c(1_200_000, 1_500_000)
        ),
    );
    // disk: sda2 (root) reads 2048 sectors (1 MiB) and writes 4096 sectors per second
    write(
        root,
        "proc/diskstats",
        &format!(
            "   8       0 sda 5000 0 {} 3000 8000 0 {} 9000 0 7000 12000 0 0 0 0\n   8       2 sda2 4800 0 {} 2900 {} 0 {} {} 0 {} {} 0 0 0 0\n",
            c(400_000, 2048),
            c(900_000, 4096),
            c(397_000, 2048),
            c(7998, 40),
            c(899_984, 4096),
            c(8999, 80),
            c(6900, 250),
            c(11_900, 300)
        ),
    );
}

fn build_host(root: &Path) {
    write(root, "proc/loadavg", "0.52 0.58 0.59 1/389 12345\n");
    write(root, "proc/uptime", "86400.55 170000.00\n");
    write(root, "proc/sys/kernel/osrelease", "6.1.0-28-amd64\n");
    write(
        root,
        "proc/cpuinfo",
        "processor\t: 0\nmodel name\t: Fixture CPU @ 3.00GHz\nphysical id\t: 0\ncore id\t: 0\n\n\
         processor\t: 1\nmodel name\t: Fixture CPU @ 3.00GHz\nphysical id\t: 0\ncore id\t: 1\n\n",
    );
    for (cpu, list) in [(0, "0"), (1, "1")] {
        write(
            root,
            &format!("sys/devices/system/cpu/cpu{cpu}/topology/core_cpus_list"),
            &format!("{list}\n"),
        );
    }
    write(
        root,
        "proc/meminfo",
        "MemTotal:       16384000 kB\nMemFree:         2048000 kB\nMemAvailable:    8192000 kB\n\
         Buffers:          512000 kB\nCached:          4096000 kB\nSwapCached:        10240 kB\n\
         Shmem:            256000 kB\nSReclaimable:     256000 kB\nSwapTotal:       4194304 kB\n\
         SwapFree:        3145728 kB\n",
    );
    write(
        root,
        "proc/spl/kstat/zfs/arcstats",
        "13 1 0x01 123 33456 1 1\nname                            type data\nhits 4 100\nsize                            4    1073741824\n",
    );
    write(
        root,
        "proc/filesystems",
        "nodev\tsysfs\nnodev\tproc\n\text4\n\txfs\n",
    );
    write(
        root,
        "proc/1/mountinfo",
        "22 28 0:21 / /proc rw,nosuid - proc proc rw\n28 1 8:2 / / rw,relatime - ext4 /dev/sda2 rw\n",
    );
    for nic in ["eth0", "eth1", "bond0", "lo"] {
        fs::create_dir_all(root.join("sys/class/net").join(nic)).unwrap();
    }
    fs::create_dir_all(root.join("sys/class/net/bond0/bonding")).unwrap();
    write(root, "sys/class/hwmon/hwmon0/name", "coretemp\n");
    write(root, "sys/class/hwmon/hwmon0/temp1_input", "52000\n");
    write(root, "sys/class/hwmon/hwmon0/temp1_label", "Package id 0\n");
    write(root, "sys/class/hwmon/hwmon0/temp2_input", "49500\n");
    write(root, "sys/class/hwmon/hwmon0/temp2_label", "Core 0\n");
    write(root, "sys/class/hwmon/hwmon1/name", "nvme\n");
    write(root, "sys/class/hwmon/hwmon1/temp1_input", "38850\n");
    write(root, "sys/class/hwmon/hwmon1/temp1_label", "Composite\n");
    // fans: one labelled and spinning, one stopped (0 RPM is kept)
    write(root, "sys/class/hwmon/hwmon2/name", "thinkpad\n");
    write(root, "sys/class/hwmon/hwmon2/fan1_input", "2900\n");
    write(root, "sys/class/hwmon/hwmon2/fan1_label", "CPU\n");
    write(root, "sys/class/hwmon/hwmon2/fan2_input", "0\n");
    let bat = "sys/class/power_supply/BAT0";
    write(root, &format!("{bat}/type"), "Battery\n");
    write(root, &format!("{bat}/status"), "Discharging\n");
    write(root, &format!("{bat}/energy_now"), "41580000\n");
    write(root, &format!("{bat}/energy_full"), "50000000\n");
    write(root, &format!("{bat}/capacity"), "83\n");
    write(root, &format!("{bat}/model_name"), "5B10W13930\n");
    write_counters(root, 0);
}

/// Replaces machine-dependent values with a marker.
fn mask(value: &mut Value, names: &[&str]) {
    match value {
        Value::Map(entries) => {
            for (key, v) in entries.iter_mut() {
                if let Key::Field(_, name) = key {
                    if names.contains(name) {
                        *v = Value::Text("<machine>".into());
                        continue;
                    }
                }
                mask(v, names);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| mask(v, names)),
        _ => {}
    }
}

/// One key per line, so a golden diff points at the field that changed.
fn pretty(json: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut array_depth = 0usize;
    for ch in json.chars() {
        if in_string {
            out.push(ch);
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => {
                in_string = true;
                out.push(ch);
            }
            '{' => {
                depth += 1;
                out.push_str("{\n");
                out.push_str(&"  ".repeat(depth));
            }
            '}' => {
                depth -= 1;
                out.push('\n');
                out.push_str(&"  ".repeat(depth));
                out.push('}');
            }
            '[' => {
                array_depth += 1;
                out.push('[');
            }
            ']' => {
                array_depth -= 1;
                out.push(']');
            }
            ',' if array_depth == 0 => {
                out.push_str(",\n");
                out.push_str(&"  ".repeat(depth));
            }
            ',' => out.push_str(", "),
            ':' => out.push_str(": "),
            c => out.push(c),
        }
    }
    out.push('\n');
    out
}

#[test]
fn every_collector_against_one_fake_host() {
    let dir = tempfile::tempdir().unwrap();
    build_host(dir.path());
    let roots = Roots::under(dir.path());
    let settings = Settings {
        sensors_sys: roots.sys.clone(),
        roots,
        // GPUs (NVML, nvidia-smi) are not under the fake roots: keep a real GPU out of the golden.
        skip_gpu: true,
        // Nor is the system bus: a host with systemd would add key 3 and Info.sv.
        skip_systemd: true,
        ..Settings::default()
    };
    let mut agent = Agent::new(settings);
    let t0 = Instant::now();
    agent.collect_at(1000, t0);
    write_counters(dir.path(), 1);
    let payload = agent.collect_at(1000, t0 + Duration::from_secs(1));

    let mut value = payload.value.clone();
    mask(&mut value, &["h", "d", "du", "dp"]);
    let actual = pretty(&value.to_json());

    let golden =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/end_to_end/expected.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::create_dir_all(golden.parent().unwrap()).unwrap();
        fs::write(&golden, &actual).unwrap();
    }
    let expected = fs::read_to_string(&golden).unwrap_or_default();
    assert_eq!(
        actual, expected,
        "golden mismatch; run with UPDATE_GOLDEN=1 after checking the diff"
    );

    // The same payload on the wire: identical bytes for a request within half the cache time.
    let again = agent.collect_at(1000, t0 + Duration::from_millis(1499));
    assert_eq!(again.cbor, payload.cbor);
}
