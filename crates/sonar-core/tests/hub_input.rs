//! What the hub controls must not make the agent grow: every request names a cache time (a
//! u16), and each distinct value used to keep baselines in every collector and a payload in the
//! snapshot cache for the life of the process (3,000 distinct values: +26.6 MiB; all 65,536:
//! ~0.6 GiB). Now every per-cache-time store keeps at most `MAX_WINDOWS`, and the hub's own
//! pair (60000 and 1000) behaves exactly as before.
#![cfg(target_os = "linux")]

use sonar_core::baselines::MAX_WINDOWS;
use sonar_core::collect::containers::ContainerSample;
use sonar_core::{roots::Roots, Agent, CollectInput};
use std::time::{Duration, Instant};

mod common;
use common::{build_host, settings_for, write};

fn containers() -> CollectInput {
    let sample = |id: &str, cpu: u64| ContainerSample {
        id: id.repeat(12),
        name: format!("c{id}"),
        status: "Up 2 hours".into(),
        cpu_total: cpu,
        cpu_system: cpu * 10,
        online_cpus: 2,
        mem_usage: 64 << 20,
        net_rx: cpu,
        net_tx: cpu,
        ..ContainerSample::default()
    };
    CollectInput {
        containers: Some(vec![sample("a", 1_000), sample("b", 2_000)]),
        podman: false,
        ..CollectInput::default()
    }
}

#[test]
fn distinct_cache_times_do_not_grow_memory() {
    let dir = tempfile::tempdir().unwrap();
    build_host(dir.path());
    let mut agent = Agent::new(settings_for(Roots::under(dir.path())));
    let input = containers();
    let t0 = Instant::now();
    for ct in 1..=3000u16 {
        agent.collect_with_at(ct, &input, t0 + Duration::from_millis(u64::from(ct)));
        if ct % 500 == 0 {
            for (store, windows) in agent.windows() {
                assert!(windows <= MAX_WINDOWS, "{store}: {windows} windows at {ct}");
            }
        }
    }
    let windows = agent.windows();
    for store in ["cpu", "disk", "network", "containers", "snapshot cache"] {
        let n = windows.iter().find(|(s, _)| *s == store).map(|(_, n)| *n);
        assert_eq!(n, Some(MAX_WINDOWS), "{store}: {windows:?}");
    }
}

/// The hub's pair keeps its windows through any number of requests, and a 60 s window is not
/// disturbed by the real-time one (what the charts rely on).
#[test]
fn the_hubs_two_cache_times_keep_their_own_windows() {
    let dir = tempfile::tempdir().unwrap();
    build_host(dir.path());
    let mut agent = Agent::new(settings_for(Roots::under(dir.path())));
    let t0 = Instant::now();
    let cpu = |agent: &mut Agent, ct: u16, at: Duration| {
        let payload = agent.collect_at(ct, t0 + at);
        match payload.value.get(0).and_then(|s| s.get(0)) {
            Some(sonar_core::Value::Float(f)) => *f,
            other => panic!("no Stats.cpu: {other:?}"),
        }
    };
    cpu(&mut agent, 60000, Duration::ZERO);
    // 59 real-time samples of a CPU that is busy all the time, then a last second that is
    // nearly idle: the minute as a whole is 50 % busy
    for s in 1..60u64 {
        let user = 100 + 50 * s;
        write(
            dir.path(),
            "proc/stat",
            &format!("cpu  {user} 0 50 800 10 0 0 0 0 0\n"),
        );
        assert_eq!(cpu(&mut agent, 1000, Duration::from_secs(s)), 100.0);
    }
    write(
        dir.path(),
        "proc/stat",
        "cpu  3100 0 50 3800 10 0 0 0 0 0\n",
    );
    // the 60 s window measures its whole minute, not the last second
    assert_eq!(cpu(&mut agent, 60000, Duration::from_secs(60)), 50.0);
    assert!(
        agent.windows().iter().all(|(_, n)| *n <= 2),
        "{:?}",
        agent.windows()
    );
}
