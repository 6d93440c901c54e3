//! The `Client` class. Every method that may touch the network returns a Promise settled by an
//! `AsyncTask`: the blocking core call runs on the libuv thread pool, never on the JS thread.
//! Arguments are converted and validated on the JS thread first; whatever is wrong with them
//! (a `TypeError`, an `invalid_request`) rejects the Promise, as every failure of an async
//! method does. Only the constructor and the factories throw. `checkCallback` touches no
//! network: it does its work at once, but settles a Promise with the result too.

use std::sync::Arc;

use callback_core as core;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::convert::{
    self, CallRecord, CallbackStarted, CheckCallbackOptions, ClientOptions, Destination,
    FromEnvConfig, Line, OAuthConfig, StartCallbackOptions, Voice, WebhookConfig, keys,
};
use crate::errors::{self, guard, to_napi};
use crate::logging::{self, Sink};
use crate::runtime;

/// What an async method returns: the task's Promise, or a Promise already rejected with what
/// was wrong with the arguments.
pub type Pending<'env, T> = Either<AsyncTask<Call<T>>, PromiseRaw<'env, Unknown<'env>>>;

/// The Promise of `task`, or one rejected with its error.
fn pending<'env, T: IntoJs>(
    env: &'env Env,
    task: Result<AsyncTask<Call<T>>>,
) -> Result<Pending<'env, T>> {
    match task {
        Ok(task) => Ok(Either::A(task)),
        Err(e) => Ok(Either::B(PromiseRaw::reject(env, e)?)),
    }
}

/// A Bitrix24 client. Cheap to keep for the life of the process; calls share its connection
/// pool, rate limiter, token state and dedupe memory.
#[napi]
pub struct Client {
    inner: core::Client,
    label: String,
    /// Where the core's records made during this client's calls go (`logger`, or stderr).
    sink: Option<Arc<Sink>>,
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
        refuse_unknown(
            &env,
            convert::unknown_client_keys(&env, &options, keys::WEBHOOK)?,
        )?;
        let auth =
            guard(|| core::Auth::webhook(&auth.webhook_url)).map_err(|e| to_napi(&env, e))?;
        let sink = logging::sink(&env, opts.logger.as_ref())?;
        let options = opts.into_core(node_binding(&env), None);
        let label = label(&auth);
        let inner = build(&env, auth, options, sink.as_ref())?;
        Ok(Client::wrap(inner, label, sink))
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
        refuse_unknown(
            &env,
            convert::unknown_client_keys(&env, &options, keys::OAUTH)?,
        )?;
        let OAuthConfig {
            client_id,
            client_secret,
            access_token,
            refresh_token,
            client_endpoint,
            server_endpoint,
            on_tokens,
        } = cfg;
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
        let (store, wait) = token_store(&env, on_tokens.as_ref())?;
        let sink = logging::sink(&env, opts.logger.as_ref())?;
        let options = opts.into_core(node_binding(&env), store);
        let label = label(&auth);
        let inner = build(&env, auth, options, sink.as_ref())?;
        if let Some(wait) = wait {
            // The deadline the core checked bounds the wait for `onTokens`.
            wait.set(inner.deadline());
        }
        Ok(Client::wrap(inner, label, sink))
    }

    /// `Client.fromEnv(options?)`: the webhook or OAuth application and the options of the
    /// command line's environment variables (`BITRIX24_WEBHOOK_URL`, `BITRIX24_CLIENT_ID`, ...,
    /// `BITRIX24_DEFAULT_REGION`, ...); `options` (every client option, and `onTokens`)
    /// override them. A variable that cannot be used is an `invalid_request` naming it.
    #[napi(
        catch_unwind,
        factory,
        js_name = "fromEnv",
        ts_args_type = "options?: FromEnvConfig & ClientOptions"
    )]
    pub fn from_env(env: Env, options: Option<Unknown>) -> Result<Self> {
        let options = options.filter(|o| !matches!(o.get_type(), Ok(ValueType::Undefined)));
        let (opts, extras, given) = match &options {
            Some(o) => {
                let opts: ClientOptions = convert::parse(&env, o, "options")?;
                let extras: FromEnvConfig = convert::parse(&env, o, "options")?;
                refuse_unknown(
                    &env,
                    convert::unknown_client_keys(&env, o, keys::ON_TOKENS)?,
                )?;
                (Some(opts), Some(extras), convert::given_keys(&env, o)?)
            }
            None => (None, None, Vec::new()),
        };
        let (auth, from_env) = guard(core::from_env).map_err(|e| to_napi(&env, e))?;
        let (store, wait) = token_store(&env, extras.as_ref().and_then(|x| x.on_tokens.as_ref()))?;
        let sink = logging::sink(&env, opts.as_ref().and_then(|o| o.logger.as_ref()))?;
        let explicit = opts.map(|o| o.into_core(node_binding(&env), store));
        let merged = convert::over_env(explicit, from_env, node_binding(&env));
        let label = label(&auth);
        let inner = logging::scoped(sink.as_ref(), || {
            guard(
                || match core::Client::with_options(auth.clone(), merged.clone()) {
                    Err(e) if e.code() == core::ErrorCode::InvalidRequest && !given.is_empty() => {
                        // Options given here are named as given, the others by their variables.
                        let camel = core::ClientOptions {
                            names: core::OptionNames::Camel,
                            ..merged
                        };
                        match core::Client::with_options(auth, camel) {
                            Err(c) => Err(convert::name_explicit(e, &c, &given)),
                            Ok(_) => Err(e),
                        }
                    }
                    other => other,
                },
            )
        })
        .map_err(|e| to_napi(&env, e))?;
        if let Some(wait) = wait {
            wait.set(inner.deadline());
        }
        Ok(Client::wrap(inner, label, sink))
    }

    /// The portal base address in use (changes after the portal was renamed).
    #[napi(catch_unwind, getter)]
    pub fn portal(&self, env: Env) -> Result<String> {
        guard(|| Ok(self.inner.portal())).map_err(|e| to_napi(&env, e))
    }

    /// Validates the input, applies the destination policy and dedupe, waits for the rate
    /// limiter, sends `voximplant.callback.start` and retries only what is safe. Every failure,
    /// invalid input included, is a rejection.
    #[napi(
        catch_unwind,
        ts_args_type = "options: StartCallbackOptions",
        ts_return_type = "Promise<CallbackStarted>"
    )]
    pub fn start_callback<'env>(
        &self,
        env: &'env Env,
        options: Unknown,
    ) -> Result<Pending<'env, core::CallbackStarted>> {
        pending(env, self.start_task(env, &options))
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
        Call::spawn(self.sink.clone(), move || client.lines())
    }

    /// `voximplant.tts.voices.get`: the text-to-speech voices, sorted by id.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<Voice>>")]
    pub fn voices(&self) -> AsyncTask<Call<Vec<core::Voice>>> {
        let client = self.inner.clone();
        Call::spawn(self.sink.clone(), move || client.voices())
    }

    /// `voximplant.statistic.get` for one call: `null` while the call is not finished.
    #[napi(
        catch_unwind,
        ts_args_type = "callId: string",
        ts_return_type = "Promise<CallRecord | null>"
    )]
    pub fn call_record<'env>(
        &self,
        env: &'env Env,
        call_id: Unknown,
    ) -> Result<Pending<'env, Option<core::CallRecord>>> {
        let task = convert::string_arg(env, &call_id, "callId").map(|call_id| {
            let client = self.inner.clone();
            Call::spawn(self.sink.clone(), move || client.call_record(&call_id))
        });
        pending(env, task)
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
    fn wrap(inner: core::Client, label: String, sink: Option<Arc<Sink>>) -> Client {
        Client { inner, label, sink }
    }

    /// The task of `startCallback`, or what is wrong with its options.
    fn start_task(
        &self,
        env: &Env,
        options: &Unknown,
    ) -> Result<AsyncTask<Call<core::CallbackStarted>>> {
        let o: StartCallbackOptions = convert::parse(env, options, "options")?;
        let refused = convert::unknown_keys_counted(env, options, keys::START, o.present())?;
        let (input, signal) = o.into_input(refused);
        let request = logging::scoped(self.sink.as_ref(), || guard(|| self.inner.validate(input)))
            .map_err(|e| to_napi(env, e))?;
        let token = core::CancelToken::new();
        let abort = match signal {
            Some(s) => AbortHook::attach(env, &s, &token)?,
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
            sink: self.sink.clone(),
        }))
    }

    /// The work of `checkCallback`, on the JS thread: it is quick (no I/O, two short locks).
    fn check<'env>(&self, env: &'env Env, options: &Unknown) -> Result<Unknown<'env>> {
        let o: CheckCallbackOptions = convert::parse(env, options, "options")?;
        let refused = convert::unknown_keys_counted(env, options, keys::CHECK, o.present())?;
        let destination = logging::scoped(self.sink.as_ref(), || {
            guard(|| {
                let request = self.inner.validate(o.into_input(refused))?;
                self.inner.check(&request)
            })
        })
        .map_err(|e| to_napi(env, e))?;
        runtime::with_redacted_inspect(
            env,
            Destination::from(destination),
            runtime::Redacted::Destination,
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

/// What identifies a client without being a secret: `auth: 'webhook', userId: '1'` or
/// `auth: 'oauth', clientId: 'local.app.1'`.
fn label(auth: &core::Auth) -> String {
    match auth {
        core::Auth::Webhook(w) => format!("auth: 'webhook', userId: '{}'", w.user_id()),
        core::Auth::OAuth(o) => format!("auth: 'oauth', clientId: '{}'", o.client_id),
    }
}

/// Refuses the unknown keys found (`invalid_request`, one `unknown_option` violation each).
fn refuse_unknown(env: &Env, refused: Vec<core::Violation>) -> Result<()> {
    if refused.is_empty() {
        Ok(())
    } else {
        Err(to_napi(env, core::Error::invalid(refused)))
    }
}

/// The core's token store calling `onTokens` (when given), and the wait to set once built.
fn token_store(
    env: &Env,
    on_tokens: Option<&Unknown>,
) -> Result<(Option<core::TokenStore>, Option<crate::tokens::Wait>)> {
    match on_tokens.filter(|f| !matches!(f.get_type(), Ok(ValueType::Undefined | ValueType::Null)))
    {
        Some(f) => {
            let (store, wait) = crate::tokens::token_store(env, f)?;
            Ok((Some(store), Some(wait)))
        }
        None => Ok((None, None)),
    }
}

/// This binding as the User-Agent names it: `node/<version>`.
fn node_binding(env: &Env) -> core::Binding {
    core::Binding {
        name: "node".to_owned(),
        version: env
            .get_node_version()
            .map(|v| format!("{}.{}.{}", v.major, v.minor, v.patch))
            .unwrap_or_else(|_| "unknown".to_owned()),
    }
}

/// The core client for `auth` with the caller's options (the core checks every one of them).
fn build(
    env: &Env,
    auth: core::Auth,
    options: core::ClientOptions,
    sink: Option<&Arc<Sink>>,
) -> Result<core::Client> {
    logging::scoped(sink, || guard(|| core::Client::with_options(auth, options)))
        .map_err(|e| to_napi(env, e))
}

// ---------------------------------------------------------------- waitForOutcome

/// Default bound of `waitForOutcome`, in milliseconds.
const DEFAULT_WAIT_MS: f64 = 120_000.0;

/// Checks the arguments of `waitForOutcome` (in `index.js`: JS timers between single
/// `callRecord` requests, so no pool thread is held while it waits) exactly as the other
/// methods check theirs (a `TypeError`; `invalid_request` for a bad `timeoutMs` or an unknown
/// option) and returns the plan of the wait: `{ timeoutMs, firstDelayMs, factor, maxDelayMs,
/// transient }`, the core's schedule for its blocking wait (a poll at once, then after 0.5 s,
/// backing off by 1.5 to one every 5 s) and the codes a poll may fail with and be retried at
/// the next interval (reading is harmless).
#[napi(catch_unwind, skip_typescript, js_name = "waitPlan")]
pub fn wait_plan<'env>(
    env: &'env Env,
    call_id: Unknown,
    options: Option<Unknown>,
) -> Result<Object<'env>> {
    convert::string_arg(env, &call_id, "callId")?;
    let mut timeout_ms = DEFAULT_WAIT_MS;
    if let Some(o) =
        options.filter(|o| !matches!(o.get_type(), Ok(ValueType::Undefined | ValueType::Null)))
    {
        let w: convert::WaitOptions = convert::parse(env, &o, "options")?;
        refuse_unknown(env, convert::unknown_keys(env, &o, &[keys::WAIT], "")?)?;
        if let Some(signal) = w
            .signal
            .as_ref()
            .filter(|s| !matches!(s.get_type(), Ok(ValueType::Undefined | ValueType::Null)))
        {
            AbortHook::check(env, signal)?;
        }
        if let Some(ms) = w.timeout_ms {
            let d = guard(|| core::Span::Millis(ms).checked("timeoutMs"))
                .map_err(|e| to_napi(env, e))?;
            timeout_ms = d.as_secs_f64() * 1000.0;
        }
    }
    let mut plan = Object::new(env)?;
    plan.set("timeoutMs", timeout_ms)?;
    plan.set("firstDelayMs", 500.0)?;
    plan.set("factor", 1.5)?;
    plan.set("maxDelayMs", 5000.0)?;
    plan.set(
        "transient",
        vec![
            errors::ErrorCode::RateLimited,
            errors::ErrorCode::Transport,
            errors::ErrorCode::OutcomeUnknown,
        ],
    )?;
    Ok(plan)
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
    /// The client's log sink, current on the worker thread while `work` runs.
    sink: Option<Arc<Sink>>,
}

impl<T: IntoJs> Call<T> {
    fn spawn(
        sink: Option<Arc<Sink>>,
        f: impl FnOnce() -> std::result::Result<T, core::Error> + Send + 'static,
    ) -> AsyncTask<Self> {
        AsyncTask::new(Call {
            work: Some(Box::new(f)),
            abort: None,
            sink,
        })
    }
}

impl<T: IntoJs> Task for Call<T> {
    type Output = std::result::Result<T, core::Error>;
    type JsValue = T::Js;

    fn compute(&mut self) -> Result<Self::Output> {
        match self.work.take() {
            Some(work) => Ok(logging::scoped(self.sink.as_ref(), || guard(work))),
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
    /// The signal's object, its `aborted` and its `addEventListener`; a `TypeError` for
    /// anything that is not an `AbortSignal`.
    fn check<'env>(
        env: &'env Env,
        signal: &Unknown,
    ) -> Result<(
        Object<'env>,
        bool,
        Function<'env, AddListenerArgs<'env>, Unknown<'env>>,
    )> {
        let not_a_signal = || errors::type_error(env, "options.signal must be an AbortSignal");
        if signal.get_type()? != ValueType::Object {
            return Err(not_a_signal());
        }
        let obj: Object = unsafe { Object::from_napi_value(env.raw(), signal.raw())? };
        let aborted: Option<bool> = obj.get("aborted").ok().flatten();
        let add: Option<Function<AddListenerArgs, Unknown>> =
            obj.get("addEventListener").ok().flatten();
        match (aborted, add) {
            (Some(aborted), Some(add)) => Ok((obj, aborted, add)),
            _ => Err(not_a_signal()),
        }
    }

    fn attach(env: &Env, signal: &Unknown, token: &core::CancelToken) -> Result<Option<AbortHook>> {
        if matches!(signal.get_type()?, ValueType::Undefined | ValueType::Null) {
            return Ok(None);
        }
        let (obj, aborted, add) = AbortHook::check(env, signal)?;
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
