//! The guard against what a portal (or a proxy, or an attacker) can say: contradictory answers,
//! redirects, a reused idempotency key, echoed secrets, and the default destination policy. All
//! against the fake portal on real sockets; the ledger proves what was placed.

mod common;

use std::time::Duration;

use callback_core::{CallbackRequest, DestinationPolicy, ErrorCode, NumberType};
use callback_fake_portal::{Fault, FaultKind};
use common::*;

const START: &str = "voximplant.callback.start";

fn respond(status: u16, body: &str, execute: bool) -> Fault {
    Fault::once(
        FaultKind::Respond {
            status,
            body: body.to_owned(),
            content_type: None,
            execute,
        },
        Some(START),
    )
}

fn redirect(status: u16, location: &str, execute: bool) -> Fault {
    Fault::once(
        FaultKind::Redirect {
            status,
            location: location.to_owned(),
            execute,
        },
        Some(START),
    )
}

#[test]
fn contradictory_limits_are_unknown_and_never_resent() {
    let p = portal();
    let c = webhook_client(&p);
    let query_limit = r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#;
    let operating = r#"{"error":"OPERATION_TIME_LIMIT","error_description":"Method is blocked due to operation time limit."}"#;
    for (i, (status, body)) in [
        (500, query_limit),
        (200, query_limit),
        (200, operating),
        (503, operating),
    ]
    .into_iter()
    .enumerate()
    {
        p.add_fault(respond(status, body, true));
        let e = c.start_callback(&request(&number(i))).unwrap_err();
        assert_eq!(e.code(), ErrorCode::OutcomeUnknown, "{status} {body}: {e}");
        assert!(!e.retry_safe());
        assert_eq!(p.ledger().len(), i + 1, "executed once, never resent");
    }
    assert_eq!(start_requests(&p), 4, "one request each");
}

#[test]
fn a_limit_with_its_own_status_is_still_retried() {
    let p = portal();
    let c = webhook_client(&p);
    p.add_fault(respond(
        503,
        r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#,
        false,
    ));
    let s = c.start_callback(&request(&number(10))).unwrap();
    assert_eq!(s.timing.attempts, 2);
    assert_eq!(p.ledger().len(), 1);
}

#[test]
fn only_result_true_is_a_start() {
    let p = portal();
    let c = webhook_client(&p);
    // A success with "error": null is a success.
    p.add_fault(respond(
        200,
        r#"{"result":{"RESULT":true,"CALL_ID":"{call_id}"},"error":null}"#,
        true,
    ));
    let s = c.start_callback(&request(&number(20))).unwrap();
    assert_eq!(s.call_id.as_deref(), p.ledger()[0].call_id.as_deref());
    for (i, body) in [
        r#"{"result":{"RESULT":0,"CALL_ID":"{call_id}"}}"#,
        r#"{"result":{"RESULT":"false","CALL_ID":"{call_id}"}}"#,
        r#"{"result":{"RESULT":"true","CALL_ID":"{call_id}"}}"#,
        r#"{"result":{"CALL_ID":"{call_id}"}}"#,
        r#"{"result":{"RESULT":true,"CALL_ID":"{call_id}"},"error":"ERROR_CORE","error_description":"x"}"#,
    ]
    .into_iter()
    .enumerate()
    {
        p.add_fault(respond(200, body, true));
        let e = c.start_callback(&request(&number(21 + i))).unwrap_err();
        assert_eq!(e.code(), ErrorCode::OutcomeUnknown, "{body}: {e}");
        assert_eq!(p.ledger().len(), i + 2, "{body}: never resent");
    }
}

#[test]
fn see_other_means_processed_and_temporary_redirects_are_not_followed() {
    let p = portal();
    let c = webhook_client(&p);
    let here = format!("{}{{path}}", p.base_url());
    p.add_fault(redirect(303, &here, true));
    let e = c.start_callback(&request(&number(30))).unwrap_err();
    assert_eq!(e.code(), ErrorCode::OutcomeUnknown, "{e}");
    assert_eq!(p.ledger().len(), 1);
    for (i, status) in [307, 300, 305].into_iter().enumerate() {
        p.add_fault(redirect(status, &here, false));
        let e = c.start_callback(&request(&number(31 + i))).unwrap_err();
        assert_eq!(e.code(), ErrorCode::PortalError, "{status}: {e}");
        assert!(e.retry_safe());
        assert_eq!(e.http_status(), Some(status));
    }
    assert_eq!(p.ledger().len(), 1, "nothing re-POSTed");
    assert_eq!(start_requests(&p), 4);
}

#[test]
fn renames_to_weaker_or_foreign_targets_are_refused() {
    let p = portal_with(|c| c.tls = true);
    let c = webhook_client(&p);
    let port = p.local_addr().port();
    for (i, location) in [
        format!("http://localhost:{port}{{path}}"),
        format!("https://localhost:{port}/login"),
        format!("https://user:pw@localhost:{port}{{path}}"),
        "ftp://localhost/rest/".to_owned(),
    ]
    .into_iter()
    .enumerate()
    {
        p.add_fault(redirect(301, &location, false));
        let e = c.start_callback(&request(&number(40 + i))).unwrap_err();
        assert_eq!(e.code(), ErrorCode::PortalError, "{location}: {e}");
        assert!(e.retry_safe());
        assert!(!e.description().contains("fakewebhooksecret0001"), "{e}");
    }
    assert!(p.ledger().is_empty());
    assert_eq!(c.portal(), p.base_url().trim_end_matches('/'));
    // A proper rename (308 to the same path on another host) is followed.
    p.add_fault(redirect(
        308,
        &format!("https://localhost:{port}{{path}}"),
        false,
    ));
    let s = c.start_callback(&request(&number(45))).unwrap();
    assert_eq!(s.portal_moved_to, Some(format!("https://localhost:{port}")));
    assert_eq!(c.portal(), format!("https://localhost:{port}"));
}

#[test]
fn a_move_is_kept_only_after_a_call_through_it_worked() {
    let p = portal();
    let c = webhook_client(&p);
    let original = c.portal();
    p.add_fault(Fault::once(FaultKind::Rename, None));
    p.add_fault(Fault::once(FaultKind::Html502, Some(START)).with_host("localhost"));
    let e = c.start_callback(&request(&number(50))).unwrap_err();
    assert_eq!(
        e.code(),
        ErrorCode::OutcomeUnknown,
        "a 502 is not trusted: {e}"
    );
    assert_eq!(c.portal(), original, "the move was not remembered");
    assert!(p.ledger().is_empty());
    // Through the new host, once it works, the move is kept.
    let s = c.start_callback(&request(&number(51))).unwrap();
    let moved = format!("http://localhost:{}", p.local_addr().port());
    assert_eq!(s.portal_moved_to.as_deref(), Some(moved.as_str()));
    assert_eq!(c.portal(), moved);
    p.clear_faults();
}

#[test]
fn a_reused_idempotency_key_is_refused_not_answered() {
    let p = portal();
    let c = webhook_client(&p);
    let with_key = |to: &str, text: &str| {
        CallbackRequest::builder()
            .from_line("reg1")
            .to_number(to)
            .text(text)
            .idempotency_key("form-17")
            .build()
            .unwrap()
    };
    let first = with_key(&number(60), "Call the visitor back");
    c.start_callback(&first).unwrap();
    assert!(
        c.start_callback(&first).unwrap().deduplicated,
        "a true repeat"
    );
    for other in [
        with_key(&number(61), "Call the visitor back"),
        with_key(&number(60), "Another text"),
    ] {
        assert_eq!(
            c.check(&other).unwrap_err().code(),
            ErrorCode::InvalidRequest
        );
        let e = c.start_callback(&other).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidRequest, "{e}");
        let v = &e.violations()[0];
        assert_eq!(
            (v.field.as_str(), v.code.as_str()),
            ("idempotency_key", "reused")
        );
    }
    assert_eq!(
        p.ledger().len(),
        1,
        "the second visitor was not silently dropped: refused"
    );
}

#[test]
fn portal_text_never_carries_secrets_or_numbers_out() {
    let p = portal();
    let c = webhook_client(&p);
    let echo = r#"{"error":"ERROR_CORE","error_description":"cannot route {path} for +12015550170 (auth=abcdef123456)"}"#;
    p.add_fault(respond(400, echo, false));
    let e = c.start_callback(&request("+12015550170")).unwrap_err();
    let shown = format!("{e} {e:?}");
    for leak in ["fakewebhooksecret0001", "2015550170", "abcdef123456"] {
        assert!(!shown.contains(leak), "{leak} in {shown}");
    }
    assert!(shown.contains("[redacted]"), "{shown}");
    // The code too comes from the portal.
    p.add_fault(respond(
        400,
        r#"{"error":"{path}","error_description":"x"}"#,
        false,
    ));
    let e = c.start_callback(&request("+12015550171")).unwrap_err();
    assert!(!format!("{e:?}").contains("fakewebhooksecret0001"), "{e:?}");
}

#[test]
fn the_default_policy_refuses_costly_and_risky_destinations() {
    let p = portal();
    // The default policy, with only the cooldown and cap out of the way of this test.
    let c = webhook_builder(&p)
        .destination_policy(DestinationPolicy {
            number_cooldown: Duration::ZERO,
            number_hourly_cap: 0,
            ..DestinationPolicy::default()
        })
        .build()
        .unwrap();
    for (number, code) in [
        ("+227 09 12 34 56", "premium_rate"),
        ("+39 0878 123 45", "premium_rate"),
        ("+881 612 345 678", "international_network"),
        ("+882 342 1234", "international_network"),
        ("+870 301 234 567", "international_network"),
        ("+883 510 012 345", "international_network"),
        ("+44 56 1234 5678", "voip"),
        ("+44 55 1234 5678", "uan"),
        ("+1 876 555 0123", "high_risk_region"),
    ] {
        let e = c.start_callback(&request(number)).unwrap_err();
        assert_eq!(e.code(), ErrorCode::DestinationBlocked, "{number}: {e}");
        assert_eq!(e.violations()[0].code, code, "{number}");
    }
    assert!(p.ledger().is_empty());
    for number in ["+7 800 555 35 35", "+39 06 1234 5678", "+12015550172"] {
        c.start_callback(&request(number)).unwrap();
    }
    assert_eq!(p.ledger().len(), 3);
}

#[test]
fn check_answers_like_start_without_sending_or_reserving() {
    let p = portal();
    let c = webhook_builder(&p)
        .destination_policy(DestinationPolicy::default())
        .build()
        .unwrap();
    let r = request("+12015550180");
    let d = c.check(&r).unwrap();
    assert_eq!(d.number, "+12015550180");
    assert_eq!(d.region.as_deref(), Some("US"));
    assert_eq!(d.number_type, NumberType::FixedLineOrMobile);
    assert!(!format!("{d:?}").contains("2015550180"));
    assert!(c.check(&r).is_ok(), "checking reserves nothing");
    assert!(p.requests().is_empty(), "no traffic");
    c.start_callback(&r).unwrap();
    let e = c.check(&r).unwrap_err();
    assert_eq!(e.violations()[0].code, "cooldown");
    let e = c.check(&request("+227 09 12 34 56")).unwrap_err();
    assert_eq!(e.violations()[0].code, "premium_rate");
}

#[test]
fn the_hourly_cap_counts_calls_per_number() {
    let p = portal();
    let c = webhook_builder(&p)
        .destination_policy(DestinationPolicy {
            number_cooldown: Duration::ZERO,
            number_hourly_cap: 2,
            ..DestinationPolicy::default()
        })
        .build()
        .unwrap();
    let r = request("+12015550185");
    c.start_callback(&r).unwrap();
    c.start_callback(&r).unwrap();
    let e = c.start_callback(&r).unwrap_err();
    assert_eq!(e.code(), ErrorCode::DestinationBlocked);
    assert_eq!(e.violations()[0].code, "hourly_cap");
    assert!(!e.description().contains("2015550185"));
    c.start_callback(&request("+12015550186")).unwrap();
    assert_eq!(p.ledger().len(), 3);
}

/// With the `test-hooks` feature a start from `TEST_PANIC_LINE` panics mid-call: the panic
/// guard every binding uses turns it into `outcome_unknown`, and the client goes on serving
/// (its reservations were settled by the unwind).
#[cfg(feature = "test-hooks")]
#[test]
fn a_panic_inside_a_call_becomes_a_typed_error() {
    let p = portal();
    let c = webhook_builder(&p)
        .destination_policy(DestinationPolicy::default())
        .build()
        .unwrap();
    let forced = CallbackRequest::builder()
        .from_line(callback_core::TEST_PANIC_LINE)
        .to_number("+12015550190")
        .text("x")
        .idempotency_key("panic-1")
        .build()
        .unwrap();
    let e = callback_core::catch_panic(ErrorCode::OutcomeUnknown, || c.start_callback(&forced))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::OutcomeUnknown);
    assert!(
        !e.description().contains("forced"),
        "the panic text stays inside"
    );
    // The key and the number were settled as unknown, not left in flight forever.
    let again = c.start_callback(&forced).unwrap_err();
    assert_eq!(again.code(), ErrorCode::OutcomeUnknown);
    assert!(again.description().contains("earlier call"), "{again}");
    c.start_callback(&request("+12015550191")).unwrap();
    assert_eq!(p.ledger().len(), 1);
}
