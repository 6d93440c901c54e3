//! Configuration of the fake portal and the public value types it reports.

use std::fmt;
use std::time::Duration;

/// Default webhook secret of the fake portal.
pub const DEFAULT_WEBHOOK_SECRET: &str = "fakewebhooksecret0001";
/// Default OAuth client id (`local.<app>.<n>` like a local Bitrix24 application).
pub const DEFAULT_OAUTH_CLIENT_ID: &str = "local.fakeapp.0001";
/// Default OAuth client secret.
pub const DEFAULT_OAUTH_CLIENT_SECRET: &str = "fakeclientsecret0001";
/// Default `auth[application_token]` sent with telephony events.
pub const DEFAULT_APPLICATION_TOKEN: &str = "fakeapplicationtoken0001";
/// The REST-application pseudo line configured by default (`CALL_ID` is `null` for it).
pub const DEFAULT_REST_APP_LINE: &str = "REST_APP:1";

/// Everything that shapes the fake portal's behaviour.
///
/// All fields are public; start from [`FakePortalConfig::default`] and change what a test needs.
/// Most fields can also be changed while the portal runs with
/// [`FakePortal::update_config`](crate::FakePortal::update_config) (all except `port` and `tls`).
#[derive(Clone)]
pub struct FakePortalConfig {
    /// TCP port on 127.0.0.1; `0` (default) lets the system pick a free one.
    pub port: u16,
    /// Serve HTTPS with a certificate signed by a CA generated at start (see
    /// [`FakePortal::ca_pem`](crate::FakePortal::ca_pem)). Default `false`.
    pub tls: bool,
    /// The user id in the webhook path `/rest/{user_id}/{secret}/`. Default `1`.
    pub webhook_user_id: u32,
    /// The webhook secret. Default [`DEFAULT_WEBHOOK_SECRET`].
    pub webhook_secret: String,
    /// Scopes of the webhook. Default `["call", "telephony"]`.
    pub webhook_scopes: Vec<String>,
    /// OAuth application client id. Default [`DEFAULT_OAUTH_CLIENT_ID`].
    pub oauth_client_id: String,
    /// OAuth application client secret. Default [`DEFAULT_OAUTH_CLIENT_SECRET`].
    pub oauth_client_secret: String,
    /// Scopes granted to OAuth tokens issued from now on. Default `["call", "telephony"]`.
    pub oauth_scopes: Vec<String>,
    /// Lifetime of issued access tokens. Default 3600 s.
    pub access_token_lifetime: Duration,
    /// Leaky bucket size `X`: the number of requests admitted at once. Default 50.
    pub burst: u32,
    /// Leaky bucket drain `Y` in requests per second. Default 2.0.
    pub drain_per_second: f64,
    /// Per-method operating budget within the 10-minute window. Default 480 s.
    pub operating_limit: Duration,
    /// Simulated handler time of one `voximplant.callback.start`, reported as `time.processing`
    /// and counted into `time.operating` (the request is not actually slowed down). Default 1 s.
    pub callback_processing: Duration,
    /// Whether the webhook/token user has "Outgoing call — Perform — Any". Default `true`;
    /// `false` makes `voximplant.callback.start` answer 403 `ACCESS_DENIED`.
    pub outgoing_call_permission: bool,
    /// Whether the user may list lines ("Management of numbers — modify"). Default `true`;
    /// `false` makes `voximplant.line.get` answer 403 `ACCESS_DENIED`.
    pub line_list_permission: bool,
    /// Business errors of `voximplant.callback.start` carry `"error": ""` instead of
    /// `"ERROR_CORE"` (both occur on real portals). Default `false`.
    pub empty_error_code: bool,
    /// Lines as `(id, display name)`; names are served HTML-escaped by `voximplant.line.get`.
    pub lines: Vec<(String, String)>,
    /// Lines owned by a telephony REST application (`CALL_ID` is `null` for them); accepted by
    /// `voximplant.callback.start`, not listed by `voximplant.line.get`. Default `["REST_APP:1"]`.
    pub rest_app_lines: Vec<String>,
    /// Length of each simulated call stage. Default 1 s.
    pub stage_duration: Duration,
    /// `auth[application_token]` sent with every event. Default [`DEFAULT_APPLICATION_TOKEN`].
    pub application_token: String,
    /// `http://` URL the telephony events are POSTed to; `None` (default) sends none.
    pub event_handler: Option<String>,
}

impl Default for FakePortalConfig {
    fn default() -> Self {
        FakePortalConfig {
            port: 0,
            tls: false,
            webhook_user_id: 1,
            webhook_secret: DEFAULT_WEBHOOK_SECRET.to_string(),
            webhook_scopes: vec!["call".to_string(), "telephony".to_string()],
            oauth_client_id: DEFAULT_OAUTH_CLIENT_ID.to_string(),
            oauth_client_secret: DEFAULT_OAUTH_CLIENT_SECRET.to_string(),
            oauth_scopes: vec!["call".to_string(), "telephony".to_string()],
            access_token_lifetime: Duration::from_secs(3600),
            burst: 50,
            drain_per_second: 2.0,
            operating_limit: Duration::from_secs(480),
            callback_processing: Duration::from_secs(1),
            outgoing_call_permission: true,
            line_list_permission: true,
            empty_error_code: false,
            lines: default_lines(),
            rest_app_lines: vec![DEFAULT_REST_APP_LINE.to_string()],
            stage_duration: Duration::from_secs(1),
            application_token: DEFAULT_APPLICATION_TOKEN.to_string(),
            event_handler: None,
        }
    }
}

/// The default line list: a cloud PBX line, an office PBX line whose name needs HTML escaping,
/// and a rented number.
pub fn default_lines() -> Vec<(String, String)> {
    vec![
        ("reg1".to_string(), "Sales (cloud PBX)".to_string()),
        (
            "sip7".to_string(),
            "Office PBX \"Main\" <Support & Sales>".to_string(),
        ),
        ("74951234567".to_string(), "+7 495 123-45-67".to_string()),
    ]
}

impl fmt::Debug for FakePortalConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakePortalConfig")
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("webhook_user_id", &self.webhook_user_id)
            .field("webhook_secret", &"<redacted>")
            .field("webhook_scopes", &self.webhook_scopes)
            .field("oauth_client_id", &self.oauth_client_id)
            .field("oauth_client_secret", &"<redacted>")
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
            .field("stage_duration", &self.stage_duration)
            .field("application_token", &"<redacted>")
            .field("event_handler", &self.event_handler)
            .finish()
    }
}

/// A fresh OAuth token pair, as [`FakePortal::issue_tokens`](crate::FakePortal::issue_tokens)
/// returns it. `Debug` hides both tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// The access token (send it as `auth`, `access_token` or `Authorization: Bearer`).
    pub access_token: String,
    /// The single-use refresh token.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenGrant")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// What a scripted fault does to a matching request. See the crate docs for the exact
/// socket-level behaviour of each kind.
///
/// # Placeholders
///
/// The `body` of [`FaultKind::Respond`] and the `location` of [`FaultKind::Redirect`] may
/// contain these, filled in verbatim (no escaping) in one pass, so an inserted value is never
/// itself searched for placeholders:
///
/// * `{path}`: the request's path and query exactly as received (a webhook path contains the
///   secret: for tests that check a client never repeats what a portal or proxy echoes);
/// * `{call_id}`: the `CALL_ID` of the call the executed request placed, or the empty string
///   when nothing was placed (not executed, another method, a REST-application line, an
///   error);
/// * `{port}`: the portal's port;
/// * `{scheme}`: `http` or `https`.
///
/// Any other `{...}` (JSON has plenty) is left as it is.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// Wait this long, then process the request normally.
    Delay(Duration),
    /// Close the connection without executing or answering.
    CloseBeforeExecute,
    /// Execute the request (a call is placed), then close without answering.
    CloseAfterExecute,
    /// Answer 502 with an HTML body, without executing.
    Html502,
    /// Execute the request, then answer 504 with an HTML body.
    Html504,
    /// Execute, announce the full `Content-Length`, send half of the JSON body, then close.
    TruncatedJson,
    /// Answer 302 with `Location` = the same URL on host `localhost` (same scheme and port);
    /// requests that already use host `localhost` are served normally. Active until cleared
    /// (`times` is ignored).
    Rename,
    /// Answer 503 `OVERLOAD_LIMIT` without executing.
    Overload,
    /// Answer 503 `QUERY_LIMIT_EXCEEDED` without executing (regardless of the bucket).
    QueryLimit,
    /// Answer 429 `OPERATION_TIME_LIMIT` without executing (regardless of the budget).
    OperationTimeLimit,
    /// Answer exactly `status` and `body` (a canned answer, for contradictory or odd portal
    /// answers). `body` may contain the [placeholders](FaultKind#placeholders).
    Respond {
        /// HTTP status, 200 to 599.
        status: u16,
        /// The body, sent byte for byte after the placeholders are filled in (HTTP sends no
        /// body with 204 and 304).
        body: String,
        /// `Content-Type`; `None` = `application/json; charset=utf-8`.
        content_type: Option<String>,
        /// `true`: execute the request first (a `voximplant.callback.start` places a call and
        /// is recorded in the ledger exactly as a normal one) and replace its answer; `false`:
        /// execute nothing.
        execute: bool,
    },
    /// Answer a redirect: `status` with `Location: location` and a short HTML body. Unlike
    /// [`FaultKind::Rename`] it follows the normal `times` rule and applies to requests to
    /// host `localhost` too. `location` may contain the
    /// [placeholders](FaultKind#placeholders).
    Redirect {
        /// HTTP status, 300 to 399.
        status: u16,
        /// The `Location` header, after the placeholders are filled in.
        location: String,
        /// `true`: execute the request first (a 303 "See Other" after processing a POST);
        /// `false`: execute nothing.
        execute: bool,
    },
}

impl FaultKind {
    /// The snake_case name used by the admin endpoint.
    pub fn as_str(&self) -> &'static str {
        match self {
            FaultKind::Delay(_) => "delay",
            FaultKind::CloseBeforeExecute => "close_before_execute",
            FaultKind::CloseAfterExecute => "close_after_execute",
            FaultKind::Html502 => "html_502",
            FaultKind::Html504 => "html_504",
            FaultKind::TruncatedJson => "truncated_json",
            FaultKind::Rename => "rename",
            FaultKind::Overload => "overload",
            FaultKind::QueryLimit => "query_limit",
            FaultKind::OperationTimeLimit => "operation_time_limit",
            FaultKind::Respond { .. } => "respond",
            FaultKind::Redirect { .. } => "redirect",
        }
    }

    /// Parses the admin-endpoint name of a kind that needs nothing but, for `delay`, its
    /// duration (taken from `delay`). `respond` and `redirect` carry fields of their own and
    /// give `None` here, like unknown names (the admin endpoint reads their fields from its
    /// JSON body).
    pub fn from_name(name: &str, delay: Duration) -> Option<FaultKind> {
        Some(match name {
            "delay" => FaultKind::Delay(delay),
            "close_before_execute" => FaultKind::CloseBeforeExecute,
            "close_after_execute" => FaultKind::CloseAfterExecute,
            "html_502" => FaultKind::Html502,
            "html_504" => FaultKind::Html504,
            "truncated_json" => FaultKind::TruncatedJson,
            "rename" => FaultKind::Rename,
            "overload" => FaultKind::Overload,
            "query_limit" => FaultKind::QueryLimit,
            "operation_time_limit" => FaultKind::OperationTimeLimit,
            _ => return None,
        })
    }

    /// Whether the kind can be sent as scripted: a [`FaultKind::Respond`] status within
    /// 200..=599 and a `content_type` usable as a header value, a [`FaultKind::Redirect`]
    /// status within 300..=399 and a `location` usable as a header value. The error says
    /// what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        let header_ok = |v: &str| v.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b));
        match self {
            FaultKind::Respond {
                status,
                content_type,
                ..
            } => {
                if !(200..=599).contains(status) {
                    return Err(format!("respond: status {status} is not within 200..=599"));
                }
                if content_type.as_deref().is_some_and(|ct| !header_ok(ct)) {
                    return Err("respond: content_type is not a valid header value".into());
                }
                Ok(())
            }
            FaultKind::Redirect {
                status, location, ..
            } => {
                if !(300..=399).contains(status) {
                    return Err(format!("redirect: status {status} is not within 300..=399"));
                }
                if !header_ok(location) {
                    return Err("redirect: location is not a valid header value".into());
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// A scripted fault: `kind` applies to the next `times` requests for `method` (and `host`).
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// What happens.
    pub kind: FaultKind,
    /// REST method it applies to (case-insensitive, `.json` ignored); `None` = any REST method.
    /// The token endpoint is matched only by the explicit name `"oauth.token"`.
    pub method: Option<String>,
    /// How many matching requests it applies to; `0` = every one until cleared.
    pub times: u32,
    /// Only requests whose `Host` header names this host (case-insensitive, port ignored,
    /// `[::1]` and `::1` alike); `None` = any host.
    pub host: Option<String>,
}

impl Fault {
    /// A fault for one request of `method` (`None` = any REST method), on any host.
    pub fn once(kind: FaultKind, method: Option<&str>) -> Fault {
        Fault {
            kind,
            method: method.map(str::to_string),
            times: 1,
            host: None,
        }
    }

    /// The same fault for `times` matching requests (`0` = until cleared).
    pub fn with_times(mut self, times: u32) -> Fault {
        self.times = times;
        self
    }

    /// The same fault, only for requests to `host` (see [`Fault::host`]).
    pub fn with_host(mut self, host: &str) -> Fault {
        self.host = Some(host.to_string());
        self
    }
}

/// One call placed by `voximplant.callback.start`.
#[derive(Clone, PartialEq)]
pub struct LedgerEntry {
    /// The `CALL_ID` returned (`None` for REST-application lines).
    pub call_id: Option<String>,
    /// `FROM_LINE` as sent.
    pub line: String,
    /// `TO_NUMBER` after the server's stripping (digits and `#*+,;`).
    pub number: String,
    /// `TEXT_TO_PRONOUNCE` as sent.
    pub text: String,
    /// `VOICE` as sent (`None` when absent or empty).
    pub voice: Option<String>,
    /// Unix time (seconds, fractional) when it was placed.
    pub placed_at: f64,
    /// Sequence number of the request that placed it (see [`RecordedRequest::number`]).
    pub request_number: u64,
}

/// Counters since start (or the last reset).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Every request except the admin endpoint (REST, token endpoint, anything else).
    pub requests: u64,
    /// Requests under `/rest/`.
    pub rest_requests: u64,
    /// Requests to the token endpoint `/oauth/token/`.
    pub token_requests: u64,
    /// Successful refresh-token grants.
    pub refreshes: u64,
    /// Rejected token-endpoint requests (`invalid_grant`, `invalid_client`, ...).
    pub refresh_failures: u64,
    /// 503 `QUERY_LIMIT_EXCEEDED` answers (bucket or forced).
    pub rate_limited: u64,
    /// 429 `OPERATION_TIME_LIMIT` answers (budget or forced).
    pub operation_time_limited: u64,
    /// 401/403 authentication and scope rejections.
    pub auth_failures: u64,
    /// `voximplant.callback.start` requests that reached the method handler.
    pub callback_requests: u64,
    /// Calls placed (ledger entries).
    pub calls_placed: u64,
    /// Faults applied to requests.
    pub faults_applied: u64,
    /// Events the handler answered with 2xx.
    pub events_delivered: u64,
    /// Events that could not be delivered or got a non-2xx answer.
    pub events_failed: u64,
}

/// One request as the portal received it.
#[derive(Clone, PartialEq)]
pub struct RecordedRequest {
    /// 1-based sequence number.
    pub number: u64,
    /// `GET`, `POST`, ...
    pub http_method: String,
    /// Path without the query string (contains the webhook secret on webhook routes).
    pub path: String,
    /// Raw query string (empty when none).
    pub query: String,
    /// `Host` header.
    pub host: String,
    /// The REST method, lower-cased, `.json` removed (`None` outside `/rest/`).
    pub rest_method: Option<String>,
    /// `Content-Type` header.
    pub content_type: Option<String>,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
    /// The body (lossy UTF-8).
    pub body: String,
    /// HTTP status answered; `None` when the connection was closed without an answer
    /// (or the answer is still pending).
    pub status: Option<u16>,
}

/// Stage of a simulated call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallStage {
    /// The manager's line is ringing.
    RingingManager,
    /// The text is being spoken to the manager.
    SpeakingText,
    /// The client's number is being dialled.
    DiallingClient,
    /// Manager and client are talking.
    Connected,
    /// Finished; the statistic record exists.
    Ended,
}

impl CallStage {
    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CallStage::RingingManager => "ringing_manager",
            CallStage::SpeakingText => "speaking_text",
            CallStage::DiallingClient => "dialling_client",
            CallStage::Connected => "connected",
            CallStage::Ended => "ended",
        }
    }
}

/// How a simulated call ends, chosen by the destination number (see the crate docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    /// `CALL_FAILED_CODE` 200, `CALL_DURATION` 42.
    Answered,
    /// 486.
    Busy,
    /// 304.
    NoAnswer,
    /// 603.
    Declined,
    /// 402.
    InsufficientFunds,
    /// 404.
    InvalidNumber,
}

impl CallOutcome {
    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Answered => "answered",
            CallOutcome::Busy => "busy",
            CallOutcome::NoAnswer => "no_answer",
            CallOutcome::Declined => "declined",
            CallOutcome::InsufficientFunds => "insufficient_funds",
            CallOutcome::InvalidNumber => "invalid_number",
        }
    }

    /// `CALL_FAILED_CODE` of the statistic record.
    pub fn failed_code(self) -> &'static str {
        match self {
            CallOutcome::Answered => "200",
            CallOutcome::Busy => "486",
            CallOutcome::NoAnswer => "304",
            CallOutcome::Declined => "603",
            CallOutcome::InsufficientFunds => "402",
            CallOutcome::InvalidNumber => "404",
        }
    }

    /// `CALL_FAILED_REASON` of the statistic record.
    pub fn failed_reason(self) -> &'static str {
        match self {
            CallOutcome::Answered => "Success call",
            CallOutcome::Busy => "Busy",
            CallOutcome::NoAnswer => "Skipped call",
            CallOutcome::Declined => "Call declined",
            CallOutcome::InsufficientFunds => "Insufficient funds",
            CallOutcome::InvalidNumber => "Invalid number",
        }
    }

    /// Talk time in seconds reported when the call ends.
    pub fn duration_seconds(self) -> u64 {
        match self {
            CallOutcome::Answered => ANSWERED_CALL_SECONDS,
            _ => 0,
        }
    }
}

/// `CALL_DURATION` of an answered simulated call.
pub const ANSWERED_CALL_SECONDS: u64 = 42;

/// State of one simulated call.
#[derive(Clone, PartialEq)]
pub struct CallState {
    /// The `CALL_ID`.
    pub call_id: String,
    /// `FROM_LINE`.
    pub line: String,
    /// The stripped destination number.
    pub number: String,
    /// Current stage.
    pub stage: CallStage,
    /// The outcome, once the call has ended.
    pub outcome: Option<CallOutcome>,
    /// `CALL_FAILED_CODE` ("200" when answered), once the call has ended.
    pub failed_code: Option<String>,
    /// Talk time in seconds (0 until ended or when not answered).
    pub duration: u64,
}

/// One telephony event the portal tried to deliver.
#[derive(Clone, PartialEq)]
pub struct DeliveredEvent {
    /// `ONVOXIMPLANTCALLINIT`, `ONVOXIMPLANTCALLSTART`, `ONVOXIMPLANTCALLEND` or
    /// `ONEXTERNALCALLBACKSTART`.
    pub event: String,
    /// The call it is about (empty for `ONEXTERNALCALLBACKSTART`, which has no `CALL_ID`).
    pub call_id: String,
    /// Where it was POSTed.
    pub handler_url: String,
    /// The form-urlencoded body sent.
    pub body: String,
    /// The handler's HTTP status; `None` when delivery failed.
    pub status: Option<u16>,
    /// Why delivery failed, if it did.
    pub error: Option<String>,
}

/// `+12015550123` → `+12015****23`: enough to tell test numbers apart, never the full number.
fn masked(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..chars.len() - 6].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}****{tail}")
}

/// A webhook path with its secret segment hidden.
fn redacted_path(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').collect();
    match segs.as_slice() {
        ["", "rest", user, _secret, rest @ ..]
            if !user.is_empty() && user.chars().all(|c| c.is_ascii_digit()) =>
        {
            let mut out = format!("/rest/{user}/<redacted>");
            for r in rest {
                out.push('/');
                out.push_str(r);
            }
            out
        }
        _ => path.to_string(),
    }
}

// Debug output hides webhook secrets, tokens and full phone numbers (they may end up in test
// logs); the fields themselves keep everything for assertions.

impl fmt::Debug for LedgerEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LedgerEntry")
            .field("call_id", &self.call_id)
            .field("line", &self.line)
            .field("number", &masked(&self.number))
            .field("text_chars", &self.text.chars().count())
            .field("voice", &self.voice)
            .field("placed_at", &self.placed_at)
            .field("request_number", &self.request_number)
            .finish()
    }
}

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordedRequest")
            .field("number", &self.number)
            .field("http_method", &self.http_method)
            .field("path", &redacted_path(&self.path))
            .field("query_bytes", &self.query.len())
            .field("host", &self.host)
            .field("rest_method", &self.rest_method)
            .field("content_type", &self.content_type)
            .field("user_agent", &self.user_agent)
            .field("body_bytes", &self.body.len())
            .field("status", &self.status)
            .finish()
    }
}

impl fmt::Debug for CallState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallState")
            .field("call_id", &self.call_id)
            .field("line", &self.line)
            .field("number", &masked(&self.number))
            .field("stage", &self.stage)
            .field("outcome", &self.outcome)
            .field("failed_code", &self.failed_code)
            .field("duration", &self.duration)
            .finish()
    }
}

impl fmt::Debug for DeliveredEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveredEvent")
            .field("event", &self.event)
            .field("call_id", &self.call_id)
            .field("handler_url", &self.handler_url)
            .field("body_bytes", &self.body.len())
            .field("status", &self.status)
            .field("error", &self.error)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking() {
        assert_eq!(masked("+12015550123"), "+12015****23");
        assert_eq!(masked("12345"), "*****");
        assert_eq!(
            redacted_path("/rest/1/fakewebhooksecret0001/scope"),
            "/rest/1/<redacted>/scope"
        );
        assert_eq!(redacted_path("/rest/scope"), "/rest/scope");
    }
}
