//! GPUs through the whole agent: an AMD fixture card reaches `Stats.g`, `Stats.t` and `Info.g`;
//! this machine (no GPU) sends no key 22.

use sonar_core::roots::Roots;
use sonar_core::{Agent, Settings, Value};
use std::path::Path;
use std::time::{Duration, Instant};

fn text_key<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    match map {
        Value::Map(entries) => entries.iter().find_map(|(k, v)| match k {
            sonar_core::Key::Text(t) if t == key => Some(v),
            _ => None,
        }),
        _ => None,
    }
}

#[test]
fn amd_card_reaches_the_payload() {
    let roots = Roots::under(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gpu/amd"));
    let settings = Settings {
        sensors_sys: roots.sys.clone(),
        roots,
        gpu_collector: vec!["amd_sysfs".into()],
        ..Settings::default()
    };
    // The sampler thread polls at once, but on its own thread: wait for its first readings.
    let mut agent = Agent::new(settings);
    let deadline = Instant::now() + Duration::from_secs(5);
    let value = loop {
        let payload = agent.collect(0);
        let v = payload.value.clone();
        let stats = v.get(0).unwrap();
        if stats.get(22).is_some() || Instant::now() > deadline {
            break v;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stats = value.get(0).unwrap();
    let gpus = stats.get(22).expect("key 22 with the fixture cards");
    let card0 = text_key(gpus, "card0").expect("card0");
    assert_eq!(
        card0.get(0),
        Some(&Value::Text("AMD Radeon RX 6800 XT".into()))
    );
    assert_eq!(card0.get(1), Some(&Value::Float(1280.0)));
    assert_eq!(card0.get(3), Some(&Value::Float(37.0)));
    assert_eq!(card0.get(4), Some(&Value::Float(42.5)));
    let card2 = text_key(gpus, "card2").expect("card2");
    assert_eq!(card2.get(3), None, "0 % usage is omitted in CBOR");
    let temps = stats.get(20).expect("GPU temperatures in t");
    assert_eq!(
        text_key(temps, "AMD Radeon RX 6800 XT"),
        Some(&Value::Float(54.0))
    );
    let info = value.get(1).unwrap();
    assert_eq!(
        info.get(12),
        Some(&Value::Float(37.0)),
        "Info.g = max usage"
    );
    assert_eq!(
        info.get(13),
        Some(&Value::Float(54.0)),
        "hottest GPU as dashboard temp"
    );
}

/// On a machine without a GPU nothing is sampled and key 22 is absent (scripts/test.sh runs it
/// where there is neither /dev/nvidia0 nor a /sys/class/drm entry).
#[test]
#[ignore = "needs a machine without a GPU: no /dev/nvidia0, no /sys/class/drm entries"]
fn no_gpu_here_means_no_key_22() {
    let gpu_here = Path::new("/dev/nvidia0").exists()
        || std::fs::read_dir("/sys/class/drm").is_ok_and(|d| d.count() > 0);
    assert!(!gpu_here, "this machine has a GPU");
    let mut agent = Agent::new(Settings::default());
    let payload = agent.collect(60000);
    let stats = payload.value.get(0).unwrap();
    assert!(stats.get(22).is_none());
    assert!(payload.value.get(1).unwrap().get(12).is_none());
}
