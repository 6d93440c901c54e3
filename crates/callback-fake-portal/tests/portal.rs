//! Routes, methods, errors, authentication, OAuth, limits, the ledger, simulated calls and the
//! admin endpoint, all over real loopback HTTP.

mod common;

use callback_fake_portal::*;
use common::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::time::Duration;

fn is_call_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('.').collect();
    parts.len() == 3
        && parts[0] == "callback"
        && parts[1].len() == 32
        && parts[1]
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        && parts[2].parse::<i64>().is_ok_and(|t| t > 1_700_000_000)
}

#[test]
fn callback_start_success_envelope_time_object_and_ledger() {
    let portal = start(fast());
    let url = format!("{}{CALLBACK}.json", portal.webhook_url());
    let r = post_json(
        &url,
        &json!({"FROM_LINE":"reg1","TO_NUMBER":"+1 (201) 555-0123","TEXT_TO_PRONOUNCE":"Call back","VOICE":"ukenglishfemale"}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/json; charset=utf-8");
    assert_eq!(
        r.application, None,
        "webhook calls carry no application header"
    );
    let v = r.json();
    assert_eq!(v["result"]["RESULT"], json!(true));
    let call_id = v["result"]["CALL_ID"].as_str().unwrap().to_string();
    assert!(is_call_id(&call_id), "{call_id}");
    assert!(v.get("error").is_none());

    let t = &v["time"];
    assert!(t["start"].is_i64(), "start is an integer: {t}");
    assert!(t["finish"].is_f64(), "finish is a float: {t}");
    assert!(t["duration"].is_f64());
    assert_eq!(
        t["processing"],
        json!(1),
        "1 s simulated processing, an integer"
    );
    assert!(t["operating"].is_f64(), "operating is a float: {t}");
    assert_eq!(t["operating"].as_f64(), Some(1.0));
    assert!(t["operating_reset_at"].is_i64());
    let start_s = t["start"].as_i64().unwrap();
    let reset = t["operating_reset_at"].as_i64().unwrap();
    assert!((start_s + 599..=start_s + 601).contains(&reset), "{t}");
    let finish = t["finish"].as_f64().unwrap();
    let duration = t["duration"].as_f64().unwrap();
    assert!((finish - start_s as f64 - duration).abs() < 1e-6);
    let date = t["date_start"].as_str().unwrap();
    assert_eq!(date.len(), 25, "{date}");
    assert!(date.ends_with("+00:00") && date.as_bytes()[10] == b'T');
    assert!(t["date_finish"].is_string());
    assert!(
        call_id.ends_with(&format!(".{start_s}")),
        "CALL_ID ends with the unix time"
    );

    let ledger = portal.ledger();
    assert_eq!(ledger.len(), 1);
    let e = &ledger[0];
    assert_eq!(e.call_id.as_deref(), Some(call_id.as_str()));
    assert_eq!(e.line, "reg1");
    assert_eq!(e.number, "+12015550123", "stripped to digits and #*+,;");
    assert_eq!(e.text, "Call back");
    assert_eq!(e.voice.as_deref(), Some("ukenglishfemale"));
    let reqs = portal.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(e.request_number, reqs[0].number);
    assert_eq!(reqs[0].rest_method.as_deref(), Some(CALLBACK));
    assert_eq!(reqs[0].http_method, "POST");
    assert_eq!(reqs[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(reqs[0].user_agent.as_deref(), Some("fake-portal-tests/1"));
    assert!(reqs[0].body.contains("\"TO_NUMBER\""));
    assert_eq!(reqs[0].status, Some(200));
    let stats = portal.stats();
    assert_eq!(stats.calls_placed, 1);
    assert_eq!(stats.requests, 1);
    assert_eq!(stats.rest_requests, 1);
}

#[test]
fn every_url_form_and_body_format_reaches_the_method() {
    let portal = start(fast());
    let hook = portal.webhook_url();
    let base = portal.base_url();
    let form = "FROM_LINE=reg1&TO_NUMBER=%2B12015550100&TEXT_TO_PRONOUNCE=Hello%20there";
    let cases: Vec<(String, &str)> = vec![
        (format!("{hook}{CALLBACK}.json"), "json"),
        (format!("{hook}{CALLBACK}"), "json"),
        (format!("{hook}{CALLBACK}/"), "json"),
        (format!("{hook}{CALLBACK}.json/"), "form"),
        (format!("{hook}VOXIMPLANT.Callback.START.JSON"), "form"),
        (
            format!(
                "{base}/rest/1/{}/Voximplant.Callback.Start",
                DEFAULT_WEBHOOK_SECRET
            ),
            "form",
        ),
    ];
    for (url, kind) in &cases {
        let r = if *kind == "json" {
            post_json(url, &callback_body("+12015550100"))
        } else {
            post_form(url, form)
        };
        assert_eq!(r.status, 200, "{url} ({kind}): {}", r.text);
        assert!(r.json()["result"]["CALL_ID"].is_string());
    }
    // GET with everything in the query string.
    let r = get(&format!("{hook}{CALLBACK}.json?{form}"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(portal.ledger().len(), cases.len() + 1);
    assert!(portal.ledger().iter().all(|e| e.number == "+12015550100"));
    assert_eq!(portal.ledger()[1].text, "A visitor asked for a call back");
    assert_eq!(portal.ledger().last().unwrap().text, "Hello there");
    assert!(portal.ledger().last().unwrap().voice.is_none());
    let methods: BTreeSet<_> = portal
        .requests()
        .iter()
        .map(|r| r.rest_method.clone().unwrap())
        .collect();
    assert_eq!(
        methods.into_iter().collect::<Vec<_>>(),
        vec![CALLBACK.to_string()]
    );
}

#[test]
fn parameter_keys_are_read_exactly_upper_case() {
    let portal = start(fast());
    let url = format!("{}{CALLBACK}.json", portal.webhook_url());
    let r = post_json(
        &url,
        &json!({"from_line":"reg1","to_number":"+12015550100","text_to_pronounce":"x"}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json(), error_body("ERROR_CORE", "Could not find line "));
    assert!(portal.ledger().is_empty());
}

#[test]
fn callback_errors_follow_the_server_order_statuses_and_texts() {
    let portal = start(fast());
    let url = format!("{}{CALLBACK}.json", portal.webhook_url());
    let body = |line: &str, number: &str| json!({"FROM_LINE": line, "TO_NUMBER": number, "TEXT_TO_PRONOUNCE": "t"});

    let r = post_json(&url, &body("nope", "+12015550100"));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        error_body("ERROR_CORE", "Could not find line nope")
    );
    assert!(
        r.json().get("time").is_none(),
        "errors carry no time object"
    );

    let r = post_json(&url, &body("reg1", "call me maybe"));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        error_body("ERROR_CORE", "Phone number is not correct")
    );

    // The line is checked before the number.
    let r = post_json(&url, &body("nope", ""));
    assert_eq!(
        r.json(),
        error_body("ERROR_CORE", "Could not find line nope")
    );

    // The controller failure magic number.
    let r = post_json(&url, &body("reg1", "+12015550106"));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        error_body("ERROR_CORE", "Parse error or connect error from server")
    );
    assert!(portal.ledger().is_empty(), "nothing was placed");

    // Empty error codes, as some portals send them.
    portal.update_config(|c| c.empty_error_code = true);
    let r = post_json(&url, &body("nope", "+12015550100"));
    assert_eq!(r.status, 400);
    assert_eq!(r.json(), error_body("", "Could not find line nope"));

    // No permission: 403 before anything else.
    portal.update_config(|c| c.outgoing_call_permission = false);
    let r = post_json(&url, &body("nope", ""));
    assert_eq!(r.status, 403);
    assert_eq!(r.json(), error_body("ACCESS_DENIED", "Access denied!"));
    assert!(portal.ledger().is_empty());
    assert_eq!(portal.stats().callback_requests, 6);
}

#[test]
fn rest_app_line_gives_null_call_id_and_a_ledger_entry() {
    let portal = start(fast());
    let mut body = callback_body("+12015550100");
    body["FROM_LINE"] = json!("REST_APP:1");
    let r = post_json(&format!("{}{CALLBACK}", portal.webhook_url()), &body);
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["result"], json!({"RESULT": true, "CALL_ID": null}));
    assert!(v["time"].is_object());
    let ledger = portal.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].call_id, None);
    assert_eq!(ledger[0].line, "REST_APP:1");
    assert!(
        portal.calls().is_empty(),
        "no simulated call for a REST-app line"
    );
}

#[test]
fn line_get_voices_scope_and_unknown_method() {
    let portal = start(fast());
    let hook = portal.webhook_url();
    let r = get(&format!("{hook}voximplant.line.get"));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["result"],
        json!({
            "reg1": "Sales (cloud PBX)",
            "sip7": "Office PBX &quot;Main&quot; &lt;Support &amp; Sales&gt;",
            "74951234567": "+7 495 123-45-67",
        })
    );
    assert!(r.json()["time"].is_object());

    let r = post_json(&format!("{hook}voximplant.tts.voices.get.json"), &json!({}));
    assert_eq!(r.status, 200);
    let voices = r.json()["result"].as_object().unwrap().clone();
    assert_eq!(voices.len(), 42);
    assert_eq!(voices.len(), voice_ids().len());
    for id in [
        "usenglishfemale",
        "ruinternalmale",
        "eurgermanfemale",
        "hkchinesefemale",
    ] {
        assert!(voices.contains_key(id), "{id}");
    }
    assert_eq!(
        voices["ukenglishmale"],
        json!("English (UK) (male) (Amazon)")
    );
    assert_eq!(
        voices["ruinternalfemale"],
        json!("Russian (female) (Default)")
    );

    let r = get(&format!("{hook}scope"));
    assert_eq!(r.json()["result"], json!(["call", "telephony"]));

    let r = post_json(&format!("{hook}voximplant.callback.stop"), &json!({}));
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        error_body("ERROR_METHOD_NOT_FOUND", "Method not found!")
    );

    portal.update_config(|c| c.line_list_permission = false);
    let r = get(&format!("{hook}voximplant.line.get"));
    assert_eq!(r.status, 403);
    assert_eq!(r.json(), error_body("ACCESS_DENIED", "Access denied!"));
}

#[test]
fn missing_scopes_answer_insufficient_scope() {
    let portal = start(fast());
    let hook = portal.webhook_url();
    portal.update_config(|c| c.webhook_scopes = vec!["telephony".into()]);
    let r = post_json(&format!("{hook}{CALLBACK}"), &callback_body("+12015550100"));
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json(),
        error_body(
            "insufficient_scope",
            "The request requires higher privileges than provided by the webhook token"
        )
    );
    assert!(portal.ledger().is_empty());
    assert_eq!(get(&format!("{hook}voximplant.line.get")).status, 200);

    portal.update_config(|c| c.webhook_scopes = vec!["call".into()]);
    assert_eq!(
        post_json(&format!("{hook}{CALLBACK}"), &callback_body("+12015550100")).status,
        200
    );
    for m in [
        "voximplant.line.get",
        "voximplant.tts.voices.get",
        "voximplant.statistic.get",
    ] {
        let r = get(&format!("{hook}{m}"));
        assert_eq!(r.status, 403, "{m}");
        assert_eq!(r.json()["error"], json!("insufficient_scope"));
    }
    assert_eq!(portal.stats().auth_failures, 4);
}

#[test]
fn webhook_credentials() {
    let portal = start(fast());
    let base = portal.base_url();
    let r = post_json(
        &format!("{base}/rest/1/wrongsecret/{CALLBACK}"),
        &callback_body("+12015550100"),
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        error_body("NO_AUTH_FOUND", "Wrong authorization data")
    );
    let r = post_json(
        &format!("{base}/rest/2/{DEFAULT_WEBHOOK_SECRET}/{CALLBACK}"),
        &callback_body("+12015550100"),
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        error_body("INVALID_CREDENTIALS", "Invalid request credentials")
    );
    assert!(portal.ledger().is_empty());
    // A portal configured with another user and secret.
    let other = start(FakePortalConfig {
        webhook_user_id: 77,
        webhook_secret: "anothersecret".into(),
        ..fast()
    });
    assert!(other.webhook_url().ends_with("/rest/77/anothersecret/"));
    assert_eq!(get(&format!("{}scope", other.webhook_url())).status, 200);
}

#[test]
fn oauth_token_in_every_place_and_every_auth_error() {
    let portal = start(fast());
    let grant = portal.issue_tokens();
    assert_eq!(grant.expires_in, 3600);
    assert_eq!(grant.access_token.len(), 32);
    let ep = portal.client_endpoint();
    let tok = &grant.access_token;

    let r = get(&format!("{ep}voximplant.line.get.json?auth={tok}"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.application.as_deref(), Some(DEFAULT_OAUTH_CLIENT_ID));
    let r = post_form(
        &format!("{ep}{CALLBACK}"),
        &format!("auth={tok}&FROM_LINE=reg1&TO_NUMBER=%2B12015550100&TEXT_TO_PRONOUNCE=x"),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let mut body = callback_body("+12015550100");
    body["auth"] = json!(tok);
    assert_eq!(
        post_json(&format!("{ep}{CALLBACK}.json"), &body).status,
        200
    );
    assert_eq!(get(&format!("{ep}scope?access_token={tok}")).status, 200);
    let r = agent()
        .post(&format!("{ep}{CALLBACK}"))
        .header("Authorization", &format!("Bearer {tok}"))
        .header("Content-Type", "application/json")
        .send(callback_body("+12015550100").to_string())
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(portal.ledger().len(), 3);

    let r = post_json(&format!("{ep}{CALLBACK}"), &callback_body("+12015550100"));
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        error_body("NO_AUTH_FOUND", "Wrong authorization data")
    );
    let r = get(&format!("{ep}scope?auth=notatoken"));
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        error_body("invalid_token", "Unable to get application by token")
    );

    portal.expire_access_tokens();
    let r = get(&format!("{ep}scope?auth={tok}"));
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        error_body("expired_token", "The access token provided has expired.")
    );
    assert_eq!(portal.ledger().len(), 3);

    // Tokens issued later are unaffected; the scope of OAuth tokens is configurable.
    portal.update_config(|c| c.oauth_scopes = vec!["telephony".into()]);
    let narrow = portal.issue_tokens();
    let mut body = callback_body("+12015550100");
    body["auth"] = json!(narrow.access_token);
    let r = post_json(&format!("{ep}{CALLBACK}"), &body);
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json(),
        error_body(
            "insufficient_scope",
            "The request requires higher privileges than provided by the access token"
        )
    );
}

#[test]
fn refresh_rotates_single_use_tokens() {
    let portal = start(fast());
    let grant = portal.issue_tokens();
    let form = |refresh: &str, secret: &str| {
        format!(
            "grant_type=refresh_token&client_id={DEFAULT_OAUTH_CLIENT_ID}&client_secret={secret}&refresh_token={refresh}"
        )
    };
    let r = post_form(
        &portal.token_url(),
        &form(&grant.refresh_token, DEFAULT_OAUTH_CLIENT_SECRET),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    let keys: BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = [
        "access_token",
        "expires",
        "expires_in",
        "scope",
        "domain",
        "server_endpoint",
        "status",
        "client_endpoint",
        "member_id",
        "user_id",
        "refresh_token",
    ]
    .into_iter()
    .collect();
    assert_eq!(keys, expected);
    assert_eq!(v["expires_in"], json!(3600));
    assert_eq!(v["scope"], json!("call,telephony"));
    assert_eq!(v["status"], json!("L"));
    assert_eq!(v["user_id"], json!(1));
    assert_eq!(v["member_id"], json!(portal.member_id()));
    assert_eq!(v["client_endpoint"], json!(portal.client_endpoint()));
    assert_eq!(v["server_endpoint"], json!(portal.server_endpoint()));
    assert!(v["expires"].as_i64().unwrap() > 1_700_000_000);
    let new_access = v["access_token"].as_str().unwrap().to_string();
    let new_refresh = v["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(new_access, grant.access_token);
    assert_ne!(new_refresh, grant.refresh_token);
    assert_eq!(
        get(&format!(
            "{}scope?auth={new_access}",
            portal.client_endpoint()
        ))
        .status,
        200
    );

    // Reuse of the consumed refresh token.
    let r = post_form(
        &portal.token_url(),
        &form(&grant.refresh_token, DEFAULT_OAUTH_CLIENT_SECRET),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json(), json!({"error": "invalid_grant"}));
    // Wrong client secret (the token stays usable).
    let r = post_form(&portal.token_url(), &form(&new_refresh, "wrong"));
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], json!("invalid_client"));
    // GET with the query string works too, and rotates again.
    let r = get(&format!(
        "{}?{}",
        portal.token_url(),
        form(&new_refresh, DEFAULT_OAUTH_CLIENT_SECRET)
    ));
    assert_eq!(r.status, 200, "{}", r.text);
    let r = post_form(&portal.token_url(), "client_id=x");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], json!("invalid_request"));
    let r = post_form(
        &portal.token_url(),
        &format!(
            "grant_type=refresh_token&client_id={DEFAULT_OAUTH_CLIENT_ID}&client_secret={DEFAULT_OAUTH_CLIENT_SECRET}"
        ),
    );
    assert_eq!(
        r.json(),
        error_body("invalid_request", "No \"refresh_token\" parameter found")
    );

    let stats = portal.stats();
    assert_eq!(stats.refreshes, 2);
    assert_eq!(stats.refresh_failures, 4);
    assert_eq!(stats.token_requests, 6);
}

#[test]
fn concurrent_refreshes_with_one_token_succeed_once() {
    let portal = start(fast());
    let grant = portal.issue_tokens();
    let body = format!(
        "grant_type=refresh_token&client_id={DEFAULT_OAUTH_CLIENT_ID}&client_secret={DEFAULT_OAUTH_CLIENT_SECRET}&refresh_token={}",
        grant.refresh_token
    );
    let barrier = Arc::new(Barrier::new(8));
    let url = portal.token_url();
    let statuses: Vec<u16> = (0..8)
        .map(|_| {
            let (barrier, url, body) = (barrier.clone(), url.clone(), body.clone());
            std::thread::spawn(move || {
                barrier.wait();
                post_form(&url, &body).status
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 7);
    assert_eq!(portal.stats().refreshes, 1);
}

#[test]
fn access_tokens_expire_after_their_lifetime() {
    let portal = start(FakePortalConfig {
        access_token_lifetime: Duration::from_secs(1),
        ..fast()
    });
    let grant = portal.issue_tokens();
    assert_eq!(grant.expires_in, 1);
    let url = format!(
        "{}scope?auth={}",
        portal.client_endpoint(),
        grant.access_token
    );
    assert_eq!(get(&url).status, 200);
    std::thread::sleep(Duration::from_millis(1100));
    let r = get(&url);
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], json!("expired_token"));
}

#[test]
fn leaky_bucket_burst_of_x_plus_k_gets_exactly_k_rejections() {
    let (x, k) = (6usize, 4usize);
    let portal = start(FakePortalConfig {
        burst: x as u32,
        drain_per_second: 0.01,
        ..fast()
    });
    let url = format!("{}voximplant.line.get", portal.webhook_url());
    let barrier = Arc::new(Barrier::new(x + k));
    let answers: Vec<Resp> = (0..x + k)
        .map(|_| {
            let (barrier, url) = (barrier.clone(), url.clone());
            std::thread::spawn(move || {
                barrier.wait();
                get(&url)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    let rejected: Vec<&Resp> = answers.iter().filter(|r| r.status == 503).collect();
    assert_eq!(rejected.len(), k);
    assert_eq!(answers.iter().filter(|r| r.status == 200).count(), x);
    for r in rejected {
        assert_eq!(
            r.json(),
            error_body("QUERY_LIMIT_EXCEEDED", "Too many requests")
        );
    }
    assert_eq!(portal.stats().rate_limited, k as u64);

    // The admin endpoint never counts, and the bucket stays full.
    for _ in 0..20 {
        assert_eq!(get(&format!("{}stats", portal.admin_url())).status, 200);
    }
    assert_eq!(get(&url).status, 503);
    // Draining frees room again.
    portal.update_config(|c| c.drain_per_second = 100.0);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(get(&url).status, 200);
}

#[test]
fn sequential_requests_hit_the_bucket_at_x_plus_one() {
    let portal = start(FakePortalConfig {
        burst: 3,
        drain_per_second: 0.0,
        ..fast()
    });
    let url = format!("{}{CALLBACK}", portal.webhook_url());
    let statuses: Vec<u16> = (0..5)
        .map(|_| post_json(&url, &callback_body("+12015550100")).status)
        .collect();
    assert_eq!(statuses, vec![200, 200, 200, 503, 503]);
    assert_eq!(portal.ledger().len(), 3, "rejected requests place nothing");
}

#[test]
fn operating_budget_blocks_the_method_with_429() {
    let portal = start(FakePortalConfig {
        operating_limit: Duration::from_secs(3),
        callback_processing: Duration::from_millis(1500),
        ..fast()
    });
    let url = format!("{}{CALLBACK}", portal.webhook_url());
    let r1 = post_json(&url, &callback_body("+12015550100")).json();
    assert_eq!(r1["time"]["operating"].as_f64(), Some(1.5));
    assert_eq!(r1["time"]["processing"], json!(1.5));
    let r2 = post_json(&url, &callback_body("+12015550100")).json();
    assert_eq!(r2["time"]["operating"].as_f64(), Some(3.0));
    assert_eq!(
        r2["time"]["operating_reset_at"],
        r1["time"]["operating_reset_at"]
    );
    let r3 = post_json(&url, &callback_body("+12015550100"));
    assert_eq!(r3.status, 429);
    assert_eq!(
        r3.json(),
        error_body(
            "OPERATION_TIME_LIMIT",
            "Method is blocked due to operation time limit."
        )
    );
    assert_eq!(portal.ledger().len(), 2);
    assert_eq!(portal.stats().operation_time_limited, 1);
    // Other methods keep their own budget.
    assert_eq!(
        get(&format!("{}voximplant.line.get", portal.webhook_url())).status,
        200
    );
    // Raising the limit unblocks.
    portal.update_config(|c| c.operating_limit = Duration::from_secs(480));
    assert_eq!(post_json(&url, &callback_body("+12015550100")).status, 200);
}

fn statistic(portal: &FakePortal, call_id: &str) -> Value {
    let r = post_form(
        &format!("{}voximplant.statistic.get", portal.webhook_url()),
        &format!("FILTER%5BCALL_ID%5D={call_id}"),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
}

#[test]
fn call_lifecycle_ends_in_a_statistic_record() {
    let portal = start(FakePortalConfig {
        stage_duration: Duration::from_millis(150),
        ..fast()
    });
    let call_id = place_call(&portal, "+12015550123");
    let state = portal.call(&call_id).unwrap();
    assert_eq!(state.stage, CallStage::RingingManager);
    assert_eq!(state.outcome, None);
    let v = statistic(&portal, &call_id);
    assert_eq!(v["result"], json!([]), "no record before the call ends");
    assert_eq!(v["total"], json!(0));

    let mut seen = vec![state.stage];
    assert!(wait_until(Duration::from_secs(5), || {
        let s = portal.call(&call_id).unwrap().stage;
        if seen.last() != Some(&s) {
            seen.push(s);
        }
        s == CallStage::Ended
    }));
    assert_eq!(
        seen,
        vec![
            CallStage::RingingManager,
            CallStage::SpeakingText,
            CallStage::DiallingClient,
            CallStage::Connected,
            CallStage::Ended
        ]
    );
    let state = portal.call(&call_id).unwrap();
    assert_eq!(state.outcome, Some(CallOutcome::Answered));
    assert_eq!(state.failed_code.as_deref(), Some("200"));
    assert_eq!(state.duration, 42);

    let v = statistic(&portal, &call_id);
    assert_eq!(v["total"], json!(1));
    let rec = &v["result"][0];
    assert_eq!(rec["CALL_ID"], json!(call_id));
    assert_eq!(rec["CALL_TYPE"], json!("4"));
    assert_eq!(rec["CALL_FAILED_CODE"], json!("200"));
    assert_eq!(rec["CALL_DURATION"], json!("42"));
    assert_eq!(rec["PHONE_NUMBER"], json!("+12015550123"));
    assert_eq!(rec["PORTAL_NUMBER"], json!("reg1"));
    assert_eq!(rec["PORTAL_USER_ID"], json!("1"));
    for (k, val) in rec.as_object().unwrap() {
        assert!(val.is_string() || val.is_null(), "{k} is {val}");
    }
    assert!(rec["CALL_START_DATE"].as_str().unwrap().ends_with("+00:00"));
}

#[test]
fn magic_numbers_choose_the_outcome() {
    let portal = start(fast());
    let cases = [
        ("+12015550101", CallOutcome::Busy, "486"),
        ("+12015550102", CallOutcome::NoAnswer, "304"),
        ("+12015550103", CallOutcome::Declined, "603"),
        ("12015550104", CallOutcome::InsufficientFunds, "402"),
        ("+1 201 555 0105", CallOutcome::InvalidNumber, "404"),
        ("+15550100", CallOutcome::Answered, "200"),
    ];
    let ids: Vec<String> = cases
        .iter()
        .map(|(n, _, _)| place_call(&portal, n))
        .collect();
    assert!(wait_until(Duration::from_secs(5), || {
        ids.iter()
            .all(|id| portal.call(id).unwrap().stage == CallStage::Ended)
    }));
    for ((number, outcome, code), id) in cases.iter().zip(&ids) {
        let state = portal.call(id).unwrap();
        assert_eq!(state.outcome, Some(*outcome), "{number}");
        let rec = &statistic(&portal, id)["result"][0];
        assert_eq!(rec["CALL_FAILED_CODE"], json!(code), "{number}");
        let duration = if *outcome == CallOutcome::Answered {
            "42"
        } else {
            "0"
        };
        assert_eq!(rec["CALL_DURATION"], json!(duration));
    }
    // JSON filter, other operators, sorting and the total.
    let r = post_json(
        &format!("{}voximplant.statistic.get", portal.webhook_url()),
        &json!({"FILTER": {"CALL_FAILED_CODE": ["486", "304"]}, "SORT": "CALL_FAILED_CODE", "ORDER": "DESC"}),
    );
    let v = r.json();
    assert_eq!(v["total"], json!(2));
    assert_eq!(v["result"][0]["CALL_FAILED_CODE"], json!("486"));
    assert_eq!(v["result"][1]["CALL_FAILED_CODE"], json!("304"));
    let r = get(&format!(
        "{}voximplant.statistic.get?FILTER[!CALL_FAILED_CODE]=200",
        portal.webhook_url()
    ));
    assert_eq!(r.json()["total"], json!(5));
    let r = get(&format!("{}voximplant.statistic.get", portal.webhook_url()));
    assert_eq!(r.json()["total"], json!(6));
    assert!(r.json().get("next").is_none());
}

#[test]
fn admin_endpoint_exposes_and_controls_everything() {
    let portal = start(fast());
    let admin = portal.admin_url();
    let info = get(&format!("{admin}info")).json();
    assert_eq!(info["base_url"], json!(portal.base_url()));
    assert_eq!(info["webhook_url"], json!(portal.webhook_url()));
    assert_eq!(info["client_endpoint"], json!(portal.client_endpoint()));
    assert_eq!(info["server_endpoint"], json!(portal.server_endpoint()));
    assert_eq!(info["token_url"], json!(portal.token_url()));
    assert_eq!(info["admin_url"], json!(admin));
    assert_eq!(info["ca_pem"], Value::Null);
    assert_eq!(info["webhook_secret"], json!(DEFAULT_WEBHOOK_SECRET));
    assert_eq!(info["oauth_client_id"], json!(DEFAULT_OAUTH_CLIENT_ID));
    assert_eq!(
        info["oauth_client_secret"],
        json!(DEFAULT_OAUTH_CLIENT_SECRET)
    );
    assert_eq!(info["config"]["burst"], json!(50));
    assert_eq!(info["config"]["drain_per_second"], json!(2.0));
    assert_eq!(
        serde_json::from_str::<Value>(&portal.info_json()).unwrap(),
        info
    );

    // Partial config.
    let r = post_json(
        &format!("{admin}config"),
        &json!({"burst": 7, "stage_ms": 10, "empty_error_code": true, "operating_limit_seconds": 100}),
    );
    assert_eq!(r.status, 200);
    let cfg = portal.config();
    assert_eq!(cfg.burst, 7);
    assert_eq!(cfg.stage_duration, Duration::from_millis(10));
    assert!(cfg.empty_error_code);
    assert_eq!(cfg.operating_limit, Duration::from_secs(100));
    // What GET returns can be posted back unchanged.
    let current = get(&format!("{admin}config")).json();
    let r = post_json(&format!("{admin}config"), &current);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), current);
    let r = post_json(&format!("{admin}config"), &json!({"tls": true}));
    assert_eq!(r.status, 400);
    let r = post_json(&format!("{admin}config"), &json!({"brust": 7}));
    assert_eq!(r.status, 400);
    assert!(r.text.contains("brust"));
    // A duration beyond `Duration` is refused, not a panic; nothing of the update is applied.
    let r = post_json(
        &format!("{admin}config"),
        &json!({"burst": 9, "operating_limit_seconds": 1e300}),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("operating_limit_seconds"), "{}", r.text);
    assert_eq!(portal.config().burst, 7);

    // Tokens from the admin endpoint work; expire works.
    let pair = post_json(&format!("{admin}oauth/tokens"), &json!({})).json();
    assert_eq!(pair["client_id"], json!(DEFAULT_OAUTH_CLIENT_ID));
    assert_eq!(pair["client_secret"], json!(DEFAULT_OAUTH_CLIENT_SECRET));
    assert_eq!(pair["client_endpoint"], json!(portal.client_endpoint()));
    assert_eq!(pair["expires_in"], json!(3600));
    let tok = pair["access_token"].as_str().unwrap();
    let mut body = callback_body("+12015550101");
    body["auth"] = json!(tok);
    let call = post_json(&format!("{}{CALLBACK}", portal.client_endpoint()), &body).json();
    let call_id = call["result"]["CALL_ID"].as_str().unwrap().to_string();
    assert_eq!(
        post_json(&format!("{admin}oauth/expire"), &json!({})).status,
        200
    );
    assert_eq!(
        get(&format!("{}scope?auth={tok}", portal.client_endpoint())).status,
        401
    );

    // Ledger, stats, requests, calls.
    let ledger = get(&format!("{admin}ledger")).json();
    assert_eq!(ledger["calls"].as_array().unwrap().len(), 1);
    let entry = &ledger["calls"][0];
    assert_eq!(entry["call_id"], json!(call_id));
    assert_eq!(entry["number"], json!("+12015550101"));
    assert_eq!(entry["line"], json!("reg1"));
    assert_eq!(entry["voice"], json!("usenglishfemale"));
    assert!(entry["placed_at"].is_f64());
    assert!(entry["request_number"].is_u64());
    let stats = get(&format!("{admin}stats")).json();
    assert_eq!(stats["calls_placed"], json!(1));
    assert_eq!(stats["requests"], json!(2));
    let requests = get(&format!("{admin}requests")).json();
    let reqs = requests["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 2, "admin calls are not recorded");
    assert_eq!(reqs[0]["rest_method"], json!(CALLBACK));
    assert_eq!(reqs[0]["user_agent"], json!("fake-portal-tests/1"));
    assert_eq!(reqs[0]["content_type"], json!("application/json"));
    assert_eq!(reqs[0]["status"], json!(200));
    assert!(wait_until(Duration::from_secs(5), || {
        get(&format!("{admin}calls/{call_id}")).json()["stage"] == json!("ended")
    }));
    let state = get(&format!("{admin}calls/{call_id}")).json();
    assert_eq!(state["outcome"], json!("busy"));
    assert_eq!(state["failed_code"], json!("486"));
    assert_eq!(state["duration"], json!(0));
    assert_eq!(get(&format!("{admin}calls/nope")).status, 404);
    assert_eq!(
        get(&format!("{admin}calls")).json()["calls"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Faults list / clear.
    let r = post_json(
        &format!("{admin}faults"),
        &json!({"kind": "delay", "delay_ms": 5, "method": CALLBACK, "times": 2}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["faults"][0]["kind"], json!("delay"));
    assert_eq!(r.json()["faults"][0]["remaining"], json!(2));
    assert_eq!(
        post_json(&format!("{admin}faults"), &json!({"kind": "boom"})).status,
        400
    );
    assert_eq!(
        delete(&format!("{admin}faults")).json(),
        json!({"faults": []})
    );

    // Reset keeps tokens and config.
    let fresh = portal.issue_tokens();
    assert_eq!(post_json(&format!("{admin}reset"), &json!({})).status, 200);
    assert!(portal.ledger().is_empty());
    assert_eq!(portal.stats(), Stats::default());
    assert!(portal.requests().is_empty());
    assert!(portal.calls().is_empty());
    assert_eq!(portal.config().burst, 7);
    assert_eq!(
        get(&format!(
            "{}scope?auth={}",
            portal.client_endpoint(),
            fresh.access_token
        ))
        .status,
        200
    );
    assert_eq!(get(&format!("{admin}nothing")).status, 404);
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let cfg = FakePortalConfig::default();
    let text = format!("{cfg:?}");
    assert!(!text.contains(DEFAULT_WEBHOOK_SECRET));
    assert!(!text.contains(DEFAULT_OAUTH_CLIENT_SECRET));
    assert!(!text.contains(DEFAULT_APPLICATION_TOKEN));
    let portal = start(fast());
    let grant = portal.issue_tokens();
    let text = format!("{grant:?} {portal:?}");
    assert!(!text.contains(&grant.access_token));
    assert!(!text.contains(&grant.refresh_token));
    assert!(!text.contains(DEFAULT_WEBHOOK_SECRET));

    // What a failing assertion would print about requests, calls and the ledger.
    let call_id = place_call(&portal, "+12015550123");
    get(&format!(
        "{}scope?auth={}",
        portal.client_endpoint(),
        grant.access_token
    ));
    let text = format!(
        "{:?} {:?} {:?} {:?}",
        portal.requests(),
        portal.ledger(),
        portal.call(&call_id),
        portal.events()
    );
    assert!(!text.contains(DEFAULT_WEBHOOK_SECRET), "{text}");
    assert!(!text.contains(&grant.access_token), "{text}");
    assert!(!text.contains("2015550123"), "{text}");
    assert!(text.contains("+12015****23"), "{text}");
    assert_eq!(
        portal.ledger()[0].number,
        "+12015550123",
        "the fields keep everything"
    );
}

#[test]
fn other_paths_are_plain_404_pages() {
    let portal = start(fast());
    let r = get(&format!("{}/index.php", portal.base_url()));
    assert_eq!(r.status, 404);
    assert!(r.content_type.starts_with("text/html"));
    let r = get(&format!("{}/rest/", portal.base_url()));
    assert_eq!(r.status, 401, "OAuth route without a token");
}

#[test]
fn multipart_form_data_fields_are_read() {
    let portal = start(fast());
    let part = |name: &str, value: &str| {
        format!("--b0undary\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
    };
    let body = format!(
        "{}{}{}--b0undary--\r\n",
        part("FROM_LINE", "sip7"),
        part("TO_NUMBER", "+12015550100"),
        part("TEXT_TO_PRONOUNCE", "multi\npart")
    );
    let r = try_post(
        &agent(),
        &format!("{}{CALLBACK}", portal.webhook_url()),
        "multipart/form-data; boundary=b0undary",
        &body,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text);
    let e = &portal.ledger()[0];
    assert_eq!((e.line.as_str(), e.text.as_str()), ("sip7", "multi\npart"));
}
