//! Runs a blocking core call with the GIL released, staying responsive to Ctrl-C.
//!
//! On Python's main thread the call runs on a helper thread while the caller waits in short
//! slices, checking for signals between them: a `KeyboardInterrupt` is raised at once instead
//! of after the call's deadline, and a cancellable call is cancelled (a request that is
//! already on the wire still completes, its answer unseen, exactly like `outcome_unknown`).
//! Other threads (worker pools, asyncio executors) cannot receive signals, so they run the call
//! directly. Every such call runs under the core's panic guard, [`catch_panic`].
//!
//! Also the warm-up of the phone-number metadata ([`warm_up`]), the other core work that may
//! block for long enough to matter.

use std::sync::mpsc::{RecvTimeoutError, sync_channel};
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

fn on_main_thread(py: Python<'_>) -> bool {
    let check = || -> PyResult<bool> {
        let threading = py.import("threading")?;
        let current = threading.call_method0("current_thread")?;
        let main = threading.call_method0("main_thread")?;
        Ok(current.is(&main))
    };
    check().unwrap_or(false)
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
    let (tx, rx) = sync_channel(1);
    let job = move || {
        let _ = tx.send(catch_panic(ErrorCode::OutcomeUnknown, work));
    };
    let spawned = std::thread::Builder::new()
        .name("bitrix24-callback".to_owned())
        .spawn(job);
    if let Err(e) = spawned {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
            "cannot start a thread for the call: {e}"
        )));
    }
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
