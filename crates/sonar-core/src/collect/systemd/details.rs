//! GetSystemdInfo (spec §1.9): every property of the unit's org.freedesktop.systemd1.Unit
//! interface plus a few Service properties, as a text-keyed map; UINT64_MAX ("unlimited"/"not
//! set") becomes null, as the Go agent sends it.

use super::bus::{BusError, SystemBus, SERVICE_IFACE, UNIT_IFACE};
use crate::value::{Key, Value};
use std::time::Duration;
use zbus::zvariant::Value as DBusValue;

/// The Service-interface properties the hub's detail view shows besides the Unit ones.
pub const SERVICE_PROPERTIES: &[&str] = &[
    "MainPID",
    "ExecMainPID",
    "TasksCurrent",
    "TasksMax",
    "MemoryCurrent",
    "MemoryPeak",
    "MemoryLimit",
    "CPUUsageNSec",
    "NRestarts",
    "ExecMainStartTimestampRealtime",
    "Result",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DetailsError {
    /// Empty or not a unit name systemd could have.
    InvalidName(String),
    Bus(BusError),
}

impl std::fmt::Display for DetailsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DetailsError::InvalidName(m) => f.write_str(m),
            DetailsError::Bus(e) => write!(f, "{e}"),
        }
    }
}

/// "nginx" → "nginx.service"; rejects what cannot be a unit name (so nothing odd reaches the bus).
pub fn unit_name(requested: &str) -> Result<String, DetailsError> {
    let name = requested.trim();
    if name.is_empty() {
        return Err(DetailsError::InvalidName("service name is required".into()));
    }
    let full = if name.ends_with(".service") {
        name.to_string()
    } else {
        format!("{name}.service")
    };
    // systemd: at most 255 bytes of ASCII letters, digits and ":-_.\@".
    let valid = full.len() <= 255
        && full
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":-_.\\@".contains(&b))
        && !full.starts_with('.');
    if !valid {
        return Err(DetailsError::InvalidName(format!(
            "invalid service name {requested:?}: systemd unit names use letters, digits and :-_.\\@"
        )));
    }
    Ok(full)
}

/// Reads the unit's properties from systemd; the whole exchange ends within `deadline`.
pub fn service_details(
    address: Option<&str>,
    requested: &str,
    deadline: Duration,
) -> Result<Value, DetailsError> {
    let unit = unit_name(requested)?;
    let bus = SystemBus::connect(address, deadline).map_err(DetailsError::Bus)?;
    let path = bus.unit_path(&unit).map_err(DetailsError::Bus)?;
    let mut entries: Vec<(String, Value)> = bus
        .get_all(&path, UNIT_IFACE)
        .map_err(DetailsError::Bus)?
        .into_iter()
        .map(|(k, v)| (k, convert(&v)))
        .collect();
    // A unit without a Service interface (not-found, or not a service) still answers its Unit
    // part; a cut connection or a timeout is an error, not a partial answer.
    match bus.get_all(&path, SERVICE_IFACE) {
        Ok(service) => {
            for name in SERVICE_PROPERTIES {
                if let Some(v) = service.get(*name) {
                    entries.push(((*name).to_string(), convert(v)));
                }
            }
        }
        Err(BusError::Method { .. }) => {}
        Err(e) => return Err(DetailsError::Bus(e)),
    }
    // Stable order makes answers comparable (Go's map order is random; hubs do not care).
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Key::Text(k), v))
            .collect(),
    ))
}

/// D-Bus value → payload value, the way godbus values reach Go's CBOR encoder: integers stay
/// integers, `ay` becomes a byte string, structs become arrays, UINT64_MAX becomes null.
pub fn convert(value: &DBusValue<'_>) -> Value {
    match value {
        DBusValue::U8(v) => Value::UInt(u64::from(*v)),
        DBusValue::Bool(v) => Value::Bool(*v),
        DBusValue::I16(v) => Value::Int(i64::from(*v)),
        DBusValue::U16(v) => Value::UInt(u64::from(*v)),
        DBusValue::I32(v) => Value::Int(i64::from(*v)),
        DBusValue::U32(v) => Value::UInt(u64::from(*v)),
        DBusValue::I64(v) => Value::Int(*v),
        DBusValue::U64(v) if *v == u64::MAX => Value::Null,
        DBusValue::U64(v) => Value::UInt(*v),
        DBusValue::F64(v) => Value::Float(*v),
        DBusValue::Str(s) => Value::Text(s.as_str().to_string()),
        DBusValue::Signature(s) => Value::Text(s.as_str().to_string()),
        DBusValue::ObjectPath(p) => Value::Text(p.as_str().to_string()),
        DBusValue::Value(inner) => convert(inner),
        DBusValue::Array(items) => {
            if items.element_signature().as_str() == "y" {
                Value::Bytes(
                    items
                        .get()
                        .iter()
                        .filter_map(|v| match v {
                            DBusValue::U8(b) => Some(*b),
                            _ => None,
                        })
                        .collect(),
                )
            } else {
                Value::Array(items.get().iter().map(convert).collect())
            }
        }
        DBusValue::Structure(s) => Value::Array(s.fields().iter().map(convert).collect()),
        // No Unit property of systemd 252–257 is a dictionary or a file descriptor.
        DBusValue::Dict(_) | DBusValue::Fd(_) => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zbus::zvariant::{Array, StructureBuilder};

    #[test]
    fn service_suffix_and_validation() {
        assert_eq!(unit_name("nginx").unwrap(), "nginx.service");
        assert_eq!(unit_name(" nginx.service ").unwrap(), "nginx.service");
        assert_eq!(unit_name("getty@tty1").unwrap(), "getty@tty1.service");
        assert_eq!(
            unit_name(r"dev-disk-by\x2duuid").unwrap(),
            r"dev-disk-by\x2duuid.service"
        );
        assert!(
            matches!(unit_name(""), Err(DetailsError::InvalidName(m)) if m == "service name is required")
        );
        for bad in ["a b", "../x", "x;rm", "é", ".hidden"] {
            assert!(unit_name(bad).is_err(), "{bad}");
        }
        assert!(unit_name(&"a".repeat(300)).is_err());
    }

    #[test]
    fn values_as_go_sends_them() {
        assert_eq!(convert(&DBusValue::U64(u64::MAX)), Value::Null);
        assert_eq!(convert(&DBusValue::U64(7)), Value::UInt(7));
        assert_eq!(convert(&DBusValue::I32(-3)), Value::Int(-3));
        let bytes = Array::from(vec![1u8, 2, 3]);
        assert_eq!(
            convert(&DBusValue::Array(bytes)),
            Value::Bytes(vec![1, 2, 3])
        );
        let names = Array::from(vec!["a.service", "b.target"]);
        assert_eq!(
            convert(&DBusValue::Array(names)),
            Value::Array(vec![
                Value::Text("a.service".into()),
                Value::Text("b.target".into())
            ])
        );
        let s = StructureBuilder::new()
            .add_field("ConditionPathExists")
            .add_field(false)
            .add_field(u64::MAX)
            .build();
        assert_eq!(
            convert(&DBusValue::Structure(s)),
            Value::Array(vec![
                Value::Text("ConditionPathExists".into()),
                Value::Bool(false),
                Value::Null
            ])
        );
    }
}
