//! The `Client` class. Every method that may touch the network returns a Promise settled by an
//! `AsyncTask`: the blocking core call runs on the libuv thread pool, never on the JS thread.
//! Arguments are converted and validated synchronously first, so bad input throws at once.
//! `checkCallback` touches no network: it does its work at once too, but settles a Promise
//! with the result, so that every failure is a rejection.

use std::time::Duration;

use callback_core as core;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::convert::{
    self, CallRecord, CallbackStarted, CheckCallbackOptions, ClientOptions, Destination, Line,
    OAuthConfig, StartCallbackOptions, Voice, WaitOptions, WebhookConfig,
};
use crate::errors::{self, guard, to_napi};
use crate::runtime;

/// Default bound of `waitForOutcome`.
const DEFAULT_WAIT: Duration = Duration::from_secs(120);

/// A Bitrix24 client. Cheap to keep for the life of the process; calls share its connection
/// pool, rate limiter, token state and dedupe memory.
#[napi]
pub struct Client {
    inner: core::Client,
    label: String,
}

#[napi]
impl Client {
    /// `new Client({ webhookUrl, ...options })`: authenticate with an incoming webhook.
    #[napi(
        catch_unwind,
        constructor,
        ts_args_type = "options: WebhookConfig & ClientOptions"
    )]
    pub fn new(env: Env, options: Unknown) -> Result<Self> {
        let auth: WebhookConfig = convert::parse(&env, &options, "options")?;
        let opts: ClientOptions = convert::parse(&env, &options, "options")?;
        let (auth, label) = guard(|| {
            let auth = core::Auth::webhook(&auth.webhook_url)?;
            let label = match &auth {
                core::Auth::Webhook(w) => format!("auth: 'webhook', userId: '{}'", w.user_id()),
                core::Auth::OAuth(_) => "auth: 'oauth'".to_owned(),
            };
            Ok((auth, label))
        })
        .map_err(|e| to_napi(&env, e))?;
        let inner = build(&env, auth, opts, None)?;
        Ok(Client { inner, label })
    }

    /// `Client.fromOAuth({ clientId, clientSecret, accessToken, refreshToken, clientEndpoint,
    /// serverEndpoint, onTokens, ...options })`: authenticate as an OAuth application.
    #[napi(
        catch_unwind,
        factory,
        js_name = "fromOAuth",
        ts_args_type = "options: OAuthConfig & ClientOptions"
    )]
    pub fn from_oauth(env: Env, options: Unknown) -> Result<Self> {
        let cfg: OAuthConfig = convert::parse(&env, &options, "options")?;
        let opts: ClientOptions = convert::parse(&env, &options, "options")?;
        let OAuthConfig {
            client_id,
            client_secret,
            access_token,
            refresh_token,
            client_endpoint,
            server_endpoint,
            on_tokens,
        } = cfg;
        let label = format!("auth: 'oauth', clientId: '{client_id}'");
        let auth = guard(|| {
            core::Auth::oauth(core::OAuthConfig {
                client_id,
                client_secret,
                access_token,
                refresh_token,
                client_endpoint,
                server_endpoint,
            })
        })
        .map_err(|e| to_napi(&env, e))?;
        let store = match on_tokens
            .filter(|f| !matches!(f.get_type(), Ok(ValueType::Undefined | ValueType::Null)))
        {
            Some(f) => Some(crate::tokens::token_store(&env, &f)?),
            None => None,
        };
        let (store, wait) = store.unzip();
        let inner = build(&env, auth, opts, store)?;
        if let Some(wait) = wait {
            // The deadline the core checked bounds the wait for `onTokens`.
            wait.set(inner.deadline());
        }
        Ok(Client { inner, label })
    }

    /// The portal base address in use (changes after the portal was renamed).
    #[napi(catch_unwind, getter)]
    pub fn portal(&self, env: Env) -> Result<String> {
        guard(|| Ok(self.inner.portal())).map_err(|e| to_napi(&env, e))
    }

    /// Validates the input (throws `CallbackError` `invalid_request` synchronously), applies the
    /// destination policy and dedupe, waits for the rate limiter, sends
    /// `voximplant.callback.start` and retries only what is safe.
    #[napi(
        catch_unwind,
        ts_args_type = "options: StartCallbackOptions",
        ts_return_type = "Promise<CallbackStarted>"
    )]
    pub fn start_callback(
        &self,
        env: Env,
        options: Unknown,
    ) -> Result<AsyncTask<Call<core::CallbackStarted>>> {
        let o: StartCallbackOptions = convert::parse(&env, &options, "options")?;
        let (input, signal) = o.into_input();
        let request = guard(|| self.inner.validate(input)).map_err(|e| to_napi(&env, e))?;
        let token = core::CancelToken::new();
        let abort = match signal {
            Some(s) => AbortHook::attach(&env, &s, &token)?,
            None => None,
        };
        let client = self.inner.clone();
        Ok(AsyncTask::new(Call {
            work: Some(Box::new(move || {
                if token.is_cancelled() {
                    return Err(core::Error::new(
                        core::ErrorCode::RateLimited,
                        "aborted before the request was sent",
                    ));
                }
                client.start_callback_cancellable(&request, &token)
            })),
            abort,
        }))
    }

    /// Answers what `startCallback` would decide before any network traffic: validation with
    /// this client's rules, the destination policy, the idempotency key, the number's cooldown
    /// and hourly cap. Sends nothing and reserves nothing (`startCallback` checks it all again).
    /// Resolves the `Destination`; every failure, a wrong argument type included, is a
    /// rejection (never a throw): `CallbackError` `invalid_request` or `destination_blocked`
    /// exactly as `startCallback` would raise it, or a `TypeError`.
    #[napi(
        catch_unwind,
        ts_args_type = "options: CheckCallbackOptions",
        ts_return_type = "Promise<Destination>"
    )]
    pub fn check_callback<'env>(
        &self,
        env: &'env Env,
        options: Unknown,
    ) -> Result<PromiseRaw<'env, Unknown<'env>>> {
        match self.check(env, &options) {
            Ok(destination) => PromiseRaw::resolve(env, destination),
            Err(e) => PromiseRaw::reject(env, e),
        }
    }

    /// `voximplant.line.get`: the lines usable as `line`, sorted by id.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<Line>>")]
    pub fn lines(&self) -> AsyncTask<Call<Vec<core::Line>>> {
        let client = self.inner.clone();
        Call::spawn(move || client.lines())
    }

    /// `voximplant.tts.voices.get`: the text-to-speech voices, sorted by id.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<Voice>>")]
    pub fn voices(&self) -> AsyncTask<Call<Vec<core::Voice>>> {
        let client = self.inner.clone();
        Call::spawn(move || client.voices())
    }

    /// `voximplant.statistic.get` for one call: `null` while the call is not finished.
    #[napi(
        catch_unwind,
        ts_args_type = "callId: string",
        ts_return_type = "Promise<CallRecord | null>"
    )]
    pub fn call_record(
        &self,
        env: Env,
        call_id: Unknown,
    ) -> Result<AsyncTask<Call<Option<core::CallRecord>>>> {
        let call_id = convert::string_arg(&env, &call_id, "callId")?;
        let client = self.inner.clone();
        Ok(Call::spawn(move || client.call_record(&call_id)))
    }

    /// Polls `callRecord` until the record appears or `timeoutMs` (default 120000) passes, then
    /// resolves `null`. Holds one libuv worker while it waits.
    #[napi(
        catch_unwind,
        ts_args_type = "callId: string, options?: WaitOptions",
        ts_return_type = "Promise<CallRecord | null>"
    )]
    pub fn wait_for_outcome(
        &self,
        env: Env,
        call_id: Unknown,
        options: Option<Unknown>,
    ) -> Result<AsyncTask<Call<Option<core::CallRecord>>>> {
        let call_id = convert::string_arg(&env, &call_id, "callId")?;
        let mut timeout = DEFAULT_WAIT;
        if let Some(o) =
            options.filter(|o| !matches!(o.get_type(), Ok(ValueType::Undefined | ValueType::Null)))
        {
            let o: WaitOptions = convert::parse(&env, &o, "options")?;
            if let Some(ms) = o.timeout_ms {
                timeout = guard(|| core::Span::Millis(ms).checked("timeoutMs"))
                    .map_err(|e| to_napi(&env, e))?;
            }
        }
        let client = self.inner.clone();
        Ok(Call::spawn(move || {
            client.wait_for_outcome(&call_id, timeout)
        }))
    }

    /// What `util.inspect` and `console.log` show: no secret, no token.
    #[napi(
        catch_unwind,
        symbol_for = "nodejs.util.inspect.custom",
        skip_typescript
    )]
    pub fn inspect(&self, env: Env) -> Result<String> {
        self.describe(&env)
    }

    /// `String(client)`: no secret, no token.
    #[napi(catch_unwind, js_name = "toString")]
    pub fn to_display(&self, env: Env) -> Result<String> {
        self.describe(&env)
    }
}

impl Client {
    /// The work of `checkCallback`, on the JS thread: it is quick (no I/O, two short locks).
    fn check<'env>(&self, env: &'env Env, options: &Unknown) -> Result<Unknown<'env>> {
        let o: CheckCallbackOptions = convert::parse(env, options, "options")?;
        let destination = guard(|| {
            let request = self.inner.validate(o.into_input())?;
            self.inner.check(&request)
        })
        .map_err(|e| to_napi(env, e))?;
        runtime::with_redacted_inspect(
            env,
            Destination::from(destination),
            "Destination",
            &["number"],
        )
    }

    /// `Client { auth: 'webhook', userId: '1', portal: 'https://...' }`: the portal address in
    /// use (it changes after a rename), never a secret or a token.
    fn describe(&self, env: &Env) -> Result<String> {
        Ok(format!(
            "Client {{ {}, portal: '{}' }}",
            self.label,
            self.portal(*env)?
        ))
    }
}

/// The core client for `auth` with the caller's options (the core checks every one of them).
fn build(
    env: &Env,
    auth: core::Auth,
    opts: ClientOptions,
    token_store: Option<core::TokenStore>,
) -> Result<core::Client> {
    let node = core::Binding {
        name: "node".to_owned(),
        version: env
            .get_node_version()
            .map(|v| format!("{}.{}.{}", v.major, v.minor, v.patch))
            .unwrap_or_else(|_| "unknown".to_owned()),
    };
    let options = opts.into_core(node, token_store);
    guard(|| core::Client::with_options(auth, options)).map_err(|e| to_napi(env, e))
}

// ---------------------------------------------------------------- the async task

/// A core result that becomes a JS value on the JS thread.
pub trait IntoJs: Send + 'static {
    type Js: ToNapiValue + TypeName;
    fn into_js(self) -> Self::Js;
}

impl IntoJs for core::CallbackStarted {
    type Js = CallbackStarted;
    fn into_js(self) -> CallbackStarted {
        self.into()
    }
}

impl IntoJs for Vec<core::Line> {
    type Js = Vec<Line>;
    fn into_js(self) -> Vec<Line> {
        self.into_iter().map(Line::from).collect()
    }
}

impl IntoJs for Vec<core::Voice> {
    type Js = Vec<Voice>;
    fn into_js(self) -> Vec<Voice> {
        self.into_iter().map(Voice::from).collect()
    }
}

impl IntoJs for Option<core::CallRecord> {
    type Js = Option<CallRecord>;
    fn into_js(self) -> Option<CallRecord> {
        self.map(CallRecord::from)
    }
}

type Work<T> = Box<dyn FnOnce() -> std::result::Result<T, core::Error> + Send>;

/// One blocking core call on the libuv pool. `compute` owns everything it needs and touches no
/// JS; the result (or the `CallbackError`) is built in `resolve` on the JS thread.
pub struct Call<T: IntoJs> {
    work: Option<Work<T>>,
    abort: Option<AbortHook>,
}

impl<T: IntoJs> Call<T> {
    fn spawn(
        f: impl FnOnce() -> std::result::Result<T, core::Error> + Send + 'static,
    ) -> AsyncTask<Self> {
        AsyncTask::new(Call {
            work: Some(Box::new(f)),
            abort: None,
        })
    }
}

impl<T: IntoJs> Task for Call<T> {
    type Output = std::result::Result<T, core::Error>;
    type JsValue = T::Js;

    fn compute(&mut self) -> Result<Self::Output> {
        match self.work.take() {
            Some(work) => Ok(guard(work)),
            None => Err(Error::new(Status::GenericFailure, "task ran twice")),
        }
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Self::JsValue> {
        match output {
            Ok(value) => Ok(value.into_js()),
            Err(e) => {
                let code = e.code();
                let js = errors::callback_error(&env, e)?;
                if let Some(hook) = &self.abort {
                    hook.add_reason(&env, &js, code)?;
                }
                Err(Error::from(js))
            }
        }
    }

    fn finally(mut self, env: Env) -> Result<()> {
        if let Some(hook) = self.abort.take() {
            hook.detach(&env)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- AbortSignal

type AddListenerArgs<'a> = FnArgs<(String, Function<'a, (), ()>, Object<'a>)>;
type RemoveListenerArgs<'a> = FnArgs<(String, Function<'a, (), ()>)>;

/// An `abort` listener on the caller's `AbortSignal` that cancels the core's `CancelToken`;
/// removed again when the call settles, so a long-lived signal does not collect listeners.
pub struct AbortHook {
    signal: ObjectRef<false>,
    listener: Option<FunctionRef<(), ()>>,
    token: core::CancelToken,
}

impl AbortHook {
    fn attach(env: &Env, signal: &Unknown, token: &core::CancelToken) -> Result<Option<AbortHook>> {
        match signal.get_type()? {
            ValueType::Undefined | ValueType::Null => return Ok(None),
            ValueType::Object => {}
            _ => {
                return Err(errors::type_error(
                    env,
                    "options.signal must be an AbortSignal",
                ));
            }
        }
        let obj: Object = unsafe { Object::from_napi_value(env.raw(), signal.raw())? };
        let aborted: Option<bool> = obj.get("aborted").ok().flatten();
        let add: Option<Function<AddListenerArgs, Unknown>> =
            obj.get("addEventListener").ok().flatten();
        let (Some(aborted), Some(add)) = (aborted, add) else {
            return Err(errors::type_error(
                env,
                "options.signal must be an AbortSignal",
            ));
        };
        let signal_ref = obj.create_ref::<false>()?;
        if aborted {
            token.cancel();
            return Ok(Some(AbortHook {
                signal: signal_ref,
                listener: None,
                token: token.clone(),
            }));
        }
        let flag = token.clone();
        let listener = env.create_function_from_closure("onAbort", move |_ctx| {
            flag.cancel();
            Ok(())
        })?;
        let mut once = Object::new(env)?;
        once.set("once", true)?;
        let listener_ref = listener.create_ref()?;
        add.apply(obj, FnArgs::from(("abort".to_owned(), listener, once)))?;
        Ok(Some(AbortHook {
            signal: signal_ref,
            listener: Some(listener_ref),
            token: token.clone(),
        }))
    }

    /// When the call gave up because of the signal, `err.cause` is `signal.reason`.
    fn add_reason(&self, env: &Env, js_error: &Unknown, code: core::ErrorCode) -> Result<()> {
        if !self.token.is_cancelled() || code != core::ErrorCode::RateLimited {
            return Ok(());
        }
        let signal = self.signal.get_value(env)?;
        let reason: Unknown = signal.get("reason")?.unwrap_or(().into_unknown(env)?);
        let mut target: Object = unsafe { Object::from_napi_value(env.raw(), js_error.raw())? };
        target.set("cause", reason)
    }

    fn detach(self, env: &Env) -> Result<()> {
        let signal = self.signal.get_value(env)?;
        if let Some(listener) = &self.listener {
            let remove: Option<Function<RemoveListenerArgs, Unknown>> =
                signal.get("removeEventListener").ok().flatten();
            if let Some(remove) = remove {
                remove.apply(
                    signal,
                    FnArgs::from(("abort".to_owned(), listener.borrow_back(env)?)),
                )?;
            }
        }
        self.signal.unref(env)
    }
}
