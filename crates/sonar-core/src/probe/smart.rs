//! S.M.A.R.T.: the smartctl the monitor would run (its own lookup: PATH, then SMARTCTL_DIRS) and
//! its version — the monitor reads `--json` output, which smartctl has from 7.0 on.

use super::{object, text_or_null, texts};
use crate::collect::child::run_with_timeout;
use crate::collect::smart::runner::{
    parse_configured_with, Device, SmartConfig, SmartMonitor, SMARTCTL_DIRS,
};
use crate::value::Value;
use std::path::PathBuf;
use std::time::Duration;

pub const VERSION_TIMEOUT: Duration = Duration::from_secs(3);
/// The first smartctl with `--json`.
pub const JSON_SINCE: (u32, u32) = (7, 0);

#[derive(Debug, Clone, PartialEq)]
pub struct SmartProbe {
    pub smartctl: Option<PathBuf>,
    /// The first line of `smartctl --version`.
    pub version_line: Option<String>,
    /// (major, minor) from that line.
    pub version: Option<(u32, u32)>,
    /// Why there is no version: it did not run, did not finish, or printed none.
    pub version_error: Option<String>,
    /// `SMART_DEVICES` as the monitor reads it (its separator, `path[:type]`).
    pub devices: Vec<Device>,
}

/// "smartctl 7.3 2022-02-28 r5338 [x86_64-linux-6.1.0] (local build)" → (7, 3).
pub fn parse_version(line: &str) -> Option<(u32, u32)> {
    let rest = line.trim().strip_prefix("smartctl ")?;
    let number = rest.split_whitespace().next()?;
    let (major, minor) = number.split_once('.')?;
    let minor: String = minor.chars().take_while(char::is_ascii_digit).collect();
    Some((major.parse().ok()?, minor.parse().ok()?))
}

pub fn probe(config: &SmartConfig) -> SmartProbe {
    let devices = config
        .devices
        .as_deref()
        .map(|d| parse_configured_with(d, &config.separator))
        .unwrap_or_default();
    // the monitor's own lookup; nothing runs until it is asked for data
    let monitor = SmartMonitor::new(SmartConfig::default());
    let Some(smartctl) = monitor.smartctl_path().map(PathBuf::from) else {
        return SmartProbe {
            smartctl: None,
            version_line: None,
            version: None,
            version_error: None,
            devices,
        };
    };
    let args = ["--version".to_string()];
    let (version_line, version, version_error) =
        match run_with_timeout(&smartctl, &args, VERSION_TIMEOUT) {
            None => {
                let why = format!(
                    "--version did not start or finish within {} s",
                    VERSION_TIMEOUT.as_secs()
                );
                (None, None, Some(why))
            }
            Some(done) => {
                let line = done.stdout.lines().find(|l| l.starts_with("smartctl "));
                let version = line.and_then(parse_version);
                let error = version.is_none().then(|| match done.code {
                    Some(0) => "--version printed no version".to_string(),
                    Some(code) => format!("--version exited with status {code}"),
                    None => "--version was killed by a signal".to_string(),
                });
                (line.map(str::to_string), version, error)
            }
        };
    SmartProbe {
        smartctl: Some(smartctl),
        version_line,
        version,
        version_error,
        devices,
    }
}

impl SmartProbe {
    pub fn to_value(&self) -> Value {
        let path = self.smartctl.as_ref().map(|p| p.display().to_string());
        let version = self.version.map(|(a, b)| format!("{a}.{b}"));
        object(vec![
            ("smartctl", text_or_null(path.as_deref())),
            ("searched", texts(&SMARTCTL_DIRS)),
            (
                "devices",
                Value::Array(
                    self.devices
                        .iter()
                        .map(|d| {
                            object(vec![
                                ("path", Value::Text(d.name.clone())),
                                (
                                    "type",
                                    text_or_null(
                                        (!d.device_type.is_empty())
                                            .then_some(d.device_type.as_str()),
                                    ),
                                ),
                            ])
                        })
                        .collect(),
                ),
            ),
            ("version", text_or_null(version.as_deref())),
            ("versionLine", text_or_null(self.version_line.as_deref())),
            ("versionError", text_or_null(self.version_error.as_deref())),
            (
                "json",
                Value::Bool(self.version.is_some_and(|v| v >= JSON_SINCE)),
            ),
            (
                "jsonSince",
                Value::Text(format!("{}.{}", JSON_SINCE.0, JSON_SINCE.1)),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_lines() {
        assert_eq!(
            parse_version(
                "smartctl 7.3 2022-02-28 r5338 [x86_64-linux-6.1.0-18-amd64] (local build)"
            ),
            Some((7, 3))
        );
        assert_eq!(parse_version("smartctl 6.6 2016-05-31 r4324"), Some((6, 6)));
        assert_eq!(parse_version("smartctl 7.4-dev"), Some((7, 4)));
        assert_eq!(parse_version("smartmontools 7.3"), None);
        assert_eq!(parse_version("smartctl x.y"), None);
    }

    /// The doctor split SMART_DEVICES on its own (last colon, its own separator reading): it now
    /// shows the monitor's own parse.
    #[test]
    fn devices_are_the_monitors_parse() {
        let config = SmartConfig {
            devices: Some("/dev/sda:sat,12;/dev/sdb".into()),
            separator: ";".into(),
            ..SmartConfig::default()
        };
        let p = probe(&config);
        let devices: Vec<(&str, &str)> = p
            .devices
            .iter()
            .map(|d| (d.name.as_str(), d.device_type.as_str()))
            .collect();
        assert_eq!(devices, [("/dev/sda", "sat,12"), ("/dev/sdb", "")]);
    }
}
