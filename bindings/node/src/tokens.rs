//! The bridge from the core's token-store hook (called on a libuv worker thread while a call
//! refreshes its OAuth token) to the user's JavaScript `onTokens(pair)`.
//!
//! The worker queues the call on the JS thread through a weak threadsafe function (it never
//! keeps the process alive) and waits for the outcome: `onTokens` may be sync or async; a throw,
//! a rejection, or no answer within the client's deadline becomes an `Err` for the core (which
//! fails the triggering call with `auth_failed`). A throw never reaches Node's
//! `uncaughtException`: the JS wrapper in `runtime` catches it. The error names only the kind
//! of what was thrown (`TypeError`), never its message.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use callback_core as core;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunctionCallMode;

use crate::convert::TokenPair;

type Pending = Arc<Mutex<HashMap<u32, SyncSender<std::result::Result<(), String>>>>>;

/// The kind of what `onTokens` threw, as reported by the JS wrapper (an error's `name` or a
/// `typeof`), cut at the first character that cannot be part of a class name: `name` is
/// writable, so it is app text too.
fn error_kind(reported: &str) -> String {
    let kind: String = reported
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.'))
        .take(60)
        .collect();
    if kind.is_empty() {
        "an exception".to_owned()
    } else {
        kind
    }
}

/// How long a refresh waits for `onTokens`: the client's deadline, which is known (checked by
/// the core) only once the client that holds the store is built; [`Wait::set`] then.
#[derive(Clone, Default)]
pub struct Wait(Arc<OnceLock<Duration>>);

impl Wait {
    pub fn set(&self, wait: Duration) {
        let _ = self.0.set(wait);
    }

    /// Zero before [`Wait::set`], which cannot happen: only the built client calls the store.
    fn get(&self) -> Duration {
        self.0.get().copied().unwrap_or_default()
    }
}

/// The core's token store calling `on_tokens`, and the [`Wait`] to set once the client is built.
pub fn token_store(env: &Env, on_tokens: &Unknown) -> Result<(core::TokenStore, Wait)> {
    if on_tokens.get_type()? != ValueType::Function {
        return Err(crate::errors::type_error(
            env,
            "options.onTokens must be a function",
        ));
    }
    let user_fn: Function<'static> =
        unsafe { Function::from_napi_value(env.raw(), on_tokens.raw())? };

    let pending: Pending = Arc::new(Mutex::new(HashMap::new()));
    let reporter = pending.clone();
    let report: Function<FnArgs<(u32, Option<String>)>, ()> =
        env.create_function_from_closure("reportTokens", move |ctx| {
            let id: u32 = ctx.get(0)?;
            let failure: Option<String> = ctx.get(1)?;
            let sender = reporter.lock().ok().and_then(|mut m| m.remove(&id));
            if let Some(tx) = sender {
                let _ = tx.send(match failure {
                    None => Ok(()),
                    Some(kind) => Err(format!("onTokens failed with {}", error_kind(&kind))),
                });
            }
            Ok(())
        })?;
    let report: Function<'static> = unsafe { Function::from_napi_value(env.raw(), report.raw())? };
    let wrapped = crate::runtime::token_wrapper(env)?.call(FnArgs::from((user_fn, report)))?;
    let wrapped: Function<'_, FnArgs<(TokenPair, u32)>, ()> =
        unsafe { Function::from_napi_value(env.raw(), wrapped.raw())? };
    let tsfn = wrapped
        .build_threadsafe_function::<FnArgs<(TokenPair, u32)>>()
        .weak::<true>()
        .callee_handled::<false>()
        .build()?;
    let tsfn = Arc::new(tsfn);
    let next_id = AtomicU32::new(1);
    let wait = Wait::default();
    let waited = wait.clone();

    let store: core::TokenStore = Arc::new(move |pair: &core::TokenPair| {
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = sync_channel(1);
        if let Ok(mut m) = pending.lock() {
            m.insert(id, tx);
        }
        let forget = || {
            if let Ok(mut m) = pending.lock() {
                m.remove(&id);
            }
        };
        let status = tsfn.call(
            FnArgs::from((TokenPair::from(pair), id)),
            ThreadsafeFunctionCallMode::NonBlocking,
        );
        if status != Status::Ok {
            forget();
            return Err(
                "onTokens could not be called: the JavaScript thread is shutting down".into(),
            );
        }
        let wait = waited.get();
        match rx.recv_timeout(wait) {
            Ok(outcome) => outcome,
            Err(_) => {
                forget();
                Err(format!(
                    "onTokens did not settle within {} ms",
                    wait.as_millis()
                ))
            }
        }
    });
    Ok((store, wait))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_is_the_one_set_once_the_client_is_built() {
        let wait = Wait::default();
        let seen_by_store = wait.clone();
        assert_eq!(seen_by_store.get(), Duration::ZERO);
        wait.set(Duration::from_millis(1500));
        wait.set(Duration::from_secs(99));
        assert_eq!(seen_by_store.get(), Duration::from_millis(1500));
    }

    #[test]
    fn only_an_identifier_like_kind_is_kept() {
        assert_eq!(error_kind("TypeError"), "TypeError");
        assert_eq!(error_kind("string"), "string");
        assert_eq!(error_kind("Error: token abc123 leaked"), "Error");
        assert_eq!(error_kind(""), "an exception");
        assert_eq!(error_kind(&"x".repeat(500)).len(), 60);
    }
}
