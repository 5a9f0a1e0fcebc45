//! Errors on their way to JavaScript: every failed Node-API status, every invalid argument and
//! every caught panic becomes an `Error`, which the entry points throw or reject with.

use super::sys;
use super::{Env, JsValue};
use std::any::Any;
use std::ffi::{CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// Which JS constructor the error is made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Error,
    TypeError,
    RangeError,
}

/// A JS error still to be created: plain data, so it can be built on any thread and unit-tested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsError {
    pub kind: ErrorKind,
    /// The error's `code` property.
    pub code: &'static str,
    pub message: String,
}

pub const ERR_NAPI: &str = "ERR_SONAR_NAPI";
pub const ERR_PANIC: &str = "ERR_SONAR_PANIC";
pub const ERR_CANCELLED: &str = "ERR_SONAR_CANCELLED";

impl JsError {
    pub fn error(code: &'static str, message: impl Into<String>) -> JsError {
        JsError {
            kind: ErrorKind::Error,
            code,
            message: message.into(),
        }
    }

    pub fn type_error(code: &'static str, message: impl Into<String>) -> JsError {
        JsError {
            kind: ErrorKind::TypeError,
            code,
            message: message.into(),
        }
    }

    pub fn range_error(code: &'static str, message: impl Into<String>) -> JsError {
        JsError {
            kind: ErrorKind::RangeError,
            code,
            message: message.into(),
        }
    }

    /// Consumes a caught panic's payload; a payload whose own `drop` panics is leaked rather than
    /// allowed to unwind out of an entry point.
    pub fn from_panic(payload: Box<dyn Any + Send>) -> JsError {
        let detail = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "unknown panic payload".to_string()
        };
        if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            std::mem::forget(again);
        }
        JsError::error(ERR_PANIC, format!("internal error in sonar-node: {detail}"))
    }
}

/// What a binding function can fail with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A JS exception is already pending (a getter threw while we read an argument): it is the
    /// error to report, as is.
    Pending,
    Js(JsError),
}

impl From<JsError> for Error {
    fn from(e: JsError) -> Error {
        Error::Js(e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Runs `f`, turning a panic into an error so it never unwinds into Node.
pub fn guard<R>(f: impl FnOnce() -> Result<R>) -> Result<R> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => Err(JsError::from_panic(payload).into()),
    }
}

/// Turns a Node-API status into a `Result`; the message comes from Node's last-error info, which
/// must be read right after the failing call.
pub(super) fn check(env: sys::napi_env, status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::napi_ok {
        return Ok(());
    }
    let mut info: *const sys::napi_extended_error_info = ptr::null();
    // SAFETY: `env` is the live environment of the current call; Node owns the returned struct,
    // which stays valid until the next Node-API call, and we copy its message out right away.
    let detail = unsafe {
        if sys::napi_get_last_error_info(env, &mut info) == sys::napi_ok
            && !info.is_null()
            && !(*info).error_message.is_null()
        {
            CStr::from_ptr((*info).error_message)
                .to_string_lossy()
                .into_owned()
        } else {
            "no details".to_string()
        }
    };
    // Some calls report a throwing getter as a generic failure: a pending exception is the real
    // error whatever the status says.
    let mut pending = false;
    // SAFETY: live env, valid out-pointer.
    let asked = unsafe { sys::napi_is_exception_pending(env, &mut pending) };
    if status == sys::napi_pending_exception || (asked == sys::napi_ok && pending) {
        return Err(Error::Pending);
    }
    Err(JsError::error(
        ERR_NAPI,
        format!("{what} failed (status {status}: {detail})"),
    )
    .into())
}

impl<'s> Env<'s> {
    fn exception_pending(self) -> bool {
        let mut pending = false;
        // SAFETY: live env, valid out-pointer.
        let status = unsafe { sys::napi_is_exception_pending(self.raw, &mut pending) };
        status == sys::napi_ok && pending
    }

    fn take_exception(self) -> Result<JsValue<'s>> {
        let mut raw = ptr::null_mut();
        // SAFETY: live env, valid out-pointer.
        let status = unsafe { sys::napi_get_and_clear_last_exception(self.raw, &mut raw) };
        check(self.raw, status, "napi_get_and_clear_last_exception")?;
        Ok(JsValue::from_raw(raw))
    }

    /// Creates the JS error object for `e` (with its `code` property).
    pub fn create_error(self, e: &JsError) -> Result<JsValue<'s>> {
        let code = self.string(e.code)?;
        let message = self.string(&e.message)?;
        let create = match e.kind {
            ErrorKind::Error => sys::napi_create_error,
            ErrorKind::TypeError => sys::napi_create_type_error,
            ErrorKind::RangeError => sys::napi_create_range_error,
        };
        let mut raw = ptr::null_mut();
        // SAFETY: live env; `code` and `message` are string handles of the current scope.
        let status = unsafe { create(self.raw, code.raw, message.raw, &mut raw) };
        check(self.raw, status, "napi_create_error")?;
        Ok(JsValue::from_raw(raw))
    }

    /// The value a promise is rejected with for `err`: the pending exception itself, or a new
    /// error object. Leaves no exception pending, since settling a promise requires that.
    pub fn rejection_value(self, err: &Error) -> Result<JsValue<'s>> {
        match err {
            Error::Pending if self.exception_pending() => self.take_exception(),
            Error::Pending => self.create_error(&JsError::error(
                ERR_NAPI,
                "a Node-API call reported a pending exception, but none was pending",
            )),
            Error::Js(e) => {
                if self.exception_pending() {
                    // Ours is the more precise report; the stray one must go for the reject.
                    self.take_exception()?;
                }
                self.create_error(e)
            }
        }
    }

    /// Throws `err` (a pending exception simply stays pending). Never fails: as a last resort it
    /// falls back to `napi_throw_error` with plain C strings.
    pub fn throw(self, err: &Error) {
        let e = match err {
            Error::Pending if self.exception_pending() => return,
            Error::Pending => JsError::error(
                ERR_NAPI,
                "a Node-API call reported a pending exception, but none was pending",
            ),
            Error::Js(e) => e.clone(),
        };
        if self.exception_pending() {
            return;
        }
        if let Ok(value) = self.create_error(&e) {
            // SAFETY: live env; `value` is an error object of the current scope.
            if unsafe { sys::napi_throw(self.raw, value.raw) } == sys::napi_ok {
                return;
            }
        }
        let code = c_string(e.code);
        let message = c_string(&e.message);
        // SAFETY: live env; both pointers are NUL-terminated strings that outlive the call.
        unsafe {
            sys::napi_throw_error(self.raw, code.as_ptr(), message.as_ptr());
        }
    }
}

fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_payloads_become_messages() {
        let e = guard::<()>(|| panic!("boom {}", 7)).unwrap_err();
        match e {
            Error::Js(e) => {
                assert_eq!(e.code, ERR_PANIC);
                assert!(e.message.contains("boom 7"), "{}", e.message);
            }
            Error::Pending => panic!("expected a JS error"),
        }
        let e = guard::<()>(|| std::panic::panic_any(42u8)).unwrap_err();
        assert!(matches!(e, Error::Js(ref j) if j.message.contains("unknown panic payload")));
    }

    #[test]
    fn panic_payload_with_panicking_drop_is_contained() {
        struct Nasty;
        impl Drop for Nasty {
            fn drop(&mut self) {
                panic!("drop of payload");
            }
        }
        let e = guard::<()>(|| std::panic::panic_any(Nasty)).unwrap_err();
        assert!(matches!(e, Error::Js(ref j) if j.code == ERR_PANIC));
    }

    #[test]
    fn c_strings_survive_interior_nul() {
        assert_eq!(c_string("a\0b").to_str().unwrap(), "a b");
    }
}
