//! Canned answers, scripted redirects and host-scoped faults, as a client sees them on the
//! socket.

mod common;

use callback_fake_portal::*;
use common::*;
use serde_json::{Value, json};
use std::time::Duration;

fn callback_url(portal: &FakePortal) -> String {
    format!("{}{CALLBACK}.json", portal.webhook_url())
}

fn callback_path(portal: &FakePortal) -> String {
    let url = callback_url(portal);
    url[portal.base_url().len()..].to_string()
}

fn respond(status: u16, body: &str, execute: bool) -> FaultKind {
    FaultKind::Respond {
        status,
        body: body.to_string(),
        content_type: None,
        execute,
    }
}

/// Sends a callback to 127.0.0.1 with the given `Host` header and returns (status, headers,
/// body).
fn callback_with_host(
    portal: &FakePortal,
    path: &str,
    host: &str,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let body = callback_body("+12015550100").to_string();
    let raw = raw_exchange(
        portal.local_addr(),
        &raw_json_request_close(path, host, &body),
        Duration::from_secs(5),
    );
    assert!(!raw.timed_out && !raw.reset);
    split_response(&raw.bytes)
}

#[test]
fn respond_without_execute_sends_exactly_the_canned_answer_and_executes_nothing() {
    let portal = start(fast());
    let cases = [
        (
            500,
            r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#,
        ),
        (
            200,
            r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#,
        ),
        (
            200,
            r#"{"error":"OPERATION_TIME_LIMIT","error_description":"Method is blocked due to operation time limit."}"#,
        ),
        (200, r#"{"result":{"RESULT":0,"CALL_ID":null}}"#),
        (200, r#"{"result":{"RESULT":"false"}}"#),
        (
            200,
            r#"{"result":{"RESULT":true,"CALL_ID":"callback.x.1"},"error":"ERROR_CORE","error_description":"both"}"#,
        ),
        (200, ""),
    ];
    for (status, body) in cases {
        portal.add_fault(Fault::once(respond(status, body, false), Some(CALLBACK)));
        let r = post_json(&callback_url(&portal), &callback_body("+12015550100"));
        assert_eq!(r.status, status, "{body}");
        assert_eq!(r.content_type, "application/json; charset=utf-8");
        assert_eq!(r.text, body, "byte for byte");
    }
    assert!(portal.ledger().is_empty(), "nothing executed");
    let stats = portal.stats();
    assert_eq!(stats.faults_applied, cases.len() as u64);
    assert_eq!(stats.callback_requests, 0, "the method handler never ran");
    assert_eq!(stats.rate_limited, 0, "a canned answer is not a real limit");
    assert_eq!(stats.operation_time_limited, 0);
    let statuses: Vec<Option<u16>> = portal.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses[0], Some(500), "the canned status is recorded");

    // The exact bytes on the wire, with a content type of the test's choice.
    portal.add_fault(Fault::once(
        FaultKind::Respond {
            status: 502,
            body: "upstream said no".into(),
            content_type: Some("text/plain".into()),
            execute: false,
        },
        None,
    ));
    let body = callback_body("+12015550100").to_string();
    let raw = raw_exchange(
        portal.local_addr(),
        &raw_json_request_close(&callback_path(&portal), "127.0.0.1", &body),
        Duration::from_secs(5),
    );
    let (status, headers, got) = split_response(&raw.bytes);
    assert_eq!(status, 502);
    assert_eq!(header(&headers, "content-type"), Some("text/plain"));
    assert_eq!(header(&headers, "content-length"), Some("16"));
    assert_eq!(got, b"upstream said no");
    assert!(portal.ledger().is_empty());
    // Back to normal once used up.
    assert_eq!(
        post_json(&callback_url(&portal), &callback_body("+12015550100")).status,
        200
    );
}

#[test]
fn respond_with_execute_places_the_call_and_fills_in_its_call_id() {
    let portal = start(fast());
    portal.add_fault(Fault::once(
        respond(
            200,
            r#"{"result":{"RESULT":true,"CALL_ID":"{call_id}"},"error":null}"#,
            true,
        ),
        Some(CALLBACK),
    ));
    let r = post_json(&callback_url(&portal), &callback_body("+12015550100"));
    assert_eq!(r.status, 200);
    let got = r.json();
    assert_eq!(got["error"], Value::Null);
    assert!(
        got.get("time").is_none(),
        "the canned body, not the normal one"
    );
    let call_id = got["result"]["CALL_ID"].as_str().unwrap().to_string();
    assert!(call_id.starts_with("callback."), "{call_id}");

    // Recorded exactly as a normal call: ledger, request number, simulated lifecycle.
    let ledger = portal.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].call_id.as_deref(), Some(call_id.as_str()));
    assert_eq!(ledger[0].number, "+12015550100");
    let request = portal.requests().pop().unwrap();
    assert_eq!(ledger[0].request_number, request.number);
    assert_eq!(request.status, Some(200));
    assert!(
        wait_until(Duration::from_secs(5), || {
            portal
                .call(&call_id)
                .is_some_and(|c| c.stage == CallStage::Ended)
        }),
        "the placed call runs its course"
    );
    assert_eq!(portal.stats().calls_placed, 1);
    assert_eq!(portal.stats().callback_requests, 1);

    // A contradictory answer after a real execution: the call exists, the answer says no.
    portal.add_fault(Fault::once(
        respond(200, r#"{"result":{"RESULT":0}}"#, true),
        None,
    ));
    let r = post_json(&callback_url(&portal), &callback_body("+12015550100"));
    assert_eq!(r.json(), json!({"result": {"RESULT": 0}}));
    assert_eq!(portal.ledger().len(), 2);

    // Nothing placed: another method, a REST-application line, a failing call.
    portal.add_fault(Fault::once(respond(200, r#"{"c":"{call_id}"}"#, true), None).with_times(3));
    let line_get = format!("{}voximplant.line.get", portal.webhook_url());
    assert_eq!(get(&line_get).json(), json!({"c": ""}));
    let mut rest_app = callback_body("+12015550100");
    rest_app["FROM_LINE"] = json!(DEFAULT_REST_APP_LINE);
    assert_eq!(
        post_json(&callback_url(&portal), &rest_app).json(),
        json!({"c": ""})
    );
    let mut bad_line = callback_body("+12015550100");
    bad_line["FROM_LINE"] = json!("nope");
    assert_eq!(
        post_json(&callback_url(&portal), &bad_line).json(),
        json!({"c": ""})
    );
    let ledger = portal.ledger();
    assert_eq!(ledger.len(), 3, "the REST-app line's callback was executed");
    assert_eq!(ledger[2].call_id, None);
}

#[test]
fn respond_echoes_the_path_and_query_as_received() {
    let portal = start(fast());
    portal.add_fault(Fault::once(
        respond(
            400,
            r#"{"error":"INVALID_REQUEST","error_description":"bad url {path} on {scheme} port {port}, {other} {call_id}"}"#,
            false,
        ),
        Some(CALLBACK),
    ));
    let url = format!("{}?x=1&y=%20", callback_url(&portal));
    let r = post_json(&url, &callback_body("+12015550100"));
    assert_eq!(r.status, 400);
    let port = portal.local_addr().port();
    let expected = format!(
        "bad url /rest/1/{DEFAULT_WEBHOOK_SECRET}/{CALLBACK}.json?x=1&y=%20 on http port {port}, \
         {{other}} "
    );
    assert_eq!(r.json()["error_description"], json!(expected));
    assert!(
        r.text.contains(DEFAULT_WEBHOOK_SECRET),
        "the secret is echoed"
    );

    // `{path}` is filled in once: a placeholder inside the path is not expanded again.
    portal.add_fault(Fault::once(respond(200, "{path}", false), None));
    let r = post_json(
        &format!("{}?q={{call_id}}", callback_url(&portal)),
        &json!({}),
    );
    assert!(r.text.ends_with("?q={call_id}"), "{}", r.text);
}

#[test]
fn respond_on_the_token_endpoint() {
    let portal = start(fast());
    let grant = portal.issue_tokens();
    let cfg = portal.config();
    let form = format!(
        "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
        cfg.oauth_client_id, cfg.oauth_client_secret, grant.refresh_token
    );
    portal.add_fault(Fault::once(
        respond(200, r#"{"error":"invalid_grant"}"#, true),
        Some("oauth.token"),
    ));
    let r = post_form(&portal.token_url(), &form);
    assert_eq!(r.json(), json!({"error": "invalid_grant"}));
    assert_eq!(portal.stats().refreshes, 1, "executed: the grant happened");
    // ... and the refresh token was consumed by it.
    assert_eq!(post_form(&portal.token_url(), &form).status, 400);
}

#[test]
fn redirect_without_execute_follows_the_times_rule() {
    let portal = start(fast());
    portal.add_fault(
        Fault::once(
            FaultKind::Redirect {
                status: 307,
                location: "{scheme}://localhost:{port}{path}".into(),
                execute: false,
            },
            Some(CALLBACK),
        )
        .with_times(2),
    );
    let url = format!("{}?x=1", callback_url(&portal));
    let port = portal.local_addr().port();
    let expected =
        format!("http://localhost:{port}/rest/1/{DEFAULT_WEBHOOK_SECRET}/{CALLBACK}.json?x=1");
    for _ in 0..2 {
        let r = post_json(&url, &callback_body("+12015550100"));
        assert_eq!(r.status, 307);
        assert_eq!(r.location.as_deref(), Some(expected.as_str()));
        assert!(r.content_type.starts_with("text/html"));
        assert!(r.text.contains("307 Temporary Redirect"), "{}", r.text);
    }
    assert!(portal.ledger().is_empty(), "not executed");
    assert_eq!(post_json(&url, &callback_body("+12015550100")).status, 200);
    assert_eq!(portal.ledger().len(), 1);

    // Every 3xx, and requests to host `localhost` are redirected too.
    let host = format!("localhost:{port}");
    for status in [301, 302, 303, 308, 399] {
        portal.add_fault(Fault::once(
            FaultKind::Redirect {
                status,
                location: "http://127.0.0.1:1/elsewhere".into(),
                execute: false,
            },
            None,
        ));
        let (got, headers, body) = callback_with_host(&portal, &callback_path(&portal), &host);
        assert_eq!(got, status);
        assert_eq!(
            header(&headers, "location"),
            Some("http://127.0.0.1:1/elsewhere")
        );
        assert!(String::from_utf8_lossy(&body).contains(&status.to_string()));
    }
    assert_eq!(portal.ledger().len(), 1);
}

#[test]
fn redirect_with_execute_is_a_see_other_after_the_post() {
    let portal = start(fast());
    portal.add_fault(Fault::once(
        FaultKind::Redirect {
            status: 303,
            location: "/done?call={call_id}".into(),
            execute: true,
        },
        Some(CALLBACK),
    ));
    let r = post_json(&callback_url(&portal), &callback_body("+12015550100"));
    assert_eq!(r.status, 303);
    assert!(r.text.contains("303 See Other"));
    let ledger = portal.ledger();
    assert_eq!(ledger.len(), 1, "executed before redirecting");
    let call_id = ledger[0].call_id.clone().unwrap();
    assert_eq!(r.location, Some(format!("/done?call={call_id}")));
}

#[test]
fn host_scoped_faults_match_the_host_part_only() {
    let portal = start(fast());
    let port = portal.local_addr().port();
    let path = callback_path(&portal);
    let localhost = format!("localhost:{port}");
    let loopback = format!("127.0.0.1:{port}");

    // The re-sent request to the new name fails while the old name keeps being renamed.
    portal.add_fault(Fault::once(FaultKind::Rename, None));
    portal.add_fault(Fault::once(FaultKind::Html502, Some(CALLBACK)).with_host("localhost"));
    for _ in 0..2 {
        let (status, headers, _) = callback_with_host(&portal, &path, &loopback);
        assert_eq!(status, 302);
        assert!(
            header(&headers, "location")
                .unwrap()
                .contains("//localhost:")
        );
    }
    assert_eq!(portal.stats().faults_applied, 2);
    assert_eq!(callback_with_host(&portal, &path, &localhost).0, 502);
    assert_eq!(callback_with_host(&portal, &path, &localhost).0, 200);
    assert_eq!(callback_with_host(&portal, &path, &loopback).0, 302);
    assert_eq!(portal.ledger().len(), 1);
    portal.clear_faults();

    // A fault that does not match is skipped and stays queued, its count unchanged; the
    // host is compared case-insensitively, ports ignored.
    portal.add_fault(Fault::once(FaultKind::Html502, None).with_host("LOCALHOST:1"));
    portal.add_fault(Fault::once(FaultKind::Overload, None));
    assert_eq!(callback_with_host(&portal, &path, &loopback).0, 503);
    assert_eq!(callback_with_host(&portal, &path, &loopback).0, 200);
    let faults = get(&format!("{}faults", portal.admin_url())).json();
    assert_eq!(faults["faults"][0]["host"], json!("LOCALHOST:1"));
    assert_eq!(faults["faults"][0]["remaining"], json!(1));
    assert_eq!(callback_with_host(&portal, &path, "LocalHost").0, 502);
    assert_eq!(callback_with_host(&portal, &path, &localhost).0, 200);

    // A host-scoped Rename renames only that host; one scoped to `localhost` never applies.
    portal.add_fault(Fault::once(FaultKind::Rename, None).with_host("127.0.0.1"));
    assert_eq!(callback_with_host(&portal, &path, &loopback).0, 302);
    assert_eq!(callback_with_host(&portal, &path, "[::1]:1").0, 200);
    portal.clear_faults();
    portal.add_fault(Fault::once(FaultKind::Rename, None).with_host("localhost"));
    assert_eq!(callback_with_host(&portal, &path, &localhost).0, 200);
    assert_eq!(callback_with_host(&portal, &path, &loopback).0, 200);
    portal.clear_faults();

    // IPv6 literals with or without brackets; a request without the host is unaffected.
    portal.add_fault(Fault::once(FaultKind::QueryLimit, None).with_host("::1"));
    assert_eq!(callback_with_host(&portal, &path, &loopback).0, 200);
    assert_eq!(
        callback_with_host(&portal, &path, &format!("[::1]:{port}")).0,
        503
    );
}

#[test]
fn admin_endpoint_scripts_canned_answers_redirects_and_hosts() {
    let portal = start(fast());
    let faults = format!("{}faults", portal.admin_url());
    let r = post_json(
        &faults,
        &json!({
            "kind": "respond",
            "method": CALLBACK,
            "times": 2,
            "status": 200,
            "body": {"result": {"RESULT": true, "CALL_ID": "{call_id}"}, "error": null},
            "execute": true,
        }),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = post_json(
        &faults,
        &json!({
            "kind": "redirect",
            "host": "localhost",
            "status": 308,
            "location": "{scheme}://127.0.0.1:{port}{path}",
            "delay_ms": 0,
        }),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = post_json(
        &faults,
        &json!({"kind": "respond", "status": 503, "body": "<h1>down</h1>",
                "content_type": "text/html", "method": null, "host": null}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json()["faults"],
        json!([
            {"kind": "respond", "method": CALLBACK, "host": null, "times": 2, "remaining": 2,
             "delay_ms": 0, "status": 200,
             "body": r#"{"error":null,"result":{"CALL_ID":"{call_id}","RESULT":true}}"#,
             "content_type": null, "execute": true},
            {"kind": "redirect", "method": null, "host": "localhost", "times": 1, "remaining": 1,
             "delay_ms": 0, "status": 308, "location": "{scheme}://127.0.0.1:{port}{path}",
             "execute": false},
            {"kind": "respond", "method": null, "host": null, "times": 1, "remaining": 1,
             "delay_ms": 0, "status": 503, "body": "<h1>down</h1>", "content_type": "text/html",
             "execute": false},
        ])
    );

    // On the socket: the canned answer (a JSON body is sent as its compact text).
    let r = post_json(&callback_url(&portal), &callback_body("+12015550100"));
    let call_id = portal.ledger()[0].call_id.clone().unwrap();
    assert_eq!(
        r.text,
        format!(r#"{{"error":null,"result":{{"CALL_ID":"{call_id}","RESULT":true}}}}"#)
    );
    // The first fault has one use left and, being the oldest matching one, comes before the
    // redirect; then the redirect, which applies to host localhost only.
    let port = portal.local_addr().port();
    let (status, headers, _) = callback_with_host(
        &portal,
        &format!("{}?a=b", callback_path(&portal)),
        &format!("localhost:{port}"),
    );
    assert_eq!(status, 200, "the oldest matching fault is the respond one");
    assert_eq!(header(&headers, "location"), None);
    let (status, headers, _) = callback_with_host(
        &portal,
        &format!("{}?a=b", callback_path(&portal)),
        &format!("localhost:{port}"),
    );
    assert_eq!(status, 308);
    assert_eq!(
        header(&headers, "location"),
        Some(format!("http://127.0.0.1:{port}{}?a=b", callback_path(&portal)).as_str())
    );
    let r = get(&format!("{}voximplant.line.get", portal.webhook_url()));
    assert_eq!((r.status, r.text.as_str()), (503, "<h1>down</h1>"));
    assert!(r.content_type.starts_with("text/html"));
    assert_eq!(portal.ledger().len(), 2);
    assert_eq!(get(&faults).json(), json!({"faults": []}));

    // Refused scripts change nothing.
    let refused = [
        json!({"kind": "respond", "body": "x"}),
        json!({"kind": "respond", "status": 200}),
        json!({"kind": "respond", "status": 99, "body": "x"}),
        json!({"kind": "respond", "status": 600, "body": "x"}),
        json!({"kind": "respond", "status": 70000, "body": "x"}),
        json!({"kind": "respond", "status": 200, "body": "x", "execute": "yes"}),
        json!({"kind": "respond", "status": 200, "body": "x", "content_type": "a\nb"}),
        json!({"kind": "respond", "status": 200, "body": "x", "location": "/"}),
        json!({"kind": "redirect", "status": 302}),
        json!({"kind": "redirect", "status": 200, "location": "/"}),
        json!({"kind": "redirect", "status": 302, "location": "/\r\nX-Evil: 1"}),
        json!({"kind": "redirect", "status": 302, "location": "/", "body": "x"}),
        json!({"kind": "html_502", "status": 502}),
        json!({"kind": "html_502", "host": 1}),
        json!({"kind": "html_502", "exectue": true}),
        json!([]),
    ];
    for body in refused {
        let r = post_json(&faults, &body);
        assert_eq!(r.status, 400, "{body}");
        assert!(r.json()["error"].is_string());
    }
    assert_eq!(get(&faults).json(), json!({"faults": []}));
}

#[test]
#[should_panic(expected = "cannot script this fault")]
fn an_unsendable_status_is_refused_when_scripted() {
    let portal = start(fast());
    portal.add_fault(Fault::once(
        FaultKind::Redirect {
            status: 200,
            location: "/".into(),
            execute: false,
        },
        None,
    ));
}

#[test]
fn validate_names_the_problem() {
    assert!(respond(200, "", false).validate().is_ok());
    assert!(respond(599, "", true).validate().is_ok());
    let e = respond(600, "", false).validate().unwrap_err();
    assert!(e.contains("600"), "{e}");
    assert!(FaultKind::Html502.validate().is_ok());
    let fault = Fault::once(FaultKind::Html502, Some(CALLBACK))
        .with_times(0)
        .with_host("localhost");
    assert_eq!(
        fault,
        Fault {
            kind: FaultKind::Html502,
            method: Some(CALLBACK.into()),
            times: 0,
            host: Some("localhost".into()),
        }
    );
    assert_eq!(respond(200, "", false).as_str(), "respond");
    assert_eq!(FaultKind::from_name("respond", Duration::ZERO), None);
    assert_eq!(FaultKind::from_name("redirect", Duration::ZERO), None);
}
