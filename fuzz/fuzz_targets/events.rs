//! The event parser: `callback_core::parse_event(body, token)`.
//!
//! Input: the form-encoded body. Each body is parsed with the right application token, a wrong
//! one and an empty one.
#![no_main]

use std::sync::LazyLock;

use callback_core::{ErrorCode, mask_number, parse_event};
use callback_core_fuzz::{assert_no_long_digit_run, digits_of, text_of};
use libfuzzer_sys::fuzz_target;

/// The token of the shared vectors (`tests/vectors/events.json`).
const TOKEN: &str = "fakeapplicationtoken0001";
const WRONG: &str = "fakeapplicationtoken0002";
const MAX_EVENT_BYTES: usize = 64 * 1024;

/// The texts of every refusal, from bodies that provoke each one.
static FIXED: LazyLock<Vec<String>> = LazyLock::new(|| {
    let big = vec![b'a'; MAX_EVENT_BYTES + 1];
    let with_token = format!("auth%5Bapplication_token%5D={TOKEN}");
    [
        &b""[..],
        b"auth[application_token]=other",
        with_token.as_bytes(),
        &big,
        b"\xff",
    ]
    .iter()
    .map(|body| {
        parse_event(body, TOKEN)
            .expect_err("a refused body")
            .to_string()
    })
    .collect()
});

fuzz_target!(|body: &[u8]| {
    let utf8 = std::str::from_utf8(body).is_ok();
    let readable = utf8 && body.len() <= MAX_EVENT_BYTES;
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let sent_token = pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "auth[application_token]")
        .map(|(_, v)| v.as_str());

    for expected in [TOKEN, WRONG, ""] {
        match parse_event(body, expected) {
            Ok(event) => {
                assert!(readable);
                assert!(
                    !expected.is_empty(),
                    "accepted with an empty expected token"
                );
                assert_eq!(sent_token, Some(expected), "accepted with another token");
                assert!(!event.event.is_empty());
                assert_eq!(event.event, event.event.trim().to_ascii_uppercase());
                // Debug masks the number and never shows the token.
                let shown = format!("{event:?}");
                // Shown as they are (escaped by `Debug`): the event name, the domain, `ts` and
                // the data keys.
                let echoed = |s: &str| {
                    format!("{:?}", event.event).contains(s)
                        || format!("{:?}", event.domain).contains(s)
                        || event.ts.is_some_and(|t| t.to_string().contains(s))
                        || event.data.keys().any(|k| format!("{k:?}").contains(s))
                };
                // The token is never shown (unless the body repeats it in a shown field).
                if !echoed(expected) && !event.data.values().any(|v| v.contains(expected)) {
                    assert!(!shown.contains(expected), "the token in {shown}");
                }
                if let Some(number) = event.data.get("PHONE_NUMBER") {
                    assert!(
                        shown.contains(&format!("\"PHONE_NUMBER\": \"{}\"", mask_number(number))),
                        "PHONE_NUMBER not masked: {shown}"
                    );
                    let digits = digits_of(number);
                    if digits.len() >= 7 && !echoed(&digits) {
                        assert!(!shown.contains(&digits), "PHONE_NUMBER in {shown}");
                    }
                }
                // Every other value is shown sanitised: no full number either.
                let values = event.data.values();
                for run in values.flat_map(|v| callback_core_fuzz::digit_runs(v, 7)) {
                    if !echoed(run) {
                        assert!(!shown.contains(run), "a full number from data in {shown}");
                    }
                }
            }
            Err(e) => {
                // Every refusal is one of the fixed texts: nothing of the body is echoed.
                assert!(FIXED.contains(&e.to_string()), "a new error text: {e:?}");
                let texts = format!("{e} {e:?}");
                if !readable {
                    assert_eq!(e.code(), ErrorCode::InvalidRequest, "{e:?}");
                    assert_eq!(e.violations().len(), 1);
                } else if expected.is_empty() || sent_token != Some(expected) {
                    // The token is checked first: no other feedback for a wrong one.
                    assert_eq!(e.code(), ErrorCode::AuthFailed, "{e:?}");
                    assert!(e.violations().is_empty());
                } else {
                    assert_eq!(e.code(), ErrorCode::InvalidRequest, "{e:?}");
                    assert_eq!(e.violations()[0].field, "event");
                }
                if !expected.is_empty() {
                    assert!(!texts.contains(expected), "the token in {texts}");
                }
                assert_no_long_digit_run(&texts, &[&text_of(body)], "event error");
            }
        }
    }
});
