//! What a payload field is on the wire: how a Rust value becomes a `Value` (`Encode`), how its
//! type is described to other languages (`Describe`, `Ty`) and Go's omission rules (`Omit`).
//! The `payload!` tables of `model` tie them together per field.

use crate::value::{Key, MapBuilder, Value};

/// The wire type of a field, rich enough to write the TypeScript type and the hub's decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    Bool,
    UInt,
    Float,
    Text,
    /// A CBOR byte string (Go byte arrays and `Uint8Slice`), a number array in JSON;
    /// `Some(n)`: a fixed-size `[n]uint8`.
    Bytes(Option<usize>),
    /// A fixed-size array (Go `[N]T`).
    Tuple(Box<Ty>, usize),
    /// A slice (Go `[]T`).
    List(Box<Ty>),
    /// A map keyed by text (Go `map[string]T`).
    Map(Box<Ty>),
    /// Another payload struct, by its Rust name.
    Struct(&'static str),
    /// CBOR null when absent (a nil slice or pointer that is not omitted).
    Nullable(Box<Ty>),
}

impl Ty {
    pub fn list(of: Ty) -> Ty {
        Ty::List(Box::new(of))
    }
}

/// Go's omission rules (spec data-model.md §0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Omit {
    /// No tag: always sent.
    Never,
    /// `omitempty`: dropped when 0, 0.0, false, "", null or an empty list or map.
    Empty,
    /// `omitzero`: a fixed-size array dropped when every element is zero (other values as
    /// `omitempty`).
    Zero,
}

impl Omit {
    /// Adds the field to the map unless the rule drops it.
    pub fn put(self, map: MapBuilder, key: u64, name: &'static str, value: Value) -> MapBuilder {
        let dropped = match self {
            Omit::Never => false,
            Omit::Empty => value.is_empty(),
            Omit::Zero => value.is_zero_array(),
        };
        if dropped {
            map
        } else {
            map.field(key, name, value)
        }
    }
}

/// Every float of a payload is a magnitude — a %, GiB, MiB/s, W, a load average, a temperature
/// (sensors keep only readings in (0, 200) °C) — so one the hub would choke on or chart as
/// nonsense (NaN, ±Infinity, a negative) goes out as 0. The sources reject such readings
/// themselves and warn, naming the file; this is the net under all of them, applied before the
/// omission rules so a dropped value is omitted like any 0.
pub fn payload_float(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 {
        v
    } else {
        0.0
    }
}

fn payload_floats(values: &[f64]) -> Value {
    Value::Array(
        values
            .iter()
            .map(|&v| Value::Float(payload_float(v)))
            .collect(),
    )
}

/// A Rust field value → its document tree.
pub trait Encode {
    fn encode(&self) -> Value;
}

/// The wire type of a Rust field type. Pre-encoded `Value`s have none: their table entry names
/// the type (`=> Ty…`).
pub trait Describe {
    fn describe() -> Ty;
}

macro_rules! scalar {
    ($($t:ty => $ty:ident, |$v:ident| $value:expr;)*) => {$(
        impl Encode for $t {
            fn encode(&self) -> Value {
                let $v = self;
                $value
            }
        }
        impl Describe for $t {
            fn describe() -> Ty {
                Ty::$ty
            }
        }
    )*};
}

scalar! {
    bool => Bool, |v| Value::Bool(*v);
    u8 => UInt, |v| Value::UInt(u64::from(*v));
    u16 => UInt, |v| Value::UInt(u64::from(*v));
    u64 => UInt, |v| Value::UInt(*v);
    f64 => Float, |v| Value::Float(payload_float(*v));
    String => Text, |v| Value::Text(v.clone());
}

impl<const N: usize> Encode for [u64; N] {
    fn encode(&self) -> Value {
        Value::uint_array(self)
    }
}

impl<const N: usize> Describe for [u64; N] {
    fn describe() -> Ty {
        Ty::Tuple(Box::new(Ty::UInt), N)
    }
}

impl<const N: usize> Encode for [u16; N] {
    fn encode(&self) -> Value {
        Value::Array(self.iter().map(|&v| Value::UInt(u64::from(v))).collect())
    }
}

impl<const N: usize> Describe for [u16; N] {
    fn describe() -> Ty {
        Ty::Tuple(Box::new(Ty::UInt), N)
    }
}

impl<const N: usize> Encode for [f64; N] {
    fn encode(&self) -> Value {
        payload_floats(self)
    }
}

impl<const N: usize> Describe for [f64; N] {
    fn describe() -> Ty {
        Ty::Tuple(Box::new(Ty::Float), N)
    }
}

/// Go writes `[N]uint8` as a byte string.
impl<const N: usize> Encode for [u8; N] {
    fn encode(&self) -> Value {
        Value::Bytes(self.to_vec())
    }
}

impl<const N: usize> Describe for [u8; N] {
    fn describe() -> Ty {
        Ty::Bytes(Some(N))
    }
}

/// Go's `Uint8Slice`: a byte string.
impl Encode for Vec<u8> {
    fn encode(&self) -> Value {
        Value::Bytes(self.clone())
    }
}

impl Describe for Vec<u8> {
    fn describe() -> Ty {
        Ty::Bytes(None)
    }
}

impl Encode for Vec<f64> {
    fn encode(&self) -> Value {
        payload_floats(self)
    }
}

impl Describe for Vec<f64> {
    fn describe() -> Ty {
        Ty::list(Ty::Float)
    }
}

/// Items already in tree form; the table names their type.
impl Encode for Vec<Value> {
    fn encode(&self) -> Value {
        Value::Array(self.clone())
    }
}

/// A Go `map[string]T`, in the order collected.
impl<T: Encode> Encode for Vec<(String, T)> {
    fn encode(&self) -> Value {
        Value::Map(
            self.iter()
                .map(|(k, v)| (Key::Text(k.clone()), v.encode()))
                .collect(),
        )
    }
}

impl<T: Describe> Describe for Vec<(String, T)> {
    fn describe() -> Ty {
        Ty::Map(Box::new(T::describe()))
    }
}

/// `None` is a nil slice: CBOR null unless the field's rule omits it.
impl<T: Encode> Encode for Option<T> {
    fn encode(&self) -> Value {
        match self {
            Some(v) => v.encode(),
            None => Value::Null,
        }
    }
}

impl<T: Describe> Describe for Option<T> {
    fn describe() -> Ty {
        Ty::Nullable(Box::new(T::describe()))
    }
}
