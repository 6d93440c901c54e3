//! How the client authenticates: an incoming webhook or an OAuth application.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use url::{Host, Url};

use crate::error::{Error, Violation};

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
        const F: &str = "webhook_url";
        let bad = |code: &str, message: &str| {
            Error::invalid(vec![Violation {
                field: F.into(),
                code: code.into(),
                message: message.into(),
            }])
        };
        let parsed =
            Url::parse(url.trim()).map_err(|_| bad("unparsable", "is not an absolute URL"))?;
        let base = checked_base(&parsed).map_err(|(code, msg)| bad(code, msg))?;
        let segments: Vec<&str> = parsed
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).collect())
            .unwrap_or_default();
        let method_ok = match segments.get(3) {
            None => true,
            Some(m) => segments.len() == 4 && m.contains('.'),
        };
        if segments.len() < 3 || segments[0] != "rest" || !method_ok {
            return Err(bad(
                "not_a_webhook",
                "must look like https://PORTAL/rest/USER_ID/SECRET/",
            ));
        }
        let user_id = segments[1];
        let secret = segments[2];
        let token_chars = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        };
        if !token_chars(user_id) {
            return Err(bad("bad_user_id", "has an unusable user id segment"));
        }
        if !token_chars(secret) {
            return Err(bad("bad_secret", "has an unusable secret segment"));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(bad(
                "not_a_webhook",
                "must not carry a query string or fragment",
            ));
        }
        Ok(Auth::Webhook(WebhookUrl {
            base,
            user_id: user_id.to_owned(),
            secret: secret.to_owned(),
        }))
    }

    /// Checks the OAuth settings (non-empty, endpoints parse; `http` only for loopback).
    pub fn oauth(config: OAuthConfig) -> Result<Auth, Error> {
        let mut v = Vec::new();
        let mut add = |field: &str, code: &str, message: &str| {
            v.push(Violation {
                field: field.into(),
                code: code.into(),
                message: message.into(),
            })
        };
        for (field, value) in [
            ("client_id", &config.client_id),
            ("client_secret", &config.client_secret),
            ("access_token", &config.access_token),
            ("refresh_token", &config.refresh_token),
        ] {
            if value.trim().is_empty() {
                add(field, "required", "is required");
            } else if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
                add(
                    field,
                    "invalid_character",
                    "must not contain whitespace or control characters",
                );
            }
        }
        for (field, value) in [
            ("client_endpoint", &config.client_endpoint),
            ("server_endpoint", &config.server_endpoint),
        ] {
            match Url::parse(value.trim()) {
                Err(_) => add(field, "unparsable", "is not an absolute URL"),
                Ok(u) => {
                    if let Err((code, msg)) = checked_base(&u) {
                        add(field, code, msg);
                    } else if u.query().is_some() || u.fragment().is_some() {
                        add(
                            field,
                            "unparsable",
                            "must not carry a query string or fragment",
                        );
                    }
                }
            }
        }
        if v.is_empty() {
            Ok(Auth::OAuth(config))
        } else {
            Err(Error::invalid(v))
        }
    }

    /// Scheme, host and port of the portal this auth talks to.
    pub(crate) fn portal_base(&self) -> String {
        match self {
            Auth::Webhook(w) => w.base.clone(),
            Auth::OAuth(o) => Url::parse(o.client_endpoint.trim())
                .ok()
                .and_then(|u| checked_base(&u).ok())
                .unwrap_or_default(),
        }
    }
}

/// True for `localhost` and loopback IP addresses.
pub(crate) fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

/// `scheme://host[:port]` of an address, after the https/loopback rule and a check for
/// credentials in the URL.
pub(crate) fn checked_base(u: &Url) -> Result<String, (&'static str, &'static str)> {
    let host = u.host().ok_or(("unparsable", "has no host"))?;
    match u.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => {
            return Err((
                "https_required",
                "must use https (plain http only for loopback)",
            ));
        }
        _ => return Err(("unsupported_scheme", "must be an https URL")),
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err((
            "credentials_in_url",
            "must not carry a user name or password",
        ));
    }
    let mut base = format!("{}://{}", u.scheme(), host);
    if let Some(port) = u.port() {
        base.push_str(&format!(":{port}"));
    }
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_parsing() {
        let a = Auth::webhook("https://example.bitrix24.com/rest/1/abcsecret123/").unwrap();
        let Auth::Webhook(w) = &a else { panic!() };
        assert_eq!(w.portal(), "https://example.bitrix24.com");
        assert!(!format!("{a:?} {w}").contains("abcsecret123"));
        Auth::webhook("http://127.0.0.1:8080/rest/1/abcsecret123").unwrap();
        Auth::webhook("https://x.bitrix24.com/rest/1/abcsecret123/profile.json").unwrap();
        for bad in [
            "http://example.com/rest/1/abcsecret123/",
            "https://example.com/api/1/abcsecret123/",
            "ftp://example.com/rest/1/abcsecret123/",
            "nonsense",
            "https://u:p@example.com/rest/1/abcsecret123/",
        ] {
            let e = Auth::webhook(bad).unwrap_err();
            assert_eq!(e.violations().len(), 1, "{bad}");
            assert!(!e.to_string().contains("abcsecret123"), "{e}");
        }
    }
}
