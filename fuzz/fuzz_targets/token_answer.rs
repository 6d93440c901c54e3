//! The OAuth token answer: `fuzzing::token_answer(status, body)`, what the client reads from
//! the token server after a refresh.
//!
//! Input: two bytes of HTTP status (big-endian), then the body.
#![no_main]

use callback_core::fuzzing::token_answer;
use callback_core::{ErrorCode, TokenPair};
use callback_core_fuzz::{assert_no_long_digit_run, json_strings, status_and_body, text_of};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((status, body)) = status_and_body(data) else {
        return;
    };
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let field = |k: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let error_value = parsed
        .as_ref()
        .and_then(Value::as_object)
        .and_then(|o| o.get("error"))
        .filter(|e| !e.is_null());

    match token_answer(status, body) {
        Ok(pair) => {
            // Only a 2xx JSON answer without an error and with both tokens.
            assert!(
                (200..300).contains(&status),
                "tokens taken from HTTP {status}"
            );
            assert!(error_value.is_none(), "tokens taken from an error answer");
            assert_eq!(Some(&pair.access_token), field("access_token").as_ref());
            assert_eq!(Some(&pair.refresh_token), field("refresh_token").as_ref());
            // Debug shows neither token: it is the same whatever the tokens are.
            let blank = TokenPair {
                access_token: "a".into(),
                refresh_token: "b".into(),
                ..pair.clone()
            };
            assert_eq!(format!("{pair:?}"), format!("{blank:?}"));
        }
        Err(e) => {
            match e.code() {
                ErrorCode::AuthFailed => {}
                ErrorCode::RateLimited => {
                    // Only the server's own limit, with its documented status.
                    let code = error_value
                        .and_then(Value::as_str)
                        .map(|c| c.trim().to_ascii_uppercase());
                    assert_eq!(status, 503, "{e:?}");
                    assert_eq!(code.as_deref(), Some("QUERY_LIMIT_EXCEEDED"), "{e:?}");
                }
                _ => panic!("token answer refused with {e:?}"),
            }
            assert!(e.retry_safe());
            assert_eq!(e.http_status(), Some(status));
            let texts = format!("{e} {e:?}");
            // The tokens of a refused answer are never copied into the error (unless the
            // server quoted them in its own error text, which is shown sanitised).
            let mut quoted = Vec::new();
            for v in [
                error_value,
                parsed.as_ref().and_then(|v| v.get("error_description")),
            ]
            .into_iter()
            .flatten()
            {
                json_strings(v, &mut quoted);
            }
            for token in [field("access_token"), field("refresh_token")]
                .into_iter()
                .flatten()
                .filter(|t| t.chars().count() >= 8)
            {
                if !quoted.iter().any(|q| q.contains(token.as_str())) {
                    assert!(!texts.contains(token.as_str()), "a token in {texts}");
                }
            }
            let d = e.description();
            assert!(
                d.chars().count() <= 2 * 303 + 200,
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
            assert_no_long_digit_run(&texts, &sources, "token answer error");
        }
    }
});
