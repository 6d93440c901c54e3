//! Client options as plain data, checked in one place.
//!
//! Every binding turns its own values (a Python keyword argument, a JavaScript object, a uniffi
//! record, a command-line flag) into a [`ClientOptions`] and nothing more: ranges, presets,
//! regions and certificates are checked here, every violation at once, with the same codes and
//! texts in every language. Only the option names in violations follow the caller's spelling
//! ([`OptionNames`]).

use std::fmt;
use std::time::Duration;

use crate::auth::TokenStore;
use crate::error::{Error, Violation};
use crate::limiter::{RateLimit, unknown_preset_message};
use crate::number::NumberType;
use crate::policy::{DestinationPolicy, NON_GEOGRAPHIC_REGION};
use crate::transport::ExtraRoots;

/// A duration as the caller wrote it. Bindings pass what their language has (Python seconds,
/// JavaScript milliseconds, a uniffi `Duration`); the range check is the same for all.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Span {
    Exact(Duration),
    Seconds(f64),
    Millis(f64),
}

impl Span {
    /// The duration, checked like every duration option (finite, not negative); an
    /// `invalid_request` naming `field` otherwise. For durations that are arguments of a call
    /// rather than client options (a wait's timeout, say).
    pub fn checked(self, field: &str) -> Result<Duration, Error> {
        let (value, _) = self.value();
        value.map_err(|()| {
            Error::invalid(vec![Violation {
                field: field.to_owned(),
                code: "out_of_range".into(),
                message: OUT_OF_RANGE.into(),
            }])
        })
    }

    /// The duration (or `Err` when out of range) and whether it was given in milliseconds.
    fn value(self) -> (Result<Duration, ()>, bool) {
        match self {
            Span::Exact(d) => (Ok(d), false),
            Span::Seconds(s) => (Duration::try_from_secs_f64(s).map_err(drop), false),
            Span::Millis(ms) => (Duration::try_from_secs_f64(ms / 1000.0).map_err(drop), true),
        }
    }
}

/// The text of an `out_of_range` duration.
const OUT_OF_RANGE: &str = "must be a finite, non-negative duration";

impl From<Duration> for Span {
    fn from(d: Duration) -> Span {
        Span::Exact(d)
    }
}

/// A rate limit as the caller wrote it: a preset's name or custom bucket numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum RateLimitOption {
    /// `"standard"`, `"enterprise"` or `"off"` (any case).
    Named(String),
    /// Bucket numbers; the burst must be a whole number from 1 to `u32::MAX`.
    Custom { burst: f64, per_second: f64 },
}

impl From<RateLimit> for RateLimitOption {
    fn from(r: RateLimit) -> RateLimitOption {
        match r {
            RateLimit::Custom { burst, per_second } => RateLimitOption::Custom {
                burst: f64::from(burst),
                per_second,
            },
            preset => RateLimitOption::Named(preset.name().unwrap_or("standard").to_owned()),
        }
    }
}

/// The language binding that drives the core, named in the `User-Agent`
/// (`bitrix24-callback/0.1.0 (python/3.11.7)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// `python`, `node`, `kotlin`, `cli`, ...
    pub name: String,
    /// The language runtime's (or program's) version.
    pub version: String,
}

/// How violations name an option: the spelling the caller used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OptionNames {
    /// `number_cooldown` (Rust, Python keyword arguments).
    #[default]
    Snake,
    /// `destinationPolicy.numberCooldownMs` (JavaScript, Kotlin, Swift); a duration given in
    /// milliseconds gets the `Ms` suffix of the JavaScript option.
    Camel,
    /// `--number-cooldown` (the command line).
    Flags,
    /// `BITRIX24_NUMBER_COOLDOWN` (the environment variables of [`crate::from_env`]).
    Env,
}

/// Which destinations are refused, as the caller wrote it (`None` keeps the default; see
/// [`DestinationPolicy`] for each rule).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolicyOptions {
    /// ISO 3166 alpha-2 regions the business serves (`"001"`: the international networks);
    /// empty = any region.
    pub allowed_regions: Option<Vec<String>>,
    /// Regions never called.
    pub blocked_regions: Option<Vec<String>>,
    /// E.164 prefixes allowed (`"+44"`); empty = any.
    pub allowed_prefixes: Option<Vec<String>>,
    /// E.164 prefixes never called.
    pub blocked_prefixes: Option<Vec<String>>,
    /// Refuse number types outside `allowed_number_types`. Default `true`.
    pub block_costly_numbers: Option<bool>,
    /// Number type names (`"mobile"`, `"voip"`, ...) called when `block_costly_numbers` is
    /// on. Default landlines, mobiles and toll-free numbers.
    pub allowed_number_types: Option<Vec<String>>,
    /// Regions refused unless allowed explicitly. Default the built-in high-risk list.
    pub high_risk_regions: Option<Vec<String>>,
    /// How long a called number is refused. Default 60 s; zero turns it off.
    pub number_cooldown: Option<Span>,
    /// Calls to one number per rolling hour, at most: a whole number from 0 to `u32::MAX`,
    /// taken as the caller's number so that the range is checked here. Default 5; zero turns
    /// it off.
    pub number_hourly_cap: Option<f64>,
}

impl From<DestinationPolicy> for PolicyOptions {
    fn from(p: DestinationPolicy) -> PolicyOptions {
        let DestinationPolicy {
            allowed_regions,
            blocked_regions,
            allowed_prefixes,
            blocked_prefixes,
            block_costly_numbers,
            allowed_number_types,
            high_risk_regions,
            number_cooldown,
            number_hourly_cap,
        } = p;
        PolicyOptions {
            allowed_regions: Some(allowed_regions),
            blocked_regions: Some(blocked_regions),
            allowed_prefixes: Some(allowed_prefixes),
            blocked_prefixes: Some(blocked_prefixes),
            block_costly_numbers: Some(block_costly_numbers),
            allowed_number_types: Some(
                allowed_number_types
                    .iter()
                    .map(|t| t.as_str().to_owned())
                    .collect(),
            ),
            high_risk_regions: Some(high_risk_regions),
            number_cooldown: Some(Span::Exact(number_cooldown)),
            number_hourly_cap: Some(f64::from(number_hourly_cap)),
        }
    }
}

/// Every option of a [`crate::Client`] as plain data; `None` (or empty) keeps the default.
///
/// [`crate::ClientBuilder`] is the typed front of the same options for Rust code; bindings fill
/// this struct from their own values and call [`crate::Client::with_options`].
#[derive(Clone, Default)]
pub struct ClientOptions {
    /// TCP connect and TLS handshake bound. Default 10 s.
    pub connect_timeout: Option<Span>,
    /// Bound of one HTTP exchange. Default 40 s (the portal itself waits up to 30 s for its
    /// telephony controller).
    pub timeout: Option<Span>,
    /// Bound of a whole call, limiter waits and retries included. Default 60 s.
    pub deadline: Option<Span>,
    /// Default `standard` (burst 50, 2 per second).
    pub rate_limit: Option<RateLimitOption>,
    /// Extra trusted root certificates (PEM texts; each may hold several).
    pub root_certificates: Vec<Vec<u8>>,
    /// The application's own part of the `User-Agent`, e.g. `myshop/2.1`.
    pub user_agent_suffix: Option<String>,
    /// The binding, named in the `User-Agent`; `None` for Rust.
    pub binding: Option<Binding>,
    /// Region for numbers written without `+`.
    pub default_region: Option<String>,
    /// Accept voice ids outside the known list. Default `false`.
    pub allow_unknown_voice: Option<bool>,
    /// The destination policy.
    pub policy: PolicyOptions,
    /// How long an idempotency key is remembered. Default 10 minutes.
    pub dedupe_window: Option<Span>,
    /// Called with each rotated OAuth pair before it is used.
    pub token_store: Option<TokenStore>,
    /// `redis://` or `rediss://` URL (password, database and TLS in the URL): the limiter,
    /// idempotency keys, number cooldowns and caps and the OAuth pair live in Redis, shared by
    /// every process and machine. `None`: in this process's memory.
    pub shared_state: Option<String>,
    /// The prefix of every Redis key; default `bitrix24-callback:<portal host>:`.
    pub shared_state_prefix: Option<String>,
    /// How violations name the options.
    pub names: OptionNames,
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .field("rate_limit", &self.rate_limit)
            .field("root_certificates", &self.root_certificates.len())
            .field("user_agent_suffix", &self.user_agent_suffix)
            .field("binding", &self.binding)
            .field("default_region", &self.default_region)
            .field("allow_unknown_voice", &self.allow_unknown_voice)
            .field("policy", &self.policy)
            .field("dedupe_window", &self.dedupe_window)
            .field("token_store", &self.token_store.as_ref().map(|_| "[set]"))
            .field("shared_state", &self.shared_state.as_ref().map(|_| "[set]"))
            .field("shared_state_prefix", &self.shared_state_prefix)
            .field("names", &self.names)
            .finish()
    }
}

/// The checked options a client is built from.
pub(crate) struct Settings {
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) deadline: Duration,
    pub(crate) rate_limit: RateLimit,
    pub(crate) extra_roots: ExtraRoots,
    pub(crate) user_agent: String,
    pub(crate) default_region: Option<String>,
    pub(crate) allow_unknown_voice: bool,
    pub(crate) policy: DestinationPolicy,
    pub(crate) dedupe_window: Duration,
    pub(crate) token_store: Option<TokenStore>,
    /// The Redis URL and key prefix (`None` for the prefix: derived from the portal).
    pub(crate) shared_state: Option<(String, Option<String>)>,
}

/// Where an option sits: its snake_case key and, for nested options, its group.
#[derive(Clone, Copy)]
struct Key {
    group: Option<&'static str>,
    name: &'static str,
}

const fn key(name: &'static str) -> Key {
    Key { group: None, name }
}

const fn policy_key(name: &'static str) -> Key {
    Key {
        group: Some("destination_policy"),
        name,
    }
}

/// Command-line flags that are not simply the kebab-case key.
const FLAG_NAMES: &[(&str, &str)] = &[
    ("default_region", "--region"),
    ("root_certificates", "--ca-file"),
];

/// Environment variables that are not simply `BITRIX24_` and the upper-case key.
const ENV_NAMES: &[(&str, &str)] = &[
    ("root_certificates", "BITRIX24_CA_FILE"),
    ("block_costly_numbers", "BITRIX24_ALLOW_COSTLY_NUMBERS"),
];

fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

impl OptionNames {
    /// The name of `key` in this spelling; `millis` adds the `Ms` suffix in camelCase.
    fn name(self, key: Key, millis: bool) -> String {
        match self {
            OptionNames::Snake => key.name.to_owned(),
            OptionNames::Camel => {
                let mut name = match key.group {
                    Some(g) => format!("{}.{}", camel(g), camel(key.name)),
                    None => camel(key.name),
                };
                if millis {
                    name.push_str("Ms");
                }
                name
            }
            OptionNames::Flags => FLAG_NAMES
                .iter()
                .find(|(k, _)| *k == key.name)
                .map(|(_, flag)| (*flag).to_owned())
                .unwrap_or_else(|| format!("--{}", key.name.replace('_', "-"))),
            OptionNames::Env => ENV_NAMES
                .iter()
                .find(|(k, _)| *k == key.name)
                .map(|(_, var)| (*var).to_owned())
                .unwrap_or_else(|| format!("BITRIX24_{}", key.name.to_ascii_uppercase())),
        }
    }
}

/// Collects violations while the options are read.
struct Check {
    names: OptionNames,
    violations: Vec<Violation>,
}

impl Check {
    fn refuse(&mut self, key: Key, millis: bool, code: &str, message: impl Into<String>) {
        self.violations.push(Violation {
            field: self.names.name(key, millis),
            code: code.to_owned(),
            message: message.into(),
        });
    }

    /// A duration in range (finite, not negative, representable); `zero_ok` allows zero.
    fn duration(
        &mut self,
        key: Key,
        span: Option<Span>,
        default: Duration,
        zero_ok: bool,
    ) -> Duration {
        let Some(span) = span else {
            return default;
        };
        let (value, millis) = span.value();
        match value {
            Ok(d) if d.is_zero() && !zero_ok => {
                self.refuse(key, millis, "zero", "must be greater than zero");
                default
            }
            Ok(d) => d,
            Err(_) => {
                self.refuse(key, millis, "out_of_range", OUT_OF_RANGE);
                default
            }
        }
    }

    fn rate_limit(&mut self, option: Option<RateLimitOption>) -> RateLimit {
        const K: Key = key("rate_limit");
        match option {
            None => RateLimit::Standard,
            Some(RateLimitOption::Named(name)) => {
                RateLimit::from_name(&name).unwrap_or_else(|| {
                    self.refuse(K, false, "unknown_preset", unknown_preset_message());
                    RateLimit::Standard
                })
            }
            Some(RateLimitOption::Custom { burst, per_second }) => {
                let whole = burst.fract() == 0.0 && (1.0..=f64::from(u32::MAX)).contains(&burst);
                if whole && per_second.is_finite() && per_second > 0.0 {
                    RateLimit::Custom {
                        burst: burst as u32,
                        per_second,
                    }
                } else {
                    self.refuse(
                        K,
                        false,
                        "invalid",
                        "a custom rate limit needs a whole-number burst from 1 to 4294967295 \
                         and a positive, finite rate per second",
                    );
                    RateLimit::Standard
                }
            }
        }
    }

    fn roots(&mut self, pems: &[Vec<u8>]) -> ExtraRoots {
        ExtraRoots::parse(pems).unwrap_or_else(|refused| {
            for (i, code) in refused {
                self.refuse(
                    key("root_certificates"),
                    false,
                    code,
                    format!(
                        "extra root certificate #{} holds no usable PEM certificate",
                        i + 1
                    ),
                );
            }
            ExtraRoots::default()
        })
    }

    /// Printable ASCII of at most 200 characters (it goes into an HTTP header).
    fn header_text(&mut self, key: Key, text: &str) -> bool {
        let ok = text.len() <= 200 && text.chars().all(|c| c.is_ascii() && !c.is_control());
        if !ok {
            self.refuse(
                key,
                false,
                "invalid_character",
                "must be printable ASCII, at most 200 characters",
            );
        }
        ok
    }

    fn user_agent(&mut self, binding: Option<&Binding>, suffix: Option<&str>) -> String {
        let mut agent = format!("bitrix24-callback/{}", crate::VERSION);
        match binding {
            Some(b) if self.header_text(key("binding"), &format!("{}/{}", b.name, b.version)) => {
                agent.push_str(&format!(" ({}/{})", b.name.trim(), b.version.trim()));
            }
            Some(_) => {}
            None => agent.push_str(" (rust)"),
        }
        if let Some(s) = suffix.map(str::trim).filter(|s| !s.is_empty())
            && self.header_text(key("user_agent_suffix"), s)
        {
            agent.push(' ');
            agent.push_str(s);
        }
        agent
    }

    fn region(&mut self, key: Key, region: &str) -> bool {
        let known = crate::request::is_known_region(region);
        if !known {
            self.refuse(
                key,
                false,
                "unknown_region",
                "must be an ISO 3166 alpha-2 region the phone metadata knows, such as \"GB\"",
            );
        }
        known
    }

    /// A list of regions, upper-cased; `"001"` (the international networks) is accepted.
    fn regions(
        &mut self,
        key: Key,
        list: Option<Vec<String>>,
        default: Vec<String>,
    ) -> Vec<String> {
        let Some(list) = list else {
            return default;
        };
        let mut out = Vec::new();
        for r in list {
            let r = r.trim();
            if r == NON_GEOGRAPHIC_REGION || self.region(key, r) {
                out.push(r.to_ascii_uppercase());
            }
        }
        out
    }

    /// E.164 prefixes: `+` and 1 to 15 digits (spaces and dashes ignored).
    fn prefixes(&mut self, key: Key, list: Option<Vec<String>>) -> Vec<String> {
        let mut out = Vec::new();
        for p in list.unwrap_or_default() {
            let compact: String = p.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
            let digits = compact.strip_prefix('+').unwrap_or("");
            if (1..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
                out.push(compact);
            } else {
                self.refuse(
                    key,
                    false,
                    "invalid_prefix",
                    "must hold E.164 prefixes: + and 1 to 15 digits, such as \"+44\"",
                );
            }
        }
        out
    }

    fn number_types(
        &mut self,
        list: Option<Vec<String>>,
        default: Vec<NumberType>,
    ) -> Vec<NumberType> {
        let Some(list) = list else {
            return default;
        };
        let mut out = Vec::new();
        for name in list {
            match NumberType::parse(&name) {
                Some(t) => out.push(t),
                None => self.refuse(
                    policy_key("allowed_number_types"),
                    false,
                    "unknown_number_type",
                    format!(
                        "must hold number types: {}",
                        NumberType::ALL.map(NumberType::as_str).join(", ")
                    ),
                ),
            }
        }
        out
    }

    fn shared_state(
        &mut self,
        url: Option<String>,
        prefix: Option<String>,
    ) -> Option<(String, Option<String>)> {
        let prefix = prefix.filter(|p| self.header_text(key("shared_state_prefix"), p));
        let url = url?.trim().to_owned();
        match crate::state::redis::check_url(&url) {
            Ok(()) => Some((url, prefix)),
            Err(why) => {
                // The URL itself is never repeated: it may hold a password.
                self.refuse(key("shared_state"), false, "invalid_url", why);
                None
            }
        }
    }

    fn policy(&mut self, p: PolicyOptions) -> DestinationPolicy {
        let d = DestinationPolicy::default();
        let PolicyOptions {
            allowed_regions,
            blocked_regions,
            allowed_prefixes,
            blocked_prefixes,
            block_costly_numbers,
            allowed_number_types,
            high_risk_regions,
            number_cooldown,
            number_hourly_cap,
        } = p;
        DestinationPolicy {
            allowed_regions: self.regions(
                policy_key("allowed_regions"),
                allowed_regions,
                d.allowed_regions,
            ),
            blocked_regions: self.regions(
                policy_key("blocked_regions"),
                blocked_regions,
                d.blocked_regions,
            ),
            allowed_prefixes: self.prefixes(policy_key("allowed_prefixes"), allowed_prefixes),
            blocked_prefixes: self.prefixes(policy_key("blocked_prefixes"), blocked_prefixes),
            block_costly_numbers: block_costly_numbers.unwrap_or(d.block_costly_numbers),
            allowed_number_types: self.number_types(allowed_number_types, d.allowed_number_types),
            high_risk_regions: self.regions(
                policy_key("high_risk_regions"),
                high_risk_regions,
                d.high_risk_regions,
            ),
            number_cooldown: self.duration(
                policy_key("number_cooldown"),
                number_cooldown,
                d.number_cooldown,
                true,
            ),
            number_hourly_cap: self.count(
                policy_key("number_hourly_cap"),
                number_hourly_cap,
                d.number_hourly_cap,
                "must be a whole number from 0 to 4294967295 (0 turns the cap off)",
            ),
        }
    }

    /// A whole number from 0 to `u32::MAX`.
    fn count(&mut self, key: Key, value: Option<f64>, default: u32, message: &str) -> u32 {
        match value {
            None => default,
            Some(n) if n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n) => n as u32,
            Some(_) => {
                self.refuse(key, false, "invalid", message);
                default
            }
        }
    }
}

impl PolicyOptions {
    /// These policy options over `base`: each one set here replaces base's, the others stay
    /// base's.
    pub fn over(self, base: PolicyOptions) -> PolicyOptions {
        let PolicyOptions {
            allowed_regions,
            blocked_regions,
            allowed_prefixes,
            blocked_prefixes,
            block_costly_numbers,
            allowed_number_types,
            high_risk_regions,
            number_cooldown,
            number_hourly_cap,
        } = self;
        PolicyOptions {
            allowed_regions: allowed_regions.or(base.allowed_regions),
            blocked_regions: blocked_regions.or(base.blocked_regions),
            allowed_prefixes: allowed_prefixes.or(base.allowed_prefixes),
            blocked_prefixes: blocked_prefixes.or(base.blocked_prefixes),
            block_costly_numbers: block_costly_numbers.or(base.block_costly_numbers),
            allowed_number_types: allowed_number_types.or(base.allowed_number_types),
            high_risk_regions: high_risk_regions.or(base.high_risk_regions),
            number_cooldown: number_cooldown.or(base.number_cooldown),
            number_hourly_cap: number_hourly_cap.or(base.number_hourly_cap),
        }
    }
}

impl ClientOptions {
    /// These options over `base`, typically the environment's from [`crate::from_env`] under
    /// the options a caller of `from_env` passed: every option set here replaces base's (the
    /// root certificates too, when any is given here), every other stays base's, and so do the
    /// token store when none is given here and the naming of violations (`names`: a bad
    /// environment value is named by its variable).
    pub fn over(self, base: ClientOptions) -> ClientOptions {
        let ClientOptions {
            connect_timeout,
            timeout,
            deadline,
            rate_limit,
            root_certificates,
            user_agent_suffix,
            binding,
            default_region,
            allow_unknown_voice,
            policy,
            dedupe_window,
            token_store,
            shared_state,
            shared_state_prefix,
            names: _,
        } = self;
        ClientOptions {
            connect_timeout: connect_timeout.or(base.connect_timeout),
            timeout: timeout.or(base.timeout),
            deadline: deadline.or(base.deadline),
            rate_limit: rate_limit.or(base.rate_limit),
            root_certificates: if root_certificates.is_empty() {
                base.root_certificates
            } else {
                root_certificates
            },
            user_agent_suffix: user_agent_suffix.or(base.user_agent_suffix),
            binding: binding.or(base.binding),
            default_region: default_region.or(base.default_region),
            allow_unknown_voice: allow_unknown_voice.or(base.allow_unknown_voice),
            policy: policy.over(base.policy),
            dedupe_window: dedupe_window.or(base.dedupe_window),
            token_store: token_store.or(base.token_store),
            shared_state: shared_state.or(base.shared_state),
            shared_state_prefix: shared_state_prefix.or(base.shared_state_prefix),
            names: base.names,
        }
    }
}

impl ClientOptions {
    /// Checks every option; `invalid_request` lists every violation found.
    pub(crate) fn settle(self) -> Result<Settings, Error> {
        let ClientOptions {
            connect_timeout,
            timeout,
            deadline,
            rate_limit,
            root_certificates,
            user_agent_suffix,
            binding,
            default_region,
            allow_unknown_voice,
            policy,
            dedupe_window,
            token_store,
            shared_state,
            shared_state_prefix,
            names,
        } = self;
        let mut c = Check {
            names,
            violations: Vec::new(),
        };
        let settings = Settings {
            connect_timeout: c.duration(
                key("connect_timeout"),
                connect_timeout,
                Duration::from_secs(10),
                false,
            ),
            timeout: c.duration(key("timeout"), timeout, Duration::from_secs(40), false),
            deadline: c.duration(key("deadline"), deadline, Duration::from_secs(60), false),
            rate_limit: c.rate_limit(rate_limit),
            extra_roots: c.roots(&root_certificates),
            user_agent: c.user_agent(binding.as_ref(), user_agent_suffix.as_deref()),
            default_region: default_region
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .filter(|r| c.region(key("default_region"), r)),
            allow_unknown_voice: allow_unknown_voice.unwrap_or(false),
            policy: c.policy(policy),
            dedupe_window: c.duration(
                key("dedupe_window"),
                dedupe_window,
                Duration::from_secs(600),
                true,
            ),
            token_store,
            shared_state: c.shared_state(shared_state, shared_state_prefix),
        };
        if c.violations.is_empty() {
            Ok(settings)
        } else {
            Err(Error::invalid(c.violations))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(options: ClientOptions) -> Vec<(String, String)> {
        match options.settle() {
            Ok(_) => Vec::new(),
            Err(e) => e
                .violations()
                .iter()
                .map(|v| (v.field.clone(), v.code.clone()))
                .collect(),
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
            .collect()
    }

    #[test]
    fn options_given_replace_the_bases_and_the_rest_stay() {
        let base = ClientOptions {
            timeout: Some(Span::Seconds(5.0)),
            default_region: Some("GB".into()),
            root_certificates: vec![b"env".to_vec()],
            policy: PolicyOptions {
                allowed_regions: Some(vec!["GB".into()]),
                number_hourly_cap: Some(3.0),
                ..PolicyOptions::default()
            },
            names: OptionNames::Env,
            ..ClientOptions::default()
        };
        let given = ClientOptions {
            default_region: Some("US".into()),
            binding: Some(Binding {
                name: "test".into(),
                version: "1".into(),
            }),
            policy: PolicyOptions {
                allowed_regions: Some(vec!["US".into()]),
                ..PolicyOptions::default()
            },
            names: OptionNames::Camel,
            ..ClientOptions::default()
        };
        let merged = given.clone().over(base.clone());
        assert_eq!(merged.timeout, Some(Span::Seconds(5.0)));
        assert_eq!(merged.default_region.as_deref(), Some("US"));
        assert_eq!(merged.root_certificates, vec![b"env".to_vec()]);
        assert_eq!(merged.policy.allowed_regions, Some(vec!["US".to_owned()]));
        assert_eq!(merged.policy.number_hourly_cap, Some(3.0));
        assert_eq!(merged.binding.map(|b| b.name).as_deref(), Some("test"));
        assert_eq!(merged.names, OptionNames::Env);
        let roots = ClientOptions {
            root_certificates: vec![b"mine".to_vec()],
            ..given
        }
        .over(base);
        assert_eq!(roots.root_certificates, vec![b"mine".to_vec()]);
    }

    #[test]
    fn every_violation_is_reported_in_the_callers_spelling() {
        let bad = |names| ClientOptions {
            timeout: Some(Span::Millis(-1.0)),
            deadline: Some(Span::Seconds(0.0)),
            rate_limit: Some(RateLimitOption::Named("turbo".into())),
            default_region: Some("XX".into()),
            policy: PolicyOptions {
                number_cooldown: Some(Span::Millis(f64::NAN)),
                ..PolicyOptions::default()
            },
            names,
            ..ClientOptions::default()
        };
        assert_eq!(
            refused(bad(OptionNames::Snake)),
            pairs(&[
                ("timeout", "out_of_range"),
                ("deadline", "zero"),
                ("rate_limit", "unknown_preset"),
                ("default_region", "unknown_region"),
                ("number_cooldown", "out_of_range"),
            ])
        );
        assert_eq!(
            refused(bad(OptionNames::Camel)),
            pairs(&[
                ("timeoutMs", "out_of_range"),
                ("deadline", "zero"),
                ("rateLimit", "unknown_preset"),
                ("defaultRegion", "unknown_region"),
                ("destinationPolicy.numberCooldownMs", "out_of_range"),
            ])
        );
        assert_eq!(
            refused(bad(OptionNames::Flags)),
            pairs(&[
                ("--timeout", "out_of_range"),
                ("--deadline", "zero"),
                ("--rate-limit", "unknown_preset"),
                ("--region", "unknown_region"),
                ("--number-cooldown", "out_of_range"),
            ])
        );
    }

    #[test]
    fn the_hourly_cap_is_a_whole_number() {
        for bad in [-1.0, 1.5, f64::NAN, f64::INFINITY, 5e9] {
            let o = ClientOptions {
                policy: PolicyOptions {
                    number_hourly_cap: Some(bad),
                    ..PolicyOptions::default()
                },
                names: OptionNames::Camel,
                ..ClientOptions::default()
            };
            assert_eq!(
                refused(o),
                pairs(&[("destinationPolicy.numberHourlyCap", "invalid")]),
                "{bad}"
            );
        }
        let ok = ClientOptions {
            policy: PolicyOptions {
                number_hourly_cap: Some(0.0),
                ..PolicyOptions::default()
            },
            ..ClientOptions::default()
        };
        assert_eq!(ok.settle().unwrap().policy.number_hourly_cap, 0);
    }

    #[test]
    fn custom_rate_limits_need_a_whole_burst_and_a_positive_rate() {
        for (burst, per_second) in [
            (0.0, 1.0),
            (-1.0, 1.0),
            (1.5, 1.0),
            (5e9, 1.0),
            (5.0, 0.0),
            (5.0, -1.0),
            (5.0, f64::NAN),
            (5.0, f64::INFINITY),
        ] {
            let o = ClientOptions {
                rate_limit: Some(RateLimitOption::Custom { burst, per_second }),
                ..ClientOptions::default()
            };
            assert_eq!(
                refused(o),
                pairs(&[("rate_limit", "invalid")]),
                "{burst} {per_second}"
            );
        }
        let ok = ClientOptions {
            rate_limit: Some(RateLimitOption::Custom {
                burst: 5.0,
                per_second: 2.5,
            }),
            ..ClientOptions::default()
        };
        assert_eq!(
            ok.settle().unwrap().rate_limit,
            RateLimit::Custom {
                burst: 5,
                per_second: 2.5
            }
        );
    }

    #[test]
    fn the_user_agent_names_the_binding_and_the_app() {
        let ua = |binding: Option<Binding>, suffix: Option<&str>| {
            ClientOptions {
                binding,
                user_agent_suffix: suffix.map(str::to_owned),
                ..ClientOptions::default()
            }
            .settle()
            .map(|s| s.user_agent)
        };
        let v = crate::VERSION;
        assert_eq!(
            ua(None, None).unwrap(),
            format!("bitrix24-callback/{v} (rust)")
        );
        let python = Binding {
            name: "python".into(),
            version: "3.11.7".into(),
        };
        assert_eq!(
            ua(Some(python), Some(" shop/2 ")).unwrap(),
            format!("bitrix24-callback/{v} (python/3.11.7) shop/2")
        );
        let e = ua(None, Some("caf\u{e9}")).unwrap_err();
        assert_eq!(e.violations()[0].code, "invalid_character");
    }
}
