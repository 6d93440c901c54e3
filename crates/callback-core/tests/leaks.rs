//! Every error path with every secret in play, and the most verbose logging: no webhook secret,
//! token, client secret, application token, Redis password or full number comes out, whether in
//! a log record, an error's text or parts, or a `Debug` form.
//!
//! A test binary of its own: it installs a process-wide logger at `Trace`. Two libraries under
//! the client log on their own when their `Trace` level is on: ureq shows the headers a server
//! sent (a `Location` that echoes the request path holds a webhook's secret), the phone-number
//! library the numbers it parses. The crate docs tell applications to keep those two below
//! `Trace`; this test checks every other record at every level, and theirs as an application
//! that follows that advice sees them (each record of theirs is checked unless it was written
//! at `Trace` or is ureq's dump of a response).

mod common;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use callback_core::{
    Auth, CallbackRequest, Client, DestinationPolicy, Error, ErrorCode, RateLimit, parse_event,
};
use callback_fake_portal::{Fault, FaultKind};
use common::*;

const START: &str = "voximplant.callback.start";

struct Record {
    level: log::Level,
    target: String,
    text: String,
}

struct Capture(Mutex<Vec<Record>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        self.0.lock().unwrap().push(Record {
            level: record.level(),
            target: record.target().to_owned(),
            text: format!("{}", record.args()),
        });
    }
    fn flush(&self) {}
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let c: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        log::set_logger(c).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
        c
    })
}

/// What ureq and the phone-number library write only because their `Trace` level is on.
fn left_to_the_application(r: &Record) -> bool {
    let below = r.target.starts_with("ureq") || r.target.starts_with("rlibphonenumber");
    below && (r.level == log::Level::Trace || r.text.starts_with("Response {"))
}

/// What a test collects: the values that must not come out, and the texts that must not
/// contain them.
#[derive(Default)]
struct Watch {
    secrets: Vec<String>,
    numbers: Vec<String>,
    texts: Vec<String>,
}

impl Watch {
    fn secret(&mut self, s: impl Into<String>) {
        self.secrets.push(s.into());
    }
    /// A number in play: its E.164 digits without the `+`, its national digits (which also
    /// cover the digits after the country code) and its last seven digits, as printed locally.
    fn number(&mut self, e164: &str) {
        let digits = e164.trim_start_matches('+');
        self.numbers.push(digits.to_owned());
        self.numbers.push(digits[digits.len() - 10..].to_owned());
        self.numbers.push(digits[digits.len() - 7..].to_owned());
    }
    fn error(&mut self, what: &str, e: Error) {
        self.texts.push(format!("{what}: {e} | {e:?}"));
        self.texts.push(format!("{what}: {:?}", e.into_parts()));
    }
    fn text(&mut self, t: impl Into<String>) {
        self.texts.push(t.into());
    }
    fn check(&self) {
        let records = capture().0.lock().unwrap();
        let logged: Vec<String> = records
            .iter()
            .filter(|r| !left_to_the_application(r))
            .map(|r| format!("log {} {}: {}", r.level, r.target, r.text))
            .collect();
        assert!(
            logged.iter().any(|r| r.contains(START)),
            "the client logs its calls"
        );
        for text in logged.iter().chain(self.texts.iter()) {
            for s in &self.secrets {
                assert!(!text.contains(s.as_str()), "a secret in {text}");
            }
            for n in &self.numbers {
                assert!(!text.contains(n.as_str()), "a full number in {text}");
            }
        }
    }
}

fn fault(kind: FaultKind, method: &str) -> Fault {
    Fault::once(kind, Some(method))
}

fn respond(status: u16, body: &str, execute: bool, method: &str) -> Fault {
    fault(
        FaultKind::Respond {
            status,
            body: body.to_owned(),
            content_type: None,
            execute,
        },
        method,
    )
}

fn request_to(number: &str, text: &str) -> CallbackRequest {
    CallbackRequest::builder()
        .from_line("reg1")
        .to_number(number)
        .text(text)
        .build()
        .unwrap()
}

/// One test, so that every record of the process belongs to it.
#[test]
fn no_error_path_lets_a_secret_or_a_number_out() {
    capture();
    let mut w = Watch::default();
    let p = portal();
    w.secret("fakewebhooksecret0001");
    let c = webhook_client(&p);

    // Every fault kind on a start, plus answers that echo the request's path (the secret).
    let echo = r#"{"error":"ERROR_CORE","error_description":"no such method {path}"}"#;
    let both = r#"{"result":{"RESULT":true,"CALL_ID":"{call_id}"},"error":"{path}"}"#;
    let faults = [
        FaultKind::Delay(Duration::from_millis(30)),
        FaultKind::CloseBeforeExecute,
        FaultKind::CloseAfterExecute,
        FaultKind::Html502,
        FaultKind::Html504,
        FaultKind::TruncatedJson,
        FaultKind::Overload,
        FaultKind::QueryLimit,
        FaultKind::OperationTimeLimit,
        FaultKind::Respond {
            status: 400,
            body: echo.into(),
            content_type: None,
            execute: false,
        },
        FaultKind::Respond {
            status: 200,
            body: both.into(),
            content_type: None,
            execute: true,
        },
        FaultKind::Respond {
            status: 500,
            body: "<html>{path}</html>".into(),
            content_type: Some("text/html".into()),
            execute: false,
        },
        FaultKind::Redirect {
            status: 307,
            location: "{scheme}://127.0.0.1:{port}{path}".into(),
            execute: false,
        },
        FaultKind::Redirect {
            status: 302,
            location: "{scheme}://user:pw@127.0.0.1:{port}{path}".into(),
            execute: false,
        },
        FaultKind::Redirect {
            status: 303,
            location: "{scheme}://127.0.0.1:{port}{path}".into(),
            execute: true,
        },
    ];
    for (i, kind) in faults.into_iter().enumerate() {
        let to = number(i);
        w.number(&to);
        let what = kind.as_str();
        p.add_fault(fault(kind, START).with_times(3));
        match c.start_callback(&request_to(&to, "Faults")) {
            Ok(started) => w.text(format!("{what}: {started:?}")),
            Err(e) => w.error(what, e),
        }
        p.clear_faults();
    }

    // A renamed portal: the client follows it and reports the new address.
    p.add_fault(fault(FaultKind::Rename, START));
    let to = number(40);
    w.number(&to);
    let started = c.start_callback(&request_to(&to, "Renamed")).unwrap();
    w.text(format!("rename: {started:?} {c:?}"));
    p.clear_faults();

    // A timeout: the answer comes after the request's time is up.
    let slow = webhook_builder(&p)
        .timeout(Duration::from_millis(200))
        .deadline(Duration::from_millis(400))
        .build()
        .unwrap();
    p.add_fault(fault(FaultKind::Delay(Duration::from_millis(600)), START));
    let to = number(41);
    w.number(&to);
    w.error(
        "timeout",
        slow.start_callback(&request_to(&to, "Slow")).unwrap_err(),
    );
    p.clear_faults();

    // The reads meet the same faults.
    for method in ["voximplant.line.get", "voximplant.tts.voices.get"] {
        for kind in [FaultKind::Html502, FaultKind::TruncatedJson] {
            p.add_fault(fault(kind, method).with_times(3));
            let r = if method.contains("line") {
                c.lines().map(|l| format!("{l:?}"))
            } else {
                c.voices().map(|v| format!("{v:?}"))
            };
            match r {
                Ok(t) => w.text(t),
                Err(e) => w.error(method, e),
            }
            p.clear_faults();
        }
        p.add_fault(respond(400, echo, false, method));
        let e = if method.contains("line") {
            c.lines().unwrap_err()
        } else {
            c.voices().unwrap_err()
        };
        w.error(method, e);
        p.clear_faults();
    }
    p.add_fault(respond(400, echo, false, "voximplant.statistic.get"));
    match c.call_record("no-such-call") {
        Ok(r) => w.text(format!("{r:?}")),
        Err(e) => w.error("call_record", e),
    }
    p.clear_faults();

    // Every refusal before sending: input, the number's type and region, the policy's lists,
    // the cooldown, the hourly cap.
    for bad in [
        "+1201555012",
        "+12015550199999",
        "+1 201 555 0142;ext=9",
        "+1 900 555 0142",
        "+1 800 555 0142",
        "+53 7 8321234",
        "+44 7700 900142",
        "+882 3456 78901",
        "tel:+12015550142",
    ] {
        let digits: String = bad.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 10 {
            w.number(&format!("+{digits}"));
        }
        let input = CallbackRequest::builder()
            .from_line("reg1")
            .to_number(bad)
            .text("Policy");
        w.text(format!("{input:?}"));
        match input.build() {
            Ok(req) => {
                w.text(format!("{req:?}"));
                match c.check(&req) {
                    Ok(d) => w.text(format!("{d:?}")),
                    Err(e) => w.error("check", e),
                }
                match c.start_callback(&req) {
                    Ok(s) => w.text(format!("{s:?}")),
                    Err(e) => w.error("start", e),
                }
            }
            Err(e) => w.error("build", e),
        }
    }
    let strict = webhook_builder(&p)
        .destination_policy(DestinationPolicy {
            blocked_regions: vec!["CA".into()],
            blocked_prefixes: vec!["+1202".into()],
            number_cooldown: Duration::from_secs(60),
            number_hourly_cap: 1,
            ..DestinationPolicy::default()
        })
        .build()
        .unwrap();
    for to in [
        "+14165550142",
        "+12025550142",
        "+12125550142",
        "+12125550142",
    ] {
        w.number(to);
        match strict.start_callback(&request_to(to, "Lists")) {
            Ok(s) => w.text(format!("{s:?}")),
            Err(e) => w.error("strict", e),
        }
    }

    // OAuth: refresh failures (the token endpoint's query holds the client secret and the
    // refresh token), and a token store that fails and names the token in its complaint.
    let cfg = oauth_config(&p);
    w.secret(cfg.client_secret.clone());
    w.secret(cfg.access_token.clone());
    w.secret(cfg.refresh_token.clone());
    let rotated = Arc::new(Mutex::new(Vec::new()));
    let failing_store = |cfg: &callback_core::OAuthConfig| {
        let rotated = rotated.clone();
        fast(Client::builder(Auth::oauth(cfg.clone()).unwrap()))
            .on_tokens(move |pair| {
                rotated.lock().unwrap().push(pair.clone());
                Err(format!(
                    "disk full while saving {} and {}",
                    pair.access_token, pair.refresh_token
                ))
            })
            .build()
            .unwrap()
    };
    let oc = failing_store(&cfg);
    let token_echo = r#"{"error":"invalid_grant","error_description":"refused {path}"}"#.to_owned();
    for kind in [
        FaultKind::Html502,
        FaultKind::CloseBeforeExecute,
        FaultKind::TruncatedJson,
        FaultKind::Respond {
            status: 400,
            body: token_echo,
            content_type: None,
            execute: false,
        },
    ] {
        p.expire_access_tokens();
        p.add_fault(fault(kind, "oauth.token").with_times(3));
        let to = number(50 + w.texts.len() % 40);
        w.number(&to);
        match oc.start_callback(&request_to(&to, "Refresh")) {
            Ok(s) => w.text(format!("{s:?}")),
            Err(e) => w.error("refresh", e),
        }
        p.clear_faults();
    }
    // A refresh that works, with the store failing (a fresh grant: a refresh whose answer was
    // cut off above has used up the first one's refresh token).
    let fresh = oauth_config(&p);
    w.secret(fresh.access_token.clone());
    w.secret(fresh.refresh_token.clone());
    let oc2 = failing_store(&fresh);
    p.expire_access_tokens();
    let to = number(95);
    w.number(&to);
    match oc2.start_callback(&request_to(&to, "Store")) {
        Ok(s) => w.text(format!("{s:?}")),
        Err(e) => w.error("store", e),
    }
    for pair in rotated.lock().unwrap().iter() {
        w.secret(pair.access_token.clone());
        w.secret(pair.refresh_token.clone());
        w.text(format!("{pair:?}"));
    }
    assert!(
        !rotated.lock().unwrap().is_empty(),
        "the store was asked to keep a pair"
    );
    w.text(format!("{oc:?} {oc2:?} {:?}", Auth::oauth(cfg).unwrap()));

    // Shared state behind a password, unreachable.
    let password = "redispassword0001";
    w.secret(password);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = webhook_builder(&p)
        .shared_state(format!("redis://:{password}@127.0.0.1:{port}/0"))
        .rate_limit(RateLimit::Standard);
    w.text(format!("{unreachable:?}"));
    match unreachable.build() {
        Ok(client) => {
            w.text(format!("{client:?}"));
            let to = number(96);
            w.number(&to);
            let e = client
                .start_callback(&request_to(&to, "Redis"))
                .unwrap_err();
            assert_eq!(e.code(), ErrorCode::SharedStateUnavailable);
            w.error("redis", e);
        }
        Err(e) => w.error("redis build", e),
    }

    // Events that fail verification carry the application token and a number.
    let app = "apptoken0000000001";
    w.secret(app);
    w.number("+12015550177");
    let event = format!(
        "event=ONVOXIMPLANTCALLEND&data[CALL_ID]=x&data[PHONE_NUMBER]=%2B12015550177\
         &auth[application_token]={app}&auth[access_token]=fakewebhooksecret0001"
    );
    for (body, expected) in [
        (event.clone(), "another0token0000001"),
        (event.replace("event=", "evnt="), app),
        (format!("{event}&data[CALL_ID]=y"), app),
        (event.replace("%2B", "%ZZ"), app),
        (
            String::from_utf8_lossy(&[0xff, 0xfe]).into_owned() + &event,
            app,
        ),
    ] {
        match parse_event(body.as_bytes(), expected) {
            Ok(ev) => w.text(format!("{ev:?}")),
            Err(e) => w.error("event", e),
        }
    }
    w.text(format!("{c:?} {slow:?} {strict:?}"));
    w.check();
}
