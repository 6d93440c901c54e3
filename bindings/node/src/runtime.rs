//! Per-environment JavaScript pieces (the main thread and each worker thread get their own):
//! the `CallbackError` class and the wrapper that adapts an `onTokens` hook.

// napi-derive registers `init` only outside `cfg(test)`, so the test harness sees it unused.
#![cfg_attr(test, allow(dead_code))]

use napi::bindgen_prelude::*;
use napi_derive::napi;

/// Defines `CallbackError` in plain JavaScript so that it really `extends Error` (`instanceof`,
/// `stack`, `util.inspect` all behave like any Node error).
const ERROR_CLASS_JS: &str = r#"(() => {
  class CallbackError extends Error {
    constructor(message, details) {
      super(message);
      const d = details || {};
      this.code = d.code;
      this.retrySafe = d.retrySafe === true;
      this.bitrixCode = d.bitrixCode == null ? null : d.bitrixCode;
      this.httpStatus = d.httpStatus == null ? null : d.httpStatus;
      this.violations = Object.freeze(Array.isArray(d.violations) ? d.violations.slice() : []);
      this.operatingResetAt = d.operatingResetAt == null ? null : d.operatingResetAt;
      this.portalMovedTo = d.portalMovedTo == null ? null : d.portalMovedTo;
    }
  }
  Object.defineProperty(CallbackError.prototype, 'name', {
    value: 'CallbackError', writable: true, enumerable: false, configurable: true,
  });
  return CallbackError;
})()"#;

/// Adapts a user's `onTokens(pair)` (sync or async, may throw) into `(pair, id) => void` that
/// always reports back through `report(id, whatFailedOrUndefined)`, exactly once. Only the kind
/// of what was thrown is reported (`TypeError`, `string`, ...), never its message: that is app
/// text which may quote the very tokens being saved (or a database URL with its password), and
/// it would end up in the `auth_failed` error.
const TOKEN_WRAPPER_JS: &str = r#"((fn, report) => (pair, id) => {
  const fail = (e) => {
    let kind;
    try {
      kind = e instanceof Error ? String(e.name) : (e === null ? 'null' : typeof e);
    } catch (_) {
      kind = 'an exception';
    }
    report(id, kind);
  };
  let result;
  try { result = fn(pair); } catch (e) { fail(e); return; }
  Promise.resolve(result).then(() => report(id, undefined), fail);
})"#;

/// Gives a plain result object a `util.inspect` (hence `console.log`) view in which the named
/// fields (a full phone number, the portal's member id) read `[hidden]`, as they are left out of
/// the Python reprs and the Kotlin/Swift `toString`/`description`. The symbol property is not
/// enumerable: `JSON.stringify`, spreading and `Object.keys` see the object unchanged.
const REDACTED_INSPECT_JS: &str = r#"((obj, label, hidden) => {
  Object.defineProperty(obj, Symbol.for('nodejs.util.inspect.custom'), {
    value(depth, options, inspect) {
      const shown = { ...this };
      for (const key of hidden) {
        if (shown[key] != null) shown[key] = '[hidden]';
      }
      return `${label} ${inspect(shown, options)}`;
    },
    enumerable: false, writable: true, configurable: true,
  });
  return obj;
})"#;

type ErrorArgs = FnArgs<(String, crate::errors::CallbackErrorDetails)>;
type WrapperArgs = FnArgs<(Function<'static>, Function<'static>)>;
type RedactArgs = FnArgs<(Unknown<'static>, String, Vec<String>)>;

pub struct Runtime {
    error_class: FunctionRef<ErrorArgs, Unknown<'static>>,
    token_wrapper: FunctionRef<WrapperArgs, Function<'static>>,
    redacted_inspect: FunctionRef<RedactArgs, Unknown<'static>>,
}

/// The phone-number metadata is loaded lazily on first use (hundreds of milliseconds in a debug
/// build): start the core's [`callback_core::warm_up`] once per process on a background thread,
/// so that the first `startCallback`/`validateRequest` on the JS thread does not pay for it.
fn warm_up_validation() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("bitrix24-callback-warm-up".into())
            .spawn(|| {
                let _ = std::panic::catch_unwind(callback_core::warm_up);
            });
    });
}

#[napi(module_exports)]
pub fn init(mut exports: Object, env: Env) -> Result<()> {
    warm_up_validation();
    let class: Function<ErrorArgs, Unknown> = env.run_script(ERROR_CLASS_JS)?;
    let wrapper: Function<WrapperArgs, Function> = env.run_script(TOKEN_WRAPPER_JS)?;
    let redact: Function<RedactArgs, Unknown> = env.run_script(REDACTED_INSPECT_JS)?;
    let runtime = Runtime {
        error_class: class.create_ref()?,
        token_wrapper: wrapper.create_ref()?,
        redacted_inspect: redact.create_ref()?,
    };
    exports.set("CallbackError", class)?;
    env.set_instance_data(runtime, (), |_| {})
}

fn runtime(env: &Env) -> Result<&'static Runtime> {
    match env.get_instance_data::<Runtime>()? {
        Some(rt) => Ok(rt),
        None => Err(Error::new(
            Status::GenericFailure,
            "bitrix24-callback: module not initialised in this environment",
        )),
    }
}

pub fn error_class<'env>(env: &'env Env) -> Result<Function<'env, ErrorArgs, Unknown<'static>>> {
    runtime(env)?.error_class.borrow_back(env)
}

pub fn token_wrapper<'env>(
    env: &'env Env,
) -> Result<Function<'env, WrapperArgs, Function<'static>>> {
    runtime(env)?.token_wrapper.borrow_back(env)
}

/// Converts `value` to JS and gives it a `util.inspect` view without the `hidden` fields (see
/// [`REDACTED_INSPECT_JS`]).
pub fn with_redacted_inspect<'env, T: ToNapiValue>(
    env: &'env Env,
    value: T,
    label: &str,
    hidden: &[&str],
) -> Result<Unknown<'env>> {
    let raw = unsafe { T::to_napi_value(env.raw(), value)? };
    let obj: Unknown<'static> = unsafe { Unknown::from_napi_value(env.raw(), raw)? };
    runtime(env)?
        .redacted_inspect
        .borrow_back(env)?
        .call(FnArgs::from((
            obj,
            label.to_owned(),
            hidden.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>(),
        )))
}
