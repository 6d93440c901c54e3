//! `bitrix24_callback._native`: the pyo3 binding of `callback-core`.
//!
//! Thin on purpose: it converts Python values into the core's plain data (`convert`; the
//! client's keyword arguments into `ClientOptions` in `options`, a request's into
//! `RequestInput` in `request`), calls the core under its panic guard
//! (`callback_core::catch_panic`) and with the GIL released for anything that may block
//! (`blocking`, `client`), maps core errors onto the exception classes of
//! `bitrix24_callback.errors` in one place (`errors`), and forwards log records to Python's
//! `logging` (`logbridge`). The public Python API is curated by `bitrix24_callback/__init__.py`.
//! With the `testing` feature (on by default) it also carries the fake portal for
//! `bitrix24_callback.testing` (`testing`).
//!
//! Modules only use modules below them (this root uses them all; none uses the root):
//! `client` → `options`, `request` → `blocking`, `convert`, `errors`, `logbridge`; `testing`
//! uses none of them.

mod blocking;
mod client;
mod convert;
mod errors;
mod logbridge;
mod options;
mod request;
#[cfg(feature = "testing")]
mod testing;

use callback_core::{Error, ErrorCode, catch_panic};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors::IntoPyResult;

/// Classifies a raw portal answer the way the client does: `None` for a success envelope,
/// otherwise the `CallbackError` (not raised) it maps to.
#[pyfunction]
fn classify_response(
    py: Python<'_>,
    status: &Bound<'_, PyAny>,
    body: &Bound<'_, PyAny>,
) -> PyResult<Option<Py<PyAny>>> {
    logbridge::refresh(py);
    let status: u16 = match convert::Flag::extract(status.as_borrowed()) {
        Ok(_) => Err(pyo3::exceptions::PyTypeError::new_err(
            "status must be int, not bool",
        ))?,
        Err(_) => status
            .cast::<pyo3::types::PyInt>()
            .map_err(|_| pyo3::exceptions::PyTypeError::new_err("status must be int"))?
            .extract()
            .map_err(|_| PyValueError::new_err("status must be between 0 and 65535"))?,
    };
    let body = convert::body_arg("body", body)?;
    let outcome = catch_panic(ErrorCode::OutcomeUnknown, || {
        Ok(callback_core::classify_response(status, &body))
    })
    .unwrap_or_else(Some);
    match outcome {
        None => Ok(None),
        Some(e) => errors::exception_object(py, e).map(|o| Some(o.unbind())),
    }
}

/// Parses a telephony event delivered to your handler (form-urlencoded body) and checks its
/// `auth[application_token]` in constant time. Raises `InvalidRequestError` for a malformed
/// body and `AuthFailedError` for a wrong or missing token.
#[pyfunction]
fn parse_event(
    py: Python<'_>,
    body: &Bound<'_, PyAny>,
    application_token: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    logbridge::refresh(py);
    let body = convert::body_arg("body", body)?;
    let token = convert::str_arg("application_token", application_token)?;
    let event = catch_panic(ErrorCode::InvalidRequest, || {
        callback_core::parse_event(&body, &token)
    })
    .or_raise(py)?;
    convert::telephony_event(py, &event).map(Bound::unbind)
}

/// Masks a phone number for logs: `+44*******23`.
#[pyfunction]
fn mask_number(py: Python<'_>, number: &Bound<'_, PyAny>) -> PyResult<String> {
    let number = convert::str_arg("number", number)?;
    catch_panic(ErrorCode::InvalidRequest, || {
        Ok(callback_core::mask_number(&number))
    })
    .or_raise(py)
}

/// Builds (does not raise) the exception a core error with this code becomes; for tests of
/// the mapping.
#[pyfunction]
fn _make_error(py: Python<'_>, code: &str, description: &str) -> PyResult<Py<PyAny>> {
    let code = ErrorCode::parse(code)
        .ok_or_else(|| PyValueError::new_err(format!("unknown error code {code:?}")))?;
    errors::exception_object(py, Error::new(code, description)).map(Bound::unbind)
}

/// The plan of `AsyncClient.wait_for_outcome`, which waits on asyncio timers between single
/// polls (each `Client.wait_for_outcome(call_id, timeout=0)`: one `call_record` whose transient
/// failures the core forgives): `(timeout, first_delay, factor, max_delay)` in seconds, after
/// checking `timeout` as the blocking wait does. The delays are those of the core's blocking
/// wait (`callback_core::Client::wait_for_outcome`: 0.5 s, growing by half to 5 s).
#[pyfunction]
fn _wait_plan(py: Python<'_>, timeout: convert::Seconds) -> PyResult<(f64, f64, f64, f64)> {
    let convert::Seconds(timeout) = timeout;
    let timeout =
        catch_panic(ErrorCode::InvalidRequest, || timeout.checked("timeout")).or_raise(py)?;
    Ok((timeout.as_secs_f64(), 0.5, 1.5, 5.0))
}

/// Cargo's version in PEP 440 spelling (`0.2.0-beta.1` → `0.2.0b1`).
fn pep440(version: &str) -> String {
    match version.split_once('-') {
        None => version.to_owned(),
        Some((base, pre)) => {
            let pre = pre
                .replace("alpha", "a")
                .replace("beta", "b")
                .replace('.', "");
            format!("{base}{pre}")
        }
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    logbridge::install();
    m.add("__version__", pep440(env!("CARGO_PKG_VERSION")))?;
    m.add("CORE_VERSION", callback_core::VERSION)?;
    m.add(
        "KNOWN_VOICES",
        PyTuple::new(py, callback_core::KNOWN_VOICES)?,
    )?;
    m.add("MAX_TEXT_CHARS", callback_core::MAX_TEXT_CHARS)?;
    m.add(
        "ERROR_CODES",
        PyTuple::new(py, ErrorCode::ALL.iter().map(|c| c.as_str()))?,
    )?;
    m.add("LOGGER_NAME", logbridge::LOGGER_NAME)?;
    // Whether this build has the core's test hooks (a test build; never a shipped wheel).
    m.add("_TEST_HOOKS", cfg!(feature = "test-hooks"))?;
    m.add_class::<client::PyClient>()?;
    m.add_class::<client::PyCancelToken>()?;
    m.add_class::<request::PyCallbackRequest>()?;
    m.add_function(wrap_pyfunction!(request::build_request, m)?)?;
    m.add_function(wrap_pyfunction!(classify_response, m)?)?;
    m.add_function(wrap_pyfunction!(parse_event, m)?)?;
    m.add_function(wrap_pyfunction!(mask_number, m)?)?;
    m.add_function(wrap_pyfunction!(_make_error, m)?)?;
    m.add_function(wrap_pyfunction!(_wait_plan, m)?)?;
    #[cfg(feature = "testing")]
    m.add_class::<testing::PyFakePortal>()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_own_class() {
        let mut names: Vec<_> = ErrorCode::ALL
            .iter()
            .map(|c| errors::class_name(*c))
            .collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
    }

    #[test]
    fn versions_follow_pep440() {
        assert_eq!(pep440("0.1.0"), "0.1.0");
        assert_eq!(pep440("0.2.0-beta.1"), "0.2.0b1");
        assert_eq!(pep440("1.0.0-alpha.3"), "1.0.0a3");
        assert_eq!(pep440("1.0.0-rc.2"), "1.0.0rc2");
    }
}
