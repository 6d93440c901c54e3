//! The response classifier: `callback_core::classify_response(status, body)`.
//!
//! Input: two bytes of HTTP status (big-endian), then the body.
#![no_main]

use callback_core::{ErrorCode, classify_response};
use callback_core_fuzz::{assert_no_long_digit_run, json_strings, status_and_body, text_of};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Longest description: two texts from the portal (code and description, each cut at 300
/// characters plus "...") and the fixed words around them.
const MAX_DESCRIPTION_CHARS: usize = 2 * 303 + 200;

/// The codes an answer can be classified as (the others are decided before or without one).
const ANSWER_CODES: [ErrorCode; 9] = [
    ErrorCode::RateLimited,
    ErrorCode::OperationTimeLimit,
    ErrorCode::AuthFailed,
    ErrorCode::InsufficientScope,
    ErrorCode::AccessDenied,
    ErrorCode::LineNotFound,
    ErrorCode::NumberRejected,
    ErrorCode::PortalError,
    ErrorCode::OutcomeUnknown,
];

fuzz_target!(|data: &[u8]| {
    let Some((status, body)) = status_and_body(data) else {
        return;
    };
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let error_value = parsed
        .as_ref()
        .and_then(|v| v.as_object())
        .and_then(|o| o.get("error"))
        .filter(|e| !e.is_null());
    let has_result = parsed.as_ref().is_some_and(|v| v.get("result").is_some());

    let Some(e) = classify_response(status, body) else {
        // Success: only a 2xx JSON object with a `result` and no `error`.
        assert!((200..300).contains(&status), "success on HTTP {status}");
        assert!(has_result, "success without a result");
        assert!(error_value.is_none(), "success with an error");
        return;
    };

    assert!(ANSWER_CODES.contains(&e.code()), "{e:?}");
    assert_eq!(
        e.retry_safe(),
        e.code() != ErrorCode::OutcomeUnknown,
        "{e:?}"
    );
    assert_eq!(e.http_status(), Some(status), "{e:?}");
    assert!(e.violations().is_empty(), "{e:?}");

    // What certainly did not execute is the only thing called retry-safe.
    match status {
        300..=399 => {
            let want = if status == 303 {
                ErrorCode::OutcomeUnknown
            } else {
                ErrorCode::PortalError
            };
            assert_eq!(e.code(), want, "redirect {status}: {e:?}");
        }
        500..=599 if e.retry_safe() => {
            let code = error_value
                .and_then(Value::as_str)
                .map(|c| c.trim().to_ascii_uppercase());
            assert!(
                status == 503
                    && matches!(
                        code.as_deref(),
                        Some("QUERY_LIMIT_EXCEEDED" | "OVERLOAD_LIMIT")
                    ),
                "retry-safe {status}: {e:?}"
            );
        }
        _ => {}
    }
    if !(300..400).contains(&status) {
        if error_value.is_some() && has_result {
            assert_eq!(
                e.code(),
                ErrorCode::OutcomeUnknown,
                "result and error: {e:?}"
            );
        }
        if error_value.is_none() {
            // Not an envelope (not JSON, or JSON without `error`): it may have executed.
            assert_eq!(e.code(), ErrorCode::OutcomeUnknown, "no envelope: {e:?}");
        }
    }

    // The description is bounded, printable, and masks full numbers.
    let d = e.description();
    assert!(
        d.chars().count() <= MAX_DESCRIPTION_CHARS,
        "{} chars",
        d.chars().count()
    );
    assert!(!d.chars().any(char::is_control), "control character: {d:?}");
    let raw = text_of(body);
    let mut decoded = Vec::new();
    if let Some(v) = &parsed {
        json_strings(v, &mut decoded);
    }
    let mut sources: Vec<&str> = decoded.iter().map(String::as_str).collect();
    sources.push(&raw);
    assert_no_long_digit_run(&format!("{e} {e:?}"), &sources, "classified error");
    if let Some(code) = e.bitrix_code() {
        assert!(
            code.chars().count() <= 303,
            "bitrix_code of {} chars",
            code.len()
        );
    }
});
