//! Node.js binding of `callback-core`: the native part of the npm package `bitrix24-callback`.
//!
//! Thin by design: arguments are converted and validated on the JS thread, every call that may
//! touch the network runs as an `AsyncTask` on the libuv pool, and core errors become
//! `CallbackError` objects in one place (`errors`).

// napi-rs registers the exported free functions only outside `cfg(test)`: the unit-test build
// would call them (and what only they use) unused.
#![cfg_attr(test, allow(dead_code))]

mod client;
mod convert;
mod errors;
mod logging;
mod runtime;
#[cfg(feature = "testing")]
mod testing;
mod tokens;

use callback_core as core;
use napi::bindgen_prelude::*;
use napi_derive::napi;

pub use client::Client;
pub use errors::ErrorCode;

/// Module initialisation, once per environment (the main thread and each worker thread): the
/// `CallbackError` class, the other per-environment pieces, and the phone metadata loaded on a
/// background thread (once per process) so that the first validation on the JS thread does not
/// pay for it.
#[napi(module_exports)]
pub fn init(mut exports: Object, env: Env) -> Result<()> {
    core::warm_up_in_background();
    let class = errors::define_class(&env)?;
    runtime::install(&env, &class)?;
    exports.set("CallbackError", class)
}

/// Longest `text` accepted, in characters.
#[napi]
pub const MAX_TEXT_CHARS: u32 = core::MAX_TEXT_CHARS as u32;

/// The package version (the same as the Rust core's).
#[napi(catch_unwind)]
pub fn version() -> String {
    core::VERSION.to_owned()
}

/// The voice ids Bitrix24's text-to-speech knows.
#[napi(catch_unwind)]
pub fn known_voices() -> Vec<String> {
    core::KNOWN_VOICES.iter().map(|v| (*v).to_owned()).collect()
}

/// Every error code, in the order of the contract table.
#[napi(catch_unwind)]
pub fn error_codes() -> Vec<ErrorCode> {
    core::ErrorCode::ALL
        .into_iter()
        .map(ErrorCode::from)
        .collect()
}

/// Masks a phone number for logs: `+12015550123` → `+120******23`.
#[napi(catch_unwind, ts_args_type = "phoneNumber: string")]
pub fn mask_number(env: Env, phone_number: Unknown) -> Result<String> {
    let n = convert::string_arg(&env, &phone_number, "phoneNumber")?;
    errors::guard(|| Ok(core::mask_number(&n))).map_err(|e| errors::to_napi(&env, e))
}

/// Validates callback input exactly as `startCallback` does (without the destination policy,
/// which needs a client) and returns what would be sent; throws `CallbackError`
/// `invalid_request` listing every violation.
#[napi(
    catch_unwind,
    ts_args_type = "input: RequestInput",
    ts_return_type = "ValidatedRequest"
)]
pub fn validate_request<'env>(env: &'env Env, input: Unknown) -> Result<Unknown<'env>> {
    let i: convert::RequestInput = convert::parse(env, &input, "input")?;
    let refused = convert::unknown_keys_counted(env, &input, convert::keys::REQUEST, i.present())?;
    let r =
        errors::guard(|| i.into_builder(refused).build()).map_err(|e| errors::to_napi(env, e))?;
    runtime::with_redacted_inspect(
        env,
        convert::ValidatedRequest::from(&r),
        runtime::Redacted::ValidatedRequest,
    )
}

/// Classifies a raw portal answer the way the client does: `null` for a success envelope,
/// otherwise the `CallbackError` it maps to (returned, not thrown).
#[napi(
    catch_unwind,
    ts_args_type = "httpStatus: number, body: string | Uint8Array",
    ts_return_type = "CallbackError | null"
)]
pub fn classify_response<'env>(
    env: &'env Env,
    http_status: Unknown,
    body: Unknown,
) -> Result<Option<Unknown<'env>>> {
    let status = match http_status.get_type()? {
        ValueType::Number => unsafe { f64::from_napi_value(env.raw(), http_status.raw())? },
        _ => return Err(errors::type_error(env, "httpStatus must be a number")),
    };
    if !(status.fract() == 0.0 && (100.0..=999.0).contains(&status)) {
        return Err(errors::type_error(
            env,
            "httpStatus must be an integer HTTP status",
        ));
    }
    let body = convert::bytes_arg(env, &body, "body")?;
    match errors::guard(|| match core::classify_response(status as u16, &body) {
        None => Ok(()),
        Some(e) => Err(e),
    }) {
        Ok(()) => Ok(None),
        Err(e) => Ok(Some(errors::callback_error(env, e)?)),
    }
}

/// Parses a telephony event (form-urlencoded body the portal POSTs to your handler) and checks
/// its `application_token` in constant time. Throws `CallbackError` (`invalid_request` for a
/// malformed body, `auth_failed` for a wrong or missing token).
#[napi(
    catch_unwind,
    ts_args_type = "body: string | Uint8Array, applicationToken: string",
    ts_return_type = "TelephonyEvent"
)]
pub fn parse_event<'env>(
    env: &'env Env,
    body: Unknown,
    application_token: Unknown,
) -> Result<Unknown<'env>> {
    let body = convert::bytes_arg(env, &body, "body")?;
    let token = convert::string_arg(env, &application_token, "applicationToken")?;
    let event =
        errors::guard(|| core::parse_event(&body, &token)).map_err(|e| errors::to_napi(env, e))?;
    runtime::with_redacted_inspect(
        env,
        convert::TelephonyEvent::from(event),
        runtime::Redacted::TelephonyEvent,
    )
}
