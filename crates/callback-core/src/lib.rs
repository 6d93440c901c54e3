//! Start Bitrix24 telephony callbacks (`voximplant.callback.start`) safely, from a blocking
//! Rust API that the Python, Node.js, Kotlin and Swift bindings wrap.
//!
//! A "call me back" form hands the library an untrusted phone number; the library is the last
//! line before a real call is paid for. So it
//!
//! * validates the request once and reports **every** violation ([`CallbackRequestBuilder::build`]);
//! * refuses dangerous destinations before any traffic, safe by default ([`DestinationPolicy`]:
//!   only landlines, mobiles and toll-free numbers; no international networks and no high-risk
//!   regions unless named; region and prefix lists; a per-number cooldown and hourly cap that
//!   also count calls in flight), and can answer that question alone ([`Client::check`]);
//! * never rings anybody twice: nothing is resent once it may have executed, and an optional
//!   idempotency key returns the first answer again ([`CallbackStarted::deduplicated`]), bound
//!   to its request (the same key with another request is refused);
//! * paces calls with a client-side leaky bucket shared by clones, threads and clients of one
//!   portal ([`RateLimit`]), so a burst is delayed, not refused;
//! * says exactly what happened: started (with the `CALL_ID`), refused with a stable
//!   [`ErrorCode`] and [`Error::retry_safe`], or `outcome_unknown`;
//! * keeps the webhook secret, OAuth tokens and full phone numbers out of logs, errors and
//!   `Debug` output.
//!
//! # Example
//!
//! This runs against the crate's fake portal (a test dependency); against a real portal pass
//! the incoming-webhook address `https://PORTAL/rest/USER_ID/SECRET/` instead.
//!
//! ```
//! use std::time::Duration;
//! use callback_core::{Auth, Client, ErrorCode};
//! use callback_fake_portal::{FakePortal, FakePortalConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let portal = FakePortal::start(FakePortalConfig {
//!     stage_duration: Duration::from_millis(10),
//!     ..FakePortalConfig::default()
//! })?;
//! let client = Client::builder(Auth::webhook(&portal.webhook_url())?)
//!     .default_region("US")
//!     .user_agent_suffix("docs/1")
//!     .build()?;
//!
//! // Untrusted input, validated once; national numbers use the default region.
//! let request = client
//!     .request()
//!     .from_line("reg1")
//!     .to_number("(201) 555-0123")
//!     .text("A visitor asked for a call back")
//!     .voice("ukenglishfemale")
//!     .idempotency_key("form-submission-42")
//!     .build()?;
//! assert_eq!(request.to_number(), "+12015550123");
//!
//! match client.start_callback(&request) {
//!     Ok(started) => {
//!         let call_id = started.call_id.expect("a cloud PBX line has a CALL_ID");
//!         let record = client.wait_for_outcome(&call_id, Duration::from_secs(10))?;
//!         println!("outcome: {:?}", record.map(|r| r.outcome));
//!     }
//!     Err(e) if e.code() == ErrorCode::OutcomeUnknown => {
//!         // The portal may have started the call: do NOT simply try again.
//!         eprintln!("outcome unknown: {e}");
//!     }
//!     Err(e) => eprintln!("refused ({}), retry_safe={}: {e}", e.code(), e.retry_safe()),
//! }
//! // A double click: the same key returns the first answer without calling the portal.
//! assert!(client.start_callback(&request)?.deduplicated);
//! assert_eq!(portal.ledger().len(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! OAuth applications use [`Auth::oauth`] and usually a token store
//! ([`ClientBuilder::on_tokens`]) that persists every rotated pair; see `examples/oauth.rs`.
//!
//! # Validation
//!
//! [`CallbackRequestBuilder::build`] lists every violation (`field`, `code`, `message`) in an
//! `invalid_request` error; the codes are in its documentation. `TO_NUMBER` is parsed, checked
//! and typed exactly as Google's libphonenumber does (the `rlibphonenumber` port with its
//! metadata; `tests/vectors/numbers.json`, generated from libphonenumber itself, is the oracle
//! the tests hold it to) and normalised to E.164; letters and the dial-control characters
//! `, ; # *` are refused outright. There is no exception for test numbers: whatever the
//! metadata calls invalid is refused (`invalid_number`). The fake portal's magic numbers are in
//! the NANP fictional range `+1 201 555 0100`–`0199`, which the metadata accepts.
//!
//! The metadata is loaded on the first validation (about 10 ms in a release build); call
//! [`warm_up`] at start-up, off any latency-sensitive thread, to pay for it in advance. Its
//! compiled patterns are a bounded working set (see [`WORKING_SET_CALLING_CODES`]).
//!
//! # Destination policy
//!
//! The policy refuses, before any traffic, with `destination_blocked` and one violation whose
//! code names the rule: `prefix_blocked`, `region_blocked`, `region_not_allowed`,
//! `prefix_not_allowed`, `international_network`, `high_risk_region`, a number type
//! (`premium_rate`, `shared_cost`, `voip`, `uan`, `personal_number`, `pager`, `voicemail`),
//! then `cooldown` and `hourly_cap`. See [`DestinationPolicy`] for the order and the defaults,
//! [`SAFE_NUMBER_TYPES`], [`INTERNATIONAL_NETWORKS`] and [`HIGH_RISK_REGIONS`] for what is
//! refused by default and why.
//!
//! # Error classification
//!
//! [`classify_response`] is the function the client itself uses. An answer is an error when it
//! has an `error` key (whatever its value, even `""`, or a REST v3 object), and codes compare
//! case-insensitively:
//!
//! | answer | code | retry_safe |
//! |---|---|---|
//! | 2xx JSON with `result` and no `error` (`"error": null` is none) | success | |
//! | a body with both a `result` and an `error` | `outcome_unknown` | **no** |
//! | `QUERY_LIMIT_EXCEEDED` with HTTP 503 | `rate_limited` | yes |
//! | `OVERLOAD_LIMIT` with HTTP 503 | `portal_error` | yes |
//! | `OPERATION_TIME_LIMIT` with HTTP 429 | `operation_time_limit` | yes |
//! | any of those three codes with another status (a contradiction) | `outcome_unknown` | **no** |
//! | any other 5xx (envelope or not) | `outcome_unknown` | **no** |
//! | description contains "Parse error or connect error from server" | `outcome_unknown` | **no** |
//! | `insufficient_scope`, `invalid_scope` | `insufficient_scope` | yes |
//! | `NO_AUTH_FOUND`, `INVALID_CREDENTIALS`, `invalid_token`, `expired_token`, `authorization_error`, `invalid_grant`, `invalid_client`, `wrong_client`, `APPLICATION_NOT_FOUND`, `ERROR_OAUTH`, `NOT_INSTALLED`, `CONNECTION_ERROR` | `auth_failed` | yes |
//! | `ACCESS_DENIED`, `user_access_error`, `METHOD_CONFIRM_WAITING`, `METHOD_CONFIRM_DENIED`, `PAYMENT_REQUIRED`, `WRONG_AUTH_TYPE`, `ALLOWED_ONLY_INTRANET_USER` | `access_denied` | yes |
//! | description contains "Could not find line" / "Could not find config" | `line_not_found` | yes |
//! | description contains "Phone number is not correct" | `number_rejected` | yes |
//! | any other envelope (non-5xx) | `portal_error` | yes |
//! | 303 See Other (the request was processed) | `outcome_unknown` | **no** |
//! | any other unfollowed 3xx | `portal_error` | yes |
//! | 2xx/4xx body that is not JSON, truncated, JSON without `result`/`error`, or over 1 MiB | `outcome_unknown` | **no** |
//!
//! A successful `voximplant.callback.start` must also say `"RESULT": true` (JSON `true`; `0`,
//! `"false"` or a missing value is `outcome_unknown`). Text the portal sends back (`error`,
//! `error_description`) is scrubbed like everything else: credentials it quotes (the client's
//! own secrets, a webhook path's secret, `auth=`/`access_token=` values) and full numbers never
//! reach an error.
//!
//! Transport failures: resolve, connect and TLS handshake failures are `transport` (nothing was
//! sent); a timeout or a lost connection after the first request byte was written is
//! `outcome_unknown`. The client decides this from the socket (it notes when request bytes are
//! written), not from error texts.
//!
//! # Retries
//!
//! Only what certainly did not execute is repeated, within the per-call deadline
//! ([`ClientBuilder::deadline`], which also bounds limiter waits):
//! `QUERY_LIMIT_EXCEEDED` (exponential back-off with jitter), `OPERATION_TIME_LIMIT` (waits
//! until the last seen `operating_reset_at` when that is inside the deadline, else the error
//! carries the reset time), `expired_token`/`invalid_token` (one single-flight refresh, then one
//! resend), connect failures (twice), and a 301, 302 or 308 from a renamed portal: one re-POST
//! per call to the new base, only if it keeps the REST path and is not less secure (never
//! https to http, never to a URL with credentials); the new address is reported in
//! [`CallbackStarted::portal_moved_to`] and kept once a call through it succeeded (see
//! [`Client::portal`]).
//!
//! # Logging
//!
//! Records go through the `log` crate: method, portal host, attempt, HTTP status, timings and
//! the masked number (`+120******23`). Secrets and full numbers never appear. Note that ureq
//! itself logs full request paths (which hold the webhook secret) at `Trace` level, and the
//! phone-number library (target `rlibphonenumber`) logs the numbers it parses at `Debug` and
//! `Trace`: keep those targets at `Info` or below in production (the bindings and the CLI
//! forward only this crate's records).

mod auth;
mod client;
mod error;
mod events;
mod limiter;
mod number;
mod oauth;
mod outcome;
mod policy;
mod records;
mod redact;
mod request;
mod response;
mod state;
mod tcp;
mod transport;

pub use auth::{Auth, OAuthConfig, TokenPair, TokenStore, WebhookUrl};
pub use client::{
    Binding, Client, ClientBuilder, ClientOptions, OptionNames, PolicyOptions, RateLimitOption,
    Span,
};
pub use error::{Error, ErrorCode, ErrorParts, Violation, catch_panic};
pub use events::{TelephonyEvent, parse_event};
pub use limiter::{CancelToken, RateLimit};
pub use number::{NumberType, WORKING_SET_CALLING_CODES};
pub use outcome::{CallbackStarted, Destination, Timing};
pub use policy::{
    DestinationPolicy, HIGH_RISK_REGIONS, INTERNATIONAL_NETWORKS, NON_GEOGRAPHIC_REGION,
    SAFE_NUMBER_TYPES,
};
pub use records::{CallOutcome, CallRecord, Line, Voice};
pub use redact::mask_number;
pub use request::{
    CallbackRequest, CallbackRequestBuilder, KNOWN_VOICES, MAX_IDEMPOTENCY_KEY_CHARS,
    MAX_LINE_CHARS, MAX_TEXT_CHARS, RequestInput, is_warmed_up, warm_up, warm_up_in_background,
};
pub use response::PortalTime;

/// The parsers that read what a server or a caller sends, for the fuzz targets (`fuzz/`). Not
/// part of the stable API.
#[doc(hidden)]
pub mod fuzzing {
    use crate::{Error, TokenPair};

    /// Where a redirect from `current_base` (`https://host[:port]`) to `location` would move
    /// the portal, or why it is refused.
    pub fn redirect_target(location: &str, current_base: &str) -> Result<String, &'static str> {
        crate::client::exchange::moved_base(location, current_base)
    }

    /// The token server's answer to a refresh.
    pub fn token_answer(http_status: u16, body: &[u8]) -> Result<TokenPair, Error> {
        crate::oauth::read_token_answer(http_status, body)
    }

    /// Text from outside made safe for errors and logs.
    pub fn sanitize(text: &str) -> String {
        crate::redact::sanitize_text(text)
    }
}

/// The crate version (also the version of every binding).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Classifies a raw portal answer the way the client does: `None` for a success envelope,
/// otherwise the error it maps to (code, `retry_safe`, `bitrix_code`, `http_status`).
pub fn classify_response(http_status: u16, body: &[u8]) -> Option<Error> {
    response::classify(http_status, body).err()
}
