//! Hand-written declarations of the Node-API functions this addon uses, transcribed from Node 20's
//! js_native_api.h, js_native_api_types.h, node_api.h and node_api_types.h.
//!
//! How they reach the host differs by platform, from the one list below (`napi_functions!`):
//! - Unix: the symbols are left undefined in the shared object and resolve against the node
//!   executable when it dlopens us.
//! - Windows: a DLL cannot leave imports undefined, and an import library names one executable
//!   (`node.exe`): renamed hosts (nvm, volta and scoop shims, a service wrapper's copy) would fail
//!   to load us. So each function is looked up at first use in the running executable itself
//!   (GetModuleHandleW(NULL) + GetProcAddress), whatever its file name.
#![allow(non_camel_case_types, non_upper_case_globals)]

use std::ffi::{c_char, c_int, c_void};

macro_rules! opaque {
    ($($handle:ident => $target:ident),* $(,)?) => {
        $(
            #[repr(C)]
            pub struct $target {
                _private: [u8; 0],
            }
            pub type $handle = *mut $target;
        )*
    };
}

opaque! {
    napi_env => napi_env__,
    napi_value => napi_value__,
    napi_callback_info => napi_callback_info__,
    napi_deferred => napi_deferred__,
    napi_async_work => napi_async_work__,
}

/// C enums are `int`-sized; kept as plain integers so an unknown value from a newer Node can never
/// become an invalid Rust enum.
pub type napi_status = c_int;
pub type napi_valuetype = c_int;
pub type napi_property_attributes = c_int;
pub type napi_typedarray_type = c_int;

// napi_status
pub const napi_ok: napi_status = 0;
pub const napi_pending_exception: napi_status = 10;
#[cfg(windows)] // what a Windows host lacking a function answers (see `napi_functions!`)
pub const napi_generic_failure: napi_status = 9;
pub const napi_cancelled: napi_status = 11;

// napi_valuetype
pub const napi_undefined: napi_valuetype = 0;
pub const napi_null: napi_valuetype = 1;
pub const napi_boolean: napi_valuetype = 2;
pub const napi_number: napi_valuetype = 3;
pub const napi_string: napi_valuetype = 4;
pub const napi_symbol: napi_valuetype = 5;
pub const napi_object: napi_valuetype = 6;
pub const napi_function: napi_valuetype = 7;
pub const napi_external: napi_valuetype = 8;
pub const napi_bigint: napi_valuetype = 9;

// napi_typedarray_type (a Buffer is a Uint8Array)
pub const napi_uint8_array: napi_typedarray_type = 1;

// napi_property_attributes
pub const napi_writable: napi_property_attributes = 1;
pub const napi_enumerable: napi_property_attributes = 1 << 1;
pub const napi_configurable: napi_property_attributes = 1 << 2;

pub type napi_callback =
    Option<unsafe extern "C" fn(env: napi_env, info: napi_callback_info) -> napi_value>;
pub type napi_async_execute_callback =
    Option<unsafe extern "C" fn(env: napi_env, data: *mut c_void)>;
pub type napi_async_complete_callback =
    Option<unsafe extern "C" fn(env: napi_env, status: napi_status, data: *mut c_void)>;

#[repr(C)]
pub struct napi_property_descriptor {
    pub utf8name: *const c_char,
    pub name: napi_value,
    pub method: napi_callback,
    pub getter: napi_callback,
    pub setter: napi_callback,
    pub value: napi_value,
    pub attributes: napi_property_attributes,
    pub data: *mut c_void,
}

#[repr(C)]
pub struct napi_extended_error_info {
    pub error_message: *const c_char,
    pub engine_reserved: *mut c_void,
    pub engine_error_code: u32,
    pub error_code: napi_status,
}

/// Declares the Node-API functions: an `extern` block on Unix, load-time lookups on Windows.
/// Every Node-API function returns a `napi_status`; a Windows host without one of them answers
/// `napi_generic_failure`, which the callers already turn into a JavaScript error.
macro_rules! napi_functions {
    ($(pub fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> napi_status;)*) => {
        #[cfg(not(windows))]
        extern "C" {
            $(pub fn $name($($arg: $ty),*) -> napi_status;)*
        }

        $(
            /// # Safety
            /// As the Node-API function of the same name.
            #[cfg(windows)]
            pub unsafe fn $name($($arg: $ty),*) -> napi_status {
                static ADDRESS: host::Symbol = host::Symbol::new(concat!(stringify!($name), "\0"));
                match ADDRESS.get() {
                    Some(address) => {
                        // SAFETY: the host exports this name with exactly this C signature.
                        let function: unsafe extern "C" fn($($ty),*) -> napi_status =
                            unsafe { std::mem::transmute(address) };
                        unsafe { function($($arg),*) }
                    }
                    None => napi_generic_failure,
                }
            }
        )*

        /// The names of all the functions above, for the check when the module loads.
        #[cfg(windows)]
        pub const FUNCTIONS: &[&str] = &[$(concat!(stringify!($name), "\0")),*];
    };
}

/// The first Node-API function (nul-terminated name) the host executable does not export, if any.
#[cfg(windows)]
pub fn first_missing() -> Option<&'static str> {
    FUNCTIONS
        .iter()
        .copied()
        .find(|name| host::lookup(name).is_null())
}

#[cfg(windows)]
mod host {
    use std::ffi::{c_char, c_void};
    use std::sync::atomic::{AtomicPtr, Ordering};

    #[link(name = "kernel32")]
    extern "system" {
        fn GetModuleHandleW(module_name: *const u16) -> *mut c_void;
        fn GetProcAddress(module: *mut c_void, proc_name: *const c_char) -> *mut c_void;
    }

    /// The address of an exported function of the running executable (null when absent).
    /// `name` must end in a nul byte.
    pub fn lookup(name: &str) -> *mut c_void {
        if !name.ends_with('\0') {
            return std::ptr::null_mut();
        }
        // SAFETY: a null module name asks for the executable's own handle, valid for the life of
        // the process; `name` is nul-terminated (checked above).
        unsafe {
            let exe = GetModuleHandleW(std::ptr::null());
            if exe.is_null() {
                return std::ptr::null_mut();
            }
            GetProcAddress(exe, name.as_ptr().cast())
        }
    }

    /// One function's address, looked up once (a race only looks it up twice, to the same value).
    pub struct Symbol {
        name: &'static str,
        address: AtomicPtr<c_void>,
    }

    impl Symbol {
        pub const fn new(name: &'static str) -> Symbol {
            Symbol {
                name,
                address: AtomicPtr::new(std::ptr::null_mut()),
            }
        }

        pub fn get(&self) -> Option<*mut c_void> {
            let known = self.address.load(Ordering::Acquire);
            if !known.is_null() {
                return Some(known);
            }
            let found = lookup(self.name);
            if found.is_null() {
                return None;
            }
            self.address.store(found, Ordering::Release);
            Some(found)
        }
    }
}

napi_functions! {
    pub fn napi_get_last_error_info(
        env: napi_env,
        result: *mut *const napi_extended_error_info,
    ) -> napi_status;

    pub fn napi_get_undefined(env: napi_env, result: *mut napi_value) -> napi_status;
    pub fn napi_get_null(env: napi_env, result: *mut napi_value) -> napi_status;
    pub fn napi_get_boolean(env: napi_env, value: bool, result: *mut napi_value) -> napi_status;
    pub fn napi_create_object(env: napi_env, result: *mut napi_value) -> napi_status;
    pub fn napi_create_array_with_length(
        env: napi_env,
        length: usize,
        result: *mut napi_value,
    ) -> napi_status;
    pub fn napi_create_double(env: napi_env, value: f64, result: *mut napi_value) -> napi_status;
    pub fn napi_create_string_utf8(
        env: napi_env,
        str_: *const c_char,
        length: usize,
        result: *mut napi_value,
    ) -> napi_status;
    pub fn napi_create_error(
        env: napi_env,
        code: napi_value,
        msg: napi_value,
        result: *mut napi_value,
    ) -> napi_status;
    pub fn napi_create_type_error(
        env: napi_env,
        code: napi_value,
        msg: napi_value,
        result: *mut napi_value,
    ) -> napi_status;
    pub fn napi_create_range_error(
        env: napi_env,
        code: napi_value,
        msg: napi_value,
        result: *mut napi_value,
    ) -> napi_status;

    pub fn napi_typeof(
        env: napi_env,
        value: napi_value,
        result: *mut napi_valuetype,
    ) -> napi_status;
    pub fn napi_get_value_double(env: napi_env, value: napi_value, result: *mut f64)
        -> napi_status;
    pub fn napi_get_value_string_utf8(
        env: napi_env,
        value: napi_value,
        buf: *mut c_char,
        bufsize: usize,
        result: *mut usize,
    ) -> napi_status;

    pub fn napi_get_property(
        env: napi_env,
        object: napi_value,
        key: napi_value,
        result: *mut napi_value,
    ) -> napi_status;
    pub fn napi_get_value_bool(env: napi_env, value: napi_value, result: *mut bool) -> napi_status;
    pub fn napi_is_array(env: napi_env, value: napi_value, result: *mut bool) -> napi_status;
    pub fn napi_get_array_length(env: napi_env, value: napi_value, result: *mut u32)
        -> napi_status;
    pub fn napi_get_element(
        env: napi_env,
        object: napi_value,
        index: u32,
        result: *mut napi_value,
    ) -> napi_status;
    pub fn napi_set_element(
        env: napi_env,
        object: napi_value,
        index: u32,
        value: napi_value,
    ) -> napi_status;
    pub fn napi_define_properties(
        env: napi_env,
        object: napi_value,
        property_count: usize,
        properties: *const napi_property_descriptor,
    ) -> napi_status;

    pub fn napi_get_cb_info(
        env: napi_env,
        cbinfo: napi_callback_info,
        argc: *mut usize,
        argv: *mut napi_value,
        this_arg: *mut napi_value,
        data: *mut *mut c_void,
    ) -> napi_status;

    pub fn napi_throw(env: napi_env, error: napi_value) -> napi_status;
    pub fn napi_throw_error(env: napi_env, code: *const c_char, msg: *const c_char) -> napi_status;
    pub fn napi_is_exception_pending(env: napi_env, result: *mut bool) -> napi_status;
    pub fn napi_get_and_clear_last_exception(env: napi_env, result: *mut napi_value)
        -> napi_status;

    pub fn napi_create_promise(
        env: napi_env,
        deferred: *mut napi_deferred,
        promise: *mut napi_value,
    ) -> napi_status;
    pub fn napi_resolve_deferred(
        env: napi_env,
        deferred: napi_deferred,
        resolution: napi_value,
    ) -> napi_status;
    pub fn napi_reject_deferred(
        env: napi_env,
        deferred: napi_deferred,
        rejection: napi_value,
    ) -> napi_status;

    pub fn napi_is_typedarray(env: napi_env, value: napi_value, result: *mut bool) -> napi_status;
    pub fn napi_get_typedarray_info(
        env: napi_env,
        typedarray: napi_value,
        type_: *mut napi_typedarray_type,
        length: *mut usize,
        data: *mut *mut c_void,
        arraybuffer: *mut napi_value,
        byte_offset: *mut usize,
    ) -> napi_status;

    pub fn napi_create_buffer_copy(
        env: napi_env,
        length: usize,
        data: *const c_void,
        result_data: *mut *mut c_void,
        result: *mut napi_value,
    ) -> napi_status;

    pub fn napi_create_async_work(
        env: napi_env,
        async_resource: napi_value,
        async_resource_name: napi_value,
        execute: napi_async_execute_callback,
        complete: napi_async_complete_callback,
        data: *mut c_void,
        result: *mut napi_async_work,
    ) -> napi_status;
    pub fn napi_delete_async_work(env: napi_env, work: napi_async_work) -> napi_status;
    pub fn napi_queue_async_work(env: napi_env, work: napi_async_work) -> napi_status;
}
