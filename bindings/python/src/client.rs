//! `Client`: the blocking client, shareable between threads; and `CancelToken`.

use std::sync::{Arc, Mutex, PoisonError};

use callback_core::{
    Auth, CancelToken, Client, ClientOptions, ErrorCode, OAuthConfig, Span, TokenPair, catch_panic,
};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::convert::{self, Count, Flag, PemList, RateLimitArg, Seconds, StrList, Text};
use crate::errors::{IntoPyResult, to_py_err};
use crate::options::PyOptions;
use crate::request::request_input;
use crate::{blocking, logbridge};

/// Wraps the Python `on_tokens` callable as the core's token store.
fn token_store(callback: Py<PyAny>) -> callback_core::TokenStore {
    Arc::new(move |pair: &TokenPair| -> Result<(), String> {
        Python::try_attach(|py| {
            let value = convert::token_pair(py, pair)
                .map_err(|_| "could not hand the token pair to on_tokens".to_owned())?;
            match callback.bind(py).call1((value,)) {
                Ok(_) => Ok(()),
                Err(e) => {
                    let name = e
                        .get_type(py)
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_else(|_| "an exception".to_owned());
                    report_callback_failure(py, &name, &e);
                    Err(format!("on_tokens raised {name}"))
                }
            }
        })
        .unwrap_or_else(|| Err("the Python interpreter is shutting down".to_owned()))
    })
}

/// Logs an exception raised by `on_tokens` on the package logger: its type and where it was
/// raised (the traceback's frames), not its message, which is app text that may quote the very
/// tokens being saved (a database's "Key (token)=(...) already exists", say).
fn report_callback_failure(py: Python<'_>, name: &str, err: &PyErr) {
    use pyo3::types::PyTracebackMethods;
    let frames = err
        .traceback(py)
        .and_then(|tb| tb.format().ok())
        .unwrap_or_default();
    let logged = py
        .import("logging")
        .and_then(|m| m.getattr("getLogger")?.call1((logbridge::LOGGER_NAME,)))
        .and_then(|logger| {
            logger.call_method1(
                "warning",
                (
                    "on_tokens raised %s; the rotated tokens were not saved and the call fails with auth_failed\n%s",
                    name,
                    frames.trim_end(),
                ),
            )
        });
    drop(logged);
}

fn closed_error() -> PyErr {
    PyRuntimeError::new_err("this Client is closed")
}

/// A Bitrix24 client. Create it with `Client.from_webhook(...)`, `Client.from_oauth(...)` or
/// `Client.from_env()`.
///
/// Share one client between threads (it holds the connection pool, the rate limiter, the
/// OAuth token state and the dedupe memory). Every call that may touch the network releases
/// the GIL.
#[pyclass(frozen, module = "bitrix24_callback._native", name = "Client")]
pub struct PyClient {
    inner: Mutex<Option<Client>>,
    auth_kind: &'static str,
}

impl PyClient {
    fn build(
        py: Python<'_>,
        auth: Result<Auth, callback_core::Error>,
        options: ClientOptions,
    ) -> PyResult<Self> {
        logbridge::refresh(py);
        let auth = auth.or_raise(py)?;
        let client = py
            .detach(move || {
                callback_core::warm_up();
                catch_panic(ErrorCode::InvalidRequest, move || {
                    Client::with_options(auth, options)
                })
            })
            .or_raise(py)?;
        Ok(PyClient {
            auth_kind: client.auth_kind(),
            inner: Mutex::new(Some(client)),
        })
    }

    /// A clone of the core client (shares everything), or `RuntimeError` once closed.
    fn client(&self) -> PyResult<Client> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(closed_error)
    }

    /// Runs a network call without the GIL and converts its result.
    fn call<T, R>(
        &self,
        py: Python<'_>,
        cancel: Option<CancelToken>,
        work: impl FnOnce(Client) -> Result<T, callback_core::Error> + Send + 'static,
        convert: impl FnOnce(Python<'_>, T) -> PyResult<R>,
    ) -> PyResult<R>
    where
        T: Send + 'static,
    {
        logbridge::refresh(py);
        let client = self.client()?;
        match blocking::run(py, cancel, move || work(client))? {
            Ok(value) => convert(py, value),
            Err(e) => Err(to_py_err(py, e)),
        }
    }
}

impl Drop for PyClient {
    fn drop(&mut self) {
        let client = self
            .inner
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(client) = client {
            // The core may join threads on drop; never do that while holding the GIL. (If the
            // interpreter is shutting down the closure does not run and is dropped here.)
            let _ = Python::try_attach(move |py| py.detach(move || drop(client)));
        }
    }
}

#[pymethods]
impl PyClient {
    /// `Client(...)` is not how a client is made: say which constructor to use.
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(
        _args: &Bound<'_, pyo3::types::PyTuple>,
        _kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<Self> {
        Err(PyTypeError::new_err(
            "use Client.from_webhook(url), Client.from_oauth(...) or Client.from_env()",
        ))
    }

    /// A client that authenticates with an incoming webhook
    /// (`https://PORTAL/rest/USER_ID/SECRET/`).
    #[classmethod]
    #[pyo3(signature = (
        url, *, connect_timeout=None, timeout=None, deadline=None, rate_limit=None,
        root_certificates=None, user_agent_suffix=None, default_region=None,
        allow_unknown_voice=None, allowed_regions=None, blocked_regions=None,
        allowed_prefixes=None, blocked_prefixes=None, block_costly_numbers=None,
        allowed_number_types=None, high_risk_regions=None, number_cooldown=None,
        number_hourly_cap=None, dedupe_window=None, shared_state=None,
        shared_state_prefix=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn from_webhook(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        url: &Bound<'_, PyAny>,
        connect_timeout: Option<Seconds>,
        timeout: Option<Seconds>,
        deadline: Option<Seconds>,
        rate_limit: Option<RateLimitArg>,
        root_certificates: Option<PemList>,
        user_agent_suffix: Option<Text>,
        default_region: Option<Text>,
        allow_unknown_voice: Option<Flag>,
        allowed_regions: Option<StrList>,
        blocked_regions: Option<StrList>,
        allowed_prefixes: Option<StrList>,
        blocked_prefixes: Option<StrList>,
        block_costly_numbers: Option<Flag>,
        allowed_number_types: Option<StrList>,
        high_risk_regions: Option<StrList>,
        number_cooldown: Option<Seconds>,
        number_hourly_cap: Option<Count>,
        dedupe_window: Option<Seconds>,
        shared_state: Option<Text>,
        shared_state_prefix: Option<Text>,
    ) -> PyResult<Self> {
        let url = convert::str_arg("url", url)?;
        let options = PyOptions {
            connect_timeout,
            timeout,
            deadline,
            rate_limit,
            root_certificates,
            user_agent_suffix,
            default_region,
            allow_unknown_voice,
            allowed_regions,
            blocked_regions,
            allowed_prefixes,
            blocked_prefixes,
            block_costly_numbers,
            allowed_number_types,
            high_risk_regions,
            number_cooldown,
            number_hourly_cap,
            dedupe_window,
            shared_state,
            shared_state_prefix,
        };
        let auth = catch_panic(ErrorCode::InvalidRequest, || Auth::webhook(&url));
        Self::build(py, auth, options.into_core(None))
    }

    /// A client of an OAuth application. `on_tokens(pair)` is called with every rotated
    /// `TokenPair` before it is used: persist both tokens there.
    #[classmethod]
    #[pyo3(signature = (
        *, client_id, client_secret, access_token, refresh_token, client_endpoint,
        server_endpoint, on_tokens=None, connect_timeout=None, timeout=None, deadline=None,
        rate_limit=None, root_certificates=None, user_agent_suffix=None, default_region=None,
        allow_unknown_voice=None, allowed_regions=None, blocked_regions=None,
        allowed_prefixes=None, blocked_prefixes=None, block_costly_numbers=None,
        allowed_number_types=None, high_risk_regions=None, number_cooldown=None,
        number_hourly_cap=None, dedupe_window=None, shared_state=None,
        shared_state_prefix=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn from_oauth(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        client_id: &Bound<'_, PyAny>,
        client_secret: &Bound<'_, PyAny>,
        access_token: &Bound<'_, PyAny>,
        refresh_token: &Bound<'_, PyAny>,
        client_endpoint: &Bound<'_, PyAny>,
        server_endpoint: &Bound<'_, PyAny>,
        on_tokens: Option<&Bound<'_, PyAny>>,
        connect_timeout: Option<Seconds>,
        timeout: Option<Seconds>,
        deadline: Option<Seconds>,
        rate_limit: Option<RateLimitArg>,
        root_certificates: Option<PemList>,
        user_agent_suffix: Option<Text>,
        default_region: Option<Text>,
        allow_unknown_voice: Option<Flag>,
        allowed_regions: Option<StrList>,
        blocked_regions: Option<StrList>,
        allowed_prefixes: Option<StrList>,
        blocked_prefixes: Option<StrList>,
        block_costly_numbers: Option<Flag>,
        allowed_number_types: Option<StrList>,
        high_risk_regions: Option<StrList>,
        number_cooldown: Option<Seconds>,
        number_hourly_cap: Option<Count>,
        dedupe_window: Option<Seconds>,
        shared_state: Option<Text>,
        shared_state_prefix: Option<Text>,
    ) -> PyResult<Self> {
        let config = OAuthConfig {
            client_id: convert::str_arg("client_id", client_id)?,
            client_secret: convert::str_arg("client_secret", client_secret)?,
            access_token: convert::str_arg("access_token", access_token)?,
            refresh_token: convert::str_arg("refresh_token", refresh_token)?,
            client_endpoint: convert::str_arg("client_endpoint", client_endpoint)?,
            server_endpoint: convert::str_arg("server_endpoint", server_endpoint)?,
        };
        let on_tokens = match on_tokens {
            Some(cb) if !cb.is_callable() => {
                return Err(PyTypeError::new_err("on_tokens must be callable"));
            }
            Some(cb) => Some(cb.clone().unbind()),
            None => None,
        };
        let options = PyOptions {
            connect_timeout,
            timeout,
            deadline,
            rate_limit,
            root_certificates,
            user_agent_suffix,
            default_region,
            allow_unknown_voice,
            allowed_regions,
            blocked_regions,
            allowed_prefixes,
            blocked_prefixes,
            block_costly_numbers,
            allowed_number_types,
            high_risk_regions,
            number_cooldown,
            number_hourly_cap,
            dedupe_window,
            shared_state,
            shared_state_prefix,
        };
        let auth = catch_panic(ErrorCode::InvalidRequest, move || Auth::oauth(config));
        Self::build(py, auth, options.into_core(on_tokens.map(token_store)))
    }

    /// A client from the environment: the command line's variables (`BITRIX24_WEBHOOK_URL`, or
    /// `BITRIX24_CLIENT_ID` and the other OAuth variables, `BITRIX24_TOKEN_FILE`, the options'
    /// `BITRIX24_...`). A keyword given here replaces its variable. A variable that cannot be
    /// read, like any bad value, raises `InvalidRequestError` naming the variable.
    #[classmethod]
    #[pyo3(signature = (
        *, connect_timeout=None, timeout=None, deadline=None, rate_limit=None,
        root_certificates=None, user_agent_suffix=None, default_region=None,
        allow_unknown_voice=None, allowed_regions=None, blocked_regions=None,
        allowed_prefixes=None, blocked_prefixes=None, block_costly_numbers=None,
        allowed_number_types=None, high_risk_regions=None, number_cooldown=None,
        number_hourly_cap=None, dedupe_window=None, shared_state=None,
        shared_state_prefix=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn from_env(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        connect_timeout: Option<Seconds>,
        timeout: Option<Seconds>,
        deadline: Option<Seconds>,
        rate_limit: Option<RateLimitArg>,
        root_certificates: Option<PemList>,
        user_agent_suffix: Option<Text>,
        default_region: Option<Text>,
        allow_unknown_voice: Option<Flag>,
        allowed_regions: Option<StrList>,
        blocked_regions: Option<StrList>,
        allowed_prefixes: Option<StrList>,
        blocked_prefixes: Option<StrList>,
        block_costly_numbers: Option<Flag>,
        allowed_number_types: Option<StrList>,
        high_risk_regions: Option<StrList>,
        number_cooldown: Option<Seconds>,
        number_hourly_cap: Option<Count>,
        dedupe_window: Option<Seconds>,
        shared_state: Option<Text>,
        shared_state_prefix: Option<Text>,
    ) -> PyResult<Self> {
        let options = PyOptions {
            connect_timeout,
            timeout,
            deadline,
            rate_limit,
            root_certificates,
            user_agent_suffix,
            default_region,
            allow_unknown_voice,
            allowed_regions,
            blocked_regions,
            allowed_prefixes,
            blocked_prefixes,
            block_costly_numbers,
            allowed_number_types,
            high_risk_regions,
            number_cooldown,
            number_hourly_cap,
            dedupe_window,
            shared_state,
            shared_state_prefix,
        };
        // Reading the token file is I/O: without the GIL.
        let env = py.detach(|| catch_panic(ErrorCode::InvalidRequest, callback_core::from_env));
        match env {
            Ok((auth, env_options)) => Self::build(py, Ok(auth), options.over(env_options)),
            Err(e) => Self::build(py, Err(e), ClientOptions::default()),
        }
    }

    /// Validates the request, applies the destination policy and dedupe, waits for the rate
    /// limiter, sends `voximplant.callback.start` and retries only what is safe.
    ///
    /// Returns a `CallbackStarted`; raises a `CallbackError` subclass.
    #[pyo3(signature = (*, line, to, text, voice=None, idempotency_key=None, cancel=None))]
    #[allow(clippy::too_many_arguments)]
    fn start_callback(
        &self,
        py: Python<'_>,
        line: &Bound<'_, PyAny>,
        to: &Bound<'_, PyAny>,
        text: &Bound<'_, PyAny>,
        voice: Option<&Bound<'_, PyAny>>,
        idempotency_key: Option<&Bound<'_, PyAny>>,
        cancel: Option<PyRef<'_, PyCancelToken>>,
    ) -> PyResult<Py<PyAny>> {
        let client = self.client()?;
        let input = request_input(line, to, text, voice, idempotency_key)?;
        blocking::warm_up(py);
        let request =
            catch_panic(ErrorCode::InvalidRequest, move || client.validate(input)).or_raise(py)?;
        // Always cancellable, so that Ctrl-C also stops a wait for the limiter.
        let token = cancel.map_or_else(CancelToken::new, |c| c.token.clone());
        self.call(
            py,
            Some(token.clone()),
            move |client| client.start_callback_cancellable(&request, &token),
            |py, started| convert::callback_started(py, &started).map(Bound::unbind),
        )
    }

    /// Answers what `start_callback` would decide before any network traffic: validation
    /// with this client's rules, the destination policy, the idempotency key, the number's
    /// cooldown and hourly cap. Sends nothing and reserves nothing (the start checks again).
    ///
    /// Returns the `Destination`; raises the exception `start_callback` would.
    #[pyo3(signature = (*, line, to, text, voice=None, idempotency_key=None))]
    fn check_callback(
        &self,
        py: Python<'_>,
        line: &Bound<'_, PyAny>,
        to: &Bound<'_, PyAny>,
        text: &Bound<'_, PyAny>,
        voice: Option<&Bound<'_, PyAny>>,
        idempotency_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        logbridge::refresh(py);
        let client = self.client()?;
        let input = request_input(line, to, text, voice, idempotency_key)?;
        blocking::warm_up(py);
        // No network, but the dedupe and cooldown memory is shared with calls running on
        // other threads: wait for it without the GIL.
        let destination = py
            .detach(move || {
                catch_panic(ErrorCode::InvalidRequest, move || {
                    let request = client.validate(input)?;
                    client.check(&request)
                })
            })
            .or_raise(py)?;
        convert::destination(py, &destination).map(Bound::unbind)
    }

    /// The lines usable as `line=` (`voximplant.line.get`), sorted by id.
    fn lines(&self, py: Python<'_>) -> PyResult<Vec<Py<PyAny>>> {
        self.call(
            py,
            None,
            |client| client.lines(),
            |py, lines| {
                lines
                    .iter()
                    .map(|l| convert::line(py, l).map(Bound::unbind))
                    .collect()
            },
        )
    }

    /// The text-to-speech voices (`voximplant.tts.voices.get`), sorted by id.
    fn voices(&self, py: Python<'_>) -> PyResult<Vec<Py<PyAny>>> {
        self.call(
            py,
            None,
            |client| client.voices(),
            |py, voices| {
                voices
                    .iter()
                    .map(|x| convert::voice(py, x).map(Bound::unbind))
                    .collect()
            },
        )
    }

    /// The finished call's record (`voximplant.statistic.get`), or `None` while it is not
    /// finished.
    fn call_record(&self, py: Python<'_>, call_id: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let call_id = convert::str_arg("call_id", call_id)?;
        self.call(
            py,
            None,
            move |client| client.call_record(&call_id),
            optional_record,
        )
    }

    /// Polls `call_record` until the record appears or `timeout` seconds pass (then `None`).
    #[pyo3(
        signature = (call_id, *, timeout = Seconds(Span::Seconds(120.0))),
        text_signature = "(self, call_id, *, timeout=120.0)"
    )]
    fn wait_for_outcome(
        &self,
        py: Python<'_>,
        call_id: &Bound<'_, PyAny>,
        timeout: Seconds,
    ) -> PyResult<Py<PyAny>> {
        let call_id = convert::str_arg("call_id", call_id)?;
        let Seconds(timeout) = timeout;
        let timeout =
            catch_panic(ErrorCode::InvalidRequest, || timeout.checked("timeout")).or_raise(py)?;
        self.call(
            py,
            None,
            move |client| client.wait_for_outcome(&call_id, timeout),
            optional_record,
        )
    }

    /// The portal's base address in use (it changes after a 302 rename).
    #[getter]
    fn portal(&self, py: Python<'_>) -> PyResult<String> {
        let client = self.client()?;
        catch_panic(ErrorCode::InvalidRequest, || Ok(client.portal())).or_raise(py)
    }

    /// `"webhook"` or `"oauth"`.
    #[getter]
    fn auth_kind(&self) -> &'static str {
        self.auth_kind
    }

    /// True after `close()`.
    #[getter]
    fn closed(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }

    /// Releases the connection pool. Calls already running finish; later calls raise
    /// `RuntimeError`. Closing twice is harmless.
    fn close(&self, py: Python<'_>) {
        let client = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(client) = client {
            py.detach(move || drop(client));
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc_info))]
    fn __exit__(&self, py: Python<'_>, _exc_info: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close(py);
        false
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        if self.closed() {
            return Ok(format!("<Client {} closed>", self.auth_kind));
        }
        Ok(format!(
            "<Client {} portal={:?}>",
            self.auth_kind,
            self.portal(py)?
        ))
    }
}

fn optional_record(
    py: Python<'_>,
    record: Option<callback_core::CallRecord>,
) -> PyResult<Py<PyAny>> {
    match record {
        Some(r) => convert::call_record(py, &r).map(Bound::unbind),
        None => Ok(py.None()),
    }
}

/// Cancels a `start_callback` that is still waiting for the rate limiter or a back-off (it then
/// raises `RateLimitedError`, nothing sent). Once the request is on the wire it has no effect.
#[pyclass(frozen, module = "bitrix24_callback._native", name = "CancelToken")]
pub struct PyCancelToken {
    token: CancelToken,
}

#[pymethods]
impl PyCancelToken {
    #[new]
    fn new() -> Self {
        PyCancelToken {
            token: CancelToken::new(),
        }
    }

    /// Cancels every call that uses this token (from any thread).
    fn cancel(&self) {
        self.token.cancel();
    }

    #[getter]
    fn cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    fn __repr__(&self) -> String {
        format!("<CancelToken cancelled={}>", self.token.is_cancelled())
    }
}
