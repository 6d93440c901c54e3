//! `FakePortal`: the fake Bitrix24 portal in the library, for the app's own tests.
//!
//! The portal itself (`callback-fake-portal`: tokio, hyper and rustls' server side) is only
//! compiled with the cargo feature `testing`. The exported interface is the same with and
//! without it, so the generated Kotlin and Swift do not depend on the build: in a library built
//! without the feature (every build an app ships) `FakePortal.start` throws
//! `FakePortalError.Unavailable` and nothing else can be reached.
//!
//! Printing any of these records hides the webhook secret, tokens, the client secret, the
//! application token and full phone numbers (the fields keep everything for assertions).

// Without the portal the methods cannot run (no `FakePortal` exists): their arguments go unused.
#![cfg_attr(not(feature = "testing"), allow(unused_variables))]

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use callback_core as core;

use crate::types::OAuthCredentials;

/// Runs `$on` with the running portal as `$p`, or gives `$stopped` once it was stopped.
#[cfg(feature = "testing")]
macro_rules! with_portal {
    ($self:ident, $p:ident => $on:expr, $stopped:expr) => {{
        let guard = $self
            .backend
            .portal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match guard.as_ref() {
            Some($p) => $on,
            None => $stopped,
        }
    }};
}

/// Without the portal no `FakePortal` exists, so no method can run.
#[cfg(not(feature = "testing"))]
macro_rules! with_portal {
    ($self:ident, $p:ident => $on:expr, $stopped:expr) => {{ $self.backend.unreachable() }};
}

/// Why a fake portal could not be started or scripted.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Error)]
pub enum FakePortalError {
    /// This build of the library has no fake portal (it was built without the cargo feature
    /// `testing`): use the testing build of the library in your tests (see the README).
    Unavailable { reason: String },
    /// The portal could not start (no free port, ...) or refused a fault as scripted.
    Failed { reason: String },
}

impl fmt::Display for FakePortalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FakePortalError::Unavailable { reason } | FakePortalError::Failed { reason } => {
                f.write_str(reason)
            }
        }
    }
}

impl std::error::Error for FakePortalError {}

/// A line of the fake portal: `id` is what `fromLine` takes, `name` is served HTML-escaped.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FakeLine {
    pub id: String,
    pub name: String,
}

/// How a fake portal behaves; every field left `null`/`nil` keeps the portal's default (and in
/// `FakePortal.update`, keeps the current value).
#[derive(Clone, PartialEq, Default, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct FakePortalOptions {
    /// Serve HTTPS with a certificate from a CA made at start (`FakePortal.caPem`; pass it in
    /// `ClientOptions.rootCertificates`). Only at start.
    #[uniffi(default = false)]
    pub tls: bool,
    /// TCP port on 127.0.0.1; `null`/`nil` = any free port. Only at start.
    #[uniffi(default = None)]
    pub port: Option<u16>,
    /// Length of each stage of a simulated call (four stages for an answered call); default 1 s.
    #[uniffi(default = None)]
    pub stage_duration: Option<Duration>,
    /// The user id in the webhook path; default 1.
    #[uniffi(default = None)]
    pub webhook_user_id: Option<u32>,
    /// The webhook secret; default `fakewebhooksecret0001`.
    #[uniffi(default = None)]
    pub webhook_secret: Option<String>,
    /// Scopes of the webhook; default `call`, `telephony`.
    #[uniffi(default = None)]
    pub webhook_scopes: Option<Vec<String>>,
    #[uniffi(default = None)]
    pub oauth_client_id: Option<String>,
    #[uniffi(default = None)]
    pub oauth_client_secret: Option<String>,
    /// Scopes of OAuth tokens issued from now on; default `call`, `telephony`.
    #[uniffi(default = None)]
    pub oauth_scopes: Option<Vec<String>>,
    /// Lifetime of issued access tokens; default 1 hour.
    #[uniffi(default = None)]
    pub access_token_lifetime: Option<Duration>,
    /// The leaky bucket: requests admitted at once (default 50) ...
    #[uniffi(default = None)]
    pub burst: Option<u32>,
    /// ... and drained per second (default 2).
    #[uniffi(default = None)]
    pub drain_per_second: Option<f64>,
    /// Operating budget per method within ten minutes; default 480 s.
    #[uniffi(default = None)]
    pub operating_limit: Option<Duration>,
    /// Simulated handler time of one `voximplant.callback.start`; default 1 s (not slept).
    #[uniffi(default = None)]
    pub callback_processing: Option<Duration>,
    /// `false`: `voximplant.callback.start` answers 403 `ACCESS_DENIED`.
    #[uniffi(default = None)]
    pub outgoing_call_permission: Option<bool>,
    /// `false`: `voximplant.line.get` answers 403 `ACCESS_DENIED`.
    #[uniffi(default = None)]
    pub line_list_permission: Option<bool>,
    /// Business errors carry `"error": ""` instead of `"ERROR_CORE"`.
    #[uniffi(default = None)]
    pub empty_error_code: Option<bool>,
    /// Default: `reg1` (cloud PBX), `sip7` (office PBX), `74951234567` (rented number).
    #[uniffi(default = None)]
    pub lines: Option<Vec<FakeLine>>,
    /// Lines owned by a telephony REST application (`CALL_ID` is `null`); default `REST_APP:1`.
    #[uniffi(default = None)]
    pub rest_app_lines: Option<Vec<String>>,
    /// `auth[application_token]` of every event; default `fakeapplicationtoken0001`.
    #[uniffi(default = None)]
    pub application_token: Option<String>,
    /// `http://` address the telephony events are POSTed to; `""` = none (the default).
    #[uniffi(default = None)]
    pub event_handler: Option<String>,
}

fn set(present: bool) -> &'static str {
    if present { "[redacted]" } else { "default" }
}

impl fmt::Debug for FakePortalOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakePortalOptions")
            .field("tls", &self.tls)
            .field("port", &self.port)
            .field("stage_duration", &self.stage_duration)
            .field("webhook_user_id", &self.webhook_user_id)
            .field("webhook_secret", &set(self.webhook_secret.is_some()))
            .field("webhook_scopes", &self.webhook_scopes)
            .field("oauth_client_id", &self.oauth_client_id)
            .field(
                "oauth_client_secret",
                &set(self.oauth_client_secret.is_some()),
            )
            .field("oauth_scopes", &self.oauth_scopes)
            .field("access_token_lifetime", &self.access_token_lifetime)
            .field("burst", &self.burst)
            .field("drain_per_second", &self.drain_per_second)
            .field("operating_limit", &self.operating_limit)
            .field("callback_processing", &self.callback_processing)
            .field("outgoing_call_permission", &self.outgoing_call_permission)
            .field("line_list_permission", &self.line_list_permission)
            .field("empty_error_code", &self.empty_error_code)
            .field("lines", &self.lines)
            .field("rest_app_lines", &self.rest_app_lines)
            .field("application_token", &set(self.application_token.is_some()))
            .field("event_handler", &self.event_handler)
            .finish()
    }
}

impl fmt::Display for FakePortalOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// What a scripted fault does to a matching request (see the fake portal's documentation for
/// what happens on the socket).
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum FakeFaultKind {
    /// Wait, then answer normally.
    Delay { duration: Duration },
    /// Close the connection without executing or answering.
    CloseBeforeExecute,
    /// Execute (a call is placed), then close without answering.
    CloseAfterExecute,
    /// 502 with an HTML body, not executed.
    Html502,
    /// Executed, then 504 with an HTML body.
    Html504,
    /// Executed; half of the JSON answer, then the connection closes.
    TruncatedJson,
    /// 302 to the same address on host `localhost` (a renamed portal), until cleared.
    Rename,
    /// 503 `OVERLOAD_LIMIT`, not executed.
    Overload,
    /// 503 `QUERY_LIMIT_EXCEEDED`, not executed.
    QueryLimit,
    /// 429 `OPERATION_TIME_LIMIT`, not executed.
    OperationTimeLimit,
    /// Exactly this answer (200–599); `contentType` `null` = JSON; `execute`: run the request
    /// first and replace its answer. `body` may hold `{path}`, `{call_id}`, `{port}`,
    /// `{scheme}`.
    Respond {
        status: u16,
        body: String,
        content_type: Option<String>,
        execute: bool,
    },
    /// A redirect (300–399) to `location` (placeholders as for `Respond`).
    Redirect {
        status: u16,
        location: String,
        execute: bool,
    },
}

/// A scripted fault: `kind` applies to the next `times` requests (0 = until cleared) of
/// `method` (`null`/`nil` = any REST method; `"oauth.token"` = the token endpoint) to `host`
/// (`null`/`nil` = any).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FakeFault {
    pub kind: FakeFaultKind,
    #[uniffi(default = None)]
    pub method: Option<String>,
    #[uniffi(default = 1)]
    pub times: u32,
    #[uniffi(default = None)]
    pub host: Option<String>,
}

/// One call the portal placed. Printing it masks the number and hides the text.
#[derive(Clone, PartialEq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct FakeCall {
    /// `null`/`nil` for a REST-application line.
    pub call_id: Option<String>,
    pub line: String,
    /// `TO_NUMBER` as the portal keeps it (digits and `+`).
    pub number: String,
    pub text: String,
    pub voice: Option<String>,
    /// Unix time, seconds.
    pub placed_at: f64,
    /// The `number` of the request that placed it (see `requests()`).
    pub request_number: u64,
}

impl fmt::Debug for FakeCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FakeCall(callId={:?}, line={:?}, number={}, text=<{} chars>, voice={:?}, \
             requestNumber={})",
            self.call_id,
            self.line,
            core::mask_number(&self.number),
            self.text.chars().count(),
            self.voice,
            self.request_number,
        )
    }
}

impl fmt::Display for FakeCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Counters since start or the last `reset()`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FakeStats {
    pub requests: u64,
    pub rest_requests: u64,
    pub token_requests: u64,
    pub refreshes: u64,
    pub refresh_failures: u64,
    pub rate_limited: u64,
    pub operation_time_limited: u64,
    pub auth_failures: u64,
    /// `voximplant.callback.start` requests that reached the method.
    pub callback_requests: u64,
    pub calls_placed: u64,
    pub faults_applied: u64,
    pub events_delivered: u64,
    pub events_failed: u64,
}

/// One request as the portal received it. Printing it hides the webhook secret in the path
/// and shows only the sizes of query and body.
#[derive(Clone, PartialEq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct FakeRequest {
    pub number: u64,
    pub http_method: String,
    /// Holds the webhook secret on webhook routes.
    pub path: String,
    pub query: String,
    pub host: String,
    /// Lower-case, `.json` removed; `null`/`nil` outside `/rest/`.
    pub rest_method: Option<String>,
    pub content_type: Option<String>,
    pub user_agent: Option<String>,
    pub body: String,
    /// `null`/`nil` when the connection was closed without an answer.
    pub status: Option<u16>,
}

/// A webhook path with its secret segment hidden.
fn redacted_path(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').collect();
    match segs.as_slice() {
        ["", "rest", user, _secret, rest @ ..]
            if !user.is_empty() && user.chars().all(|c| c.is_ascii_digit()) =>
        {
            let mut out = format!("/rest/{user}/[redacted]");
            for r in rest {
                out.push('/');
                out.push_str(r);
            }
            out
        }
        _ => path.to_owned(),
    }
}

impl fmt::Debug for FakeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FakeRequest(number={}, httpMethod={}, path={}, query=<{} bytes>, restMethod={:?}, \
             userAgent={:?}, body=<{} bytes>, status={:?})",
            self.number,
            self.http_method,
            redacted_path(&self.path),
            self.query.len(),
            self.rest_method,
            self.user_agent,
            self.body.len(),
            self.status,
        )
    }
}

impl fmt::Display for FakeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A fresh OAuth pair issued by the portal. Printing it hides both tokens.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct FakeTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

impl fmt::Debug for FakeTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FakeTokens(accessToken=[redacted], refreshToken=[redacted], expiresIn={})",
            self.expires_in
        )
    }
}

impl fmt::Display for FakeTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A simulated call. Printing it masks the number.
#[derive(Clone, PartialEq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct FakeCallState {
    pub call_id: String,
    pub line: String,
    pub number: String,
    /// `ringing_manager`, `speaking_text`, `dialling_client`, `connected` or `ended`.
    pub stage: String,
    /// Once ended: `answered`, `busy`, `no_answer`, `declined`, `insufficient_funds`,
    /// `invalid_number`.
    pub outcome: Option<String>,
    /// Once ended: `CALL_FAILED_CODE` (`"200"` when answered).
    pub failed_code: Option<String>,
    pub duration_seconds: u64,
}

impl fmt::Debug for FakeCallState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FakeCallState(callId={}, line={:?}, number={}, stage={}, outcome={:?})",
            self.call_id,
            self.line,
            core::mask_number(&self.number),
            self.stage,
            self.outcome,
        )
    }
}

impl fmt::Display for FakeCallState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A telephony event the portal POSTed (or tried to). Printing it hides the body, which
/// holds the application token and the full number.
#[derive(Clone, PartialEq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct FakeEvent {
    pub event: String,
    pub call_id: String,
    pub handler_url: String,
    /// The form-urlencoded body, as `parseEvent` takes it.
    pub body: String,
    /// The handler's status; `null`/`nil` when delivery failed.
    pub status: Option<u16>,
    pub error: Option<String>,
}

impl fmt::Debug for FakeEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FakeEvent(event={}, callId={}, handlerUrl={}, body=<{} bytes>, status={:?}, \
             error={:?})",
            self.event,
            self.call_id,
            self.handler_url,
            self.body.len(),
            self.status,
            self.error,
        )
    }
}

impl fmt::Display for FakeEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Whether this build of the library has the fake portal (the cargo feature `testing`).
#[uniffi::export]
pub fn fake_portal_available() -> bool {
    cfg!(feature = "testing")
}

/// A fake Bitrix24 portal on the loopback interface, in this process: webhook and OAuth
/// routes, the token endpoint, lines, voices, simulated calls with their statistics, telephony
/// events, a leaky bucket, scripted faults, and a ledger of every call placed. Only real
/// numbers never ring.
///
/// Needs the testing build of the library (cargo feature `testing`); in any other build
/// `start` throws `Unavailable`. The server stops with `stop()` or when the object is freed
/// (Kotlin `close()`/`use { }`, Swift `deinit`); after `stop()` the addresses stay readable
/// and the lists are empty.
#[derive(uniffi::Object)]
pub struct FakePortal {
    backend: Backend,
}

impl fmt::Debug for FakePortal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakePortal").finish_non_exhaustive()
    }
}

#[uniffi::export]
impl FakePortal {
    /// Starts a portal on `127.0.0.1` (a free port unless `options.port` says otherwise).
    #[uniffi::constructor(default(options = None))]
    pub fn start(options: Option<FakePortalOptions>) -> Result<Arc<Self>, FakePortalError> {
        Ok(Arc::new(FakePortal {
            backend: Backend::start(options.unwrap_or_default())?,
        }))
    }

    /// `http://127.0.0.1:PORT` (`https://` with `tls`), no trailing slash.
    pub fn base_url(&self) -> String {
        self.backend.info().base_url.clone()
    }

    /// `{baseUrl}/rest/1/fakewebhooksecret0001/`: pass it to `CallbackClient.webhook`.
    pub fn webhook_url(&self) -> String {
        with_portal!(self, p => p.webhook_url(), self.backend.info().webhook_url.clone())
    }

    /// `{baseUrl}/rest/`: the OAuth `clientEndpoint`.
    pub fn client_endpoint(&self) -> String {
        format!("{}/rest/", self.base_url())
    }

    /// `{baseUrl}/rest/`: the OAuth `serverEndpoint` (the token endpoint is on the same host).
    pub fn server_endpoint(&self) -> String {
        format!("{}/rest/", self.base_url())
    }

    /// `{baseUrl}/_fake/`: the JSON admin endpoint (the same functions over HTTP).
    pub fn admin_url(&self) -> String {
        format!("{}/_fake/", self.base_url())
    }

    /// The CA certificate (PEM) of a `tls` portal: pass it in `ClientOptions.rootCertificates`.
    pub fn ca_pem(&self) -> Option<String> {
        self.backend.info().ca_pem.clone()
    }

    /// The portal's `member_id`.
    pub fn member_id(&self) -> String {
        self.backend.info().member_id.clone()
    }

    /// The webhook secret (to check that it never shows up anywhere).
    pub fn webhook_secret(&self) -> String {
        with_portal!(self, p => p.config().webhook_secret, String::new())
    }

    pub fn oauth_client_id(&self) -> String {
        with_portal!(self, p => p.config().oauth_client_id, String::new())
    }

    pub fn oauth_client_secret(&self) -> String {
        with_portal!(self, p => p.config().oauth_client_secret, String::new())
    }

    /// The `auth[application_token]` of the events (`parseEvent`'s expected token).
    pub fn application_token(&self) -> String {
        with_portal!(self, p => p.config().application_token, String::new())
    }

    /// Changes the running portal: every field set in `options` (`tls` and `port` are ignored).
    pub fn update(&self, options: FakePortalOptions) {
        with_portal!(self, p => p.update_config(|c| apply(c, options)), ())
    }

    /// Issues a fresh OAuth pair.
    pub fn issue_tokens(&self) -> FakeTokens {
        with_portal!(self, p => p.issue_tokens().into(), FakeTokens {
            access_token: String::new(),
            refresh_token: String::new(),
            expires_in: 0,
        })
    }

    /// A fresh OAuth pair with this portal's client id, secret and endpoints, ready for
    /// `CallbackClient.oauth`.
    pub fn issue_oauth_credentials(&self) -> OAuthCredentials {
        let tokens = self.issue_tokens();
        OAuthCredentials {
            client_id: self.oauth_client_id(),
            client_secret: self.oauth_client_secret(),
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            client_endpoint: self.client_endpoint(),
            server_endpoint: self.server_endpoint(),
        }
    }

    /// Expires every access token issued so far (they answer `expired_token`).
    pub fn expire_access_tokens(&self) {
        with_portal!(self, p => p.expire_access_tokens(), ())
    }

    /// Scripts a fault; a `Respond` or `Redirect` whose status or header is out of range is
    /// refused with `Failed`.
    pub fn add_fault(&self, fault: FakeFault) -> Result<(), FakePortalError> {
        with_portal!(self, p => {
            let fault = fault_of(fault);
            fault.kind.validate().map_err(|reason| FakePortalError::Failed { reason })?;
            p.add_fault(fault);
            Ok(())
        }, Err(FakePortalError::Failed { reason: "the fake portal was stopped".into() }))
    }

    /// Removes every scripted fault (a `Rename` too).
    pub fn clear_faults(&self) {
        with_portal!(self, p => p.clear_faults(), ())
    }

    /// Every call placed, in order.
    pub fn ledger(&self) -> Vec<FakeCall> {
        with_portal!(self, p => p.ledger().into_iter().map(FakeCall::from).collect(), Vec::new())
    }

    pub fn stats(&self) -> FakeStats {
        with_portal!(self, p => p.stats().into(), FakeStats::from_counts([0; 13]))
    }

    /// The requests received (the admin endpoint's excluded; the last 10 000).
    pub fn requests(&self) -> Vec<FakeRequest> {
        with_portal!(self, p => p.requests().into_iter().map(FakeRequest::from).collect(), Vec::new())
    }

    /// Every simulated call, in the order placed.
    pub fn calls(&self) -> Vec<FakeCallState> {
        with_portal!(self, p => p.calls().into_iter().map(FakeCallState::from).collect(), Vec::new())
    }

    pub fn call(&self, call_id: String) -> Option<FakeCallState> {
        with_portal!(self, p => p.call(&call_id).map(FakeCallState::from), None)
    }

    /// The telephony events sent so far (delivered or not).
    pub fn events(&self) -> Vec<FakeEvent> {
        with_portal!(self, p => p.events().into_iter().map(FakeEvent::from).collect(), Vec::new())
    }

    /// Clears the ledger, calls, statistics, requests, counters, faults, events, the bucket
    /// and the budgets; tokens and settings stay.
    pub fn reset(&self) {
        with_portal!(self, p => p.reset(), ())
    }

    /// Stops the server (idempotent).
    pub fn stop(&self) {
        self.backend.stop();
    }

    pub fn is_running(&self) -> bool {
        with_portal!(self, _p => true, false)
    }
}

impl FakeStats {
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    fn from_counts(c: [u64; 13]) -> FakeStats {
        let [
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
        ] = c;
        FakeStats {
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
        }
    }
}

/// What stays readable after `stop()`.
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
struct Info {
    base_url: String,
    webhook_url: String,
    ca_pem: Option<String>,
    member_id: String,
}

// ---- the real portal (feature `testing`) --------------------------------------------------

#[cfg(feature = "testing")]
use callback_fake_portal as fake;

#[cfg(feature = "testing")]
struct Backend {
    portal: std::sync::Mutex<Option<fake::FakePortal>>,
    info: Info,
}

#[cfg(feature = "testing")]
impl Backend {
    fn start(options: FakePortalOptions) -> Result<Backend, FakePortalError> {
        let mut config = fake::FakePortalConfig {
            tls: options.tls,
            port: options.port.unwrap_or(0),
            ..fake::FakePortalConfig::default()
        };
        apply(&mut config, options);
        let portal = fake::FakePortal::start(config).map_err(|e| FakePortalError::Failed {
            reason: format!("the fake portal could not start: {e}"),
        })?;
        let info = Info {
            base_url: portal.base_url(),
            webhook_url: portal.webhook_url(),
            ca_pem: portal.ca_pem(),
            member_id: portal.member_id(),
        };
        Ok(Backend {
            portal: std::sync::Mutex::new(Some(portal)),
            info,
        })
    }

    fn info(&self) -> &Info {
        &self.info
    }

    fn stop(&self) {
        let portal = self
            .portal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        // Dropping it stops the server (outside the lock).
        drop(portal);
    }
}

/// Applies every field set in `o` (the fake portal's own `tls` and `port` are left alone).
#[cfg(feature = "testing")]
fn apply(c: &mut fake::FakePortalConfig, o: FakePortalOptions) {
    let FakePortalOptions {
        tls: _,
        port: _,
        stage_duration,
        webhook_user_id,
        webhook_secret,
        webhook_scopes,
        oauth_client_id,
        oauth_client_secret,
        oauth_scopes,
        access_token_lifetime,
        burst,
        drain_per_second,
        operating_limit,
        callback_processing,
        outgoing_call_permission,
        line_list_permission,
        empty_error_code,
        lines,
        rest_app_lines,
        application_token,
        event_handler,
    } = o;
    fn put<T>(slot: &mut T, value: Option<T>) {
        if let Some(v) = value {
            *slot = v;
        }
    }
    put(&mut c.stage_duration, stage_duration);
    put(&mut c.webhook_user_id, webhook_user_id);
    put(&mut c.webhook_secret, webhook_secret);
    put(&mut c.webhook_scopes, webhook_scopes);
    put(&mut c.oauth_client_id, oauth_client_id);
    put(&mut c.oauth_client_secret, oauth_client_secret);
    put(&mut c.oauth_scopes, oauth_scopes);
    put(&mut c.access_token_lifetime, access_token_lifetime);
    put(&mut c.burst, burst);
    put(&mut c.drain_per_second, drain_per_second);
    put(&mut c.operating_limit, operating_limit);
    put(&mut c.callback_processing, callback_processing);
    put(&mut c.outgoing_call_permission, outgoing_call_permission);
    put(&mut c.line_list_permission, line_list_permission);
    put(&mut c.empty_error_code, empty_error_code);
    put(
        &mut c.lines,
        lines.map(|l| l.into_iter().map(|l| (l.id, l.name)).collect()),
    );
    put(&mut c.rest_app_lines, rest_app_lines);
    put(&mut c.application_token, application_token);
    if let Some(url) = event_handler {
        c.event_handler = Some(url).filter(|u| !u.is_empty());
    }
}

#[cfg(feature = "testing")]
fn fault_of(f: FakeFault) -> fake::Fault {
    let FakeFault {
        kind,
        method,
        times,
        host,
    } = f;
    let kind = match kind {
        FakeFaultKind::Delay { duration } => fake::FaultKind::Delay(duration),
        FakeFaultKind::CloseBeforeExecute => fake::FaultKind::CloseBeforeExecute,
        FakeFaultKind::CloseAfterExecute => fake::FaultKind::CloseAfterExecute,
        FakeFaultKind::Html502 => fake::FaultKind::Html502,
        FakeFaultKind::Html504 => fake::FaultKind::Html504,
        FakeFaultKind::TruncatedJson => fake::FaultKind::TruncatedJson,
        FakeFaultKind::Rename => fake::FaultKind::Rename,
        FakeFaultKind::Overload => fake::FaultKind::Overload,
        FakeFaultKind::QueryLimit => fake::FaultKind::QueryLimit,
        FakeFaultKind::OperationTimeLimit => fake::FaultKind::OperationTimeLimit,
        FakeFaultKind::Respond {
            status,
            body,
            content_type,
            execute,
        } => fake::FaultKind::Respond {
            status,
            body,
            content_type,
            execute,
        },
        FakeFaultKind::Redirect {
            status,
            location,
            execute,
        } => fake::FaultKind::Redirect {
            status,
            location,
            execute,
        },
    };
    fake::Fault {
        kind,
        method,
        times,
        host,
    }
}

#[cfg(feature = "testing")]
impl From<fake::LedgerEntry> for FakeCall {
    fn from(e: fake::LedgerEntry) -> Self {
        let fake::LedgerEntry {
            call_id,
            line,
            number,
            text,
            voice,
            placed_at,
            request_number,
        } = e;
        FakeCall {
            call_id,
            line,
            number,
            text,
            voice,
            placed_at,
            request_number,
        }
    }
}

#[cfg(feature = "testing")]
impl From<fake::Stats> for FakeStats {
    fn from(s: fake::Stats) -> Self {
        let fake::Stats {
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
        FakeStats::from_counts([
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
        ])
    }
}

#[cfg(feature = "testing")]
impl From<fake::RecordedRequest> for FakeRequest {
    fn from(r: fake::RecordedRequest) -> Self {
        let fake::RecordedRequest {
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
        FakeRequest {
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
        }
    }
}

#[cfg(feature = "testing")]
impl From<fake::TokenGrant> for FakeTokens {
    fn from(t: fake::TokenGrant) -> Self {
        FakeTokens {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            expires_in: t.expires_in,
        }
    }
}

#[cfg(feature = "testing")]
impl From<fake::CallState> for FakeCallState {
    fn from(c: fake::CallState) -> Self {
        let fake::CallState {
            call_id,
            line,
            number,
            stage,
            outcome,
            failed_code,
            duration,
        } = c;
        FakeCallState {
            call_id,
            line,
            number,
            stage: stage.as_str().to_owned(),
            outcome: outcome.map(|o| o.as_str().to_owned()),
            failed_code,
            duration_seconds: duration,
        }
    }
}

#[cfg(feature = "testing")]
impl From<fake::DeliveredEvent> for FakeEvent {
    fn from(e: fake::DeliveredEvent) -> Self {
        let fake::DeliveredEvent {
            event,
            call_id,
            handler_url,
            body,
            status,
            error,
        } = e;
        FakeEvent {
            event,
            call_id,
            handler_url,
            body,
            status,
            error,
        }
    }
}

// ---- without the portal -------------------------------------------------------------------

/// No value of this type exists: without the feature no `FakePortal` can be made.
#[cfg(not(feature = "testing"))]
enum Backend {}

#[cfg(not(feature = "testing"))]
impl Backend {
    fn start(_options: FakePortalOptions) -> Result<Backend, FakePortalError> {
        Err(FakePortalError::Unavailable {
            reason: "this build of the library has no fake portal: tests need the testing build \
                     (cargo feature `testing`, see the README)"
                .into(),
        })
    }

    fn unreachable(&self) -> ! {
        match *self {}
    }

    fn info(&self) -> &Info {
        self.unreachable()
    }

    fn stop(&self) {
        self.unreachable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printing_hides_secrets_and_numbers() {
        let r = FakeRequest {
            number: 1,
            http_method: "POST".into(),
            path: "/rest/1/topsecret123/voximplant.callback.start.json".into(),
            query: "auth=token".into(),
            host: "127.0.0.1".into(),
            rest_method: Some("voximplant.callback.start".into()),
            content_type: None,
            user_agent: None,
            body: "{\"TO_NUMBER\":\"+12015550123\"}".into(),
            status: Some(200),
        };
        let text = format!("{r:?} {r}");
        assert!(!text.contains("topsecret123") && !text.contains("+12015550123"));
        assert!(!text.contains("auth=token"));
        let t = FakeTokens {
            access_token: "acc123".into(),
            refresh_token: "ref456".into(),
            expires_in: 3600,
        };
        assert!(!format!("{t:?}").contains("acc123"));
        let o = FakePortalOptions {
            webhook_secret: Some("s3cret".into()),
            oauth_client_secret: Some("c5ecret".into()),
            application_token: Some("apptok".into()),
            ..FakePortalOptions::default()
        };
        let text = format!("{o:?}");
        assert!(!text.contains("s3cret") && !text.contains("c5ecret") && !text.contains("apptok"));
    }

    #[cfg(not(feature = "testing"))]
    #[test]
    fn without_the_feature_the_portal_is_unavailable() {
        assert!(!fake_portal_available());
        let err = FakePortal::start(None).unwrap_err();
        assert!(matches!(err, FakePortalError::Unavailable { .. }));
        assert!(err.to_string().contains("testing"));
    }
}
