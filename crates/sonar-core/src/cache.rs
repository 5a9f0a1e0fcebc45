//! The snapshot cache (spec §2.1): a payload younger than half its cache time is served again as
//! is. Entries hold immutable, already-encoded payloads, so a 1 s collection can never change
//! what a cached 60 s answer says (the v0.17 agent shared mutable FsStats between them).
//! Like every per-cache-time store it is bounded (`crate::baselines`): a hub cycling through
//! distinct cache times keeps at most `MAX_WINDOWS` payloads alive.

use crate::baselines::Baselines;
use crate::model::dialect::{self, Dialect};
use crate::model::CombinedData;
use crate::value::Value;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// One collected sample in every form a caller needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    pub data: CombinedData,
    pub value: Value,
    /// The v0.17 shape.
    pub cbor: Vec<u8>,
    /// The v0.18.8 shape, encoded when a v0.18 hub first asks for this sample.
    v018: OnceLock<Vec<u8>>,
    /// Details' logical CPU count, which the v0.18.8 shape copies into Info.
    threads: u64,
}

impl Payload {
    pub fn new(data: CombinedData) -> Payload {
        Payload::with_threads(data, 0)
    }

    pub fn with_threads(data: CombinedData, threads: u64) -> Payload {
        let value = data.to_value();
        let cbor = value.to_cbor();
        Payload {
            data,
            value,
            cbor,
            v018: OnceLock::new(),
            threads,
        }
    }

    fn v018_facts(&self) -> dialect::V018Facts {
        dialect::V018Facts {
            threads: self.threads,
            battery: self.data.stats.battery_primary,
        }
    }

    /// The encoded answer in a hub's dialect (without Details).
    pub fn cbor_for(&self, dialect: Dialect) -> &[u8] {
        match dialect {
            Dialect::V017 => &self.cbor,
            Dialect::V018 => self
                .v018
                .get_or_init(|| dialect::v018_from_v017(&self.value, &self.v018_facts()).to_cbor()),
        }
    }
}

#[derive(Default)]
pub struct SnapshotCache {
    entries: Baselines<(Instant, Arc<Payload>)>,
}

impl SnapshotCache {
    /// The cached payload for `cache_time_ms` if it is younger than half of it (strict; a cache
    /// time of 0 is never fresh).
    pub fn get(&self, cache_time_ms: u16, now: Instant) -> Option<Arc<Payload>> {
        let (at, payload) = self.entries.get(cache_time_ms)?;
        let age = now.saturating_duration_since(*at);
        (age < Duration::from_millis(u64::from(cache_time_ms / 2))).then(|| payload.clone())
    }

    pub fn set(&mut self, cache_time_ms: u16, now: Instant, payload: Arc<Payload>) {
        self.entries.insert(cache_time_ms, (now, payload));
    }

    pub fn clear(&mut self) {
        self.entries = Baselines::new();
    }

    /// How many cache times hold a payload.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> Arc<Payload> {
        Arc::new(Payload::new(CombinedData::default()))
    }

    #[test]
    fn fresh_boundaries_match_the_go_tests() {
        let mut cache = SnapshotCache::default();
        let t0 = Instant::now();
        cache.set(1000, t0, payload());
        assert!(cache.get(1000, t0 + Duration::from_millis(499)).is_some());
        assert!(cache.get(1000, t0 + Duration::from_millis(500)).is_none());
        assert!(cache.get(60000, t0).is_none());
    }

    #[test]
    fn distinct_cache_times_keep_a_bounded_number_of_payloads() {
        let mut cache = SnapshotCache::default();
        let t0 = Instant::now();
        for ct in 1..=3000u16 {
            cache.set(ct, t0, payload());
        }
        assert_eq!(cache.len(), crate::baselines::MAX_WINDOWS);
        assert!(cache.get(3000, t0).is_some());
        assert!(cache.get(1, t0).is_none());
    }

    #[test]
    fn zero_cache_time_is_never_fresh() {
        let mut cache = SnapshotCache::default();
        let t0 = Instant::now();
        cache.set(0, t0, payload());
        assert!(cache.get(0, t0).is_none());
    }
}
