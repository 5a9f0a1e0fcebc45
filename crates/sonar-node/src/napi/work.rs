//! Promises and async work: a `Send` closure runs on the libuv threadpool, then its result is
//! turned into a JS value on the JS thread and settles the promise. Panics on either side reject
//! the promise instead of unwinding into Node.

use super::error::{self, guard, Error, JsError, Result, ERR_CANCELLED, ERR_NAPI};
use super::{sys, Env, JsValue};
use std::ffi::c_void;
use std::ptr;

/// The resolving side of a promise; only usable on the JS thread (it is not `Send`).
struct Deferred {
    raw: sys::napi_deferred,
}

impl<'s> Env<'s> {
    fn promise(self) -> Result<(Deferred, JsValue<'s>)> {
        let mut deferred = ptr::null_mut();
        let mut promise = ptr::null_mut();
        // SAFETY: live env, valid out-pointers.
        let status = unsafe { sys::napi_create_promise(self.raw, &mut deferred, &mut promise) };
        error::check(self.raw, status, "napi_create_promise")?;
        Ok((Deferred { raw: deferred }, JsValue::from_raw(promise)))
    }
}

impl Deferred {
    /// Resolves or rejects; Node frees the deferred either way.
    fn settle<'s>(self, env: Env<'s>, outcome: Result<JsValue<'s>>) -> Result<()> {
        match outcome {
            Ok(value) => self.resolve(env, value),
            Err(err) => {
                let reason = env.rejection_value(&err)?;
                self.reject(env, reason)
            }
        }
    }

    fn resolve<'s>(self, env: Env<'s>, value: JsValue<'s>) -> Result<()> {
        // SAFETY: live env; `self.raw` has not been settled yet (settling consumes it).
        let status = unsafe { sys::napi_resolve_deferred(env.raw, self.raw, value.raw) };
        error::check(env.raw, status, "napi_resolve_deferred")
    }

    fn reject<'s>(self, env: Env<'s>, reason: JsValue<'s>) -> Result<()> {
        // SAFETY: as in `resolve`.
        let status = unsafe { sys::napi_reject_deferred(env.raw, self.raw, reason.raw) };
        error::check(env.raw, status, "napi_reject_deferred")
    }
}

/// A promise already rejected with `err`. The reason is taken first: a pending exception (a
/// throwing getter) would make creating the promise fail.
pub(super) fn rejected_promise<'s>(env: Env<'s>, err: &Error) -> Result<JsValue<'s>> {
    let reason = env.rejection_value(err)?;
    let (deferred, promise) = env.promise()?;
    deferred.reject(env, reason)?;
    Ok(promise)
}

struct Task<T, W, C> {
    execute: Option<W>,
    output: Option<Result<T, JsError>>,
    complete: Option<C>,
    deferred: Option<Deferred>,
    work: sys::napi_async_work,
}

/// Runs `execute` on the libuv threadpool and returns a promise for `complete(result)`, which
/// runs on the JS thread. `execute` must not touch JS; `complete` builds the JS value.
pub fn queue_work<'s, T, W, C>(
    env: Env<'s>,
    name: &str,
    execute: W,
    complete: C,
) -> Result<JsValue<'s>>
where
    T: Send + 'static,
    W: FnOnce() -> Result<T, JsError> + Send + 'static,
    C: for<'c> FnOnce(Env<'c>, T) -> Result<JsValue<'c>> + 'static,
{
    let resource_name = env.string(name)?;
    let (deferred, promise) = env.promise()?;
    let task: *mut Task<T, W, C> = Box::into_raw(Box::new(Task {
        execute: Some(execute),
        output: None,
        complete: Some(complete),
        deferred: None,
        work: ptr::null_mut(),
    }));
    let mut work = ptr::null_mut();
    // SAFETY: live env; the callbacks are instantiated for this very `Task` type, and `task`
    // stays alive (owned by the work) until `complete_task` reclaims it.
    let status = unsafe {
        sys::napi_create_async_work(
            env.raw,
            ptr::null_mut(),
            resource_name.raw,
            Some(execute_task::<T, W, C>),
            Some(complete_task::<T, W, C>),
            task.cast(),
            &mut work,
        )
    };
    if let Err(err) = error::check(env.raw, status, "napi_create_async_work") {
        // SAFETY: the work was not created, so we still own `task`.
        drop(unsafe { Box::from_raw(task) });
        deferred.settle(env, Err(err))?;
        return Ok(promise);
    }
    // SAFETY: nothing else sees `task` before the work is queued.
    unsafe {
        (*task).work = work;
        (*task).deferred = Some(deferred);
    }
    // SAFETY: live env, `work` was just created.
    let status = unsafe { sys::napi_queue_async_work(env.raw, work) };
    if let Err(err) = error::check(env.raw, status, "napi_queue_async_work") {
        // SAFETY: never queued, so no callback will run: the work and `task` are ours to free.
        // The delete status is not checked: the queue error is the one worth reporting.
        let task = unsafe {
            sys::napi_delete_async_work(env.raw, work);
            Box::from_raw(task)
        };
        if let Some(deferred) = task.deferred {
            deferred.settle(env, Err(err))?;
        }
        return Ok(promise);
    }
    Ok(promise)
}

/// Threadpool side: only `execute` and `output` are touched here (both `Send`); the deferred and
/// `complete` stay with the JS thread.
unsafe extern "C" fn execute_task<T, W, C>(_env: sys::napi_env, data: *mut c_void)
where
    W: FnOnce() -> Result<T, JsError>,
{
    let task = data.cast::<Task<T, W, C>>();
    let outcome = guard(|| {
        // SAFETY: Node runs execute once, before complete, and nothing else touches the task
        // meanwhile; we take disjoint fields through the raw pointer.
        let execute = unsafe { (*task).execute.take() };
        match execute {
            Some(f) => f().map_err(Error::Js),
            None => Err(JsError::error(ERR_NAPI, "async work executed twice").into()),
        }
    });
    let output = outcome.map_err(|e| match e {
        Error::Js(e) => e,
        Error::Pending => {
            JsError::error(ERR_NAPI, "unexpected pending exception off the JS thread")
        }
    });
    // SAFETY: as above; writing the result is the last thing this thread does with the task.
    let _ = guard(|| {
        unsafe { (*task).output = Some(output) };
        Ok(())
    });
}

unsafe extern "C" fn complete_task<T, W, C>(
    raw_env: sys::napi_env,
    status: sys::napi_status,
    data: *mut c_void,
) where
    C: for<'c> FnOnce(Env<'c>, T) -> Result<JsValue<'c>>,
{
    let env = Env::from_raw(raw_env);
    let _ = guard(|| {
        // SAFETY: complete runs exactly once, after execute, on the JS thread: the task is ours.
        let mut task = unsafe { Box::from_raw(data.cast::<Task<T, W, C>>()) };
        // SAFETY: the work is finished; deleting it inside its own complete callback is allowed.
        // Its status is not checked: a failure to free the handle must not fail the collection.
        unsafe { sys::napi_delete_async_work(raw_env, task.work) };
        let deferred = task.deferred.take();
        let outcome = guard(|| {
            if status == sys::napi_cancelled {
                return Err(JsError::error(ERR_CANCELLED, "collection was cancelled").into());
            }
            error::check(raw_env, status, "async work")?;
            let complete = task.complete.take();
            match (task.output.take(), complete) {
                (Some(Ok(value)), Some(complete)) => complete(env, value),
                (Some(Err(e)), _) => Err(e.into()),
                _ => Err(JsError::error(ERR_NAPI, "async work completed without a result").into()),
            }
        });
        match deferred {
            Some(deferred) => deferred.settle(env, outcome),
            None => Ok(()),
        }
    });
}
