//! Conversions between JS values and core types: each type is converted in exactly one place.

use std::collections::HashMap;
use std::time::Duration;

use callback_core as core;
use napi::bindgen_prelude::*;
use napi_derive::napi;

// ---------------------------------------------------------------- inputs

/// Pacing of outgoing calls; mirror the portal's leaky bucket.
#[napi(object)]
pub struct CustomRateLimit {
    /// How many calls may go out at once (an integer >= 1).
    pub burst: f64,
    /// How many calls per second drain from the bucket.
    pub per_second: f64,
}

/// Which destinations are refused before any network traffic (`destination_blocked`).
#[napi(object)]
pub struct DestinationPolicy {
    /// ISO 3166 alpha-2 regions the business serves (`['GB', 'DE']`); empty or absent = any.
    pub allowed_regions: Option<Vec<String>>,
    /// Refuse premium-rate, shared-cost and personal numbers. Default `true`.
    pub block_costly_numbers: Option<bool>,
    /// A number that was called is refused for this long. Default 60000; 0 turns it off.
    pub number_cooldown_ms: Option<f64>,
}

/// Options shared by `new Client(...)` and `Client.fromOAuth(...)`; every one is optional.
#[napi(object)]
pub struct ClientOptions {
    /// TCP connect and TLS handshake bound. Default 10000.
    pub connect_timeout_ms: Option<f64>,
    /// Bound of one HTTP exchange. Default 40000.
    pub timeout_ms: Option<f64>,
    /// Bound of a whole call including limiter waits and retries. Default 60000.
    pub deadline_ms: Option<f64>,
    /// `'standard'` (burst 50, 2/s; the default), `'enterprise'` (250, 5/s), `'off'`, or
    /// `{ burst, perSecond }`.
    #[napi(ts_type = "'standard' | 'enterprise' | 'off' | CustomRateLimit")]
    pub rate_limit: Option<Either<String, CustomRateLimit>>,
    /// Extra trusted root certificates (PEM text), e.g. a corporate proxy or the fake portal's CA.
    #[napi(ts_type = "string | string[]")]
    pub root_certificates: Option<Either<String, Vec<String>>>,
    /// Appended to the User-Agent after `node/<version>`.
    pub user_agent_suffix: Option<String>,
    /// Region (ISO 3166 alpha-2, e.g. `'GB'`) for numbers written without `+`.
    pub default_region: Option<String>,
    /// Accept voice ids Bitrix24 does not list. Default `false`.
    pub allow_unknown_voice: Option<bool>,
    pub destination_policy: Option<DestinationPolicy>,
    /// How long an idempotency key is remembered. Default 600000 (10 minutes).
    pub dedupe_window_ms: Option<f64>,
}

/// `new Client({ webhookUrl, ...options })`.
#[napi(object)]
pub struct WebhookConfig {
    /// `https://PORTAL/rest/USER_ID/SECRET/` (plain `http` only for loopback hosts).
    pub webhook_url: String,
}

/// `Client.fromOAuth({ clientId, ..., onTokens, ...options })`.
#[napi(object, object_to_js = false)]
pub struct OAuthConfig {
    pub client_id: String,
    pub client_secret: String,
    pub access_token: String,
    pub refresh_token: String,
    /// The portal's REST base, `https://PORTAL/rest/`.
    pub client_endpoint: String,
    /// The OAuth server's REST base, `https://oauth.bitrix.info/rest/`.
    pub server_endpoint: String,
    /// Called with every rotated token pair before it is used; persist both tokens. May return
    /// a Promise. A throw or rejection fails the call that caused the refresh with
    /// `auth_failed` (the new pair is still used in memory).
    #[napi(ts_type = "(tokens: TokenPair) => void | Promise<void>")]
    pub on_tokens: Option<Unknown<'static>>,
}

/// `client.startCallback({ line, to, text, voice, idempotencyKey, signal })`.
#[napi(object, object_to_js = false)]
pub struct StartCallbackOptions {
    /// `FROM_LINE`: a line id from `client.lines()`.
    pub line: String,
    /// The visitor's number (E.164, or national with `defaultRegion`). Untrusted input is fine.
    pub to: String,
    /// `TEXT_TO_PRONOUNCE`, spoken to the manager first (at most 1000 characters).
    pub text: String,
    /// A text-to-speech voice id, e.g. `'ruinternalfemale'`.
    pub voice: Option<String>,
    /// A repeat with the same key (within `dedupeWindowMs`) returns the first answer with
    /// `deduplicated: true` and calls nobody.
    pub idempotency_key: Option<String>,
    /// Cancels the call while it still waits for the rate limiter (nothing sent).
    #[napi(ts_type = "AbortSignalLike")]
    pub signal: Option<Unknown<'static>>,
}

/// `validateRequest(...)`: the same input as `startCallback` plus the client-level rules.
#[napi(object, object_to_js = false)]
pub struct RequestInput {
    pub line: String,
    pub to: String,
    pub text: String,
    pub voice: Option<String>,
    pub idempotency_key: Option<String>,
    pub default_region: Option<String>,
    pub allow_unknown_voice: Option<bool>,
}

/// `waitForOutcome(callId, { timeoutMs })`.
#[napi(object)]
pub struct WaitOptions {
    /// How long to poll `voximplant.statistic.get`. Default 120000.
    pub timeout_ms: Option<f64>,
}

/// Parses `value` with napi's derived conversion; failures become a `TypeError` naming only
/// the field.
pub fn parse<T: FromNapiValue>(env: &Env, value: &Unknown, what: &str) -> Result<T> {
    match value.get_type()? {
        ValueType::Object => {}
        _ => {
            return Err(crate::errors::type_error(
                env,
                format!("{what} must be an object"),
            ));
        }
    }
    unsafe { T::from_napi_value(env.raw(), value.raw()) }
        .map_err(|e| crate::errors::conversion_error(env, what, &e))
}

/// Violations found while converting options (before the core sees them).
#[derive(Default)]
pub struct Problems(Vec<core::Violation>);

impl Problems {
    fn push(&mut self, field: &str, code: &str, message: String) {
        self.0.push(core::Violation {
            field: field.to_owned(),
            code: code.to_owned(),
            message,
        });
    }

    pub fn millis(&mut self, field: &str, value: Option<f64>) -> Option<Duration> {
        let v = value?;
        if v.is_finite() && (0.0..=1e12).contains(&v) {
            Some(Duration::from_secs_f64(v / 1000.0))
        } else {
            self.push(
                field,
                "out_of_range",
                format!("{field} must be a finite number of milliseconds >= 0"),
            );
            None
        }
    }

    pub fn finish(self) -> std::result::Result<(), core::Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(core::Error::invalid(self.0))
        }
    }
}

/// Applies every client option to the core builder.
pub fn apply_options(
    mut b: core::ClientBuilder,
    o: ClientOptions,
    node_version: &str,
) -> std::result::Result<core::ClientBuilder, core::Error> {
    let mut p = Problems::default();
    if let Some(d) = p.millis("connectTimeoutMs", o.connect_timeout_ms) {
        b = b.connect_timeout(d);
    }
    if let Some(d) = p.millis("timeoutMs", o.timeout_ms) {
        b = b.timeout(d);
    }
    if let Some(d) = p.millis("deadlineMs", o.deadline_ms) {
        b = b.deadline(d);
    }
    if let Some(d) = p.millis("dedupeWindowMs", o.dedupe_window_ms) {
        b = b.dedupe_window(d);
    }
    match o.rate_limit {
        None => {}
        Some(Either::A(name)) => match core::RateLimit::from_name(&name) {
            Some(preset) => b = b.rate_limit(preset),
            None => p.push(
                "rateLimit",
                "unknown_preset",
                "rateLimit must be 'standard', 'enterprise', 'off' or { burst, perSecond }".into(),
            ),
        },
        Some(Either::B(c)) => {
            // Read as a plain number: napi's own `u32` conversion wraps (`-1` would become
            // 4294967295, an unlimited burst) and truncates (`1.5` -> 1) without a word.
            if c.burst.fract() == 0.0 && (1.0..=f64::from(u32::MAX)).contains(&c.burst) {
                b = b.rate_limit(core::RateLimit::Custom {
                    burst: c.burst as u32,
                    per_second: c.per_second,
                })
            } else {
                p.push(
                    "rateLimit.burst",
                    "out_of_range",
                    "rateLimit.burst must be a whole number between 1 and 4294967295".into(),
                )
            }
        }
    }
    match o.root_certificates {
        None => {}
        Some(Either::A(pem)) => b = b.add_root_certificate_pem(pem.into_bytes()),
        Some(Either::B(pems)) => {
            for pem in pems {
                b = b.add_root_certificate_pem(pem.into_bytes());
            }
        }
    }
    let suffix = match o.user_agent_suffix {
        Some(extra) if !extra.trim().is_empty() => format!("node/{node_version} {}", extra.trim()),
        _ => format!("node/{node_version}"),
    };
    b = b.user_agent_suffix(suffix);
    if let Some(r) = o.default_region {
        b = b.default_region(r);
    }
    if let Some(a) = o.allow_unknown_voice {
        b = b.allow_unknown_voice(a);
    }
    if let Some(dp) = o.destination_policy {
        let mut policy = core::DestinationPolicy::default();
        if let Some(r) = dp.allowed_regions {
            policy.allowed_regions = r;
        }
        if let Some(c) = dp.block_costly_numbers {
            policy.block_costly_numbers = c;
        }
        if let Some(d) = p.millis("destinationPolicy.numberCooldownMs", dp.number_cooldown_ms) {
            policy.number_cooldown = d;
        }
        b = b.destination_policy(policy);
    }
    p.finish()?;
    Ok(b)
}

pub fn request_builder(
    mut b: core::CallbackRequestBuilder,
    line: String,
    to: String,
    text: String,
    voice: Option<String>,
    idempotency_key: Option<String>,
) -> core::CallbackRequestBuilder {
    b = b.from_line(line).to_number(to).text(text);
    if let Some(v) = voice {
        b = b.voice(v);
    }
    if let Some(k) = idempotency_key {
        b = b.idempotency_key(k);
    }
    b
}

// ---------------------------------------------------------------- outputs

/// Bitrix24's own `time` object of the successful answer; every field may be missing.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct PortalTime {
    pub start: Option<f64>,
    pub finish: Option<f64>,
    pub duration: Option<f64>,
    pub processing: Option<f64>,
    pub date_start: Option<String>,
    pub date_finish: Option<String>,
    pub operating: Option<f64>,
    pub operating_reset_at: Option<i64>,
}

/// Time spent on a call.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct Timing {
    /// From the call's start to its answer, in milliseconds.
    pub total_ms: f64,
    /// Time spent waiting for the local rate limiter, in milliseconds.
    pub limiter_wait_ms: f64,
    /// HTTP requests sent (retries, refresh resends and rename re-POSTs included).
    pub attempts: u32,
    pub portal: Option<PortalTime>,
}

/// A callback the portal accepted.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct CallbackStarted {
    /// `null` for lines owned by a telephony REST application.
    pub call_id: Option<String>,
    /// True when this is the remembered answer to an earlier call with the same idempotency key.
    pub deduplicated: bool,
    pub timing: Timing,
    /// Set when the portal was renamed (HTTP 302) and the call went to the new address.
    pub portal_moved_to: Option<String>,
}

impl From<core::CallbackStarted> for CallbackStarted {
    fn from(s: core::CallbackStarted) -> Self {
        CallbackStarted {
            call_id: s.call_id,
            deduplicated: s.deduplicated,
            timing: Timing {
                total_ms: ms(s.timing.total),
                limiter_wait_ms: ms(s.timing.limiter_wait),
                attempts: s.timing.attempts,
                portal: s.timing.portal.map(|t| PortalTime {
                    start: t.start,
                    finish: t.finish,
                    duration: t.duration,
                    processing: t.processing,
                    date_start: t.date_start,
                    date_finish: t.date_finish,
                    operating: t.operating,
                    operating_reset_at: t.operating_reset_at,
                }),
            },
            portal_moved_to: s.portal_moved_to,
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A line usable as `line` (`voximplant.line.get`); `name` is HTML-decoded.
#[napi(object, object_from_js = false)]
pub struct Line {
    pub id: String,
    pub name: String,
}

impl From<core::Line> for Line {
    fn from(l: core::Line) -> Self {
        Line {
            id: l.id,
            name: l.name,
        }
    }
}

/// A text-to-speech voice (`voximplant.tts.voices.get`).
#[napi(object, object_from_js = false)]
pub struct Voice {
    pub id: String,
    pub name: String,
}

impl From<core::Voice> for Voice {
    fn from(v: core::Voice) -> Self {
        Voice {
            id: v.id,
            name: v.name,
        }
    }
}

/// What became of a call.
#[napi(string_enum = "snake_case")]
pub enum CallOutcome {
    Answered,
    Busy,
    NoAnswer,
    Declined,
    InsufficientFunds,
    InvalidNumber,
    Failed,
}

impl From<core::CallOutcome> for CallOutcome {
    fn from(o: core::CallOutcome) -> Self {
        match o {
            core::CallOutcome::Answered => CallOutcome::Answered,
            core::CallOutcome::Busy => CallOutcome::Busy,
            core::CallOutcome::NoAnswer => CallOutcome::NoAnswer,
            core::CallOutcome::Declined => CallOutcome::Declined,
            core::CallOutcome::InsufficientFunds => CallOutcome::InsufficientFunds,
            core::CallOutcome::InvalidNumber => CallOutcome::InvalidNumber,
            core::CallOutcome::Failed => CallOutcome::Failed,
        }
    }
}

/// A finished call (`voximplant.statistic.get`); the number is masked.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct CallRecord {
    pub call_id: String,
    /// `CALL_TYPE` (4 = callback).
    pub call_type: Option<u32>,
    pub outcome: CallOutcome,
    /// Raw `CALL_FAILED_CODE`, e.g. `'486'`.
    pub failed_code: String,
    pub failed_reason: Option<String>,
    pub duration_seconds: f64,
    pub start_date: Option<String>,
    pub masked_number: Option<String>,
    pub cost: Option<String>,
    pub cost_currency: Option<String>,
}

impl From<core::CallRecord> for CallRecord {
    fn from(r: core::CallRecord) -> Self {
        CallRecord {
            call_id: r.call_id,
            call_type: r.call_type,
            outcome: r.outcome.into(),
            failed_code: r.failed_code,
            failed_reason: r.failed_reason,
            duration_seconds: r.duration_seconds as f64,
            start_date: r.start_date,
            masked_number: r.masked_number,
            cost: r.cost,
            cost_currency: r.cost_currency,
        }
    }
}

/// A rotated OAuth token pair, handed to `onTokens`.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: Option<f64>,
    /// Unix time (seconds) at which the access token expires.
    pub expires_at: Option<i64>,
    pub client_endpoint: Option<String>,
    pub server_endpoint: Option<String>,
}

impl From<&core::TokenPair> for TokenPair {
    fn from(t: &core::TokenPair) -> Self {
        TokenPair {
            access_token: t.access_token.clone(),
            refresh_token: t.refresh_token.clone(),
            expires_in: t.expires_in.map(|s| s as f64),
            expires_at: t.expires_at,
            client_endpoint: t.client_endpoint.clone(),
            server_endpoint: t.server_endpoint.clone(),
        }
    }
}

/// A request that passed validation (`validateRequest`).
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct ValidatedRequest {
    pub line: String,
    /// The number with all but the country code and the last two digits hidden.
    pub masked_number: String,
    pub text: String,
    pub voice: Option<String>,
    pub idempotency_key: Option<String>,
    /// ISO 3166 region of the destination, when known.
    pub destination_region: Option<String>,
    /// The exact JSON body sent to `voximplant.callback.start` (contains the full number).
    pub wire_body: String,
}

impl From<&core::CallbackRequest> for ValidatedRequest {
    fn from(r: &core::CallbackRequest) -> Self {
        ValidatedRequest {
            line: r.from_line().to_owned(),
            masked_number: r.masked_number(),
            text: r.text().to_owned(),
            voice: r.voice().map(str::to_owned),
            idempotency_key: r.idempotency_key().map(str::to_owned),
            destination_region: r.destination_region().map(str::to_owned),
            wire_body: r.wire_body(),
        }
    }
}

/// A verified telephony event (`parseEvent`).
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct TelephonyEvent {
    /// Upper-case event name, e.g. `'ONVOXIMPLANTCALLEND'`.
    pub event: String,
    pub call_id: Option<String>,
    /// For `ONVOXIMPLANTCALLEND`: the outcome from `CALL_FAILED_CODE`.
    pub outcome: Option<CallOutcome>,
    /// Every `data[...]` value as sent by the portal (`PHONE_NUMBER` is the full number).
    pub data: HashMap<String, String>,
    pub ts: Option<i64>,
    /// `auth[domain]`: the portal.
    pub domain: Option<String>,
    pub member_id: Option<String>,
}

impl From<core::TelephonyEvent> for TelephonyEvent {
    fn from(e: core::TelephonyEvent) -> Self {
        TelephonyEvent {
            call_id: e.call_id().map(str::to_owned),
            outcome: e.outcome().map(CallOutcome::from),
            event: e.event,
            data: e.data.into_iter().collect(),
            ts: e.ts,
            domain: e.domain,
            member_id: e.member_id,
        }
    }
}

// ---------------------------------------------------------------- plain arguments

/// A string argument; anything else is a `TypeError` that does not echo the value.
pub fn string_arg(env: &Env, value: &Unknown, name: &str) -> Result<String> {
    if value.get_type()? != ValueType::String {
        return Err(crate::errors::type_error(
            env,
            format!("{name} must be a string"),
        ));
    }
    unsafe { String::from_napi_value(env.raw(), value.raw()) }
}

/// A string or a `Buffer`/`Uint8Array` argument, as bytes.
pub fn bytes_arg(env: &Env, value: &Unknown, name: &str) -> Result<Vec<u8>> {
    if value.get_type()? == ValueType::String {
        return Ok(string_arg(env, value, name)?.into_bytes());
    }
    if value.is_typedarray()?
        && let Ok(bytes) = unsafe { Uint8Array::from_napi_value(env.raw(), value.raw()) }
    {
        return Ok(bytes.to_vec());
    }
    Err(crate::errors::type_error(
        env,
        format!("{name} must be a string or a Buffer"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_become_durations_and_bad_values_are_violations() {
        let mut p = Problems::default();
        assert_eq!(
            p.millis("timeoutMs", Some(1500.0)),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(p.millis("timeoutMs", Some(0.0)), Some(Duration::ZERO));
        assert_eq!(p.millis("timeoutMs", None), None);
        assert!(p.0.is_empty());
        assert_eq!(p.millis("deadlineMs", Some(-1.0)), None);
        assert_eq!(p.millis("dedupeWindowMs", Some(f64::NAN)), None);
        assert_eq!(p.millis("connectTimeoutMs", Some(f64::INFINITY)), None);
        let err = p.finish().unwrap_err();
        assert_eq!(err.code(), core::ErrorCode::InvalidRequest);
        let fields: Vec<&str> = err.violations().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["deadlineMs", "dedupeWindowMs", "connectTimeoutMs"]);
    }
}
