//! The symbols Node looks up when it loads the addon.

use super::{error::guard, sys, Env, JsValue};

/// The Node-API version the addon is written against (Node 20 offers 9).
const NAPI_VERSION: i32 = 8;

#[no_mangle]
pub extern "C" fn node_api_module_get_api_version_v1() -> i32 {
    NAPI_VERSION
}

/// Module initialisation: fills `exports`. A failure (or panic) becomes the exception `require`
/// throws.
///
/// # Safety
/// Called by Node only, with the live environment and exports object of the loading context.
#[no_mangle]
pub unsafe extern "C" fn napi_register_module_v1(
    raw_env: sys::napi_env,
    exports: sys::napi_value,
) -> sys::napi_value {
    // Windows: the Node-API functions are looked up in the host executable (see sys.rs); a host
    // that lacks one (not Node, or too old) gets one clear error instead of failures later.
    #[cfg(windows)]
    if let Some(missing) = sys::first_missing() {
        let message = format!(
            "sonar-agent: the host executable does not export {} (not Node.js ≥ 20?)\0",
            missing.trim_end_matches('\0')
        );
        sys::napi_throw_error(raw_env, std::ptr::null(), message.as_ptr().cast());
        return std::ptr::null_mut();
    }
    let env = Env::from_raw(raw_env);
    let exports = JsValue::from_raw(exports);
    match guard(|| crate::init(env, exports)) {
        Ok(()) => exports.raw,
        Err(err) => {
            let _ = guard(|| {
                env.throw(&err);
                Ok(())
            });
            std::ptr::null_mut()
        }
    }
}
