//! What a start returns: [`CallbackStarted`], and how the portal's success answer is read.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::client::exchange::CallMeta;
use crate::error::{Error, ErrorCode};
use crate::response::{PortalTime, Success};

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
    let confirmed = result
        .and_then(|r| r.get("RESULT"))
        .map(|v| !matches!(v, Value::Bool(false) | Value::Null))
        .unwrap_or(false);
    if !confirmed {
        return Err(Error::new(
            ErrorCode::OutcomeUnknown,
            "the portal answered without RESULT=true; the call may have been started",
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
