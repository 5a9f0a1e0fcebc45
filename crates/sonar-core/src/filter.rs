//! The name filters behind `NICS` and `SENSORS`: a comma-separated list, a leading `-` turning it
//! into a deny list, entries with `*` matched as globs (Go `path.Match` syntax), others exactly.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameFilter {
    deny: bool,
    exact: Vec<String>,
    globs: Vec<String>,
}

impl NameFilter {
    pub fn parse(value: &str) -> NameFilter {
        let trimmed = value.trim();
        let (deny, list) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let mut exact = Vec::new();
        let mut globs = Vec::new();
        for entry in crate::settings::grammar::split_list(list, ",") {
            if entry.contains('*') {
                globs.push(entry.to_string());
            } else {
                exact.push(entry.to_string());
            }
        }
        NameFilter { deny, exact, globs }
    }

    pub fn is_deny_list(&self) -> bool {
        self.deny
    }

    /// Whether `name` passes: an empty allow list allows nothing, an empty deny list everything.
    pub fn allows(&self, name: &str) -> bool {
        let listed =
            self.exact.iter().any(|e| e == name) || self.globs.iter().any(|g| glob_match(g, name));
        listed != self.deny
    }
}

pub use crate::glob::{glob_is_valid, glob_match};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_and_deny_lists() {
        let allow = NameFilter::parse("eth0, wlan*");
        assert!(allow.allows("eth0"));
        assert!(allow.allows("wlan1"));
        assert!(!allow.allows("eth1"));

        let deny = NameFilter::parse("-eth0,tun*");
        assert!(deny.is_deny_list());
        assert!(!deny.allows("eth0"));
        assert!(!deny.allows("tun3"));
        assert!(deny.allows("eth1"));
    }

    #[test]
    fn empty_lists() {
        assert!(!NameFilter::parse("").allows("eth0"));
        assert!(NameFilter::parse("-").allows("eth0"));
    }
}
