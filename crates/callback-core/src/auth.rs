//! How the client authenticates: an incoming webhook or an OAuth application.
//!
//! SKELETON: signatures are the contract; the bodies are being filled in.

use std::fmt;
use std::sync::Arc;

use crate::error::Error;

/// Credentials of an OAuth application installed on the portal.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthConfig {
    pub client_id: String,
    pub client_secret: String,
    pub access_token: String,
    pub refresh_token: String,
    /// The portal's REST base, `https://PORTAL/rest/`.
    pub client_endpoint: String,
    /// The OAuth server's REST base, `https://oauth.bitrix.info/rest/`; the token endpoint
    /// (`.../oauth/token/`) is derived from it.
    pub server_endpoint: String,
}

impl fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("access_token", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .field("client_endpoint", &self.client_endpoint)
            .field("server_endpoint", &self.server_endpoint)
            .finish()
    }
}

/// A freshly rotated token pair, handed to the token store before it is used.
#[derive(Clone, PartialEq, Eq)]
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
        f.debug_struct("TokenPair")
            .field("access_token", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("expires_at", &self.expires_at)
            .field("client_endpoint", &self.client_endpoint)
            .field("server_endpoint", &self.server_endpoint)
            .finish()
    }
}

/// Called with every rotated pair before the new access token is used. Persist both tokens
/// atomically; an `Err` fails the call that triggered the refresh with `auth_failed`
/// (the new pair is still used in memory by later calls).
pub type TokenStore = Arc<dyn Fn(&TokenPair) -> Result<(), String> + Send + Sync>;

/// How to authenticate. Build with [`Auth::webhook`] or [`Auth::oauth`], which check the input.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// `https://PORTAL/rest/USER_ID/SECRET/`.
    Webhook(WebhookUrl),
    OAuth(OAuthConfig),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Webhook(w) => f.debug_tuple("Webhook").field(w).finish(),
            Auth::OAuth(o) => f.debug_tuple("OAuth").field(o).finish(),
        }
    }
}

/// A parsed and checked incoming-webhook address. Its `Debug`/`Display` hide the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    pub(crate) base: String,
    pub(crate) user_id: String,
    pub(crate) secret: String,
}

impl WebhookUrl {
    /// Scheme, host and port, e.g. `https://example.bitrix24.com`.
    pub fn portal(&self) -> &str {
        &self.base
    }
    pub fn user_id(&self) -> &str {
        &self.user_id
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "WebhookUrl({}/rest/{}/[redacted]/)",
            self.base, self.user_id
        )
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/rest/{}/[redacted]/", self.base, self.user_id)
    }
}

impl Auth {
    /// Parses `https://PORTAL/rest/USER_ID/SECRET/` (trailing slash and a trailing method name
    /// are tolerated). Plain `http` is accepted only for loopback hosts. A bad address gives an
    /// `invalid_request` error with a `webhook_url` violation that does not echo the secret.
    pub fn webhook(url: &str) -> Result<Auth, Error> {
        let _ = url;
        Err(Error::invalid(Vec::new()))
    }

    /// Checks the OAuth settings (non-empty, endpoints parse; `http` only for loopback).
    pub fn oauth(config: OAuthConfig) -> Result<Auth, Error> {
        let _ = config;
        Err(Error::invalid(Vec::new()))
    }
}
