//! Forwards the core's `log` records to Python's `logging` logger `bitrix24_callback`.
//!
//! Only records of this package (`callback_core`, this crate) are forwarded: dependencies such as
//! the HTTP stack may log request lines, and a webhook URL carries its secret in the path.
//!
//! Deciding whether a record is wanted must not need the interpreter (records are mostly made on
//! threads that released it), so the logger's effective level is mirrored in an atomic. It is
//! refreshed on every call into the module (which holds the interpreter anyway), so a
//! `logger.setLevel(...)` takes effect from the next call on.
//!
//! The first refresh also gives the logger a `logging.NullHandler` (as libraries do), so that an
//! application that configured no logging does not see the package's warnings printed by
//! logging's last-resort handler. It happens at the first call rather than at import, which
//! then need not import `logging`; no record is made before a call.
//!
//! The record of a start that ended in `outcome_unknown` (the call may have been placed and must
//! not be retried blindly) is raised from the core's INFO to WARNING here.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use log::{Level, LevelFilter, Log, Metadata, Record};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

pub const LOGGER_NAME: &str = "bitrix24_callback";

/// Python level at and above which records are wanted (`usize::MAX`: none).
static THRESHOLD: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Whether the `NullHandler` was added (once per process; a forked child inherits the logger).
static NULL_HANDLER: AtomicBool = AtomicBool::new(false);

struct Bridge;

static BRIDGE: Bridge = Bridge;

fn python_level(level: Level) -> usize {
    match level {
        Level::Error => 40,
        Level::Warn => 30,
        Level::Info => 20,
        Level::Debug => 10,
        Level::Trace => 5,
    }
}

fn ours(target: &str) -> bool {
    let head = target.split("::").next().unwrap_or("");
    head == "callback_core" || head == module_path!().split("::").next().unwrap_or("")
}

impl Log for Bridge {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        ours(metadata.target())
            && python_level(metadata.level()) >= THRESHOLD.load(Ordering::Relaxed)
    }

    fn log(&self, record: &Record<'_>) {
        if !ours(record.target()) {
            return;
        }
        let threshold = THRESHOLD.load(Ordering::Relaxed);
        let level = python_level(record.level());
        let warn = python_level(Level::Warn);
        // Only an INFO record may be raised to WARNING (below): others are decided unformatted.
        let may_rise = record.level() == Level::Info && warn >= threshold;
        if level < threshold && !may_rise {
            return;
        }
        let message = record.args().to_string();
        let level = if may_rise && outcome_unknown(&message) {
            warn
        } else {
            level
        };
        if level < threshold {
            return;
        }
        // `None` while the interpreter shuts down: the record is dropped.
        let _ = Python::try_attach(|py| {
            // Keep an exception that is being raised on this thread intact.
            let pending = PyErr::take(py);
            let _ = emit(py, record, level, &message);
            if let Some(e) = pending {
                e.restore(py);
            }
        });
    }

    fn flush(&self) {}
}

/// The core's record of a start that ended in `outcome_unknown` ("...: outcome_unknown
/// (retry_safe=false)"), which the core logs at INFO like every other end of a start.
fn outcome_unknown(message: &str) -> bool {
    message.contains(": outcome_unknown (retry_safe=false)")
}

fn emit(py: Python<'_>, record: &Record<'_>, level: usize, message: &str) -> PyResult<()> {
    let logger = py
        .import("logging")?
        .getattr("getLogger")?
        .call1((LOGGER_NAME,))?;
    let extra = PyDict::new(py);
    extra.set_item("rust_target", record.target())?;
    let made = logger.call_method1(
        "makeRecord",
        (
            LOGGER_NAME,
            level,
            record.file().unwrap_or("<rust>"),
            record.line().unwrap_or(0),
            message,
            PyTuple::empty(py),
            py.None(),
            py.None(),
            extra,
        ),
    )?;
    logger.call_method1("handle", (made,))?;
    Ok(())
}

/// Reads the logger's effective level into the atomic (and adds the `NullHandler` the first
/// time). Call while attached.
pub fn refresh(py: Python<'_>) {
    let level = py
        .import("logging")
        .and_then(|m| {
            let logger = m.getattr("getLogger")?.call1((LOGGER_NAME,))?;
            if !NULL_HANDLER.swap(true, Ordering::Relaxed) {
                logger.call_method1("addHandler", (m.getattr("NullHandler")?.call0()?,))?;
            }
            Ok(logger)
        })
        .and_then(|logger| {
            if logger.getattr("disabled")?.is_truthy()? {
                Ok(usize::MAX)
            } else {
                logger.call_method0("getEffectiveLevel")?.extract::<usize>()
            }
        })
        .unwrap_or(usize::MAX);
    THRESHOLD.store(level.max(1), Ordering::Relaxed);
}

/// Installs the bridge (once per process; the `log` facade allows only one logger). Records
/// stay off until the first [`refresh`].
pub fn install() {
    if log::set_logger(&BRIDGE).is_ok() {
        log::set_max_level(LevelFilter::Trace);
    }
}
