//! The one place where a core [`Error`] becomes a Python exception.
//!
//! The exception classes live in `bitrix24_callback/errors.py` (real attributes, docstrings,
//! pickling) and are instantiated from here.

use callback_core::{Error, ErrorCode, Violation};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

const ERRORS_MODULE: &str = "bitrix24_callback.errors";

/// The Python class for each code. Exhaustive on purpose: a new core code must be mapped here
/// before this crate compiles again.
pub fn class_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::InvalidRequest => "InvalidRequestError",
        ErrorCode::DestinationBlocked => "DestinationBlockedError",
        ErrorCode::RateLimited => "RateLimitedError",
        ErrorCode::OperationTimeLimit => "OperationTimeLimitError",
        ErrorCode::AuthFailed => "AuthFailedError",
        ErrorCode::InsufficientScope => "InsufficientScopeError",
        ErrorCode::AccessDenied => "AccessDeniedError",
        ErrorCode::LineNotFound => "LineNotFoundError",
        ErrorCode::NumberRejected => "NumberRejectedError",
        ErrorCode::PortalError => "PortalError",
        ErrorCode::Transport => "TransportError",
        ErrorCode::OutcomeUnknown => "OutcomeUnknownError",
    }
}

/// Builds the exception object (not raised) for a core error.
pub fn exception_object<'py>(py: Python<'py>, err: &Error) -> PyResult<Bound<'py, PyAny>> {
    let class = py.import(ERRORS_MODULE)?.getattr(class_name(err.code()))?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("code", err.code().as_str())?;
    kwargs.set_item("retry_safe", err.retry_safe())?;
    kwargs.set_item("bitrix_code", err.bitrix_code())?;
    kwargs.set_item("http_status", err.http_status())?;
    kwargs.set_item("violations", violations(py, err.violations())?)?;
    kwargs.set_item("operating_reset_at", err.operating_reset_at())?;
    kwargs.set_item("portal_moved_to", err.portal_moved_to())?;
    class.call((err.description(),), Some(&kwargs))
}

fn violations<'py>(py: Python<'py>, list: &[Violation]) -> PyResult<Bound<'py, PyTuple>> {
    let class = py.import(ERRORS_MODULE)?.getattr("Violation")?;
    let items = list
        .iter()
        .map(|v| class.call1((&v.field, &v.code, &v.message)))
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, items)
}

/// Turns a core error into the `PyErr` to raise.
pub fn to_py_err(py: Python<'_>, err: &Error) -> PyErr {
    match exception_object(py, err) {
        Ok(obj) => PyErr::from_value(obj),
        Err(e) => e,
    }
}

/// `Result<T, core::Error>` → `PyResult<T>` for code that holds the interpreter.
pub trait IntoPyResult<T> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, Error> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py_err(py, &e))
    }
}
