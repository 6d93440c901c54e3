//! A client from the environment: the same variables as the command line's, for every language
//! ([`from_env`]), and the token file that keeps an OAuth pair across runs ([`TokenFile`]).
//!
//! | variable | option |
//! |---|---|
//! | `BITRIX24_WEBHOOK_URL` | the incoming webhook (or the OAuth variables below) |
//! | `BITRIX24_CLIENT_ID`, `BITRIX24_CLIENT_SECRET`, `BITRIX24_CLIENT_ENDPOINT`, `BITRIX24_SERVER_ENDPOINT` | an OAuth application (the server endpoint defaults to `https://oauth.bitrix.info/rest/`) |
//! | `BITRIX24_TOKEN_FILE` | the OAuth pair, read from and written back to this JSON file; or `BITRIX24_ACCESS_TOKEN` and `BITRIX24_REFRESH_TOKEN` |
//! | `BITRIX24_DEFAULT_REGION`, `BITRIX24_RATE_LIMIT`, `BITRIX24_TIMEOUT`, `BITRIX24_DEADLINE` (seconds), `BITRIX24_CA_FILE` | client options |
//! | `BITRIX24_ALLOWED_REGIONS`, `BITRIX24_BLOCKED_REGIONS`, `BITRIX24_ALLOWED_PREFIXES`, `BITRIX24_BLOCKED_PREFIXES`, `BITRIX24_ALLOWED_NUMBER_TYPES`, `BITRIX24_HIGH_RISK_REGIONS` (comma-separated; `none` for an empty list), `BITRIX24_ALLOW_COSTLY_NUMBERS` (`true`), `BITRIX24_NUMBER_COOLDOWN` (seconds), `BITRIX24_NUMBER_HOURLY_CAP` | the destination policy |
//! | `BITRIX24_SHARED_STATE`, `BITRIX24_SHARED_STATE_PREFIX` | shared state in Redis |
//!
//! A value that cannot be read is an `invalid_request` violation named by its variable; the
//! options it gives are then checked like any others (with `OptionNames::Env`-style names).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::auth::{Auth, OAuthConfig, TokenPair};
use crate::client::{ClientOptions, OptionNames, PolicyOptions, RateLimitOption, Span};
use crate::error::{Error, Violation};

/// The default OAuth server.
const OAUTH_SERVER: &str = "https://oauth.bitrix.info/rest/";

/// A JSON file holding an OAuth pair (`{"access_token": ..., "refresh_token": ...}`), written
/// back atomically with every rotated pair: the CLI's `--token-file`, and `BITRIX24_TOKEN_FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFile {
    path: PathBuf,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct TokenJson {
    access_token: String,
    refresh_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

impl TokenFile {
    pub fn new(path: impl Into<PathBuf>) -> TokenFile {
        TokenFile { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The pair in the file: `(access_token, refresh_token)`.
    pub fn load(&self) -> Result<(String, String), String> {
        let text = std::fs::read_to_string(&self.path).map_err(|e| e.to_string())?;
        let file: TokenJson = serde_json::from_str(&text).map_err(|_| {
            "expected {\"access_token\": ..., \"refresh_token\": ...} JSON".to_owned()
        })?;
        Ok((file.access_token, file.refresh_token))
    }

    /// Writes the pair next to the file, then renames it over: a crash leaves either the old
    /// or the new pair, never half of one. The file holds secrets: it is readable by its owner
    /// only (0600 on Unix), whatever the umask.
    pub fn save(&self, pair: &TokenPair) -> Result<(), String> {
        use std::io::Write;
        let text = serde_json::to_string_pretty(&TokenJson {
            access_token: pair.access_token.clone(),
            refresh_token: pair.refresh_token.clone(),
            expires_at: pair.expires_at,
        })
        .map_err(|e| e.to_string())?;
        let tmp = self.path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut f = options.open(&tmp)?;
            #[cfg(unix)]
            {
                // `mode` applies only to a file it creates: a leftover one is narrowed too.
                use std::os::unix::fs::PermissionsExt;
                f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            }
            f.write_all(text.as_bytes())?;
            f.sync_all()
        };
        write().map_err(|e| format!("cannot write the token file: {e}"))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| format!("cannot replace the token file: {e}"))
    }
}

/// Reads a client's settings from the process environment (see the module docs).
pub fn from_env() -> Result<(Auth, ClientOptions), Error> {
    from_env_with(|name| std::env::var(name).ok())
}

/// Like [`from_env`], reading each variable with `get` (for tests and embedders).
pub fn from_env_with(get: impl Fn(&str) -> Option<String>) -> Result<(Auth, ClientOptions), Error> {
    let mut refused = Vec::new();
    let var = |name: &str| {
        get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let mut bad = |name: &str, code: &str, message: &str| {
        refused.push(Violation {
            field: name.to_owned(),
            code: code.to_owned(),
            message: message.to_owned(),
        })
    };
    let seconds = |name: &str, bad: &mut dyn FnMut(&str, &str, &str)| {
        var(name).and_then(|v| match v.parse::<f64>() {
            Ok(s) => Some(Span::Seconds(s)),
            Err(_) => {
                bad(name, "not_a_number", "must be a number of seconds");
                None
            }
        })
    };
    let list = |name: &str| {
        var(name).map(|v| {
            if v.eq_ignore_ascii_case("none") {
                Vec::new()
            } else {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            }
        })
    };

    let mut token_store = None;
    let auth = if let Some(url) = var("BITRIX24_WEBHOOK_URL") {
        Some(Auth::webhook(&url))
    } else if let Some(client_id) = var("BITRIX24_CLIENT_ID") {
        let tokens = match var("BITRIX24_TOKEN_FILE") {
            Some(path) => {
                let file = TokenFile::new(path);
                match file.load() {
                    Ok(pair) => {
                        token_store =
                            Some(Arc::new(move |p: &TokenPair| file.save(p))
                                as crate::auth::TokenStore);
                        Some(pair)
                    }
                    Err(_) => {
                        bad(
                            "BITRIX24_TOKEN_FILE",
                            "unreadable",
                            "cannot be read as {\"access_token\", \"refresh_token\"} JSON",
                        );
                        None
                    }
                }
            }
            None => Some((
                var("BITRIX24_ACCESS_TOKEN").unwrap_or_default(),
                var("BITRIX24_REFRESH_TOKEN").unwrap_or_default(),
            )),
        };
        tokens.map(|(access_token, refresh_token)| {
            Auth::oauth(OAuthConfig {
                client_id,
                client_secret: var("BITRIX24_CLIENT_SECRET").unwrap_or_default(),
                access_token,
                refresh_token,
                client_endpoint: var("BITRIX24_CLIENT_ENDPOINT").unwrap_or_default(),
                server_endpoint: var("BITRIX24_SERVER_ENDPOINT")
                    .unwrap_or_else(|| OAUTH_SERVER.to_owned()),
            })
        })
    } else {
        bad(
            "BITRIX24_WEBHOOK_URL",
            "required",
            "is not set (nor BITRIX24_CLIENT_ID for an OAuth application)",
        );
        None
    };

    let root_certificates = match var("BITRIX24_CA_FILE") {
        Some(path) => match std::fs::read(&path) {
            Ok(pem) => vec![pem],
            Err(_) => {
                bad("BITRIX24_CA_FILE", "unreadable", "cannot be read");
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    let allow_costly =
        var("BITRIX24_ALLOW_COSTLY_NUMBERS").and_then(|v| match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => Some(false),
            "0" | "false" | "no" => Some(true),
            _ => {
                bad(
                    "BITRIX24_ALLOW_COSTLY_NUMBERS",
                    "not_a_boolean",
                    "must be true or false",
                );
                None
            }
        });
    let hourly_cap = var("BITRIX24_NUMBER_HOURLY_CAP").and_then(|v| match v.parse::<f64>() {
        Ok(n) => Some(n),
        Err(_) => {
            bad(
                "BITRIX24_NUMBER_HOURLY_CAP",
                "not_a_number",
                "must be a whole number",
            );
            None
        }
    });
    let options = ClientOptions {
        timeout: seconds("BITRIX24_TIMEOUT", &mut bad),
        deadline: seconds("BITRIX24_DEADLINE", &mut bad),
        rate_limit: var("BITRIX24_RATE_LIMIT").map(RateLimitOption::Named),
        root_certificates,
        default_region: var("BITRIX24_DEFAULT_REGION"),
        policy: PolicyOptions {
            allowed_regions: list("BITRIX24_ALLOWED_REGIONS"),
            blocked_regions: list("BITRIX24_BLOCKED_REGIONS"),
            allowed_prefixes: list("BITRIX24_ALLOWED_PREFIXES"),
            blocked_prefixes: list("BITRIX24_BLOCKED_PREFIXES"),
            block_costly_numbers: allow_costly,
            allowed_number_types: list("BITRIX24_ALLOWED_NUMBER_TYPES"),
            high_risk_regions: list("BITRIX24_HIGH_RISK_REGIONS"),
            number_cooldown: seconds("BITRIX24_NUMBER_COOLDOWN", &mut bad),
            number_hourly_cap: hourly_cap,
        },
        token_store,
        shared_state: var("BITRIX24_SHARED_STATE"),
        shared_state_prefix: var("BITRIX24_SHARED_STATE_PREFIX"),
        names: OptionNames::Env,
        ..ClientOptions::default()
    };
    let auth = match auth {
        Some(Ok(auth)) => Some(auth),
        Some(Err(e)) => {
            refused.extend(e.violations().iter().cloned());
            None
        }
        None => None,
    };
    match auth {
        Some(auth) if refused.is_empty() => Ok((auth, options)),
        _ => Err(Error::invalid(refused)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn a_webhook_and_options_from_the_environment() {
        let (auth, options) = from_env_with(env(&[
            (
                "BITRIX24_WEBHOOK_URL",
                "https://x.bitrix24.com/rest/1/secret123456/",
            ),
            ("BITRIX24_DEFAULT_REGION", "GB"),
            ("BITRIX24_ALLOWED_REGIONS", "GB, DE"),
            ("BITRIX24_HIGH_RISK_REGIONS", "none"),
            ("BITRIX24_NUMBER_HOURLY_CAP", "3"),
            ("BITRIX24_TIMEOUT", "5"),
        ]))
        .unwrap();
        assert!(matches!(auth, Auth::Webhook(_)));
        assert_eq!(options.default_region.as_deref(), Some("GB"));
        assert_eq!(
            options.policy.allowed_regions,
            Some(vec!["GB".into(), "DE".into()])
        );
        assert_eq!(options.policy.high_risk_regions, Some(vec![]));
        assert_eq!(options.policy.number_hourly_cap, Some(3.0));
        assert_eq!(options.timeout, Some(Span::Seconds(5.0)));
        // The options are checked like any others, named by their variables.
        let e = crate::Client::with_options(
            auth,
            ClientOptions {
                default_region: Some("XX".into()),
                ..options
            },
        )
        .unwrap_err();
        assert_eq!(e.violations()[0].field, "BITRIX24_DEFAULT_REGION");
    }

    #[test]
    fn what_cannot_be_read_names_its_variable() {
        let e = from_env_with(env(&[("BITRIX24_TIMEOUT", "soon")])).unwrap_err();
        let fields: Vec<&str> = e.violations().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["BITRIX24_WEBHOOK_URL", "BITRIX24_TIMEOUT"]);
        let e =
            from_env_with(env(&[("BITRIX24_WEBHOOK_URL", "http://example.com/x")])).unwrap_err();
        assert_eq!(e.violations()[0].field, "webhook_url");
        assert!(!format!("{e:?}").contains("example.com/x"));
    }
}
