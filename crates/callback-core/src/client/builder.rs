//! [`ClientBuilder`]: the typed front of [`ClientOptions`] for Rust code.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{Auth, TokenPair, TokenStore};
use crate::client::api::Client;
use crate::client::options::{ClientOptions, Span};
use crate::error::Error;
use crate::limiter::RateLimit;
use crate::policy::DestinationPolicy;

/// Builds a [`Client`]. Every option has a safe default; [`ClientBuilder::build`] checks them
/// all at once (the same checks as [`Client::with_options`]).
#[derive(Clone)]
pub struct ClientBuilder {
    auth: Auth,
    options: ClientOptions,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("auth", &self.auth)
            .field("options", &self.options)
            .finish()
    }
}

impl Client {
    pub fn builder(auth: Auth) -> ClientBuilder {
        ClientBuilder {
            auth,
            options: ClientOptions::default(),
        }
    }
}

impl ClientBuilder {
    /// TCP connect (and TLS handshake) bound. Default 10 s.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.options.connect_timeout = Some(Span::Exact(d));
        self
    }
    /// Bound of one HTTP exchange. Default 40 s (the portal itself waits up to 30 s for its
    /// telephony controller).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.options.timeout = Some(Span::Exact(d));
        self
    }
    /// Bound of one `start_callback`/`lines`/... call including limiter waits and retries.
    /// Default 60 s.
    pub fn deadline(mut self, d: Duration) -> Self {
        self.options.deadline = Some(Span::Exact(d));
        self
    }
    pub fn rate_limit(mut self, r: RateLimit) -> Self {
        self.options.rate_limit = Some(r.into());
        self
    }
    /// Trust an extra root certificate (PEM; may hold several), e.g. a corporate proxy or the
    /// fake portal's CA.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.options.root_certificates.push(pem.into());
        self
    }
    /// Appended to the `User-Agent` (`bitrix24-callback/0.1.0 (rust) <suffix>`).
    pub fn user_agent_suffix(mut self, s: impl Into<String>) -> Self {
        self.options.user_agent_suffix = Some(s.into());
        self
    }
    /// Region for numbers written without `+` (used by [`Client::request`]).
    pub fn default_region(mut self, r: impl Into<String>) -> Self {
        self.options.default_region = Some(r.into());
        self
    }
    pub fn allow_unknown_voice(mut self, allow: bool) -> Self {
        self.options.allow_unknown_voice = Some(allow);
        self
    }
    pub fn destination_policy(mut self, p: DestinationPolicy) -> Self {
        self.options.policy = p.into();
        self
    }
    /// How long an idempotency key is remembered. Default 10 minutes.
    pub fn dedupe_window(mut self, d: Duration) -> Self {
        self.options.dedupe_window = Some(Span::Exact(d));
        self
    }
    /// Called with each rotated OAuth pair before it is used.
    pub fn token_store(mut self, store: TokenStore) -> Self {
        self.options.token_store = Some(store);
        self
    }
    /// Convenience for [`Self::token_store`].
    pub fn on_tokens(
        self,
        f: impl Fn(&TokenPair) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.token_store(Arc::new(f))
    }
    /// Keeps the limiter, idempotency keys, number cooldowns and OAuth pair in Redis
    /// (`redis://[:password@]host[:port][/db]` or `rediss://...`), shared by every process and
    /// machine that uses the same URL for this portal. See [`ClientOptions::shared_state`].
    pub fn shared_state(mut self, url: impl Into<String>) -> Self {
        self.options.shared_state = Some(url.into());
        self
    }
    /// The prefix of every Redis key (default `bitrix24-callback:<portal host>:`).
    pub fn shared_state_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.options.shared_state_prefix = Some(prefix.into());
        self
    }
    /// Replaces every option at once with plain-data `options`.
    pub fn options(mut self, options: ClientOptions) -> Self {
        self.options = options;
        self
    }
    /// Checks the options (certificates parse, timeouts non-zero, ...) and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        Client::with_options(self.auth, self.options)
    }
}
