//! Helpers shared by the integration tests: a plain HTTP client (ureq, no redirects, statuses
//! as values) and raw sockets for what a client library would hide.
#![allow(dead_code)]

use callback_fake_portal::{FakePortal, FakePortalConfig};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

pub const CALLBACK: &str = "voximplant.callback.start";

pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub location: Option<String>,
    pub application: Option<String>,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }
}

pub fn agent_with_timeout(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

pub fn agent() -> ureq::Agent {
    agent_with_timeout(Duration::from_secs(10))
}

fn finish(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Resp, ureq::Error> {
    let mut r = r?;
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type").unwrap_or_default();
    let location = header("location");
    let application = header("x-bitrix-rest-application");
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string()?;
    Ok(Resp {
        status,
        content_type,
        location,
        application,
        text,
    })
}

pub fn try_post(
    agent: &ureq::Agent,
    url: &str,
    content_type: &str,
    body: &str,
) -> Result<Resp, ureq::Error> {
    finish(
        agent
            .post(url)
            .header("Content-Type", content_type)
            .header("User-Agent", "fake-portal-tests/1")
            .send(body),
    )
}

pub fn post_json(url: &str, body: &Value) -> Resp {
    try_post(&agent(), url, "application/json", &body.to_string()).expect("request failed")
}

pub fn post_form(url: &str, body: &str) -> Resp {
    try_post(&agent(), url, "application/x-www-form-urlencoded", body).expect("request failed")
}

pub fn get(url: &str) -> Resp {
    finish(agent().get(url).call()).expect("request failed")
}

pub fn delete(url: &str) -> Resp {
    finish(agent().delete(url).call()).expect("request failed")
}

/// Fast simulated calls for tests.
pub fn fast() -> FakePortalConfig {
    FakePortalConfig {
        stage_duration: Duration::from_millis(20),
        ..FakePortalConfig::default()
    }
}

pub fn start(config: FakePortalConfig) -> FakePortal {
    FakePortal::start(config).expect("fake portal starts")
}

pub fn callback_body(number: &str) -> Value {
    serde_json::json!({
        "FROM_LINE": "reg1",
        "TO_NUMBER": number,
        "TEXT_TO_PRONOUNCE": "A visitor asked for a call back",
        "VOICE": "usenglishfemale",
    })
}

/// Starts a callback through the webhook and returns the CALL_ID.
pub fn place_call(portal: &FakePortal, number: &str) -> String {
    let r = post_json(
        &format!("{}{CALLBACK}.json", portal.webhook_url()),
        &callback_body(number),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["result"]["CALL_ID"]
        .as_str()
        .expect("CALL_ID")
        .to_string()
}

pub fn error_body(code: &str, text: &str) -> Value {
    serde_json::json!({"error": code, "error_description": text})
}

/// Polls `check` until it returns true or `limit` passes.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    check()
}

/// What a raw socket saw: the bytes before the peer closed, and whether it was a reset.
pub struct Raw {
    pub bytes: Vec<u8>,
    pub reset: bool,
    pub timed_out: bool,
}

pub fn raw_exchange(addr: SocketAddr, request: &[u8], timeout: Duration) -> Raw {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(timeout)).unwrap();
    s.write_all(request).expect("write");
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) => {
                return Raw {
                    bytes,
                    reset: false,
                    timed_out: false,
                };
            }
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Raw {
                    bytes,
                    reset: false,
                    timed_out: true,
                };
            }
            Err(_) => {
                return Raw {
                    bytes,
                    reset: true,
                    timed_out: false,
                };
            }
        }
    }
}

/// A raw HTTP/1.1 request with a JSON body.
pub fn raw_json_request(path: &str, host: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Splits a raw answer into (status, headers lower-cased, body).
pub fn split_response(bytes: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("complete header block");
    let head = String::from_utf8_lossy(&bytes[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, bytes[end + 4..].to_vec())
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Like [`raw_json_request`], asking the server to close after answering.
pub fn raw_json_request_close(path: &str, host: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
