//! Per-environment JavaScript pieces (the main thread and each worker thread get their own):
//! the `CallbackError` class (defined in `errors`, kept here), the wrapper that adapts an
//! `onTokens` hook and the redacted `util.inspect` view of result objects.
//!
//! A leaf: it knows JavaScript values only, none of this crate's types, so the modules that use
//! it (`errors`, `tokens`, ...) never have it import them back.

use napi::bindgen_prelude::*;

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

/// Makes, for one kind of result, the function that gives a plain result object a
/// `util.inspect` (hence `console.log`) view in which the named fields (a full phone number, the
/// portal's member id) read `[hidden]`, as they are left out of the Python reprs and the
/// Kotlin/Swift `toString`/`description`. The symbol property is not enumerable:
/// `JSON.stringify`, spreading and `Object.keys` see the object unchanged. One inspector per
/// kind, made once per environment: a result only gets the property.
const REDACTED_INSPECT_JS: &str = r#"((label, hidden) => {
  const symbol = Symbol.for('nodejs.util.inspect.custom')
  function inspect(depth, options, inspect) {
    const shown = { ...this }
    for (const key of hidden) {
      if (shown[key] != null) shown[key] = '[hidden]'
    }
    return `${label} ${inspect(shown, options)}`
  }
  const descriptor = { value: inspect, enumerable: false, writable: true, configurable: true }
  return (obj) => Object.defineProperty(obj, symbol, descriptor)
})"#;

/// The results shown redacted by `util.inspect`: their label and their hidden fields.
#[derive(Clone, Copy)]
pub enum Redacted {
    Destination,
    ValidatedRequest,
    TelephonyEvent,
}

impl Redacted {
    const ALL: [Redacted; 3] = [
        Redacted::Destination,
        Redacted::ValidatedRequest,
        Redacted::TelephonyEvent,
    ];

    fn label_and_hidden(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Redacted::Destination => ("Destination", &["number"]),
            Redacted::ValidatedRequest => ("ValidatedRequest", &["wireBody"]),
            Redacted::TelephonyEvent => ("TelephonyEvent", &["data", "memberId"]),
        }
    }
}

/// Adapts a `logger` option into `(level, message) => void`: a function is called as it is, an
/// object's method for the level is called as a method (a level without one is skipped). What
/// a logger throws is dropped: it runs from the queue of the JS thread, where a throw would be
/// an uncaught exception of the whole process.
const LOGGER_ADAPTER_JS: &str = r#"((logger) => typeof logger === 'function'
  ? (level, message) => { try { logger(level, message) } catch (_) {} }
  : (level, message) => {
      try {
        const method = logger[level]
        if (typeof method === 'function') method.call(logger, message)
      } catch (_) {}
    })"#;

/// The arguments of `new CallbackError(message, details)`: `details` is already a JS object
/// (built by `errors`, which owns its shape).
pub type ErrorArgs = FnArgs<(String, Unknown<'static>)>;
/// The `CallbackError` class: `new` with [`ErrorArgs`] gives an error object.
pub type ErrorClass<'env> = Function<'env, ErrorArgs, Unknown<'static>>;
type WrapperArgs = FnArgs<(Function<'static>, Function<'static>)>;
type RedactMaker = Function<
    'static,
    FnArgs<(String, Vec<String>)>,
    Function<'static, Unknown<'static>, Unknown<'static>>,
>;
/// `(level, message)`: what the adapter of a `logger` is called with.
pub type LogArgs = FnArgs<(&'static str, String)>;
type LoggerFn = Function<'static, LogArgs, ()>;

struct Runtime {
    error_class: FunctionRef<ErrorArgs, Unknown<'static>>,
    token_wrapper: FunctionRef<WrapperArgs, Function<'static>>,
    /// One per [`Redacted`], in the order of `Redacted::ALL`.
    redacted_inspect: Vec<FunctionRef<Unknown<'static>, Unknown<'static>>>,
    logger_adapter: FunctionRef<Unknown<'static>, LoggerFn>,
}

/// Keeps this environment's pieces: `error_class` as given, the others defined here.
pub fn install(env: &Env, error_class: &ErrorClass) -> Result<()> {
    let wrapper: Function<WrapperArgs, Function> = env.run_script(TOKEN_WRAPPER_JS)?;
    let maker: RedactMaker = env.run_script(REDACTED_INSPECT_JS)?;
    let mut redacted_inspect = Vec::new();
    for kind in Redacted::ALL {
        let (label, hidden) = kind.label_and_hidden();
        let hidden = hidden.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>();
        let give = maker.call(FnArgs::from((label.to_owned(), hidden)))?;
        redacted_inspect.push(give.create_ref()?);
    }
    let logger: Function<Unknown, LoggerFn> = env.run_script(LOGGER_ADAPTER_JS)?;
    let runtime = Runtime {
        error_class: error_class.create_ref()?,
        token_wrapper: wrapper.create_ref()?,
        redacted_inspect,
        logger_adapter: logger.create_ref()?,
    };
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

pub fn error_class(env: &Env) -> Result<ErrorClass<'_>> {
    runtime(env)?.error_class.borrow_back(env)
}

pub fn token_wrapper<'env>(
    env: &'env Env,
) -> Result<Function<'env, WrapperArgs, Function<'static>>> {
    runtime(env)?.token_wrapper.borrow_back(env)
}

/// The `(level, message) => void` function that calls the user's `logger`.
pub fn logger_adapter<'env>(
    env: &'env Env,
    logger: &Unknown,
) -> Result<Function<'env, LogArgs, ()>> {
    let logger: Unknown<'static> = unsafe { Unknown::from_napi_value(env.raw(), logger.raw())? };
    let adapter = runtime(env)?
        .logger_adapter
        .borrow_back(env)?
        .call(logger)?;
    unsafe { Function::from_napi_value(env.raw(), adapter.raw()) }
}

/// Converts `value` to a JS value that can be handed to the functions kept here.
pub fn to_js<T: ToNapiValue>(env: &Env, value: T) -> Result<Unknown<'static>> {
    let raw = unsafe { T::to_napi_value(env.raw(), value)? };
    unsafe { Unknown::from_napi_value(env.raw(), raw) }
}

/// Converts `value` to JS and gives it the `util.inspect` view of its kind (see
/// [`REDACTED_INSPECT_JS`]).
pub fn with_redacted_inspect<'env, T: ToNapiValue>(
    env: &'env Env,
    value: T,
    kind: Redacted,
) -> Result<Unknown<'env>> {
    let obj = to_js(env, value)?;
    runtime(env)?.redacted_inspect[kind as usize]
        .borrow_back(env)?
        .call(obj)
}
