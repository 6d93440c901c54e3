//! Start one callback through an incoming webhook and follow it to its outcome.
//!
//! ```text
//! cargo run -p callback-core --example webhook                 # sandbox: the fake portal
//! BITRIX24_WEBHOOK_URL=https://PORTAL/rest/1/SECRET/ \
//! CALLBACK_LINE=reg1 CALLBACK_TO=+4479... cargo run -p callback-core --example webhook
//! ```
//!
//! Without `BITRIX24_WEBHOOK_URL` it starts the in-process fake portal: nobody is called.

use std::time::Duration;

use callback_core::{Auth, Client, ErrorCode};
use callback_fake_portal::{FakePortal, FakePortalConfig};

fn main() {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    // Keep the fake portal alive for the whole run.
    let mut sandbox = None;
    let webhook = match env("BITRIX24_WEBHOOK_URL") {
        Some(url) => url,
        None => {
            let portal = FakePortal::start(FakePortalConfig {
                stage_duration: Duration::from_millis(300),
                ..FakePortalConfig::default()
            })
            .expect("start the fake portal");
            println!(
                "sandbox: using the fake portal at {} (no real call is made)",
                portal.base_url()
            );
            let url = portal.webhook_url();
            sandbox = Some(portal);
            url
        }
    };
    let auth = match Auth::webhook(&webhook) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bad webhook address: {e}");
            std::process::exit(2);
        }
    };
    let client = Client::builder(auth)
        .default_region(env("CALLBACK_REGION").unwrap_or_else(|| "GB".into()))
        .user_agent_suffix("example/webhook")
        .build()
        .expect("client");

    match client.lines() {
        Ok(lines) => {
            for l in lines {
                println!("line {:<12} {}", l.id, l.name);
            }
        }
        Err(e) => println!("(cannot list lines: {e})"),
    }

    let request = client
        .request()
        .from_line(env("CALLBACK_LINE").unwrap_or_else(|| "reg1".into()))
        .to_number(env("CALLBACK_TO").unwrap_or_else(|| "+12015550123".into()))
        .text(env("CALLBACK_TEXT").unwrap_or_else(|| "A visitor asked for a call back".into()))
        .build();
    let request = match request {
        Ok(r) => r,
        Err(e) => {
            for v in e.violations() {
                eprintln!("{}: {} ({})", v.field, v.message, v.code);
            }
            std::process::exit(2);
        }
    };
    println!(
        "calling {} from line {}",
        request.masked_number(),
        request.from_line()
    );
    match client.start_callback(&request) {
        Ok(started) => {
            println!(
                "started: CALL_ID={} ({} attempt(s), {} ms)",
                started
                    .call_id
                    .as_deref()
                    .unwrap_or("(none: REST app line)"),
                started.timing.attempts,
                started.timing.total.as_millis()
            );
            if let Some(id) = started.call_id {
                match client.wait_for_outcome(&id, Duration::from_secs(120)) {
                    Ok(Some(rec)) => println!(
                        "ended: {} (code {}, {} s)",
                        rec.outcome.as_str(),
                        rec.failed_code,
                        rec.duration_seconds
                    ),
                    Ok(None) => println!("no outcome yet"),
                    Err(e) => println!("cannot read the outcome: {e}"),
                }
            }
        }
        Err(e) if e.code() == ErrorCode::OutcomeUnknown => {
            eprintln!("outcome unknown (do not retry blindly): {e}");
            std::process::exit(4);
        }
        Err(e) => {
            eprintln!("refused: {e} (retry_safe={})", e.retry_safe());
            std::process::exit(3);
        }
    }
    drop(sandbox);
}
