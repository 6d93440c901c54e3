//! Records and enums crossing the boundary, and their conversions from the core's types (the
//! conversions into the core's inputs are all in [`crate::convert`]).
//!
//! Records that hold a secret or a full phone number export a redacted `Debug`/`Display`, which
//! uniffi turns into Kotlin's `toString()` and Swift's `description`/`debugDescription`, so
//! printing or logging them cannot leak anything.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use callback_core as core;

/// Client-side pacing that mirrors the portal's leaky bucket.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Enum)]
pub enum RateLimit {
    /// Burst 50, drains 2 per second (every plan but Enterprise). The default.
    Standard,
    /// Burst 250, drains 5 per second.
    Enterprise,
    /// Your own numbers.
    Custom { burst: u32, per_second: f64 },
    /// No client-side pacing (the portal still limits).
    Off,
}

/// What a valid number is, as Google's libphonenumber classifies it (snake_case names via
/// [`NumberType::as_str`], the names the shared vectors and every binding use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
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
    /// Only for numbers libphonenumber calls invalid.
    Unknown,
}

/// The exhaustive mapping of the core's types (a new core type is a compile error here).
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

impl From<NumberType> for core::NumberType {
    fn from(t: NumberType) -> Self {
        match t {
            NumberType::FixedLine => core::NumberType::FixedLine,
            NumberType::Mobile => core::NumberType::Mobile,
            NumberType::FixedLineOrMobile => core::NumberType::FixedLineOrMobile,
            NumberType::TollFree => core::NumberType::TollFree,
            NumberType::PremiumRate => core::NumberType::PremiumRate,
            NumberType::SharedCost => core::NumberType::SharedCost,
            NumberType::Voip => core::NumberType::Voip,
            NumberType::PersonalNumber => core::NumberType::PersonalNumber,
            NumberType::Pager => core::NumberType::Pager,
            NumberType::Uan => core::NumberType::Uan,
            NumberType::Voicemail => core::NumberType::Voicemail,
            NumberType::Unknown => core::NumberType::Unknown,
        }
    }
}

#[uniffi::export]
impl NumberType {
    /// Stable snake_case name, e.g. `"premium_rate"` (also the code of the violation when the
    /// policy refuses this type).
    pub fn as_str(&self) -> String {
        core::NumberType::from(*self).as_str().to_owned()
    }
}

/// Which destinations the client refuses before any network traffic (`DestinationBlocked`,
/// whose one violation, field `TO_NUMBER`, names the rule in its code). Every field left out
/// keeps the library's default; `DestinationPolicy()` is the default policy.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DestinationPolicy {
    /// ISO 3166 alpha-2 regions the business serves (`["GB", "DE"]`; `"001"` = the
    /// international networks); empty = any region. Naming a region also lifts the
    /// high-risk and international-network rules for it.
    #[uniffi(default = [])]
    pub allowed_regions: Vec<String>,
    /// Regions never called.
    #[uniffi(default = [])]
    pub blocked_regions: Vec<String>,
    /// E.164 prefixes allowed (`["+44", "+1 201"]`); empty = any. A number matching one is
    /// accepted when either allow-list matches, and lifts the high-risk and
    /// international-network rules.
    #[uniffi(default = [])]
    pub allowed_prefixes: Vec<String>,
    /// E.164 prefixes never called; wins over every allow-list.
    #[uniffi(default = [])]
    pub blocked_prefixes: Vec<String>,
    /// Refuse every number type outside `allowedNumberTypes` (toll fraud). Default true.
    #[uniffi(default = true)]
    pub block_costly_numbers: bool,
    /// The types called while `blockCostlyNumbers` is on; `null`/`nil` = landlines, mobiles
    /// and toll-free numbers.
    #[uniffi(default = None)]
    pub allowed_number_types: Option<Vec<NumberType>>,
    /// Regions refused unless allowed explicitly; `null`/`nil` = the built-in list
    /// (`defaultHighRiskRegions()`), an empty list = none.
    #[uniffi(default = None)]
    pub high_risk_regions: Option<Vec<String>>,
    /// A number that was called is refused for this long; `null`/`nil` = 60 s, zero = off.
    #[uniffi(default = None)]
    pub number_cooldown: Option<Duration>,
    /// Calls to one number per rolling hour, at most; `null`/`nil` = 5, zero = off (checked
    /// by the library like every other option).
    #[uniffi(default = None)]
    pub number_hourly_cap: Option<u32>,
}

/// The record's defaults, as Kotlin's and Swift's `DestinationPolicy()` fill them in.
impl Default for DestinationPolicy {
    fn default() -> Self {
        DestinationPolicy {
            allowed_regions: Vec::new(),
            blocked_regions: Vec::new(),
            allowed_prefixes: Vec::new(),
            blocked_prefixes: Vec::new(),
            block_costly_numbers: true,
            allowed_number_types: None,
            high_risk_regions: None,
            number_cooldown: None,
            number_hourly_cap: None,
        }
    }
}

/// Options of a [`crate::CallbackClient`]; every field has a safe default, `null`/`nil` means
/// "the library's default". They are checked when the client is built: one `InvalidRequest`
/// lists every bad option, named in camelCase (`timeout`, `destinationPolicy.allowedRegions`).
/// Printing it hides the shared-state URL (it may hold a password).
#[derive(Clone, PartialEq, Default, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct ClientOptions {
    /// TCP connect (and TLS handshake) bound. Default 10 s.
    #[uniffi(default = None)]
    pub connect_timeout: Option<Duration>,
    /// Bound of one HTTP exchange. Default 40 s.
    #[uniffi(default = None)]
    pub timeout: Option<Duration>,
    /// Bound of a whole call including limiter waits and retries. Default 60 s.
    #[uniffi(default = None)]
    pub deadline: Option<Duration>,
    /// Default `Standard`.
    #[uniffi(default = None)]
    pub rate_limit: Option<RateLimit>,
    /// Extra trusted root certificates, each a PEM text, e.g. a corporate proxy's or the fake
    /// portal's CA.
    #[uniffi(default = [])]
    pub root_certificates: Vec<String>,
    /// The app's part of the `User-Agent`, e.g. `"myapp/2.1 android"`:
    /// `bitrix24-callback/<version> (uniffi/<version>) myapp/2.1 android`.
    #[uniffi(default = None)]
    pub user_agent_suffix: Option<String>,
    /// Region (ISO 3166 alpha-2) for numbers written without `+`.
    #[uniffi(default = None)]
    pub default_region: Option<String>,
    /// Accept voice ids outside the known list.
    #[uniffi(default = false)]
    pub allow_unknown_voice: bool,
    /// Default: landlines, mobiles and toll-free numbers of any region but the high-risk ones
    /// and the international networks; 60 s cooldown and 5 calls an hour per number.
    #[uniffi(default = None)]
    pub destination_policy: Option<DestinationPolicy>,
    /// How long an idempotency key is remembered. Default 10 minutes.
    #[uniffi(default = None)]
    pub dedupe_window: Option<Duration>,
    /// `redis://[:password@]host[:port][/db]` or `rediss://...`: the rate limiter, idempotency
    /// keys, number cooldowns and caps and the OAuth pair live in that Redis, shared by every
    /// process and machine using the same URL for the same portal. For backends (a JVM
    /// service, a Swift server), not for mobile apps. `null`/`nil`: this process's memory.
    #[uniffi(default = None)]
    pub shared_state: Option<String>,
    /// The prefix of every Redis key; `null`/`nil` = `bitrix24-callback:<portal host>:`.
    #[uniffi(default = None)]
    pub shared_state_prefix: Option<String>,
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ClientOptions(connectTimeout={:?}, timeout={:?}, deadline={:?}, rateLimit={:?}, \
             rootCertificates=<{} certificates>, userAgentSuffix={:?}, defaultRegion={:?}, \
             allowUnknownVoice={}, destinationPolicy={:?}, dedupeWindow={:?}, sharedState={}, \
             sharedStatePrefix={:?})",
            self.connect_timeout,
            self.timeout,
            self.deadline,
            self.rate_limit,
            self.root_certificates.len(),
            self.user_agent_suffix,
            self.default_region,
            self.allow_unknown_voice,
            self.destination_policy,
            self.dedupe_window,
            if self.shared_state.is_some() {
                "[redacted]"
            } else {
                "none"
            },
            self.shared_state_prefix,
        )
    }
}

impl fmt::Display for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Credentials of an OAuth application installed on the portal. Printing it hides the secret
/// and both tokens.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct OAuthCredentials {
    pub client_id: String,
    pub client_secret: String,
    pub access_token: String,
    pub refresh_token: String,
    /// The portal's REST base, `https://PORTAL/rest/`.
    pub client_endpoint: String,
    /// The OAuth server's REST base, `https://oauth.bitrix.info/rest/`.
    pub server_endpoint: String,
}

impl fmt::Debug for OAuthCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "OAuthCredentials(clientId={}, clientSecret=[redacted], accessToken=[redacted], \
             refreshToken=[redacted], clientEndpoint={}, serverEndpoint={})",
            self.client_id, self.client_endpoint, self.server_endpoint
        )
    }
}

impl fmt::Display for OAuthCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A freshly rotated OAuth token pair, handed to the app's `TokenStore`. Printing it hides both
/// tokens.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires, as the token server said.
    pub expires_in: Option<u64>,
    /// Unix time at which the access token expires, as the token server said.
    pub expires_at: Option<i64>,
    pub client_endpoint: Option<String>,
    pub server_endpoint: Option<String>,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TokenPair(accessToken=[redacted], refreshToken=[redacted], expiresIn={:?}, \
             expiresAt={:?}, clientEndpoint={:?}, serverEndpoint={:?})",
            self.expires_in, self.expires_at, self.client_endpoint, self.server_endpoint
        )
    }
}

impl fmt::Display for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl From<&core::TokenPair> for TokenPair {
    fn from(t: &core::TokenPair) -> Self {
        TokenPair {
            access_token: t.access_token.clone(),
            refresh_token: t.refresh_token.clone(),
            expires_in: t.expires_in,
            expires_at: t.expires_at,
            client_endpoint: t.client_endpoint.clone(),
            server_endpoint: t.server_endpoint.clone(),
        }
    }
}

/// The raw, untrusted input of `voximplant.callback.start`; validated by the library.
/// Printing it masks the phone number.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct CallbackRequest {
    /// `FROM_LINE`: the line id to call from (see `CallbackClient.lines()`).
    pub from_line: String,
    /// `TO_NUMBER`: the visitor's number, E.164 (`+12015550123`) or national with a default
    /// region.
    pub to_number: String,
    /// `TEXT_TO_PRONOUNCE`: what the manager hears first (at most 1000 characters).
    pub text: String,
    /// `VOICE`: a text-to-speech voice id; `null`/`nil` = the portal's default.
    #[uniffi(default = None)]
    pub voice: Option<String>,
    /// A repeat with the same key within the dedupe window returns the first result with
    /// `deduplicated = true` and does not call the portal again.
    #[uniffi(default = None)]
    pub idempotency_key: Option<String>,
}

impl fmt::Debug for CallbackRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CallbackRequest(fromLine={:?}, toNumber={}, text=<{} chars>, voice={:?}, \
             idempotencyKey={})",
            self.from_line,
            core::mask_number(&self.to_number),
            self.text.chars().count(),
            self.voice,
            if self.idempotency_key.is_some() {
                "set"
            } else {
                "none"
            },
        )
    }
}

impl fmt::Display for CallbackRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A request that passed validation: what would be sent. Printing it masks the number.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct ValidatedRequest {
    pub from_line: String,
    /// Normalised to E.164. Do not log it: use `maskedNumber`.
    pub to_number: String,
    /// Trimmed.
    pub text: String,
    pub voice: Option<String>,
    pub idempotency_key: Option<String>,
    /// ISO 3166 region of the destination (`"GB"`; `"001"` for the international networks),
    /// when known.
    pub destination_region: Option<String>,
    /// What the number is (mobile, premium rate, ...).
    pub number_type: NumberType,
    /// The number with the middle digits starred, for logs.
    pub masked_number: String,
    /// The exact JSON body sent to `voximplant.callback.start`.
    pub wire_body: String,
}

impl fmt::Debug for ValidatedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ValidatedRequest(fromLine={:?}, toNumber={}, text=<{} chars>, voice={:?}, \
             destinationRegion={:?}, numberType={})",
            self.from_line,
            self.masked_number,
            self.text.chars().count(),
            self.voice,
            self.destination_region,
            core::NumberType::from(self.number_type).as_str(),
        )
    }
}

impl fmt::Display for ValidatedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl From<&core::CallbackRequest> for ValidatedRequest {
    fn from(r: &core::CallbackRequest) -> Self {
        ValidatedRequest {
            from_line: r.from_line().to_owned(),
            to_number: r.to_number().to_owned(),
            text: r.text().to_owned(),
            voice: r.voice().map(str::to_owned),
            idempotency_key: r.idempotency_key().map(str::to_owned),
            destination_region: r.destination_region().map(str::to_owned),
            number_type: r.number_type().into(),
            masked_number: r.masked_number(),
            wire_body: r.wire_body(),
        }
    }
}

/// Where a checked request would ring (`CallbackClient.checkCallback`). Printing it shows only
/// the masked number.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct Destination {
    /// E.164, e.g. `+12015550123`. Do not log it: use `maskedNumber`.
    pub number: String,
    /// The number with the middle digits starred, for logs.
    pub masked_number: String,
    /// ISO 3166 alpha-2 (`"001"` for the international networks), when the metadata names one.
    pub region: Option<String>,
    pub number_type: NumberType,
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Destination(number={}, region={:?}, numberType={})",
            self.masked_number,
            self.region,
            core::NumberType::from(self.number_type).as_str(),
        )
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl From<core::Destination> for Destination {
    fn from(d: core::Destination) -> Self {
        let masked_number = d.masked_number();
        let core::Destination {
            number,
            region,
            number_type,
        } = d;
        Destination {
            number,
            masked_number,
            region,
            number_type: number_type.into(),
        }
    }
}

/// Bitrix24's `time` object; every field is optional (the set varies by portal).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
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

impl From<&core::PortalTime> for PortalTime {
    fn from(t: &core::PortalTime) -> Self {
        PortalTime {
            start: t.start,
            finish: t.finish,
            duration: t.duration,
            processing: t.processing,
            date_start: t.date_start.clone(),
            date_finish: t.date_finish.clone(),
            operating: t.operating,
            operating_reset_at: t.operating_reset_at,
        }
    }
}

/// Time spent, as measured by the client and as reported by the portal.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Timing {
    /// From entry to return.
    pub total: Duration,
    /// Time waited for the local rate limiter.
    pub limiter_wait: Duration,
    /// HTTP requests sent (retries, refresh resends and rename re-POSTs included).
    pub attempts: u32,
    /// The portal's own `time` object of the successful answer.
    pub portal: Option<PortalTime>,
}

impl From<&core::Timing> for Timing {
    fn from(t: &core::Timing) -> Self {
        Timing {
            total: t.total,
            limiter_wait: t.limiter_wait,
            attempts: t.attempts,
            portal: t.portal.as_ref().map(PortalTime::from),
        }
    }
}

/// A callback the portal accepted.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CallbackStarted {
    /// `CALL_ID`; `null`/`nil` for lines owned by a telephony REST application.
    pub call_id: Option<String>,
    /// True when this is the remembered answer to an earlier call with the same idempotency
    /// key; the portal was not called again.
    pub deduplicated: bool,
    pub timing: Timing,
    /// Set when the portal answered 302 (renamed) and the call went to the new address.
    pub portal_moved_to: Option<String>,
}

impl From<core::CallbackStarted> for CallbackStarted {
    fn from(s: core::CallbackStarted) -> Self {
        CallbackStarted {
            call_id: s.call_id,
            deduplicated: s.deduplicated,
            timing: Timing::from(&s.timing),
            portal_moved_to: s.portal_moved_to,
        }
    }
}

/// A line usable as `fromLine` (`voximplant.line.get`); `name` is HTML-decoded.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
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
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
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

/// What became of a call (from Bitrix24's `CALL_FAILED_CODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
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

impl From<CallOutcome> for core::CallOutcome {
    fn from(o: CallOutcome) -> Self {
        match o {
            CallOutcome::Answered => core::CallOutcome::Answered,
            CallOutcome::Busy => core::CallOutcome::Busy,
            CallOutcome::NoAnswer => core::CallOutcome::NoAnswer,
            CallOutcome::Declined => core::CallOutcome::Declined,
            CallOutcome::InsufficientFunds => core::CallOutcome::InsufficientFunds,
            CallOutcome::InvalidNumber => core::CallOutcome::InvalidNumber,
            CallOutcome::Failed => core::CallOutcome::Failed,
        }
    }
}

#[uniffi::export]
impl CallOutcome {
    /// Stable snake_case name, e.g. `"no_answer"`.
    pub fn as_str(&self) -> String {
        core::CallOutcome::from(*self).as_str().to_owned()
    }
}

/// A finished call from `voximplant.statistic.get`; the number is already masked.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CallRecord {
    pub call_id: String,
    /// `CALL_TYPE` (4 = callback).
    pub call_type: Option<u32>,
    pub outcome: CallOutcome,
    /// Raw `CALL_FAILED_CODE`, e.g. `"486"`.
    pub failed_code: String,
    pub failed_reason: Option<String>,
    pub duration_seconds: u64,
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
            duration_seconds: r.duration_seconds,
            start_date: r.start_date,
            masked_number: r.masked_number,
            cost: r.cost,
            cost_currency: r.cost_currency,
        }
    }
}

/// A verified telephony event (`ONVOXIMPLANTCALLEND`, ...). Printing it shows neither the
/// phone number nor any `data` value.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct TelephonyEvent {
    /// Upper-case event name, e.g. `ONVOXIMPLANTCALLEND`.
    pub event: String,
    pub call_id: Option<String>,
    /// For `ONVOXIMPLANTCALLEND`: the outcome from `CALL_FAILED_CODE`.
    pub outcome: Option<CallOutcome>,
    /// Every `data[...]` value (`PHONE_NUMBER` is the full number: do not log it).
    pub data: HashMap<String, String>,
    pub ts: Option<i64>,
    /// `auth[domain]`: the portal.
    pub domain: Option<String>,
    pub member_id: Option<String>,
}

impl fmt::Debug for TelephonyEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TelephonyEvent(event={}, callId={:?}, outcome={:?}, domain={:?}, data=<{} values>)",
            self.event,
            self.call_id,
            self.outcome.map(|o| core::CallOutcome::from(o).as_str()),
            self.domain,
            self.data.len(),
        )
    }
}

impl fmt::Display for TelephonyEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
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
