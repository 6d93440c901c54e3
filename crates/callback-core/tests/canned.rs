//! The client against a tiny canned HTTP server on a real socket, for answers the fake portal
//! does not produce: "Phone number is not correct", oversized bodies, odd redirects, an
//! operating-limit reset that falls inside the deadline.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use callback_core::{Auth, Client, ErrorCode};
use common::{fast, request};

/// Serves `answers` in order, one per connection (`Connection: close`), and records how many
/// requests arrived.
fn canned(answers: Vec<(u16, Vec<u8>, Option<String>)>) -> (String, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(Mutex::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for (status, body, location) in answers {
            let Ok((mut sock, _)) = listener.accept() else {
                return;
            };
            // Read the request head and body (Content-Length).
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = sock.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break;
                    }
                }
            }
            *seen.lock().unwrap() += 1;
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            if let Some(l) = location {
                head.push_str(&format!("Location: {l}\r\n"));
            }
            head.push_str("\r\n");
            let _ = sock.write_all(head.as_bytes());
            let _ = sock.write_all(&body);
        }
    });
    (
        format!("http://127.0.0.1:{port}/rest/1/cannedsecret/"),
        count,
    )
}

fn client(url: &str) -> Client {
    fast(Client::builder(Auth::webhook(url).unwrap()))
        .build()
        .unwrap()
}

#[test]
fn number_rejected_over_the_wire() {
    let (url, count) = canned(vec![(
        400,
        br#"{"error":"","error_description":"Phone number is not correct"}"#.to_vec(),
        None,
    )]);
    let e = client(&url)
        .start_callback(&request("+12015550133"))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NumberRejected);
    assert!(e.retry_safe());
    assert_eq!(e.bitrix_code(), Some(""));
    assert_eq!(*count.lock().unwrap(), 1);
}

#[test]
fn oversized_answer_is_outcome_unknown() {
    let mut big = br#"{"result":{"RESULT":true,"CALL_ID":"x"},"pad":""#.to_vec();
    big.extend(std::iter::repeat_n(b'a', 2 * 1024 * 1024));
    big.extend_from_slice(br#""}"#);
    let (url, count) = canned(vec![(200, big, None)]);
    let e = client(&url)
        .start_callback(&request("+12015550134"))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::OutcomeUnknown, "{e}");
    assert!(!e.retry_safe());
    assert_eq!(*count.lock().unwrap(), 1);
}

#[test]
fn redirect_to_plain_http_elsewhere_is_refused() {
    let (url, count) = canned(vec![(
        302,
        Vec::new(),
        Some("http://portal.example.com/rest/1/cannedsecret/voximplant.callback.start".into()),
    )]);
    let e = client(&url)
        .start_callback(&request("+12015550135"))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::PortalError, "{e}");
    assert!(e.retry_safe());
    assert_eq!(e.http_status(), Some(302));
    assert_eq!(*count.lock().unwrap(), 1);
}

#[test]
fn operating_limit_waits_for_a_reset_inside_the_deadline() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let ok = |reset: u64| {
        format!(
            r#"{{"result":{{"RESULT":true,"CALL_ID":"c{reset}"}},"time":{{"start":1,"operating":470.5,"operating_reset_at":{reset}}}}}"#
        )
        .into_bytes()
    };
    let (url, count) = canned(vec![
        (200, ok(now + 1), None),
        (
            429,
            br#"{"error":"OPERATION_TIME_LIMIT","error_description":"Method is blocked due to operation time limit."}"#
                .to_vec(),
            None,
        ),
        (200, ok(now + 600), None),
    ]);
    let c = client(&url);
    c.start_callback(&request("+12015550136")).unwrap();
    let s = c.start_callback(&request("+12015550137")).unwrap();
    assert_eq!(
        s.timing.attempts, 2,
        "waited for the reset, then sent again"
    );
    assert_eq!(*count.lock().unwrap(), 3);
}

#[test]
fn webhook_secret_is_not_in_transport_errors() {
    let (url, _) = canned(vec![]);
    // The server accepts nothing: wait for the listener thread to drop it.
    std::thread::sleep(Duration::from_millis(50));
    let e = client(&url)
        .start_callback(&request("+12015550138"))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Transport, "{e}");
    assert!(!format!("{e} {e:?}").contains("cannedsecret"));
}

/// A portal's absurd reset time (far beyond any `Instant`) is reported, not a panic.
#[test]
fn operating_limit_with_an_absurd_reset_time_is_reported() {
    let (url, count) = canned(vec![(
        429,
        br#"{"error":"OPERATION_TIME_LIMIT","error_description":"Method is blocked due to operation time limit.","time":{"operating":480,"operating_reset_at":1e300}}"#
            .to_vec(),
        None,
    )]);
    let e = client(&url)
        .start_callback(&request("+12015550139"))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::OperationTimeLimit, "{e}");
    assert!(e.retry_safe());
    assert_eq!(e.operating_reset_at(), Some(i64::MAX));
    assert_eq!(
        *count.lock().unwrap(),
        1,
        "the reset is beyond the deadline: not resent"
    );
}
