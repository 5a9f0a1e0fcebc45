//! S.M.A.R.T.: smartctl's JSON from the Beszel v0.17 fixtures (tests/fixtures/smart, copied from
//! shared/fixtures/beszel-v0.17/smart), edge cases built here, and the runner against a fake
//! `smartctl` script — a real smartctl cannot read this VM's virtio disk (and its QEMU disks would
//! be rejected as virtual anyway).

use sonar_core::collect::smart::runner::{
    device_args, interpret, merge_devices, parse_configured, Device, DeviceOutcome, SmartConfig,
    SmartMonitor,
};
use sonar_core::collect::smart::{parse_output, parse_scan, Parser, SmartData};
use sonar_core::json::Json;
use sonar_core::{Key, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/smart")
        .join(name)
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixture_path(name)).unwrap()
}

fn parse(text: &str, known: Option<Parser>) -> Option<(Parser, SmartData)> {
    parse_output(&Json::parse(text).unwrap(), known)
}

fn attr(data: &SmartData, name: &str) -> u64 {
    data.attributes
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no attribute {name}"))
        .raw_value
}

#[test]
fn sata_fixture() {
    let (parser, d) = parse(&fixture("sda.json"), None).unwrap();
    assert_eq!(parser, Parser::Sat);
    assert_eq!(d.model_name, "P3-2TB");
    assert_eq!(d.serial_number, "9C40918040082");
    assert_eq!(d.firmware_version, "X0104A0");
    assert_eq!(d.capacity, 2_048_408_248_320);
    assert_eq!(d.temperature, 31);
    assert_eq!(d.smart_status, "PASSED");
    assert_eq!(
        (d.disk_name.as_str(), d.disk_type.as_str()),
        ("/dev/sda", "sat")
    );
    assert_eq!(d.attributes.len(), 30);
    let poh = d.attributes.iter().find(|a| a.id == 9).unwrap();
    assert_eq!(poh.name, "Power_On_Hours");
    assert_eq!((poh.value, poh.worst, poh.threshold), (100, 100, 50));
    assert_eq!((poh.raw_value, poh.raw_string.as_str()), (7344, "7344"));
    assert_eq!(attr(&d, "Temperature_Celsius"), 31);
}

#[test]
fn sata_exit_status_64_still_parsed() {
    // Bit 6 (error log has entries) is health information, not a failed command.
    match interpret(Some(64), &fixture("sda.json"), None) {
        DeviceOutcome::Data(Parser::Sat, d) => assert_eq!(d.serial_number, "9C40918040082"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn nvme_fixture() {
    let (parser, d) = parse(&fixture("nvme0.json"), None).unwrap();
    assert_eq!(parser, Parser::Nvme);
    assert_eq!(d.model_name, "PELADN 512GB");
    assert_eq!(d.serial_number, "2024031600129");
    assert_eq!(d.firmware_version, "VC2S038E");
    assert_eq!(d.capacity, 512_110_190_592);
    assert_eq!(d.temperature, 61);
    assert_eq!(d.smart_status, "PASSED");
    assert_eq!(
        (d.disk_name.as_str(), d.disk_type.as_str()),
        ("/dev/nvme0", "nvme")
    );
    let names: Vec<&str> = d.attributes.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "CriticalWarning",
            "Temperature",
            "AvailableSpare",
            "AvailableSpareThreshold",
            "PercentageUsed",
            "DataUnitsRead",
            "DataUnitsWritten",
            "HostReads",
            "HostWrites",
            "ControllerBusyTime",
            "PowerCycles",
            "PowerOnHours",
            "UnsafeShutdowns",
            "MediaErrors",
            "NumErrLogEntries",
            "WarningTempTime",
            "CriticalCompTime"
        ]
    );
    assert_eq!(attr(&d, "DataUnitsWritten"), 16_040_567);
    assert_eq!(attr(&d, "Temperature"), 61);
    assert_eq!(attr(&d, "PowerOnHours"), 4399);
    assert!(d
        .attributes
        .iter()
        .all(|a| a.id == 0 && a.raw_string.is_empty()));
}

#[test]
fn scsi_fixture_gigabytes_commas() {
    let (parser, d) = parse(&fixture("scsi.json"), None).unwrap();
    assert_eq!(parser, Parser::Scsi);
    assert_eq!(d.model_name, "YADRO WUH721414AL4204");
    assert_eq!(d.serial_number, "9YHSDH9B");
    assert_eq!(d.firmware_version, "C240");
    assert_eq!(d.capacity, 14_000_519_643_136);
    assert_eq!(d.temperature, 34);
    assert_eq!(d.smart_status, "PASSED");
    assert_eq!(
        (d.disk_name.as_str(), d.disk_type.as_str()),
        ("/dev/sde", "scsi")
    );
    assert_eq!(d.attributes.len(), 19);
    assert_eq!(attr(&d, "PowerOnHours"), 458);
    assert_eq!(attr(&d, "PowerOnMinutes"), 25);
    assert_eq!(attr(&d, "StartStopCycles"), 2);
    assert_eq!(attr(&d, "LoadUnloadCycles"), 418);
    assert_eq!(attr(&d, "StartStopSpecified"), 50_000);
    assert_eq!(attr(&d, "LoadUnloadSpecified"), 600_000);
    assert_eq!(attr(&d, "ReadCorrectionAlgorithmInvocations"), 346);
    assert_eq!(attr(&d, "ReadGigabytesProcessed"), 3641);
    assert_eq!(attr(&d, "WriteGigabytesProcessed"), 2_124_590);
    assert_eq!(attr(&d, "VerifyGigabytesProcessed"), 0);
}

#[test]
fn scan_fixture() {
    assert_eq!(
        parse_scan(&fixture("scan.json")).unwrap(),
        [
            ("/dev/sda".to_string(), "sat".to_string()),
            ("/dev/nvme0".to_string(), "nvme".to_string())
        ]
    );
    assert_eq!(parse_scan(r#"{"devices": []}"#), None);
    assert_eq!(parse_scan("not json"), None);
}

#[test]
fn parser_choice_order() {
    // Without a verified parser the output's sections decide; a verified one is tried first (and
    // like Beszel's, the lenient parsers accept any document with a serial).
    assert_eq!(parse(&fixture("nvme0.json"), None).unwrap().0, Parser::Nvme);
    assert_eq!(parse(&fixture("scsi.json"), None).unwrap().0, Parser::Scsi);
    assert_eq!(
        parse(r#"{"serial_number": "S"}"#, None).unwrap().0,
        Parser::Sat
    );
    assert_eq!(
        parse(&fixture("nvme0.json"), Some(Parser::Scsi)).unwrap().0,
        Parser::Scsi
    );
    // The preferred parser fails (type mismatch in its section): the next in order takes over.
    let text = r#"{"serial_number": "S", "nvme_smart_health_information_log": {"temperature": "hot"},
                   "temperature": {"current": 33}}"#;
    let (parser, d) = parse(text, None).unwrap();
    assert_eq!((parser, d.temperature), (Parser::Sat, 33));
}

#[test]
fn missing_fields_degrade() {
    let (_, d) = parse(r#"{"serial_number": "S1"}"#, None).unwrap();
    assert_eq!(d.serial_number, "S1");
    assert_eq!(d.smart_status, "UNKNOWN");
    assert_eq!((d.capacity, d.temperature), (0, 0));
    assert!(d.attributes.is_empty());
    assert_eq!(
        d.to_value(),
        Value::Map(vec![
            (Key::Field(2, "sn"), Value::Text("S1".into())),
            (Key::Field(5, "s"), Value::Text("UNKNOWN".into())),
        ])
    );
    // No serial: not a disk the hub can key.
    assert!(parse(
        r#"{"model_name": "X", "temperature": {"current": 30}}"#,
        None
    )
    .is_none());
}

#[test]
fn smart_status_failed_needs_a_temperature() {
    let failed = r#"{"serial_number": "S", "smart_status": {"passed": false}, "temperature": {"current": 40}}"#;
    assert_eq!(parse(failed, None).unwrap().1.smart_status, "FAILED");
    let unknown = r#"{"serial_number": "S", "smart_status": {"passed": false}}"#;
    assert_eq!(parse(unknown, None).unwrap().1.smart_status, "UNKNOWN");
}

#[test]
fn type_mismatch_fails_the_parse() {
    // Go's decoder rejects the whole document when a field has the wrong type or range.
    for text in [
        r#"{"serial_number": "S", "temperature": {"current": "31"}}"#,
        r#"{"serial_number": "S", "temperature": {"current": 300}}"#,
        r#"{"serial_number": 12, "temperature": {"current": 30}}"#,
    ] {
        let doc = Json::parse(text).unwrap();
        assert!(Parser::Sat.parse(&doc).is_none(), "{text}");
        assert!(Parser::Scsi.parse(&doc).is_none(), "{text}");
    }
}

#[test]
fn virtual_disk_rejected() {
    for text in [
        r#"{"serial_number": "QM00001", "model_name": "QEMU HARDDISK"}"#,
        r#"{"serial_number": "X", "scsi_vendor": "VMware", "scsi_product": "Virtual disk"}"#,
        r#"{"serial_number": "X", "model_name": "Msft Virtual Disk"}"#,
        r#"{"serial_number": "X", "scsi_model_name": "IET VIRTUAL-DISK", "scsi_error_counter_log": {}}"#,
    ] {
        assert!(parse(text, None).is_none(), "{text}");
    }
}

#[test]
fn raw_string_wins_over_raw_value() {
    let text = r#"{"serial_number": "S", "ata_smart_attributes": {"table": [
        {"id": 9, "name": "Power_On_Hours", "value": 29, "worst": 29, "thresh": 0,
         "when_failed": "", "raw": {"value": 1234, "string": "62312h+33m+50.907s"}},
        {"id": 190, "name": "Airflow_Temperature_Cel", "value": 61, "worst": 45, "thresh": 40,
         "when_failed": "past", "raw": {"value": 555, "string": "39 (Min/Max 20/45)"}},
        {"id": 1, "name": "Raw_Read_Error_Rate", "raw": {"value": 77, "string": ""}},
        {"id": 5, "name": "Reallocated", "raw": {"value": 3}}
    ]}}"#;
    let (_, d) = parse(text, None).unwrap();
    let rv: Vec<u64> = d.attributes.iter().map(|a| a.raw_value).collect();
    assert_eq!(rv, [62312, 39, 77, 3]);
    assert_eq!(d.attributes[1].when_failed, "past");
    let encoded = d.attributes[2].to_value();
    // id, name and rv; value/worst/thresh/rs/wf are zero or empty and omitted.
    assert_eq!(
        encoded,
        Value::Map(vec![
            (Key::Field(0, "id"), Value::UInt(1)),
            (
                Key::Field(1, "n"),
                Value::Text("Raw_Read_Error_Rate".into())
            ),
            (Key::Field(5, "rv"), Value::UInt(77)),
        ])
    );
}

#[test]
fn standby_exit_status() {
    // `-n standby` on a sleeping disk: exit status 2 and no device data.
    let text = r#"{"smartctl": {"exit_status": 2}, "device": {"name": "/dev/sdb"}}"#;
    assert_eq!(interpret(Some(2), text, None), DeviceOutcome::Standby);
    assert_eq!(interpret(Some(2), "", None), DeviceOutcome::Standby);
    assert_eq!(interpret(Some(4), "", None), DeviceOutcome::NoData);
}

#[test]
fn usb_bridge_needs_d_sat() {
    let dev = |name: &str, t: &str, explicit: bool| Device {
        name: name.into(),
        device_type: t.into(),
        explicit,
        parser: None,
    };
    assert_eq!(
        device_args(&dev("/dev/sdb", "sat", false)),
        ["-d", "sat", "-a", "--json=c", "-l", "devstat", "-n", "standby", "/dev/sdb"]
    );
    // Scans misreport scsi/ata (Beszel issue 1345): no -d unless SMART_DEVICES says so.
    assert_eq!(
        device_args(&dev("/dev/sdc", "scsi", false)),
        ["-a", "--json=c", "-n", "standby", "/dev/sdc"]
    );
    assert_eq!(
        device_args(&dev("/dev/sdc", "scsi", true))[..2],
        ["-d", "scsi"]
    );
    assert_eq!(device_args(&dev("/dev/sdd", "", false)).len(), 5);
}

#[test]
fn smart_devices_and_merge() {
    let configured = parse_configured(" /dev/sdb:SAT , /dev/nvme1 ,, :x");
    assert_eq!(configured.len(), 2);
    assert_eq!(
        (configured[0].device_type.as_str(), configured[0].explicit),
        ("sat", true)
    );
    assert_eq!(
        (configured[1].device_type.as_str(), configured[1].explicit),
        ("", false)
    );

    let scanned = vec![
        Device {
            name: "/dev/sdb".into(),
            device_type: "scsi".into(),
            explicit: false,
            parser: None,
        },
        Device {
            name: "/dev/sda".into(),
            device_type: "sat".into(),
            explicit: false,
            parser: None,
        },
    ];
    let merged = merge_devices(&[], &scanned, &configured);
    let names: Vec<(&str, &str, bool)> = merged
        .iter()
        .map(|d| (d.name.as_str(), d.device_type.as_str(), d.explicit))
        .collect();
    assert_eq!(
        names,
        [
            ("/dev/sdb", "sat", true),
            ("/dev/sda", "sat", false),
            ("/dev/nvme1", "", false)
        ]
    );
    // A verified parser survives the next scan.
    let mut verified = merged.clone();
    verified[1].parser = Some(Parser::Sat);
    let again = merge_devices(&verified, &scanned, &[]);
    assert_eq!(again[1].parser, Some(Parser::Sat));
}

#[test]
fn encodes_response_map_by_serial() {
    let (_, d) = parse(&fixture("nvme0.json"), None).unwrap();
    let map = sonar_core::collect::smart::smart_map_value([(d.serial_number.as_str(), &d)]);
    let Value::Map(entries) = &map else { panic!() };
    assert_eq!(entries[0].0, Key::Text("2024031600129".into()));
    let v = &entries[0].1;
    assert_eq!(v.get(1), Some(&Value::Text("PELADN 512GB".into())));
    assert_eq!(v.get(4), Some(&Value::UInt(512_110_190_592)));
    assert_eq!(v.get(8), Some(&Value::UInt(61)));
    assert_eq!(v.get(7), Some(&Value::Text("nvme".into())));
    // CBOR: a one-entry map whose key is the text serial.
    let cbor = map.to_cbor();
    assert_eq!(&cbor[..2], &[0xa1, 0x6d]);
    assert_eq!(&cbor[2..15], b"2024031600129");
    assert!(map
        .to_json()
        .starts_with("{\"2024031600129\":{\"mn\":\"PELADN 512GB\""));
}

/// A fake smartctl: answers the scan with three disks and each disk from a fixture; /dev/sdz is
/// asleep (exit 2), /dev/sdh hangs. Every call is appended to calls.log.
fn fake_smartctl(dir: &Path) -> PathBuf {
    let script = dir.join("smartctl");
    let fixtures = fixture_path("");
    let body = format!(
        r#"#!/bin/sh
echo "$*" >> "{dir}/calls.log"
last=""; for a in "$@"; do last="$a"; done
case "$1" in --scan-open)
  printf '%s' '{{"devices":[{{"name":"/dev/sda","type":"sat"}},{{"name":"/dev/nvme0","type":"nvme"}},{{"name":"/dev/sdz","type":"sat"}},{{"name":"/dev/sdh","type":"scsi"}},{{"name":"/dev/sdx","type":"sat"}}]}}'
  exit 0;; esac
if [ -f "{dir}/asleep" ] && [ "$last" = /dev/sda ]; then last=/dev/sdz; fi
case "$last" in
  /dev/sda) cat "{fixtures}/sda.json"; exit 64;;
  /dev/nvme0) cat "{fixtures}/nvme0.json"; exit 0;;
  /dev/sdz) printf '{{"smartctl":{{"exit_status":2}}}}'; exit 2;;
  /dev/sdh) exec sleep 30;;
esac
exit 1
"#,
        dir = dir.display(),
        fixtures = fixtures.display()
    );
    std::fs::write(&script, body).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

fn serials(v: &Value) -> Vec<String> {
    match v {
        Value::Map(entries) => entries
            .iter()
            .map(|(k, _)| k.json_name().to_string())
            .collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn runner_with_fake_smartctl() {
    let dir = tempfile::tempdir().unwrap();
    let smartctl = fake_smartctl(dir.path());
    let monitor = SmartMonitor::new(SmartConfig {
        smartctl: Some(smartctl),
        devices: Some("/dev/sdq:sat".into()),
        exclude: vec!["/dev/sdx".into()],
        call_timeout: Duration::from_millis(400),
        ..Default::default()
    });
    assert!(monitor.available());
    let started = std::time::Instant::now();
    let data = monitor.data_and_refresh();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(serials(&data), ["2024031600129", "9C40918040082"]);
    let log = std::fs::read_to_string(dir.path().join("calls.log")).unwrap();
    let calls: Vec<&str> = log.lines().collect();
    assert_eq!(calls[0], "--scan-open -j");
    assert!(calls.contains(&"-d sat -a --json=c -l devstat -n standby /dev/sda"));
    assert!(calls.contains(&"-d nvme -a --json=c -n standby /dev/nvme0"));
    assert!(calls.contains(&"-a --json=c -n standby /dev/sdh"), "{log}");
    assert!(calls.contains(&"-d sat -a --json=c -l devstat -n standby /dev/sdq"));
    assert!(!log.contains("/dev/sdx"), "EXCLUDE_SMART");
    // Never re-run without -n standby: a sleeping disk stays asleep.
    assert!(calls
        .iter()
        .all(|c| c.starts_with("--scan") || c.contains("-n standby")));

    // The disk falls asleep: its cached data is kept; no second scan within 30 minutes.
    std::fs::write(dir.path().join("asleep"), "").unwrap();
    monitor.refresh();
    assert_eq!(serials(&monitor.data()), ["2024031600129", "9C40918040082"]);
    let log = std::fs::read_to_string(dir.path().join("calls.log")).unwrap();
    assert_eq!(log.matches("--scan-open").count(), 1);
    let verified: Vec<(String, Option<Parser>)> = monitor
        .devices()
        .into_iter()
        .map(|d| (d.name, d.parser))
        .collect();
    assert!(verified.contains(&("/dev/nvme0".into(), Some(Parser::Nvme))));
}

#[test]
fn later_requests_answer_from_memory() {
    let dir = tempfile::tempdir().unwrap();
    let monitor = SmartMonitor::new(SmartConfig {
        smartctl: Some(fake_smartctl(dir.path())),
        call_timeout: Duration::from_secs(1),
        ..Default::default()
    });
    monitor.refresh();
    // /dev/sdh hangs for its whole timeout; the request does not wait for it.
    let started = std::time::Instant::now();
    let data = monitor.data_and_refresh();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(serials(&data).len(), 2);
}

#[test]
fn no_smartctl_empty_answer() {
    let monitor = SmartMonitor::new(SmartConfig {
        smartctl: Some("/nonexistent/smartctl".into()),
        ..Default::default()
    });
    assert!(!monitor.available());
    assert_eq!(monitor.data_and_refresh(), Value::Map(Vec::new()));
    assert_eq!(Value::Map(Vec::new()).to_cbor(), [0xa0]);
}

#[test]
fn empty_smart_devices_disables() {
    let dir = tempfile::tempdir().unwrap();
    let config = SmartConfig::from_lookup(&|name| match name {
        "SMART_DEVICES" => Some("  ".into()),
        "EXCLUDE_SMART" => Some("/dev/sda, /dev/sdb".into()),
        _ => None,
    });
    assert_eq!(config.exclude, ["/dev/sda", "/dev/sdb"]);
    let monitor = SmartMonitor::new(SmartConfig {
        smartctl: Some(fake_smartctl(dir.path())),
        ..config
    });
    assert!(!monitor.available());
    assert_eq!(monitor.data_and_refresh(), Value::Map(Vec::new()));
    assert!(!dir.path().join("calls.log").exists());
}

#[test]
fn mdraid_arrays_follow_the_disks() {
    let monitor = SmartMonitor::new(SmartConfig {
        smartctl: Some("/nonexistent/smartctl".into()),
        mdraid_roots: Some(sonar_core::roots::Roots::under(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mdraid/host"),
        )),
        ..Default::default()
    });
    let keys = serials(&monitor.data_and_refresh());
    assert!(!keys.is_empty());
    assert!(keys.iter().all(|k| k.starts_with("mdraid:md")), "{keys:?}");
}

#[test]
fn this_machine_plausible() {
    // This VM has no smartctl (and only virtio/QEMU disks, which are rejected): an empty map,
    // quickly, and no panic. Where smartctl exists, every entry is keyed by its serial.
    let monitor = SmartMonitor::new(SmartConfig {
        mdraid_roots: Some(sonar_core::roots::Roots::default()),
        ..Default::default()
    });
    let data = monitor.data_and_refresh();
    let Value::Map(entries) = &data else { panic!() };
    for (key, value) in entries {
        assert_eq!(
            value.get(2),
            Some(&Value::Text(key.json_name().to_string()))
        );
    }
    if !monitor.available() {
        assert!(entries
            .iter()
            .all(|(k, _)| k.json_name().starts_with("mdraid:")));
    }
}

/// The doctor honoured SMART_DEVICES_SEPARATOR while the core split on commas only.
#[test]
fn smart_devices_separator_is_honoured_by_the_core() {
    let values = [
        ("SMART_DEVICES", "/dev/sda:sat,12;/dev/sdb"),
        ("SMART_DEVICES_SEPARATOR", ";"),
    ];
    let config = SmartConfig::from_lookup(&|name: &str| {
        values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
    });
    assert_eq!(config.separator, ";");
    let devices = sonar_core::collect::smart::runner::parse_configured_with(
        config.devices.as_deref().unwrap_or_default(),
        &config.separator,
    );
    let names: Vec<(&str, &str)> = devices
        .iter()
        .map(|d| (d.name.as_str(), d.device_type.as_str()))
        .collect();
    assert_eq!(names, [("/dev/sda", "sat,12"), ("/dev/sdb", "")]);
}

/// `SMART_DEVICES=--smart=off` reached smartctl as an option. Settings parsing refuses it (see
/// settings::parse); a caller that skips that check still never passes it on.
#[test]
fn smart_devices_that_look_like_options_never_reach_smartctl() {
    let devices = parse_configured("/dev/sda,--smart=off,-d,/dev/sdb:-x,/dev/sdc:sat");
    let names: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["/dev/sda", "/dev/sdc"]);
    for dev in &devices {
        let args = device_args(dev);
        assert!(!args.iter().any(|a| a.starts_with("--smart")), "{args:?}");
    }
    let warned: Vec<String> = sonar_core::warnings::recorded()
        .into_iter()
        .filter(|m| m.starts_with("SMART_DEVICES: "))
        .collect();
    assert!(
        warned.iter().any(|m| m.contains("\"--smart=off\"")),
        "{warned:?}"
    );
    // a setting error at start, naming SMART_DEVICES
    let err = sonar_core::Settings::from_lookup(&|name| {
        (name == "SMART_DEVICES").then(|| "/dev/sda,--smart=off".to_string())
    })
    .unwrap_err();
    assert_eq!(err.name, "SMART_DEVICES");
}

/// sda.json (real smartctl output) with `temperature.current` 0 and the given
/// `ata_device_statistics` section, as `-l devstat` adds it.
fn sda_with_devstat(section: &str) -> String {
    let sda = fixture("sda.json").replacen(r#""current": 31"#, r#""current": 0"#, 1);
    format!(
        "{}, \"ata_device_statistics\": {section}}}",
        sda.trim_end().trim_end_matches('}')
    )
}

const DEVSTAT: &str = r#"{"pages": [
    {"number": 1, "name": "General Statistics", "revision": 1, "table": [
        {"offset": 8, "name": "Lifetime Power-On Resets", "size": 4, "value": 66,
         "flags": {"value": 192, "string": "CN--- ", "valid": true}}]},
    {"number": 5, "name": "Temperature Statistics", "revision": 1, "table": [
        {"offset": 8, "name": "Current Temperature", "size": 1, "value": 37,
         "flags": {"value": 192, "string": "CN--- ", "valid": true}},
        {"offset": 16, "name": "Average Short Term Temperature", "size": 1,
         "flags": {"value": 0, "string": "----- ", "valid": false}},
        {"offset": 80, "name": "Specified Minimum Operating Temperature", "size": 1, "value": -40,
         "flags": {"value": 160, "string": "V-D-- ", "valid": true}}]}]}"#;

/// spec v0.18 §5.1: a SATA disk reporting temperature 0 gets ATA device statistics page 5's
/// "Current Temperature"; other entries (a negative minimum, one without a value) do not matter.
#[test]
fn sata_temperature_from_device_statistics() {
    let (parser, d) = parse(&sda_with_devstat(DEVSTAT), None).unwrap();
    assert_eq!(parser, Parser::Sat);
    assert_eq!(d.temperature, 37);
    // the Temperature_Celsius attribute itself is left as smartctl gave it
    assert_eq!(attr(&d, "Temperature_Celsius"), 31);
    assert_eq!(d.smart_status, "PASSED");
}

#[test]
fn device_statistics_ignored_when_temperature_is_known() {
    let text = fixture("sda.json")
        .trim_end()
        .trim_end_matches('}')
        .to_string()
        + &format!(", \"ata_device_statistics\": {DEVSTAT}}}");
    assert_eq!(parse(&text, None).unwrap().1.temperature, 31);
}

#[test]
fn device_statistics_fallback_edge_cases() {
    let temperature = |section: &str| parse(&sda_with_devstat(section), None).map(|(_, d)| d);
    let page5 = |entries: &str| format!(r#"{{"pages": [{{"number": 5, "table": [{entries}]}}]}}"#);
    // out of 0..=255: no fallback
    for value in ["256", "-1"] {
        let d = temperature(&page5(&format!(
            r#"{{"name": "Current Temperature", "value": {value}}}"#
        )))
        .unwrap();
        assert_eq!(d.temperature, 0, "{value}");
    }
    // no value (smartctl leaves it out when the entry is not valid)
    let d = temperature(&page5(r#"{"name": "Current Temperature"}"#)).unwrap();
    assert_eq!(d.temperature, 0);
    // the first entry of that name decides; the name matches in any case
    let d = temperature(&page5(
        r#"{"name": "current temperature", "value": 41}, {"name": "Current Temperature", "value": 50}"#,
    ))
    .unwrap();
    assert_eq!(d.temperature, 41);
    // another page's entry of the same name is not it
    let d = temperature(
        r#"{"pages": [{"number": 4, "table": [{"name": "Current Temperature", "value": 44}]}]}"#,
    )
    .unwrap();
    assert_eq!(d.temperature, 0);
    // a section of the wrong shape: no fallback, but the disk is still reported
    for broken in [
        r#"{"pages": [{"number": 300, "table": []}, {"number": 5, "table": [{"name": "Current Temperature", "value": 40}]}]}"#,
        r#"{"pages": [{"number": 5, "table": [{"name": "Current Temperature", "value": 40.5}]}]}"#,
        r#"{"pages": {"number": 5}}"#,
        r#"[1, 2]"#,
    ] {
        let d = temperature(broken).unwrap_or_else(|| panic!("{broken}"));
        assert_eq!(
            (d.temperature, d.serial_number.as_str()),
            (0, "9C40918040082"),
            "{broken}"
        );
    }
}

/// As Beszel: the status is judged before the fallback, on `temperature.current` alone.
#[test]
fn failed_status_judged_before_the_fallback() {
    let failing = sda_with_devstat(DEVSTAT).replacen(r#""passed": true"#, r#""passed": false"#, 1);
    let (_, d) = parse(&failing, None).unwrap();
    assert_eq!((d.smart_status.as_str(), d.temperature), ("UNKNOWN", 37));
}
