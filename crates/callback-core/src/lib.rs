//! SKELETON crate root; documentation comes with the implementation.

mod auth;
mod client;
mod error;
mod events;
mod limiter;
mod oauth;
mod records;
mod redact;
mod request;
mod response;
mod transport;

pub use auth::{Auth, OAuthConfig, TokenPair, TokenStore, WebhookUrl};
pub use client::{
    CallbackStarted, CancelToken, Client, ClientBuilder, DestinationPolicy, PortalTime, RateLimit,
    Timing,
};
pub use error::{Error, ErrorCode, Violation};
pub use events::{TelephonyEvent, parse_event};
pub use records::{CallOutcome, CallRecord, Line, Voice};
pub use redact::mask_number;
pub use request::{
    CallbackRequest, CallbackRequestBuilder, KNOWN_VOICES, MAX_IDEMPOTENCY_KEY_CHARS,
    MAX_LINE_CHARS, MAX_TEXT_CHARS,
};

/// The crate version (also the version of every binding).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Classifies a raw portal answer the way the client does: `None` for a success envelope,
/// otherwise the error it maps to (code, `retry_safe`, `bitrix_code`, `http_status`).
pub fn classify_response(http_status: u16, body: &[u8]) -> Option<Error> {
    response::classify(http_status, body).err()
}
