//! The client against the fake portal over real sockets: success paths, every error code,
//! faults (with the ledger proving nothing was placed twice), limiter, rename, TLS.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use callback_core::{
    Auth, CallOutcome, CallbackRequest, Client, DestinationPolicy, ErrorCode, RateLimit,
};
use callback_fake_portal::{Fault, FaultKind};
use common::*;

#[test]
fn webhook_start_sends_exact_body_and_headers() {
    let p = portal();
    let c = webhook_client(&p);
    let r = request("+12015550123");
    let started = c.start_callback(&r).unwrap();
    assert!(started.call_id.as_deref().is_some_and(|id| !id.is_empty()));
    assert!(!started.deduplicated);
    assert_eq!(started.timing.attempts, 1);
    assert!(started.timing.portal.is_some());
    assert_eq!(started.portal_moved_to, None);
    let ledger = p.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].number, "+12015550123");
    assert_eq!(ledger[0].line, "reg1");
    let reqs = p.requests();
    let sent = reqs.last().unwrap();
    assert_eq!(sent.http_method, "POST");
    assert_eq!(sent.body, r.wire_body());
    assert_eq!(sent.content_type.as_deref(), Some("application/json"));
    let ua = sent.user_agent.as_deref().unwrap();
    assert_eq!(
        ua,
        format!("bitrix24-callback/{} (rust) test/1", callback_core::VERSION)
    );
}

#[test]
fn rest_app_line_has_no_call_id() {
    let p = portal();
    let c = webhook_client(&p);
    let r = CallbackRequest::builder()
        .from_line("REST_APP:1")
        .to_number("+12015550124")
        .text("hi")
        .build()
        .unwrap();
    let s = c.start_callback(&r).unwrap();
    assert_eq!(s.call_id, None);
}

#[test]
fn lines_voices_and_outcome() {
    let p = portal();
    let c = webhook_client(&p);
    let lines = c.lines().unwrap();
    assert!(lines.iter().any(|l| l.id == "reg1"));
    let sip = lines.iter().find(|l| l.id == "sip7").unwrap();
    assert_eq!(sip.name, "Office PBX \"Main\" <Support & Sales>");
    assert!(lines.windows(2).all(|w| w[0].id <= w[1].id));
    let voices = c.voices().unwrap();
    assert!(voices.iter().any(|v| v.id == "ruinternalfemale"));

    let s = c.start_callback(&request("+12015550101")).unwrap();
    let id = s.call_id.unwrap();
    let rec = c
        .wait_for_outcome(&id, Duration::from_secs(10))
        .unwrap()
        .expect("record");
    assert_eq!(rec.outcome, CallOutcome::Busy);
    assert_eq!(rec.failed_code, "486");
    assert_eq!(rec.call_type, Some(4));
    assert!(!rec.masked_number.unwrap_or_default().contains("5550101"));

    let s = c.start_callback(&request("+12015550125")).unwrap();
    let rec = c
        .wait_for_outcome(s.call_id.as_deref().unwrap(), Duration::from_secs(10))
        .unwrap()
        .unwrap();
    assert_eq!(rec.outcome, CallOutcome::Answered);
    assert!(rec.duration_seconds > 0);
    assert_eq!(c.call_record("callback.unknown.1").unwrap(), None);
}

#[test]
fn invalid_request_and_destination_blocked() {
    let p = portal();
    let e = CallbackRequest::builder()
        .from_line("")
        .to_number("+1 201 555 0123;;1")
        .text("x")
        .build()
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidRequest);
    assert!(e.retry_safe());

    let c = webhook_builder(&p)
        .destination_policy(DestinationPolicy {
            allowed_regions: vec!["GB".into(), "US".into()],
            ..DestinationPolicy::default()
        })
        .build()
        .unwrap();
    let premium = c.start_callback(&request("+44 871 234 5678")).unwrap_err();
    assert_eq!(premium.code(), ErrorCode::DestinationBlocked);
    assert!(premium.retry_safe());
    assert_eq!(premium.violations()[0].code, "premium_rate");
    let foreign = c.start_callback(&request("+4915123456789")).unwrap_err();
    assert_eq!(foreign.code(), ErrorCode::DestinationBlocked);
    assert_eq!(foreign.violations()[0].code, "region_not_allowed");
    assert!(!foreign.description().contains("15123456789"));

    // Cooldown: the same number right after a successful start is refused.
    c.start_callback(&request("+12015550130")).unwrap();
    let again = c.start_callback(&request("+12015550130")).unwrap_err();
    assert_eq!(again.code(), ErrorCode::DestinationBlocked);
    assert_eq!(again.violations()[0].code, "cooldown");
    assert!(again.retry_safe());
    assert_eq!(p.ledger().len(), 1, "nothing else reached the portal");
}

#[test]
fn cooldown_reserves_in_flight_numbers() {
    let p = portal();
    let c = webhook_builder(&p)
        .destination_policy(DestinationPolicy::default())
        .build()
        .unwrap();
    p.add_fault(Fault::once(
        FaultKind::Delay(Duration::from_millis(300)),
        Some("voximplant.callback.start"),
    ));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let c = c.clone();
            std::thread::spawn(move || c.start_callback(&request("+12015550131")))
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(r.code(), ErrorCode::DestinationBlocked);
    }
    assert_eq!(p.ledger().len(), 1);
}

#[test]
fn idempotency_key_dedupes_even_concurrently() {
    let p = portal();
    let c = webhook_client(&p);
    p.add_fault(Fault::once(
        FaultKind::Delay(Duration::from_millis(200)),
        Some("voximplant.callback.start"),
    ));
    let req = CallbackRequest::builder()
        .from_line("reg1")
        .to_number("+12015550140")
        .text("hello")
        .idempotency_key("form-42")
        .build()
        .unwrap();
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let (c, req) = (c.clone(), req.clone());
            std::thread::spawn(move || c.start_callback(&req).unwrap())
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| !r.deduplicated).count(), 1);
    let first = results.iter().find(|r| !r.deduplicated).unwrap();
    assert!(results.iter().all(|r| r.call_id == first.call_id));
    let later = c.start_callback(&req).unwrap();
    assert!(later.deduplicated);
    assert_eq!(later.call_id, first.call_id);
    assert_eq!(p.ledger().len(), 1);
    assert_eq!(start_requests(&p), 1);
}

#[test]
fn portal_errors_map_to_codes() {
    let p = portal();
    let c = webhook_client(&p);
    let e = c
        .start_callback(
            &CallbackRequest::builder()
                .from_line("reg404")
                .to_number("+12015550150")
                .text("x")
                .build()
                .unwrap(),
        )
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::LineNotFound);
    assert!(e.retry_safe());
    assert_eq!(e.http_status(), Some(400));

    p.update_config(|c| c.outgoing_call_permission = false);
    let e = c.start_callback(&request("+12015550151")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::AccessDenied);
    assert!(e.retry_safe());
    p.update_config(|c| c.outgoing_call_permission = true);

    p.update_config(|c| c.line_list_permission = false);
    assert_eq!(c.lines().unwrap_err().code(), ErrorCode::AccessDenied);

    p.update_config(|c| c.webhook_scopes = vec!["telephony".into()]);
    let e = c.start_callback(&request("+12015550152")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InsufficientScope);
    assert!(e.retry_safe());
    p.update_config(|c| c.webhook_scopes = vec!["call".into(), "telephony".into()]);

    p.add_fault(Fault::once(FaultKind::Overload, None));
    let e = c.start_callback(&request("+12015550153")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::PortalError);
    assert_eq!(e.bitrix_code(), Some("OVERLOAD_LIMIT"));
    assert!(e.retry_safe());

    // The controller fails: the portal cannot say whether it dialled.
    let e = c.start_callback(&request("+12015550106")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::OutcomeUnknown);
    assert!(!e.retry_safe());
    assert_eq!(p.ledger().len(), 0);
    assert_eq!(start_requests(&p), 5, "no request was repeated");

    let wrong = p
        .webhook_url()
        .replace("fakewebhooksecret0001", "wrongsecret");
    let c2 = fast(Client::builder(Auth::webhook(&wrong).unwrap()))
        .build()
        .unwrap();
    let e = c2.start_callback(&request("+12015550154")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::AuthFailed);
    assert!(e.retry_safe());
    assert!(!e.to_string().contains("wrongsecret"));
}

#[test]
fn empty_error_code_is_still_an_error() {
    let p = portal_with(|c| c.empty_error_code = true);
    let c = webhook_client(&p);
    let e = c
        .start_callback(
            &CallbackRequest::builder()
                .from_line("nosuchline")
                .to_number("+12015550155")
                .text("x")
                .build()
                .unwrap(),
        )
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::LineNotFound);
    assert_eq!(e.bitrix_code(), Some(""));
}

/// Every fault: the right code, and the ledger and request log prove there was no second try.
#[test]
fn faults_never_cause_a_second_call() {
    let cases = [
        (FaultKind::CloseAfterExecute, ErrorCode::OutcomeUnknown, 1),
        (FaultKind::CloseBeforeExecute, ErrorCode::OutcomeUnknown, 0),
        (FaultKind::Html502, ErrorCode::OutcomeUnknown, 0),
        (FaultKind::Html504, ErrorCode::OutcomeUnknown, 1),
        (FaultKind::TruncatedJson, ErrorCode::OutcomeUnknown, 1),
        (
            FaultKind::Delay(Duration::from_millis(1500)),
            ErrorCode::OutcomeUnknown,
            1,
        ),
    ];
    for (i, (kind, code, placed)) in cases.into_iter().enumerate() {
        let p = portal();
        let c = webhook_builder(&p)
            .timeout(Duration::from_millis(700))
            .build()
            .unwrap();
        p.add_fault(Fault::once(kind.clone(), Some("voximplant.callback.start")));
        let e = c.start_callback(&request(&number(i))).unwrap_err();
        assert_eq!(e.code(), code, "{kind:?}: {e}");
        assert_eq!(e.retry_safe(), code.retry_safe(), "{kind:?}");
        assert_eq!(start_requests(&p), 1, "{kind:?}: resent");
        // A delayed request is executed after the client gave up: wait for it (polling, so a
        // loaded machine only makes this slower, never wrong), then a little longer for any
        // second placement to show up.
        let until = Instant::now() + Duration::from_secs(10);
        while p.ledger().len() < placed && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(p.ledger().len(), placed, "{kind:?}");
        assert_eq!(start_requests(&p), 1, "{kind:?}: resent");
    }
}

#[test]
fn query_limit_is_retried_then_reported() {
    let p = portal();
    let c = webhook_client(&p);
    p.add_fault(Fault::once(
        FaultKind::QueryLimit,
        Some("voximplant.callback.start"),
    ));
    let s = c.start_callback(&request("+12015550160")).unwrap();
    assert_eq!(s.timing.attempts, 2);
    assert_eq!(p.ledger().len(), 1);

    p.add_fault(
        Fault::once(FaultKind::QueryLimit, Some("voximplant.callback.start")).with_times(0),
    );
    let c = webhook_builder(&p)
        .deadline(Duration::from_millis(1500))
        .build()
        .unwrap();
    let e = c.start_callback(&request("+12015550161")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::RateLimited);
    assert!(e.retry_safe());
    assert_eq!(e.bitrix_code(), Some("QUERY_LIMIT_EXCEEDED"));
    assert_eq!(p.ledger().len(), 1);
}

#[test]
fn operation_time_limit_reports_reset() {
    let p = portal();
    let c = webhook_client(&p);
    // A success teaches the client the method's reset time.
    let s = c.start_callback(&request("+12015550170")).unwrap();
    let reset = s.timing.portal.unwrap().operating_reset_at.unwrap();
    p.add_fault(Fault::once(
        FaultKind::OperationTimeLimit,
        Some("voximplant.callback.start"),
    ));
    let e = c.start_callback(&request("+12015550171")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::OperationTimeLimit);
    assert!(e.retry_safe());
    assert_eq!(e.http_status(), Some(429));
    assert_eq!(e.operating_reset_at(), Some(reset));
    assert_eq!(p.ledger().len(), 1);
}

#[test]
fn connect_failure_is_transport() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/rest/1/somesecret1/");
    let c = fast(Client::builder(Auth::webhook(&url).unwrap()))
        .build()
        .unwrap();
    let started = Instant::now();
    let e = c.start_callback(&request("+12015550180")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Transport, "{e}");
    assert!(e.retry_safe());
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(!e.to_string().contains("somesecret1"));
}

#[test]
fn rename_is_followed_once_and_remembered() {
    let p = portal();
    let c = webhook_client(&p);
    p.add_fault(Fault::once(FaultKind::Rename, None));
    let s = c.start_callback(&request("+12015550190")).unwrap();
    let moved = format!("http://localhost:{}", p.local_addr().port());
    assert_eq!(s.portal_moved_to.as_deref(), Some(moved.as_str()));
    assert_eq!(s.timing.attempts, 2);
    assert_eq!(c.portal(), moved);
    assert_eq!(c.clone().portal(), moved, "clones share the address");
    let s2 = c.start_callback(&request("+12015550191")).unwrap();
    assert_eq!(s2.timing.attempts, 1);
    assert_eq!(s2.portal_moved_to, None);
    assert_eq!(p.ledger().len(), 2);
    let hosts: Vec<String> = p.requests().iter().map(|r| r.host.clone()).collect();
    assert!(hosts.last().unwrap().starts_with("localhost"));
    p.clear_faults();
}

#[test]
fn tls_with_and_without_the_portal_ca() {
    let p = portal_with(|c| c.tls = true);
    assert!(p.base_url().starts_with("https://"));
    let c = webhook_client(&p);
    let s = c.start_callback(&request("+12015550107")).unwrap();
    assert!(s.call_id.is_some());

    let without = fast(Client::builder(Auth::webhook(&p.webhook_url()).unwrap()))
        .build()
        .unwrap();
    let e = without
        .start_callback(&request("+12015550108"))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Transport, "{e}");
    assert!(e.retry_safe());
    eprintln!("without the CA: {e}");
    let text = e.description().to_ascii_lowercase();
    assert!(
        text.contains("certificate") || text.contains("tls"),
        "clear TLS error: {e}"
    );
    assert!(!text.contains("fakewebhooksecret0001"));
    assert_eq!(p.ledger().len(), 1);

    let bad = Client::builder(Auth::webhook(&p.webhook_url()).unwrap())
        .add_root_certificate_pem("not a certificate")
        .build()
        .unwrap_err();
    assert_eq!(bad.code(), ErrorCode::InvalidRequest);
}

#[test]
fn client_is_send_sync_and_debug_is_safe() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Client>();
    let p = portal();
    let c = Arc::new(webhook_client(&p));
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("fakewebhooksecret0001"), "{dbg}");
}

/// `Duration::MAX` means "no bound" for the deadline, the cooldown and the wait for an outcome;
/// it must never overflow an `Instant` (a panic, possibly after the call was placed).
#[test]
fn unbounded_durations_do_not_overflow() {
    let p = portal();
    let c = webhook_builder(&p)
        .deadline(Duration::MAX)
        .rate_limit(RateLimit::Standard)
        .destination_policy(DestinationPolicy {
            number_cooldown: Duration::MAX,
            ..DestinationPolicy::default()
        })
        .build()
        .unwrap();
    let s = c.start_callback(&request("+12015550192")).unwrap();
    let call_id = s.call_id.unwrap();
    let e = c.start_callback(&request("+12015550192")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::DestinationBlocked, "{e}");
    assert_eq!(e.violations()[0].code, "cooldown");
    let record = c.wait_for_outcome(&call_id, Duration::MAX).unwrap();
    assert_eq!(record.unwrap().outcome, CallOutcome::Answered);
    assert!(!c.lines().unwrap().is_empty());
    assert_eq!(p.ledger().len(), 1);
}

/// The memory of keys and numbers after each kind of ending: an outcome that may have rung
/// blocks both the key (a retried job sends nothing) and the number (cooldown); a retry-safe
/// refusal frees both, so the corrected request goes out under the same key.
#[test]
fn keys_and_cooldowns_follow_the_outcome() {
    let p = portal();
    let c = webhook_builder(&p)
        .destination_policy(DestinationPolicy::default())
        .build()
        .unwrap();
    let keyed = |line: &str, to: &str, key: &str| {
        CallbackRequest::builder()
            .from_line(line)
            .to_number(to)
            .text("A visitor asked for a call back")
            .idempotency_key(key)
            .build()
            .unwrap()
    };

    // Executed, then the connection dropped: unknown, and it stays unknown for this key.
    p.add_fault(Fault::once(
        FaultKind::CloseAfterExecute,
        Some("voximplant.callback.start"),
    ));
    let job1 = keyed("reg1", "+12015550193", "job-1");
    let e = c.start_callback(&job1).unwrap_err();
    assert_eq!(e.code(), ErrorCode::OutcomeUnknown, "{e}");
    let again = c.start_callback(&job1).unwrap_err();
    assert_eq!(again.code(), ErrorCode::OutcomeUnknown, "{again}");
    assert!(!again.retry_safe());
    // The number may have rung: another key (or none) is refused too.
    let other = c.start_callback(&request("+12015550193")).unwrap_err();
    assert_eq!(other.code(), ErrorCode::DestinationBlocked, "{other}");
    assert_eq!(other.violations()[0].code, "cooldown");
    assert_eq!(start_requests(&p), 1, "nothing was resent");
    assert_eq!(p.ledger().len(), 1);

    // Refused by the portal (retry-safe): key and number are free for the corrected request.
    let e = c
        .start_callback(&keyed("reg404", "+12015550194", "job-2"))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::LineNotFound, "{e}");
    let fixed = keyed("reg1", "+12015550194", "job-2");
    let s = c.start_callback(&fixed).unwrap();
    assert!(!s.deduplicated);
    let replay = c.start_callback(&fixed).unwrap();
    assert!(replay.deduplicated);
    assert_eq!(replay.call_id, s.call_id);
    assert_eq!(start_requests(&p), 3);
    assert_eq!(p.ledger().len(), 2);
}
