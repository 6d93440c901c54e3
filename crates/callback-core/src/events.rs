//! Parsing and verifying the portal's telephony events (`ONVOXIMPLANTCALLINIT`,
//! `ONVOXIMPLANTCALLSTART`, `ONVOXIMPLANTCALLEND`, ...), delivered as
//! `application/x-www-form-urlencoded` with bracket keys.

use std::collections::BTreeMap;

use subtle::ConstantTimeEq;

use crate::error::{Error, ErrorCode, Violation};
use crate::records::CallOutcome;

/// One telephony event. `Debug` masks `PHONE_NUMBER` and omits every token.
#[derive(Clone, PartialEq, Eq)]
pub struct TelephonyEvent {
    /// Upper-case event name, e.g. `ONVOXIMPLANTCALLEND`.
    pub event: String,
    /// `data[...]` values.
    pub data: BTreeMap<String, String>,
    pub ts: Option<i64>,
    /// `auth[domain]`: the portal.
    pub domain: Option<String>,
    pub member_id: Option<String>,
}

impl std::fmt::Debug for TelephonyEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let data: BTreeMap<&str, String> = self
            .data
            .iter()
            .map(|(k, v)| {
                let shown = if k.contains("NUMBER") || k == "CALLER_ID" {
                    crate::redact::mask_number(v)
                } else {
                    crate::redact::sanitize_text(v)
                };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("TelephonyEvent")
            .field("event", &self.event)
            .field("data", &data)
            .field("ts", &self.ts)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl TelephonyEvent {
    pub fn call_id(&self) -> Option<&str> {
        self.data.get("CALL_ID").map(String::as_str)
    }
    /// For `ONVOXIMPLANTCALLEND`: the outcome from `CALL_FAILED_CODE`.
    pub fn outcome(&self) -> Option<CallOutcome> {
        self.data
            .get("CALL_FAILED_CODE")
            .map(|c| CallOutcome::from_failed_code(c))
    }
}

/// Parses an event body and checks `auth[application_token]` against the expected one in
/// constant time. A malformed body is `invalid_request`; a wrong or missing token is
/// `auth_failed`.
pub fn parse_event(body: &[u8], expected_application_token: &str) -> Result<TelephonyEvent, Error> {
    const MAX_EVENT_BYTES: usize = 64 * 1024;
    let invalid = |code: &str, message: &str| {
        Error::invalid(vec![Violation {
            field: "event".into(),
            code: code.into(),
            message: message.into(),
        }])
    };
    if body.len() > MAX_EVENT_BYTES {
        return Err(invalid("too_large", "the event body is larger than 64 KiB"));
    }
    if std::str::from_utf8(body).is_err() {
        return Err(invalid("not_utf8", "the event body is not UTF-8 text"));
    }
    let mut event = None;
    let mut token = None;
    let mut data = BTreeMap::new();
    let mut ts = None;
    let mut domain = None;
    let mut member_id = None;
    for (key, value) in form_urlencoded::parse(body) {
        match key.as_ref() {
            "event" => event = Some(value.into_owned()),
            "ts" => ts = value.trim().parse::<f64>().ok().map(|f| f as i64),
            "auth[application_token]" => token = Some(value.into_owned()),
            "auth[domain]" => domain = Some(value.into_owned()),
            "auth[member_id]" => member_id = Some(value.into_owned()),
            k => {
                if let Some(inner) = k.strip_prefix("data[").and_then(|r| r.strip_suffix(']')) {
                    // Nested keys (`data[A][B]`) are kept flat as `A][B`, which no caller uses.
                    data.insert(inner.to_owned(), value.into_owned());
                }
            }
        }
    }
    // The token is checked first: an unauthenticated body gets no further feedback.
    let expected = expected_application_token.as_bytes();
    let authentic = match &token {
        Some(t) if !expected.is_empty() => bool::from(t.as_bytes().ct_eq(expected)),
        _ => false,
    };
    if !authentic {
        return Err(Error::new(
            ErrorCode::AuthFailed,
            if token.is_none() {
                "the event carries no auth[application_token]"
            } else {
                "the event's auth[application_token] does not match"
            },
        ));
    }
    let event = event
        .map(|e| e.trim().to_ascii_uppercase())
        .filter(|e| !e.is_empty())
        .ok_or_else(|| invalid("required", "the body has no `event` field"))?;
    Ok(TelephonyEvent {
        event,
        data,
        ts,
        domain,
        member_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_verifies() {
        let body = b"event=ONVOXIMPLANTCALLEND&data%5BCALL_ID%5D=c1&data[CALL_FAILED_CODE]=304&data[PHONE_NUMBER]=%2B12015550102&auth%5Bapplication_token%5D=tok&ts=1700000000";
        let e = parse_event(body, "tok").unwrap();
        assert_eq!(e.call_id(), Some("c1"));
        assert_eq!(e.outcome(), Some(CallOutcome::NoAnswer));
        assert!(!format!("{e:?}").contains("5550102"));
        assert_eq!(
            parse_event(body, "other").unwrap_err().code(),
            ErrorCode::AuthFailed
        );
        assert_eq!(
            parse_event(body, "").unwrap_err().code(),
            ErrorCode::AuthFailed
        );
    }
}
