//! The payload tables as data: what `npm run gen:model` turns into index.d.ts's payload
//! interfaces and the dev hub's key table (scripts/gen-model.mjs), printed as JSON by
//! `cargo run -p sonar-core --example model_schema`.

use super::wire::{Omit, Ty};
use crate::value::{Key, Value};

/// One payload struct.
#[derive(Debug, Clone, PartialEq)]
pub struct StructSchema {
    /// The Rust name, which `Ty::Struct` refers to.
    pub name: &'static str,
    /// The name of its TypeScript interface in index.d.ts.
    pub ts_name: &'static str,
    pub doc: &'static [&'static str],
    /// Wire fields in key order (fields the wire never carries are left out).
    pub fields: Vec<FieldSchema>,
}

/// One wire field of a payload struct.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSchema {
    pub key: u64,
    /// The JSON name.
    pub name: &'static str,
    pub doc: &'static [&'static str],
    pub omit: Omit,
    pub ty: Ty,
}

impl FieldSchema {
    /// A field that can be absent is never null: the rule that drops it drops null too.
    pub fn new(
        key: u64,
        name: &'static str,
        doc: &'static [&'static str],
        omit: Omit,
        ty: Ty,
    ) -> FieldSchema {
        let ty = match (omit, ty) {
            (Omit::Empty | Omit::Zero, Ty::Nullable(inner)) => *inner,
            (_, ty) => ty,
        };
        FieldSchema {
            key,
            name,
            doc,
            omit,
            ty,
        }
    }
}

/// `/// text` comes as " text": one line per doc line, the space after `///` dropped.
fn doc_text(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

fn entry(name: &str, value: Value) -> (Key, Value) {
    (Key::Text(name.to_string()), value)
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn ty_value(ty: &Ty) -> Value {
    let kind = |k: &str| entry("kind", text(k));
    let of = |t: &Ty| entry("of", ty_value(t));
    let len = |n: usize| entry("len", Value::UInt(n as u64));
    Value::Map(match ty {
        Ty::Bool => vec![kind("bool")],
        Ty::UInt => vec![kind("uint")],
        Ty::Float => vec![kind("float")],
        Ty::Text => vec![kind("text")],
        Ty::Bytes(None) => vec![kind("bytes")],
        Ty::Bytes(Some(n)) => vec![kind("bytes"), len(*n)],
        Ty::Tuple(t, n) => vec![kind("tuple"), len(*n), of(t)],
        Ty::List(t) => vec![kind("list"), of(t)],
        Ty::Map(t) => vec![kind("map"), of(t)],
        Ty::Struct(name) => vec![kind("struct"), entry("name", text(name))],
        Ty::Nullable(t) => vec![kind("nullable"), of(t)],
    })
}

impl FieldSchema {
    fn to_value(&self) -> Value {
        let omit = match self.omit {
            Omit::Never => "never",
            Omit::Empty => "omitempty",
            Omit::Zero => "omitzero",
        };
        Value::Map(vec![
            entry("key", Value::UInt(self.key)),
            entry("name", text(self.name)),
            entry("doc", text(&doc_text(self.doc))),
            entry("omit", text(omit)),
            entry("type", ty_value(&self.ty)),
        ])
    }
}

impl StructSchema {
    fn to_value(&self) -> Value {
        Value::Map(vec![
            entry("name", text(self.name)),
            entry("tsName", text(self.ts_name)),
            entry("doc", text(&doc_text(self.doc))),
            entry(
                "fields",
                Value::Array(self.fields.iter().map(FieldSchema::to_value).collect()),
            ),
        ])
    }
}

/// `{"structs": [...]}`, the structs in the order given.
pub fn to_json(structs: &[StructSchema]) -> String {
    Value::Map(vec![entry(
        "structs",
        Value::Array(structs.iter().map(StructSchema::to_value).collect()),
    )])
    .to_json()
}
