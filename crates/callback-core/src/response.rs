//! Tolerant decoding of the portal's answers and their classification into [`ErrorCode`]s.
//!
//! One function, [`classify`], decides for every answer; the client and the public
//! [`crate::classify_response`] both call it, so the shared vectors test exactly what runs.

use serde_json::Value;

use crate::error::{Error, ErrorCode};
use crate::redact::sanitize_text;
use crate::transport::MAX_BODY_BYTES;

/// Bitrix24's `time` object; every field is optional (the set varies by portal).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PortalTime {
    pub start: Option<f64>,
    pub finish: Option<f64>,
    pub duration: Option<f64>,
    pub processing: Option<f64>,
    pub date_start: Option<String>,
    pub date_finish: Option<String>,
    pub operating: Option<f64>,
    pub operating_reset_at: Option<i64>,
}

/// A decoded answer: either the success envelope's `result` (+ `time`) or an error.
#[derive(Debug)]
pub(crate) struct Success {
    pub(crate) result: Value,
    pub(crate) time: Option<PortalTime>,
}

/// Bitrix24's error envelope, read tolerantly.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Envelope {
    /// `error` as sent (may be empty); for REST v3 objects, their `code`.
    pub(crate) code: String,
    pub(crate) description: String,
}

/// Finds the error envelope in a JSON value: the presence of `error` makes it an error, whatever
/// its value (`""`, a string, or a REST v3 object `{"code","message"}`), except `null`, which
/// says there is none.
pub(crate) fn envelope_of(value: &Value) -> Option<Envelope> {
    let obj = value.as_object()?;
    let err = obj.get("error").filter(|e| !e.is_null())?;
    let (code, nested_message) = match err {
        Value::String(s) => (s.clone(), None),
        Value::Object(o) => (
            o.get("code").map(value_text).unwrap_or_default(),
            o.get("message").map(value_text),
        ),
        other => (value_text(other), None),
    };
    let description = obj
        .get("error_description")
        .map(value_text)
        .or(nested_message)
        .unwrap_or_default();
    Some(Envelope { code, description })
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Reads a number that may be an int, a float or a numeric string.
pub(crate) fn number_of(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn portal_time_of(value: &Value) -> Option<PortalTime> {
    let t = value.get("time")?.as_object()?;
    let text = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_owned);
    Some(PortalTime {
        start: number_of(t.get("start")),
        finish: number_of(t.get("finish")),
        duration: number_of(t.get("duration")),
        processing: number_of(t.get("processing")),
        date_start: text("date_start"),
        date_finish: text("date_finish"),
        operating: number_of(t.get("operating")),
        operating_reset_at: number_of(t.get("operating_reset_at")).map(|f| f as i64),
    })
}

/// Decodes and classifies one answer. `Ok` only for a 2xx JSON object with a `result` and no
/// `error`.
pub(crate) fn classify(http_status: u16, body: &[u8]) -> Result<Success, Error> {
    let status = Some(http_status);
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::new(
            ErrorCode::OutcomeUnknown,
            format!(
                "the portal's answer (HTTP {http_status}) is larger than {MAX_BODY_BYTES} bytes; \
                 the request may have been executed"
            ),
        )
        .with_http_status(status));
    }
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let envelope = parsed.as_ref().and_then(envelope_of);
    let has_result = parsed.as_ref().is_some_and(|v| v.get("result").is_some());
    if (300..400).contains(&http_status) {
        return Err(unfollowed_redirect(http_status));
    }
    if envelope.is_some() && has_result {
        return Err(Error::new(
            ErrorCode::OutcomeUnknown,
            format!(
                "the portal's answer (HTTP {http_status}) holds both a result and an error; \
                 the request may have been executed"
            ),
        )
        .with_http_status(status));
    }
    let Some(env) = envelope else {
        return match parsed {
            // `result` is moved out of the parsed answer, not copied: a copy would double the
            // peak memory of a large answer.
            Some(mut v) if (200..300).contains(&http_status) && has_result => Ok(Success {
                time: portal_time_of(&v),
                result: v.get_mut("result").map(Value::take).unwrap_or(Value::Null),
            }),
            Some(_) => Err(Error::new(
                ErrorCode::OutcomeUnknown,
                format!(
                    "the portal's answer (HTTP {http_status}) is JSON without `result` or \
                     `error`; the request may have been executed"
                ),
            )
            .with_http_status(status)),
            None => {
                let what = describe_non_json(body);
                Err(Error::new(
                    ErrorCode::OutcomeUnknown,
                    format!(
                        "the portal's answer (HTTP {http_status}) is {what}, not a Bitrix24 \
                         envelope; the request may have been executed"
                    ),
                )
                .with_http_status(status))
            }
        };
    };
    let reset_at = parsed
        .as_ref()
        .and_then(portal_time_of)
        .and_then(|t| t.operating_reset_at);
    Err(classify_envelope(http_status, &env).with_operating_reset_at(reset_at))
}

fn describe_non_json(body: &[u8]) -> &'static str {
    let head = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
    let trimmed = head.trim_start();
    if body.is_empty() {
        "empty"
    } else if trimmed.starts_with("<!doctype")
        || trimmed.starts_with("<html")
        || head.contains("<body")
    {
        "an HTML page"
    } else if trimmed.starts_with('{') || trimmed.starts_with('[') {
        "truncated or malformed JSON"
    } else {
        "not JSON"
    }
}

/// A redirect that is not (or can no longer be) followed. A 303 "See Other" answers a POST
/// that was processed, so the call may have started; any other redirect executed nothing.
pub(crate) fn unfollowed_redirect(http_status: u16) -> Error {
    let error = if http_status == 303 {
        Error::new(
            ErrorCode::OutcomeUnknown,
            "the portal answered 303 See Other: it processed the request and points elsewhere for \
             the answer; the request may have been executed",
        )
    } else {
        Error::new(
            ErrorCode::PortalError,
            format!(
                "the portal answered with a redirect (HTTP {http_status}) that is not followed; \
                 nothing was executed"
            ),
        )
    };
    error.with_http_status(Some(http_status))
}

/// Codes (upper-cased) that mean the credentials are not (or no longer) good.
const AUTH_CODES: &[&str] = &[
    "NO_AUTH_FOUND",
    "INVALID_CREDENTIALS",
    "INVALID_TOKEN",
    "EXPIRED_TOKEN",
    "AUTHORIZATION_ERROR",
    "INVALID_GRANT",
    "INVALID_CLIENT",
    "WRONG_CLIENT",
    "APPLICATION_NOT_FOUND",
    "ERROR_OAUTH",
    "NOT_INSTALLED",
    "CONNECTION_ERROR",
];

/// Codes (upper-cased) that mean the credentials are fine but not allowed to do this.
const ACCESS_CODES: &[&str] = &[
    "ACCESS_DENIED",
    "USER_ACCESS_ERROR",
    "METHOD_CONFIRM_WAITING",
    "METHOD_CONFIRM_DENIED",
    "PAYMENT_REQUIRED",
    "WRONG_AUTH_TYPE",
    "ALLOWED_ONLY_INTRANET_USER",
];

const SCOPE_CODES: &[&str] = &["INSUFFICIENT_SCOPE", "INVALID_SCOPE"];

/// How much of a text from the portal is cleaned for an error message. The cleaned text is cut
/// at 300 characters anyway; this bound keeps the cleaning cheap whatever the portal sends (an
/// answer may hold a megabyte of it).
const MAX_QUOTED_BYTES: usize = 1024;

/// `text` cleaned for an error message, from at most its first [`MAX_QUOTED_BYTES`]. A cut also
/// drops the word it splits and any digits just before it, so that the part of a number or a
/// credential left before the cut is not shown unrecognised.
fn quoted(text: &str) -> String {
    if text.len() <= MAX_QUOTED_BYTES {
        return sanitize_text(text);
    }
    let mut end = MAX_QUOTED_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = text[..end]
        .trim_end_matches(|c: char| !c.is_whitespace())
        .trim_end_matches(|c: char| c.is_ascii_digit() || c.is_whitespace() || "+-().".contains(c));
    let mut out = sanitize_text(head);
    if !out.ends_with("...") {
        out.push_str("...");
    }
    out
}

/// Maps an error envelope to its code; see the crate docs for the table.
pub(crate) fn classify_envelope(http_status: u16, env: &Envelope) -> Error {
    let code = env.code.trim().to_ascii_uppercase();
    let desc_lower = env.description.to_ascii_lowercase();
    // The limits refuse before executing, but only with their documented statuses: a limit
    // code on any other status contradicts itself, and nothing about it can be trusted.
    let limit = match code.as_str() {
        "QUERY_LIMIT_EXCEEDED" => Some((503, ErrorCode::RateLimited)),
        "OVERLOAD_LIMIT" => Some((503, ErrorCode::PortalError)),
        "OPERATION_TIME_LIMIT" => Some((429, ErrorCode::OperationTimeLimit)),
        _ => None,
    };
    let error_code = if let Some((expected, code)) = limit {
        if http_status == expected {
            code
        } else {
            ErrorCode::OutcomeUnknown
        }
    } else if http_status >= 500 || desc_lower.contains("parse error or connect error from server")
    {
        ErrorCode::OutcomeUnknown
    } else if SCOPE_CODES.contains(&code.as_str()) {
        ErrorCode::InsufficientScope
    } else if AUTH_CODES.contains(&code.as_str()) {
        ErrorCode::AuthFailed
    } else if ACCESS_CODES.contains(&code.as_str()) {
        ErrorCode::AccessDenied
    } else if desc_lower.contains("could not find line")
        || desc_lower.contains("could not find config")
    {
        ErrorCode::LineNotFound
    } else if desc_lower.contains("phone number is not correct") {
        ErrorCode::NumberRejected
    } else {
        ErrorCode::PortalError
    };
    let shown_code = if env.code.is_empty() {
        "(empty error code)".to_owned()
    } else {
        quoted(&env.code)
    };
    let mut description = format!("{shown_code} (HTTP {http_status})");
    if !env.description.is_empty() {
        description.push_str(": ");
        description.push_str(&quoted(&env.description));
    }
    if limit.is_some() && error_code == ErrorCode::OutcomeUnknown {
        description.push_str("; a limit code with an unexpected HTTP status");
    }
    if error_code == ErrorCode::OutcomeUnknown {
        description.push_str("; the request may have been executed");
    }
    // The code is text from outside too: sanitised like the description (a real code is
    // unchanged), since bindings and the CLI show it.
    Error::new(error_code, description)
        .with_bitrix_code(Some(sanitize_text(&env.code)))
        .with_http_status(Some(http_status))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(status: u16, body: &str) -> Option<ErrorCode> {
        classify(status, body.as_bytes()).err().map(|e| e.code())
    }

    #[test]
    fn long_texts_are_quoted_from_their_head() {
        // The cut falls inside the number (after "+1 202 5"): no part of it is shown.
        let text = format!(
            "access_token={} call +1 202 555 0142 failed",
            "a".repeat(MAX_QUOTED_BYTES - 27)
        );
        assert_eq!(&text[MAX_QUOTED_BYTES - 8..MAX_QUOTED_BYTES], "+1 202 5");
        assert_eq!(quoted(&text), "access_token=[redacted] call...");
        // One long word: nothing of it is left, only the mark of the cut.
        assert_eq!(quoted(&"auth".repeat(256 * 1024)), "...");
        assert_eq!(quoted("short +12025550142"), "short +120******42");
    }

    #[test]
    fn table() {
        assert_eq!(
            code(200, r#"{"result":{"RESULT":true,"CALL_ID":"x"}}"#),
            None
        );
        assert_eq!(
            code(
                503,
                r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#
            ),
            Some(ErrorCode::RateLimited)
        );
        assert_eq!(
            code(503, r#"{"error":"OVERLOAD_LIMIT"}"#),
            Some(ErrorCode::PortalError)
        );
        assert_eq!(
            code(500, r#"{"error":"INTERNAL_SERVER_ERROR"}"#),
            Some(ErrorCode::OutcomeUnknown)
        );
        assert_eq!(
            code(502, "<html>bad gateway</html>"),
            Some(ErrorCode::OutcomeUnknown)
        );
        assert_eq!(
            code(200, r#"{"result":{"RESU"#),
            Some(ErrorCode::OutcomeUnknown)
        );
        assert_eq!(
            code(
                400,
                r#"{"error":"","error_description":"Could not find line reg0"}"#
            ),
            Some(ErrorCode::LineNotFound)
        );
        assert_eq!(
            code(
                400,
                r#"{"error":"ERROR_CORE","error_description":"Parse error or connect error from server"}"#
            ),
            Some(ErrorCode::OutcomeUnknown)
        );
        assert_eq!(
            code(401, r#"{"error":"Expired_Token"}"#),
            Some(ErrorCode::AuthFailed)
        );
        assert_eq!(
            code(200, r#"{"error":"wrong_client"}"#),
            Some(ErrorCode::AuthFailed)
        );
        assert_eq!(
            code(400, r#"{"error":{"code":"ACCESS_DENIED","message":"no"}}"#),
            Some(ErrorCode::AccessDenied)
        );
        let e = classify(
            429,
            br#"{"error":"OPERATION_TIME_LIMIT","time":{"operating_reset_at":1700000000.0}}"#,
        )
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::OperationTimeLimit);
        assert_eq!(e.operating_reset_at(), Some(1_700_000_000));
    }
}
