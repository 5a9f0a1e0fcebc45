//! Rate state per cache time. Every hub request names a cache time (60 s for the charts, 1 s for
//! the real-time view, …) and every rate — CPU, network, disk I/O, GPU averages, containers —
//! is measured since the previous request with the same cache time, so each cache time keeps a
//! baseline ("window") of its own and one never shortens another's interval.
//!
//! Each collector keeps its windows in a `Baselines` and reaches them only through its methods,
//! so how many windows live and when an idle one is dropped can be decided here, for every rate
//! at once. A dropped window must behave like one never seen: callers create windows through a
//! seed (`get_or_insert_with`, `get_or_default`) and never assume one still exists.

use std::collections::HashMap;

/// One `T` per cache time (milliseconds, as the hub sends it).
#[derive(Debug, Clone)]
pub struct Baselines<T> {
    windows: HashMap<u16, T>,
}

impl<T> Default for Baselines<T> {
    fn default() -> Self {
        Baselines {
            windows: HashMap::new(),
        }
    }
}

impl<T> Baselines<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The window of `cache_time_ms`, if it has one.
    pub fn get(&self, cache_time_ms: u16) -> Option<&T> {
        self.windows.get(&cache_time_ms)
    }

    pub fn get_mut(&mut self, cache_time_ms: u16) -> Option<&mut T> {
        self.windows.get_mut(&cache_time_ms)
    }

    /// The window of `cache_time_ms`, started from `seed` when it has none.
    pub fn get_or_insert_with(&mut self, cache_time_ms: u16, seed: impl FnOnce() -> T) -> &mut T {
        self.windows.entry(cache_time_ms).or_insert_with(seed)
    }

    /// Sets (or starts) the window of `cache_time_ms`.
    pub fn insert(&mut self, cache_time_ms: u16, window: T) {
        self.windows.insert(cache_time_ms, window);
    }

    /// Takes the window of `cache_time_ms` out, to be put back with `insert`.
    pub fn take(&mut self, cache_time_ms: u16) -> Option<T> {
        self.windows.remove(&cache_time_ms)
    }

    /// Every window, e.g. to forget a device or container in all of them.
    pub fn for_each_mut(&mut self, f: impl FnMut(&mut T)) {
        self.windows.values_mut().for_each(f);
    }

    pub fn len(&self) -> usize {
        self.windows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }
}

impl<T: Default> Baselines<T> {
    /// The window of `cache_time_ms`, started empty when it has none.
    pub fn get_or_default(&mut self, cache_time_ms: u16) -> &mut T {
        self.get_or_insert_with(cache_time_ms, T::default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_independent() {
        let mut b: Baselines<u64> = Baselines::new();
        *b.get_or_default(1000) += 5;
        *b.get_or_insert_with(60000, || 100) += 1;
        assert_eq!(b.get(1000), Some(&5));
        assert_eq!(b.get(60000), Some(&101));
        assert_eq!(b.len(), 2);
    }

    #[test]
    fn seed_only_starts_a_missing_window() {
        let mut b = Baselines::new();
        b.insert(1000, 7u64);
        assert_eq!(*b.get_or_insert_with(1000, || unreachable!()), 7);
        assert_eq!(b.take(1000), Some(7));
        assert_eq!(b.get(1000), None);
        assert!(b.is_empty());
        assert_eq!(*b.get_or_insert_with(1000, || 9), 9);
    }

    #[test]
    fn for_each_reaches_every_window() {
        let mut b: Baselines<Vec<&str>> = Baselines::new();
        b.insert(1000, vec!["sda", "sdb"]);
        b.insert(60000, vec!["sdb"]);
        b.for_each_mut(|devices| devices.retain(|d| *d != "sdb"));
        assert_eq!(b.get(1000), Some(&vec!["sda"]));
        assert_eq!(b.get_mut(60000), Some(&mut Vec::new()));
    }
}
