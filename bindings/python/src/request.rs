//! Building and validating a callback request: `build_request` and `CallbackRequest`.

use callback_core::{CallbackRequest, ErrorCode, RequestInput, Violation, catch_panic};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::convert::{self, Flag, TextIssue};
use crate::errors::IntoPyResult;
use crate::{blocking, logbridge};

/// Reads one untrusted request field. `None` leaves it unset (the core then reports a missing
/// required field); a non-`str` is a `TypeError`; lone surrogates become a violation under the
/// field's wire name, which the core reports in its place among its own.
fn field(
    arg: &str,
    wire: &str,
    obj: Option<&Bound<'_, PyAny>>,
    refused: &mut Vec<Violation>,
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
            refused.push(Violation {
                field: wire.to_owned(),
                code: "invalid_unicode".to_owned(),
                message: "contains a lone surrogate, which is not valid Unicode".to_owned(),
            });
            Ok(None)
        }
    }
}

/// The Python arguments of a request as the core's raw input.
pub fn request_input(
    line: &Bound<'_, PyAny>,
    to: &Bound<'_, PyAny>,
    text: &Bound<'_, PyAny>,
    voice: Option<&Bound<'_, PyAny>>,
    idempotency_key: Option<&Bound<'_, PyAny>>,
) -> PyResult<RequestInput> {
    let mut refused = Vec::new();
    Ok(RequestInput {
        line: field("line", "FROM_LINE", Some(line), &mut refused)?,
        to: field("to", "TO_NUMBER", Some(to), &mut refused)?,
        text: field("text", "TEXT_TO_PRONOUNCE", Some(text), &mut refused)?,
        voice: field("voice", "VOICE", voice, &mut refused)?,
        idempotency_key: field(
            "idempotency_key",
            "idempotency_key",
            idempotency_key,
            &mut refused,
        )?,
        violations: refused,
    })
}

/// A validated callback request (what `voximplant.callback.start` would be sent).
#[pyclass(frozen, module = "bitrix24_callback._native", name = "CallbackRequest")]
pub struct PyCallbackRequest {
    inner: CallbackRequest,
}

#[pymethods]
impl PyCallbackRequest {
    /// Requests come from `build_request(...)` (or are built inside `Client.start_callback`).
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(
        _args: &Bound<'_, pyo3::types::PyTuple>,
        _kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<Self> {
        Err(PyTypeError::new_err(
            "use build_request(line=..., to=..., text=...) to validate a request",
        ))
    }

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

    /// What the destination is, per libphonenumber: `"mobile"`, `"fixed_line"`,
    /// `"premium_rate"`, ...
    #[getter]
    fn number_type(&self) -> &'static str {
        self.inner.number_type().as_str()
    }

    /// The destination's calling code (`44` for `+44...`).
    #[getter]
    fn calling_code(&self) -> u16 {
        self.inner.calling_code()
    }

    /// The number with all but the country code and the last two digits hidden.
    #[getter]
    fn masked_number(&self, py: Python<'_>) -> PyResult<String> {
        catch_panic(ErrorCode::InvalidRequest, || Ok(self.inner.masked_number())).or_raise(py)
    }

    /// The exact JSON body sent to `voximplant.callback.start`.
    #[getter]
    fn wire_body(&self, py: Python<'_>) -> PyResult<String> {
        catch_panic(ErrorCode::InvalidRequest, || Ok(self.inner.wire_body())).or_raise(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "<CallbackRequest line={:?} to={:?} voice={:?}>",
            self.inner.from_line(),
            self.masked_number(py)?,
            self.inner.voice()
        ))
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
    let default_region = default_region
        .filter(|r| !r.is_none())
        .map(|r| convert::str_arg("default_region", r))
        .transpose()?;
    let input = request_input(line, to, text, voice, idempotency_key)?;
    blocking::warm_up(py);
    let inner = catch_panic(ErrorCode::InvalidRequest, move || {
        let mut b = CallbackRequest::builder();
        if let Some(r) = default_region {
            b = b.default_region(r);
        }
        b.allow_unknown_voice(allow_unknown_voice.0)
            .input(input)
            .build()
    })
    .or_raise(py)?;
    Ok(PyCallbackRequest { inner })
}
