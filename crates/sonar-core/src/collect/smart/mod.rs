//! S.M.A.R.T.: smartctl's JSON output parsed into the hub's SmartData (response key 5, keyed by
//! serial number), eMMC wear read from sysfs, and a runner that scans and queries devices off the
//! caller's thread.
//!
//! Every text comes out valid UTF-8 (the hub's decoder rejects a whole message over one bad
//! string, spec v0.18 §0): smartctl's output is decoded lossily where it is read
//! (`collect::child`), sysfs files through `roots::read_trimmed_lossy`.

pub mod emmc;
pub mod runner;

use crate::json::{Json, Mismatch};
use crate::units::parse_go_uint;
use crate::value::{Key, MapBuilder, Value};

/// One attribute row (`SmartAttribute`). NVMe and SCSI fill only name and raw value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SmartAttribute {
    pub id: u16,
    pub name: String,
    pub value: u16,
    pub worst: u16,
    pub threshold: u16,
    pub raw_value: u64,
    pub raw_string: String,
    pub when_failed: String,
}

/// One disk's entry of the `GetSmartData` answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SmartData {
    pub model_name: String,
    pub serial_number: String,
    pub firmware_version: String,
    /// Bytes.
    pub capacity: u64,
    pub smart_status: String,
    pub disk_name: String,
    pub disk_type: String,
    /// °C.
    pub temperature: u8,
    pub attributes: Vec<SmartAttribute>,
}

impl SmartAttribute {
    fn named(name: &str, raw_value: u64) -> Self {
        SmartAttribute {
            name: name.to_string(),
            raw_value,
            ..Default::default()
        }
    }

    pub fn to_value(&self) -> Value {
        MapBuilder::new()
            .field_omit_empty(0, "id", Value::UInt(u64::from(self.id)))
            .field(1, "n", Value::Text(self.name.clone()))
            .field_omit_empty(2, "v", Value::UInt(u64::from(self.value)))
            .field_omit_empty(3, "w", Value::UInt(u64::from(self.worst)))
            .field_omit_empty(4, "t", Value::UInt(u64::from(self.threshold)))
            .field(5, "rv", Value::UInt(self.raw_value))
            .field_omit_empty(6, "rs", Value::Text(self.raw_string.clone()))
            .field_omit_empty(7, "wf", Value::Text(self.when_failed.clone()))
            .build()
    }
}

impl SmartData {
    pub fn to_value(&self) -> Value {
        MapBuilder::new()
            .field_omit_empty(1, "mn", Value::Text(self.model_name.clone()))
            .field_omit_empty(2, "sn", Value::Text(self.serial_number.clone()))
            .field_omit_empty(3, "fv", Value::Text(self.firmware_version.clone()))
            .field_omit_empty(4, "c", Value::UInt(self.capacity))
            .field_omit_empty(5, "s", Value::Text(self.smart_status.clone()))
            .field_omit_empty(6, "dn", Value::Text(self.disk_name.clone()))
            .field_omit_empty(7, "dt", Value::Text(self.disk_type.clone()))
            .field_omit_empty(8, "t", Value::UInt(u64::from(self.temperature)))
            .field_omit_empty(
                9,
                "a",
                Value::Array(self.attributes.iter().map(|a| a.to_value()).collect()),
            )
            .build()
    }
}

/// The response's `map[string]SmartData`, in the order given (serial → data).
pub fn smart_map_value<'a>(entries: impl IntoIterator<Item = (&'a str, &'a SmartData)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(key, data)| (Key::Text(key.to_string()), data.to_value()))
            .collect(),
    )
}

/// Which parser smartctl's output needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parser {
    Nvme,
    Sat,
    Scsi,
}

impl Parser {
    const ALL: [Parser; 3] = [Parser::Nvme, Parser::Sat, Parser::Scsi];

    /// A device type as smartctl or SMART_DEVICES names it; None for types no parser claims.
    pub fn from_type(device_type: &str) -> Option<Parser> {
        match device_type.trim().to_ascii_lowercase().as_str() {
            "nvme" | "sntasmedia" | "sntrealtek" => Some(Parser::Nvme),
            "sat" | "ata" => Some(Parser::Sat),
            "scsi" => Some(Parser::Scsi),
            _ => None,
        }
    }

    /// The schema the output's sections belong to; SATA when nothing tells.
    pub fn detect(doc: &Json) -> Parser {
        if doc.has("nvme_smart_health_information_log") {
            Parser::Nvme
        } else if doc.has("ata_smart_attributes") {
            Parser::Sat
        } else if doc.has("scsi_error_counter_log") {
            Parser::Scsi
        } else {
            Parser::Sat
        }
    }

    pub fn parse(self, doc: &Json) -> Option<SmartData> {
        let parsed = match self {
            Parser::Nvme => parse_nvme(doc),
            Parser::Sat => parse_sata(doc),
            Parser::Scsi => parse_scsi(doc),
        };
        parsed.ok().flatten()
    }
}

/// Tries the preferred parser first, then the others in the order nvme, sat, scsi. Without a
/// verified parser, the output's own sections decide the first choice.
pub fn parse_output(doc: &Json, verified: Option<Parser>) -> Option<(Parser, SmartData)> {
    let first = verified.unwrap_or_else(|| Parser::detect(doc));
    std::iter::once(first)
        .chain(Parser::ALL.into_iter().filter(|p| *p != first))
        .find_map(|p| p.parse(doc).map(|data| (p, data)))
}

/// Hypervisor and iSCSI disks report meaningless SMART data.
fn is_virtual(fields: &[&str]) -> bool {
    const MARKERS: [&str; 6] = ["IET", "VIRTUAL", "QEMU", "VBOX", "VMWARE", "MSFT"];
    fields.iter().any(|f| {
        let upper = f.to_ascii_uppercase();
        MARKERS.iter().any(|m| upper.contains(m))
    })
}

/// Every identity field, whichever parser runs: Beszel checks only its own parser's fields, so an
/// ATA "QEMU HARDDISK" slipped through its SCSI fallback (which looks at scsi_* names only).
fn is_virtual_doc(doc: &Json) -> Result<bool, Mismatch> {
    let fields = [
        doc.text("model_name")?,
        doc.text("scsi_model_name")?,
        doc.text("scsi_vendor")?,
        doc.text("scsi_product")?,
    ];
    Ok(is_virtual(
        &fields.iter().map(String::as_str).collect::<Vec<_>>(),
    ))
}

fn smart_status(temperature: u8, passed: bool) -> String {
    if passed {
        "PASSED"
    } else if temperature > 0 {
        "FAILED"
    } else {
        "UNKNOWN"
    }
    .to_string()
}

const U8: u64 = u8::MAX as u64;
const U16: u64 = u16::MAX as u64;

/// Fields shared by the three layouts. `Ok(None)`: no serial number.
fn common(doc: &Json, temperature: u8) -> Result<SmartData, Mismatch> {
    let device = doc.object("device")?;
    Ok(SmartData {
        serial_number: doc.text("serial_number")?,
        capacity: doc.object("user_capacity")?.uint("bytes", u64::MAX)?,
        temperature,
        smart_status: smart_status(temperature, doc.object("smart_status")?.boolean("passed")?),
        disk_name: device.text("name")?,
        disk_type: device.text("type")?,
        ..Default::default()
    })
}

fn parse_sata(doc: &Json) -> Result<Option<SmartData>, Mismatch> {
    let temperature = doc.object("temperature")?.uint("current", U8)? as u8;
    // The status is judged on `temperature.current` alone, before the fallback, as Beszel does.
    let mut data = common(doc, temperature)?;
    data.model_name = doc.text("model_name")?;
    data.firmware_version = doc.text("firmware_version")?;
    if data.serial_number.is_empty() || is_virtual_doc(doc)? {
        return Ok(None);
    }
    if data.temperature == 0 {
        if let Some(current) = devstat_temperature(doc) {
            data.temperature = current;
        }
    }
    for row in doc.object("ata_smart_attributes")?.array("table")? {
        let raw = row.object("raw")?;
        let raw_string = raw.text("string")?;
        let raw_value = parse_raw_value(&raw_string).unwrap_or(lenient_raw(raw.get("value")));
        data.attributes.push(SmartAttribute {
            id: row.uint("id", U16)? as u16,
            name: row.text("name")?,
            value: row.uint("value", U16)? as u16,
            worst: row.uint("worst", U16)? as u16,
            threshold: row.uint("thresh", U16)? as u16,
            raw_value,
            raw_string,
            when_failed: row.text("when_failed")?,
        });
    }
    Ok(Some(data))
}

/// Page 5 "Current Temperature" of the ATA device statistics (`-l devstat`), for disks whose
/// `temperature.current` is 0 (spec v0.18 §5.1). As Beszel: the section is read whole (any entry
/// of the wrong shape and there is no fallback, but the disk is still reported), the first entry
/// of that name decides, and a value outside 0–255 gives none.
pub fn devstat_temperature(doc: &Json) -> Option<u8> {
    let pages = doc
        .object("ata_device_statistics")
        .ok()?
        .array("pages")
        .ok()?;
    let mut current: Option<Option<i64>> = None;
    for page in pages {
        let number = page.uint("number", U8).ok()?;
        for entry in page.array("table").ok()? {
            let name = entry.text("name").ok()?;
            let value = match entry.has("value") {
                true => Some(entry.int("value").ok()?),
                false => None,
            };
            if current.is_none() && number == 5 && name.eq_ignore_ascii_case("Current Temperature")
            {
                current = Some(value);
            }
        }
    }
    current.flatten().and_then(|v| u8::try_from(v).ok())
}

fn parse_nvme(doc: &Json) -> Result<Option<SmartData>, Mismatch> {
    let log = doc.object("nvme_smart_health_information_log")?;
    // An int64 in Beszel's struct, narrowed to uint8 as Go converts (wrapping).
    let temperature = log.int("temperature")? as u8;
    let mut data = common(doc, temperature)?;
    data.model_name = doc.text("model_name")?;
    data.firmware_version = doc.text("firmware_version")?;
    if data.serial_number.is_empty() || is_virtual_doc(doc)? {
        return Ok(None);
    }
    let fields: [(&str, &str); 17] = [
        ("CriticalWarning", "critical_warning"),
        ("Temperature", "temperature"),
        ("AvailableSpare", "available_spare"),
        ("AvailableSpareThreshold", "available_spare_threshold"),
        ("PercentageUsed", "percentage_used"),
        ("DataUnitsRead", "data_units_read"),
        ("DataUnitsWritten", "data_units_written"),
        ("HostReads", "host_reads"),
        ("HostWrites", "host_writes"),
        ("ControllerBusyTime", "controller_busy_time"),
        ("PowerCycles", "power_cycles"),
        ("PowerOnHours", "power_on_hours"),
        ("UnsafeShutdowns", "unsafe_shutdowns"),
        ("MediaErrors", "media_errors"),
        ("NumErrLogEntries", "num_err_log_entries"),
        ("WarningTempTime", "warning_temp_time"),
        ("CriticalCompTime", "critical_comp_time"),
    ];
    for (name, key) in fields {
        let raw = if key == "temperature" {
            u64::from(temperature)
        } else {
            log.uint(key, u64::MAX)?
        };
        data.attributes.push(SmartAttribute::named(name, raw));
    }
    Ok(Some(data))
}

fn parse_scsi(doc: &Json) -> Result<Option<SmartData>, Mismatch> {
    let temperature = doc.object("temperature")?.uint("current", U8)? as u8;
    let mut data = common(doc, temperature)?;
    data.model_name = doc.text("scsi_model_name")?;
    data.firmware_version = doc.text("scsi_revision")?;
    if data.serial_number.is_empty() || is_virtual_doc(doc)? {
        return Ok(None);
    }
    let power_on = doc.object("power_on_time")?;
    let cycles = doc.object("scsi_start_stop_cycle_counter")?;
    let attrs = &mut data.attributes;
    attrs.push(SmartAttribute::named(
        "PowerOnHours",
        power_on.uint("hours", u64::MAX)?,
    ));
    attrs.push(SmartAttribute::named(
        "PowerOnMinutes",
        power_on.uint("minutes", u64::MAX)?,
    ));
    attrs.push(SmartAttribute::named(
        "GrownDefectList",
        doc.uint("scsi_grown_defect_list", u64::MAX)?,
    ));
    for (name, key) in [
        ("StartStopCycles", "accumulated_start_stop_cycles"),
        ("LoadUnloadCycles", "accumulated_load_unload_cycles"),
        (
            "StartStopSpecified",
            "specified_cycle_count_over_device_lifetime",
        ),
        (
            "LoadUnloadSpecified",
            "specified_load_unload_count_over_device_lifetime",
        ),
    ] {
        attrs.push(SmartAttribute::named(name, cycles.uint(key, u64::MAX)?));
    }
    let log = doc.object("scsi_error_counter_log")?;
    for (prefix, key) in [("Read", "read"), ("Write", "write"), ("Verify", "verify")] {
        let stats = log.object(key)?;
        for (suffix, field) in [
            ("TotalErrorsCorrected", "total_errors_corrected"),
            ("TotalUncorrectedErrors", "total_uncorrected_errors"),
            (
                "CorrectionAlgorithmInvocations",
                "correction_algorithm_invocations",
            ),
        ] {
            attrs.push(SmartAttribute::named(
                &format!("{prefix}{suffix}"),
                stats.uint(field, u64::MAX)?,
            ));
        }
        if let Some(gb) = gigabytes_processed(&stats.text("gigabytes_processed")?) {
            attrs.push(SmartAttribute::named(
                &format!("{prefix}GigabytesProcessed"),
                gb,
            ));
        }
    }
    Ok(Some(data))
}

/// smartctl prints SCSI gigabytes with a locale separator ("2124,590"); Beszel drops every comma
/// and keeps the integer, so that is what the hub expects. Absent or unparsable: no attribute.
pub fn gigabytes_processed(text: &str) -> Option<u64> {
    let digits: String = text.chars().filter(|&c| c != ',').collect();
    digits
        .parse::<i64>()
        .ok()
        .and_then(|v| u64::try_from(v).ok())
}

/// `raw.value` as Beszel's lenient SmartRawValue reads it: a number, or a string parsed like
/// `raw.string`; anything else is 0.
fn lenient_raw(value: Option<&Json>) -> u64 {
    match value {
        Some(Json::Number(n)) => parse_go_uint(n).or_else(|| parse_raw_value(n)).unwrap_or(0),
        Some(Json::Text(t)) => parse_raw_value(t).unwrap_or(0),
        _ => 0,
    }
}

/// smartctl's raw strings carry annotations: "7344 (253d 8h)", "62312h+33m+50.907s",
/// "39925 (212 206 0)". Tried in order: a whole unsigned integer, the hours before an `h`, the
/// first run of digits.
pub fn parse_raw_value(text: &str) -> Option<u64> {
    let value = text.trim();
    if value.is_empty() {
        return None;
    }
    if let Some(v) = parse_go_uint(value) {
        return Some(v);
    }
    if let Some(idx) = value.find('h').filter(|&i| i > 0) {
        let hours = value.get(..idx).unwrap_or("").trim();
        if let Some(h) = parse_go_float(hours) {
            // Go's float→uint conversion truncates; out of range saturates here.
            return Some(h as u64);
        }
    }
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes.get(i).is_some_and(u8::is_ascii_digit) {
            let end = bytes
                .iter()
                .skip(i)
                .position(|b| !b.is_ascii_digit())
                .map_or(bytes.len(), |n| i + n);
            if let Some(v) = value.get(i..end).and_then(|d| d.parse::<u64>().ok()) {
                return Some(v);
            }
            i = end;
        }
        i += 1;
    }
    None
}

/// Close enough to Go's `ParseFloat` for hour counts: plain decimals and exponents, no words
/// Rust accepts but Go spells differently.
fn parse_go_float(s: &str) -> Option<f64> {
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '+' | '-' | 'e' | 'E'))
    {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Parses one smartctl output; None when it is not JSON.
pub fn parse_document(output: &str) -> Option<Json> {
    Json::parse(output)
}

/// `smartctl.exit_status` of an output, when present.
pub fn exit_status(doc: &Json) -> Option<i64> {
    doc.object("smartctl").ok()?.int("exit_status").ok()
}

/// Devices of a `smartctl --scan -j` / `--scan-open -j` output: (name, type).
pub fn parse_scan(output: &str) -> Option<Vec<(String, String)>> {
    let doc = Json::parse(output)?;
    let devices = doc.array("devices").ok()?;
    let list: Vec<(String, String)> = devices
        .iter()
        .filter_map(|d| Some((d.text("name").ok()?, d.text("type").ok()?)))
        .filter(|(name, _)| !name.is_empty())
        .collect();
    if list.is_empty() {
        None
    } else {
        Some(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_value_annotations() {
        assert_eq!(parse_raw_value("7344"), Some(7344));
        assert_eq!(parse_raw_value("62312h+33m+50.907s"), Some(62312));
        assert_eq!(parse_raw_value("0h+0m+0.000s"), Some(0));
        assert_eq!(parse_raw_value("39925 (212 206 0)"), Some(39925));
        assert_eq!(parse_raw_value("7344 (253d 8h)"), Some(7344));
        assert_eq!(parse_raw_value("0x1F"), Some(31));
        assert_eq!(parse_raw_value("010"), Some(8));
        assert_eq!(parse_raw_value("31 (Min/Max 20/45)"), Some(31));
        assert_eq!(parse_raw_value(""), None);
        assert_eq!(parse_raw_value("n/a"), None);
    }

    #[test]
    fn scsi_gigabytes_commas_stripped() {
        assert_eq!(gigabytes_processed("2124,590"), Some(2_124_590));
        assert_eq!(gigabytes_processed("3,641"), Some(3641));
        assert_eq!(gigabytes_processed("0,000"), Some(0));
        assert_eq!(gigabytes_processed(""), None);
        assert_eq!(gigabytes_processed("1.5"), None);
    }

    #[test]
    fn virtual_markers() {
        assert!(is_virtual(&["QEMU HARDDISK"]));
        assert!(is_virtual(&["", "Virtual disk"]));
        assert!(is_virtual(&["msft"]));
        assert!(!is_virtual(&["Samsung SSD 980"]));
    }
}
