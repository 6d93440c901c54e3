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

/// Which destinations are refused before any network traffic (`destination_blocked`, with one
/// violation whose code names the rule). Every list is optional; absent keeps the default.
#[napi(object)]
pub struct DestinationPolicy {
    /// ISO 3166 alpha-2 regions the business serves (`['GB', 'DE']`; `'001'`: the international
    /// networks); empty or absent = any. Naming a high-risk region here allows it.
    pub allowed_regions: Option<Vec<String>>,
    /// Regions never called.
    pub blocked_regions: Option<Vec<String>>,
    /// E.164 prefixes allowed (`['+44', '+1 201']`); empty or absent = any. A matching prefix
    /// also lifts the international-network and high-risk rules for that number.
    pub allowed_prefixes: Option<Vec<String>>,
    /// E.164 prefixes never called (`['+4470']`).
    pub blocked_prefixes: Option<Vec<String>>,
    /// Refuse number types outside `allowedNumberTypes`. Default `true`.
    pub block_costly_numbers: Option<bool>,
    /// The types called while `blockCostlyNumbers` is on. Default `fixed_line`, `mobile`,
    /// `fixed_line_or_mobile`, `toll_free`.
    #[napi(ts_type = "Array<NumberType>")]
    pub allowed_number_types: Option<Vec<String>>,
    /// Regions refused unless allowed explicitly; replaces the built-in high-risk list (`[]`:
    /// none).
    pub high_risk_regions: Option<Vec<String>>,
    /// A number that was called is refused for this long. Default 60000; 0 turns it off.
    pub number_cooldown_ms: Option<f64>,
    /// Calls to one number per rolling hour, at most (a whole number up to 4294967295).
    /// Default 5; 0 turns it off.
    pub number_hourly_cap: Option<f64>,
}

/// Options shared by `new Client(...)`, `Client.fromOAuth(...)` and `Client.fromEnv(...)`; every
/// one is optional. A key that is none of these is refused (`unknown_option`).
#[napi(object, object_to_js = false)]
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
    /// The application's own part of the User-Agent, after `(node/<version>)`.
    pub user_agent_suffix: Option<String>,
    /// Region (ISO 3166 alpha-2, e.g. `'GB'`) for numbers written without `+`.
    pub default_region: Option<String>,
    /// Accept voice ids Bitrix24 does not list. Default `false`.
    pub allow_unknown_voice: Option<bool>,
    pub destination_policy: Option<DestinationPolicy>,
    /// How long an idempotency key is remembered. Default 600000 (10 minutes).
    pub dedupe_window_ms: Option<f64>,
    /// `redis://[:password@]host[:port][/db]` or `rediss://...`: the rate limiter, idempotency
    /// keys, number cooldowns and caps and the OAuth pair live in Redis, shared by every process
    /// and machine given the same URL. Absent: in this process's memory. While Redis cannot be
    /// reached every call is refused with `shared_state_unavailable` (retry-safe, nothing sent).
    pub shared_state: Option<String>,
    /// The prefix of every Redis key. Default `bitrix24-callback:<portal host>:`.
    pub shared_state_prefix: Option<String>,
    /// Receives the library's log records (masked numbers, never a secret): an object with
    /// `debug`/`info`/`warn`/`error` methods (`console`, pino, winston; a level without a
    /// method is not sent) or one function `(level, message) => void`. Without it, records go
    /// to stderr when `BITRIX24_CALLBACK_LOG` (a level) or `DEBUG=bitrix24-callback` is set.
    #[napi(ts_type = "Logger")]
    pub logger: Option<Unknown<'static>>,
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

/// `Client.fromEnv({ onTokens, ...options })`: what overrides the environment besides the client
/// options.
#[napi(object, object_to_js = false)]
pub struct FromEnvConfig {
    /// As for `Client.fromOAuth`; replaces the token file of `BITRIX24_TOKEN_FILE`.
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

/// `client.checkCallback({ line, to, text, voice, idempotencyKey })`: what `startCallback`
/// would be given.
#[napi(object, object_to_js = false)]
pub struct CheckCallbackOptions {
    pub line: String,
    pub to: String,
    pub text: String,
    pub voice: Option<String>,
    pub idempotency_key: Option<String>,
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

/// `waitForOutcome(callId, { timeoutMs, signal })`.
#[napi(object, object_to_js = false)]
pub struct WaitOptions {
    /// How long to poll `voximplant.statistic.get`. Default 120000.
    pub timeout_ms: Option<f64>,
    /// Ends the wait at once: the Promise rejects with an `AbortError` whose `cause` is
    /// `signal.reason`.
    #[napi(ts_type = "AbortSignalLike")]
    pub signal: Option<Unknown<'static>>,
}

// ---------------------------------------------------------------- option names

/// The JavaScript keys of each options object (the camelCase names of the fields above). A key
/// outside its list is refused with the `unknown_option` code; `test/options.test.mjs` checks
/// these lists against the interfaces of `index.d.ts`.
pub mod keys {
    pub const WEBHOOK: &[&str] = &["webhookUrl"];
    pub const OAUTH: &[&str] = &[
        "clientId",
        "clientSecret",
        "accessToken",
        "refreshToken",
        "clientEndpoint",
        "serverEndpoint",
        "onTokens",
    ];
    pub const ON_TOKENS: &[&str] = &["onTokens"];
    pub const CLIENT: &[&str] = &[
        "connectTimeoutMs",
        "timeoutMs",
        "deadlineMs",
        "rateLimit",
        "rootCertificates",
        "userAgentSuffix",
        "defaultRegion",
        "allowUnknownVoice",
        "destinationPolicy",
        "dedupeWindowMs",
        "sharedState",
        "sharedStatePrefix",
        "logger",
    ];
    pub const POLICY: &[&str] = &[
        "allowedRegions",
        "blockedRegions",
        "allowedPrefixes",
        "blockedPrefixes",
        "blockCostlyNumbers",
        "allowedNumberTypes",
        "highRiskRegions",
        "numberCooldownMs",
        "numberHourlyCap",
    ];
    pub const RATE_LIMIT: &[&str] = &["burst", "perSecond"];
    pub const START: &[&str] = &["line", "to", "text", "voice", "idempotencyKey", "signal"];
    /// `signal` too: the options of `startCallback` may be checked as they are (it is not read).
    pub const CHECK: &[&str] = &["line", "to", "text", "voice", "idempotencyKey", "signal"];
    pub const REQUEST: &[&str] = &[
        "line",
        "to",
        "text",
        "voice",
        "idempotencyKey",
        "defaultRegion",
        "allowUnknownVoice",
    ];
    pub const WAIT: &[&str] = &["timeoutMs", "signal"];
}

/// The violations of the keys of `value` that are in none of `allowed` (a key whose value is
/// `undefined` counts as absent, as for every option), each named `prefix` + key, code
/// `unknown_option`, the message suggesting a known key when one is a near miss.
pub fn unknown_keys(
    env: &Env,
    value: &Unknown,
    allowed: &[&[&str]],
    prefix: &str,
) -> Result<Vec<core::Violation>> {
    let mut out = Vec::new();
    if value.get_type()? != ValueType::Object {
        return Ok(out);
    }
    let obj: Object = unsafe { Object::from_napi_value(env.raw(), value.raw())? };
    for key in Object::keys(&obj)? {
        if allowed.iter().any(|list| list.contains(&key.as_str())) {
            continue;
        }
        if is_undefined(obj.get::<Unknown>(&key)?)? {
            continue;
        }
        out.push(unknown_option(&format!("{prefix}{key}"), &key, allowed));
    }
    Ok(out)
}

/// [`unknown_keys`] for the hot paths (`startCallback`, `checkCallback`, `validateRequest`):
/// when `value` has exactly as many enumerable keys as the parse found fields (`present`), every
/// key is one of those fields and none is read one by one. (An object whose known field is not
/// enumerable but that has an unknown key besides would pass: not worth a slower common case.)
pub fn unknown_keys_counted(
    env: &Env,
    value: &Unknown,
    allowed: &[&str],
    present: usize,
) -> Result<Vec<core::Violation>> {
    let mut names = std::ptr::null_mut();
    let mut count = 0u32;
    unsafe {
        napi::check_status!(napi::sys::napi_get_property_names(
            env.raw(),
            value.raw(),
            &mut names
        ))?;
        napi::check_status!(napi::sys::napi_get_array_length(
            env.raw(),
            names,
            &mut count
        ))?;
    }
    if count as usize == present {
        return Ok(Vec::new());
    }
    unknown_keys(env, value, &[allowed], "")
}

/// Like [`unknown_keys`], for the nested objects of the client options too
/// (`destinationPolicy.*`, `rateLimit.*`).
pub fn unknown_client_keys(
    env: &Env,
    value: &Unknown,
    own: &[&str],
) -> Result<Vec<core::Violation>> {
    let mut out = unknown_keys(env, value, &[own, keys::CLIENT], "")?;
    if value.get_type()? == ValueType::Object {
        let obj: Object = unsafe { Object::from_napi_value(env.raw(), value.raw())? };
        for (key, nested) in [
            ("destinationPolicy", keys::POLICY),
            ("rateLimit", keys::RATE_LIMIT),
        ] {
            if let Some(v) = obj.get::<Unknown>(key)? {
                out.extend(unknown_keys(env, &v, &[nested], &format!("{key}."))?);
            }
        }
    }
    Ok(out)
}

/// The options given (not `undefined`) as violations would name them: `timeoutMs`,
/// `destinationPolicy.numberCooldownMs`.
pub fn given_keys(env: &Env, value: &Unknown) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if value.get_type()? != ValueType::Object {
        return Ok(out);
    }
    let obj: Object = unsafe { Object::from_napi_value(env.raw(), value.raw())? };
    for key in Object::keys(&obj)? {
        let Some(v) = obj.get::<Unknown>(&key)? else {
            continue;
        };
        match v.get_type()? {
            ValueType::Undefined => continue,
            ValueType::Object if key == "destinationPolicy" => {
                let nested: Object = unsafe { Object::from_napi_value(env.raw(), v.raw())? };
                for inner in Object::keys(&nested)? {
                    if !is_undefined(nested.get::<Unknown>(&inner)?)? {
                        out.push(format!("{key}.{inner}"));
                    }
                }
            }
            _ => out.push(key),
        }
    }
    Ok(out)
}

/// `explicit` options over those of the environment (`ClientOptions::over`: each option given
/// here replaces the variable's, a list the whole list), this binding named in the
/// `User-Agent`. Violations name variables (`OptionNames::Env`); see [`name_explicit`] for the
/// options given here.
pub fn over_env(
    explicit: Option<core::ClientOptions>,
    from_env: core::ClientOptions,
    binding: core::Binding,
) -> core::ClientOptions {
    let given = explicit.unwrap_or_default();
    core::ClientOptions {
        binding: Some(binding),
        ..given
    }
    .over(from_env)
}

/// The violations of `by_variable` (the merged options checked with variable names), each one
/// of an option in `given` renamed as `by_option` (the same options checked with camelCase
/// names, violation for violation) names it. Unchanged if the two lists do not pair up.
pub fn name_explicit(
    by_variable: core::Error,
    by_option: &core::Error,
    given: &[String],
) -> core::Error {
    let (a, b) = (by_variable.violations(), by_option.violations());
    if a.len() != b.len() {
        return by_variable;
    }
    let named = a
        .iter()
        .zip(b)
        .map(|(v, c)| {
            if given.contains(&c.field) {
                c.clone()
            } else {
                v.clone()
            }
        })
        .collect();
    core::Error::invalid(named)
}

/// Whether a property read as `value` is absent or `undefined`.
fn is_undefined(value: Option<Unknown>) -> Result<bool> {
    Ok(match value {
        None => true,
        Some(v) => v.get_type()? == ValueType::Undefined,
    })
}

fn unknown_option(field: &str, key: &str, allowed: &[&[&str]]) -> core::Violation {
    let near = allowed
        .iter()
        .flat_map(|list| list.iter())
        .map(|known| {
            (
                edit_distance(&key.to_ascii_lowercase(), &known.to_ascii_lowercase()),
                known,
            )
        })
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d);
    core::Violation {
        field: field.to_owned(),
        code: "unknown_option".to_owned(),
        message: match near {
            Some((_, known)) => format!("is not an option; did you mean `{known}`?"),
            None => "is not an option".to_owned(),
        },
    }
}

/// Levenshtein distance (option names are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
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

impl ClientOptions {
    /// The core's options, one line per option, every value as given: the core checks them all
    /// (and names them in camelCase, with the `Ms` suffix of the millisecond options).
    pub fn into_core(
        self,
        binding: core::Binding,
        token_store: Option<core::TokenStore>,
    ) -> core::ClientOptions {
        let ClientOptions {
            connect_timeout_ms,
            timeout_ms,
            deadline_ms,
            rate_limit,
            root_certificates,
            user_agent_suffix,
            default_region,
            allow_unknown_voice,
            destination_policy,
            dedupe_window_ms,
            shared_state,
            shared_state_prefix,
            logger: _,
        } = self;
        core::ClientOptions {
            connect_timeout: connect_timeout_ms.map(core::Span::Millis),
            timeout: timeout_ms.map(core::Span::Millis),
            deadline: deadline_ms.map(core::Span::Millis),
            rate_limit: rate_limit.map(rate_limit_option),
            root_certificates: pem_texts(root_certificates),
            user_agent_suffix,
            binding: Some(binding),
            default_region,
            allow_unknown_voice,
            policy: destination_policy
                .map(DestinationPolicy::into_core)
                .unwrap_or_default(),
            dedupe_window: dedupe_window_ms.map(core::Span::Millis),
            token_store,
            shared_state,
            shared_state_prefix,
            names: core::OptionNames::Camel,
        }
    }
}

/// A preset's name or the bucket numbers as given (a plain number each: napi's own `u32`
/// conversion would wrap `-1` into an unlimited burst); the core checks both.
fn rate_limit_option(r: Either<String, CustomRateLimit>) -> core::RateLimitOption {
    match r {
        Either::A(name) => core::RateLimitOption::Named(name),
        Either::B(CustomRateLimit { burst, per_second }) => {
            core::RateLimitOption::Custom { burst, per_second }
        }
    }
}

fn pem_texts(pems: Option<Either<String, Vec<String>>>) -> Vec<Vec<u8>> {
    match pems {
        None => Vec::new(),
        Some(Either::A(pem)) => vec![pem.into_bytes()],
        Some(Either::B(pems)) => pems.into_iter().map(String::into_bytes).collect(),
    }
}

impl DestinationPolicy {
    /// The core's policy options, one line per option, every value as given (a plain number for
    /// the hourly cap: napi's own `u32` conversion would wrap `-1` and truncate `1.5`).
    fn into_core(self) -> core::PolicyOptions {
        let DestinationPolicy {
            allowed_regions,
            blocked_regions,
            allowed_prefixes,
            blocked_prefixes,
            block_costly_numbers,
            allowed_number_types,
            high_risk_regions,
            number_cooldown_ms,
            number_hourly_cap,
        } = self;
        core::PolicyOptions {
            allowed_regions,
            blocked_regions,
            allowed_prefixes,
            blocked_prefixes,
            block_costly_numbers,
            allowed_number_types,
            high_risk_regions,
            number_cooldown: number_cooldown_ms.map(core::Span::Millis),
            number_hourly_cap,
        }
    }
}

impl StartCallbackOptions {
    /// How many of its keys the parse found (for [`unknown_keys_counted`]).
    pub fn present(&self) -> usize {
        3 + usize::from(self.voice.is_some())
            + usize::from(self.idempotency_key.is_some())
            + usize::from(self.signal.is_some())
    }

    /// The request for the core (validated by `core::Client::validate`, which reports the
    /// `refused` keys with its own violations) and the signal.
    pub fn into_input(
        self,
        refused: Vec<core::Violation>,
    ) -> (core::RequestInput, Option<Unknown<'static>>) {
        let StartCallbackOptions {
            line,
            to,
            text,
            voice,
            idempotency_key,
            signal,
        } = self;
        let input = core::RequestInput {
            line: Some(line),
            to: Some(to),
            text: Some(text),
            voice,
            idempotency_key,
            violations: refused,
        };
        (input, signal)
    }
}

impl CheckCallbackOptions {
    /// How many of its keys the parse found (for [`unknown_keys_counted`]).
    pub fn present(&self) -> usize {
        3 + usize::from(self.voice.is_some()) + usize::from(self.idempotency_key.is_some())
    }

    /// The request for the core (validated by `core::Client::validate`, with `refused`).
    pub fn into_input(self, refused: Vec<core::Violation>) -> core::RequestInput {
        let CheckCallbackOptions {
            line,
            to,
            text,
            voice,
            idempotency_key,
        } = self;
        core::RequestInput {
            line: Some(line),
            to: Some(to),
            text: Some(text),
            voice,
            idempotency_key,
            violations: refused,
        }
    }
}

impl RequestInput {
    /// How many of its keys the parse found (for [`unknown_keys_counted`]).
    pub fn present(&self) -> usize {
        3 + usize::from(self.voice.is_some())
            + usize::from(self.idempotency_key.is_some())
            + usize::from(self.default_region.is_some())
            + usize::from(self.allow_unknown_voice.is_some())
    }

    /// A core request builder holding this input (and `refused`) and its client-level rules.
    pub fn into_builder(self, refused: Vec<core::Violation>) -> core::CallbackRequestBuilder {
        let RequestInput {
            line,
            to,
            text,
            voice,
            idempotency_key,
            default_region,
            allow_unknown_voice,
        } = self;
        let mut b = core::CallbackRequest::builder();
        if let Some(r) = default_region {
            b = b.default_region(r);
        }
        if let Some(a) = allow_unknown_voice {
            b = b.allow_unknown_voice(a);
        }
        b.input(core::RequestInput {
            line: Some(line),
            to: Some(to),
            text: Some(text),
            voice,
            idempotency_key,
            violations: refused,
        })
    }
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
    /// ISO 3166 region of the destination (`'001'` for the international networks), when known.
    pub destination_region: Option<String>,
    /// What the number is, per libphonenumber's metadata.
    pub number_type: NumberType,
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
            number_type: r.number_type().into(),
            wire_body: r.wire_body(),
        }
    }
}

/// What `checkCallback` found: the destination `startCallback` would call. `util.inspect`
/// shows `number` as `[hidden]`.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct Destination {
    /// The full number in E.164 (`+12015550123`): what would be dialled. Do not log it.
    pub number: String,
    /// The number with all but the country code and the last two digits hidden.
    pub masked_number: String,
    /// ISO 3166 alpha-2 (`'001'` for the international networks), when the metadata names one.
    pub region: Option<String>,
    pub number_type: NumberType,
}

impl From<core::Destination> for Destination {
    fn from(d: core::Destination) -> Self {
        Destination {
            masked_number: d.masked_number(),
            number: d.number,
            region: d.region,
            number_type: d.number_type.into(),
        }
    }
}

/// What a valid number is, per libphonenumber's metadata (`unknown` only for numbers it calls
/// invalid, which validation refuses).
#[napi(string_enum = "snake_case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberType {
    FixedLine,
    Mobile,
    /// Regions (the NANP, say) whose landlines and mobiles cannot be told apart.
    FixedLineOrMobile,
    TollFree,
    PremiumRate,
    SharedCost,
    Voip,
    PersonalNumber,
    Pager,
    /// Universal access numbers: one number a company routes to its offices.
    Uan,
    Voicemail,
    Unknown,
}

/// The one place that maps the core's number types; a new core variant fails to compile here.
impl From<core::NumberType> for NumberType {
    fn from(t: core::NumberType) -> Self {
        match t {
            core::NumberType::FixedLine => NumberType::FixedLine,
            core::NumberType::Mobile => NumberType::Mobile,
            core::NumberType::FixedLineOrMobile => NumberType::FixedLineOrMobile,
            core::NumberType::TollFree => NumberType::TollFree,
            core::NumberType::PremiumRate => NumberType::PremiumRate,
            core::NumberType::SharedCost => NumberType::SharedCost,
            core::NumberType::Voip => NumberType::Voip,
            core::NumberType::PersonalNumber => NumberType::PersonalNumber,
            core::NumberType::Pager => NumberType::Pager,
            core::NumberType::Uan => NumberType::Uan,
            core::NumberType::Voicemail => NumberType::Voicemail,
            core::NumberType::Unknown => NumberType::Unknown,
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

    fn options() -> ClientOptions {
        ClientOptions {
            connect_timeout_ms: None,
            timeout_ms: None,
            deadline_ms: None,
            rate_limit: None,
            root_certificates: None,
            user_agent_suffix: None,
            default_region: None,
            allow_unknown_voice: None,
            destination_policy: None,
            dedupe_window_ms: None,
            shared_state: None,
            shared_state_prefix: None,
            logger: None,
        }
    }

    fn node() -> core::Binding {
        core::Binding {
            name: "node".into(),
            version: "20.0.0".into(),
        }
    }

    #[test]
    fn an_unknown_option_names_itself_and_a_near_known_one() {
        let v = unknown_option("defaultRegoin", "defaultRegoin", &[keys::CLIENT]);
        assert_eq!(
            (v.field.as_str(), v.code.as_str()),
            ("defaultRegoin", "unknown_option")
        );
        assert_eq!(v.message, "is not an option; did you mean `defaultRegion`?");
        let nested = unknown_option(
            "destinationPolicy.allowedRegion",
            "allowedRegion",
            &[keys::POLICY],
        );
        assert_eq!(nested.field, "destinationPolicy.allowedRegion");
        assert!(nested.message.contains("`allowedRegions`"));
        assert_eq!(
            unknown_option("colour", "colour", &[keys::CLIENT]).message,
            "is not an option"
        );
        assert!(
            unknown_option("TIMEOUTMS", "TIMEOUTMS", &[keys::CLIENT])
                .message
                .contains("`timeoutMs`")
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn explicit_options_override_the_environment_field_by_field() {
        let from_env = core::ClientOptions {
            timeout: Some(core::Span::Seconds(5.0)),
            default_region: Some("GB".into()),
            policy: core::PolicyOptions {
                allowed_regions: Some(vec!["GB".into()]),
                number_hourly_cap: Some(3.0),
                ..core::PolicyOptions::default()
            },
            names: core::OptionNames::Env,
            ..core::ClientOptions::default()
        };
        let explicit = ClientOptions {
            default_region: Some("US".into()),
            destination_policy: Some(DestinationPolicy {
                allowed_regions: Some(vec!["US".into()]),
                blocked_regions: None,
                allowed_prefixes: None,
                blocked_prefixes: None,
                block_costly_numbers: None,
                allowed_number_types: None,
                high_risk_regions: None,
                number_cooldown_ms: Some(0.0),
                number_hourly_cap: None,
            }),
            ..options()
        }
        .into_core(node(), None);
        let merged = over_env(Some(explicit), from_env, node());
        assert_eq!(
            merged.timeout,
            Some(core::Span::Seconds(5.0)),
            "kept from the environment"
        );
        assert_eq!(merged.default_region.as_deref(), Some("US"));
        assert_eq!(merged.policy.allowed_regions, Some(vec!["US".to_owned()]));
        assert_eq!(merged.policy.number_cooldown, Some(core::Span::Millis(0.0)));
        assert_eq!(merged.policy.number_hourly_cap, Some(3.0));
        assert_eq!(merged.names, core::OptionNames::Env);
        assert_eq!(merged.binding, Some(node()));
    }

    #[test]
    fn options_reach_the_core_as_given_and_are_named_in_camel_case() {
        let o = ClientOptions {
            timeout_ms: Some(1500.0),
            rate_limit: Some(Either::B(CustomRateLimit {
                burst: -1.0,
                per_second: 2.0,
            })),
            root_certificates: Some(Either::A("pem".into())),
            destination_policy: Some(DestinationPolicy {
                allowed_regions: Some(vec!["GB".into()]),
                blocked_regions: Some(vec!["xx".into()]),
                allowed_prefixes: Some(vec!["+44".into()]),
                blocked_prefixes: Some(vec!["44".into()]),
                block_costly_numbers: Some(false),
                allowed_number_types: Some(vec!["landline".into()]),
                high_risk_regions: Some(Vec::new()),
                number_cooldown_ms: Some(0.0),
                number_hourly_cap: Some(-1.0),
            }),
            shared_state: Some("redis://:pw@127.0.0.1:6379/2".into()),
            shared_state_prefix: Some("shop:".into()),
            ..options()
        }
        .into_core(node(), None);
        assert_eq!(o.timeout, Some(core::Span::Millis(1500.0)));
        assert_eq!(
            o.rate_limit,
            Some(core::RateLimitOption::Custom {
                burst: -1.0,
                per_second: 2.0
            })
        );
        assert_eq!(o.root_certificates, vec![b"pem".to_vec()]);
        // The values go through untouched: the core checks them.
        let strings = |v: &[&str]| Some(v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(
            o.policy,
            core::PolicyOptions {
                allowed_regions: strings(&["GB"]),
                blocked_regions: strings(&["xx"]),
                allowed_prefixes: strings(&["+44"]),
                blocked_prefixes: strings(&["44"]),
                block_costly_numbers: Some(false),
                allowed_number_types: strings(&["landline"]),
                high_risk_regions: Some(Vec::new()),
                number_cooldown: Some(core::Span::Millis(0.0)),
                number_hourly_cap: Some(-1.0),
            }
        );
        assert_eq!(
            o.shared_state.as_deref(),
            Some("redis://:pw@127.0.0.1:6379/2")
        );
        assert_eq!(o.shared_state_prefix.as_deref(), Some("shop:"));
        assert_eq!(o.binding, Some(node()));
        assert_eq!(o.names, core::OptionNames::Camel);
    }
}
