//! No secret and no full phone number in logs, errors or `Debug` output.

mod common;

use std::sync::{Mutex, OnceLock};

use callback_core::{Auth, CallbackRequest, Client, ErrorCode, parse_event};
use callback_fake_portal::{Fault, FaultKind};
use common::*;

struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        self.0.lock().unwrap().push(format!(
            "{} {} {}",
            record.level(),
            record.target(),
            record.args()
        ));
    }
    fn flush(&self) {}
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let c: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        log::set_logger(c).unwrap();
        // Debug, the level an application turns on when something goes wrong. (ureq logs full
        // request paths, with the webhook secret, only at Trace.)
        log::set_max_level(log::LevelFilter::Debug);
        c
    })
}

#[test]
fn logs_errors_and_debug_output_carry_no_secret() {
    let logs = capture();
    let p = portal();
    let secrets = [
        "fakewebhooksecret0001".to_owned(),
        "fakeclientsecret0001".to_owned(),
    ];
    // E.164 digits without the leading `+1` also cover the national form `2015550128`.
    let numbers = [
        "2015550128",
        "2015550129",
        "2015550106",
        "555-0128",
        "555 0128",
    ];

    let c = webhook_client(&p);
    let mut outputs = Vec::new();
    let ok = c.start_callback(&request("+12015550128")).unwrap();
    outputs.push(format!("{ok:?}"));
    p.add_fault(Fault::once(FaultKind::CloseAfterExecute, None));
    let e = c.start_callback(&request("+12015550129")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::OutcomeUnknown);
    outputs.push(format!("{e} {e:?}"));
    let e = c.start_callback(&request("+12015550106")).unwrap_err();
    outputs.push(format!("{e} {e:?}"));

    // OAuth: a refresh puts tokens and the client secret on the wire.
    let cfg = oauth_config(&p);
    let mut secret_values = secrets.to_vec();
    secret_values.push(cfg.access_token.clone());
    secret_values.push(cfg.refresh_token.clone());
    let store_seen = std::sync::Arc::new(Mutex::new(Vec::new()));
    let oc = {
        let seen = store_seen.clone();
        fast(Client::builder(Auth::oauth(cfg.clone()).unwrap()))
            .on_tokens(move |pair| {
                seen.lock().unwrap().push(pair.clone());
                Ok(())
            })
            .build()
            .unwrap()
    };
    p.expire_access_tokens();
    oc.start_callback(&request("+12015550132")).unwrap();
    for pair in store_seen.lock().unwrap().iter() {
        secret_values.push(pair.access_token.clone());
        secret_values.push(pair.refresh_token.clone());
        outputs.push(format!("{pair:?}"));
    }
    outputs.push(format!("{oc:?} {c:?}"));
    outputs.push(format!("{:?}", Auth::oauth(cfg).unwrap()));
    outputs.push(format!("{:?}", Auth::webhook(&p.webhook_url()).unwrap()));
    outputs.push(format!("{}", {
        let Auth::Webhook(w) = Auth::webhook(&p.webhook_url()).unwrap() else {
            unreachable!()
        };
        w
    }));
    outputs.push(format!("{:?}", webhook_builder(&p)));
    let req = CallbackRequest::builder()
        .from_line("reg1")
        .to_number("+12015550128")
        .text("t")
        .idempotency_key("k");
    outputs.push(format!("{req:?}"));
    outputs.push(format!("{:?}", req.build().unwrap()));
    let bad = CallbackRequest::builder()
        .from_line("reg1")
        .to_number("+12015550128;9")
        .text("t")
        .build()
        .unwrap_err();
    outputs.push(format!("{bad} {bad:?}"));
    let ev = parse_event(
        b"event=ONVOXIMPLANTCALLEND&data[CALL_ID]=x&data[PHONE_NUMBER]=%2B12015550128&auth[application_token]=apptok12345&auth[access_token]=fakeclientsecret0001",
        "apptok12345",
    )
    .unwrap();
    secret_values.push("apptok12345".into());
    outputs.push(format!("{ev:?}"));

    let records = logs.0.lock().unwrap().clone();
    assert!(
        records
            .iter()
            .any(|r| r.contains("voximplant.callback.start")),
        "the client logs its calls: {records:?}"
    );
    assert!(
        records.iter().any(|r| r.contains("+120******28")),
        "masked numbers are logged"
    );
    for text in records.iter().chain(outputs.iter()) {
        for s in &secret_values {
            assert!(!text.contains(s.as_str()), "secret in {text}");
        }
        for n in numbers {
            assert!(!text.contains(n), "full number in {text}");
        }
    }
}
