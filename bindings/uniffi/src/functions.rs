//! Free functions: validation, classification and event parsing without a client (the shared
//! vectors in `tests/vectors/` run through these), plus small helpers.

use callback_core as core;

use crate::error::{CallbackError, ErrorDetails, guarded};
use crate::types::{CallbackRequest, NumberType, TelephonyEvent, ValidatedRequest};

/// Validates a request without a client: the wire body on success, `InvalidRequest` with every
/// violation otherwise.
#[uniffi::export(default(default_region = None, allow_unknown_voice = false))]
pub fn validate_request(
    request: CallbackRequest,
    default_region: Option<String>,
    allow_unknown_voice: bool,
) -> Result<ValidatedRequest, CallbackError> {
    guarded(|| {
        let mut builder = core::CallbackRequest::builder().allow_unknown_voice(allow_unknown_voice);
        if let Some(region) = default_region {
            builder = builder.default_region(region);
        }
        let built = builder.input(request.into()).build()?;
        Ok(ValidatedRequest::from(&built))
    })
}

/// Classifies a raw portal answer the way the client does: `null`/`nil` for a success
/// envelope, otherwise the error it maps to.
#[uniffi::export]
pub fn classify_response(http_status: u16, body: Vec<u8>) -> Option<ErrorDetails> {
    // Not a throwing function, so a panic would reach Swift as a trap (`try!`) and Kotlin as an
    // unchecked `InternalException`: report it like any other bug, as `OutcomeUnknown`.
    match core::catch_panic(core::ErrorCode::OutcomeUnknown, || {
        Ok(core::classify_response(http_status, &body))
    }) {
        Ok(classified) => classified.map(ErrorDetails::from),
        Err(panicked) => Some(ErrorDetails::from(panicked)),
    }
}

/// Parses a telephony event (form-urlencoded body) and checks its `auth[application_token]`
/// in constant time. A malformed body throws `InvalidRequest`, a wrong token `AuthFailed`.
#[uniffi::export]
pub fn parse_event(
    body: Vec<u8>,
    expected_application_token: String,
) -> Result<TelephonyEvent, CallbackError> {
    guarded(|| Ok(core::parse_event(&body, &expected_application_token)?.into()))
}

/// Masks a phone number for logs: keeps the `+`, a country-code-sized prefix and the last two
/// digits, stars the rest.
#[uniffi::export]
pub fn mask_number(number: String) -> String {
    // A panic must not trap a Swift app (this function does not throw): hide everything then.
    guarded(|| Ok(core::mask_number(&number)))
        .unwrap_or_else(|_| "*".repeat(number.chars().count().min(32)))
}

/// The regions a `DestinationPolicy` refuses unless allowed explicitly when its
/// `highRiskRegions` is `null`/`nil` (toll-fraud destinations), ISO 3166 alpha-2.
#[uniffi::export]
pub fn default_high_risk_regions() -> Vec<String> {
    core::HIGH_RISK_REGIONS
        .iter()
        .map(|r| (*r).to_owned())
        .collect()
}

/// Parses a snake_case number type name (`"premium_rate"`); `null`/`nil` when unknown.
#[uniffi::export]
pub fn number_type_from_str(name: String) -> Option<NumberType> {
    core::NumberType::parse(&name).map(NumberType::from)
}

/// The library version (the same for every binding).
#[uniffi::export]
pub fn version() -> String {
    core::VERSION.to_owned()
}

/// The voice ids Bitrix24's text-to-speech knows.
#[uniffi::export]
pub fn known_voices() -> Vec<String> {
    core::KNOWN_VOICES.iter().map(|v| (*v).to_owned()).collect()
}

/// The longest `text` accepted, in characters.
#[uniffi::export]
pub fn max_text_chars() -> u32 {
    core::MAX_TEXT_CHARS as u32
}
