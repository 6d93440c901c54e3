//! Which portal to talk to: a webhook, an OAuth application, or (with neither) the sandbox.

use std::path::{Path, PathBuf};
use std::time::Duration;

use callback_core::{Auth, Client, OAuthConfig, RateLimit, TokenPair};
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
    #[arg(long, default_value = "standard", value_parser = RateLimit::PRESET_NAMES)]
    rate_limit: String,
    /// Bound of one HTTP exchange, in seconds.
    #[arg(long, default_value_t = 40)]
    timeout: u64,
    /// Bound of the whole command's portal call (limiter waits and retries included), in seconds.
    #[arg(long, default_value_t = 60)]
    deadline: u64,
}

/// A connected client, plus the embedded fake portal when running as a sandbox.
pub struct Session {
    pub client: Client,
    pub sandbox: Option<FakePortal>,
}

impl PortalArgs {
    pub fn connect(&self, out: &Output) -> Result<Session, u8> {
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
        let rate_limit: RateLimit = self.rate_limit.parse().map_err(|e| out.error(&e))?;
        let mut builder = Client::builder(auth)
            .rate_limit(rate_limit)
            .timeout(Duration::from_secs(self.timeout.max(1)))
            .deadline(Duration::from_secs(self.deadline.max(1)))
            .user_agent_suffix(format!("cli/{}", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = ca {
            builder = builder.add_root_certificate_pem(pem);
        }
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                out.fatal(
                    &format!("cannot read --ca-file {}: {e}", path.display()),
                    exit::INVALID_INPUT,
                )
            })?;
            builder = builder.add_root_certificate_pem(pem);
        }
        if let Some(path) = self.token_file.clone() {
            builder = builder.on_tokens(move |pair| save_tokens(&path, pair));
        }
        let client = builder.build().map_err(|e| out.error(&e))?;
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
        let tokens = load_tokens(path).map_err(|e| {
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

#[derive(serde::Serialize, serde::Deserialize)]
struct TokenFile {
    access_token: String,
    refresh_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

fn load_tokens(path: &Path) -> Result<(String, String), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let file: TokenFile = serde_json::from_str(&text)
        .map_err(|e| format!("expected {{\"access_token\", \"refresh_token\"}} JSON ({e})"))?;
    Ok((file.access_token, file.refresh_token))
}

/// Writes the rotated pair next to the old file, then renames it over: a crash leaves either
/// the old or the new pair, never half of one. The file holds secrets: it is readable by its
/// owner only (0600), whatever the umask.
fn save_tokens(path: &Path, pair: &TokenPair) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

    let file = TokenFile {
        access_token: pair.access_token.clone(),
        refresh_token: pair.refresh_token.clone(),
        expires_at: pair.expires_at,
    };
    let text = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        // `mode` applies only to a file it creates: a leftover temporary file is narrowed too.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    };
    write().map_err(|e| format!("cannot write the token file: {e}"))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot replace the token file: {e}"))
}
