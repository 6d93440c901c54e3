//! The one place where the binding's records become the core's plain-data inputs: client
//! options, OAuth credentials and raw callback requests.
//!
//! Nothing is checked here: ranges, presets, regions and certificates are the core's rules,
//! reported with the core's codes and texts (option names in camelCase, as Kotlin and Swift
//! spell them). Every record is taken apart and every core struct is filled without `..`, so a
//! field added on either side is a compile error here until it is mapped.

use std::sync::Arc;

use callback_core as core;

use crate::tokens::{TokenStore, TokenStoreError};
use crate::types::{
    CallbackRequest, ClientOptions, DestinationPolicy, NumberType, OAuthCredentials, RateLimit,
    TokenPair,
};

/// The binding as the `User-Agent` names it: `bitrix24-callback/<v> (uniffi/<v>) <app suffix>`.
fn binding() -> core::Binding {
    core::Binding {
        name: "uniffi".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// The options of a new client; `None` keeps every default.
pub(crate) fn client_options(
    options: Option<ClientOptions>,
    token_store: Option<Box<dyn TokenStore>>,
) -> core::ClientOptions {
    let ClientOptions {
        connect_timeout,
        timeout,
        deadline,
        rate_limit,
        root_certificates,
        user_agent_suffix,
        default_region,
        allow_unknown_voice,
        destination_policy,
        dedupe_window,
        shared_state,
        shared_state_prefix,
    } = options.unwrap_or_default();
    core::ClientOptions {
        connect_timeout: connect_timeout.map(core::Span::Exact),
        timeout: timeout.map(core::Span::Exact),
        deadline: deadline.map(core::Span::Exact),
        rate_limit: rate_limit.map(|r| core::RateLimit::from(r).into()),
        root_certificates: root_certificates
            .into_iter()
            .map(String::into_bytes)
            .collect(),
        user_agent_suffix,
        binding: Some(binding()),
        default_region,
        allow_unknown_voice: Some(allow_unknown_voice),
        policy: destination_policy.map(Into::into).unwrap_or_default(),
        dedupe_window: dedupe_window.map(core::Span::Exact),
        token_store: token_store.map(token_store_of),
        shared_state,
        shared_state_prefix,
        names: core::OptionNames::Camel,
    }
}

/// The options of `CallbackClient.fromEnv`: every option the app passed (`explicit`, from
/// [`client_options`]) wins over the environment's (`env`, from `callback_core::from_env`), as
/// `ClientOptions::over` says. Violations keep naming the environment's variables.
pub(crate) fn env_options(
    env: core::ClientOptions,
    explicit: core::ClientOptions,
) -> core::ClientOptions {
    explicit.over(env)
}

/// The app's `TokenStore` as the core's callback; its error text becomes part of `AuthFailed`.
fn token_store_of(store: Box<dyn TokenStore>) -> core::TokenStore {
    let store: Arc<dyn TokenStore> = Arc::from(store);
    Arc::new(move |pair: &core::TokenPair| {
        store.save(TokenPair::from(pair)).map_err(|e| match e {
            TokenStoreError::Failed { reason } => reason,
        })
    })
}

impl From<RateLimit> for core::RateLimit {
    fn from(r: RateLimit) -> Self {
        match r {
            RateLimit::Standard => core::RateLimit::Standard,
            RateLimit::Enterprise => core::RateLimit::Enterprise,
            RateLimit::Custom { burst, per_second } => {
                core::RateLimit::Custom { burst, per_second }
            }
            RateLimit::Off => core::RateLimit::Off,
        }
    }
}

impl From<DestinationPolicy> for core::PolicyOptions {
    fn from(p: DestinationPolicy) -> Self {
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
        core::PolicyOptions {
            allowed_regions: Some(allowed_regions),
            blocked_regions: Some(blocked_regions),
            allowed_prefixes: Some(allowed_prefixes),
            blocked_prefixes: Some(blocked_prefixes),
            block_costly_numbers: Some(block_costly_numbers),
            allowed_number_types: allowed_number_types.map(type_names),
            high_risk_regions,
            number_cooldown: number_cooldown.map(core::Span::Exact),
            number_hourly_cap: number_hourly_cap.map(f64::from),
        }
    }
}

/// Number types by the core's names (the core parses them back and reports unknown ones).
fn type_names(types: Vec<NumberType>) -> Vec<String> {
    let name = |t| core::NumberType::from(t).as_str().to_owned();
    types.into_iter().map(name).collect()
}

impl From<OAuthCredentials> for core::OAuthConfig {
    fn from(c: OAuthCredentials) -> Self {
        let OAuthCredentials {
            client_id,
            client_secret,
            access_token,
            refresh_token,
            client_endpoint,
            server_endpoint,
        } = c;
        core::OAuthConfig {
            client_id,
            client_secret,
            access_token,
            refresh_token,
            client_endpoint,
            server_endpoint,
        }
    }
}

/// The raw request, validated by the core (`Client::validate` or the request builder).
impl From<CallbackRequest> for core::RequestInput {
    fn from(r: CallbackRequest) -> Self {
        let CallbackRequest {
            from_line,
            to_number,
            text,
            voice,
            idempotency_key,
        } = r;
        core::RequestInput {
            line: Some(from_line),
            to: Some(to_number),
            text: Some(text),
            voice,
            idempotency_key,
            violations: Vec::new(),
        }
    }
}
