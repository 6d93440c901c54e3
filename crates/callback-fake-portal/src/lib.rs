//! A Bitrix24 portal emulator on real loopback sockets, for testing clients of
//! `voximplant.callback.start` without a real portal (and without real phone calls).
//!
//! It is deliberately independent of `callback-core`: two implementations of one protocol check
//! each other. The wire behaviour follows Bitrix24's own server code and documentation.
//!
//! # Quick start
//!
//! ```no_run
//! use callback_fake_portal::{FakePortal, FakePortalConfig};
//! use std::time::Duration;
//!
//! let portal = FakePortal::start(FakePortalConfig {
//!     stage_duration: Duration::from_millis(20), // fast simulated calls
//!     ..FakePortalConfig::default()
//! })?;
//! // POST {"FROM_LINE":"reg1","TO_NUMBER":"+12015550123","TEXT_TO_PRONOUNCE":"Hi"} to
//! // format!("{}voximplant.callback.start.json", portal.webhook_url()) with any HTTP client.
//! println!("{}", portal.webhook_url()); // http://127.0.0.1:PORT/rest/1/fakewebhooksecret0001/
//! assert!(portal.ledger().is_empty());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The server runs on its own tokio runtime in a background thread; the Rust API is blocking
//! and usable from any thread. Dropping the [`FakePortal`] stops the server and closes its
//! connections.
//!
//! # Server
//!
//! HTTP/1.1 on `127.0.0.1` (port 0 = any free port), keep-alive, any number of concurrent
//! connections; no lock is held while a request sleeps (delays, simulated calls, event
//! delivery). With [`FakePortalConfig::tls`] it serves HTTPS: a CA is generated at start
//! ([`FakePortal::ca_pem`]) and signs a leaf certificate for both `127.0.0.1` and `localhost`.
//!
//! # Routes
//!
//! * Webhook: `/rest/{user_id}/{secret}/{method}[.json][/]`.
//! * OAuth: `/rest/{method}[.json]` with the access token in `Authorization: Bearer` (checked
//!   first), else parameter `auth`, else `access_token` (query, form body or JSON body).
//! * Parameters: GET query, POST `application/x-www-form-urlencoded` (PHP bracket keys such as
//!   `FILTER[CALL_ID]=...` become nested objects), POST `multipart/form-data` (text fields) and
//!   POST `application/json`; query and body
//!   are merged, the body wins. Method names are case-insensitive; the parameter keys of
//!   `voximplant.callback.start` are read exactly upper-case.
//! * Token endpoint: `/oauth/token/` (GET query or POST form),
//!   `grant_type=refresh_token&client_id&client_secret&refresh_token`.
//! * Admin endpoint: `/_fake/...` (below).
//!
//! Webhook calls over plain `http` are accepted (a real portal answers 400 `INVALID_REQUEST`
//! "Https required."): the fake runs on loopback.
//!
//! # Order of checks of a REST request
//!
//! 1. leaky bucket → 503 `QUERY_LIMIT_EXCEEDED` "Too many requests";
//! 2. authentication (below);
//! 3. method lookup → 404 `ERROR_METHOD_NOT_FOUND` "Method not found!";
//! 4. scope → 403 `insufficient_scope` "The request requires higher privileges than provided
//!    by the webhook token" (or "... access token"). 403 is the documented status (Bitrix24's
//!    system-errors page); live tests elsewhere have seen 401, so clients should accept both;
//! 5. operating budget → 429 `OPERATION_TIME_LIMIT` "Method is blocked due to operation time
//!    limit.";
//! 6. the method itself.
//!
//! Errors are `{"error": CODE, "error_description": TEXT}` without a `time` object; successes
//! are `{"result": ..., "time": {...}}` (plus `total`/`next` for lists). The `time` object mixes
//! integers and floats as the real one does: `start` (int), `finish` (float), `duration`
//! (float), `processing` (int when whole), `date_start`, `date_finish` (ISO-8601, `+00:00`),
//! `operating_reset_at` (int) and `operating` (float).
//!
//! # Authentication
//!
//! | situation | status | `error` | `error_description` |
//! |---|---|---|---|
//! | webhook secret unknown | 401 | `NO_AUTH_FOUND` | `Wrong authorization data` |
//! | right secret, other user id | 401 | `INVALID_CREDENTIALS` | `Invalid request credentials` |
//! | OAuth route without any token | 401 | `NO_AUTH_FOUND` | `Wrong authorization data` |
//! | unknown access token | 401 | `invalid_token` | `Unable to get application by token` |
//! | expired access token | 401 | `expired_token` | `The access token provided has expired.` |
//!
//! An unknown webhook code is reported as `NO_AUTH_FOUND` (401): that is what both the docs and
//! live tests show for a wrong code. `INVALID_CREDENTIALS` is used for a valid code under
//! another user id, with the 401 seen live (the docs table says 403).
//!
//! OAuth: [`FakePortal::issue_tokens`] (or `POST /_fake/oauth/tokens`) creates a pair. Access
//! tokens live [`FakePortalConfig::access_token_lifetime`]; [`FakePortal::expire_access_tokens`]
//! expires all current ones at once. Refresh tokens are single-use: the token endpoint consumes
//! the one it is given and returns a new pair; old access tokens stay valid until they expire.
//! Token endpoint answers:
//!
//! | situation | status | body |
//! |---|---|---|
//! | success | 200 | `access_token, expires, expires_in, scope, domain, server_endpoint, status ("L"), client_endpoint, member_id, user_id, refresh_token` |
//! | no `grant_type` | 400 | `invalid_request` |
//! | `grant_type` other than `refresh_token` | 400 | `unsupported_grant_type` |
//! | wrong `client_id` or `client_secret` | 401 | `invalid_client` |
//! | no `refresh_token` | 400 | `invalid_request` `No "refresh_token" parameter found` |
//! | used or unknown refresh token | 400 | `{"error":"invalid_grant"}` (no description, like the real server) |
//!
//! [`Stats::refreshes`] counts successful grants, so a test can prove that concurrent clients
//! refreshed only once.
//!
//! # Methods
//!
//! * `voximplant.callback.start` (scope `call`). Checks, in the server's order: the user's
//!   "Outgoing call — Perform — Any" permission ([`FakePortalConfig::outgoing_call_permission`];
//!   403 `ACCESS_DENIED` "Access denied!"); `FROM_LINE` must be a configured line or REST-app
//!   line (400 "Could not find line X"); `TO_NUMBER` is stripped to digits and `#*+,;`, empty →
//!   400 "Phone number is not correct". These business errors carry `"error": "ERROR_CORE"`, or
//!   `""` with [`FakePortalConfig::empty_error_code`]. Success:
//!   `{"result":{"RESULT":true,"CALL_ID":"callback.<32 hex>.<unix ts>"},"time":{...}}`; a REST-app
//!   line gives `"CALL_ID": null` (recorded in the ledger with `call_id: None`, no simulated call).
//! * `voximplant.line.get` (scope `telephony`): map line id → HTML-escaped name (REST-app lines
//!   excluded); 403 `ACCESS_DENIED` when [`FakePortalConfig::line_list_permission`] is off.
//! * `voximplant.tts.voices.get` (scope `telephony`): the server's 42 voice ids → labels.
//! * `voximplant.statistic.get` (scope `telephony`): records of ended calls; `FILTER` on any
//!   field (`KEY`, `=KEY`, `!KEY`, `>KEY`, `>=KEY`, `<KEY`, `<=KEY`), `SORT`/`ORDER`, `start`
//!   (pages of 50, `total`, `next`). Every value is a string or null; `CALL_TYPE` is `"4"`.
//! * `scope`: the granted scopes.
//! * anything else: 404 `ERROR_METHOD_NOT_FOUND` "Method not found!".
//!
//! # Magic destination numbers
//!
//! Numbers from the NANP fictional range (`+1 201 555 01xx`, never assigned, and valid for
//! libphonenumber, so any client-side validation accepts them) choose the simulated outcome
//! (matched on the digits, so `12015550101` and `+1 (201) 555-0101` are the same). Ofcom's UK
//! drama range (+44 7700 900xxx) is not used: libphonenumber calls those numbers invalid.
//!
//! | `TO_NUMBER` | outcome | `CALL_FAILED_CODE` |
//! |---|---|---|
//! | `+12015550101` | busy | 486 |
//! | `+12015550102` | no answer | 304 |
//! | `+12015550103` | declined | 603 |
//! | `+12015550104` | insufficient funds | 402 |
//! | `+12015550105` | invalid number | 404 |
//! | `+12015550106` | `voximplant.callback.start` itself fails: 400 "Parse error or connect error from server" (nothing placed) | — |
//! | anything else | answered, `CALL_DURATION` 42 | 200 |
//!
//! # Simulated calls
//!
//! A placed call goes through [`CallStage::RingingManager`], [`CallStage::SpeakingText`],
//! [`CallStage::DiallingClient`], then (answered only) [`CallStage::Connected`], and ends in
//! [`CallStage::Ended`]; each stage lasts [`FakePortalConfig::stage_duration`]. When it ends,
//! the [`CallState`] gets its outcome and the `voximplant.statistic.get` record appears.
//!
//! # Telephony events
//!
//! With an event handler (`http://` URL; [`FakePortalConfig::event_handler`] or
//! `POST /_fake/events`) the portal POSTs, form-urlencoded with bracket keys:
//! `ONVOXIMPLANTCALLINIT` when the call starts (`data[CALL_ID]`, `data[CALL_TYPE]`=4,
//! `data[ACCOUNT_SEARCH_ID]`, `data[PHONE_NUMBER]`, `data[CALLER_ID]`),
//! `ONVOXIMPLANTCALLSTART` when connected (`data[CALL_ID]`, `data[USER_ID]`) and
//! `ONVOXIMPLANTCALLEND` when it ends (`data[CALL_ID]`, `CALL_TYPE`, `PHONE_NUMBER`,
//! `PORTAL_NUMBER`, `PORTAL_USER_ID`, `CALL_DURATION`, `CALL_START_DATE`, `COST`,
//! `COST_CURRENCY`, `CALL_FAILED_CODE`, `CALL_FAILED_REASON`, `CRM_ACTIVITY_ID`), each with
//! `event`, `event_handler_id`, `ts`, `auth[domain]`, `auth[client_endpoint]`,
//! `auth[server_endpoint]`, `auth[member_id]` and `auth[application_token]`. A callback on a
//! REST-app line sends `ONEXTERNALCALLBACKSTART` instead (`data[PHONE_NUMBER]`, `data[TEXT]`,
//! `data[VOICE]`, `data[CRM_ENTITY_TYPE]`, `data[CRM_ENTITY_ID]`, `data[LINE_NUMBER]`), as the
//! portal hands such calls to the telephony app owning the line. Events of one call
//! are sent in order; there are no retries (like the real portal). Deliveries are listed by
//! [`FakePortal::events`].
//!
//! # Limits
//!
//! * Leaky bucket: every REST request (not the token or admin endpoints) adds 1 to a level that
//!   drains by [`FakePortalConfig::drain_per_second`]; a request that would lift it above
//!   [`FakePortalConfig::burst`] is answered 503 `QUERY_LIMIT_EXCEEDED` and does not add. A burst
//!   of `X + k` simultaneous requests therefore gets exactly `k` rejections (as long as less
//!   than one request drains meanwhile). Defaults 50 and 2/s.
//! * Operating budget, per method and per webhook/application: the handler time within a
//!   10-minute window (ten one-minute buckets). `voximplant.callback.start` counts
//!   [`FakePortalConfig::callback_processing`] (default 1 s, simulated, not slept), other methods
//!   their real time. Once the sum reaches [`FakePortalConfig::operating_limit`] (default 480 s)
//!   the method answers 429 until old buckets drop out. `time.operating` is the sum,
//!   `time.operating_reset_at` when the oldest bucket drops out.
//!
//! # Faults
//!
//! [`FakePortal::add_fault`] (or `POST /_fake/faults`) scripts a [`Fault`]: its [`FaultKind`]
//! applies to the next `times` requests (`0` = until cleared) of `method` (`None` = any REST
//! method; the token endpoint only matches the explicit name `"oauth.token"`), and with
//! `host` only to requests whose `Host` header names that host (case-insensitive, port
//! ignored). Each request takes at most one fault:
//!
//! 1. a fault matches a request when its `method` and (if set) its `host` match; a fault that
//!    does not match a request is skipped for that request and stays queued, its count
//!    unchanged;
//! 2. `Rename` comes first: while a matching `Rename` is queued, wherever it stands in the
//!    queue, every matching request to a host other than `localhost` is renamed and uses up
//!    no other fault. Requests to host `localhost` are never renamed (a `Rename` scoped to
//!    host `localhost` therefore never applies);
//! 3. otherwise the oldest matching fault applies (first in, first out) and its count drops by
//!    one.
//!
//! So a `Rename` plus an `Html502` scoped to host `localhost` makes the re-sent request to the
//! new name fail while requests to `127.0.0.1` keep being renamed. Everything happens on the
//! real socket:
//!
//! | kind (admin name) | executed? | what the client sees |
//! |---|---|---|
//! | `Delay(d)` (`delay`, `delay_ms`) | yes, after `d` | the normal answer `d` later (or its own timeout) |
//! | `CloseBeforeExecute` (`close_before_execute`) | no | connection closed without an answer (EOF or reset) |
//! | `CloseAfterExecute` (`close_after_execute`) | yes (a call is placed) | connection closed without an answer |
//! | `Html502` (`html_502`) | no | 502 with an nginx-style HTML body |
//! | `Html504` (`html_504`) | yes (the gateway gave up, the portal went on) | 504 with an HTML body |
//! | `TruncatedJson` (`truncated_json`) | yes | status and full `Content-Length`, half the JSON, then the connection closes |
//! | `Rename` (`rename`) | no | 302, `Location` = same scheme, port, path and query on host `localhost`; requests to host `localhost` are served normally; active until cleared |
//! | `Overload` (`overload`) | no | 503 `OVERLOAD_LIMIT` "REST API is blocked due to overload." |
//! | `QueryLimit` (`query_limit`) | no | 503 `QUERY_LIMIT_EXCEEDED` "Too many requests" |
//! | `OperationTimeLimit` (`operation_time_limit`) | no | 429 `OPERATION_TIME_LIMIT` |
//! | `Respond { status, body, content_type, execute }` (`respond`) | only with `execute` | exactly `status` (200–599) and `body`, `Content-Type` `content_type` (default `application/json; charset=utf-8`); with `execute` the normal answer is replaced |
//! | `Redirect { status, location, execute }` (`redirect`) | only with `execute` | `status` (300–399), `Location: location`, a short HTML body; applies to host `localhost` too |
//!
//! `body` and `location` may contain placeholders, filled in verbatim: `{path}` (path and
//! query as received, webhook secret included), `{call_id}` (the `CALL_ID` the executed request
//! placed, else empty), `{port}` and `{scheme}` (`http`/`https`); see [`FaultKind`]. With
//! `execute: true` the request runs exactly as without the fault (a `voximplant.callback.start`
//! places a call, recorded in the ledger as a normal one; the token endpoint consumes the
//! refresh token); its answer is dropped. A canned answer only counts in
//! [`Stats::faults_applied`] (a canned `QUERY_LIMIT_EXCEEDED` is not a `rate_limited`); the
//! recorded request gets the canned status.
//!
//! # Admin endpoint
//!
//! JSON under `/_fake/`; never rate-limited, never faulted, not in [`FakePortal::requests`]:
//!
//! | route | answer |
//! |---|---|
//! | `GET /_fake/info` | `base_url, webhook_url, client_endpoint, server_endpoint, token_url, admin_url, ca_pem, webhook_user_id, webhook_secret, oauth_client_id, oauth_client_secret, application_token, member_id, config` |
//! | `GET /_fake/ledger` | `{"calls":[{call_id, line, number, text, voice, placed_at, request_number}]}` |
//! | `GET /_fake/stats` | the [`Stats`] fields |
//! | `GET /_fake/requests` | `{"requests":[{number, http_method, path, query, host, rest_method, content_type, user_agent, body, status}]}` |
//! | `GET /_fake/faults`, `POST /_fake/faults`, `DELETE /_fake/faults` | `{"faults":[{kind, method, host, times, remaining, delay_ms}]}`, plus `status, body, content_type, execute` for `respond` and `status, location, execute` for `redirect`; POST takes `{"kind", "method"?, "host"?, "times"? (1), "delay_ms"?}` and, for `respond`, `"status"`, `"body"` (a string, sent as is, or any other JSON value, sent as its compact text), `"content_type"`? and `"execute"`? (false); for `redirect`, `"status"`, `"location"` and `"execute"`? (false). Unknown keys, and keys of another kind, → 400 |
//! | `POST /_fake/oauth/tokens` | `{access_token, refresh_token, expires_in, client_id, client_secret, client_endpoint, server_endpoint}` |
//! | `POST /_fake/oauth/expire` | expires every access token: `{"ok":true}` |
//! | `GET /_fake/config`, `POST /_fake/config` | the config; POST takes a partial object: `burst, drain_per_second, webhook_user_id, webhook_secret, webhook_scopes, oauth_client_id, oauth_client_secret, oauth_scopes, access_token_lifetime_seconds, operating_limit_seconds, callback_processing_ms, stage_ms, outgoing_call_permission, line_list_permission, empty_error_code, application_token, event_handler, lines ({id: name}), rest_app_lines`; also accepted: `tls` (read-only, must equal the current value, so a GET result can be posted back) and the aliases `drain`, `token_lifetime`, `token_lifetime_seconds`, `access_token_lifetime`, `operating_limit`, `stage_duration_ms`; unknown keys → 400 |
//! | `POST /_fake/events` | `{"handler_url": str or null, "application_token"?: str}` |
//! | `GET /_fake/events` | `{"events":[{event, call_id, handler_url, body, status, error}]}` |
//! | `GET /_fake/calls`, `GET /_fake/calls/{call_id}` | `{stage, outcome, failed_code, duration, call_id, line, number}` (404 if unknown) |
//! | `POST /_fake/reset` | clears ledger, calls, statistics, requests, stats, faults, events, bucket and budgets (tokens and config stay) |
//!
//! `Debug` output never shows secrets or full phone numbers: [`FakePortalConfig`] and
//! [`TokenGrant`] hide secrets and tokens, [`RecordedRequest`] hides the webhook secret in the
//! path and shows only the sizes of query and body, [`DeliveredEvent`] only the body size, and
//! [`LedgerEntry`] and [`CallState`] mask the number (`+12015****23`). The public fields keep
//! everything for assertions, and the admin `info` route returns the credentials on purpose
//! (it only listens on loopback).

mod admin;
mod config;
mod events;
mod oauth;
pub mod redis_server;
mod reply;
mod rest;
mod server;
mod state;
mod tls;
mod util;

pub use config::*;
pub use rest::voice_ids;

use state::{Shared, State};
use std::io;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// A running fake portal. Dropping it shuts the server down.
pub struct FakePortal {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: tokio::sync::watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FakePortal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakePortal")
            .field("base_url", &self.base_url())
            .finish()
    }
}

impl FakePortal {
    /// Binds `127.0.0.1:{config.port}` and starts serving in a background thread.
    pub fn start(config: FakePortalConfig) -> io::Result<FakePortal> {
        let listener = StdTcpListener::bind(("127.0.0.1", config.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        // Best effort: also answer on [::1] with the same port, for clients that resolve
        // `localhost` (the Rename fault's host) to IPv6 first.
        let v6_listener = StdTcpListener::bind(("::1", addr.port()))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .ok();
        let (acceptor, ca_pem) = if config.tls {
            let (a, pem) = tls::make_acceptor()?;
            (Some(a), Some(pem))
        } else {
            (None, None)
        };
        let shared = Arc::new(Shared {
            scheme: if config.tls { "https" } else { "http" },
            port: addr.port(),
            member_id: util::random_hex(32),
            ca_pem,
            config: Mutex::new(config),
            state: Mutex::new(State::new()),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fake-portal")
            .enable_all()
            .build()?;
        let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
        let thread = {
            let shared = shared.clone();
            let shutdown = shutdown_rx;
            std::thread::Builder::new()
                .name("fake-portal-main".into())
                .spawn(move || {
                    runtime.block_on(async move {
                        let mut loops = Vec::new();
                        for l in std::iter::once(listener).chain(v6_listener) {
                            match tokio::net::TcpListener::from_std(l) {
                                Ok(l) => loops.push(tokio::spawn(server::accept_loop(
                                    shared.clone(),
                                    l,
                                    acceptor.clone(),
                                    shutdown.clone(),
                                ))),
                                Err(e) => {
                                    log::error!("fake portal: cannot register a listener: {e}")
                                }
                            }
                        }
                        for l in loops {
                            let _ = l.await;
                        }
                    });
                    // Dropping the runtime cancels connections, delays and simulated calls.
                    drop(runtime);
                })?
        };
        log::info!("fake portal listening on {addr}");
        Ok(FakePortal {
            shared,
            addr,
            shutdown,
            thread: Some(thread),
        })
    }

    /// The socket address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (or `https://` with TLS), no trailing slash.
    pub fn base_url(&self) -> String {
        self.shared.base_url()
    }

    /// `{base}/rest/{user_id}/{secret}/`.
    pub fn webhook_url(&self) -> String {
        let cfg = self.shared.config();
        format!(
            "{}/rest/{}/{}/",
            self.base_url(),
            cfg.webhook_user_id,
            cfg.webhook_secret
        )
    }

    /// `{base}/rest/` (the OAuth `client_endpoint`).
    pub fn client_endpoint(&self) -> String {
        format!("{}/rest/", self.base_url())
    }

    /// `{base}/rest/`: the token server runs on the same host, so a client deriving the token
    /// URL from `server_endpoint` (strip `/rest/`, add `/oauth/token/`) finds it.
    pub fn server_endpoint(&self) -> String {
        format!("{}/rest/", self.base_url())
    }

    /// `{base}/oauth/token/`.
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token/", self.base_url())
    }

    /// `{base}/_fake/`.
    pub fn admin_url(&self) -> String {
        format!("{}/_fake/", self.base_url())
    }

    /// The generated CA certificate (PEM) when TLS is on.
    pub fn ca_pem(&self) -> Option<String> {
        self.shared.ca_pem.clone()
    }

    /// The portal's `member_id` (32 hex digits, fixed for its lifetime).
    pub fn member_id(&self) -> String {
        self.shared.member_id.clone()
    }

    /// A copy of the current configuration.
    pub fn config(&self) -> FakePortalConfig {
        self.shared.config().clone()
    }

    /// Changes the configuration while running (`port` and `tls` changes have no effect).
    /// The closure runs under the configuration lock: do not call the portal from inside it.
    pub fn update_config(&self, change: impl FnOnce(&mut FakePortalConfig)) {
        let mut cfg = self.shared.config();
        let (port, tls) = (cfg.port, cfg.tls);
        change(&mut cfg);
        cfg.port = port;
        cfg.tls = tls;
    }

    /// Issues a fresh access/refresh token pair with the configured lifetime and scopes.
    pub fn issue_tokens(&self) -> TokenGrant {
        let cfg = self.shared.config().clone();
        self.shared.state().issue_tokens(&cfg)
    }

    /// Expires every access token issued so far (they answer `expired_token`).
    pub fn expire_access_tokens(&self) {
        self.shared.state().expire_access_tokens();
    }

    /// Scripts a fault (see the crate docs).
    ///
    /// # Panics
    ///
    /// If [`FaultKind::validate`] refuses its kind (a status out of range, a header value
    /// that cannot be sent): a test script error, reported where it is made.
    pub fn add_fault(&self, fault: Fault) {
        if let Err(e) = fault.kind.validate() {
            panic!("fake portal: cannot script this fault: {e}");
        }
        admin::add_fault(&self.shared, fault);
    }

    /// Removes every scripted fault (including an active `Rename`).
    pub fn clear_faults(&self) {
        self.shared.state().faults.clear();
    }

    /// Every call placed, in order.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.shared.state().ledger.clone()
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.shared.state().stats.clone()
    }

    /// Requests received (admin endpoint excluded; the last 10 000 are kept).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state().requests.iter().cloned().collect()
    }

    /// The state of a simulated call.
    pub fn call(&self, call_id: &str) -> Option<CallState> {
        self.shared.state().calls.get(call_id).cloned()
    }

    /// Every simulated call, in the order placed.
    pub fn calls(&self) -> Vec<CallState> {
        let st = self.shared.state();
        st.call_order
            .iter()
            .filter_map(|id| st.calls.get(id).cloned())
            .collect()
    }

    /// Telephony events sent so far (delivered or not).
    pub fn events(&self) -> Vec<DeliveredEvent> {
        self.shared.state().events.clone()
    }

    /// Clears ledger, calls, statistic records, recorded requests, stats, faults, events, the
    /// bucket and the operating budgets. Tokens and configuration stay.
    pub fn reset(&self) {
        self.shared.state().reset();
    }

    /// The answer of `GET /_fake/info` as JSON text.
    pub fn info_json(&self) -> String {
        admin::info_json(&self.shared).to_string()
    }
}

impl Drop for FakePortal {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
