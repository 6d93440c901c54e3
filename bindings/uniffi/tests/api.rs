//! The binding's Rust API (the same functions the generated Kotlin/Swift call), tested with
//! plain `cargo test -p callback-uniffi` against the in-process fake portal: no foreign
//! toolchain needed. The Kotlin and Swift suites cover the same ground through the FFI.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use callback_core as core;
use callback_fake_portal::{FakePortal, FakePortalConfig};
use callback_uniffi::{
    CallbackClient, CallbackError, CallbackRequest, ClientOptions, DestinationPolicy, ErrorCode,
    OAuthCredentials, RateLimit, TokenPair, TokenStore, TokenStoreError, classify_response,
    mask_number, validate_request,
};

fn portal() -> FakePortal {
    FakePortal::start(FakePortalConfig {
        stage_duration: Duration::from_millis(20),
        ..FakePortalConfig::default()
    })
    .expect("fake portal")
}

fn options() -> Option<ClientOptions> {
    Some(ClientOptions {
        timeout: Some(Duration::from_secs(5)),
        deadline: Some(Duration::from_secs(10)),
        user_agent_suffix: Some("rust-tests".into()),
        ..ClientOptions::default()
    })
}

fn request(number: &str, line: &str) -> CallbackRequest {
    CallbackRequest {
        from_line: line.into(),
        to_number: number.into(),
        text: "A visitor asked for a call back".into(),
        voice: None,
        idempotency_key: None,
    }
}

#[test]
fn every_core_code_maps_to_the_variant_of_the_same_code() {
    for code in core::ErrorCode::ALL {
        let err = CallbackError::from(core::Error::new(code, "x"));
        let d = err.details();
        assert_eq!(d.code.as_str(), code.as_str());
        assert_eq!(err.code(), d.code);
        assert_eq!(d.retry_safe, code.retry_safe());
        assert_eq!(core::ErrorCode::from(d.code), code);
        assert_eq!(err.to_string(), format!("{}: x", code.as_str()));
    }
    assert!(!ErrorCode::OutcomeUnknown.retry_safe());
}

#[test]
fn start_callback_and_lines_through_the_binding() {
    let portal = portal();
    let client = CallbackClient::webhook(portal.webhook_url(), options()).unwrap();
    let lines = client.lines().unwrap();
    assert!(lines.iter().any(|l| l.id == "reg1"));
    let started = client
        .start_callback(request("+12015550123", "reg1"))
        .unwrap();
    assert!(started.call_id.is_some());
    assert!(!started.deduplicated);
    assert_eq!(portal.ledger().len(), 1);
    let agent = portal
        .requests()
        .into_iter()
        .find(|r| r.rest_method.as_deref() == Some("voximplant.callback.start"))
        .and_then(|r| r.user_agent)
        .unwrap_or_default();
    let v = env!("CARGO_PKG_VERSION");
    assert_eq!(
        agent,
        format!("bitrix24-callback/{v} (uniffi/{v}) rust-tests")
    );
}

#[test]
fn every_bad_option_is_reported_at_once_in_camel_case() {
    let bad = ClientOptions {
        timeout: Some(Duration::ZERO),
        deadline: Some(Duration::ZERO),
        rate_limit: Some(RateLimit::Custom {
            burst: 0,
            per_second: 1.0,
        }),
        default_region: Some("XX".into()),
        destination_policy: Some(DestinationPolicy {
            allowed_regions: vec!["GB".into(), "ZZ".into()],
            ..DestinationPolicy::default()
        }),
        ..ClientOptions::default()
    };
    let err = CallbackClient::webhook(
        "https://portal.example/rest/1/abcdefgh12345678/".into(),
        Some(bad),
    )
    .unwrap_err();
    assert!(
        matches!(err, CallbackError::InvalidRequest { .. }),
        "{err:?}"
    );
    let got: Vec<(String, String)> = err
        .details()
        .violations
        .into_iter()
        .map(|v| (v.field, v.code))
        .collect();
    let want: Vec<(String, String)> = [
        ("timeout", "zero"),
        ("deadline", "zero"),
        ("rateLimit", "invalid"),
        ("defaultRegion", "unknown_region"),
        ("destinationPolicy.allowedRegions", "unknown_region"),
    ]
    .iter()
    .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn portal_errors_keep_their_fields() {
    let portal = portal();
    let client = CallbackClient::webhook(portal.webhook_url(), options()).unwrap();
    let err = client
        .start_callback(request("+12015550124", "nosuchline"))
        .unwrap_err();
    let d = err.details();
    assert!(matches!(err, CallbackError::LineNotFound { .. }), "{err:?}");
    assert_eq!(d.code, ErrorCode::LineNotFound);
    assert_eq!(d.http_status, Some(400));
    assert!(d.bitrix_code.is_some());
    assert!(portal.ledger().is_empty());
}

#[test]
fn https_portal_with_an_extra_root_certificate() {
    let portal = FakePortal::start(FakePortalConfig {
        tls: true,
        ..FakePortalConfig::default()
    })
    .unwrap();
    let ca = portal.ca_pem().expect("a CA for the TLS portal");
    let without = CallbackClient::webhook(portal.webhook_url(), options()).unwrap();
    let err = without.lines().unwrap_err();
    assert_eq!(err.code(), ErrorCode::Transport, "{err:?}");
    let opts = ClientOptions {
        root_certificates: vec![ca],
        ..options().unwrap()
    };
    let with = CallbackClient::webhook(portal.webhook_url(), Some(opts)).unwrap();
    assert!(!with.lines().unwrap().is_empty());
}

struct Recorder(Arc<Mutex<Vec<TokenPair>>>);

impl TokenStore for Recorder {
    fn save(&self, tokens: TokenPair) -> Result<(), TokenStoreError> {
        self.0.lock().unwrap().push(tokens);
        Ok(())
    }
}

#[test]
fn rotated_tokens_reach_the_token_store() {
    let portal = portal();
    let grant = portal.issue_tokens();
    let config = portal.config();
    let creds = OAuthCredentials {
        client_id: config.oauth_client_id.clone(),
        client_secret: config.oauth_client_secret.clone(),
        access_token: grant.access_token.clone(),
        refresh_token: grant.refresh_token.clone(),
        client_endpoint: portal.client_endpoint(),
        server_endpoint: portal.server_endpoint(),
    };
    let printed = format!("{creds:?} {creds}");
    assert!(!printed.contains(&grant.access_token) && !printed.contains(&creds.client_secret));

    let saved = Arc::new(Mutex::new(Vec::new()));
    let store: Box<dyn TokenStore> = Box::new(Recorder(saved.clone()));
    let client = CallbackClient::oauth(creds, options(), Some(store)).unwrap();
    client.lines().unwrap();
    assert!(saved.lock().unwrap().is_empty());
    portal.expire_access_tokens();
    client.voices().unwrap();
    let saved = saved.lock().unwrap();
    assert_eq!(saved.len(), 1);
    assert_ne!(saved[0].access_token, grant.access_token);
    let printed = format!("{:?} {}", saved[0], saved[0]);
    assert!(
        !printed.contains(&saved[0].access_token) && !printed.contains(&saved[0].refresh_token)
    );
}

#[test]
fn free_functions() {
    let v = validate_request(request("+12015550123", "reg1"), None, false).unwrap();
    assert!(
        v.wire_body.contains("\"FROM_LINE\":\"reg1\""),
        "{}",
        v.wire_body
    );
    assert!(!format!("{v:?} {v}").contains("2015550123"));
    let r = request("+12015550123", "reg1");
    assert!(!format!("{r:?} {r}").contains("2015550123"));

    let err = validate_request(request("", ""), None, false).unwrap_err();
    assert!(matches!(err, CallbackError::InvalidRequest { .. }));
    assert!(err.details().violations.len() >= 2);

    let body = br#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#;
    let d = classify_response(503, body.to_vec()).unwrap();
    assert_eq!(d.code, ErrorCode::RateLimited);
    assert_eq!(d.http_status, Some(503));
    assert_eq!(d.bitrix_code.as_deref(), Some("QUERY_LIMIT_EXCEEDED"));
    assert!(d.retry_safe);
    assert!(classify_response(200, br#"{"result":true}"#.to_vec()).is_none());

    assert_eq!(mask_number("+12015550123".into()), "+120******23");
}
