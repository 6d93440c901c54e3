//! The client options: the keyword arguments of `Client.from_webhook` / `Client.from_oauth`
//! as the core's [`ClientOptions`].
//!
//! Only the Python types are checked here (`TypeError`); the values (ranges, presets, regions,
//! certificates) are the core's to check, all at once, in `Client::with_options`. Both
//! constructors list the keywords in their signatures (pyo3 signatures cannot share them) and
//! hand them over in one [`PyOptions`]; [`PyOptions::into_core`] is the one conversion, one
//! line per option. It destructures `PyOptions` and builds `ClientOptions` without `..`, so an
//! option added on either side does not compile until it is mapped here. `Client.from_env`
//! lays the keywords it was given over the environment's options ([`PyOptions::over`], again
//! without `..`).

use callback_core::{Binding, ClientOptions, OptionNames, PolicyOptions, TokenStore};

use crate::convert::{Count, Flag, PemList, RateLimitArg, Seconds, StrList, Text};

/// The option keywords as received (`None`: keep the core's default).
pub struct PyOptions {
    pub connect_timeout: Option<Seconds>,
    pub timeout: Option<Seconds>,
    pub deadline: Option<Seconds>,
    pub rate_limit: Option<RateLimitArg>,
    pub root_certificates: Option<PemList>,
    pub user_agent_suffix: Option<Text>,
    pub default_region: Option<Text>,
    pub allow_unknown_voice: Option<Flag>,
    pub allowed_regions: Option<StrList>,
    pub blocked_regions: Option<StrList>,
    pub allowed_prefixes: Option<StrList>,
    pub blocked_prefixes: Option<StrList>,
    pub block_costly_numbers: Option<Flag>,
    pub allowed_number_types: Option<StrList>,
    pub high_risk_regions: Option<StrList>,
    pub number_cooldown: Option<Seconds>,
    pub number_hourly_cap: Option<Count>,
    pub dedupe_window: Option<Seconds>,
    pub shared_state: Option<Text>,
    pub shared_state_prefix: Option<Text>,
}

impl PyOptions {
    /// The core's options; `token_store` is `from_oauth`'s `on_tokens`, already wrapped.
    pub fn into_core(self, token_store: Option<TokenStore>) -> ClientOptions {
        let PyOptions {
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
        } = self;
        ClientOptions {
            connect_timeout: connect_timeout.map(|s| s.0),
            timeout: timeout.map(|s| s.0),
            deadline: deadline.map(|s| s.0),
            rate_limit: rate_limit.map(|r| r.0),
            root_certificates: root_certificates.map(|p| p.0).unwrap_or_default(),
            user_agent_suffix: user_agent_suffix.map(|t| t.0),
            binding: Some(binding()),
            default_region: default_region.map(|t| t.0),
            allow_unknown_voice: allow_unknown_voice.map(|f| f.0),
            policy: PolicyOptions {
                allowed_regions: allowed_regions.map(|l| l.0),
                blocked_regions: blocked_regions.map(|l| l.0),
                allowed_prefixes: allowed_prefixes.map(|l| l.0),
                blocked_prefixes: blocked_prefixes.map(|l| l.0),
                block_costly_numbers: block_costly_numbers.map(|f| f.0),
                allowed_number_types: allowed_number_types.map(|l| l.0),
                high_risk_regions: high_risk_regions.map(|l| l.0),
                number_cooldown: number_cooldown.map(|s| s.0),
                number_hourly_cap: number_hourly_cap.map(|c| c.0),
            },
            dedupe_window: dedupe_window.map(|s| s.0),
            token_store,
            shared_state: shared_state.map(|t| t.0),
            shared_state_prefix: shared_state_prefix.map(|t| t.0),
            names: OptionNames::Snake,
        }
    }

    /// The environment's options (`callback_core::from_env`) with every keyword given here in
    /// place of the environment's value, and this binding named in the `User-Agent`. The token
    /// store (`BITRIX24_TOKEN_FILE`) and the naming of violations (by variable) stay the
    /// environment's.
    pub fn over(self, env: ClientOptions) -> ClientOptions {
        // No token store of its own: `into_core(None)` leaves the environment's in place.
        self.into_core(None).over(env)
    }
}

/// This binding as the `User-Agent` names it: `python/3.11.7`, the first word of `sys.version`
/// (what `platform.python_version()` gives, without importing `platform`).
fn binding() -> Binding {
    let version = pyo3::Python::version_str();
    Binding {
        name: "python".to_owned(),
        version: version
            .split_whitespace()
            .next()
            .unwrap_or(version)
            .to_owned(),
    }
}
