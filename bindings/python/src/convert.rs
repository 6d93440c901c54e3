//! Conversions between Python values and core types: one function (or newtype) per type.
//!
//! Arguments: wrong types raise `TypeError`; values are the core's to check (durations, rate
//! limits, regions, ...). Strings that are not valid Unicode (lone surrogates) never reach the
//! core: a request field holding one becomes a violation (`request`), any other argument a
//! `ValueError`.
//! Results: plain data become the frozen dataclasses of `bitrix24_callback/_types.py`.

use callback_core::{
    CallRecord, CallbackStarted, Destination, Line, PortalTime, RateLimitOption, Span,
    TelephonyEvent, Timing, TokenPair, Voice,
};
use pyo3::BoundObject;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyString};

const TYPES_MODULE: &str = "bitrix24_callback._types";

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".to_owned())
}

/// Why a value could not be read as a Rust `String`.
pub enum TextIssue {
    /// Not a `str` at all (the type name).
    NotStr(String),
    /// A `str` holding lone surrogates, which UTF-8 cannot carry.
    NotUnicode,
}

/// Reads a `str` exactly (no `bytes`, no `__str__`), refusing lone surrogates.
pub fn text(obj: &Bound<'_, PyAny>) -> Result<String, TextIssue> {
    let s = obj
        .cast::<PyString>()
        .map_err(|_| TextIssue::NotStr(type_name(obj)))?;
    match s.to_cow() {
        Ok(c) => Ok(c.into_owned()),
        Err(_) => Err(TextIssue::NotUnicode),
    }
}

/// A `str` argument named `name`; `TypeError`/`ValueError` otherwise.
pub fn str_arg(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<String> {
    match text(obj) {
        Ok(s) => Ok(s),
        Err(TextIssue::NotStr(t)) => {
            Err(PyTypeError::new_err(format!("{name} must be str, not {t}")))
        }
        Err(TextIssue::NotUnicode) => Err(PyValueError::new_err(format!(
            "{name} is not valid Unicode (it contains a lone surrogate)"
        ))),
    }
}

/// Bytes of a body given as `bytes`, `bytearray` or `str` (UTF-8; lone surrogates pass through
/// as invalid UTF-8 for the core to refuse).
pub fn body_arg(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if obj.is_instance_of::<PyString>() {
        let encoded = obj.call_method1("encode", ("utf-8", "surrogatepass"))?;
        return Ok(encoded.cast::<PyBytes>()?.as_bytes().to_vec());
    }
    Err(PyTypeError::new_err(format!(
        "{name} must be bytes or str, not {}",
        type_name(obj)
    )))
}

/// A number given as `int` or `float` (not `bool`) as an `f64`. An `int` too large for a
/// float becomes an infinity of its sign, which the core then refuses like any other value
/// out of range.
fn number(obj: &Bound<'_, PyAny>) -> PyResult<f64> {
    match obj.extract::<f64>() {
        Ok(n) => Ok(n),
        Err(_) if obj.is_instance_of::<PyInt>() => Ok(if obj.lt(0)? {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }),
        Err(e) => Err(e),
    }
}

fn is_int(obj: &Bound<'_, PyAny>) -> bool {
    obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>()
}

/// A duration in seconds: `int`, `float` or `datetime.timedelta` (not `bool`). Only the type
/// is checked here; the core checks the value (finite, not negative, not zero where needed).
#[derive(Clone, Copy)]
pub struct Seconds(pub Span);

impl<'a, 'py> FromPyObject<'a, 'py> for Seconds {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let obj = obj.to_owned();
        let py = obj.py();
        if is_int(&obj) || obj.is_instance_of::<PyFloat>() {
            Ok(Seconds(Span::Seconds(number(&obj)?)))
        } else if !obj.is_instance_of::<PyBool>()
            && obj.is_instance(&py.import("datetime")?.getattr("timedelta")?)?
        {
            let secs = obj.call_method0("total_seconds")?.extract::<f64>()?;
            Ok(Seconds(Span::Seconds(secs)))
        } else {
            Err(PyTypeError::new_err(format!(
                "expected seconds as int, float or datetime.timedelta, not {}",
                type_name(&obj)
            )))
        }
    }
}

/// A preset's name (`str`) or `(burst: int, per_second: int | float)`. Only the shape is
/// checked here; the core knows the presets and the valid numbers.
pub struct RateLimitArg(pub RateLimitOption);

impl<'a, 'py> FromPyObject<'a, 'py> for RateLimitArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let obj = obj.to_owned();
        if obj.is_instance_of::<PyString>() {
            let name = str_arg("rate_limit", &obj)?;
            return Ok(RateLimitArg(RateLimitOption::Named(name)));
        }
        if let Ok(pair) = obj.cast::<pyo3::types::PyTuple>()
            && pair.len() == 2
        {
            let burst = pair.get_item(0)?;
            let per_second = pair.get_item(1)?;
            if is_int(&burst) && (is_int(&per_second) || per_second.is_instance_of::<PyFloat>()) {
                return Ok(RateLimitArg(RateLimitOption::Custom {
                    burst: number(&burst)?,
                    per_second: number(&per_second)?,
                }));
            }
        }
        Err(PyTypeError::new_err(format!(
            "rate_limit must be a preset name (str) or a tuple (burst: int, per_second: float), not {}",
            type_name(&obj)
        )))
    }
}

/// Iterates a list/tuple/set-like argument, refusing a bare `str`/`bytes` (which would iterate
/// by character).
fn items<'py>(name: &str, obj: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if obj.is_instance_of::<PyString>()
        || obj.is_instance_of::<PyBytes>()
        || obj.is_instance_of::<PyDict>()
    {
        return Err(PyTypeError::new_err(format!(
            "{name} must be a list or tuple, not {}",
            type_name(obj)
        )));
    }
    let iter = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name} must be a list or tuple, not {}",
            type_name(obj)
        ))
    })?;
    iter.collect()
}

/// A list of `str` (e.g. `allowed_regions=["GB", "DE"]`).
pub struct StrList(pub Vec<String>);

impl<'a, 'py> FromPyObject<'a, 'py> for StrList {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let obj = obj.to_owned();
        items("the list", &obj)?
            .iter()
            .map(|item| str_arg("each item", item))
            .collect::<PyResult<Vec<_>>>()
            .map(StrList)
    }
}

/// A count (`int`, not `bool`), e.g. `number_hourly_cap=5`, as the core's `f64`. Only the type
/// is checked here; the core checks the value (a whole number in its range). An `int` too large
/// for a float becomes an infinity, which the core refuses like any other value out of range.
pub struct Count(pub f64);

impl<'a, 'py> FromPyObject<'a, 'py> for Count {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let obj = obj.to_owned();
        if !is_int(&obj) {
            return Err(PyTypeError::new_err(format!(
                "expected int, not {}",
                type_name(&obj)
            )));
        }
        number(&obj).map(Count)
    }
}

/// One PEM text (`str` or `bytes`, may hold several certificates) or a list of them.
pub struct PemList(pub Vec<Vec<u8>>);

impl<'a, 'py> FromPyObject<'a, 'py> for PemList {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let obj = obj.to_owned();
        let one = |item: &Bound<'py, PyAny>| -> PyResult<Vec<u8>> {
            if item.is_instance_of::<PyString>() {
                Ok(str_arg("root_certificates", item)?.into_bytes())
            } else if let Ok(b) = item.cast::<PyBytes>() {
                Ok(b.as_bytes().to_vec())
            } else {
                Err(PyTypeError::new_err(format!(
                    "root_certificates must be PEM as str or bytes (or a list of them), not {}",
                    type_name(item)
                )))
            }
        };
        if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
            return Ok(PemList(vec![one(&obj)?]));
        }
        items("root_certificates", &obj)?
            .iter()
            .map(one)
            .collect::<PyResult<Vec<_>>>()
            .map(PemList)
    }
}

/// An exact `str` argument (see [`str_arg`]).
pub struct Text(pub String);

impl<'a, 'py> FromPyObject<'a, 'py> for Text {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        str_arg("the value", &obj.to_owned()).map(Text)
    }
}

/// An exact `bool` argument (no truthiness of arbitrary objects).
pub struct Flag(pub bool);

impl<'a, 'py> FromPyObject<'a, 'py> for Flag {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let obj = obj.to_owned();
        match obj.cast::<PyBool>() {
            Ok(b) => Ok(Flag(b.is_true())),
            Err(_) => Err(PyTypeError::new_err(format!(
                "expected bool, not {}",
                type_name(&obj)
            ))),
        }
    }
}

// ----- results -----

fn make<'py>(
    py: Python<'py>,
    class: &str,
    fields: &[(&str, Bound<'py, PyAny>)],
) -> PyResult<Bound<'py, PyAny>> {
    let kwargs = PyDict::new(py);
    for (k, v) in fields {
        kwargs.set_item(*k, v)?;
    }
    py.import(TYPES_MODULE)?
        .getattr(class)?
        .call((), Some(&kwargs))
}

fn v<'py, T>(py: Python<'py>, value: T) -> PyResult<Bound<'py, PyAny>>
where
    T: IntoPyObject<'py>,
{
    value
        .into_pyobject(py)
        .map(|b| b.into_any().into_bound())
        .map_err(Into::into)
}

fn outcome<'py>(
    py: Python<'py>,
    outcome: callback_core::CallOutcome,
) -> PyResult<Bound<'py, PyAny>> {
    py.import(TYPES_MODULE)?
        .getattr("CallOutcome")?
        .call1((outcome.as_str(),))
}

pub fn portal_time<'py>(py: Python<'py>, t: &PortalTime) -> PyResult<Bound<'py, PyAny>> {
    make(
        py,
        "PortalTime",
        &[
            ("start", v(py, t.start)?),
            ("finish", v(py, t.finish)?),
            ("duration", v(py, t.duration)?),
            ("processing", v(py, t.processing)?),
            ("date_start", v(py, t.date_start.as_deref())?),
            ("date_finish", v(py, t.date_finish.as_deref())?),
            ("operating", v(py, t.operating)?),
            ("operating_reset_at", v(py, t.operating_reset_at)?),
        ],
    )
}

pub fn timing<'py>(py: Python<'py>, t: &Timing) -> PyResult<Bound<'py, PyAny>> {
    let portal = match &t.portal {
        Some(p) => portal_time(py, p)?,
        None => py.None().into_bound(py),
    };
    make(
        py,
        "Timing",
        &[
            ("total", v(py, t.total.as_secs_f64())?),
            ("limiter_wait", v(py, t.limiter_wait.as_secs_f64())?),
            ("attempts", v(py, t.attempts)?),
            ("portal", portal),
        ],
    )
}

pub fn callback_started<'py>(py: Python<'py>, s: &CallbackStarted) -> PyResult<Bound<'py, PyAny>> {
    make(
        py,
        "CallbackStarted",
        &[
            ("call_id", v(py, s.call_id.as_deref())?),
            ("deduplicated", v(py, s.deduplicated)?),
            ("timing", timing(py, &s.timing)?),
            ("portal_moved_to", v(py, s.portal_moved_to.as_deref())?),
        ],
    )
}

/// No `..`: a field added to the core's `Destination` does not compile here until it is passed on.
pub fn destination<'py>(py: Python<'py>, d: &Destination) -> PyResult<Bound<'py, PyAny>> {
    let Destination {
        number,
        region,
        number_type,
    } = d;
    make(
        py,
        "Destination",
        &[
            ("number", v(py, number)?),
            ("masked_number", v(py, d.masked_number())?),
            ("region", v(py, region.as_deref())?),
            ("number_type", v(py, number_type.as_str())?),
        ],
    )
}

pub fn line<'py>(py: Python<'py>, l: &Line) -> PyResult<Bound<'py, PyAny>> {
    make(
        py,
        "Line",
        &[("id", v(py, &l.id)?), ("name", v(py, &l.name)?)],
    )
}

pub fn voice<'py>(py: Python<'py>, x: &Voice) -> PyResult<Bound<'py, PyAny>> {
    make(
        py,
        "Voice",
        &[("id", v(py, &x.id)?), ("name", v(py, &x.name)?)],
    )
}

pub fn call_record<'py>(py: Python<'py>, r: &CallRecord) -> PyResult<Bound<'py, PyAny>> {
    make(
        py,
        "CallRecord",
        &[
            ("call_id", v(py, &r.call_id)?),
            ("call_type", v(py, r.call_type)?),
            ("outcome", outcome(py, r.outcome)?),
            ("failed_code", v(py, &r.failed_code)?),
            ("failed_reason", v(py, r.failed_reason.as_deref())?),
            ("duration_seconds", v(py, r.duration_seconds)?),
            ("start_date", v(py, r.start_date.as_deref())?),
            ("masked_number", v(py, r.masked_number.as_deref())?),
            ("cost", v(py, r.cost.as_deref())?),
            ("cost_currency", v(py, r.cost_currency.as_deref())?),
        ],
    )
}

pub fn telephony_event<'py>(py: Python<'py>, e: &TelephonyEvent) -> PyResult<Bound<'py, PyAny>> {
    let data = PyDict::new(py);
    for (k, val) in &e.data {
        data.set_item(k, val)?;
    }
    let out = match e.outcome() {
        Some(o) => outcome(py, o)?,
        None => py.None().into_bound(py),
    };
    make(
        py,
        "TelephonyEvent",
        &[
            ("event", v(py, &e.event)?),
            ("call_id", v(py, e.call_id())?),
            ("outcome", out),
            ("data", data.into_any()),
            ("ts", v(py, e.ts)?),
            ("domain", v(py, e.domain.as_deref())?),
            ("member_id", v(py, e.member_id.as_deref())?),
        ],
    )
}

pub fn token_pair<'py>(py: Python<'py>, t: &TokenPair) -> PyResult<Bound<'py, PyAny>> {
    make(
        py,
        "TokenPair",
        &[
            ("access_token", v(py, &t.access_token)?),
            ("refresh_token", v(py, &t.refresh_token)?),
            ("expires_in", v(py, t.expires_in)?),
            ("expires_at", v(py, t.expires_at)?),
            ("client_endpoint", v(py, t.client_endpoint.as_deref())?),
            ("server_endpoint", v(py, t.server_endpoint.as_deref())?),
        ],
    )
}
