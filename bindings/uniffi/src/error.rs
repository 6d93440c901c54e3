//! The one error type of the binding and the one place that maps the core's error into it.

use std::fmt;

use callback_core as core;

/// Stable error codes, the same set in every language (snake_case via [`ErrorCode::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ErrorCode {
    /// Local validation failed; `violations` lists every problem.
    InvalidRequest,
    /// The destination policy refused the number (premium rate, region, cooldown, ...).
    DestinationBlocked,
    /// `QUERY_LIMIT_EXCEEDED`, or the local limiter could not admit the call before the deadline.
    RateLimited,
    /// HTTP 429 `OPERATION_TIME_LIMIT`; `operatingResetAt` tells when the budget resets.
    OperationTimeLimit,
    /// Expired token that could not be refreshed, invalid token or webhook, `invalid_grant`.
    AuthFailed,
    /// The webhook or application lacks the `call` / `telephony` scope.
    InsufficientScope,
    /// `ACCESS_DENIED`, plan or permission problems, method confirmation, payment.
    AccessDenied,
    /// The line given as `fromLine` does not exist.
    LineNotFound,
    /// The portal said "Phone number is not correct".
    NumberRejected,
    /// Any other error envelope, and 503 `OVERLOAD_LIMIT`.
    PortalError,
    /// Could not connect, resolve or finish the TLS handshake: nothing was sent.
    Transport,
    /// The shared state (the `sharedState` Redis) could not be reached or answered wrongly:
    /// refused before anything was sent.
    SharedStateUnavailable,
    /// Sent, but no trustworthy answer came back: the portal may have started the call.
    /// Never retry blindly; check the call log or the outcome first.
    OutcomeUnknown,
}

/// The exhaustive mapping of the core's codes (a new core code is a compile error here).
impl From<core::ErrorCode> for ErrorCode {
    fn from(code: core::ErrorCode) -> Self {
        match code {
            core::ErrorCode::InvalidRequest => ErrorCode::InvalidRequest,
            core::ErrorCode::DestinationBlocked => ErrorCode::DestinationBlocked,
            core::ErrorCode::RateLimited => ErrorCode::RateLimited,
            core::ErrorCode::OperationTimeLimit => ErrorCode::OperationTimeLimit,
            core::ErrorCode::AuthFailed => ErrorCode::AuthFailed,
            core::ErrorCode::InsufficientScope => ErrorCode::InsufficientScope,
            core::ErrorCode::AccessDenied => ErrorCode::AccessDenied,
            core::ErrorCode::LineNotFound => ErrorCode::LineNotFound,
            core::ErrorCode::NumberRejected => ErrorCode::NumberRejected,
            core::ErrorCode::PortalError => ErrorCode::PortalError,
            core::ErrorCode::Transport => ErrorCode::Transport,
            core::ErrorCode::SharedStateUnavailable => ErrorCode::SharedStateUnavailable,
            core::ErrorCode::OutcomeUnknown => ErrorCode::OutcomeUnknown,
        }
    }
}

impl From<ErrorCode> for core::ErrorCode {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::InvalidRequest => core::ErrorCode::InvalidRequest,
            ErrorCode::DestinationBlocked => core::ErrorCode::DestinationBlocked,
            ErrorCode::RateLimited => core::ErrorCode::RateLimited,
            ErrorCode::OperationTimeLimit => core::ErrorCode::OperationTimeLimit,
            ErrorCode::AuthFailed => core::ErrorCode::AuthFailed,
            ErrorCode::InsufficientScope => core::ErrorCode::InsufficientScope,
            ErrorCode::AccessDenied => core::ErrorCode::AccessDenied,
            ErrorCode::LineNotFound => core::ErrorCode::LineNotFound,
            ErrorCode::NumberRejected => core::ErrorCode::NumberRejected,
            ErrorCode::PortalError => core::ErrorCode::PortalError,
            ErrorCode::Transport => core::ErrorCode::Transport,
            ErrorCode::SharedStateUnavailable => core::ErrorCode::SharedStateUnavailable,
            ErrorCode::OutcomeUnknown => core::ErrorCode::OutcomeUnknown,
        }
    }
}

#[uniffi::export]
impl ErrorCode {
    /// The stable snake_case name, e.g. `"outcome_unknown"` (the same string in every binding).
    pub fn as_str(&self) -> String {
        core::ErrorCode::from(*self).as_str().to_owned()
    }

    /// True for every code but `OutcomeUnknown`.
    pub fn retry_safe(&self) -> bool {
        core::ErrorCode::from(*self).retry_safe()
    }
}

/// Parses a snake_case code name (`"rate_limited"`); `null`/`nil` when unknown.
#[uniffi::export]
pub fn error_code_from_str(name: String) -> Option<ErrorCode> {
    core::ErrorCode::parse(&name).map(ErrorCode::from)
}

/// One reason an input was refused before any network traffic.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Violation {
    /// The input: `FROM_LINE`, `TO_NUMBER`, `TEXT_TO_PRONOUNCE`, `VOICE`, `idempotency_key`,
    /// `webhook_url`, or a client option in camelCase (`timeout`, `defaultRegion`,
    /// `destinationPolicy.allowedRegions`, ...).
    pub field: String,
    /// Stable snake_case reason, e.g. `"required"`.
    pub code: String,
    /// Human text (never the full phone number).
    pub description: String,
}

/// Everything an error says, as one value: returned by `CallbackError.details()` and by
/// `classifyResponse`.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ErrorDetails {
    pub code: ErrorCode,
    /// True when the portal certainly did not start a call (every code but `OutcomeUnknown`).
    pub retry_safe: bool,
    /// Human text, free of secrets and full phone numbers.
    pub description: String,
    /// Bitrix24's own `error` value when the portal answered with an envelope (may be empty).
    pub bitrix_code: Option<String>,
    /// HTTP status of the portal's answer, when there was one.
    pub http_status: Option<u16>,
    /// For `InvalidRequest`: every violation found.
    pub violations: Vec<Violation>,
    /// For `OperationTimeLimit`: unix time (seconds) at which the budget resets, when known.
    pub operating_reset_at: Option<i64>,
    /// When the portal answered 302 (renamed): its new base address.
    pub portal_moved_to: Option<String>,
}

/// Declares `CallbackError` with one variant per [`ErrorCode`], every variant carrying the same
/// fields, and the two conversions to and from [`ErrorDetails`].
macro_rules! callback_error {
    ($($(#[$doc:meta])* $variant:ident = $code:ident,)*) => {
        /// The error of every call. One variant per [`ErrorCode`] (catch one family by type, or
        /// any of them and read `details()`); each carries the same fields.
        ///
        /// Kotlin: `CallbackException.RateLimited`, ...; Swift: `CallbackError.RateLimited(...)`.
        #[derive(Debug, Clone, PartialEq, uniffi::Error)]
        pub enum CallbackError {
            $(
                $(#[$doc])*
                $variant {
                    /// The stable code (always the one matching this variant).
                    code: ErrorCode,
                    /// True when the portal certainly did not start a call.
                    retry_safe: bool,
                    /// Human text, free of secrets and full phone numbers.
                    description: String,
                    /// Bitrix24's own `error` value, when the portal answered with an envelope.
                    bitrix_code: Option<String>,
                    /// HTTP status of the portal's answer, when there was one.
                    http_status: Option<u16>,
                    /// For `InvalidRequest`: every violation found.
                    violations: Vec<Violation>,
                    /// For `OperationTimeLimit`: unix time (s) at which the budget resets.
                    operating_reset_at: Option<i64>,
                    /// When the portal answered 302 (renamed): its new base address.
                    portal_moved_to: Option<String>,
                },
            )*
        }

        impl From<ErrorDetails> for CallbackError {
            fn from(d: ErrorDetails) -> Self {
                let ErrorDetails {
                    code,
                    retry_safe,
                    description,
                    bitrix_code,
                    http_status,
                    violations,
                    operating_reset_at,
                    portal_moved_to,
                } = d;
                match code {
                    $(ErrorCode::$code => CallbackError::$variant {
                        code,
                        retry_safe,
                        description,
                        bitrix_code,
                        http_status,
                        violations,
                        operating_reset_at,
                        portal_moved_to,
                    },)*
                }
            }
        }

        impl CallbackError {
            fn to_details(&self) -> ErrorDetails {
                match self {
                    $(CallbackError::$variant {
                        code,
                        retry_safe,
                        description,
                        bitrix_code,
                        http_status,
                        violations,
                        operating_reset_at,
                        portal_moved_to,
                    } => ErrorDetails {
                        code: *code,
                        retry_safe: *retry_safe,
                        description: description.clone(),
                        bitrix_code: bitrix_code.clone(),
                        http_status: *http_status,
                        violations: violations.clone(),
                        operating_reset_at: *operating_reset_at,
                        portal_moved_to: portal_moved_to.clone(),
                    },)*
                }
            }
        }
    };
}

callback_error! {
    /// Local validation failed; see `violations`.
    InvalidRequest = InvalidRequest,
    /// The destination policy refused the number.
    DestinationBlocked = DestinationBlocked,
    /// Rate limited (portal or local limiter); nothing was started.
    RateLimited = RateLimited,
    /// HTTP 429 `OPERATION_TIME_LIMIT`.
    OperationTimeLimit = OperationTimeLimit,
    /// Authentication failed (webhook, token, refresh).
    AuthFailed = AuthFailed,
    /// The webhook or application lacks a scope.
    InsufficientScope = InsufficientScope,
    /// Access denied by the portal.
    AccessDenied = AccessDenied,
    /// The line does not exist.
    LineNotFound = LineNotFound,
    /// The portal rejected the phone number.
    NumberRejected = NumberRejected,
    /// Another error answer of the portal (code `PortalError`; the variant is not called
    /// `PortalError` because uniffi renames `...Error` variants to `...Exception` in Kotlin).
    Portal = PortalError,
    /// Nothing was sent (connect, DNS or TLS failure).
    Transport = Transport,
    /// The shared state (Redis) is unreachable or answered wrongly; nothing was sent.
    SharedStateUnavailable = SharedStateUnavailable,
    /// The request was sent but the answer is unknown: do not retry blindly.
    OutcomeUnknown = OutcomeUnknown,
}

#[uniffi::export]
impl CallbackError {
    /// All fields at once, whichever variant this is.
    pub fn details(&self) -> ErrorDetails {
        self.to_details()
    }
}

impl CallbackError {
    /// The error code of this error.
    pub fn code(&self) -> ErrorCode {
        self.to_details().code
    }
}

impl fmt::Display for CallbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.to_details();
        write!(f, "{}: {}", d.code.as_str(), d.description)
    }
}

impl std::error::Error for CallbackError {}

/// The single conversion from the core's error. Its parts are taken apart without `..`, so a
/// field the core adds is a compile error here until it is mapped.
impl From<core::Error> for ErrorDetails {
    fn from(e: core::Error) -> Self {
        let core::ErrorParts {
            code,
            retry_safe,
            description,
            bitrix_code,
            http_status,
            violations,
            operating_reset_at,
            portal_moved_to,
        } = e.into_parts();
        ErrorDetails {
            code: code.into(),
            retry_safe,
            description,
            bitrix_code,
            http_status,
            violations: violations.into_iter().map(Violation::from).collect(),
            operating_reset_at,
            portal_moved_to,
        }
    }
}

impl From<core::Violation> for Violation {
    fn from(v: core::Violation) -> Self {
        let core::Violation {
            field,
            code,
            message,
        } = v;
        Violation {
            field,
            code,
            description: message,
        }
    }
}

impl From<core::Error> for CallbackError {
    fn from(e: core::Error) -> Self {
        CallbackError::from(ErrorDetails::from(e))
    }
}

/// Runs a call into the core and turns a panic into `OutcomeUnknown` (not retry-safe: a panic
/// in the middle of `startCallback` cannot prove that nothing was sent), so no unwinding ever
/// reaches the JVM or Swift.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, CallbackError>) -> Result<T, CallbackError> {
    match core::catch_panic(core::ErrorCode::OutcomeUnknown, || Ok(f())) {
        Ok(result) => result,
        Err(panicked) => Err(panicked.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_outcome_unknown() {
        let result: Result<(), CallbackError> = guarded(|| panic!("boom"));
        let err = result.unwrap_err();
        assert!(matches!(err, CallbackError::OutcomeUnknown { .. }));
        let d = err.details();
        assert!(!d.retry_safe);
        assert!(!d.description.contains("boom"));
    }

    #[test]
    fn details_round_trip_through_the_variant() {
        for code in core::ErrorCode::ALL {
            let mut d = ErrorDetails::from(core::Error::new(code, "text"));
            d.http_status = Some(503);
            d.bitrix_code = Some("X".into());
            let err = CallbackError::from(d.clone());
            assert_eq!(err.details(), d);
        }
    }
}
