//! The GPU averaging of spec §2.7: samplers push readings; a hub request for a cache time gets
//! the mean of the samples pushed since the previous request with that same cache time.
//!
//! Unlike Beszel v0.17, the "last average" reused when no sample arrived in a window is kept per
//! cache time: a 1 s request never changes what a 60 s request repeats.

use crate::baselines::Baselines;
pub use crate::model::GpuData;
use crate::units::two_decimals;
use std::collections::HashMap;

/// One poll of one GPU, as a sampler read it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    /// Stable id of the GPU within its source ("0", "card1", "i0").
    pub id: String,
    pub name: String,
    pub temperature: f64,
    pub memory_used: f64,
    pub memory_total: f64,
    pub usage: f64,
    pub power: f64,
    pub power_pkg: f64,
    pub engines: Vec<(String, f64)>,
    /// Intel: usage is the busiest engine's average, not `usage`.
    pub usage_from_engines: bool,
    /// NVIDIA: memory is in Beszel's "MB" (MiB/1.024); the others report MiB.
    pub memory_in_nvidia_mb: bool,
}

impl Reading {
    /// Memory figures in bytes, whatever unit the vendor's reading used.
    pub fn memory_bytes(&self, value: f64) -> f64 {
        let mib = if self.memory_in_nvidia_mb {
            value * 1.024
        } else {
            value
        };
        mib * 1_048_576.0
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Sums {
    count: u64,
    usage: f64,
    power: f64,
    power_pkg: f64,
    engines: Vec<(String, f64)>,
}

impl Sums {
    fn engine(&self, name: &str) -> f64 {
        self.engines
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0.0, |(_, v)| *v)
    }
}

#[derive(Debug, Clone, Default)]
struct Gpu {
    latest: Reading,
    sums: Sums,
}

/// What one cache time keeps between its requests, by GPU id.
#[derive(Debug, Default)]
struct Window {
    /// The sums at its previous request.
    sums: HashMap<String, Sums>,
    /// The averages it last computed.
    last: HashMap<String, GpuData>,
}

#[derive(Debug, Default)]
pub struct Accumulator {
    /// In first-seen order, so output order is stable.
    gpus: Vec<Gpu>,
    windows: Baselines<Window>,
}

impl Accumulator {
    pub fn push(&mut self, r: Reading) {
        let idx = match self.gpus.iter().position(|g| g.latest.id == r.id) {
            Some(i) => i,
            None => {
                self.gpus.push(Gpu::default());
                self.gpus.len() - 1
            }
        };
        let Some(gpu) = self.gpus.get_mut(idx) else {
            return;
        };
        gpu.sums.count += 1;
        gpu.sums.usage += r.usage;
        gpu.sums.power += r.power;
        gpu.sums.power_pkg += r.power_pkg;
        for (name, busy) in &r.engines {
            match gpu.sums.engines.iter_mut().find(|(n, _)| n == name) {
                Some((_, sum)) => *sum += busy,
                None => gpu.sums.engines.push((name.clone(), *busy)),
            }
        }
        gpu.latest = r;
    }

    pub fn is_empty(&self) -> bool {
        self.gpus.is_empty()
    }

    /// The last reading of every GPU, in first-seen order (Prometheus gauges: no averaging
    /// window is touched).
    pub fn latest(&self) -> Vec<Reading> {
        self.gpus.iter().map(|g| g.latest.clone()).collect()
    }

    /// How many cache times keep a window (sums and last averages).
    pub fn windows(&self) -> usize {
        self.windows.len()
    }

    /// The window's averages for cache time `ct`, keyed by GPU id, with "<name> <id>" names where
    /// several GPUs share a name.
    pub fn current(&mut self, ct: u16) -> Vec<(String, GpuData)> {
        let Window {
            sums: snapshot,
            last,
        } = self.windows.get_or_default(ct);
        let mut out = Vec::with_capacity(self.gpus.len());
        for gpu in &self.gpus {
            let id = &gpu.latest.id;
            let prev = snapshot.get(id).cloned().unwrap_or_default();
            let delta = gpu.sums.count.saturating_sub(prev.count);
            let mut data = if delta > 0 {
                let n = delta as f64;
                let engines: Vec<(String, f64)> = gpu
                    .sums
                    .engines
                    .iter()
                    .map(|(name, sum)| (name.clone(), two_decimals((sum - prev.engine(name)) / n)))
                    .collect();
                let usage = if gpu.latest.usage_from_engines {
                    engines.iter().map(|(_, v)| *v).fold(0.0, f64::max)
                } else {
                    two_decimals((gpu.sums.usage - prev.usage) / n)
                };
                let avg = GpuData {
                    name: gpu.latest.name.clone(),
                    usage,
                    power: two_decimals((gpu.sums.power - prev.power) / n),
                    power_pkg: two_decimals((gpu.sums.power_pkg - prev.power_pkg) / n),
                    engines,
                    ..GpuData::default()
                };
                last.insert(id.clone(), avg.clone());
                avg
            } else {
                last.get(id).cloned().unwrap_or_default()
            };
            data.name = gpu.latest.name.clone();
            data.temperature = two_decimals(gpu.latest.temperature);
            data.memory_used = two_decimals(gpu.latest.memory_used);
            data.memory_total = two_decimals(gpu.latest.memory_total);
            snapshot.insert(id.clone(), gpu.sums.clone());
            out.push((id.clone(), data));
        }
        for (id, data) in out.iter_mut() {
            let shared = self
                .gpus
                .iter()
                .filter(|g| g.latest.name == data.name)
                .count();
            if shared > 1 {
                data.name = format!("{} {}", data.name, id);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(id: &str, name: &str, usage: f64, power: f64) -> Reading {
        Reading {
            id: id.into(),
            name: name.into(),
            usage,
            power,
            temperature: 50.0,
            memory_used: 1000.0,
            memory_total: 8000.0,
            ..Reading::default()
        }
    }

    #[test]
    fn windows_per_cache_time_are_independent() {
        let mut acc = Accumulator::default();
        for u in [10.0, 20.0, 30.0] {
            acc.push(reading("0", "RTX", u, 100.0));
        }
        let fast = acc.current(1000);
        assert_eq!(fast[0].1.usage, 20.0);
        assert_eq!(fast[0].1.power, 100.0);
        acc.push(reading("0", "RTX", 90.0, 200.0));
        let fast = acc.current(1000);
        assert_eq!(fast[0].1.usage, 90.0);
        // The 60 s window has seen all four samples.
        let slow = acc.current(60000);
        assert_eq!(slow[0].1.usage, 37.5);
        assert_eq!(slow[0].1.power, 125.0);
    }

    #[test]
    fn no_shared_last_average_leak() {
        let mut acc = Accumulator::default();
        acc.push(reading("0", "RTX", 40.0, 10.0));
        assert_eq!(acc.current(1000)[0].1.usage, 40.0);
        acc.push(reading("0", "RTX", 80.0, 10.0));
        assert_eq!(acc.current(60000)[0].1.usage, 60.0);
        assert_eq!(acc.current(1000)[0].1.usage, 80.0);
        // No sample since the last 60 s request: it repeats its own last average (60), not the
        // 1 s window's 80 as Beszel's shared lastAvgData would.
        assert_eq!(acc.current(60000)[0].1.usage, 60.0);
        assert_eq!(acc.current(1000)[0].1.usage, 80.0);
    }

    /// Every distinct cache time once kept its own sums and "last average" forever.
    #[test]
    fn distinct_cache_times_keep_a_bounded_number_of_windows() {
        let mut acc = Accumulator::default();
        acc.push(reading("0", "RTX", 40.0, 10.0));
        for ct in 0..3000u16 {
            acc.current(ct);
        }
        assert_eq!(acc.windows(), crate::baselines::MAX_WINDOWS);
    }

    #[test]
    fn temperature_and_memory_are_latest_not_averaged() {
        let mut acc = Accumulator::default();
        let mut r = reading("0", "RTX", 0.0, 0.0);
        r.temperature = 40.004;
        acc.push(r.clone());
        r.temperature = 61.236;
        r.memory_used = 2048.0 / 1.024;
        acc.push(r);
        let g = &acc.current(1000)[0].1;
        assert_eq!(g.temperature, 61.24);
        assert_eq!(g.memory_used, 2000.0);
    }

    #[test]
    fn duplicate_names_get_the_id() {
        let mut acc = Accumulator::default();
        acc.push(reading("0", "GeForce RTX 3090", 1.0, 1.0));
        acc.push(reading("1", "GeForce RTX 3090", 1.0, 1.0));
        acc.push(reading("card2", "Radeon RX 6800", 1.0, 1.0));
        let names: Vec<String> = acc.current(1000).into_iter().map(|(_, g)| g.name).collect();
        assert_eq!(
            names,
            ["GeForce RTX 3090 0", "GeForce RTX 3090 1", "Radeon RX 6800"]
        );
    }

    #[test]
    fn intel_usage_is_the_busiest_engine() {
        let mut acc = Accumulator::default();
        for (render, video) in [(10.0, 50.0), (30.0, 70.0)] {
            acc.push(Reading {
                id: "i0".into(),
                name: "GPU".into(),
                engines: vec![("Render/3D".into(), render), ("Video".into(), video)],
                usage_from_engines: true,
                ..Reading::default()
            });
        }
        let g = &acc.current(1000)[0].1;
        assert_eq!(g.usage, 60.0);
        assert_eq!(
            g.engines,
            vec![("Render/3D".to_string(), 20.0), ("Video".to_string(), 60.0)]
        );
    }

    #[test]
    fn encoding_omits_zero_usage_and_keeps_name() {
        let g = GpuData {
            name: "RTX".into(),
            ..GpuData::default()
        };
        let v = g.to_value();
        assert!(v.get(0).is_some());
        assert!(v.get(3).is_none());
        assert!(v.get(5).is_none());
    }
}
