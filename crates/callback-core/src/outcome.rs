//! What a start returns: [`CallbackStarted`], and how the portal's success answer is read.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::{Error, ErrorCode};
use crate::number::NumberType;
use crate::request::CallbackRequest;
use crate::response::{PortalTime, Success};

/// Where a checked request would ring ([`crate::Client::check`]). Its `Debug` masks the
/// number.
#[derive(Clone, PartialEq, Eq)]
pub struct Destination {
    /// E.164, e.g. `+12015550123`. Do not log it: see [`Destination::masked_number`].
    pub number: String,
    /// ISO 3166 alpha-2 (`"001"` for the international networks), when the metadata names one.
    pub region: Option<String>,
    pub number_type: NumberType,
}

impl Destination {
    pub(crate) fn of(request: &CallbackRequest) -> Destination {
        Destination {
            number: request.to_number().to_owned(),
            region: request.destination_region().map(str::to_owned),
            number_type: request.number_type(),
        }
    }

    /// The number with all but the country code and the last two digits hidden.
    pub fn masked_number(&self) -> String {
        crate::redact::mask_number(&self.number)
    }
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Destination")
            .field("number", &self.masked_number())
            .field("region", &self.region)
            .field("number_type", &self.number_type)
            .finish()
    }
}

/// What one logical call cost (filled by the exchange).
#[derive(Debug, Default)]
pub(crate) struct CallMeta {
    pub(crate) attempts: u32,
    pub(crate) limiter_wait: Duration,
    pub(crate) moved_to: Option<String>,
}

/// Time spent, as measured by the client and as reported by the portal.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Timing {
    /// From `start_callback` entry to return.
    pub total: Duration,
    /// Time waited for the local rate limiter.
    pub limiter_wait: Duration,
    /// HTTP requests sent for this call (retries, refresh resends and rename re-POSTs included).
    pub attempts: u32,
    /// The portal's own `time` object of the successful answer.
    pub portal: Option<PortalTime>,
}

/// A callback the portal accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct CallbackStarted {
    /// `None` for lines owned by a telephony REST application.
    pub call_id: Option<String>,
    /// True when this is the remembered answer to an earlier call with the same idempotency key;
    /// the portal was not called again.
    pub deduplicated: bool,
    pub timing: Timing,
    /// Set when the portal answered 302 (renamed) and the call went to the new address.
    pub portal_moved_to: Option<String>,
}

impl CallbackStarted {
    /// The remembered answer, handed out again for a repeat of its idempotency key.
    pub(crate) fn replayed(self, started_at: Instant) -> CallbackStarted {
        CallbackStarted {
            deduplicated: true,
            timing: Timing {
                total: started_at.elapsed(),
                ..self.timing
            },
            ..self
        }
    }
}

/// Reads `voximplant.callback.start`'s success answer: `RESULT` must confirm the start.
pub(crate) fn started_from(
    ok: Success,
    meta: CallMeta,
    started_at: Instant,
) -> Result<CallbackStarted, Error> {
    let result = ok.result.as_object();
    // Only JSON `true` confirms: `0`, `"false"`, `"true"` or a missing RESULT is an answer
    // nobody can trust either way.
    let confirmed = matches!(
        result.and_then(|r| r.get("RESULT")),
        Some(Value::Bool(true))
    );
    if !confirmed {
        return Err(Error::new(
            ErrorCode::OutcomeUnknown,
            "the portal answered without RESULT: true; the call may have been started",
        )
        .with_http_status(Some(200))
        .with_portal_moved_to(meta.moved_to));
    }
    let call_id = match result.and_then(|r| r.get("CALL_ID")) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Ok(CallbackStarted {
        call_id,
        deduplicated: false,
        timing: Timing {
            total: started_at.elapsed(),
            limiter_wait: meta.limiter_wait,
            attempts: meta.attempts,
            portal: ok.time,
        },
        portal_moved_to: meta.moved_to,
    })
}
