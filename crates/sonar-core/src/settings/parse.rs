//! One raw setting value → a typed value, by the kind the catalog gives it. Used for the core's
//! own settings and, through the binding, for the ones TypeScript reads.

use super::catalog::{Items, Kind, Setting, Support, UNSUPPORTED_GPU_COLLECTORS};
use super::grammar::{parse_bool, parse_go_duration, split_list};
use super::SettingError;
use crate::glob::glob_is_valid;
use std::time::Duration;

/// A setting's value after parsing.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Bool(bool),
    Duration(Duration),
    /// list items, trimmed, blanks dropped (enum lists lower-cased)
    List(Vec<String>),
    /// text, trimmed (an enum's canonical spelling; a secret untouched)
    Text(String),
}

/// `Ok(None)`: unset, or set but blank (which some readers give a meaning: `SENSORS=""`).
/// `lookup` supplies other settings a value depends on (a list's separator).
pub fn parse(
    setting: &Setting,
    raw: Option<&str>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Parsed>, SettingError> {
    let Some(raw) = raw else { return Ok(None) };
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let error = |problem: String| {
        SettingError::new(
            setting.name,
            raw,
            problem,
            Some(setting.example).filter(|e| !e.is_empty()),
        )
    };
    if let Support::Refused(why) = setting.support {
        return Err(SettingError::new(
            setting.name,
            raw,
            format!("is set, but SONAR does not support it: {why}; remove it"),
            None,
        ));
    }
    Ok(Some(match setting.kind {
        Kind::Bool => {
            Parsed::Bool(parse_bool(value).ok_or_else(|| error("is not true or false".into()))?)
        }
        Kind::Duration | Kind::Timeout => {
            let d = parse_go_duration(value).ok_or_else(|| {
                error("is not a duration (a number and a unit: ms, s, m, h)".into())
            })?;
            if setting.kind == Kind::Timeout && d.is_zero() {
                return Err(error("is not longer than zero".into()));
            }
            Parsed::Duration(d)
        }
        Kind::List {
            separator,
            separator_setting,
        } => {
            let custom = separator_setting.and_then(lookup).filter(|s| !s.is_empty());
            let separator = custom.as_deref().unwrap_or(separator);
            let items: Vec<String> = split_list(raw, separator).map(String::from).collect();
            if setting.items == Items::Arguments {
                if let Some(bad) = items.iter().find(|item| looks_like_an_option(item)) {
                    return Err(error(format!(
                        "lists {bad:?}, which looks like a command-line option; each entry is a \
                         device path such as /dev/sda, optionally with :type"
                    )));
                }
            }
            Parsed::List(items)
        }
        Kind::Globs => {
            let items: Vec<String> = split_list(raw, ",").map(String::from).collect();
            if let Some(bad) = items.iter().find(|p| !glob_is_valid(p)) {
                return Err(error(format!(
                    "contains {bad:?}, which is not a valid glob"
                )));
            }
            Parsed::List(items)
        }
        Kind::Enum { values, aliases } => {
            let lower = value.to_ascii_lowercase();
            let canonical = values
                .iter()
                .find(|v| **v == lower)
                .or_else(|| aliases.iter().find(|(a, _)| *a == lower).map(|(_, v)| v));
            match canonical {
                Some(v) => Parsed::Text((*v).to_string()),
                None => return Err(error(one_of(values))),
            }
        }
        Kind::EnumList { values } => {
            let mut items = Vec::new();
            for name in split_list(raw, ",").map(str::to_ascii_lowercase) {
                if let Some((_, instead)) =
                    UNSUPPORTED_GPU_COLLECTORS.iter().find(|(n, _)| *n == name)
                {
                    return Err(error(format!(
                        "lists {name}, but {name} is not implemented in SONAR ({instead})"
                    )));
                }
                if !values.contains(&name.as_str()) {
                    return Err(error(format!(
                        "lists unknown collector {name:?} (known: {})",
                        values.join(", ")
                    )));
                }
                items.push(name);
            }
            Parsed::List(items)
        }
        Kind::Filter => {
            // entries with `*` are globs (NameFilter); a malformed one would never match
            let list = value.strip_prefix('-').unwrap_or(value);
            let bad = split_list(list, ",").find(|e| e.contains('*') && !glob_is_valid(e));
            if let Some(bad) = bad {
                return Err(error(format!(
                    "contains {bad:?}, which is not a valid glob"
                )));
            }
            Parsed::Text(value.to_string())
        }
        Kind::Path | Kind::Text => Parsed::Text(value.to_string()),
        Kind::Secret => Parsed::Text(raw.to_string()),
    }))
}

/// `name[:type]` where the name or the type starts with `-`: handed to a program, it would be
/// read as an option.
pub fn looks_like_an_option(item: &str) -> bool {
    item.split(':')
        .any(|part| part.trim_start().starts_with('-'))
}

/// "is not one of a, b, c" / "is not a or b".
fn one_of(values: &[&str]) -> String {
    match values {
        [only] => format!("is not {only}"),
        [a, b] => format!("is not {a} or {b}"),
        _ => format!("is not one of {}", values.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::catalog::find;
    use super::*;

    fn parse_one(name: &str, raw: &str) -> Result<Option<Parsed>, SettingError> {
        parse(find(name).unwrap(), Some(raw), &|_| None)
    }

    /// `SKIP_GPU=1` was "true" to the doctor and "false" to the core: now it is an error everywhere.
    #[test]
    fn skip_gpu_1_is_refused_not_read_two_ways() {
        let err = parse_one("SKIP_GPU", "1").unwrap_err();
        assert_eq!(err.name, "SKIP_GPU");
        assert_eq!(
            err.to_string(),
            "SKIP_GPU=\"1\" is not true or false (for example SKIP_GPU=true)"
        );
        assert_eq!(
            parse_one("SKIP_GPU", "TRUE").unwrap(),
            Some(Parsed::Bool(true))
        );
        assert_eq!(parse_one("SKIP_GPU", "  ").unwrap(), None);
    }

    #[test]
    fn enums_take_any_case_and_aliases() {
        assert_eq!(
            parse_one("LOG_LEVEL", "WARNING").unwrap(),
            Some(Parsed::Text("warn".into()))
        );
        let err = parse_one("LOG_LEVEL", "verbose").unwrap_err();
        assert_eq!(err.problem, "is not one of debug, info, warn, error");
        let err = parse_one("HUB_FLAVOR", "pocketbase").unwrap_err();
        assert_eq!(err.problem, "is not sonar or beszel");
        let err = parse_one("MEM_CALC", "top").unwrap_err();
        assert_eq!(err.problem, "is not htop");
    }

    #[test]
    fn refused_settings_say_why_and_have_no_example() {
        let err = parse_one("SENSORS_TIMEOUT", "2s").unwrap_err();
        assert!(err
            .problem
            .starts_with("is set, but SONAR does not support it: "));
        assert_eq!(err.example, None);
        assert!(!err.to_string().contains("for example"));
        assert_eq!(
            parse_one("SENSORS_TIMEOUT", "").unwrap(),
            None,
            "blank is unset"
        );
    }

    #[test]
    fn smart_devices_split_on_their_separator_setting() {
        let setting = find("SMART_DEVICES").unwrap();
        let semicolon = |name: &str| (name == "SMART_DEVICES_SEPARATOR").then(|| ";".to_string());
        assert_eq!(
            parse(setting, Some("/dev/sda:sat,12;/dev/sdb"), &semicolon).unwrap(),
            Some(Parsed::List(vec![
                "/dev/sda:sat,12".into(),
                "/dev/sdb".into()
            ]))
        );
        assert_eq!(
            parse(setting, Some("/dev/sda, /dev/sdb"), &|_| None).unwrap(),
            Some(Parsed::List(vec!["/dev/sda".into(), "/dev/sdb".into()]))
        );
    }

    /// `SMART_DEVICES=--smart=off` reached smartctl as an option.
    #[test]
    fn smart_devices_that_look_like_options_are_refused() {
        let semicolon = |name: &str| (name == "SMART_DEVICES_SEPARATOR").then(|| ";".to_string());
        let comma = |_: &str| None;
        type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;
        let cases: [(&str, Lookup); 5] = [
            ("--smart=off", &comma),
            ("/dev/sda,-d", &comma),
            ("/dev/sda:-x", &comma),
            (" -a", &comma),
            ("/dev/sda,12;--smart=off", &semicolon),
        ];
        for (raw, lookup) in cases {
            let setting = find("SMART_DEVICES").unwrap();
            let err = parse(setting, Some(raw), lookup).unwrap_err();
            assert_eq!(err.name, "SMART_DEVICES");
            assert!(
                err.problem.contains("looks like a command-line option"),
                "{raw}: {}",
                err.problem
            );
            assert!(
                err.to_string()
                    .contains("(for example SMART_DEVICES=/dev/sda,/dev/sdb:sat)"),
                "{err}"
            );
        }
        // dashes inside a name or a type are fine
        assert_eq!(
            parse_one("SMART_DEVICES", "/dev/disk/by-id/ata-X-1:sat,12").unwrap(),
            Some(Parsed::List(vec![
                "/dev/disk/by-id/ata-X-1:sat".into(),
                "12".into()
            ]))
        );
        // other lists may hold dashes
        assert!(parse_one("EXCLUDE_SMART", "-x").is_ok());
        assert!(parse_one("NO_PROXY", "-internal").is_ok());
    }

    #[test]
    fn durations_and_globs() {
        assert_eq!(
            parse_one("DOCKER_TIMEOUT", "5s").unwrap(),
            Some(Parsed::Duration(Duration::from_secs(5)))
        );
        assert!(parse_one("DOCKER_TIMEOUT", "soon").is_err());
        let err = parse_one("EXCLUDE_CONTAINERS", "web-*,te[st").unwrap_err();
        assert!(err.problem.contains("\"te[st\""), "{}", err.problem);
    }

    /// Found by the bad-settings table: DOCKER_TIMEOUT=0s and a malformed NICS/SENSORS glob were
    /// accepted, and then failed every engine request or never matched.
    #[test]
    fn zero_timeout_and_malformed_filter_globs_are_refused() {
        let err = parse_one("DOCKER_TIMEOUT", "0s").unwrap_err();
        assert!(err.problem.starts_with("is not longer than zero"), "{err}");
        assert!(
            parse_one("DISK_USAGE_CACHE", "0").unwrap().is_some(),
            "0 = off there"
        );
        for (name, value) in [("NICS", "eth0,wl[*"), ("SENSORS", "-cpu_[*")] {
            let err = parse_one(name, value).unwrap_err();
            assert!(err.problem.contains("not a valid glob"), "{err}");
        }
        assert!(parse_one("NICS", "-tun*,wg0").unwrap().is_some());
        assert!(
            parse_one("NICS", "eth[0").unwrap().is_some(),
            "no *: an exact name"
        );
    }
}
