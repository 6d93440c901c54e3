//! OAuth against the fake portal: refresh on expiry, single flight across threads, the token
//! store sees the rotated pair before it is used, `invalid_grant`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use callback_core::{Auth, CallbackRequest, Client, DestinationPolicy, ErrorCode, TokenPair};
use callback_fake_portal::{Fault, FaultKind};
use common::*;

#[test]
fn oauth_start_and_refresh_on_expiry() {
    let p = Arc::new(portal());
    let cfg = oauth_config(&p);
    let stored: Arc<Mutex<Vec<TokenPair>>> = Arc::default();
    let seen_before_use = Arc::new(Mutex::new(Vec::new()));
    let c = {
        let (stored, p2, seen) = (stored.clone(), p.clone(), seen_before_use.clone());
        fast(Client::builder(Auth::oauth(cfg.clone()).unwrap()))
            .on_tokens(move |pair| {
                // The new access token must not have been used yet.
                let used = p2
                    .requests()
                    .iter()
                    .any(|r| r.body.contains(&pair.access_token));
                seen.lock().unwrap().push(used);
                stored.lock().unwrap().push(pair.clone());
                Ok(())
            })
            .build()
            .unwrap()
    };
    c.start_callback(&request("+12015550113")).unwrap();
    assert_eq!(p.stats().refreshes, 0);

    p.expire_access_tokens();
    let s = c.start_callback(&request("+12015550114")).unwrap();
    assert_eq!(s.timing.attempts, 2, "expired, then resent once");
    assert_eq!(p.stats().refreshes, 1);
    let pairs = stored.lock().unwrap().clone();
    assert_eq!(pairs.len(), 1);
    assert_ne!(pairs[0].refresh_token, cfg.refresh_token, "rotated");
    assert_eq!(*seen_before_use.lock().unwrap(), vec![false]);
    assert!(!format!("{:?}", pairs[0]).contains(&pairs[0].access_token));
    // The refresh went to the token endpoint as a form POST, secrets in the body only.
    let token_req = p
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/oauth/token"))
        .unwrap();
    assert_eq!(token_req.http_method, "POST");
    assert!(token_req.query.is_empty());
    assert!(token_req.body.contains("grant_type=refresh_token"));
    assert_eq!(p.ledger().len(), 2);
    // The other methods use the rotated token too.
    assert!(c.lines().unwrap().iter().any(|l| l.id == "reg1"));
    assert!(!c.voices().unwrap().is_empty());
    assert_eq!(p.stats().refreshes, 1);
}

#[test]
fn thirty_two_threads_meet_one_refresh() {
    let p = portal();
    let cfg = oauth_config(&p);
    let stores = Arc::new(Mutex::new(0u32));
    let c = {
        let stores = stores.clone();
        fast(Client::builder(Auth::oauth(cfg).unwrap()))
            .deadline(Duration::from_secs(15))
            .timeout(Duration::from_secs(10))
            .on_tokens(move |_| {
                *stores.lock().unwrap() += 1;
                Ok(())
            })
            .build()
            .unwrap()
    };
    p.expire_access_tokens();
    let barrier = Arc::new(std::sync::Barrier::new(32));
    let threads: Vec<_> = (0..32)
        .map(|i| {
            let (c, barrier) = (c.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                c.start_callback(&request(&number(400 + i)))
            })
        })
        .collect();
    for t in threads {
        let r = t.join().unwrap();
        assert!(r.is_ok(), "{r:?}");
    }
    let stats = p.stats();
    assert_eq!(stats.refreshes, 1, "exactly one refresh");
    assert_eq!(stats.refresh_failures, 0, "no stale refresh token used");
    assert_eq!(*stores.lock().unwrap(), 1);
    assert_eq!(p.ledger().len(), 32);
}

#[test]
fn invalid_grant_is_auth_failed() {
    let p = portal();
    let mut cfg = oauth_config(&p);
    cfg.refresh_token = "not-a-real-refresh-token".into();
    let c = fast(Client::builder(Auth::oauth(cfg).unwrap()))
        .build()
        .unwrap();
    p.expire_access_tokens();
    let e = c.start_callback(&request("+12015550118")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::AuthFailed, "{e}");
    assert!(e.retry_safe());
    assert_eq!(e.bitrix_code(), Some("invalid_grant"));
    assert!(!e.to_string().contains("not-a-real-refresh-token"));
    // A second call does not burn the token server with the same dead refresh token.
    let e2 = c.start_callback(&request("+12015550119")).unwrap_err();
    assert_eq!(e2.code(), ErrorCode::AuthFailed);
    assert_eq!(p.stats().refreshes + p.stats().refresh_failures, 1);
    assert_eq!(p.ledger().len(), 0);
}

/// A refresh that fails on the way (a gateway's 502, a connection closed before the answer)
/// says nothing about the refresh token, unlike `invalid_grant`: the next call asks the token
/// server again and goes ahead, instead of failing for the life of the client.
#[test]
fn a_refresh_lost_on_the_way_is_tried_again_by_the_next_call() {
    for kind in [FaultKind::Html502, FaultKind::CloseBeforeExecute] {
        let p = portal();
        let c = fast(Client::builder(Auth::oauth(oauth_config(&p)).unwrap()))
            .build()
            .unwrap();
        p.expire_access_tokens();
        p.add_fault(Fault::once(kind.clone(), Some("oauth.token")));
        let e = c.start_callback(&request(&number(600))).unwrap_err();
        assert_eq!(e.code(), ErrorCode::AuthFailed, "{kind:?}: {e}");
        assert!(e.retry_safe());
        let s = c
            .start_callback(&request(&number(601)))
            .unwrap_or_else(|e| panic!("{kind:?}: the next call refreshes again: {e}"));
        assert_eq!(s.timing.attempts, 2, "expired, then resent once");
        assert_eq!(p.stats().refreshes, 1);
        assert_eq!(p.ledger().len(), 1);
    }
}

#[test]
fn token_store_failure_fails_the_call_without_sending() {
    let p = portal();
    let cfg = oauth_config(&p);
    let c = fast(Client::builder(Auth::oauth(cfg).unwrap()))
        .on_tokens(|_| Err("disk full".into()))
        .build()
        .unwrap();
    p.expire_access_tokens();
    let e = c.start_callback(&request("+12015550120")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::AuthFailed);
    assert!(e.description().contains("disk full"));
    assert_eq!(p.ledger().len(), 0);
    // The rotated pair is still used in memory by later calls.
    c.start_callback(&request("+12015550121")).unwrap();
    assert_eq!(p.stats().refreshes, 1);
}

#[test]
fn oauth_config_is_checked_and_redacted() {
    let e = Auth::oauth(callback_core::OAuthConfig {
        client_id: "".into(),
        client_secret: "topsecretvalue".into(),
        access_token: "a b".into(),
        refresh_token: "r".into(),
        client_endpoint: "http://portal.example.com/rest/".into(),
        server_endpoint: "nonsense".into(),
    })
    .unwrap_err();
    let fields: Vec<&str> = e.violations().iter().map(|v| v.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "client_id",
            "access_token",
            "client_endpoint",
            "server_endpoint"
        ]
    );
    assert!(!e.to_string().contains("topsecretvalue"));
}

#[test]
fn invalid_token_is_refreshed_once() {
    let p = portal();
    let mut cfg = oauth_config(&p);
    cfg.access_token = "garbage-access-token".into();
    let c = fast(Client::builder(Auth::oauth(cfg).unwrap()))
        .build()
        .unwrap();
    let s = c.start_callback(&request("+12015550122")).unwrap();
    assert_eq!(s.timing.attempts, 2);
    assert_eq!(p.stats().refreshes, 1);

    // Refreshing does not help when every token is refused: one refresh, then auth_failed.
    let p = portal();
    let mut cfg = oauth_config(&p);
    cfg.access_token = "garbage-access-token".into();
    let c = fast(Client::builder(Auth::oauth(cfg).unwrap()))
        .build()
        .unwrap();
    p.update_config(|c| c.access_token_lifetime = Duration::ZERO);
    let e = c.start_callback(&request("+12015550126")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::AuthFailed, "{e}");
    assert!(e.retry_safe());
    assert_eq!(p.stats().refreshes, 1);
    assert_eq!(p.ledger().len(), 0);
}

/// A token store that panics interrupts the call. Its idempotency key and its number must not
/// stay reserved "in progress" for the life of the client: the interrupted call counts as an
/// unknown outcome (never resent under the same key), and the number cools down as after any
/// call that may have been placed, then is free again.
#[test]
fn a_panicking_token_store_releases_its_reservations() {
    let p = portal();
    let c = fast(Client::builder(Auth::oauth(oauth_config(&p)).unwrap()))
        .destination_policy(DestinationPolicy {
            number_cooldown: Duration::from_millis(600),
            ..DestinationPolicy::default()
        })
        .on_tokens(|_| panic!("a bug in the application's token store"))
        .build()
        .unwrap();
    p.expire_access_tokens();
    let keyed = CallbackRequest::builder()
        .from_line("reg1")
        .to_number("+12015550115")
        .text("A visitor asked for a call back")
        .idempotency_key("form-panic")
        .build()
        .unwrap();
    let (c2, r2) = (c.clone(), keyed.clone());
    let joined = std::thread::spawn(move || c2.start_callback(&r2)).join();
    assert!(
        joined.is_err(),
        "the token store's panic reaches the caller"
    );

    // The same key again: the remembered unknown outcome at once, not a wait for the deadline.
    let t = Instant::now();
    let e = c.start_callback(&keyed).unwrap_err();
    assert_eq!(e.code(), ErrorCode::OutcomeUnknown, "{e}");
    assert!(!e.retry_safe());
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "waited {:?} for a key nobody holds",
        t.elapsed()
    );

    // The same number without the key: cooling down, like after any call that may have rung.
    let e = c.start_callback(&request("+12015550115")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::DestinationBlocked, "{e}");
    assert_eq!(e.violations()[0].code, "cooldown");
    assert!(!e.description().contains("in progress"), "{e}");

    // Once the cooldown has passed the number reaches the portal again (which refuses the
    // stale refresh token the panicking store never took over).
    std::thread::sleep(Duration::from_millis(800));
    let e = c.start_callback(&request("+12015550115")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::AuthFailed, "{e}");
    assert!(e.retry_safe());
    assert_eq!(p.ledger().len(), 0, "nothing was placed");
}
