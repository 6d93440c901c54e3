//! The core's log records for JavaScript: a client's `logger` option, or stderr when the
//! environment asks for it (`BITRIX24_CALLBACK_LOG=debug|info|warn|error`, or
//! `DEBUG=bitrix24-callback` as the `debug` package spells it, which means `debug`).
//!
//! Only the core's own records are forwarded (target `callback_core`: numbers masked, never a
//! secret); the phone library's (target `rlibphonenumber`, full numbers) never are. The `log`
//! crate has one logger per process, so records reach the right client through the thread that
//! runs the client's call: a libuv worker (or the JS thread, for the quick checks) runs the call
//! inside [`scoped`], and a record made there goes to that client's [`Sink`]. A `logger` is
//! called on the JS thread through a weak threadsafe function (it never keeps the process
//! alive); the queue is bounded, a record that does not fit is dropped rather than waited for.

use std::cell::RefCell;
use std::sync::{Arc, Once};

use log::{Level, LevelFilter, Log, Metadata, Record};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};

/// The records waiting for the JS thread, at most; more are dropped.
const QUEUE: usize = 10_000;

use crate::runtime::LogArgs;
type LogFn = ThreadsafeFunction<LogArgs, (), LogArgs, Status, false, true, QUEUE>;

/// Where one client's records go.
pub enum Sink {
    /// The `logger` option, called with `(level, message)` through the adapter in `runtime`.
    Js { call: LogFn, level: LevelFilter },
    /// stderr, one line per record.
    Stderr { level: LevelFilter },
}

impl Sink {
    fn level(&self) -> LevelFilter {
        match self {
            Sink::Js { level, .. } | Sink::Stderr { level } => *level,
        }
    }

    fn emit(&self, record: &Record) {
        if record.level() > self.level() {
            return;
        }
        let level = level_name(record.level());
        match self {
            Sink::Js { call, .. } => {
                // QueueFull or Closing: the record is dropped (a logger must never stall a call).
                let _ = call.call(
                    FnArgs::from((level, record.args().to_string())),
                    ThreadsafeFunctionCallMode::NonBlocking,
                );
            }
            Sink::Stderr { .. } => eprintln!("bitrix24-callback {level}: {}", record.args()),
        }
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warn => "warn",
        Level::Info => "info",
        Level::Debug | Level::Trace => "debug",
    }
}

/// The sink of a new client: its `logger` option (validated: a function, or an object with at
/// least one of the level methods), else stderr when the environment asks for it, else none.
pub fn sink(env: &Env, logger: Option<&Unknown>) -> Result<Option<Arc<Sink>>> {
    let logger =
        logger.filter(|l| !matches!(l.get_type(), Ok(ValueType::Undefined | ValueType::Null)));
    let sink = match logger {
        Some(logger) => Some(js_sink(env, logger)?),
        None => env_level().map(|level| Sink::Stderr { level }),
    };
    Ok(sink.map(|s| {
        install(s.level());
        Arc::new(s)
    }))
}

fn js_sink(env: &Env, logger: &Unknown) -> Result<Sink> {
    let level = match logger.get_type()? {
        ValueType::Function => LevelFilter::Debug,
        ValueType::Object => {
            let obj: Object = unsafe { Object::from_napi_value(env.raw(), logger.raw())? };
            let has = |name: &str| -> Result<bool> {
                Ok(match obj.get::<Unknown>(name)? {
                    Some(f) => f.get_type()? == ValueType::Function,
                    None => false,
                })
            };
            if has("debug")? {
                LevelFilter::Debug
            } else if has("info")? {
                LevelFilter::Info
            } else if has("warn")? {
                LevelFilter::Warn
            } else if has("error")? {
                LevelFilter::Error
            } else {
                return Err(not_a_logger(env));
            }
        }
        _ => return Err(not_a_logger(env)),
    };
    let adapter = crate::runtime::logger_adapter(env, logger)?;
    let call = adapter
        .build_threadsafe_function::<LogArgs>()
        .weak::<true>()
        .callee_handled::<false>()
        .max_queue_size::<QUEUE>()
        .build()?;
    Ok(Sink::Js { call, level })
}

fn not_a_logger(env: &Env) -> Error {
    crate::errors::type_error(
        env,
        "options.logger must be a function or an object with debug, info, warn or error methods",
    )
}

/// The level the environment asks for: `BITRIX24_CALLBACK_LOG` (`debug`, `info`, `warn`,
/// `error`; `off` or anything else: none) first, else `debug` when `DEBUG` names
/// `bitrix24-callback` (or `*`, or a `bitrix24-callback*` pattern) and does not exclude it with
/// a leading `-`.
pub fn env_level() -> Option<LevelFilter> {
    env_level_from(|name| std::env::var(name).ok())
}

fn env_level_from(get: impl Fn(&str) -> Option<String>) -> Option<LevelFilter> {
    if let Some(v) = get("BITRIX24_CALLBACK_LOG").filter(|v| !v.trim().is_empty()) {
        return match v.trim().to_ascii_lowercase().as_str() {
            "debug" | "trace" => Some(LevelFilter::Debug),
            "info" => Some(LevelFilter::Info),
            "warn" | "warning" => Some(LevelFilter::Warn),
            "error" => Some(LevelFilter::Error),
            _ => None,
        };
    }
    let debug = get("DEBUG")?;
    let mut on = false;
    for pattern in debug
        .split([',', ' '])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (negated, pattern) = match pattern.strip_prefix('-') {
            Some(p) => (true, p),
            None => (false, pattern),
        };
        let matches = pattern == "*"
            || pattern == "bitrix24-callback"
            || pattern
                .strip_suffix('*')
                .is_some_and(|prefix| "bitrix24-callback".starts_with(prefix));
        if matches {
            if negated {
                return None;
            }
            on = true;
        }
    }
    on.then_some(LevelFilter::Debug)
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Sink>>> = const { RefCell::new(None) };
}

/// Runs `f` with `sink` receiving the core's records made on this thread meanwhile.
pub fn scoped<R>(sink: Option<&Arc<Sink>>, f: impl FnOnce() -> R) -> R {
    let Some(sink) = sink else {
        return f();
    };
    struct Restore(Option<Arc<Sink>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
        }
    }
    let previous = CURRENT.with(|c| c.replace(Some(sink.clone())));
    let _restore = Restore(previous);
    f()
}

struct Dispatch;

static DISPATCH: Dispatch = Dispatch;
static INSTALL: Once = Once::new();

fn is_core(target: &str) -> bool {
    target == "callback_core" || target.starts_with("callback_core::")
}

impl Log for Dispatch {
    fn enabled(&self, metadata: &Metadata) -> bool {
        is_core(metadata.target())
    }

    fn log(&self, record: &Record) {
        if !is_core(record.target()) {
            return;
        }
        let _ = CURRENT.try_with(|c| {
            if let Some(sink) = c.borrow().as_ref() {
                sink.emit(record);
            }
        });
    }

    fn flush(&self) {}
}

/// Installs the dispatcher (once per process) and lets records up to `level` through. Until a
/// client asks for records, the level stays `Off` and the core's log calls cost one load.
fn install(level: LevelFilter) {
    INSTALL.call_once(|| {
        let _ = log::set_logger(&DISPATCH);
    });
    if level > log::max_level() {
        log::set_max_level(level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(pairs: &[(&str, &str)]) -> Option<LevelFilter> {
        env_level_from(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn the_environment_switch() {
        assert_eq!(level(&[]), None);
        assert_eq!(
            level(&[("DEBUG", "bitrix24-callback")]),
            Some(LevelFilter::Debug)
        );
        assert_eq!(
            level(&[("DEBUG", "express:*, bitrix24-*")]),
            Some(LevelFilter::Debug)
        );
        assert_eq!(level(&[("DEBUG", "*")]), Some(LevelFilter::Debug));
        assert_eq!(level(&[("DEBUG", "*,-bitrix24-callback")]), None);
        assert_eq!(level(&[("DEBUG", "express")]), None);
        assert_eq!(
            level(&[("BITRIX24_CALLBACK_LOG", "WARN")]),
            Some(LevelFilter::Warn)
        );
        assert_eq!(
            level(&[("BITRIX24_CALLBACK_LOG", "off"), ("DEBUG", "*")]),
            None,
            "the library's own variable decides"
        );
        assert_eq!(
            level(&[("BITRIX24_CALLBACK_LOG", " "), ("DEBUG", "*")]),
            Some(LevelFilter::Debug)
        );
    }

    #[test]
    fn only_the_core_is_forwarded() {
        assert!(is_core("callback_core"));
        assert!(is_core("callback_core::client::exchange"));
        assert!(!is_core("rlibphonenumber"));
        assert!(!is_core("callback_core_extra"));
        assert!(!is_core("ureq"));
    }
}
