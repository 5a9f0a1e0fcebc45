//! The only unsafe part of the addon: raw Node-API declarations (`sys`) and a small safe layer
//! over them. Handles carry the lifetime `'s` of the Node callback they were created in, so a
//! `JsValue` cannot outlive its handle scope or leave the JS thread (`Env` is neither `Send` nor
//! `Sync`). Every status is checked; a failure is an `Error` the entry point throws or rejects.

mod error;
mod module;
mod sys;
mod work;

use error::guard;
#[cfg(test)]
pub use error::ErrorKind;
pub use error::{JsError, Result};
pub use work::queue_work;

use std::ffi::c_void;
use std::marker::PhantomData;
use std::ptr;

/// The environment of one call from Node into the addon.
#[derive(Clone, Copy)]
pub struct Env<'s> {
    raw: sys::napi_env,
    _scope: PhantomData<&'s ()>,
}

/// A JS value handle, valid within the call that produced it.
#[derive(Clone, Copy)]
pub struct JsValue<'s> {
    raw: sys::napi_value,
    _scope: PhantomData<&'s ()>,
}

impl<'s> JsValue<'s> {
    fn from_raw(raw: sys::napi_value) -> JsValue<'s> {
        JsValue {
            raw,
            _scope: PhantomData,
        }
    }
}

/// `typeof`, as Node-API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Undefined,
    Null,
    Boolean,
    Number,
    String,
    Symbol,
    Object,
    Function,
    External,
    BigInt,
    Unknown,
}

impl ValueType {
    /// The name used in "Received …" messages.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Undefined => "undefined",
            ValueType::Null => "null",
            ValueType::Boolean => "boolean",
            ValueType::Number => "number",
            ValueType::String => "string",
            ValueType::Symbol => "symbol",
            ValueType::Object => "object",
            ValueType::Function => "function",
            ValueType::External => "external",
            ValueType::BigInt => "bigint",
            ValueType::Unknown => "unknown",
        }
    }
}

/// How an exported function reports failure (including a caught panic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Throws a JS exception.
    Sync,
    /// Always returns a promise: failures before the async work starts reject it.
    Promise,
}

/// An exported function's body.
pub type Callback = for<'s> fn(Env<'s>, &Args<'s>) -> Result<JsValue<'s>>;

const MAX_ARGS: usize = 4;

/// The arguments of a call; missing ones read as `undefined`.
pub struct Args<'s> {
    argv: [sys::napi_value; MAX_ARGS],
    undefined: JsValue<'s>,
}

impl<'s> Args<'s> {
    pub fn get(&self, index: usize) -> JsValue<'s> {
        match self.argv.get(index) {
            Some(&raw) if !raw.is_null() => JsValue::from_raw(raw),
            _ => self.undefined,
        }
    }
}

/// How a property of the exports object is visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// An ordinary JS property (writable, enumerable, configurable), so callers and test
    /// frameworks can wrap or mock exports as with any JS module.
    Public,
    /// As `Public`, but not enumerable (test hooks).
    Hidden,
}

pub enum PropertyValue<'s> {
    Value(JsValue<'s>),
    Method(Kind, Callback),
}

pub struct Property<'s> {
    pub name: &'static str,
    pub value: PropertyValue<'s>,
    pub visibility: Visibility,
}

impl<'s> Env<'s> {
    fn from_raw(raw: sys::napi_env) -> Env<'s> {
        Env {
            raw,
            _scope: PhantomData,
        }
    }

    fn make(
        self,
        what: &str,
        f: impl FnOnce(sys::napi_env, *mut sys::napi_value) -> sys::napi_status,
    ) -> Result<JsValue<'s>> {
        let mut raw = ptr::null_mut();
        let status = f(self.raw, &mut raw);
        error::check(self.raw, status, what)?;
        Ok(JsValue::from_raw(raw))
    }

    pub fn undefined(self) -> Result<JsValue<'s>> {
        // SAFETY (all `make` closures below): live env of the current call, valid out-pointer,
        // and input handles from the same scope.
        self.make("napi_get_undefined", |env, out| unsafe {
            sys::napi_get_undefined(env, out)
        })
    }

    pub fn null(self) -> Result<JsValue<'s>> {
        self.make("napi_get_null", |env, out| unsafe {
            sys::napi_get_null(env, out)
        })
    }

    pub fn boolean(self, value: bool) -> Result<JsValue<'s>> {
        self.make("napi_get_boolean", |env, out| unsafe {
            sys::napi_get_boolean(env, value, out)
        })
    }

    pub fn number(self, value: f64) -> Result<JsValue<'s>> {
        self.make("napi_create_double", |env, out| unsafe {
            sys::napi_create_double(env, value, out)
        })
    }

    pub fn string(self, value: &str) -> Result<JsValue<'s>> {
        // An explicit length: no NUL terminator needed, interior NULs are kept.
        self.make("napi_create_string_utf8", |env, out| unsafe {
            sys::napi_create_string_utf8(env, value.as_ptr().cast(), value.len(), out)
        })
    }

    pub fn object(self) -> Result<JsValue<'s>> {
        self.make("napi_create_object", |env, out| unsafe {
            sys::napi_create_object(env, out)
        })
    }

    pub fn array(self, len: usize) -> Result<JsValue<'s>> {
        self.make("napi_create_array_with_length", |env, out| unsafe {
            sys::napi_create_array_with_length(env, len, out)
        })
    }

    /// A Node `Buffer` holding a copy of `bytes`.
    pub fn buffer_copy(self, bytes: &[u8]) -> Result<JsValue<'s>> {
        let mut data: *mut c_void = ptr::null_mut();
        self.make("napi_create_buffer_copy", |env, out| unsafe {
            sys::napi_create_buffer_copy(env, bytes.len(), bytes.as_ptr().cast(), &mut data, out)
        })
    }

    pub fn type_of(self, value: JsValue<'s>) -> Result<ValueType> {
        let mut t: sys::napi_valuetype = sys::napi_undefined;
        // SAFETY: live env, handle of the current scope, valid out-pointer.
        let status = unsafe { sys::napi_typeof(self.raw, value.raw, &mut t) };
        error::check(self.raw, status, "napi_typeof")?;
        Ok(match t {
            sys::napi_undefined => ValueType::Undefined,
            sys::napi_null => ValueType::Null,
            sys::napi_boolean => ValueType::Boolean,
            sys::napi_number => ValueType::Number,
            sys::napi_string => ValueType::String,
            sys::napi_symbol => ValueType::Symbol,
            sys::napi_object => ValueType::Object,
            sys::napi_function => ValueType::Function,
            sys::napi_external => ValueType::External,
            sys::napi_bigint => ValueType::BigInt,
            _ => ValueType::Unknown,
        })
    }

    /// The value of a JS number (fails with a Node-API error for anything else).
    pub fn get_number(self, value: JsValue<'s>) -> Result<f64> {
        let mut n = 0.0;
        // SAFETY: live env, handle of the current scope, valid out-pointer.
        let status = unsafe { sys::napi_get_value_double(self.raw, value.raw, &mut n) };
        error::check(self.raw, status, "napi_get_value_double")?;
        Ok(n)
    }

    /// The contents of a JS string (lone surrogates arrive as U+FFFD).
    pub fn get_string(self, value: JsValue<'s>) -> Result<String> {
        let mut len = 0usize;
        // SAFETY: a null buffer asks for the UTF-8 length only.
        let status = unsafe {
            sys::napi_get_value_string_utf8(self.raw, value.raw, ptr::null_mut(), 0, &mut len)
        };
        error::check(self.raw, status, "napi_get_value_string_utf8")?;
        let mut buf = vec![0u8; len + 1];
        let mut written = 0usize;
        // SAFETY: `buf` has room for `len` bytes plus the NUL Node always writes.
        let status = unsafe {
            sys::napi_get_value_string_utf8(
                self.raw,
                value.raw,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut written,
            )
        };
        error::check(self.raw, status, "napi_get_value_string_utf8")?;
        buf.truncate(written.min(len));
        Ok(String::from_utf8(buf)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    /// `object[key]` (runs getters and proxies; a throwing one gives `Error::Pending`).
    pub fn get_property(self, object: JsValue<'s>, key: &str) -> Result<JsValue<'s>> {
        let key = self.string(key)?;
        self.make("napi_get_property", |env, out| unsafe {
            sys::napi_get_property(env, object.raw, key.raw, out)
        })
    }

    /// The value of a JS boolean (fails with a Node-API error for anything else).
    pub fn get_bool(self, value: JsValue<'s>) -> Result<bool> {
        let mut b = false;
        // SAFETY: live env, handle of the current scope, valid out-pointer.
        let status = unsafe { sys::napi_get_value_bool(self.raw, value.raw, &mut b) };
        error::check(self.raw, status, "napi_get_value_bool")?;
        Ok(b)
    }

    /// `Array.isArray(value)`.
    pub fn is_array(self, value: JsValue<'s>) -> Result<bool> {
        let mut b = false;
        // SAFETY: live env, handle of the current scope, valid out-pointer.
        let status = unsafe { sys::napi_is_array(self.raw, value.raw, &mut b) };
        error::check(self.raw, status, "napi_is_array")?;
        Ok(b)
    }

    /// A copy of the bytes of a Uint8Array (a Buffer is one); None for any other value.
    pub fn get_bytes(self, value: JsValue<'s>) -> Result<Option<Vec<u8>>> {
        let mut is_typed = false;
        // SAFETY: live env, handle of the current scope, valid out-pointer.
        let status = unsafe { sys::napi_is_typedarray(self.raw, value.raw, &mut is_typed) };
        error::check(self.raw, status, "napi_is_typedarray")?;
        if !is_typed {
            return Ok(None);
        }
        let mut kind: sys::napi_typedarray_type = -1;
        let mut len = 0usize;
        let mut data: *mut c_void = ptr::null_mut();
        // SAFETY: `value` is a typed array; the optional out-pointers may be null.
        let status = unsafe {
            sys::napi_get_typedarray_info(
                self.raw,
                value.raw,
                &mut kind,
                &mut len,
                &mut data,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        error::check(self.raw, status, "napi_get_typedarray_info")?;
        if kind != sys::napi_uint8_array {
            return Ok(None);
        }
        if len == 0 || data.is_null() {
            return Ok(Some(Vec::new()));
        }
        // SAFETY: Node reports `len` bytes at `data` (the view's start), alive for this call;
        // they are copied before anything can run JS and move or detach the buffer.
        Ok(Some(unsafe {
            std::slice::from_raw_parts(data.cast::<u8>(), len).to_vec()
        }))
    }

    /// `array.length` of a JS array.
    pub fn array_length(self, array: JsValue<'s>) -> Result<u32> {
        let mut len = 0u32;
        // SAFETY: live env, handle of the current scope, valid out-pointer.
        let status = unsafe { sys::napi_get_array_length(self.raw, array.raw, &mut len) };
        error::check(self.raw, status, "napi_get_array_length")?;
        Ok(len)
    }

    /// `array[index]` (runs getters and proxies, as `get_property` does).
    pub fn get_element(self, array: JsValue<'s>, index: u32) -> Result<JsValue<'s>> {
        self.make("napi_get_element", |env, out| unsafe {
            sys::napi_get_element(env, array.raw, index, out)
        })
    }

    pub fn set_element(self, array: JsValue<'s>, index: u32, value: JsValue<'s>) -> Result<()> {
        // SAFETY: live env, handles of the current scope.
        let status = unsafe { sys::napi_set_element(self.raw, array.raw, index, value.raw) };
        error::check(self.raw, status, "napi_set_element")
    }

    /// A plain object with these own, enumerable data properties. Keys are defined, not assigned,
    /// so a key such as `__proto__` stays an ordinary property.
    pub fn object_from_entries(
        self,
        entries: &[(JsValue<'s>, JsValue<'s>)],
    ) -> Result<JsValue<'s>> {
        let object = self.object()?;
        let descriptors: Vec<sys::napi_property_descriptor> = entries
            .iter()
            .map(|(key, value)| data_descriptor(key.raw, value.raw, JS_PROPERTY))
            .collect();
        self.define(object, &descriptors)?;
        Ok(object)
    }

    /// Defines the addon's exports.
    pub fn define_properties(self, object: JsValue<'s>, properties: &[Property<'s>]) -> Result<()> {
        let mut descriptors = Vec::with_capacity(properties.len());
        for p in properties {
            let name = self.string(p.name)?;
            let attributes = match p.visibility {
                Visibility::Public => JS_PROPERTY,
                Visibility::Hidden => sys::napi_writable | sys::napi_configurable,
            };
            descriptors.push(match p.value {
                PropertyValue::Value(v) => data_descriptor(name.raw, v.raw, attributes),
                PropertyValue::Method(kind, callback) => sys::napi_property_descriptor {
                    utf8name: ptr::null(),
                    name: name.raw,
                    method: Some(match kind {
                        Kind::Sync => sync_trampoline,
                        Kind::Promise => promise_trampoline,
                    }),
                    getter: None,
                    setter: None,
                    value: ptr::null_mut(),
                    attributes,
                    // A plain fn pointer travels as the callback's data pointer: nothing to free.
                    data: callback as *mut c_void,
                },
            });
        }
        self.define(object, &descriptors)
    }

    fn define(
        self,
        object: JsValue<'s>,
        descriptors: &[sys::napi_property_descriptor],
    ) -> Result<()> {
        // SAFETY: live env; every descriptor holds handles of the current scope or a trampoline
        // with a `Callback` as its data.
        let status = unsafe {
            sys::napi_define_properties(
                self.raw,
                object.raw,
                descriptors.len(),
                descriptors.as_ptr(),
            )
        };
        error::check(self.raw, status, "napi_define_properties")
    }
}

const JS_PROPERTY: sys::napi_property_attributes =
    sys::napi_writable | sys::napi_enumerable | sys::napi_configurable;

fn data_descriptor(
    name: sys::napi_value,
    value: sys::napi_value,
    attributes: sys::napi_property_attributes,
) -> sys::napi_property_descriptor {
    sys::napi_property_descriptor {
        utf8name: ptr::null(),
        name,
        method: None,
        getter: None,
        setter: None,
        value,
        attributes,
        data: ptr::null_mut(),
    }
}

/// Reads the arguments and the `Callback` a trampoline was created with.
fn call_info<'s>(env: Env<'s>, info: sys::napi_callback_info) -> Result<(Callback, Args<'s>)> {
    let mut argc = MAX_ARGS;
    let mut argv = [ptr::null_mut(); MAX_ARGS];
    let mut data: *mut c_void = ptr::null_mut();
    // SAFETY: live env and callback info of the current call; `argv` has room for `argc` values.
    let status = unsafe {
        sys::napi_get_cb_info(
            env.raw,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            &mut data,
        )
    };
    error::check(env.raw, status, "napi_get_cb_info")?;
    if data.is_null() {
        return Err(JsError::error(error::ERR_NAPI, "function created without a callback").into());
    }
    // SAFETY: `define_properties` stored exactly a `Callback` fn pointer in `data`; data and
    // function pointers have the same size on every target Node runs on.
    let callback = unsafe { std::mem::transmute::<*mut c_void, Callback>(data) };
    let undefined = env.undefined()?;
    Ok((callback, Args { argv, undefined }))
}

unsafe extern "C" fn sync_trampoline(
    raw_env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let env = Env::from_raw(raw_env);
    let result = guard(|| {
        let (callback, args) = call_info(env, info)?;
        callback(env, &args)
    });
    match result {
        Ok(value) => value.raw,
        Err(err) => {
            // Even the fallback must not unwind into Node.
            let _ = guard(|| {
                env.throw(&err);
                Ok(())
            });
            ptr::null_mut()
        }
    }
}

unsafe extern "C" fn promise_trampoline(
    raw_env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let env = Env::from_raw(raw_env);
    let result = guard(|| {
        let (callback, args) = call_info(env, info)?;
        callback(env, &args)
    });
    let settled = match result {
        Ok(value) => Ok(value),
        Err(err) => guard(|| work::rejected_promise(env, &err)),
    };
    match settled {
        Ok(value) => value.raw,
        Err(err) => {
            // Could not even build a rejected promise: throwing is all that is left.
            let _ = guard(|| {
                env.throw(&err);
                Ok(())
            });
            ptr::null_mut()
        }
    }
}

impl<'s> Property<'s> {
    pub fn value(name: &'static str, value: JsValue<'s>) -> Property<'s> {
        Property {
            name,
            value: PropertyValue::Value(value),
            visibility: Visibility::Public,
        }
    }

    pub fn method(name: &'static str, kind: Kind, callback: Callback) -> Property<'s> {
        Property {
            name,
            value: PropertyValue::Method(kind, callback),
            visibility: Visibility::Public,
        }
    }

    pub fn hidden(self) -> Property<'s> {
        Property {
            visibility: Visibility::Hidden,
            ..self
        }
    }
}
