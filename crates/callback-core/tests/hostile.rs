//! Hostile servers: each case starts a misbehaving server on loopback, runs one
//! `start_callback` against it in a child process, and asserts the error code and
//! `retry_safe`, that the call ended within its deadline, how many requests reached the server
//! (never a resend once a request may have executed), and the child's peak memory.
//!
//! Every case prints one `HOSTILE_ROW` line (run with `--nocapture` to see them).
#![cfg(unix)]

mod hostile_kit;

use std::io;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use callback_core::ErrorCode;
use hostile_kit::bodies::{BOMB_INFLATED, STARTED, answer, gzip_bomb, nested_json};
use hostile_kit::child::{self, Limits, Outcome};
use hostile_kit::server::{Authority, Conn, REST_PATH, Server};

/// The bound on the child's peak resident set.
const MAX_RSS: u64 = 64 << 20;
/// How far past its deadline a call may end (scheduling on a loaded machine).
const MARGIN: Duration = Duration::from_millis(500);
/// The size of the huge answers (the client reads at most 1 MiB of any answer).
const HUNDRED_MB: u64 = 100 << 20;
const JSON: &str = "Content-Type: application/json";

/// In the child process, this is the whole test run: one call against the address it was given.
#[test]
fn child_process() {
    if let Ok(webhook) = std::env::var(child::CHILD_ENV) {
        child::child_main(&webhook);
    }
}

/// What a case must show.
struct Expect {
    /// `None` for a success.
    code: Option<ErrorCode>,
    retry_safe: bool,
}

const OK: Expect = Expect {
    code: None,
    retry_safe: true,
};

fn err(code: ErrorCode, retry_safe: bool) -> Expect {
    Expect {
        code: Some(code),
        retry_safe,
    }
}

/// Runs the client against `webhook` and checks what every case must show; returns the outcome
/// for the case's own checks.
fn run(
    case: &str,
    webhook: &str,
    ca_pem: Option<&str>,
    limits: Limits,
    expect: Expect,
    requests: impl FnOnce() -> usize,
    expected_requests: usize,
) -> Outcome {
    let o = child::run(webhook, ca_pem, limits);
    let received = requests();
    println!(
        "HOSTILE_ROW | {case} | {} | {} | {received} | {} ms | {:.1} MiB |",
        o.code,
        o.retry_safe.map_or("-".into(), |r| r.to_string()),
        o.elapsed.as_millis(),
        o.max_rss_bytes as f64 / (1 << 20) as f64,
    );
    if !o.description.is_empty() {
        println!("  {}", o.description);
    }
    match expect.code {
        None => assert_eq!(o.code, "ok", "{case}: {o:?}"),
        Some(code) => {
            assert_eq!(o.code, code.as_str(), "{case}: {o:?}");
            assert_eq!(o.retry_safe, Some(expect.retry_safe), "{case}: {o:?}");
        }
    }
    assert_eq!(
        received, expected_requests,
        "{case}: requests received; {o:?}"
    );
    assert!(
        o.elapsed <= limits.deadline + MARGIN,
        "{case}: took {:?}, deadline {:?}",
        o.elapsed,
        limits.deadline
    );
    assert!(
        o.max_rss_bytes < MAX_RSS,
        "{case}: peak memory {} bytes",
        o.max_rss_bytes
    );
    assert!(
        !o.description.contains("hostile0secret42"),
        "{case}: the secret leaked: {o:?}"
    );
    o
}

/// One server, one call, `expected_requests` at that server.
fn case(
    name: &str,
    server: &Server,
    limits: Limits,
    expect: Expect,
    expected_requests: usize,
) -> Outcome {
    run(
        name,
        &server.webhook(),
        None,
        limits,
        expect,
        || server.requests(),
        expected_requests,
    )
}

/// Keeps the connection open and reads on: the next request, if any, is counted.
fn keep(c: Conn) -> io::Result<Option<Conn>> {
    Ok(Some(c))
}

fn started(mut c: Conn) -> io::Result<Option<Conn>> {
    c.send(&answer("200 OK", &[JSON], STARTED.as_bytes()))?;
    Ok(Some(c))
}

#[test]
fn well_behaved_server_control() {
    let s = Server::plain(started);
    case("control: a well-formed 200", &s, Limits::NORMAL, OK, 1);
}

#[test]
fn never_answers() {
    // Accepts, reads the whole request, says nothing, keeps the connection open.
    let s = Server::plain(keep);
    let o = case(
        "never answers",
        &s,
        Limits::NORMAL,
        err(ErrorCode::OutcomeUnknown, false),
        1,
    );
    assert!(o.elapsed >= Limits::NORMAL.timeout - MARGIN, "{o:?}");
}

#[test]
fn trickles_headers() {
    let s = Server::plain(|mut c| {
        c.trickle(
            &answer("200 OK", &[JSON], STARTED.as_bytes()),
            Duration::from_secs(1),
        )?;
        Ok(None)
    });
    case(
        "trickles the headers, 1 byte/s",
        &s,
        Limits::SHORT,
        err(ErrorCode::OutcomeUnknown, false),
        1,
    );
}

#[test]
fn trickles_body() {
    let s = Server::plain(|mut c| {
        c.send(
            format!(
                "HTTP/1.1 200 OK\r\n{JSON}\r\nContent-Length: {}\r\n\r\n",
                STARTED.len()
            )
            .as_bytes(),
        )?;
        c.trickle(STARTED.as_bytes(), Duration::from_secs(1))?;
        Ok(None)
    });
    case(
        "trickles the body, 1 byte/s",
        &s,
        Limits::SHORT,
        err(ErrorCode::OutcomeUnknown, false),
        1,
    );
}

/// A well-formed envelope exactly `len` bytes long whose `CALL_ID` is the padding, in pieces.
fn huge_envelope(len: u64, mut piece: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
    let (head, tail) = (br#"{"result":{"RESULT":true,"CALL_ID":""#, br#""}}"#);
    piece(head)?;
    let mut left = len - (head.len() + tail.len()) as u64;
    let block = vec![b'x'; 64 * 1024];
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        piece(&block[..n])?;
        left -= n as u64;
    }
    piece(tail)
}

#[test]
fn sends_100_mb_with_content_length() {
    let s = Server::plain(|mut c| {
        c.send(
            format!("HTTP/1.1 200 OK\r\n{JSON}\r\nContent-Length: {HUNDRED_MB}\r\n\r\n").as_bytes(),
        )?;
        huge_envelope(HUNDRED_MB, |p| c.send(p))?;
        Ok(None)
    });
    let o = case(
        "announces and sends 100 MB (Content-Length)",
        &s,
        Limits::NORMAL,
        err(ErrorCode::OutcomeUnknown, false),
        1,
    );
    assert!(o.description.contains("larger than 1048576 bytes"), "{o:?}");
    assert!(s.bytes_out() < HUNDRED_MB / 2, "sent {}", s.bytes_out());
    println!(
        "  server wrote {} bytes before the client hung up",
        s.bytes_out()
    );
}

#[test]
fn sends_100_mb_chunked() {
    let s = Server::plain(|mut c| {
        c.send(
            format!("HTTP/1.1 200 OK\r\n{JSON}\r\nTransfer-Encoding: chunked\r\n\r\n").as_bytes(),
        )?;
        huge_envelope(HUNDRED_MB, |p| {
            let mut chunk = format!("{:x}\r\n", p.len()).into_bytes();
            chunk.extend_from_slice(p);
            chunk.extend_from_slice(b"\r\n");
            c.send(&chunk)
        })?;
        c.send(b"0\r\n\r\n")?;
        Ok(None)
    });
    let o = case(
        "sends 100 MB chunked",
        &s,
        Limits::NORMAL,
        err(ErrorCode::OutcomeUnknown, false),
        1,
    );
    assert!(o.description.contains("larger than 1048576 bytes"), "{o:?}");
    assert!(s.bytes_out() < HUNDRED_MB / 2, "sent {}", s.bytes_out());
    println!(
        "  server wrote {} bytes before the client hung up",
        s.bytes_out()
    );
}

#[test]
fn gzip_bomb_body() {
    let bomb = Arc::new(gzip_bomb());
    let size = bomb.len();
    let s = Server::plain(move |mut c| {
        c.send(&answer("200 OK", &[JSON, "Content-Encoding: gzip"], &bomb))?;
        Ok(None)
    });
    let o = case(
        "gzip bomb (Content-Encoding: gzip, 1 MB inflating to 1 GiB)",
        &s,
        Limits::NORMAL,
        err(ErrorCode::OutcomeUnknown, false),
        1,
    );
    // Inflated, not refused as broken: the bomb is a valid stream, cut off at the limit.
    assert!(o.description.contains("larger than 1048576 bytes"), "{o:?}");
    println!("  bomb: {size} bytes inflating to {BOMB_INFLATED} bytes");
}

#[test]
fn hundred_thousand_header_lines() {
    let s = Server::plain(|mut c| {
        let mut head = String::from("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n");
        for i in 0..100_000 {
            head.push_str(&format!("X-Hostile-{i}: {i}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\n\r\n{STARTED}",
            STARTED.len()
        ));
        c.send(head.as_bytes())?;
        Ok(None)
    });
    case(
        "100,000 header lines",
        &s,
        Limits::NORMAL,
        err(ErrorCode::OutcomeUnknown, false),
        1,
    );
}

#[test]
fn json_nested_100_000_deep() {
    let s = Server::plain(|mut c| {
        c.send(&answer("200 OK", &[JSON], &nested_json(100_000)))?;
        Ok(Some(c))
    });
    case(
        "200 with JSON nested 100,000 deep",
        &s,
        Limits::NORMAL,
        err(ErrorCode::OutcomeUnknown, false),
        1,
    );
}

#[test]
fn invalid_utf8_body() {
    let s = Server::plain(|mut c| {
        let body = b"{\"result\":{\"RESULT\":true,\"CALL_ID\":\"\xff\xfe\xc0\xaf\"}}";
        c.send(&answer("200 OK", &[JSON], body))?;
        Ok(Some(c))
    });
    case(
        "200 with invalid UTF-8 in the envelope",
        &s,
        Limits::NORMAL,
        err(ErrorCode::OutcomeUnknown, false),
        1,
    );
}

#[test]
fn garbage_status_line() {
    let s = Server::plain(|mut c| {
        c.send(b"HTTP/1.1 two hundred OK\r\nContent-Length: 2\r\n\r\n{}")?;
        Ok(Some(c))
    });
    case(
        "garbage status line",
        &s,
        Limits::NORMAL,
        err(ErrorCode::OutcomeUnknown, false),
        1,
    );
}

#[test]
fn reset_mid_body() {
    let s = Server::plain(|mut c| {
        c.send(format!("HTTP/1.1 200 OK\r\n{JSON}\r\nContent-Length: 4096\r\n\r\n").as_bytes())?;
        c.send(&STARTED.as_bytes()[..40])?;
        std::thread::sleep(Duration::from_millis(100));
        c.reset();
        Ok(None)
    });
    case(
        "reset (RST) mid-body",
        &s,
        Limits::NORMAL,
        err(ErrorCode::OutcomeUnknown, false),
        1,
    );
}

/// The reset case really ends with a TCP reset (not a clean close): a plain socket sees it.
#[test]
fn kit_reset_is_a_tcp_reset() {
    use std::io::{Read, Write};
    let s = Server::plain(|mut c| {
        c.send(b"HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n{")?;
        std::thread::sleep(Duration::from_millis(100));
        c.reset();
        Ok(None)
    });
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", s.port())).unwrap();
    tcp.write_all(b"POST /rest/ HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 256];
    let mut got = 0;
    let error = loop {
        match tcp.read(&mut buf) {
            Ok(0) => panic!("a clean close, not a reset"),
            Ok(n) => got += n,
            Err(e) => break e,
        }
    };
    assert_eq!(error.kind(), io::ErrorKind::ConnectionReset, "{error}");
    assert!(got > 0, "the head arrived before the reset");
}

// TLS: the certificate is refused before any request byte is written, so nothing was sent and
// sending again cannot help: `transport`, retry-safe, one connection, no request.

fn tls_refused(name: &str, server: &Server, trusted: &Authority) {
    let o = run(
        name,
        &server.webhook(),
        Some(&trusted.ca_pem),
        Limits::NORMAL,
        err(ErrorCode::Transport, true),
        || server.requests(),
        0,
    );
    assert_eq!(
        server.connections(),
        1,
        "{name}: not retried in a loop; {o:?}"
    );
    assert!(o.elapsed < Duration::from_secs(1), "{name}: {o:?}");
}

#[test]
fn tls_unknown_ca() {
    let trusted = Authority::new("hostile trusted CA");
    let unknown = Authority::new("hostile unknown CA");
    let s = Server::tls(unknown.server_config(&["127.0.0.1"], false), started);
    tls_refused("TLS: certificate from an unknown CA", &s, &trusted);
}

#[test]
fn tls_expired_certificate() {
    let trusted = Authority::new("hostile trusted CA");
    let s = Server::tls(trusted.server_config(&["127.0.0.1"], true), started);
    tls_refused("TLS: expired certificate (trusted CA)", &s, &trusted);
}

#[test]
fn tls_wrong_host() {
    let trusted = Authority::new("hostile trusted CA");
    let s = Server::tls(
        trusted.server_config(&["portal.example.com"], false),
        started,
    );
    tls_refused(
        "TLS: certificate for another host (trusted CA)",
        &s,
        &trusted,
    );
}

#[test]
fn tls_handshake_never_answered() {
    // A TCP server that reads the ClientHello and never answers it.
    let s = Server::plain(keep);
    let webhook = format!("https://127.0.0.1:{}{REST_PATH}", s.port());
    let o = run(
        "TLS: handshake never answered",
        &webhook,
        None,
        Limits::NORMAL,
        err(ErrorCode::Transport, true),
        || s.requests(),
        0,
    );
    // Connect failures are retried (twice) only because nothing was sent.
    assert!(
        (1..=3).contains(&s.connections()),
        "{} connections; {o:?}",
        s.connections()
    );
    println!("  {} connections", s.connections());
}

#[test]
fn tls_control() {
    let trusted = Authority::new("hostile trusted CA");
    let s = Server::tls(trusted.server_config(&["127.0.0.1"], false), started);
    run(
        "control: TLS, a well-formed 200",
        &s.webhook(),
        Some(&trusted.ca_pem),
        Limits::NORMAL,
        OK,
        || s.requests(),
        1,
    );
}

// Redirects. Only a rename (301, 302, 308 to the same REST path on a base that is not less
// secure) is followed, once; anything else executed nothing (`portal_error`), except 303,
// which says the request was processed (`outcome_unknown`).

/// A server that answers every request with `status` and `Location: target + request path`
/// (`target` is set once the other servers exist).
fn redirector(
    tls: Option<&Authority>,
    status: &'static str,
    target: Arc<OnceLock<String>>,
) -> Server {
    let behave = move |mut c: Conn| {
        let location = format!("{}{}", target.get().unwrap(), c.path);
        let location_header = format!("Location: {location}");
        c.send(&answer(status, &[JSON, &location_header], b"{}"))?;
        Ok(Some(c))
    };
    match tls {
        None => Server::plain(behave),
        Some(ca) => Server::tls(ca.server_config(&["127.0.0.1", "localhost"], false), behave),
    }
}

/// `first` redirects to `second` (whose requests are counted too).
fn redirect_case(
    name: &str,
    first: &Server,
    second: &Server,
    ca: Option<&Authority>,
    expect: Expect,
    expected: (usize, usize),
) -> Outcome {
    let o = run(
        name,
        &first.webhook(),
        ca.map(|a| a.ca_pem.as_str()),
        Limits::NORMAL,
        expect,
        || first.requests() + second.requests(),
        expected.0 + expected.1,
    );
    assert_eq!(
        (first.requests(), second.requests()),
        expected,
        "{name}: requests at the first and second server"
    );
    o
}

fn target(value: String) -> Arc<OnceLock<String>> {
    let t = Arc::new(OnceLock::new());
    t.set(value).unwrap();
    t
}

#[test]
fn redirect_to_itself() {
    let to = Arc::new(OnceLock::new());
    let s = redirector(None, "301 Moved Permanently", to.clone());
    to.set(s.base()).unwrap();
    case(
        "301 to itself",
        &s,
        Limits::NORMAL,
        err(ErrorCode::PortalError, true),
        1,
    );
}

#[test]
fn redirect_loop_between_two_hosts() {
    let (to_b, to_a) = (Arc::new(OnceLock::new()), Arc::new(OnceLock::new()));
    let a = redirector(None, "301 Moved Permanently", to_b.clone());
    let b = redirector(None, "301 Moved Permanently", to_a.clone());
    to_b.set(b.base()).unwrap();
    to_a.set(a.base()).unwrap();
    // The first hop is a rename (one re-POST is allowed); the second is not followed.
    redirect_case(
        "301 loop A -> B -> A",
        &a,
        &b,
        None,
        err(ErrorCode::PortalError, true),
        (1, 1),
    );
}

#[test]
fn redirect_https_to_http() {
    let ca = Authority::new("hostile trusted CA");
    let plain = Server::plain(started);
    let to = target(format!("http://127.0.0.1:{}", plain.port()));
    let s = redirector(Some(&ca), "301 Moved Permanently", to);
    redirect_case(
        "301 from https to http",
        &s,
        &plain,
        Some(&ca),
        err(ErrorCode::PortalError, true),
        (1, 0),
    );
}

#[test]
fn redirect_to_userinfo() {
    let ca = Authority::new("hostile trusted CA");
    let other = Server::tls(ca.server_config(&["127.0.0.1"], false), started);
    let to = target(format!("https://user:hunter2pw@127.0.0.1:{}", other.port()));
    let s = redirector(Some(&ca), "301 Moved Permanently", to);
    let o = redirect_case(
        "301 to https://user:pw@...",
        &s,
        &other,
        Some(&ca),
        err(ErrorCode::PortalError, true),
        (1, 0),
    );
    assert!(!o.description.contains("hunter2pw"), "{o:?}");
}

#[test]
fn redirect_to_other_host_and_path() {
    let other = Server::plain(started);
    let s = Server::plain({
        let location = format!(
            "Location: http://localhost:{}/auth/?backurl=%2Frest%2F",
            other.port()
        );
        move |mut c| {
            c.send(&answer("301 Moved Permanently", &[JSON, &location], b"{}"))?;
            Ok(Some(c))
        }
    });
    redirect_case(
        "301 to another host, a non-REST path",
        &s,
        &other,
        None,
        err(ErrorCode::PortalError, true),
        (1, 0),
    );
}

#[test]
fn redirect_to_other_scheme() {
    let other = Server::plain(started);
    let to = target(format!("ftp://127.0.0.1:{}", other.port()));
    let s = redirector(None, "301 Moved Permanently", to);
    redirect_case(
        "301 to ftp://",
        &s,
        &other,
        None,
        err(ErrorCode::PortalError, true),
        (1, 0),
    );
}

#[test]
fn redirect_303() {
    let other = Server::plain(started);
    let s = redirector(None, "303 See Other", target(other.base()));
    redirect_case(
        "303 See Other",
        &s,
        &other,
        None,
        err(ErrorCode::OutcomeUnknown, false),
        (1, 0),
    );
}

#[test]
fn redirect_307() {
    let other = Server::plain(started);
    let s = redirector(None, "307 Temporary Redirect", target(other.base()));
    redirect_case(
        "307 Temporary Redirect",
        &s,
        &other,
        None,
        err(ErrorCode::PortalError, true),
        (1, 0),
    );
}

#[test]
fn redirect_rename_control() {
    let other = Server::plain(started);
    let s = redirector(None, "308 Permanent Redirect", target(other.base()));
    redirect_case(
        "control: 308 to another base, same REST path (a rename)",
        &s,
        &other,
        None,
        OK,
        (1, 1),
    );
}

#[test]
fn endless_informational_answers() {
    // `103 Early Hints` every 10 ms, never a final answer.
    let s = Server::plain(|mut c| {
        loop {
            c.send(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")?;
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    case(
        "endless 103 Early Hints, no final answer",
        &s,
        Limits::NORMAL,
        err(ErrorCode::OutcomeUnknown, false),
        1,
    );
}

#[test]
fn connection_refused() {
    // A port nobody listens on: refused before anything is sent, retried twice, then reported.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let webhook = format!("http://127.0.0.1:{port}{REST_PATH}");
    run(
        "connection refused",
        &webhook,
        None,
        Limits::NORMAL,
        err(ErrorCode::Transport, true),
        || 0,
        0,
    );
}

/// What decoding the largest allowed answer may add to the peak: its tree of values (about 32
/// bytes per value, half a million of them), held once.
const DECODE_GROWTH: u64 = 24 << 20;

#[test]
fn a_megabyte_of_tiny_values() {
    // Just under the 1 MiB limit: half a million JSON values to decode.
    let s = Server::plain(|mut c| {
        let mut body = br#"{"result":["#.to_vec();
        while body.len() < (1 << 20) - 8 {
            body.extend_from_slice(b"0,");
        }
        body.extend_from_slice(b"0]}");
        c.send(&answer("200 OK", &[JSON], &body))?;
        Ok(Some(c))
    });
    let o = case(
        "200 with 1 MiB of tiny JSON values",
        &s,
        Limits::NORMAL,
        err(ErrorCode::OutcomeUnknown, false),
        1,
    );
    let control = child::run(&Server::plain(started).webhook(), None, Limits::NORMAL);
    let growth = o.max_rss_bytes.saturating_sub(control.max_rss_bytes);
    println!(
        "  {:.1} MiB over a well-formed answer",
        growth as f64 / (1 << 20) as f64
    );
    assert!(growth < DECODE_GROWTH, "decoding added {growth} bytes");
}

#[test]
fn error_envelope_with_a_megabyte_of_text() {
    // A 400 envelope whose code and description are ~512 KiB each of text that looks like the
    // start of a credential parameter again and again (`authauth...`): the text is cleaned for
    // the error, and that cleaning must stay cheap.
    let s = Server::plain(|mut c| {
        let text = "auth".repeat(128 * 1024 - 16);
        let body = format!(r#"{{"error":"{text}","error_description":"{text}"}}"#);
        c.send(&answer("400 Bad Request", &[JSON], body.as_bytes()))?;
        Ok(Some(c))
    });
    let o = case(
        "400 envelope with 1 MiB of text to clean",
        &s,
        Limits::NORMAL,
        err(ErrorCode::PortalError, true),
        1,
    );
    assert!(o.description.len() < 1024, "{o:?}");
}
