//! The one error type of the crate and its stable codes.

use std::fmt;

/// Stable, language-independent error codes (snake_case on the wire of every binding).
///
/// Bindings match on this exhaustively, so adding a variant is a compile error in each of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCode {
    /// Local validation failed; see [`Error::violations`].
    InvalidRequest,
    /// The destination policy refused the number (premium rate, country, cooldown, ...).
    DestinationBlocked,
    /// `QUERY_LIMIT_EXCEEDED`, or the local bucket could not admit the call before the deadline.
    RateLimited,
    /// HTTP 429 `OPERATION_TIME_LIMIT`; see [`Error::operating_reset_at`].
    OperationTimeLimit,
    /// Expired token that could not be refreshed, invalid token or webhook, `invalid_grant`.
    AuthFailed,
    /// The webhook or application lacks scope `call` / `telephony`.
    InsufficientScope,
    /// `ACCESS_DENIED`, plan or permission problems, method confirmation, payment.
    AccessDenied,
    /// "Could not find line ..." / "Could not find config ...".
    LineNotFound,
    /// "Phone number is not correct".
    NumberRejected,
    /// Any other error envelope on a non-5xx answer, and 503 `OVERLOAD_LIMIT`.
    PortalError,
    /// Could not connect, resolve or complete the TLS handshake: nothing was sent.
    Transport,
    /// The shared state (Redis) could not be reached or answered wrongly: refused before
    /// anything was sent.
    SharedStateUnavailable,
    /// Sent, but no trustworthy answer came back: the portal may have started the call.
    OutcomeUnknown,
}

impl ErrorCode {
    /// Every code, in the order of the contract table.
    pub const ALL: [ErrorCode; 13] = [
        ErrorCode::InvalidRequest,
        ErrorCode::DestinationBlocked,
        ErrorCode::RateLimited,
        ErrorCode::OperationTimeLimit,
        ErrorCode::AuthFailed,
        ErrorCode::InsufficientScope,
        ErrorCode::AccessDenied,
        ErrorCode::LineNotFound,
        ErrorCode::NumberRejected,
        ErrorCode::PortalError,
        ErrorCode::Transport,
        ErrorCode::SharedStateUnavailable,
        ErrorCode::OutcomeUnknown,
    ];

    /// The stable snake_case name, e.g. `"outcome_unknown"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::DestinationBlocked => "destination_blocked",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::OperationTimeLimit => "operation_time_limit",
            ErrorCode::AuthFailed => "auth_failed",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::LineNotFound => "line_not_found",
            ErrorCode::NumberRejected => "number_rejected",
            ErrorCode::PortalError => "portal_error",
            ErrorCode::Transport => "transport",
            ErrorCode::SharedStateUnavailable => "shared_state_unavailable",
            ErrorCode::OutcomeUnknown => "outcome_unknown",
        }
    }

    /// Parses a snake_case name back into a code.
    pub fn parse(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// True when the portal certainly did not start a call, so repeating the request cannot
    /// ring anybody twice. Only [`ErrorCode::OutcomeUnknown`] is not retry-safe.
    pub fn retry_safe(self) -> bool {
        !matches!(self, ErrorCode::OutcomeUnknown)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason a [`crate::CallbackRequest`] (or another input) was refused before any network
/// traffic. `field` names the input (`FROM_LINE`, `TO_NUMBER`, `TEXT_TO_PRONOUNCE`, `VOICE`,
/// `idempotency_key`, `webhook_url`, ...), `code` is a stable snake_case reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Violation {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// Everything an [`Error`] says, as plain data.
///
/// Bindings destructure it without `..` ([`Error::into_parts`]), so a field added here fails to
/// compile in each of them until it is handed on to their users.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorParts {
    /// The stable code.
    pub code: ErrorCode,
    /// True when the portal certainly did not start a call ([`ErrorCode::retry_safe`]).
    pub retry_safe: bool,
    /// Human text, free of secrets and full phone numbers.
    pub description: String,
    /// Bitrix24's own `error` value when the portal answered with an envelope (may be `""`),
    /// sanitised like the description (a real code is unchanged).
    pub bitrix_code: Option<String>,
    /// HTTP status of the portal's answer, when there was one.
    pub http_status: Option<u16>,
    /// See [`Error::violations`].
    pub violations: Vec<Violation>,
    /// See [`Error::operating_reset_at`].
    pub operating_reset_at: Option<i64>,
    /// See [`Error::portal_moved_to`].
    pub portal_moved_to: Option<String>,
}

/// Everything that can go wrong, with a stable [`ErrorCode`].
///
/// The description never contains a secret or a full phone number.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct Error {
    code: ErrorCode,
    description: String,
    bitrix_code: Option<String>,
    http_status: Option<u16>,
    violations: Vec<Violation>,
    operating_reset_at: Option<i64>,
    portal_moved_to: Option<String>,
}

impl Error {
    /// A new error with a code and a human description (which must already be free of secrets).
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Error {
        Error {
            code,
            description: description.into(),
            bitrix_code: None,
            http_status: None,
            violations: Vec::new(),
            operating_reset_at: None,
            portal_moved_to: None,
        }
    }

    /// An `invalid_request` error carrying every violation found.
    pub fn invalid(violations: Vec<Violation>) -> Error {
        let description = violations
            .iter()
            .map(|v| format!("{}: {}", v.field, v.message))
            .collect::<Vec<_>>()
            .join("; ");
        Error {
            violations,
            ..Error::new(ErrorCode::InvalidRequest, description)
        }
    }

    /// The error reported for a bug inside this library (a panic caught at a language
    /// boundary), with the code the caller chooses: `outcome_unknown` wherever a request may
    /// already have been sent, since nobody can then tell whether it was.
    pub fn internal(code: ErrorCode) -> Error {
        let mut description =
            String::from("internal error in bitrix24-callback (a bug; please report it)");
        if code == ErrorCode::OutcomeUnknown {
            description.push_str("; the request may or may not have been sent");
        }
        Error::new(code, description)
    }

    pub(crate) fn with_bitrix_code(mut self, code: Option<String>) -> Error {
        self.bitrix_code = code;
        self
    }

    pub(crate) fn with_http_status(mut self, status: Option<u16>) -> Error {
        self.http_status = status;
        self
    }

    pub(crate) fn with_operating_reset_at(mut self, at: Option<i64>) -> Error {
        self.operating_reset_at = at;
        self
    }

    pub(crate) fn with_portal_moved_to(mut self, to: Option<String>) -> Error {
        self.portal_moved_to = to;
        self
    }

    pub(crate) fn with_portal_moved_to_if_none(mut self, to: Option<String>) -> Error {
        if self.portal_moved_to.is_none() {
            self.portal_moved_to = to;
        }
        self
    }

    /// Replaces every occurrence of a known secret in the error's texts by `[redacted]`.
    pub(crate) fn scrub(mut self, secrets: &[&str]) -> Error {
        let clean = |text: &mut String| *text = crate::redact::scrub_secrets(text, secrets);
        clean(&mut self.description);
        if let Some(code) = &mut self.bitrix_code {
            clean(code);
        }
        for v in &mut self.violations {
            clean(&mut v.message);
        }
        self
    }

    pub(crate) fn with_violations(mut self, violations: Vec<Violation>) -> Error {
        self.violations = violations;
        self
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// True when the portal certainly did not start a call.
    pub fn retry_safe(&self) -> bool {
        self.code.retry_safe()
    }

    /// Human text, free of secrets and full phone numbers.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Bitrix24's own `error` value when the portal answered with an envelope (may be `""`),
    /// sanitised like the description (a real code is unchanged).
    pub fn bitrix_code(&self) -> Option<&str> {
        self.bitrix_code.as_deref()
    }

    /// HTTP status of the portal's answer, when there was one.
    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// For `invalid_request`: every violation found. For `destination_blocked`: the one policy
    /// rule that refused the number (field `TO_NUMBER`, code `premium_rate`, `shared_cost`,
    /// `personal_number`, `pager`, `voicemail`, `region_not_allowed` or `cooldown`).
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// For `operation_time_limit`: unix time (seconds) at which the method's budget resets, when
    /// known from an earlier answer.
    pub fn operating_reset_at(&self) -> Option<i64> {
        self.operating_reset_at
    }

    /// When the portal answered 302 (it was renamed): its new base address.
    pub fn portal_moved_to(&self) -> Option<&str> {
        self.portal_moved_to.as_deref()
    }

    /// Every part of the error as plain data (what bindings hand on to their languages).
    pub fn into_parts(self) -> ErrorParts {
        let Error {
            code,
            description,
            bitrix_code,
            http_status,
            violations,
            operating_reset_at,
            portal_moved_to,
        } = self;
        ErrorParts {
            code,
            retry_safe: code.retry_safe(),
            description,
            bitrix_code,
            http_status,
            violations,
            operating_reset_at,
            portal_moved_to,
        }
    }
}

/// Runs `f` so that a panic (a bug) becomes [`Error::internal`] with code `on_panic` instead
/// of unwinding further: every binding wraps its calls into the core with it, because an
/// unwind must never cross into Python, Node.js or the JVM.
pub fn catch_panic<T>(
    on_panic: ErrorCode,
    f: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(Error::internal(on_panic)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_chosen_code() {
        let r: Result<(), Error> = catch_panic(ErrorCode::OutcomeUnknown, || panic!("boom"));
        let e = r.unwrap_err();
        assert_eq!(e.code(), ErrorCode::OutcomeUnknown);
        assert!(!e.retry_safe());
        assert!(e.description().contains("may or may not have been sent"));
        assert!(
            !e.description().contains("boom"),
            "the panic message is not exposed"
        );

        let r: Result<(), Error> = catch_panic(ErrorCode::InvalidRequest, || panic!("boom"));
        let e = r.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidRequest);
        assert!(!e.description().contains("sent"));

        assert_eq!(catch_panic(ErrorCode::OutcomeUnknown, || Ok(7)).unwrap(), 7);
    }
}
