//! `payload!`: one table per payload struct. Each line declares a field once: its Rust name and
//! type, then (for fields the wire carries) its CBOR key, its JSON name, its Go omission rule
//! (none, `omitempty` or `omitzero`) and, for pre-encoded `Value`s only, its wire type:
//!
//! ```text
//! pub read_bytes: u64 = 6 "rb" omitempty,
//! pub services: Option<Vec<Value>> = 3 "systemd" omitempty => Ty::list(Ty::Struct("Service")),
//! pub temperature: f64,               // not on the wire
//! ```
//!
//! From it come the struct, `to_value` (the encoder, fields in table order) and `schema()` (what
//! scripts/gen-model.mjs writes index.d.ts and the dev hub's table from). Doc comments of the
//! struct and its fields travel into index.d.ts.

macro_rules! payload {
    (
        $(#[doc = $doc:literal])*
        pub struct $name:ident => $ts_name:literal {
            $(
                $(#[doc = $fdoc:literal])*
                pub $field:ident : $t:ty
                $( = $key:literal $json:literal $($rule:ident)? $(=> $ty:expr)? )?
            ),* $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $name {
            $( $(#[doc = $fdoc])* pub $field: $t, )*
        }

        impl $name {
            /// The document tree: CBOR keys for the wire, JSON names for snapshots.
            pub fn to_value(&self) -> $crate::value::Value {
                #[allow(unused_mut)]
                let mut map = $crate::value::MapBuilder::new();
                $( $crate::model::declare::encode_field!(
                    map, self, $field $(, $key, $json, [$($rule)?])?
                ); )*
                map.build()
            }

            /// Its table as data (see `model::schema`).
            pub fn schema() -> $crate::model::schema::StructSchema {
                let fields: Vec<Option<$crate::model::schema::FieldSchema>> = vec![$(
                    $crate::model::declare::describe_field!(
                        [$($fdoc),*], $t $(, $key, $json, [$($rule)?], [$($ty)?])?
                    ),
                )*];
                $crate::model::schema::StructSchema {
                    name: stringify!($name),
                    ts_name: $ts_name,
                    doc: &[$($doc),*],
                    fields: fields.into_iter().flatten().collect(),
                }
            }
        }

        impl $crate::model::wire::Encode for $name {
            fn encode(&self) -> $crate::value::Value {
                self.to_value()
            }
        }

        impl $crate::model::wire::Describe for $name {
            fn describe() -> $crate::model::wire::Ty {
                $crate::model::wire::Ty::Struct(stringify!($name))
            }
        }

        impl $crate::model::wire::Encode for Vec<$name> {
            fn encode(&self) -> $crate::value::Value {
                $crate::value::Value::Array(self.iter().map($name::to_value).collect())
            }
        }

        impl $crate::model::wire::Describe for Vec<$name> {
            fn describe() -> $crate::model::wire::Ty {
                $crate::model::wire::Ty::list($crate::model::wire::Ty::Struct(stringify!($name)))
            }
        }
    };
}

/// The rule word of a table line → `Omit`; an unknown word does not compile.
macro_rules! omit_rule {
    () => {
        $crate::model::wire::Omit::Never
    };
    (omitempty) => {
        $crate::model::wire::Omit::Empty
    };
    (omitzero) => {
        $crate::model::wire::Omit::Zero
    };
}

/// A table line → `map` with the field added unless its rule drops it.
macro_rules! encode_field {
    ($map:ident, $self:ident, $field:ident) => {};
    ($map:ident, $self:ident, $field:ident, $key:literal, $json:literal, [$($rule:ident)?]) => {
        $map = $crate::model::declare::omit_rule!($($rule)?).put(
            $map,
            $key,
            $json,
            $crate::model::wire::Encode::encode(&$self.$field),
        );
    };
}

/// A table line → its `FieldSchema`; `None` for a field the wire does not carry.
macro_rules! describe_field {
    ([$($doc:literal),*], $t:ty) => {
        None
    };
    ([$($doc:literal),*], $t:ty, $key:literal, $json:literal, [$($rule:ident)?], []) => {
        $crate::model::declare::describe_field!(
            [$($doc),*], $t, $key, $json, [$($rule)?],
            [<$t as $crate::model::wire::Describe>::describe()]
        )
    };
    ([$($doc:literal),*], $t:ty, $key:literal, $json:literal, [$($rule:ident)?], [$ty:expr]) => {
        Some($crate::model::schema::FieldSchema::new(
            $key,
            $json,
            &[$($doc),*],
            $crate::model::declare::omit_rule!($($rule)?),
            $ty,
        ))
    };
}

pub(crate) use {describe_field, encode_field, omit_rule, payload};
