//! Rate state per cache time. Every hub request names a cache time (60 s for the charts, 1 s for
//! the real-time view, …) and every rate — CPU, network, disk I/O, GPU averages, containers —
//! is measured since the previous request with the same cache time, so each cache time keeps a
//! baseline ("window") of its own and one never shortens another's interval.
//!
//! Each collector keeps its windows in a `Baselines` and reaches them only through its methods,
//! so how many windows live and when an idle one is dropped is decided here, for every rate at
//! once. The cache time is the hub's input: a hub sending thousands of distinct values must not
//! make the agent keep thousands of windows (3,000 values once cost 26.6 MiB). So at most
//! `MAX_WINDOWS` live; a new one replaces the least recently used. The hub itself uses two
//! (60000 and 1000), which are never evicted by each other. A dropped window behaves like one
//! never seen: callers create windows through a seed (`get_or_insert_with`, `get_or_default`)
//! and never assume one still exists.

/// How many cache times keep a window at once: well above the hub's two, small enough that a
/// flood of distinct values costs nothing.
pub const MAX_WINDOWS: usize = 8;

#[derive(Debug, Clone)]
struct Window<T> {
    cache_time_ms: u16,
    /// the `clock` of its last use: the smallest is the idlest
    used: u64,
    value: T,
}

/// One `T` per cache time (milliseconds, as the hub sends it), at most `MAX_WINDOWS` of them.
/// A handful of entries: a linear search is as fast as a map and keeps no spare capacity.
#[derive(Debug, Clone)]
pub struct Baselines<T> {
    windows: Vec<Window<T>>,
    clock: u64,
}

impl<T> Default for Baselines<T> {
    fn default() -> Self {
        Baselines {
            windows: Vec::new(),
            clock: 0,
        }
    }
}

impl<T> Baselines<T> {
    pub fn new() -> Self {
        Self::default()
    }

    fn position(&self, cache_time_ms: u16) -> Option<usize> {
        self.windows
            .iter()
            .position(|w| w.cache_time_ms == cache_time_ms)
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// The window of `cache_time_ms`, if it has one (a look, not a use: seeds are read this way).
    pub fn get(&self, cache_time_ms: u16) -> Option<&T> {
        self.windows
            .iter()
            .find(|w| w.cache_time_ms == cache_time_ms)
            .map(|w| &w.value)
    }

    pub fn get_mut(&mut self, cache_time_ms: u16) -> Option<&mut T> {
        let used = self.tick();
        let window = self
            .windows
            .iter_mut()
            .find(|w| w.cache_time_ms == cache_time_ms)?;
        window.used = used;
        Some(&mut window.value)
    }

    /// The window of `cache_time_ms`, started from `seed` when it has none.
    pub fn get_or_insert_with(&mut self, cache_time_ms: u16, seed: impl FnOnce() -> T) -> &mut T {
        let used = self.tick();
        let index = match self.position(cache_time_ms) {
            Some(i) => i,
            None => self.push(cache_time_ms, used, seed()),
        };
        // `index` is in bounds: found above or just pushed.
        let window = &mut self.windows[index];
        window.used = used;
        &mut window.value
    }

    /// Sets (or starts) the window of `cache_time_ms`.
    pub fn insert(&mut self, cache_time_ms: u16, value: T) {
        let used = self.tick();
        match self
            .windows
            .iter_mut()
            .find(|w| w.cache_time_ms == cache_time_ms)
        {
            Some(window) => {
                window.value = value;
                window.used = used;
            }
            None => {
                self.push(cache_time_ms, used, value);
            }
        }
    }

    /// Adds a window, first dropping the least recently used one when full; returns its index.
    fn push(&mut self, cache_time_ms: u16, used: u64, value: T) -> usize {
        if self.windows.len() >= MAX_WINDOWS {
            if let Some(idlest) = self
                .windows
                .iter()
                .enumerate()
                .min_by_key(|(_, w)| w.used)
                .map(|(i, _)| i)
            {
                self.windows.swap_remove(idlest);
            }
        }
        self.windows.push(Window {
            cache_time_ms,
            used,
            value,
        });
        self.windows.len() - 1
    }

    /// Takes the window of `cache_time_ms` out, to be put back with `insert`.
    pub fn take(&mut self, cache_time_ms: u16) -> Option<T> {
        let index = self.position(cache_time_ms)?;
        Some(self.windows.swap_remove(index).value)
    }

    /// Every window, e.g. to forget a device or container in all of them.
    pub fn for_each_mut(&mut self, mut f: impl FnMut(&mut T)) {
        self.windows.iter_mut().for_each(|w| f(&mut w.value));
    }

    pub fn len(&self) -> usize {
        self.windows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// The cache times that have a window, in no particular order.
    pub fn cache_times(&self) -> impl Iterator<Item = u16> + '_ {
        self.windows.iter().map(|w| w.cache_time_ms)
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

    /// 3,000 distinct cache times from the hub once kept 3,000 windows in every collector.
    #[test]
    fn distinct_cache_times_keep_a_bounded_number_of_windows() {
        let mut b: Baselines<Vec<u8>> = Baselines::new();
        for ct in 0..3000u16 {
            b.get_or_default(ct).push(1);
            assert!(b.len() <= MAX_WINDOWS);
        }
        assert_eq!(b.len(), MAX_WINDOWS);
        let mut kept: Vec<u16> = b.cache_times().collect();
        kept.sort_unstable();
        assert_eq!(kept, (3000 - MAX_WINDOWS as u16..3000).collect::<Vec<_>>());
    }

    /// The hub's two windows, used in turn, survive a flood of others as long as they stay in
    /// use more recently than the flood's oldest entries; the idlest goes first.
    #[test]
    fn the_least_recently_used_window_is_evicted() {
        let mut b: Baselines<u64> = Baselines::new();
        b.insert(60000, 60);
        b.insert(1000, 1);
        for ct in 1..MAX_WINDOWS as u16 - 1 {
            b.insert(ct, u64::from(ct));
        }
        assert_eq!(b.len(), MAX_WINDOWS);
        // 60000 is used again: now 1000 is the idlest and is the one a new cache time replaces.
        *b.get_or_default(60000) += 1;
        b.insert(5555, 5);
        assert_eq!(b.get(1000), None);
        assert_eq!(b.get(60000), Some(&61));
        assert_eq!(b.get(5555), Some(&5));
        assert_eq!(b.len(), MAX_WINDOWS);
        // a look (`get`, used for seeds) does not count as a use
        assert!(b.get(1).is_some());
        b.insert(7777, 7);
        assert_eq!(b.get(1), None);
    }

    #[test]
    fn the_hub_pair_never_evicts_anything() {
        let mut b: Baselines<u64> = Baselines::new();
        for i in 0..10_000u64 {
            *b.get_or_default(if i % 60 == 0 { 60000 } else { 1000 }) += 1;
        }
        assert_eq!(b.len(), 2);
        assert_eq!(b.get(60000), Some(&167));
        assert_eq!(b.get(1000), Some(&9833));
    }
}
