//! The one place where a core [`Error`] becomes a Python exception.
//!
//! The exception classes live in `bitrix24_callback/errors.py` (real attributes, docstrings,
//! pickling) and are instantiated from here.

use callback_core::{Error, ErrorCode, ErrorParts, Violation};
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
        ErrorCode::SharedStateUnavailable => "SharedStateUnavailableError",
        ErrorCode::OutcomeUnknown => "OutcomeUnknownError",
    }
}

/// Builds the exception object (not raised) for a core error, from every part of it.
pub fn exception_object(py: Python<'_>, err: Error) -> PyResult<Bound<'_, PyAny>> {
    // No `..`: a part added to the core's error does not compile here until it is passed on.
    let ErrorParts {
        code,
        retry_safe,
        description,
        bitrix_code,
        http_status,
        violations,
        operating_reset_at,
        portal_moved_to,
    } = err.into_parts();
    let class = py.import(ERRORS_MODULE)?.getattr(class_name(code))?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("code", code.as_str())?;
    kwargs.set_item("retry_safe", retry_safe)?;
    kwargs.set_item("bitrix_code", bitrix_code)?;
    kwargs.set_item("http_status", http_status)?;
    kwargs.set_item("violations", violation_tuple(py, violations)?)?;
    kwargs.set_item("operating_reset_at", operating_reset_at)?;
    kwargs.set_item("portal_moved_to", portal_moved_to)?;
    class.call((description,), Some(&kwargs))
}

fn violation_tuple(py: Python<'_>, list: Vec<Violation>) -> PyResult<Bound<'_, PyTuple>> {
    let class = py.import(ERRORS_MODULE)?.getattr("Violation")?;
    let mut items = Vec::with_capacity(list.len());
    for Violation {
        field,
        code,
        message,
    } in list
    {
        items.push(class.call1((field, code, message))?);
    }
    PyTuple::new(py, items)
}

/// Turns a core error into the `PyErr` to raise.
pub fn to_py_err(py: Python<'_>, err: Error) -> PyErr {
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
        self.map_err(|e| to_py_err(py, e))
    }
}
