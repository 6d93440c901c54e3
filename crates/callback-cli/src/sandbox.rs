//! The fake portal, embedded (the sandbox of `start`, `lines`, ...) or served on its own.

use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::time::Duration;

use callback_fake_portal::{FakePortal, FakePortalConfig};
use serde_json::json;

use crate::exit;
use crate::output::Output;

/// How long each stage of a simulated call lasts in the sandbox: long enough to watch.
const SANDBOX_STAGE: Duration = Duration::from_millis(700);

/// Starts the embedded fake portal used when no real portal is configured.
/// `B24_CALLBACK_SANDBOX_STAGE_MS` changes the length of each simulated call stage.
pub fn start_embedded() -> std::io::Result<FakePortal> {
    let stage_duration = std::env::var("B24_CALLBACK_SANDBOX_STAGE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(SANDBOX_STAGE);
    FakePortal::start(FakePortalConfig {
        stage_duration,
        ..FakePortalConfig::default()
    })
}

#[derive(clap::Args)]
pub struct FakePortalArgs {
    /// TCP port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Serve HTTPS with a certificate from a CA generated at start (printed, or see --ca-out).
    #[arg(long)]
    tls: bool,
    /// Write the CA certificate (PEM) to this file (with --tls).
    #[arg(long)]
    ca_out: Option<std::path::PathBuf>,
    /// Leaky bucket: requests admitted at once.
    #[arg(long)]
    burst: Option<u32>,
    /// Leaky bucket: requests drained per second.
    #[arg(long)]
    drain: Option<f64>,
    /// Lifetime of OAuth access tokens, in seconds.
    #[arg(long)]
    token_lifetime: Option<u64>,
    /// Length of each stage of a simulated call, in milliseconds.
    #[arg(long)]
    stage_ms: Option<u64>,
    /// Business errors carry an empty `error` code instead of ERROR_CORE (both occur for real).
    #[arg(long)]
    empty_error_code: bool,
    /// Print one line of JSON with the addresses (and the OAuth client id and secret, the CA)
    /// instead of text; errors as a JSON `error` event.
    #[arg(long)]
    json: bool,
}

pub fn serve(args: FakePortalArgs) -> Result<(), u8> {
    let mut config = FakePortalConfig {
        port: args.port,
        tls: args.tls,
        ..FakePortalConfig::default()
    };
    if let Some(b) = args.burst {
        config.burst = b;
    }
    if let Some(d) = args.drain {
        config.drain_per_second = d;
    }
    if let Some(s) = args.token_lifetime {
        config.access_token_lifetime = Duration::from_secs(s);
    }
    if let Some(ms) = args.stage_ms {
        config.stage_duration = Duration::from_millis(ms);
    }
    config.empty_error_code = args.empty_error_code;
    let oauth_client_id = config.oauth_client_id.clone();
    let oauth_client_secret = config.oauth_client_secret.clone();
    let out = Output::new(args.json);
    let portal = FakePortal::start(config)
        .map_err(|e| out.fatal(&format!("cannot start the fake portal: {e}"), exit::REFUSED))?;
    if let (Some(path), Some(pem)) = (&args.ca_out, portal.ca_pem()) {
        std::fs::write(path, pem).map_err(|e| {
            out.fatal(
                &format!("cannot write --ca-out {}: {e}", path.display()),
                exit::INVALID_INPUT,
            )
        })?;
    }
    if args.json {
        println!(
            "{}",
            json!({
                "base_url": portal.base_url(),
                "webhook_url": portal.webhook_url(),
                "client_endpoint": portal.client_endpoint(),
                "server_endpoint": portal.server_endpoint(),
                "token_url": portal.token_url(),
                "admin_url": portal.admin_url(),
                "ca_pem": portal.ca_pem(),
                "oauth_client_id": oauth_client_id,
                "oauth_client_secret": oauth_client_secret,
            })
        );
    } else {
        println!("Fake Bitrix24 portal listening (a test double: no real call is ever made)");
        println!("  portal          {}", portal.base_url());
        println!("  webhook         {}", portal.webhook_url());
        println!(
            "  OAuth REST      {}  (client id {oauth_client_id})",
            portal.client_endpoint()
        );
        println!("  OAuth tokens    {}", portal.token_url());
        println!(
            "  admin           {}  (faults, ledger, tokens: see README)",
            portal.admin_url()
        );
        if portal.ca_pem().is_some() {
            match &args.ca_out {
                Some(path) => println!("  CA certificate  {}", path.display()),
                None => println!("  CA certificate  (pass --ca-out FILE to save it)"),
            }
        }
        println!("Stop with Ctrl-C.");
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    wait_until_stopped();
    drop(portal);
    Ok(())
}

/// Blocks until the process is killed (Ctrl-C, SIGTERM) or, when stdin is a pipe or socket
/// (a parent process driving us, e.g. a test harness), until that pipe is closed, so that a
/// crashed parent never leaves a portal behind.
fn wait_until_stopped() {
    let watch_stdin = std::fs::metadata("/proc/self/fd/0")
        .map(|m| m.file_type().is_fifo() || m.file_type().is_socket())
        .unwrap_or(false);
    if watch_stdin {
        let mut sink = [0u8; 256];
        let mut stdin = std::io::stdin();
        loop {
            match stdin.read(&mut sink) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // Any other read error says nothing about the parent: keep serving.
                Err(_) => break,
            }
        }
    }
    loop {
        std::thread::park();
    }
}
