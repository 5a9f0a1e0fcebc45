//! Warnings the core has for the person running the agent: a setting that names nothing, a file
//! under HOST_PROC that is missing or garbled, a value out of its range. The core has no logger;
//! it records each warning once per process (keyed by what it is about, so a file read every
//! second warns once, not every second) and the caller drains them (`take`) and logs them — the
//! binding's `takeWarnings()`, which the TypeScript agent calls after each collection.
//!
//! Bounded like everything the core keeps: after `MAX_WARNINGS` distinct warnings the rest are
//! counted in one last line instead of kept.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Distinct warnings kept per process.
pub const MAX_WARNINGS: usize = 64;

struct Store {
    /// (key, message) of every warning recorded so far.
    seen: Vec<(String, String)>,
    /// Messages not yet taken.
    pending: Vec<String>,
    /// Distinct warnings dropped after the store was full.
    dropped: usize,
}

impl Store {
    const fn new() -> Store {
        Store {
            seen: Vec::new(),
            pending: Vec::new(),
            dropped: 0,
        }
    }

    fn warn_once(&mut self, key: &str, message: impl FnOnce() -> String) {
        if self.seen.iter().any(|(k, _)| k == key) {
            return;
        }
        if self.seen.len() >= MAX_WARNINGS {
            if self.dropped == 0 {
                self.pending.push(format!(
                    "more than {MAX_WARNINGS} distinct core warnings: further ones are not reported"
                ));
            }
            self.dropped += 1;
            return;
        }
        let message = message();
        self.seen.push((key.to_string(), message.clone()));
        self.pending.push(message);
    }
}

static STORE: Mutex<Store> = Mutex::new(Store::new());

fn store() -> MutexGuard<'static, Store> {
    STORE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Records `message()` unless a warning with this `key` was recorded before; the message is
/// built only the first time.
pub fn warn_once(key: &str, message: impl FnOnce() -> String) {
    store().warn_once(key, message);
}

/// The warnings recorded since the last call, oldest first.
pub fn take() -> Vec<String> {
    std::mem::take(&mut store().pending)
}

/// Every warning recorded in this process, taken or not (tests look their own up by path).
pub fn recorded() -> Vec<String> {
    store().seen.iter().map(|(_, m)| m.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_warns_once_and_take_drains() {
        let mut store = Store::new();
        store.warn_once("a", || "about a".into());
        store.warn_once("a", || unreachable!("built only the first time"));
        store.warn_once("b", || "about b".into());
        assert_eq!(std::mem::take(&mut store.pending), ["about a", "about b"]);
        store.warn_once("a", || unreachable!("still known after being taken"));
        assert!(store.pending.is_empty());
    }

    #[test]
    fn distinct_warnings_are_bounded() {
        let mut store = Store::new();
        for i in 0..10 * MAX_WARNINGS {
            store.warn_once(&i.to_string(), || format!("warning {i}"));
        }
        assert_eq!(store.seen.len(), MAX_WARNINGS);
        assert_eq!(store.pending.len(), MAX_WARNINGS + 1);
        assert!(store.pending[MAX_WARNINGS].starts_with("more than 64"));
        assert_eq!(store.dropped, 9 * MAX_WARNINGS);
    }

    /// The process-wide store: only this test takes from it in this test binary.
    #[test]
    fn the_process_store_hands_each_warning_over_once() {
        warn_once("test:process-store", || "process store /tmp/x".into());
        warn_once("test:process-store", || unreachable!());
        assert!(recorded().iter().any(|m| m == "process store /tmp/x"));
        assert!(take().iter().any(|m| m == "process store /tmp/x"));
        assert!(!take().iter().any(|m| m == "process store /tmp/x"));
    }
}
