//! The node families on a fixture host, against a golden exposition (golden.prom), plus the
//! cases that cannot be staged on a real machine: a hung mount, a failing one, missing files.

use super::diskstats::excluded;
use super::filesystem::excluded_mount_point;
use super::*;
use crate::collect::disk::statfs::StatVfs;
use crate::metrics::exposition::{render, Format};
use crate::roots::Roots;
use crate::test_tree::write;
use std::io;
use std::path::Path;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn fixture_host(root: &Path) {
    write(
        root,
        "proc/stat",
        "cpu  2255 34 2290 22625563 6290 127 456 0 0 0\n\
         cpu0 1132 34 1441 11311718 3675 127 438 5 10 2\n\
         cpu1 1123 0 849 11313845 2614 0 18 0 0 0\n\
         intr 114930548 113199788 3 0 5 263 0 4 [...]\n\
         ctxt 1990473\n\
         btime 1062191376\n\
         processes 2915\n\
         procs_running 1\n\
         procs_blocked 0\n\
         softirq 12121874 0 2 3 4\n",
    );
    write(
        root,
        "proc/meminfo",
        "MemTotal:       16291780 kB\n\
         MemFree:         1095904 kB\n\
         MemAvailable:    9137924 kB\n\
         Active(anon):    3140260 kB\n\
         Inactive(file):  3460376 kB\n\
         HugePages_Total:       0\n\
         HugePages_Free:        0\n\
         Hugepagesize:       2048 kB\n\
         garbled line\n",
    );
    write(root, "proc/loadavg", "0.21 0.37 0.39 1/719 19737\n");
    write(
        root,
        "proc/net/dev",
        "Inter-|   Receive                                                |  Transmit\n \
face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
lo:  128320     151    0    0    0     0          0         0   128320     151    0    0    0     0       0          0\n  \
eth0: 719539719   16051    1    2    3     4          5         6   777971    8735    7    8    9    10      11         12\n",
    );
    write(
        root,
        "proc/diskstats",
        " 254       0 vda 78232 4186 4463914 29736 259346 139637 11297568 263118 0 211744 303012 1024 2 2048 16 9812 1500\n \
         254       1 vda1 78000 4000 4400000 29000 259000 139000 11290000 263000 0 211000 302000\n \
           7       0 loop0 10 0 20 0 0 0 0 0 0 4 0 0 0 0 0\n \
         259       0 nvme0n1 100 1 200 3 400 5 600 7 1 9 10\n \
         259       1 nvme0n1p1 100 1 200 3 400 5 600 7 0 9 10\n \
         253       0 dm-0 50 0 100 2 60 0 120 3 0 5 6 0 0 0 0\n",
    );
    write(
        root,
        "proc/1/mountinfo",
        "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n\
         23 22 0:5 / /dev rw,nosuid - devtmpfs udev rw\n\
         24 22 0:21 / /proc rw - proc proc rw\n\
         25 22 0:22 / /run rw,nosuid - tmpfs tmpfs rw,size=1620k\n\
         26 22 0:40 / /mnt/nfs rw - nfs4 server:/export rw\n\
         27 22 0:41 / /mnt/gone rw - xfs /dev/sdb1 rw\n\
         28 22 254:0 /data /srv/data ro,relatime - ext4 /dev/vda rw\n\
         29 22 0:42 / /var/lib/docker/overlay2/abc/merged rw - ext4 /dev/vdb rw\n\
         30 22 0:43 / /snap/core/1 ro - squashfs /dev/loop0 ro\n\
         31 22 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n",
    );
    write(root, "proc/sys/kernel/ostype", "Linux\n");
    write(root, "proc/sys/kernel/osrelease", "6.1.0-13-amd64\n");
    write(
        root,
        "proc/sys/kernel/version",
        "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)\n",
    );
    write(root, "proc/sys/kernel/hostname", "fixture-host\n");
    write(root, "proc/sys/kernel/domainname", "(none)\n");
    write(root, "proc/sys/kernel/arch", "x86_64\n");
    write(
        root,
        "proc/vmstat",
        "nr_free_pages 1234\npgpgin 5000\npgpgout 7000\npswpin 1\npswpout 2\npgfault 90000\n\
         pgmajfault 300\npgalloc_normal 12\noom_kill 1\n",
    );
    write(
        root,
        "proc/pressure/cpu",
        "some avg10=0.00 avg60=0.01 avg300=0.00 total=1500000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
    );
    write(
        root,
        "proc/pressure/io",
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=250000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=125000\n",
    );
    write(
        root,
        "proc/sys/fs/file-nr",
        "2080\t0\t9223372036854775807\n",
    );
    write(root, "proc/sys/kernel/random/entropy_avail", "256\n");
    write(root, "proc/sys/kernel/random/poolsize", "256\n");
    write(root, "proc/sys/net/netfilter/nf_conntrack_count", "42\n");
    write(root, "proc/sys/net/netfilter/nf_conntrack_max", "262144\n");
    for (dev, state, extra) in [
        ("eth0", "up", true),
        ("lo", "unknown", false),
        ("wg0", "down", false),
    ] {
        let at = |f: &str| format!("sys/class/net/{dev}/{f}");
        write(root, &at("ifindex"), "2\n");
        write(root, &at("operstate"), &format!("{state}\n"));
        write(root, &at("address"), "02:fc:00:00:00:01\n");
        write(root, &at("broadcast"), "ff:ff:ff:ff:ff:ff\n");
        write(root, &at("mtu"), "1500\n");
        if extra {
            write(root, &at("carrier"), "1\n");
            write(root, &at("speed"), "1000\n");
            write(root, &at("duplex"), "full\n");
        }
    }
    write(root, "sys/class/net/bonding_masters", "\n");
    write(
        root,
        "proc/net/netstat",
        "TcpExt: SyncookiesSent SyncookiesRecv ListenOverflows ListenDrops TCPTimeouts TCPOFOQueue\n\
         TcpExt: 0 1 2 3 40 5\n\
         IpExt: InNoRoutes InOctets OutOctets\n\
         IpExt: 0 123456789 98765432\n",
    );
    write(
        root,
        "proc/net/snmp",
        "Ip: Forwarding DefaultTTL InReceives InHdrErrors\n\
         Ip: 1 64 1000 2\n\
         Tcp: RtoAlgorithm MaxConn ActiveOpens PassiveOpens CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts\n\
         Tcp: 1 -1 10 20 3 4000 5000 6 7 8\n\
         Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n\
         Udp: 100 1 2 200 3 4\n",
    );
    write(
        root,
        "proc/net/snmp6",
        "Ip6InReceives                   \t500\nIp6InOctets                     \t64000\n\
         Icmp6InMsgs                     \t7\nUdp6InDatagrams                 \t9\n",
    );
    write(
        root,
        "proc/net/sockstat",
        "sockets: used 230\nTCP: inuse 5 orphan 0 tw 2 alloc 8 mem 3\nUDP: inuse 3 mem 2\n\
         FRAG: inuse 0 memory 0\n",
    );
    write(root, "proc/net/sockstat6", "TCP6: inuse 2\nUDP6: inuse 1\n");
    write(
        root,
        "proc/net/softnet_stat",
        "0000002b 00000000 00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n\
         00002b4a 00000003 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000001\n",
    );
    write(
        root,
        "proc/net/arp",
        "IP address       HW type     Flags       HW address            Mask     Device\n\
         192.168.1.1      0x1         0x2         02:00:00:00:00:01     *        eth0\n\
         192.168.1.7      0x1         0x2         02:00:00:00:00:07     *        eth0\n\
         10.0.0.1         0x1         0x2         02:00:00:00:00:0a     *        wg0\n",
    );
    write(
        root,
        "proc/schedstat",
        "version 15\ntimestamp 4294998535\n\
         cpu0 0 0 0 0 0 0 2271838898 115398578 5658\n\
         domain0 3 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n\
         cpu1 0 0 0 0 0 0 1500000000 50000000 4100\n",
    );
    for (file, khz) in [
        ("scaling_cur_freq", "2400000"),
        ("scaling_min_freq", "800000"),
        ("scaling_max_freq", "3600000"),
        ("cpuinfo_min_freq", "800000"),
        ("cpuinfo_max_freq", "3600000"),
    ] {
        write(
            root,
            &format!("sys/devices/system/cpu/cpu0/cpufreq/{file}"),
            &format!("{khz}\n"),
        );
    }
    write(
        root,
        "sys/devices/system/cpu/cpufreq/policy0/scaling_driver",
        "intel_pstate\n",
    );
    write(
        root,
        "sys/class/thermal/thermal_zone0/type",
        "x86_pkg_temp\n",
    );
    write(root, "sys/class/thermal/thermal_zone0/temp", "52000\n");
    write(
        root,
        "sys/class/thermal/cooling_device0/type",
        "Processor\n",
    );
    write(root, "sys/class/thermal/cooling_device0/cur_state", "0\n");
    write(root, "sys/class/thermal/cooling_device0/max_state", "10\n");
    // a RAID1 rebuilding onto a new disk after one failed (three members, two slots)
    for (file, text) in [
        ("size", "2097152"),
        ("md/array_state", "clean"),
        ("md/level", "raid1"),
        ("md/raid_disks", "2"),
        ("md/degraded", "1"),
        ("md/sync_action", "recover"),
        ("md/sync_completed", "524288 / 2097152"),
        ("md/dev-sda1/state", "in_sync"),
        ("md/dev-sdb1/state", "faulty"),
        ("md/dev-sdc1/state", "spare"),
    ] {
        write(root, &format!("sys/block/md0/{file}"), &format!("{text}\n"));
    }
    write(
        root,
        "etc/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
         VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n",
    );
    // hwmon: a platform device (coretemp), a PCI one (k10temp) whose sensors sit in the
    // hwmon directory, and one without a device link (named after its `name` file)
    let coretemp = "sys/devices/platform/coretemp.0";
    write(root, &format!("{coretemp}/hwmon/hwmon1/name"), "coretemp\n");
    write(
        root,
        &format!("{coretemp}/hwmon/hwmon1/temp1_input"),
        "45000\n",
    );
    write(
        root,
        &format!("{coretemp}/hwmon/hwmon1/temp1_crit"),
        "100000\n",
    );
    write(
        root,
        &format!("{coretemp}/hwmon/hwmon1/temp1_max"),
        "84000\n",
    );
    write(
        root,
        &format!("{coretemp}/hwmon/hwmon1/temp1_crit_alarm"),
        "0\n",
    );
    write(root, &format!("{coretemp}/hwmon/hwmon1/temp1_alarm"), "1\n");
    // a Super I/O chip: a fan, a voltage, a power meter and a bare pwm value
    let nct = "sys/devices/platform/nct6775.656";
    for (file, text) in [
        ("name", "nct6798"),
        ("fan2_input", "1236"),
        ("fan2_min", "300"),
        ("in0_input", "1032"),
        ("in0_label", "Vcore"),
        ("power1_average", "12500000"),
        ("energy1_input", "4200000000"),
        ("pwm2", "128"),
        ("beep_enable", "0"),
        ("uevent", "OF_NAME=nct"),
    ] {
        write(
            root,
            &format!("{nct}/hwmon/hwmon3/{file}"),
            &format!("{text}\n"),
        );
    }
    write(
        root,
        &format!("{coretemp}/hwmon/hwmon1/temp1_label"),
        "Package id 0\n",
    );
    write(
        root,
        &format!("{coretemp}/hwmon/hwmon1/temp2_input"),
        "41500\n",
    );
    let k10 = "sys/devices/pci0000:00/0000:00:18.3";
    write(root, &format!("{k10}/hwmon/hwmon0/name"), "k10temp\n");
    write(root, &format!("{k10}/hwmon/hwmon0/temp1_input"), "38125\n");
    write(root, "sys/devices/virtual/hwmon/hwmon2/name", "acpitz\n");
    write(
        root,
        "sys/devices/virtual/hwmon/hwmon2/temp1_input",
        "27800\n",
    );
    std::fs::create_dir_all(root.join("sys/class/hwmon")).ok();
    let link = |target: &str, at: &str| {
        std::os::unix::fs::symlink(root.join(target), root.join(at)).ok();
    };
    link(
        &format!("{coretemp}/hwmon/hwmon1"),
        "sys/class/hwmon/hwmon1",
    );
    link(coretemp, &format!("{coretemp}/hwmon/hwmon1/device"));
    link(&format!("{k10}/hwmon/hwmon0"), "sys/class/hwmon/hwmon0");
    link(k10, &format!("{k10}/hwmon/hwmon0/device"));
    link("sys/devices/virtual/hwmon/hwmon2", "sys/class/hwmon/hwmon2");
    link(&format!("{nct}/hwmon/hwmon3"), "sys/class/hwmon/hwmon3");
    link(nct, &format!("{nct}/hwmon/hwmon3/device"));
}

/// statvfs stand-in: `/` and `/srv/data` answer, `/mnt/gone` fails, `/mnt/nfs` hangs for a
/// second (far past the test's timeout), `/run` answers as a small tmpfs.
fn fake_statfs(root: PathBuf) -> StatfsFn {
    Arc::new(move |path: &Path| {
        let rel = path.strip_prefix(&root).unwrap_or(path);
        match rel.to_str().unwrap_or("") {
            "" | "srv/data" => Ok(StatVfs {
                blocks: 25_000_000,
                bfree: 10_000_000,
                bavail: 9_000_000,
                frsize: 4096,
                files: 6_553_600,
                ffree: 6_000_000,
            }),
            "run" => Ok(StatVfs {
                blocks: 405,
                bfree: 400,
                bavail: 400,
                frsize: 4096,
                files: 1000,
                ffree: 990,
            }),
            "mnt/nfs" => {
                std::thread::sleep(Duration::from_secs(1));
                Ok(StatVfs::default())
            }
            _ => Err(io::Error::from_raw_os_error(libc::EIO)),
        }
    })
}

fn fixture_collector(dir: &Path) -> NodeCollector {
    let roots = Roots::under(dir);
    let settings = Settings {
        sensors_sys: roots.sys.clone(),
        roots,
        statfs_timeout: Duration::from_millis(100),
        ..Settings::default()
    };
    NodeCollector::with_statfs(&settings, fake_statfs(dir.to_path_buf()))
}

/// The clock's families: the time and adjtimex's state of this machine's kernel.
fn from_this_clock(name: &str) -> bool {
    name == "node_time_seconds" || name.starts_with("node_timex_")
}

/// The rendering without the clock's families.
fn stable_text(set: &MetricSet) -> String {
    let mut set = set.clone();
    set.families.retain(|f| !from_this_clock(&f.name));
    String::from_utf8_lossy(&render(&set, Format::Text)).into_owned()
}

#[test]
fn node_families_of_a_fixture_host_match_the_golden_exposition() {
    let dir = tempfile::tempdir().expect("temp dir");
    fixture_host(dir.path());
    let mut collector = fixture_collector(dir.path());
    let mut set = MetricSet::default();
    collector.families(&mut set);
    let text = stable_text(&set);
    let golden_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/metrics/node/golden.prom");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden_path, &text).expect("write golden");
    }
    let golden = std::fs::read_to_string(&golden_path).unwrap_or_default();
    assert_eq!(
        text, golden,
        "UPDATE_GOLDEN=1 rewrites src/metrics/node/golden.prom"
    );
    assert!(set.families.iter().any(|f| f.name == "node_time_seconds"));
}

#[test]
fn a_hung_mount_gives_device_error_and_does_not_stall_the_next_scrape() {
    let dir = tempfile::tempdir().expect("temp dir");
    fixture_host(dir.path());
    let mut collector = fixture_collector(dir.path());
    for _ in 0..3 {
        let started = Instant::now();
        let mut set = MetricSet::default();
        collector.families(&mut set);
        // one timeout at most per scrape (the stuck path is then skipped until it returns)
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "{:?}",
            started.elapsed()
        );
        let error = set
            .families
            .iter()
            .find(|f| f.name == "node_filesystem_device_error")
            .and_then(|f| {
                f.samples
                    .iter()
                    .find(|s| s.labels.iter().any(|(_, v)| v == "/mnt/nfs"))
            })
            .map(|s| s.value);
        assert_eq!(error, Some(1.0));
    }
}

#[test]
fn missing_files_leave_their_families_out_without_panicking() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut collector = fixture_collector(dir.path());
    let mut set = MetricSet::default();
    collector.families(&mut set);
    let present: Vec<&str> = set
        .families
        .iter()
        .filter(|f| !f.samples.is_empty() && !from_this_clock(&f.name))
        .map(|f| f.name.as_str())
        .collect();
    // uname falls back to uname(2); the clock is always there
    assert_eq!(present, ["node_uname_info"]);
}

#[test]
fn diskstats_excludes_node_exporters_default_devices() {
    for name in [
        "sda1",
        "vda1",
        "xvdb12",
        "hdc3",
        "nvme0n1p1",
        "nvme10n2p3",
        "loop0",
        "ram15",
        "fd0",
    ] {
        assert!(excluded(name), "{name}");
    }
    for name in [
        "sda",
        "vda",
        "nvme0n1",
        "dm-0",
        "md127",
        "zram0",
        "sdaa1",
        "mmcblk0p1",
        "loop",
        "nvme0n1p",
    ] {
        assert!(!excluded(name), "{name}");
    }
}

#[test]
fn filesystem_excludes_node_exporters_default_mount_points() {
    for mp in [
        "/dev",
        "/dev/shm",
        "/proc",
        "/sys/fs/cgroup",
        "/run/credentials/x.service",
        "/var/lib/docker/overlay2/a/merged",
        "/var/lib/containers/storage/overlay",
    ] {
        assert!(excluded_mount_point(mp), "{mp}");
    }
    for mp in [
        "/",
        "/run",
        "/run/user/1000",
        "/devices",
        "/var/lib/docker",
        "/run/credentials",
        "/home",
    ] {
        assert!(!excluded_mount_point(mp), "{mp}");
    }
}
