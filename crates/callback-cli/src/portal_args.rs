//! Which portal to talk to: a webhook, an OAuth application, or (with neither) the sandbox.

use std::path::PathBuf;

use callback_core::{
    Auth, Binding, Client, ClientOptions, OAuthConfig, OptionNames, PolicyOptions, RateLimit,
    RateLimitOption, Span, TokenFile, TokenPair,
};
use callback_fake_portal::FakePortal;

use crate::exit;
use crate::output::Output;

#[derive(clap::Args, Clone)]
pub struct PortalArgs {
    /// Incoming webhook address: https://PORTAL/rest/USER_ID/SECRET/
    #[arg(long, env = "BITRIX24_WEBHOOK_URL", hide_env_values = true)]
    webhook_url: Option<String>,

    /// OAuth application: client id (with the four settings below, instead of a webhook).
    #[arg(long, env = "BITRIX24_CLIENT_ID")]
    client_id: Option<String>,
    /// OAuth application: client secret.
    #[arg(long, env = "BITRIX24_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// OAuth: the portal's REST base, https://PORTAL/rest/
    #[arg(long, env = "BITRIX24_CLIENT_ENDPOINT")]
    client_endpoint: Option<String>,
    /// OAuth: the OAuth server's REST base (the token endpoint is derived from it).
    #[arg(
        long,
        env = "BITRIX24_SERVER_ENDPOINT",
        default_value = "https://oauth.bitrix.info/rest/"
    )]
    server_endpoint: String,
    /// OAuth: a JSON file holding {"access_token": ..., "refresh_token": ...}; rotated tokens are
    /// written back to it (atomically) before they are used.
    #[arg(long, env = "BITRIX24_TOKEN_FILE")]
    token_file: Option<PathBuf>,

    /// Extra trusted root certificate(s), PEM (a corporate proxy, or the fake portal's CA).
    #[arg(long, env = "BITRIX24_CA_FILE")]
    ca_file: Option<PathBuf>,
    /// Client-side pacing: standard (50 burst, 2/s), enterprise (250, 5/s) or off.
    #[arg(long, env = "BITRIX24_RATE_LIMIT", default_value = "standard", value_parser = RateLimit::PRESET_NAMES)]
    rate_limit: String,
    /// Bound of one HTTP exchange, in seconds.
    #[arg(long, env = "BITRIX24_TIMEOUT", default_value_t = 40.0)]
    timeout: f64,
    /// Bound of the whole command's portal call (limiter waits and retries included), in seconds.
    #[arg(long, env = "BITRIX24_DEADLINE", default_value_t = 60.0)]
    deadline: f64,
    /// Keep the limiter, idempotency keys and number cooldowns in Redis, shared with every
    /// other process using the same URL: redis://[:PASSWORD@]HOST[:PORT][/DB] or rediss://...
    /// Needed for --idempotency-key to hold across runs.
    #[arg(long, env = "BITRIX24_SHARED_STATE", hide_env_values = true)]
    shared_state: Option<String>,
    /// The prefix of every Redis key (default: bitrix24-callback:<portal host>:).
    #[arg(long, env = "BITRIX24_SHARED_STATE_PREFIX")]
    shared_state_prefix: Option<String>,
}

/// The destination policy (see the README's "Safe by default"). Lists are comma-separated.
#[derive(clap::Args, Clone, Default)]
pub struct PolicyArgs {
    /// Only call these regions (ISO 3166 alpha-2, e.g. GB,DE; 001 = the international networks).
    /// Naming a high-risk region allows it.
    #[arg(long, env = "BITRIX24_ALLOWED_REGIONS", value_delimiter = ',')]
    allowed_regions: Vec<String>,
    /// Never call these regions.
    #[arg(long, env = "BITRIX24_BLOCKED_REGIONS", value_delimiter = ',')]
    blocked_regions: Vec<String>,
    /// Only call numbers starting with one of these E.164 prefixes (e.g. +44,+1201). A number
    /// matching one is also allowed on an international network or in a high-risk region.
    #[arg(long, env = "BITRIX24_ALLOWED_PREFIXES", value_delimiter = ',')]
    allowed_prefixes: Vec<String>,
    /// Never call numbers starting with one of these E.164 prefixes.
    #[arg(long, env = "BITRIX24_BLOCKED_PREFIXES", value_delimiter = ',')]
    blocked_prefixes: Vec<String>,
    /// The number types called (default: fixed_line, mobile, fixed_line_or_mobile, toll_free).
    #[arg(long, env = "BITRIX24_ALLOWED_NUMBER_TYPES", value_delimiter = ',')]
    allowed_number_types: Vec<String>,
    /// Call numbers of any type (premium rate, shared cost, VoIP, ... included).
    #[arg(long, env = "BITRIX24_ALLOW_COSTLY_NUMBERS")]
    allow_costly_numbers: bool,
    /// Regions refused unless allowed explicitly (replaces the built-in high-risk list; `none`
    /// empties it).
    #[arg(long, env = "BITRIX24_HIGH_RISK_REGIONS", value_delimiter = ',')]
    high_risk_regions: Vec<String>,
    /// Seconds a called number is refused (0: off). Default 60.
    #[arg(long, env = "BITRIX24_NUMBER_COOLDOWN")]
    number_cooldown: Option<f64>,
    /// Calls to one number per rolling hour, at most (0: off). Default 5.
    #[arg(long, env = "BITRIX24_NUMBER_HOURLY_CAP")]
    number_hourly_cap: Option<u32>,
}

/// A list flag: absent (`None`) when not given, so the core's default applies.
fn list(values: &[String]) -> Option<Vec<String>> {
    (!values.is_empty()).then(|| values.iter().map(|v| v.trim().to_owned()).collect())
}

impl PolicyArgs {
    fn options(&self) -> PolicyOptions {
        let high_risk = match self.high_risk_regions.as_slice() {
            [only] if only.trim().eq_ignore_ascii_case("none") => Some(Vec::new()),
            other => list(other),
        };
        PolicyOptions {
            allowed_regions: list(&self.allowed_regions),
            blocked_regions: list(&self.blocked_regions),
            allowed_prefixes: list(&self.allowed_prefixes),
            blocked_prefixes: list(&self.blocked_prefixes),
            block_costly_numbers: self.allow_costly_numbers.then_some(false),
            allowed_number_types: list(&self.allowed_number_types),
            high_risk_regions: high_risk,
            number_cooldown: self.number_cooldown.map(Span::Seconds),
            number_hourly_cap: self.number_hourly_cap.map(f64::from),
        }
    }
}

/// A connected client, plus the embedded fake portal when running as a sandbox.
pub struct Session {
    pub client: Client,
    pub sandbox: Option<FakePortal>,
}

impl PortalArgs {
    /// A client without a destination policy of the command line's own (read-only commands).
    pub fn connect(&self, out: &Output) -> Result<Session, u8> {
        self.connect_with(&PolicyArgs::default(), None, out)
    }

    /// A client with the destination policy and default region of `start`/`check`.
    pub fn connect_with(
        &self,
        policy: &PolicyArgs,
        default_region: Option<String>,
        out: &Output,
    ) -> Result<Session, u8> {
        let (auth, sandbox, ca) = match (&self.webhook_url, &self.client_id) {
            (Some(url), _) => (Auth::webhook(url).map_err(|e| out.error(&e))?, None, None),
            (None, Some(client_id)) => (self.oauth(client_id, out)?, None, None),
            (None, None) => {
                let portal = crate::sandbox::start_embedded().map_err(|e| {
                    out.fatal(
                        &format!("cannot start the embedded fake portal: {e}"),
                        exit::REFUSED,
                    )
                })?;
                out.sandbox_notice(&portal.base_url());
                let auth = Auth::webhook(&portal.webhook_url()).map_err(|e| out.error(&e))?;
                (auth, Some(portal), None::<Vec<u8>>)
            }
        };
        let mut root_certificates: Vec<Vec<u8>> = ca.into_iter().collect();
        if let Some(path) = &self.ca_file {
            root_certificates.push(std::fs::read(path).map_err(|e| {
                out.fatal(
                    &format!("cannot read --ca-file {}: {e}", path.display()),
                    exit::INVALID_INPUT,
                )
            })?);
        }
        let token_store = self.token_file.clone().map(|path| {
            let file = TokenFile::new(path);
            std::sync::Arc::new(move |pair: &TokenPair| file.save(pair))
                as callback_core::TokenStore
        });
        let options = ClientOptions {
            timeout: Some(Span::Seconds(self.timeout)),
            deadline: Some(Span::Seconds(self.deadline)),
            rate_limit: Some(RateLimitOption::Named(self.rate_limit.clone())),
            root_certificates,
            binding: Some(Binding {
                name: "cli".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            }),
            default_region,
            policy: policy.options(),
            token_store,
            shared_state: self.shared_state.clone(),
            shared_state_prefix: self.shared_state_prefix.clone(),
            names: OptionNames::Flags,
            ..ClientOptions::default()
        };
        let client = Client::with_options(auth, options).map_err(|e| out.error(&e))?;
        Ok(Session { client, sandbox })
    }

    fn oauth(&self, client_id: &str, out: &Output) -> Result<Auth, u8> {
        let missing = |what: &str| {
            out.fatal(
                &format!("OAuth needs {what} as well (see --help)"),
                exit::INVALID_INPUT,
            )
        };
        let client_secret = self
            .client_secret
            .clone()
            .ok_or_else(|| missing("--client-secret"))?;
        let client_endpoint = self
            .client_endpoint
            .clone()
            .ok_or_else(|| missing("--client-endpoint"))?;
        let path = self
            .token_file
            .as_ref()
            .ok_or_else(|| missing("--token-file"))?;
        let tokens = TokenFile::new(path).load().map_err(|e| {
            out.fatal(
                &format!("cannot read the token file {}: {e}", path.display()),
                exit::INVALID_INPUT,
            )
        })?;
        Auth::oauth(OAuthConfig {
            client_id: client_id.to_owned(),
            client_secret,
            access_token: tokens.0,
            refresh_token: tokens.1,
            client_endpoint,
            server_endpoint: self.server_endpoint.clone(),
        })
        .map_err(|e| out.error(&e))
    }
}
