//! Start a callback as an OAuth application, persisting every rotated token pair.
//!
//! ```text
//! cargo run -p callback-core --example oauth      # sandbox: the fake portal, expired token
//! BITRIX24_CLIENT_ID=... BITRIX24_CLIENT_SECRET=... BITRIX24_ACCESS_TOKEN=... \
//! BITRIX24_REFRESH_TOKEN=... BITRIX24_CLIENT_ENDPOINT=https://PORTAL/rest/ \
//! BITRIX24_SERVER_ENDPOINT=https://oauth.bitrix.info/rest/ \
//! CALLBACK_LINE=reg1 CALLBACK_TO=+4479... cargo run -p callback-core --example oauth
//! ```

use std::time::Duration;

use callback_core::{Auth, Client, OAuthConfig};
use callback_fake_portal::{FakePortal, FakePortalConfig};

fn main() {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let mut sandbox = None;
    let config = match env("BITRIX24_ACCESS_TOKEN") {
        Some(access_token) => OAuthConfig {
            client_id: env("BITRIX24_CLIENT_ID").unwrap_or_default(),
            client_secret: env("BITRIX24_CLIENT_SECRET").unwrap_or_default(),
            access_token,
            refresh_token: env("BITRIX24_REFRESH_TOKEN").unwrap_or_default(),
            client_endpoint: env("BITRIX24_CLIENT_ENDPOINT").unwrap_or_default(),
            server_endpoint: env("BITRIX24_SERVER_ENDPOINT")
                .unwrap_or_else(|| "https://oauth.bitrix.info/rest/".into()),
        },
        None => {
            let portal = FakePortal::start(FakePortalConfig {
                stage_duration: Duration::from_millis(300),
                ..FakePortalConfig::default()
            })
            .expect("start the fake portal");
            println!(
                "sandbox: fake portal at {} (no real call is made)",
                portal.base_url()
            );
            let grant = portal.issue_tokens();
            // Show the refresh path: the first call meets an expired access token.
            portal.expire_access_tokens();
            let cfg = portal.config();
            let config = OAuthConfig {
                client_id: cfg.oauth_client_id,
                client_secret: cfg.oauth_client_secret,
                access_token: grant.access_token,
                refresh_token: grant.refresh_token,
                client_endpoint: portal.client_endpoint(),
                server_endpoint: portal.server_endpoint(),
            };
            sandbox = Some(portal);
            config
        }
    };
    let auth = Auth::oauth(config).unwrap_or_else(|e| {
        eprintln!("bad OAuth settings: {e}");
        std::process::exit(2);
    });
    println!("auth: {auth:?}");
    let client = Client::builder(auth)
        .user_agent_suffix("example/oauth")
        .on_tokens(|pair| {
            // A real application writes both tokens to its database here, atomically, before
            // the client uses them. The pair's Debug output is redacted.
            println!("persisting rotated tokens: {pair:?}");
            Ok(())
        })
        .build()
        .expect("client");
    let request = client
        .request()
        .from_line(env("CALLBACK_LINE").unwrap_or_else(|| "reg1".into()))
        .to_number(env("CALLBACK_TO").unwrap_or_else(|| "+12015550124".into()))
        .text("A visitor asked for a call back")
        .build()
        .unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(2);
        });
    match client.start_callback(&request) {
        Ok(s) => println!(
            "started: CALL_ID={} after {} attempt(s)",
            s.call_id.as_deref().unwrap_or("(none)"),
            s.timing.attempts
        ),
        Err(e) => {
            eprintln!("{e} (retry_safe={})", e.retry_safe());
            std::process::exit(if e.retry_safe() { 3 } else { 4 });
        }
    }
    drop(sandbox);
}
