//! Parsing and verifying the portal's telephony events (`ONVOXIMPLANTCALLINIT`,
//! `ONVOXIMPLANTCALLSTART`, `ONVOXIMPLANTCALLEND`, ...), delivered as
//! `application/x-www-form-urlencoded` with bracket keys.
//!
//! SKELETON: signatures are the contract; the bodies are being filled in.

use std::collections::BTreeMap;

use crate::error::Error;
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
        f.debug_struct("TelephonyEvent")
            .field("event", &self.event)
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
    let _ = (body, expected_application_token);
    Err(Error::invalid(Vec::new()))
}
