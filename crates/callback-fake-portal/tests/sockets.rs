//! What a client sees on the socket: faults, TLS, keep-alive, concurrency, events, shutdown.

mod common;

use callback_fake_portal::*;
use common::*;
use serde_json::json;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use tokio_rustls::rustls;

fn callback_url(portal: &FakePortal) -> String {
    format!("{}{CALLBACK}.json", portal.webhook_url())
}

fn callback_path(portal: &FakePortal) -> String {
    let url = callback_url(portal);
    url[portal.base_url().len()..].to_string()
}

#[test]
fn delay_then_executes_and_a_short_client_timeout_fires() {
    let portal = start(fast());
    // The delay is well beyond the latest moment the emptiness check below can run (750 ms):
    // a slow machine must not see the delayed call executed "too early".
    portal.add_fault(Fault::once(
        FaultKind::Delay(Duration::from_millis(1200)),
        Some(CALLBACK),
    ));
    let impatient = agent_with_timeout(Duration::from_millis(200));
    let began = Instant::now();
    let err = try_post(
        &impatient,
        &callback_url(&portal),
        "application/json",
        &callback_body("+12015550100").to_string(),
    );
    assert!(
        matches!(err, Err(ureq::Error::Timeout(_))),
        "{:?}",
        err.err()
    );
    assert!(
        portal.ledger().is_empty(),
        "not executed before the delay is over"
    );
    assert!(began.elapsed() < Duration::from_millis(750));
    assert!(
        wait_until(Duration::from_secs(3), || portal.ledger().len() == 1),
        "executed after the delay"
    );

    // A patient client gets the normal answer late.
    portal.add_fault(Fault::once(
        FaultKind::Delay(Duration::from_millis(300)),
        None,
    ));
    let began = Instant::now();
    let r = post_json(&callback_url(&portal), &callback_body("+12015550100"));
    assert!(began.elapsed() >= Duration::from_millis(300));
    assert_eq!(r.status, 200);
    assert_eq!(portal.stats().faults_applied, 2);
}

#[test]
fn close_before_execute_drops_the_connection_and_places_nothing() {
    let portal = start(fast());
    portal.add_fault(Fault::once(FaultKind::CloseBeforeExecute, Some(CALLBACK)));
    let body = callback_body("+12015550100").to_string();
    let raw = raw_exchange(
        portal.local_addr(),
        &raw_json_request(&callback_path(&portal), "127.0.0.1", &body),
        Duration::from_secs(5),
    );
    assert!(
        raw.bytes.is_empty(),
        "no answer at all: {:?}",
        String::from_utf8_lossy(&raw.bytes)
    );
    assert!(!raw.timed_out, "closed, not hanging");
    assert!(portal.ledger().is_empty());
    assert_eq!(portal.requests()[0].status, None);
    // With an HTTP client it is a transport error, and the next request is normal.
    portal.add_fault(Fault::once(FaultKind::CloseBeforeExecute, None));
    assert!(try_post(&agent(), &callback_url(&portal), "application/json", &body).is_err());
    assert_eq!(
        post_json(&callback_url(&portal), &callback_body("+12015550100")).status,
        200
    );
    assert_eq!(portal.ledger().len(), 1);
}

#[test]
fn close_after_execute_places_the_call_but_never_answers() {
    let portal = start(fast());
    portal.add_fault(Fault::once(FaultKind::CloseAfterExecute, Some(CALLBACK)));
    let body = callback_body("+12015550100").to_string();
    let raw = raw_exchange(
        portal.local_addr(),
        &raw_json_request(&callback_path(&portal), "127.0.0.1", &body),
        Duration::from_secs(5),
    );
    assert!(raw.bytes.is_empty());
    assert!(!raw.timed_out);
    let ledger = portal.ledger();
    assert_eq!(ledger.len(), 1, "the call was placed");
    assert!(ledger[0].call_id.is_some());
}

#[test]
fn html_gateway_errors() {
    let portal = start(fast());
    portal.add_fault(Fault::once(FaultKind::Html502, Some(CALLBACK)));
    let r = post_json(&callback_url(&portal), &callback_body("+12015550100"));
    assert_eq!(r.status, 502);
    assert!(r.content_type.starts_with("text/html"));
    assert!(r.text.starts_with("<html>") && r.text.contains("502 Bad Gateway"));
    assert!(serde_json::from_str::<serde_json::Value>(&r.text).is_err());
    assert!(portal.ledger().is_empty(), "502: not executed");

    portal.add_fault(Fault::once(FaultKind::Html504, Some(CALLBACK)));
    let r = post_json(&callback_url(&portal), &callback_body("+12015550100"));
    assert_eq!(r.status, 504);
    assert!(r.text.contains("504 Gateway Time-out"));
    assert_eq!(portal.ledger().len(), 1, "504: executed behind the gateway");
}

#[test]
fn truncated_json_announces_the_full_length_and_sends_half() {
    let portal = start(fast());
    portal.add_fault(Fault::once(FaultKind::TruncatedJson, Some(CALLBACK)));
    let body = callback_body("+12015550100").to_string();
    let raw = raw_exchange(
        portal.local_addr(),
        &raw_json_request(&callback_path(&portal), "127.0.0.1", &body),
        Duration::from_secs(5),
    );
    assert!(!raw.timed_out);
    let (status, headers, got) = split_response(&raw.bytes);
    assert_eq!(status, 200);
    let announced: usize = header(&headers, "content-length").unwrap().parse().unwrap();
    assert_eq!(got.len(), announced / 2);
    assert!(got.starts_with(b"{\""));
    assert!(serde_json::from_slice::<serde_json::Value>(&got).is_err());
    assert_eq!(portal.ledger().len(), 1, "executed");

    // An HTTP client fails while reading the body.
    portal.add_fault(Fault::once(FaultKind::TruncatedJson, None));
    assert!(try_post(&agent(), &callback_url(&portal), "application/json", &body).is_err());
    assert_eq!(portal.ledger().len(), 2);
}

#[test]
fn rename_redirects_to_localhost_until_cleared() {
    let portal = start(fast());
    portal.add_fault(Fault::once(FaultKind::Rename, None));
    let url = format!("{}?x=1", callback_url(&portal));
    for _ in 0..2 {
        let r = post_json(&url, &callback_body("+12015550100"));
        assert_eq!(r.status, 302);
        let port = portal.local_addr().port();
        let expected =
            format!("http://localhost:{port}/rest/1/{DEFAULT_WEBHOOK_SECRET}/{CALLBACK}.json?x=1");
        assert_eq!(r.location.as_deref(), Some(expected.as_str()));
    }
    assert!(portal.ledger().is_empty());
    // The new host is served normally (sent to 127.0.0.1 with Host: localhost so the test does
    // not depend on how this machine resolves "localhost").
    let body = callback_body("+12015550100").to_string();
    let host = format!("localhost:{}", portal.local_addr().port());
    let raw = raw_exchange(
        portal.local_addr(),
        &raw_json_request_close(&callback_path(&portal), &host, &body),
        Duration::from_secs(5),
    );
    assert!(!raw.timed_out);
    let (status, _, _) = split_response(&raw.bytes);
    assert_eq!(status, 200);
    assert_eq!(portal.ledger().len(), 1);
    assert_eq!(portal.requests().last().unwrap().host, host);
    // Other faults still apply on the new host.
    portal.add_fault(Fault::once(FaultKind::Html502, Some(CALLBACK)));
    let raw = raw_exchange(
        portal.local_addr(),
        &raw_json_request_close(&callback_path(&portal), &host, &body),
        Duration::from_secs(5),
    );
    assert_eq!(split_response(&raw.bytes).0, 502);
    portal.clear_faults();
    assert_eq!(post_json(&url, &callback_body("+12015550100")).status, 200);
}

#[test]
fn forced_limit_and_overload_answers() {
    let portal = start(fast());
    let cases = [
        (
            FaultKind::Overload,
            503,
            "OVERLOAD_LIMIT",
            "REST API is blocked due to overload.",
        ),
        (
            FaultKind::QueryLimit,
            503,
            "QUERY_LIMIT_EXCEEDED",
            "Too many requests",
        ),
        (
            FaultKind::OperationTimeLimit,
            429,
            "OPERATION_TIME_LIMIT",
            "Method is blocked due to operation time limit.",
        ),
    ];
    for (kind, status, code, text) in cases {
        portal.add_fault(Fault::once(kind, Some(CALLBACK)));
        let r = post_json(&callback_url(&portal), &callback_body("+12015550100"));
        assert_eq!(r.status, status, "{code}");
        assert_eq!(r.json(), error_body(code, text));
    }
    assert!(portal.ledger().is_empty());
    let stats = portal.stats();
    assert_eq!(stats.rate_limited, 1);
    assert_eq!(stats.operation_time_limited, 1);
}

#[test]
fn faults_match_method_and_count() {
    let portal = start(fast());
    portal.add_fault(Fault {
        kind: FaultKind::Html502,
        method: Some("VOXIMPLANT.CALLBACK.START.json".into()),
        times: 2,
        host: None,
    });
    let line_get = format!("{}voximplant.line.get", portal.webhook_url());
    assert_eq!(get(&line_get).status, 200, "other methods unaffected");
    let statuses: Vec<u16> = (0..3)
        .map(|_| post_json(&callback_url(&portal), &callback_body("+12015550100")).status)
        .collect();
    assert_eq!(statuses, vec![502, 502, 200]);

    // times = 0: until cleared; faults queue first in, first out.
    portal.add_fault(Fault {
        kind: FaultKind::Overload,
        method: None,
        times: 0,
        host: None,
    });
    for _ in 0..3 {
        assert_eq!(get(&line_get).status, 503);
    }
    portal.clear_faults();
    assert_eq!(get(&line_get).status, 200);

    // The token endpoint is only faulted by its explicit name.
    portal.add_fault(Fault::once(FaultKind::Html502, None));
    let r = post_form(&portal.token_url(), "grant_type=refresh_token");
    assert_eq!(r.status, 401, "None does not match the token endpoint");
    portal.clear_faults();
    portal.add_fault(Fault::once(FaultKind::Html504, Some("oauth.token")));
    assert_eq!(
        post_form(&portal.token_url(), "grant_type=refresh_token").status,
        504
    );

    // The admin endpoint is never faulted.
    portal.add_fault(Fault {
        kind: FaultKind::CloseBeforeExecute,
        method: None,
        times: 0,
        host: None,
    });
    assert_eq!(get(&format!("{}stats", portal.admin_url())).status, 200);
}

#[test]
fn admin_endpoint_scripts_faults() {
    let portal = start(fast());
    let r = post_json(
        &format!("{}faults", portal.admin_url()),
        &json!({"kind": "close_after_execute", "method": CALLBACK, "times": 1, "delay_ms": 0}),
    );
    assert_eq!(r.status, 200);
    assert!(
        try_post(
            &agent(),
            &callback_url(&portal),
            "application/json",
            &callback_body("+12015550100").to_string()
        )
        .is_err()
    );
    assert_eq!(portal.ledger().len(), 1);
    post_json(
        &format!("{}faults", portal.admin_url()),
        &json!({"kind": "rename"}),
    );
    assert_eq!(
        post_json(&callback_url(&portal), &callback_body("+12015550100")).status,
        302
    );
    delete(&format!("{}faults", portal.admin_url()));
    assert_eq!(
        post_json(&callback_url(&portal), &callback_body("+12015550100")).status,
        200
    );
}

fn tls_agent(ca_pem: Option<&str>) -> ureq::Agent {
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(pem) = ca_pem {
        let cert = ureq::tls::Certificate::from_pem(pem.as_bytes()).unwrap();
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&[cert]));
    }
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(10)))
        .tls_config(tls.build())
        .build()
        .into()
}

#[test]
fn https_with_the_generated_ca() {
    let portal = start(FakePortalConfig {
        tls: true,
        ..fast()
    });
    assert!(portal.base_url().starts_with("https://127.0.0.1:"));
    let pem = portal.ca_pem().expect("a CA with TLS");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let r = try_post(
        &tls_agent(Some(&pem)),
        &callback_url(&portal),
        "application/json",
        &callback_body("+12015550100").to_string(),
    )
    .expect("TLS with the CA");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(portal.ledger().len(), 1);
    let info = get_tls(&pem, &format!("{}info", portal.admin_url()));
    assert_eq!(info["ca_pem"], json!(pem));

    // Without the CA the handshake fails and nothing is executed.
    let err = try_post(
        &tls_agent(None),
        &callback_url(&portal),
        "application/json",
        &callback_body("+12015550100").to_string(),
    );
    assert!(err.is_err());
    assert_eq!(portal.ledger().len(), 1);
    // Plain HTTP to the HTTPS port gets nothing useful either.
    assert!(
        try_post(
            &agent_with_timeout(Duration::from_secs(3)),
            &callback_url(&portal).replace("https://", "http://"),
            "application/json",
            "{}"
        )
        .map(|r| r.status)
        .unwrap_or(0)
            != 200
    );
}

fn get_tls(pem: &str, url: &str) -> serde_json::Value {
    let mut r = tls_agent(Some(pem)).get(url).call().unwrap();
    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
}

/// A raw rustls client that trusts only the given roots; returns the first response line.
fn rustls_get(
    portal: &FakePortal,
    roots: rustls::RootCertStore,
    name: &str,
) -> Result<String, String> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let server_name = rustls::pki_types::ServerName::try_from(name.to_string()).unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), server_name).unwrap();
    let tcp = TcpStream::connect(portal.local_addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let req = format!(
        "GET /rest/1/{DEFAULT_WEBHOOK_SECRET}/scope HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n"
    );
    tls.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out);
    if out.is_empty() {
        return Err("no answer".into());
    }
    Ok(String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or("")
        .to_string())
}

#[test]
fn rustls_client_trusting_only_the_ca_verifies_both_names() {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let portal = start(FakePortalConfig {
        tls: true,
        ..fast()
    });
    let pem = portal.ca_pem().unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    assert_eq!(
        rustls_get(&portal, roots.clone(), "127.0.0.1").unwrap(),
        "HTTP/1.1 200 OK"
    );
    assert_eq!(
        rustls_get(&portal, roots, "localhost").unwrap(),
        "HTTP/1.1 200 OK"
    );
    assert!(rustls_get(&portal, rustls::RootCertStore::empty(), "127.0.0.1").is_err());
    // Another portal's CA does not work either.
    let other = start(FakePortalConfig {
        tls: true,
        ..fast()
    });
    let mut other_roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(other.ca_pem().unwrap().as_bytes()) {
        other_roots.add(cert.unwrap()).unwrap();
    }
    assert!(rustls_get(&portal, other_roots, "127.0.0.1").is_err());
}

#[test]
fn rename_over_https_keeps_the_scheme() {
    let portal = start(FakePortalConfig {
        tls: true,
        ..fast()
    });
    portal.add_fault(Fault::once(FaultKind::Rename, Some(CALLBACK)));
    let pem = portal.ca_pem().unwrap();
    let r = try_post(
        &tls_agent(Some(&pem)),
        &callback_url(&portal),
        "application/json",
        "{}",
    )
    .unwrap();
    assert_eq!(r.status, 302);
    assert!(r.location.unwrap().starts_with(&format!(
        "https://localhost:{}/rest/",
        portal.local_addr().port()
    )));
}

/// Reads one HTTP response with a Content-Length body from a buffered stream.
fn read_response(reader: &mut BufReader<TcpStream>) -> (u16, String) {
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).unwrap();
    (status, String::from_utf8(body).unwrap())
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let portal = start(fast());
    let stream = TcpStream::connect(portal.local_addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let path = callback_path(&portal);
    for i in 0..5 {
        let body = callback_body(&format!("+120155501{:02}", 10 + i)).to_string();
        writer
            .write_all(&raw_json_request(&path, "127.0.0.1", &body))
            .unwrap();
        let (status, text) = read_response(&mut reader);
        assert_eq!(status, 200, "{text}");
        assert!(text.contains("CALL_ID"));
    }
    // Pipelined: two requests written at once, two answers in order.
    let mut both = raw_json_request(&path, "127.0.0.1", "{}");
    both.extend(raw_json_request(
        &path,
        "127.0.0.1",
        &callback_body("+12015550100").to_string(),
    ));
    writer.write_all(&both).unwrap();
    assert_eq!(read_response(&mut reader).0, 400);
    assert_eq!(read_response(&mut reader).0, 200);
    assert_eq!(portal.ledger().len(), 6);
}

#[test]
fn fifty_concurrent_clients_and_a_sleeping_request_blocks_nobody() {
    let portal = start(FakePortalConfig {
        burst: 1000,
        ..fast()
    });
    let nap = Duration::from_millis(2000);
    portal.add_fault(Fault::once(
        FaultKind::Delay(nap),
        Some("voximplant.tts.voices.get"),
    ));
    let slow_url = format!("{}voximplant.tts.voices.get", portal.webhook_url());
    let slow = std::thread::spawn(move || {
        let r = get(&slow_url);
        (r.status, Instant::now())
    });
    assert!(wait_until(Duration::from_secs(2), || portal
        .stats()
        .faults_applied
        == 1));
    let barrier = Arc::new(Barrier::new(50));
    let url = callback_url(&portal);
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let (barrier, url) = (barrier.clone(), url.clone());
            std::thread::spawn(move || {
                let agent = agent();
                barrier.wait();
                let statuses = (0..3)
                    .map(|j| {
                        let body = callback_body(&format!("+1{}55501{j:02}", 202 + i)).to_string();
                        try_post(&agent, &url, "application/json", &body)
                            .unwrap()
                            .status
                    })
                    .collect::<Vec<u16>>();
                (statuses, Instant::now())
            })
        })
        .collect();
    let quick: Vec<(Vec<u16>, Instant)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let (status, slow_done) = slow.join().unwrap();
    assert_eq!(status, 200);
    for (statuses, done) in &quick {
        assert_eq!(statuses, &vec![200, 200, 200]);
        assert!(
            *done < slow_done,
            "every quick client finished while the slow request slept"
        );
    }
    let ledger = portal.ledger();
    assert_eq!(ledger.len(), 150);
    let mut ids: Vec<_> = ledger.iter().map(|e| e.call_id.clone().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 150, "every CALL_ID is unique");
}

/// A one-thread HTTP handler: answers 200 to each POST and forwards the form fields.
fn event_handler() -> (String, mpsc::Receiver<HashMap<String, String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/b24/events?src=test",
        listener.local_addr().unwrap()
    );
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut length = 0usize;
            let mut content_type = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        length = v.trim().parse().unwrap();
                    }
                    if k.eq_ignore_ascii_case("content-type") {
                        content_type = v.trim().to_string();
                    }
                }
            }
            let mut body = vec![0u8; length];
            reader.read_exact(&mut body).unwrap();
            let mut fields: HashMap<String, String> =
                form_urlencoded::parse(&body).into_owned().collect();
            fields.insert("_request_line".into(), request_line.trim().to_string());
            fields.insert("_content_type".into(), content_type);
            let mut stream = stream;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            if tx.send(fields).is_err() {
                return;
            }
        }
    });
    (url, rx)
}

#[test]
fn telephony_events_reach_a_registered_handler_in_order() {
    let (url, rx) = event_handler();
    let portal = start(FakePortalConfig {
        event_handler: Some(url.clone()),
        ..fast()
    });
    let call_id = place_call(&portal, "+12015550123");
    let wait = Duration::from_secs(5);
    let init = rx.recv_timeout(wait).unwrap();
    let start_ev = rx.recv_timeout(wait).unwrap();
    let end = rx.recv_timeout(wait).unwrap();
    assert_eq!(init["_request_line"], "POST /b24/events?src=test HTTP/1.1");
    assert_eq!(init["_content_type"], "application/x-www-form-urlencoded");
    assert_eq!(init["event"], "ONVOXIMPLANTCALLINIT");
    assert_eq!(init["data[CALL_ID]"], call_id);
    assert_eq!(init["data[CALL_TYPE]"], "4");
    assert_eq!(init["data[ACCOUNT_SEARCH_ID]"], "reg1");
    assert_eq!(init["data[PHONE_NUMBER]"], "+12015550123");
    assert_eq!(init["auth[application_token]"], DEFAULT_APPLICATION_TOKEN);
    assert_eq!(init["auth[member_id]"], portal.member_id());
    assert_eq!(
        init["auth[domain]"],
        format!("127.0.0.1:{}", portal.local_addr().port())
    );
    assert_eq!(init["auth[client_endpoint]"], portal.client_endpoint());
    assert!(init["ts"].parse::<i64>().unwrap() > 1_700_000_000);
    assert!(init.contains_key("event_handler_id"));
    assert_eq!(start_ev["event"], "ONVOXIMPLANTCALLSTART");
    assert_eq!(start_ev["data[CALL_ID]"], call_id);
    assert_eq!(start_ev["data[USER_ID]"], "1");
    assert_eq!(end["event"], "ONVOXIMPLANTCALLEND");
    assert_eq!(end["data[CALL_ID]"], call_id);
    assert_eq!(end["data[CALL_FAILED_CODE]"], "200");
    assert_eq!(end["data[CALL_DURATION]"], "42");
    assert_eq!(end["data[PORTAL_NUMBER]"], "reg1");
    assert_eq!(end["data[CALL_TYPE]"], "4");
    // The statistic record exists by the time the END event arrives.
    let r = get(&format!(
        "{}voximplant.statistic.get?FILTER[CALL_ID]={call_id}",
        portal.webhook_url()
    ));
    assert_eq!(r.json()["total"], json!(1));
    assert!(wait_until(Duration::from_secs(2), || portal
        .stats()
        .events_delivered
        == 3));
    let events = portal.events();
    assert_eq!(events.len(), 3);
    assert!(
        events
            .iter()
            .all(|e| e.status == Some(200) && e.handler_url == url)
    );
}

#[test]
fn events_registered_through_the_admin_endpoint_with_a_token() {
    let (url, rx) = event_handler();
    let portal = start(fast());
    let r = post_json(
        &format!("{}events", portal.admin_url()),
        &json!({"handler_url": url, "application_token": "tok-for-this-test"}),
    );
    assert_eq!(r.status, 200);
    // A bad registration is refused as a whole: the handler in place is kept.
    let r = post_json(
        &format!("{}events", portal.admin_url()),
        &json!({"handler_url": null, "application_token": 7}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(portal.config().event_handler.as_deref(), Some(url.as_str()));
    assert_eq!(portal.config().application_token, "tok-for-this-test");
    let call_id = place_call(&portal, "+12015550101");
    let wait = Duration::from_secs(5);
    let init = rx.recv_timeout(wait).unwrap();
    let end = rx.recv_timeout(wait).unwrap();
    assert_eq!(init["event"], "ONVOXIMPLANTCALLINIT");
    assert_eq!(init["auth[application_token]"], "tok-for-this-test");
    assert_eq!(end["event"], "ONVOXIMPLANTCALLEND", "busy: no CALLSTART");
    assert_eq!(end["data[CALL_ID]"], call_id);
    assert_eq!(end["data[CALL_FAILED_CODE]"], "486");
    assert_eq!(end["data[CALL_DURATION]"], "0");
    let listed = get(&format!("{}events", portal.admin_url())).json();
    assert!(
        wait_until(Duration::from_secs(2), || get(&format!(
            "{}events",
            portal.admin_url()
        ))
        .json()["events"]
            .as_array()
            .unwrap()
            .len()
            == 2),
        "{listed}"
    );

    // A handler that is gone counts as a failed delivery; the call still completes.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/", dead.local_addr().unwrap());
    drop(dead);
    post_json(
        &format!("{}events", portal.admin_url()),
        &json!({"handler_url": dead_url}),
    );
    let id = place_call(&portal, "+12015550100");
    assert!(wait_until(Duration::from_secs(5), || portal
        .call(&id)
        .unwrap()
        .stage
        == CallStage::Ended));
    assert!(wait_until(Duration::from_secs(2), || portal
        .stats()
        .events_failed
        >= 3));
    assert!(
        portal
            .events()
            .iter()
            .any(|e| e.status.is_none() && e.error.is_some())
    );
}

#[test]
fn drop_shuts_the_server_down() {
    let portal = start(fast());
    let addr = portal.local_addr();
    // An idle keep-alive connection must not keep it alive.
    let idle = TcpStream::connect(addr).unwrap();
    drop(portal);
    assert!(
        TcpStream::connect(addr).is_err(),
        "nothing listens any more"
    );
    drop(idle);
}

#[test]
fn rest_app_line_hands_the_call_to_the_app_by_event() {
    let (url, rx) = event_handler();
    let portal = start(FakePortalConfig {
        event_handler: Some(url),
        ..fast()
    });
    let mut body = callback_body("+12015550100");
    body["FROM_LINE"] = json!("REST_APP:1");
    let r = post_json(&callback_url(&portal), &body);
    assert_eq!(r.json()["result"]["CALL_ID"], serde_json::Value::Null);
    let ev = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(ev["event"], "ONEXTERNALCALLBACKSTART");
    assert_eq!(ev["data[PHONE_NUMBER]"], "+12015550100");
    assert_eq!(ev["data[LINE_NUMBER]"], "REST_APP:1");
    assert_eq!(ev["data[TEXT]"], "A visitor asked for a call back");
    assert_eq!(ev["data[VOICE]"], "usenglishfemale");
    assert_eq!(ev["auth[application_token]"], DEFAULT_APPLICATION_TOKEN);
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "no call events follow"
    );
}

#[test]
fn the_handle_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FakePortal>();
    let portal = Arc::new(start(fast()));
    let p2 = portal.clone();
    let id = std::thread::spawn(move || place_call(&p2, "+12015550100"))
        .join()
        .unwrap();
    assert!(portal.call(&id).is_some());
}
