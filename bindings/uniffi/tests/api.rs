//! The binding's Rust API (the same functions the generated Kotlin/Swift call), tested with
//! plain `cargo test -p callback-uniffi` against the in-process fake portal: no foreign
//! toolchain needed. The Kotlin and Swift suites cover the same ground through the FFI.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use callback_core as core;
use callback_fake_portal::redis_server::RedisServer;
use callback_fake_portal::{FakePortal, FakePortalConfig};
use callback_uniffi::{
    CallbackClient, CallbackError, CallbackRequest, CancelToken, ClientOptions, DestinationPolicy,
    ErrorCode, NumberType, OAuthCredentials, RateLimit, TokenPair, TokenStore, TokenStoreError,
    classify_response, default_high_risk_regions, mask_number, number_type_from_str,
    validate_request,
};
use serde_json::Value;

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

fn policy_options(policy: DestinationPolicy) -> Option<ClientOptions> {
    Some(ClientOptions {
        destination_policy: Some(policy),
        ..options().unwrap()
    })
}

/// `(field, code)` of every violation of `err`.
fn violations(err: &CallbackError) -> Vec<(String, String)> {
    err.details()
        .violations
        .into_iter()
        .map(|v| (v.field, v.code))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
        .collect()
}

/// A shared vector file of `tests/vectors/` (owned by the core).
fn vectors(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/vectors")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array().map(|list| {
        list.iter()
            .map(|s| s.as_str().expect("a string").to_owned())
            .collect()
    })
}

/// The `policy` of a policy vector (snake_case names of the core's options; absent = default)
/// as the binding's record. An option this function does not know fails the test.
fn policy_of(p: &Value) -> DestinationPolicy {
    let mut policy = DestinationPolicy::default();
    for (name, value) in p.as_object().expect("policy object") {
        let list = || strings(value).unwrap_or_else(|| panic!("{name}: not a list"));
        match name.as_str() {
            "allowed_regions" => policy.allowed_regions = list(),
            "blocked_regions" => policy.blocked_regions = list(),
            "allowed_prefixes" => policy.allowed_prefixes = list(),
            "blocked_prefixes" => policy.blocked_prefixes = list(),
            "block_costly_numbers" => policy.block_costly_numbers = value.as_bool().unwrap(),
            "allowed_number_types" => {
                let parse = |n: String| number_type_from_str(n.clone()).expect(&n);
                policy.allowed_number_types = Some(list().into_iter().map(parse).collect());
            }
            "high_risk_regions" => policy.high_risk_regions = Some(list()),
            "number_hourly_cap" => {
                policy.number_hourly_cap = Some(value.as_u64().unwrap().try_into().unwrap());
            }
            other => panic!("a policy option the test does not map: {other}"),
        }
    }
    policy
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
    assert!(ErrorCode::SharedStateUnavailable.retry_safe());
    assert_eq!(
        ErrorCode::SharedStateUnavailable.as_str(),
        "shared_state_unavailable"
    );
    let err = CallbackError::from(core::Error::new(
        core::ErrorCode::SharedStateUnavailable,
        "x",
    ));
    assert!(
        matches!(err, CallbackError::SharedStateUnavailable { .. }),
        "{err:?}"
    );
}

#[test]
fn start_callback_and_lines_through_the_binding() {
    let portal = portal();
    let client = CallbackClient::webhook(portal.webhook_url(), options()).unwrap();
    let lines = client.lines_blocking().unwrap();
    assert!(lines.iter().any(|l| l.id == "reg1"));
    let started = client
        .start_callback_blocking(request("+12015550123", "reg1"), None)
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
        .start_callback_blocking(request("+12015550124", "nosuchline"), None)
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
    let err = without.lines_blocking().unwrap_err();
    assert_eq!(err.code(), ErrorCode::Transport, "{err:?}");
    let opts = ClientOptions {
        root_certificates: vec![ca],
        ..options().unwrap()
    };
    let with = CallbackClient::webhook(portal.webhook_url(), Some(opts)).unwrap();
    assert!(!with.lines_blocking().unwrap().is_empty());
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
    client.lines_blocking().unwrap();
    assert!(saved.lock().unwrap().is_empty());
    portal.expire_access_tokens();
    client.voices_blocking().unwrap();
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

#[test]
fn policy_vectors_through_check_callback() {
    let portal = portal();
    let v = vectors("policy.json");
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 30, "{}", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let options = policy_options(policy_of(&case["policy"]));
        let client = CallbackClient::webhook(portal.webhook_url(), options).expect(name);
        let number = case["number"].as_str().unwrap();
        let expect = &case["expect"];
        match (
            client.check_callback_blocking(request(number, "reg1")),
            expect["code"].as_str(),
        ) {
            (Ok(d), None) => {
                let got = (d.region.as_deref(), d.number_type.as_str());
                let want = (expect["region"].as_str(), expect["type"].as_str().unwrap());
                if got != (want.0, want.1.to_owned()) {
                    failures.push(format!("{name}: {got:?}, expected {want:?}"));
                }
            }
            (Ok(d), Some(code)) => failures.push(format!("{name}: allowed ({d}), expected {code}")),
            (Err(e), want) => {
                let want = want.map(|c| vec![("TO_NUMBER".to_owned(), c.to_owned())]);
                if e.code() != ErrorCode::DestinationBlocked || Some(violations(&e)) != want {
                    failures.push(format!("{name}: {e}"));
                }
                assert!(e.details().retry_safe, "{name}");
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(portal.requests().is_empty(), "checkCallback sent something");
}

#[test]
fn number_examples_through_validate_request() {
    let v = vectors("numbers.json");
    let cases = v["examples"].as_array().unwrap();
    assert!(cases.len() > 1000, "{}", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let input = case["input"].as_str().unwrap();
        let region_given = case["region_given"].as_str().map(str::to_owned);
        let got = validate_request(request(input, "reg1"), region_given, false);
        match (got, case["valid"].as_bool().unwrap()) {
            (Ok(r), true) => {
                let got = (
                    r.to_number.as_str(),
                    r.destination_region.as_deref(),
                    r.number_type.as_str(),
                );
                let want = (
                    case["e164"].as_str().unwrap(),
                    case["region"].as_str(),
                    case["type"].as_str().unwrap().to_owned(),
                );
                if got != (want.0, want.1, want.2.clone()) {
                    failures.push(format!("{input}: {got:?}, expected {want:?}"));
                }
            }
            (Ok(r), false) => failures.push(format!("{input}: accepted as {}", r.to_number)),
            (Err(e), true) => failures.push(format!("{input}: {e}")),
            (Err(e), false) => {
                if e.code() != ErrorCode::InvalidRequest {
                    failures.push(format!("{input}: {e}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} examples disagree:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn check_callback_decides_without_traffic_or_reservation() {
    let portal = portal();
    let client = CallbackClient::webhook(portal.webhook_url(), options()).unwrap();

    let d = client
        .check_callback_blocking(request("+44 20 7946 0000", "reg1"))
        .unwrap();
    assert_eq!(d.number, "+442079460000");
    assert_eq!(d.masked_number, mask_number(d.number.clone()));
    assert_eq!(d.region.as_deref(), Some("GB"));
    assert_eq!(d.number_type, NumberType::FixedLine);
    let printed = format!("{d:?} {d}");
    assert!(printed.contains(&d.masked_number), "{printed}");
    assert!(!printed.contains("2079460000"), "{printed}");

    let err = client
        .check_callback_blocking(request("+39 0878 123 45", "reg1"))
        .unwrap_err();
    assert!(
        matches!(err, CallbackError::DestinationBlocked { .. }),
        "{err:?}"
    );
    assert_eq!(violations(&err), pairs(&[("TO_NUMBER", "premium_rate")]));
    assert!(err.details().retry_safe);

    // Checking reserves nothing: many checks, then the call itself still goes through.
    for _ in 0..10 {
        client
            .check_callback_blocking(request("+12015550123", "reg1"))
            .unwrap();
    }
    assert!(portal.requests().is_empty(), "checkCallback sent something");
    client
        .start_callback_blocking(request("+12015550123", "reg1"), None)
        .unwrap();
    assert_eq!(portal.ledger().len(), 1);
    // Now start would refuse the number (cooldown), and so does the check.
    let err = client
        .check_callback_blocking(request("+12015550123", "reg1"))
        .unwrap_err();
    assert_eq!(violations(&err), pairs(&[("TO_NUMBER", "cooldown")]));
    let requests = portal.requests().len();
    let again = client
        .start_callback_blocking(request("+12015550123", "reg1"), None)
        .unwrap_err();
    assert_eq!(again.details(), err.details());
    assert_eq!(portal.requests().len(), requests);
}

#[test]
fn an_idempotency_key_reused_for_another_number_is_refused() {
    let portal = portal();
    let client = CallbackClient::webhook(portal.webhook_url(), options()).unwrap();
    let keyed = |number: &str| CallbackRequest {
        idempotency_key: Some("form-7".into()),
        ..request(number, "reg1")
    };
    client
        .start_callback_blocking(keyed("+12025550111"), None)
        .unwrap();
    // The same request: start would answer from memory, so the check accepts it.
    let d = client
        .check_callback_blocking(keyed("+12025550111"))
        .unwrap();
    assert_eq!(d.number, "+12025550111");
    for err in [
        client
            .check_callback_blocking(keyed("+12025550112"))
            .unwrap_err(),
        client
            .start_callback_blocking(keyed("+12025550112"), None)
            .unwrap_err(),
    ] {
        assert!(
            matches!(err, CallbackError::InvalidRequest { .. }),
            "{err:?}"
        );
        assert_eq!(violations(&err), pairs(&[("idempotency_key", "reused")]));
        assert!(!err.to_string().contains("5550112"), "{err}");
    }
    assert_eq!(portal.ledger().len(), 1);
}

#[test]
fn bad_policy_values_are_reported_together() {
    let bad = DestinationPolicy {
        blocked_regions: vec!["XX".into()],
        allowed_prefixes: vec!["44".into()],
        ..DestinationPolicy::default()
    };
    let err = CallbackClient::webhook(
        "https://portal.example/rest/1/abcdefgh12345678/".into(),
        policy_options(bad),
    )
    .unwrap_err();
    assert!(
        matches!(err, CallbackError::InvalidRequest { .. }),
        "{err:?}"
    );
    assert_eq!(
        violations(&err),
        pairs(&[
            ("destinationPolicy.blockedRegions", "unknown_region"),
            ("destinationPolicy.allowedPrefixes", "invalid_prefix"),
        ])
    );
}

#[test]
fn the_hourly_cap_and_the_high_risk_list_are_options() {
    let portal = portal();
    let capped = DestinationPolicy {
        number_cooldown: Some(Duration::ZERO),
        number_hourly_cap: Some(2),
        ..DestinationPolicy::default()
    };
    let client = CallbackClient::webhook(portal.webhook_url(), policy_options(capped)).unwrap();
    for _ in 0..2 {
        client
            .start_callback_blocking(request("+12025550120", "reg1"), None)
            .unwrap();
    }
    for err in [
        client
            .check_callback_blocking(request("+12025550120", "reg1"))
            .unwrap_err(),
        client
            .start_callback_blocking(request("+12025550120", "reg1"), None)
            .unwrap_err(),
    ] {
        assert_eq!(err.code(), ErrorCode::DestinationBlocked, "{err:?}");
        assert_eq!(violations(&err), pairs(&[("TO_NUMBER", "hourly_cap")]));
    }
    assert_eq!(portal.ledger().len(), 2);

    // The default list holds Jamaica; a list of one's own replaces it.
    let jamaica = "+1 876 555 0123";
    assert!(default_high_risk_regions().contains(&"JM".to_owned()));
    let default = CallbackClient::webhook(portal.webhook_url(), options()).unwrap();
    let err = default
        .check_callback_blocking(request(jamaica, "reg1"))
        .unwrap_err();
    assert_eq!(
        violations(&err),
        pairs(&[("TO_NUMBER", "high_risk_region")])
    );
    let own = DestinationPolicy {
        high_risk_regions: Some(vec!["CU".into()]),
        ..DestinationPolicy::default()
    };
    let client = CallbackClient::webhook(portal.webhook_url(), policy_options(own)).unwrap();
    let d = client
        .check_callback_blocking(request(jamaica, "reg1"))
        .unwrap();
    assert_eq!(
        (d.region.as_deref(), d.number_type),
        (Some("JM"), NumberType::Mobile)
    );
}

#[test]
fn number_types_by_name() {
    for t in core::NumberType::ALL {
        let name = t.as_str();
        let ours = number_type_from_str(name.to_owned()).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(ours.as_str(), t.as_str());
        assert_eq!(core::NumberType::from(ours), t);
    }
    assert_eq!(number_type_from_str("nonsense".into()), None);
}

/// Nothing listens on port 1 of the loopback interface.
const UNREACHABLE_REDIS: &str = "redis://127.0.0.1:1/0";

fn shared_options(url: &str) -> Option<ClientOptions> {
    Some(ClientOptions {
        shared_state: Some(url.into()),
        ..options().unwrap()
    })
}

fn keyed(number: &str, key: &str) -> CallbackRequest {
    CallbackRequest {
        idempotency_key: Some(key.into()),
        ..request(number, "reg1")
    }
}

#[test]
fn an_unreachable_shared_state_refuses_before_sending() {
    let portal = portal();
    let client =
        CallbackClient::webhook(portal.webhook_url(), shared_options(UNREACHABLE_REDIS)).unwrap();
    for err in [
        client
            .start_callback_blocking(keyed("+12025550130", "form-1"), None)
            .unwrap_err(),
        client
            .check_callback_blocking(keyed("+12025550130", "form-1"))
            .unwrap_err(),
    ] {
        assert!(
            matches!(err, CallbackError::SharedStateUnavailable { .. }),
            "{err:?}"
        );
        let d = err.details();
        assert_eq!(d.code, ErrorCode::SharedStateUnavailable);
        assert!(d.retry_safe);
        assert!(!d.description.is_empty());
        assert_eq!(d.http_status, None);
    }
    assert!(portal.requests().is_empty(), "something reached the portal");
    assert!(portal.ledger().is_empty());
}

#[test]
fn a_bad_shared_state_url_is_an_invalid_option() {
    let err = CallbackClient::webhook(
        "https://portal.example/rest/1/abcdefgh12345678/".into(),
        shared_options("http://x"),
    )
    .unwrap_err();
    assert!(
        matches!(err, CallbackError::InvalidRequest { .. }),
        "{err:?}"
    );
    assert_eq!(violations(&err), pairs(&[("sharedState", "invalid_url")]));
}

#[test]
fn a_shared_state_password_is_never_shown() {
    let portal = portal();
    let url = "redis://:s3cretpw@127.0.0.1:1/0";
    let opts = shared_options(url).unwrap();
    let printed = format!("{opts:?} {opts}");
    assert!(!printed.contains("s3cretpw"), "{printed}");
    let client = CallbackClient::webhook(portal.webhook_url(), Some(opts)).unwrap();
    let err = client
        .start_callback_blocking(keyed("+12025550131", "form-2"), None)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::SharedStateUnavailable, "{err:?}");
    let text = format!("{err} {err:?} {}", err.details().description);
    assert!(!text.contains("s3cretpw"), "{text}");
    // A URL refused as invalid is not repeated either.
    let err = CallbackClient::webhook(
        portal.webhook_url(),
        shared_options("redis://:s3cretpw@[::1"),
    )
    .unwrap_err();
    assert_eq!(violations(&err), pairs(&[("sharedState", "invalid_url")]));
    assert!(!format!("{err} {err:?}").contains("s3cretpw"), "{err:?}");
    assert!(portal.requests().is_empty());
}

#[test]
fn two_clients_with_one_shared_state_place_one_call_per_key() {
    let redis = RedisServer::start();
    let portal = portal();
    let client =
        || CallbackClient::webhook(portal.webhook_url(), shared_options(&redis.url())).unwrap();
    let (a, b) = (client(), client());
    let first = a
        .start_callback_blocking(keyed("+12025550132", "form-3"), None)
        .unwrap();
    let second = b
        .start_callback_blocking(keyed("+12025550132", "form-3"), None)
        .unwrap();
    assert!(!first.deduplicated);
    assert!(second.deduplicated, "the second client knew the key");
    assert_eq!(second.call_id, first.call_id);
    assert_eq!(portal.ledger().len(), 1, "one call placed");
    // The number's cooldown is shared too.
    let err = b
        .check_callback_blocking(request("+12025550132", "reg1"))
        .unwrap_err();
    assert_eq!(violations(&err), pairs(&[("TO_NUMBER", "cooldown")]));

    // Another prefix is another state: the same key places a second call.
    let other = CallbackClient::webhook(
        portal.webhook_url(),
        Some(ClientOptions {
            shared_state_prefix: Some("another-site:".into()),
            ..shared_options(&redis.url()).unwrap()
        }),
    )
    .unwrap();
    let third = other
        .start_callback_blocking(keyed("+12025550132", "form-3"), None)
        .unwrap();
    assert!(!third.deduplicated);
    assert_eq!(portal.ledger().len(), 2);
}

/// A minimal executor for the async exports: polls on this thread, parks between wake-ups
/// (uniffi's foreign executors do the same job from Kotlin and Swift).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[test]
fn the_async_methods_work_without_a_runtime() {
    let portal = portal();
    let client = CallbackClient::webhook(portal.webhook_url(), options()).unwrap();
    let lines = block_on(client.lines()).unwrap();
    assert!(lines.iter().any(|l| l.id == "reg1"));
    assert!(!block_on(client.voices()).unwrap().is_empty());
    let d = block_on(client.check_callback(request("+12015550125", "reg1"))).unwrap();
    assert_eq!(d.number, "+12015550125");
    let started = block_on(client.start_callback(request("+12015550125", "reg1"))).unwrap();
    let call_id = started.call_id.unwrap();
    let record = block_on(client.wait_for_outcome(call_id.clone(), Duration::from_secs(10)))
        .unwrap()
        .expect("the simulated call ends within the wait");
    assert_eq!(record.call_id, call_id);
    assert!(block_on(client.call_record(call_id)).unwrap().is_some());
    let err = block_on(client.start_callback(request("+12015550126", "nosuchline"))).unwrap_err();
    assert!(matches!(err, CallbackError::LineNotFound { .. }), "{err:?}");
    assert_eq!(portal.ledger().len(), 1);
}

/// A client whose limiter admits one call, then one every 5 s.
fn slow_client(portal: &FakePortal) -> Arc<CallbackClient> {
    CallbackClient::webhook(
        portal.webhook_url(),
        Some(ClientOptions {
            rate_limit: Some(RateLimit::Custom {
                burst: 1,
                per_second: 0.2,
            }),
            deadline: Some(Duration::from_secs(30)),
            ..options().unwrap()
        }),
    )
    .unwrap()
}

#[test]
fn a_dropped_start_waiting_for_the_limiter_sends_nothing() {
    use std::task::{Context, Waker};
    let portal = portal();
    let client = slow_client(&portal);
    block_on(client.start_callback(request("+12015550127", "reg1"))).unwrap();
    let sent = portal.requests().len();
    let mut waiting = Box::pin(client.start_callback(request("+12015550128", "reg1")));
    assert!(
        waiting
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending()
    );
    std::thread::sleep(Duration::from_millis(300));
    drop(waiting);
    // The call's thread saw its token cancelled and gave up; nothing reaches the portal, not
    // even once the limiter would have admitted it.
    std::thread::sleep(Duration::from_millis(5_500));
    assert_eq!(portal.requests().len(), sent);
    assert_eq!(portal.ledger().len(), 1);
}

#[test]
fn a_cancelled_token_ends_an_async_start_at_once() {
    let portal = portal();
    let client = slow_client(&portal);
    block_on(client.start_callback(request("+12015550129", "reg1"))).unwrap();
    let cancel = CancelToken::new();
    let c = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        c.cancel();
    });
    let started = std::time::Instant::now();
    let err = block_on(client.start_callback_cancellable(request("+12015550130", "reg1"), cancel))
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, CallbackError::RateLimited { .. }), "{err:?}");
    assert!(err.details().description.contains("nothing was sent"));
    assert_eq!(portal.ledger().len(), 1);
    // The blocking form takes the same token.
    let cancel = CancelToken::new();
    cancel.cancel();
    let err = client
        .start_callback_blocking(request("+12015550131", "reg1"), Some(cancel))
        .unwrap_err();
    assert!(matches!(err, CallbackError::RateLimited { .. }), "{err:?}");
    assert_eq!(portal.ledger().len(), 1);
}

#[test]
fn a_cancelled_wait_for_outcome_stops_polling() {
    let portal = FakePortal::start(FakePortalConfig {
        stage_duration: Duration::from_secs(60),
        ..FakePortalConfig::default()
    })
    .unwrap();
    let client = CallbackClient::webhook(portal.webhook_url(), options()).unwrap();
    let call_id = block_on(client.start_callback(request("+12015550132", "reg1")))
        .unwrap()
        .call_id
        .unwrap();
    let cancel = CancelToken::new();
    let c = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1_200));
        c.cancel();
    });
    let started = std::time::Instant::now();
    let err =
        block_on(client.wait_for_outcome_cancellable(call_id, Duration::from_secs(60), cancel))
            .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, CallbackError::RateLimited { .. }), "{err:?}");
    let polls = |p: &FakePortal| {
        p.requests()
            .iter()
            .filter(|r| r.rest_method.as_deref() == Some("voximplant.statistic.get"))
            .count()
    };
    let seen = polls(&portal);
    assert!((2..=4).contains(&seen), "{seen} polls in 1.2 s");
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(polls(&portal), seen, "no poll after the cancellation");
}

/// Only with `--features test-hooks` (the hook exists only in test builds of the core).
#[cfg(feature = "test-hooks")]
#[test]
fn a_forced_panic_is_outcome_unknown_and_the_client_goes_on() {
    let portal = portal();
    let client = CallbackClient::webhook(portal.webhook_url(), options()).unwrap();
    let err = client
        .start_callback_blocking(request("+12015550133", core::TEST_PANIC_LINE), None)
        .unwrap_err();
    assert!(
        matches!(err, CallbackError::OutcomeUnknown { .. }),
        "{err:?}"
    );
    let err = block_on(client.start_callback(request("+12015550134", core::TEST_PANIC_LINE)))
        .unwrap_err();
    assert!(
        matches!(err, CallbackError::OutcomeUnknown { .. }),
        "{err:?}"
    );
    assert!(block_on(client.start_callback(request("+12015550135", "reg1"))).is_ok());
}
