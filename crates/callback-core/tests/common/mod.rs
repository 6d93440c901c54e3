//! Helpers shared by the integration tests: a fake portal tuned for speed and clients for it.
#![allow(dead_code)]

use std::time::Duration;

use callback_core::{
    Auth, CallbackRequest, Client, ClientBuilder, DestinationPolicy, OAuthConfig, RateLimit,
};
use callback_fake_portal::{FakePortal, FakePortalConfig};

/// A fake portal with short stages and a roomy bucket (tests that need the limits set them).
pub fn portal_with(change: impl FnOnce(&mut FakePortalConfig)) -> FakePortal {
    let mut cfg = FakePortalConfig {
        stage_duration: Duration::from_millis(20),
        callback_processing: Duration::from_millis(10),
        burst: 1000,
        drain_per_second: 1000.0,
        ..FakePortalConfig::default()
    };
    change(&mut cfg);
    FakePortal::start(cfg).expect("fake portal starts")
}

pub fn portal() -> FakePortal {
    portal_with(|_| {})
}

/// Fast test settings; no cooldown or hourly cap so tests can reuse numbers, no client-side
/// pacing.
pub fn fast(b: ClientBuilder) -> ClientBuilder {
    b.connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(3))
        .deadline(Duration::from_secs(5))
        .rate_limit(RateLimit::Off)
        .user_agent_suffix("test/1")
        .destination_policy(DestinationPolicy {
            number_cooldown: Duration::ZERO,
            number_hourly_cap: 0,
            ..DestinationPolicy::default()
        })
}

pub fn webhook_builder(p: &FakePortal) -> ClientBuilder {
    let mut b = fast(Client::builder(Auth::webhook(&p.webhook_url()).unwrap()));
    if let Some(ca) = p.ca_pem() {
        b = b.add_root_certificate_pem(ca);
    }
    b
}

pub fn webhook_client(p: &FakePortal) -> Client {
    webhook_builder(p).build().unwrap()
}

pub fn oauth_config(p: &FakePortal) -> OAuthConfig {
    let grant = p.issue_tokens();
    let cfg = p.config();
    OAuthConfig {
        client_id: cfg.oauth_client_id,
        client_secret: cfg.oauth_client_secret,
        access_token: grant.access_token,
        refresh_token: grant.refresh_token,
        client_endpoint: p.client_endpoint(),
        server_endpoint: p.server_endpoint(),
    }
}

pub fn request(number: &str) -> CallbackRequest {
    CallbackRequest::builder()
        .from_line("reg1")
        .to_number(number)
        .text("A visitor asked for a call back")
        .build()
        .unwrap()
}

/// A distinct answered number (index 0..899): the NANP fictional block 555-0100..0199 of area
/// codes other than 201, whose 555-0101..0106 are the fake portal's magic numbers.
pub fn number(i: usize) -> String {
    const AREAS: [u16; 9] = [202, 212, 213, 312, 415, 617, 646, 718, 917];
    format!("+1{}55501{:02}", AREAS[i / 100 % AREAS.len()], i % 100)
}

/// How many `voximplant.callback.start` requests reached the portal.
pub fn start_requests(p: &FakePortal) -> usize {
    p.requests()
        .iter()
        .filter(|r| {
            r.rest_method
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case("voximplant.callback.start"))
        })
        .count()
}
