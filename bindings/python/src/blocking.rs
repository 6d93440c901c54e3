//! Runs a blocking core call with the GIL released, staying responsive to Ctrl-C.
//!
//! On Python's main thread the call runs on a helper thread while the caller waits in short
//! slices, checking for signals between them: a `KeyboardInterrupt` is raised at once instead
//! of after the call's deadline, and a cancellable call is cancelled (a request that is
//! already on the wire still completes, its answer unseen, exactly like `outcome_unknown`).
//! Other threads (worker pools, asyncio executors) cannot receive signals, so they run the call
//! directly. Every such call runs under the core's panic guard, [`catch_panic`].
//!
//! The helper is a thread that lives on between calls (started by the first call on the main
//! thread, not at import): handing a call to it costs two wake-ups instead of a thread's
//! creation. A call that Ctrl-C abandoned keeps its helper busy until the core gives up, so the
//! next call starts another one; at most one idle helper is kept, the others end. A forked
//! child has none of its parent's threads: it starts its own helper (the process id tells).
//!
//! Also the warm-up of the phone-number metadata ([`warm_up`]), the other core work that may
//! block for long enough to matter.

use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, sync_channel};
use std::time::Duration;

use callback_core::{CancelToken, Error, ErrorCode, catch_panic};
use pyo3::prelude::*;

const SLICE: Duration = Duration::from_millis(50);

/// Makes sure the phone-number metadata is loaded ([`callback_core::warm_up`]) before a number
/// is validated while holding the GIL: the first call waits for the load (hundreds of
/// milliseconds in a debug build) with the GIL released, so other Python threads keep running;
/// later calls cost one atomic load ([`callback_core::is_warmed_up`]). Called by
/// `build_request` and `Client.start_callback` (`Client.from_*` warms up inside its GIL-free
/// build). Deliberately not started at import on a background thread: a process that forks
/// right after the import (`gunicorn --preload`, `multiprocessing`) could copy the half-done
/// lazy load into the child, which would then wait for it forever.
pub fn warm_up(py: Python<'_>) {
    if !callback_core::is_warmed_up() {
        py.detach(callback_core::warm_up);
    }
}

/// The process the cached main-thread identity below belongs to (0: none yet).
static MAIN_PID: AtomicU32 = AtomicU32::new(0);
/// `threading.main_thread().ident` in the process `MAIN_PID`.
static MAIN_IDENT: AtomicU64 = AtomicU64::new(0);

/// Whether the calling thread is Python's main thread, the only one that receives signals.
/// One FFI call once the main thread's identity is known (asked once per process: a forked
/// child's main thread is the thread that forked).
fn on_main_thread(py: Python<'_>) -> bool {
    // SAFETY: reads the calling thread's identity; no precondition (the GIL is held anyway).
    // c_ulong: 64 bits here, 32 on Windows.
    #[allow(clippy::useless_conversion)]
    let me: u64 = u64::from(unsafe { pyo3::ffi::PyThread_get_thread_ident() });
    let pid = std::process::id();
    if MAIN_PID.load(Ordering::Acquire) != pid {
        let ident = py.import("threading").and_then(|t| {
            t.call_method0("main_thread")?
                .getattr("ident")?
                .extract::<u64>()
        });
        match ident {
            Ok(ident) => {
                MAIN_IDENT.store(ident, Ordering::Relaxed);
                MAIN_PID.store(pid, Ordering::Release);
            }
            Err(_) => return false,
        }
    }
    MAIN_IDENT.load(Ordering::Relaxed) == me
}

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A helper thread: where to send it work, and the process that started it.
struct Helper {
    pid: u32,
    jobs: mpsc::Sender<Job>,
}

/// The idle helper, if any (a leaked `Box<Helper>`). An atomic rather than a lock: a child
/// forked while another thread held a lock would wait for it forever.
static IDLE: AtomicPtr<Helper> = AtomicPtr::new(ptr::null_mut());

/// The idle helper of this process, else a new one.
fn take_helper() -> std::io::Result<Box<Helper>> {
    let raw = IDLE.swap(ptr::null_mut(), Ordering::AcqRel);
    if !raw.is_null() {
        // SAFETY: `IDLE` only ever holds a pointer from `Box::into_raw` in `give_back`, and
        // the swap above made this thread its only owner.
        let helper = unsafe { Box::from_raw(raw) };
        if helper.pid == std::process::id() {
            return Ok(helper);
        }
        // Inherited from the parent: its thread does not exist here. Dropping the sender
        // only frees memory.
    }
    let (jobs, queue) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("bitrix24-callback".to_owned())
        .spawn(move || {
            // Ends when every sender is gone: the helper was not kept as the idle one.
            while let Ok(job) = queue.recv() {
                job();
            }
        })?;
    Ok(Box::new(Helper {
        pid: std::process::id(),
        jobs,
    }))
}

/// Keeps `helper` as the idle one, unless there is one already (then its thread ends).
fn give_back(helper: Box<Helper>) {
    let raw = Box::into_raw(helper);
    if IDLE
        .compare_exchange(ptr::null_mut(), raw, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        // SAFETY: `raw` came from `Box::into_raw` just above and was not published.
        drop(unsafe { Box::from_raw(raw) });
    }
}

/// Runs `work` without the GIL. `Err` only for an exception raised by a signal handler
/// (usually `KeyboardInterrupt`); the core's own outcome is inside `Ok`.
pub fn run<T>(
    py: Python<'_>,
    cancel: Option<CancelToken>,
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> PyResult<Result<T, Error>>
where
    T: Send + 'static,
{
    if !on_main_thread(py) {
        return Ok(py.detach(move || catch_panic(ErrorCode::OutcomeUnknown, work)));
    }
    let helper = take_helper().map_err(|e| {
        pyo3::exceptions::PyRuntimeError::new_err(format!(
            "cannot start a thread for the call: {e}"
        ))
    })?;
    let jobs = helper.jobs.clone();
    let (tx, rx) = sync_channel(1);
    let job: Job = Box::new(move || {
        let result = catch_panic(ErrorCode::OutcomeUnknown, work);
        // Idle again before the caller hears back, so that its next call finds this helper.
        give_back(helper);
        let _ = tx.send(result);
    });
    if jobs.send(job).is_err() {
        // The helper's thread is gone (it cannot panic: the work runs under the guard).
        return Ok(Err(Error::internal(ErrorCode::OutcomeUnknown)));
    }
    drop(jobs);
    let mut rx = rx;
    loop {
        // The receiver is `Send` but not `Sync`: move it into the detached closure and back.
        let (received, back) = py.detach(move || (rx.recv_timeout(SLICE), rx));
        rx = back;
        match received {
            Ok(result) => return Ok(result),
            Err(RecvTimeoutError::Timeout) => {
                if let Err(interrupted) = py.check_signals() {
                    if let Some(token) = &cancel {
                        token.cancel();
                    }
                    return Err(interrupted);
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Ok(Err(Error::internal(ErrorCode::OutcomeUnknown)));
            }
        }
    }
}
