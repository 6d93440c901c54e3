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
/// [`client_options`]) wins over the environment's (`env`, from `callback_core::from_env`);
/// extra root certificates add up. Violations keep naming the environment's variables.
pub(crate) fn env_options(
    env: core::ClientOptions,
    explicit: core::ClientOptions,
) -> core::ClientOptions {
    let core::ClientOptions {
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
    } = explicit;
    let core::ClientOptions {
        connect_timeout: env_connect_timeout,
        timeout: env_timeout,
        deadline: env_deadline,
        rate_limit: env_rate_limit,
        root_certificates: mut env_roots,
        user_agent_suffix: env_user_agent_suffix,
        binding: env_binding,
        default_region: env_default_region,
        allow_unknown_voice: env_allow_unknown_voice,
        policy: env_policy,
        dedupe_window: env_dedupe_window,
        token_store: env_token_store,
        shared_state: env_shared_state,
        shared_state_prefix: env_shared_state_prefix,
        names,
    } = env;
    env_roots.extend(root_certificates);
    core::ClientOptions {
        connect_timeout: connect_timeout.or(env_connect_timeout),
        timeout: timeout.or(env_timeout),
        deadline: deadline.or(env_deadline),
        rate_limit: rate_limit.or(env_rate_limit),
        root_certificates: env_roots,
        user_agent_suffix: user_agent_suffix.or(env_user_agent_suffix),
        binding: binding.or(env_binding),
        default_region: default_region.or(env_default_region),
        allow_unknown_voice: allow_unknown_voice.or(env_allow_unknown_voice),
        policy: env_policy_options(env_policy, policy),
        dedupe_window: dedupe_window.or(env_dedupe_window),
        token_store: token_store.or(env_token_store),
        shared_state: shared_state.or(env_shared_state),
        shared_state_prefix: shared_state_prefix.or(env_shared_state_prefix),
        names,
    }
}

/// A policy field the app set wins (a `DestinationPolicy` record sets its lists and
/// `blockCostlyNumbers`; its `null` fields keep the environment's values).
fn env_policy_options(
    env: core::PolicyOptions,
    explicit: core::PolicyOptions,
) -> core::PolicyOptions {
    let core::PolicyOptions {
        allowed_regions,
        blocked_regions,
        allowed_prefixes,
        blocked_prefixes,
        block_costly_numbers,
        allowed_number_types,
        high_risk_regions,
        number_cooldown,
        number_hourly_cap,
    } = explicit;
    core::PolicyOptions {
        allowed_regions: allowed_regions.or(env.allowed_regions),
        blocked_regions: blocked_regions.or(env.blocked_regions),
        allowed_prefixes: allowed_prefixes.or(env.allowed_prefixes),
        blocked_prefixes: blocked_prefixes.or(env.blocked_prefixes),
        block_costly_numbers: block_costly_numbers.or(env.block_costly_numbers),
        allowed_number_types: allowed_number_types.or(env.allowed_number_types),
        high_risk_regions: high_risk_regions.or(env.high_risk_regions),
        number_cooldown: number_cooldown.or(env.number_cooldown),
        number_hourly_cap: number_hourly_cap.or(env.number_hourly_cap),
    }
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
