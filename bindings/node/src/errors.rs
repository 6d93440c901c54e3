//! Errors at the JS boundary: the one exhaustive map of `callback_core::ErrorCode`, the one map
//! of the core's error parts, the `CallbackError` class and its objects, `TypeError`s for
//! arguments of the wrong type, and the guard that keeps Rust panics out of JavaScript.

use callback_core::{Error as CoreError, ErrorCode as CoreCode, ErrorParts};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::runtime::{self, ErrorClass};

/// The stable error codes, as a string-literal union in `index.d.ts`.
#[napi(string_enum = "snake_case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    DestinationBlocked,
    RateLimited,
    OperationTimeLimit,
    AuthFailed,
    InsufficientScope,
    AccessDenied,
    LineNotFound,
    NumberRejected,
    PortalError,
    Transport,
    SharedStateUnavailable,
    OutcomeUnknown,
}

/// The one place that maps the core's codes; a new core variant fails to compile here.
impl From<CoreCode> for ErrorCode {
    fn from(code: CoreCode) -> Self {
        match code {
            CoreCode::InvalidRequest => ErrorCode::InvalidRequest,
            CoreCode::DestinationBlocked => ErrorCode::DestinationBlocked,
            CoreCode::RateLimited => ErrorCode::RateLimited,
            CoreCode::OperationTimeLimit => ErrorCode::OperationTimeLimit,
            CoreCode::AuthFailed => ErrorCode::AuthFailed,
            CoreCode::InsufficientScope => ErrorCode::InsufficientScope,
            CoreCode::AccessDenied => ErrorCode::AccessDenied,
            CoreCode::LineNotFound => ErrorCode::LineNotFound,
            CoreCode::NumberRejected => ErrorCode::NumberRejected,
            CoreCode::PortalError => ErrorCode::PortalError,
            CoreCode::Transport => ErrorCode::Transport,
            CoreCode::SharedStateUnavailable => ErrorCode::SharedStateUnavailable,
            CoreCode::OutcomeUnknown => ErrorCode::OutcomeUnknown,
        }
    }
}

/// One reason an input was refused before any network traffic.
#[napi(object)]
pub struct Violation {
    /// The input concerned: `FROM_LINE`, `TO_NUMBER`, `TEXT_TO_PRONOUNCE`, `VOICE`,
    /// `idempotency_key`, `webhook_url`, an option name such as `timeoutMs`, ...
    pub field: String,
    /// Stable snake_case reason.
    pub code: String,
    /// Human text (never a secret or a full phone number).
    pub message: String,
}

/// The machine-readable part of a `CallbackError` (its second constructor argument).
#[napi(object, use_nullable = true)]
pub struct CallbackErrorDetails {
    pub code: ErrorCode,
    /// True when the portal certainly did not start a call, so a retry cannot ring twice.
    pub retry_safe: bool,
    /// Bitrix24's own `error` value when the portal answered with an error envelope.
    pub bitrix_code: Option<String>,
    /// HTTP status of the portal's answer, when there was one.
    pub http_status: Option<u32>,
    /// For `invalid_request`: every violation found.
    pub violations: Option<Vec<Violation>>,
    /// For `operation_time_limit`: unix time (seconds) when the method's budget resets.
    pub operating_reset_at: Option<i64>,
    /// When the portal was renamed (HTTP 302): its new base address.
    pub portal_moved_to: Option<String>,
}

impl CallbackErrorDetails {
    /// The message and the details of a core error. `ErrorParts` is taken apart without `..`:
    /// a field the core adds fails to compile here until it is mapped, and then reaches
    /// JavaScript (and `index.d.ts`) through `CallbackErrorDetails` alone.
    fn from_core(err: CoreError) -> (String, CallbackErrorDetails) {
        let ErrorParts {
            code,
            retry_safe,
            description,
            bitrix_code,
            http_status,
            violations,
            operating_reset_at,
            portal_moved_to,
        } = err.into_parts();
        let details = CallbackErrorDetails {
            code: code.into(),
            retry_safe,
            bitrix_code,
            http_status: http_status.map(u32::from),
            violations: Some(violations.into_iter().map(Violation::from).collect()),
            operating_reset_at,
            portal_moved_to,
        };
        (description, details)
    }
}

impl From<callback_core::Violation> for Violation {
    fn from(v: callback_core::Violation) -> Self {
        let callback_core::Violation {
            field,
            code,
            message,
        } = v;
        Violation {
            field,
            code,
            message,
        }
    }
}

/// Defines `CallbackError` in plain JavaScript so that it really `extends Error` (`instanceof`,
/// `stack`, `util.inspect` all behave like any Node error). Its fields are the keys of
/// `template` (a `CallbackErrorDetails` as JavaScript sees it), copied from the details it is
/// constructed with: a value left out is `null`, `retrySafe` is a boolean and `violations` a
/// frozen array.
const ERROR_CLASS_JS: &str = r#"((template) => {
  const fields = Object.keys(template);
  class CallbackError extends Error {
    constructor(message, details) {
      super(message);
      const d = details || {};
      for (const key of fields) this[key] = d[key] == null ? null : d[key];
      this.retrySafe = d.retrySafe === true;
      this.violations = Object.freeze(Array.isArray(d.violations) ? d.violations.slice() : []);
    }
  }
  Object.defineProperty(CallbackError.prototype, 'name', {
    value: 'CallbackError', writable: true, enumerable: false, configurable: true,
  });
  return CallbackError;
})"#;

/// The `CallbackError` class of one environment (kept by `runtime`, exported by `init`).
pub fn define_class(env: &Env) -> Result<ErrorClass<'_>> {
    let factory: Function<CallbackErrorDetails, ErrorClass> = env.run_script(ERROR_CLASS_JS)?;
    let (_, template) =
        CallbackErrorDetails::from_core(CoreError::new(CoreCode::InvalidRequest, ""));
    factory.call(template)
}

/// Builds a JS `CallbackError` (the class kept per environment by `runtime`).
pub fn callback_error(env: &Env, err: CoreError) -> Result<Unknown<'_>> {
    let (message, details) = CallbackErrorDetails::from_core(err);
    let details = runtime::to_js(env, details)?;
    runtime::error_class(env)?.new_instance(FnArgs::from((message, details)))
}

/// A `napi::Error` that carries the JS `CallbackError` object itself, so throwing it or
/// rejecting a Promise with it hands JavaScript that very object.
pub fn to_napi(env: &Env, err: CoreError) -> Error {
    match callback_error(env, err) {
        Ok(value) => Error::from(value),
        Err(e) => e,
    }
}

/// A `TypeError` with Node's `ERR_INVALID_ARG_TYPE` code. The message names the argument and
/// the expected type, never the value received (which may be a phone number or a secret).
pub fn type_error(env: &Env, message: impl Into<String>) -> Error {
    let err: Error<&'static str> = Error::new("ERR_INVALID_ARG_TYPE", message.into());
    Error::from(JsTypeError::from(err).into_unknown(*env))
}

/// Rewrites a conversion failure of napi's derived `FromNapiValue` (whose text may quote the
/// value received) into a `TypeError` that names only the field.
pub fn conversion_error(env: &Env, what: &str, err: &Error) -> Error {
    type_error(env, describe_conversion_failure(what, &err.reason))
}

/// The text of [`conversion_error`]: the field's name from napi's message, never the value.
fn describe_conversion_failure(what: &str, reason: &str) -> String {
    if let Some(field) = reason
        .strip_prefix("Missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        return format!("{what}: `{field}` is required");
    }
    match reason.rsplit_once(" on ") {
        Some((_, path)) if !path.contains(' ') => {
            let field = path.split_once('.').map_or(path, |(_, f)| f);
            format!("{what}: `{field}` has the wrong type")
        }
        _ => format!("{what} has the wrong type"),
    }
}

/// Runs `f`, turning a panic into a core error (so nothing unwinds into Node). A panic part
/// way through a call leaves its effect unknown, hence `outcome_unknown`.
pub fn guard<T>(
    f: impl FnOnce() -> std::result::Result<T, CoreError>,
) -> std::result::Result<T, CoreError> {
    callback_core::catch_panic(CoreCode::OutcomeUnknown, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_code_maps_to_a_distinct_code_in_contract_order() {
        let mapped: Vec<ErrorCode> = CoreCode::ALL.into_iter().map(ErrorCode::from).collect();
        let expected = [
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
        assert_eq!(mapped, expected);
    }

    #[test]
    fn conversion_failures_name_the_field_but_never_the_value() {
        let reason = "Failed to convert JavaScript value `Number 12015550123 ` into rust type `String` on StartCallbackOptions.to";
        let text = describe_conversion_failure("options", reason);
        assert_eq!(text, "options: `to` has the wrong type");
        assert!(!text.contains("2015550123"));
        assert_eq!(
            describe_conversion_failure("options", "Missing field `webhookUrl`"),
            "options: `webhookUrl` is required"
        );
        assert_eq!(
            describe_conversion_failure("input", "value `secret stuff` is odd"),
            "input has the wrong type"
        );
    }

    #[test]
    fn every_part_of_a_core_error_reaches_the_message_or_the_details() {
        let body = br#"{"error":"SOME_ERROR","error_description":"nope"}"#;
        let err = callback_core::classify_response(400, body).expect("an error envelope");
        let text = err.description().to_owned();
        let (message, d) = CallbackErrorDetails::from_core(err);
        assert_eq!(message, text);
        assert_eq!(d.code, ErrorCode::PortalError);
        assert!(d.retry_safe);
        assert_eq!(d.bitrix_code.as_deref(), Some("SOME_ERROR"));
        assert_eq!(d.http_status, Some(400));
        assert_eq!(d.violations.map(|v| v.len()), Some(0));

        let refused = CoreError::invalid(vec![callback_core::Violation {
            field: "timeoutMs".into(),
            code: "out_of_range".into(),
            message: "must be a finite, non-negative duration".into(),
        }]);
        let (_, d) = CallbackErrorDetails::from_core(refused);
        let v = d.violations.expect("violations");
        assert_eq!(
            (v[0].field.as_str(), v[0].code.as_str()),
            ("timeoutMs", "out_of_range")
        );
    }

    #[test]
    fn a_panic_becomes_outcome_unknown() {
        let r: std::result::Result<(), CoreError> = guard(|| panic!("boom"));
        let e = r.unwrap_err();
        assert_eq!(e.code(), CoreCode::OutcomeUnknown);
        assert!(!e.retry_safe());
    }
}
