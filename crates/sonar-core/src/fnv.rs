//! FNV-1a, for the maps a scrape looks into a few hundred times (family names, kept file paths):
//! keys from the kernel's listings and our own names, short, where SipHash's start-up cost was
//! most of each lookup (bench:metrics).

use std::hash::{BuildHasherDefault, Hasher};

#[derive(Clone, Copy)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    // a whole number in one step (the family index hashes names once, then looks up by hash)
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x0100_0000_01b3);
    }
}

pub type FnvBuild = BuildHasherDefault<Fnv1a>;
pub type FnvHashMap<K, V> = std::collections::HashMap<K, V, FnvBuild>;

/// FNV-1a of `text`, as a key of its own.
pub fn fnv1a(text: &str) -> u64 {
    let mut h = Fnv1a::default();
    h.write(text.as_bytes());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_fnv1a_vectors() {
        let hash = |text: &str| {
            let mut h = Fnv1a::default();
            h.write(text.as_bytes());
            h.finish()
        };
        assert_eq!(hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash("foobar"), 0x8594_4171_f739_67e8);
    }
}
