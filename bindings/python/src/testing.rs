//! The fake portal in this process, for `bitrix24_callback.testing` (whose `FakePortal` class
//! wraps this one and turns the plain dicts returned here into its dataclasses).
//!
//! The portal serves on loopback from its own threads and never touches the interpreter; the
//! methods here only start and stop it (without the GIL: stopping joins its threads) and copy
//! its state. Test tooling, not a hot path.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use callback_fake_portal::{
    CallState, DeliveredEvent, FakePortal, FakePortalConfig, Fault, FaultKind, LedgerEntry,
    RecordedRequest, Stats,
};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

fn closed() -> PyErr {
    PyRuntimeError::new_err("this FakePortal is stopped")
}

fn millis(name: &str, value: Option<f64>) -> PyResult<Option<Duration>> {
    value
        .map(|ms| {
            Duration::try_from_secs_f64(ms / 1000.0).map_err(|_| {
                PyValueError::new_err(format!(
                    "{name} must be a finite, non-negative number of milliseconds"
                ))
            })
        })
        .transpose()
}

/// A running fake portal (see `bitrix24_callback.testing.FakePortal`).
#[pyclass(frozen, module = "bitrix24_callback._native", name = "_FakePortal")]
pub struct PyFakePortal {
    inner: Mutex<Option<FakePortal>>,
}

impl PyFakePortal {
    fn with<T>(&self, f: impl FnOnce(&FakePortal) -> T) -> PyResult<T> {
        let guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        guard.as_ref().map(f).ok_or_else(closed)
    }
}

impl Drop for PyFakePortal {
    fn drop(&mut self) {
        let portal = self
            .inner
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(portal) = portal {
            // Stopping joins the portal's thread: never while holding the GIL.
            let _ = Python::try_attach(move |py| py.detach(move || drop(portal)));
        }
    }
}

#[pymethods]
impl PyFakePortal {
    #[new]
    #[pyo3(signature = (
        *, tls=false, port=0, burst=None, drain_per_second=None, stage_ms=None,
        webhook_user_id=None, webhook_secret=None, webhook_scopes=None, oauth_client_id=None,
        oauth_client_secret=None, oauth_scopes=None, access_token_lifetime_ms=None,
        operating_limit_ms=None, callback_processing_ms=None, outgoing_call_permission=None,
        line_list_permission=None, empty_error_code=None, lines=None, rest_app_lines=None,
        application_token=None, event_handler=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        tls: bool,
        port: u16,
        burst: Option<u32>,
        drain_per_second: Option<f64>,
        stage_ms: Option<f64>,
        webhook_user_id: Option<u32>,
        webhook_secret: Option<String>,
        webhook_scopes: Option<Vec<String>>,
        oauth_client_id: Option<String>,
        oauth_client_secret: Option<String>,
        oauth_scopes: Option<Vec<String>>,
        access_token_lifetime_ms: Option<f64>,
        operating_limit_ms: Option<f64>,
        callback_processing_ms: Option<f64>,
        outgoing_call_permission: Option<bool>,
        line_list_permission: Option<bool>,
        empty_error_code: Option<bool>,
        lines: Option<Vec<(String, String)>>,
        rest_app_lines: Option<Vec<String>>,
        application_token: Option<String>,
        event_handler: Option<String>,
    ) -> PyResult<Self> {
        let mut c = FakePortalConfig {
            tls,
            port,
            ..FakePortalConfig::default()
        };
        if let Some(b) = burst {
            c.burst = b;
        }
        if let Some(d) = drain_per_second {
            if !(d.is_finite() && d >= 0.0) {
                return Err(PyValueError::new_err(
                    "drain_per_second must be a finite, non-negative number",
                ));
            }
            c.drain_per_second = d;
        }
        if let Some(d) = millis("stage_ms", stage_ms)? {
            c.stage_duration = d;
        }
        if let Some(d) = millis("access_token_lifetime_ms", access_token_lifetime_ms)? {
            c.access_token_lifetime = d;
        }
        if let Some(d) = millis("operating_limit_ms", operating_limit_ms)? {
            c.operating_limit = d;
        }
        if let Some(d) = millis("callback_processing_ms", callback_processing_ms)? {
            c.callback_processing = d;
        }
        c.webhook_user_id = webhook_user_id.unwrap_or(c.webhook_user_id);
        c.webhook_secret = webhook_secret.unwrap_or(c.webhook_secret);
        c.webhook_scopes = webhook_scopes.unwrap_or(c.webhook_scopes);
        c.oauth_client_id = oauth_client_id.unwrap_or(c.oauth_client_id);
        c.oauth_client_secret = oauth_client_secret.unwrap_or(c.oauth_client_secret);
        c.oauth_scopes = oauth_scopes.unwrap_or(c.oauth_scopes);
        c.outgoing_call_permission = outgoing_call_permission.unwrap_or(c.outgoing_call_permission);
        c.line_list_permission = line_list_permission.unwrap_or(c.line_list_permission);
        c.empty_error_code = empty_error_code.unwrap_or(c.empty_error_code);
        c.lines = lines.unwrap_or(c.lines);
        c.rest_app_lines = rest_app_lines.unwrap_or(c.rest_app_lines);
        c.application_token = application_token.unwrap_or(c.application_token);
        c.event_handler = event_handler.or(c.event_handler);
        let portal = py
            .detach(move || FakePortal::start(c))
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start the fake portal: {e}")))?;
        Ok(PyFakePortal {
            inner: Mutex::new(Some(portal)),
        })
    }

    #[getter]
    fn base_url(&self) -> PyResult<String> {
        self.with(FakePortal::base_url)
    }

    #[getter]
    fn webhook_url(&self) -> PyResult<String> {
        self.with(FakePortal::webhook_url)
    }

    #[getter]
    fn client_endpoint(&self) -> PyResult<String> {
        self.with(FakePortal::client_endpoint)
    }

    #[getter]
    fn server_endpoint(&self) -> PyResult<String> {
        self.with(FakePortal::server_endpoint)
    }

    #[getter]
    fn admin_url(&self) -> PyResult<String> {
        self.with(FakePortal::admin_url)
    }

    #[getter]
    fn ca_pem(&self) -> PyResult<Option<String>> {
        self.with(FakePortal::ca_pem)
    }

    /// `GET /_fake/info` as JSON text (credentials included: the portal is the test's own).
    fn info_json(&self) -> PyResult<String> {
        self.with(FakePortal::info_json)
    }

    fn ledger<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let ledger = self.with(FakePortal::ledger)?;
        let items = ledger
            .iter()
            .map(|e| ledger_dict(py, e))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, &self.with(FakePortal::stats)?)
    }

    fn requests<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let requests = self.with(FakePortal::requests)?;
        let items = requests
            .iter()
            .map(|r| request_dict(py, r))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    fn calls<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let calls = self.with(FakePortal::calls)?;
        let items = calls
            .iter()
            .map(|c| call_dict(py, c))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    fn events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let events = self.with(FakePortal::events)?;
        let items = events
            .iter()
            .map(|e| event_dict(py, e))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    /// Scripts a fault; `ValueError` for an unknown kind or a value the portal cannot send.
    #[pyo3(signature = (
        kind, *, method=None, times=1, host=None, delay_ms=0.0, status=None, body=None,
        content_type=None, location=None, execute=false
    ))]
    #[allow(clippy::too_many_arguments)]
    fn add_fault(
        &self,
        kind: &str,
        method: Option<String>,
        times: u32,
        host: Option<String>,
        delay_ms: f64,
        status: Option<u16>,
        body: Option<String>,
        content_type: Option<String>,
        location: Option<String>,
        execute: bool,
    ) -> PyResult<()> {
        let delay = millis("delay_ms", Some(delay_ms))?.unwrap_or_default();
        let need_status =
            || status.ok_or_else(|| PyValueError::new_err(format!("a {kind} fault needs status=")));
        let kind = match kind {
            "respond" => FaultKind::Respond {
                status: need_status()?,
                body: body.unwrap_or_default(),
                content_type,
                execute,
            },
            "redirect" => FaultKind::Redirect {
                status: need_status()?,
                location: location
                    .ok_or_else(|| PyValueError::new_err("a redirect fault needs location="))?,
                execute,
            },
            name => FaultKind::from_name(name, delay)
                .ok_or_else(|| PyValueError::new_err(format!("unknown fault kind {name:?}")))?,
        };
        kind.validate().map_err(PyValueError::new_err)?;
        let fault = Fault {
            kind,
            method,
            times,
            host,
        };
        self.with(move |p| p.add_fault(fault))
    }

    fn clear_faults(&self) -> PyResult<()> {
        self.with(FakePortal::clear_faults)
    }

    fn reset(&self) -> PyResult<()> {
        self.with(FakePortal::reset)
    }

    fn expire_access_tokens(&self) -> PyResult<()> {
        self.with(FakePortal::expire_access_tokens)
    }

    /// A fresh token pair plus what `Client.from_oauth` needs besides it.
    fn issue_tokens<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (grant, config, client_endpoint, server_endpoint) = self.with(|p| {
            (
                p.issue_tokens(),
                p.config(),
                p.client_endpoint(),
                p.server_endpoint(),
            )
        })?;
        let d = PyDict::new(py);
        d.set_item("access_token", grant.access_token)?;
        d.set_item("refresh_token", grant.refresh_token)?;
        d.set_item("expires_in", grant.expires_in)?;
        d.set_item("client_id", config.oauth_client_id)?;
        d.set_item("client_secret", config.oauth_client_secret)?;
        d.set_item("client_endpoint", client_endpoint)?;
        d.set_item("server_endpoint", server_endpoint)?;
        Ok(d)
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }

    /// Stops the portal and closes its connections. Stopping twice is harmless.
    fn close(&self, py: Python<'_>) {
        let portal = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(portal) = portal {
            py.detach(move || drop(portal));
        }
    }
}

fn ledger_dict<'py>(py: Python<'py>, e: &LedgerEntry) -> PyResult<Bound<'py, PyDict>> {
    let LedgerEntry {
        call_id,
        line,
        number,
        text,
        voice,
        placed_at,
        request_number,
    } = e;
    let d = PyDict::new(py);
    d.set_item("call_id", call_id)?;
    d.set_item("line", line)?;
    d.set_item("number", number)?;
    d.set_item("text", text)?;
    d.set_item("voice", voice)?;
    d.set_item("placed_at", placed_at)?;
    d.set_item("request_number", request_number)?;
    Ok(d)
}

fn stats_dict<'py>(py: Python<'py>, s: &Stats) -> PyResult<Bound<'py, PyDict>> {
    let Stats {
        requests,
        rest_requests,
        token_requests,
        refreshes,
        refresh_failures,
        rate_limited,
        operation_time_limited,
        auth_failures,
        callback_requests,
        calls_placed,
        faults_applied,
        events_delivered,
        events_failed,
    } = s;
    let d = PyDict::new(py);
    d.set_item("requests", requests)?;
    d.set_item("rest_requests", rest_requests)?;
    d.set_item("token_requests", token_requests)?;
    d.set_item("refreshes", refreshes)?;
    d.set_item("refresh_failures", refresh_failures)?;
    d.set_item("rate_limited", rate_limited)?;
    d.set_item("operation_time_limited", operation_time_limited)?;
    d.set_item("auth_failures", auth_failures)?;
    d.set_item("callback_requests", callback_requests)?;
    d.set_item("calls_placed", calls_placed)?;
    d.set_item("faults_applied", faults_applied)?;
    d.set_item("events_delivered", events_delivered)?;
    d.set_item("events_failed", events_failed)?;
    Ok(d)
}

fn request_dict<'py>(py: Python<'py>, r: &RecordedRequest) -> PyResult<Bound<'py, PyDict>> {
    let RecordedRequest {
        number,
        http_method,
        path,
        query,
        host,
        rest_method,
        content_type,
        user_agent,
        body,
        status,
    } = r;
    let d = PyDict::new(py);
    d.set_item("number", number)?;
    d.set_item("http_method", http_method)?;
    d.set_item("path", path)?;
    d.set_item("query", query)?;
    d.set_item("host", host)?;
    d.set_item("rest_method", rest_method)?;
    d.set_item("content_type", content_type)?;
    d.set_item("user_agent", user_agent)?;
    d.set_item("body", body)?;
    d.set_item("status", status)?;
    Ok(d)
}

fn call_dict<'py>(py: Python<'py>, c: &CallState) -> PyResult<Bound<'py, PyDict>> {
    let CallState {
        call_id,
        line,
        number,
        stage,
        outcome,
        failed_code,
        duration,
    } = c;
    let d = PyDict::new(py);
    d.set_item("call_id", call_id)?;
    d.set_item("line", line)?;
    d.set_item("number", number)?;
    d.set_item("stage", stage.as_str())?;
    d.set_item("outcome", outcome.map(|o| o.as_str()))?;
    d.set_item("failed_code", failed_code)?;
    d.set_item("duration", duration)?;
    Ok(d)
}

fn event_dict<'py>(py: Python<'py>, e: &DeliveredEvent) -> PyResult<Bound<'py, PyDict>> {
    let DeliveredEvent {
        event,
        call_id,
        handler_url,
        body,
        status,
        error,
    } = e;
    let d = PyDict::new(py);
    d.set_item("event", event)?;
    d.set_item("call_id", call_id)?;
    d.set_item("handler_url", handler_url)?;
    d.set_item("body", body)?;
    d.set_item("status", status)?;
    d.set_item("error", error)?;
    Ok(d)
}
