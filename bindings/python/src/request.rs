//! Building and validating a callback request: `build_request` and `CallbackRequest`.

use callback_core::{CallbackRequest, CallbackRequestBuilder, Error, ErrorCode, Violation};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::convert::{self, Flag, TextIssue};
use crate::errors::{IntoPyResult, to_py_err};
use crate::{logbridge, shield};

/// Reads one untrusted request field. `None` leaves it unset (the core then reports a missing
/// required field); a non-`str` is a `TypeError`; lone surrogates become a violation.
fn field(
    arg: &str,
    wire: &str,
    obj: Option<&Bound<'_, PyAny>>,
    bad: &mut Vec<Violation>,
) -> PyResult<Option<String>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    match convert::text(obj) {
        Ok(s) => Ok(Some(s)),
        Err(TextIssue::NotStr(t)) => {
            Err(PyTypeError::new_err(format!("{arg} must be str, not {t}")))
        }
        Err(TextIssue::NotUnicode) => {
            bad.push(Violation {
                field: wire.to_owned(),
                code: "invalid_unicode".to_owned(),
                message: "contains a lone surrogate, which is not valid Unicode".to_owned(),
            });
            Ok(None)
        }
    }
}

/// Copies the Python arguments into a core request builder.
pub fn fill_builder(
    py: Python<'_>,
    mut b: CallbackRequestBuilder,
    line: &Bound<'_, PyAny>,
    to: &Bound<'_, PyAny>,
    text: &Bound<'_, PyAny>,
    voice: Option<&Bound<'_, PyAny>>,
    idempotency_key: Option<&Bound<'_, PyAny>>,
) -> PyResult<CallbackRequestBuilder> {
    let mut bad = Vec::new();
    let line = field("line", "FROM_LINE", Some(line), &mut bad)?;
    let to = field("to", "TO_NUMBER", Some(to), &mut bad)?;
    let text = field("text", "TEXT_TO_PRONOUNCE", Some(text), &mut bad)?;
    let voice = field("voice", "VOICE", voice, &mut bad)?;
    let key = field(
        "idempotency_key",
        "idempotency_key",
        idempotency_key,
        &mut bad,
    )?;
    if !bad.is_empty() {
        return Err(to_py_err(py, &Error::invalid(bad)));
    }
    if let Some(v) = line {
        b = b.from_line(v);
    }
    if let Some(v) = to {
        b = b.to_number(v);
    }
    if let Some(v) = text {
        b = b.text(v);
    }
    if let Some(v) = voice {
        b = b.voice(v);
    }
    if let Some(v) = key {
        b = b.idempotency_key(v);
    }
    Ok(b)
}

/// A validated callback request (what `voximplant.callback.start` would be sent).
#[pyclass(frozen, module = "bitrix24_callback._native", name = "CallbackRequest")]
pub struct PyCallbackRequest {
    inner: CallbackRequest,
}

#[pymethods]
impl PyCallbackRequest {
    /// `FROM_LINE` as sent.
    #[getter]
    fn line(&self) -> &str {
        self.inner.from_line()
    }

    /// The destination in E.164 (`+12015550123`). Do not log it: see `masked_number`.
    #[getter]
    fn to(&self) -> &str {
        self.inner.to_number()
    }

    /// `TEXT_TO_PRONOUNCE`, trimmed.
    #[getter]
    fn text(&self) -> &str {
        self.inner.text()
    }

    #[getter]
    fn voice(&self) -> Option<&str> {
        self.inner.voice()
    }

    #[getter]
    fn idempotency_key(&self) -> Option<&str> {
        self.inner.idempotency_key()
    }

    /// ISO 3166 region of the destination (`"GB"`), when known.
    #[getter]
    fn destination_region(&self) -> Option<&str> {
        self.inner.destination_region()
    }

    /// The number with all but the country code and the last two digits hidden.
    #[getter]
    fn masked_number(&self) -> String {
        self.inner.masked_number()
    }

    /// The exact JSON body sent to `voximplant.callback.start`.
    #[getter]
    fn wire_body(&self) -> String {
        self.inner.wire_body()
    }

    fn __repr__(&self) -> String {
        format!(
            "<CallbackRequest line={:?} to={:?} voice={:?}>",
            self.inner.from_line(),
            self.inner.masked_number(),
            self.inner.voice()
        )
    }
}

/// Validates a request the way `Client.start_callback` does, without sending it. Raises
/// `InvalidRequestError` listing every violation.
#[pyfunction]
#[pyo3(
    signature = (
        *, line, to, text, voice=None, idempotency_key=None, default_region=None,
        allow_unknown_voice = Flag(false)
    ),
    text_signature = "(*, line, to, text, voice=None, idempotency_key=None, default_region=None, allow_unknown_voice=False)"
)]
#[allow(clippy::too_many_arguments)]
pub fn build_request(
    py: Python<'_>,
    line: &Bound<'_, PyAny>,
    to: &Bound<'_, PyAny>,
    text: &Bound<'_, PyAny>,
    voice: Option<&Bound<'_, PyAny>>,
    idempotency_key: Option<&Bound<'_, PyAny>>,
    default_region: Option<&Bound<'_, PyAny>>,
    allow_unknown_voice: Flag,
) -> PyResult<PyCallbackRequest> {
    logbridge::refresh(py);
    let mut b = CallbackRequest::builder();
    if let Some(r) = default_region.filter(|r| !r.is_none()) {
        b = b.default_region(convert::str_arg("default_region", r)?);
    }
    b = b.allow_unknown_voice(allow_unknown_voice.0);
    let b = fill_builder(py, b, line, to, text, voice, idempotency_key)?;
    crate::warm_up(py);
    let inner = shield(ErrorCode::InvalidRequest, move || b.build()).or_raise(py)?;
    Ok(PyCallbackRequest { inner })
}
