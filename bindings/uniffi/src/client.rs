//! `CallbackClient`: the core's blocking client as a uniffi object.

use std::sync::Arc;
use std::time::Duration;

use callback_core as core;

use crate::asynchronous::{self, CancelToken, Kind, offload};
use crate::convert;
use crate::error::{CallbackError, guarded};
use crate::tokens::TokenStore;
use crate::types::{
    CallRecord, CallbackRequest, CallbackStarted, ClientOptions, Destination, Line,
    OAuthCredentials, ValidatedRequest, Voice,
};

/// A Bitrix24 client. Thread-safe: share one instance across threads; it holds the connection
/// pool, the rate limiter, the token state and the dedupe memory.
///
/// The calls that talk to the portal are async (Kotlin `suspend`, Swift `async`) under their
/// plain names, and cancellable by the coroutine or task; each also has a `...Blocking` twin
/// for threads of the app's own. Every call is bounded by the client's deadline.
#[derive(uniffi::Object)]
pub struct CallbackClient {
    inner: core::Client,
}

impl std::fmt::Debug for CallbackClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackClient").finish_non_exhaustive()
    }
}

fn build_client(
    auth: core::Auth,
    options: Option<ClientOptions>,
    token_store: Option<Box<dyn TokenStore>>,
) -> Result<core::Client, CallbackError> {
    Ok(core::Client::with_options(
        auth,
        convert::client_options(options, token_store),
    )?)
}

#[uniffi::export]
impl CallbackClient {
    /// A client authenticated by an incoming webhook, `https://PORTAL/rest/USER_ID/SECRET/`
    /// (plain `http` only for loopback). A bad address throws `InvalidRequest` with a
    /// `webhook_url` violation; the secret is never echoed.
    #[uniffi::constructor(default(options = None))]
    pub fn webhook(
        url: String,
        options: Option<ClientOptions>,
    ) -> Result<Arc<Self>, CallbackError> {
        guarded(|| {
            let auth = core::Auth::webhook(&url)?;
            Ok(Arc::new(CallbackClient {
                inner: build_client(auth, options, None)?,
            }))
        })
    }

    /// A client authenticated as an OAuth application. Expired access tokens are refreshed
    /// (once, single-flight); each rotated pair goes to `tokenStore` before it is used.
    #[uniffi::constructor(default(options = None, token_store = None))]
    pub fn oauth(
        credentials: OAuthCredentials,
        options: Option<ClientOptions>,
        token_store: Option<Box<dyn TokenStore>>,
    ) -> Result<Arc<Self>, CallbackError> {
        guarded(|| {
            let auth = core::Auth::oauth(credentials.into())?;
            Ok(Arc::new(CallbackClient {
                inner: build_client(auth, options, token_store)?,
            }))
        })
    }

    /// A client from the environment, read the way the command line reads it:
    /// `BITRIX24_WEBHOOK_URL` (or `BITRIX24_CLIENT_ID`, `BITRIX24_CLIENT_SECRET`,
    /// `BITRIX24_CLIENT_ENDPOINT`, `BITRIX24_TOKEN_FILE` or `BITRIX24_ACCESS_TOKEN` and
    /// `BITRIX24_REFRESH_TOKEN` for an OAuth application), `BITRIX24_DEFAULT_REGION`,
    /// `BITRIX24_TIMEOUT`, `BITRIX24_ALLOWED_REGIONS`, ... (see the README).
    ///
    /// Every option in `options` (and `tokenStore`) overrides the environment's, the root
    /// certificates too when any is given. A variable that cannot be read throws `InvalidRequest` with a
    /// violation named by the variable; a bad option in `options` is named in camelCase, as
    /// everywhere else. For backends and tests: an app on a device has no such environment.
    #[uniffi::constructor(default(options = None, token_store = None))]
    pub fn from_env(
        options: Option<ClientOptions>,
        token_store: Option<Box<dyn TokenStore>>,
    ) -> Result<Arc<Self>, CallbackError> {
        guarded(|| {
            let (auth, env) = core::from_env()?;
            let given = options.is_some() || token_store.is_some();
            let explicit = convert::client_options(options, token_store);
            if given {
                // The app's own options first, so that their violations carry its names.
                core::Client::with_options(auth.clone(), explicit.clone())?;
            }
            let options = convert::env_options(env, explicit);
            Ok(Arc::new(CallbackClient {
                inner: core::Client::with_options(auth, options)?,
            }))
        })
    }

    /// Validates `request` with this client's rules (default region, unknown voices) without
    /// sending anything.
    pub fn validate(&self, request: CallbackRequest) -> Result<ValidatedRequest, CallbackError> {
        guarded(|| {
            let built = self.inner.validate(request.into())?;
            Ok(ValidatedRequest::from(&built))
        })
    }

    // ---- async (Kotlin `suspend`, Swift `async`): the main names -------------------------

    /// Validates the request, applies the destination policy and dedupe, paces through the
    /// rate limiter and sends `voximplant.callback.start`; retries only what is safe.
    ///
    /// Suspends without holding the caller's thread (the blocking call runs on a thread of its
    /// own). Cancelling the coroutine (Swift: the `Task`) while the call still waits for the
    /// limiter or a back-off ends it at once with nothing sent; a request already on the wire
    /// completes in the background and its answer is discarded.
    pub async fn start_callback(
        &self,
        request: CallbackRequest,
    ) -> Result<CallbackStarted, CallbackError> {
        let client = self.inner.clone();
        offload(None, Kind::Start, move |token| {
            start(&client, request, Some(token))
        })
        .await
    }

    /// What `startCallback` would decide, without any network traffic to the portal and
    /// without reserving anything (the cooldown, the hourly cap and the idempotency key stay as
    /// they are): the destination, or the `CallbackError` `startCallback` would throw before
    /// sending (`InvalidRequest`, `DestinationBlocked`). A key already used for this very
    /// request is accepted (`startCallback` would return the remembered answer).
    pub async fn check_callback(
        &self,
        request: CallbackRequest,
    ) -> Result<Destination, CallbackError> {
        let client = self.inner.clone();
        offload(None, Kind::Read, move |_| check(&client, request)).await
    }

    /// `voximplant.line.get`: the lines usable as `fromLine`, sorted by id.
    pub async fn lines(&self) -> Result<Vec<Line>, CallbackError> {
        let client = self.inner.clone();
        offload(None, Kind::Read, move |_| lines(&client)).await
    }

    /// `voximplant.tts.voices.get`, sorted by id.
    pub async fn voices(&self) -> Result<Vec<Voice>, CallbackError> {
        let client = self.inner.clone();
        offload(None, Kind::Read, move |_| voices(&client)).await
    }

    /// `voximplant.statistic.get` for one call; `null`/`nil` while the call is not finished.
    pub async fn call_record(&self, call_id: String) -> Result<Option<CallRecord>, CallbackError> {
        let client = self.inner.clone();
        offload(None, Kind::Read, move |_| call_record(&client, &call_id)).await
    }

    /// Polls `callRecord` until the record appears or `timeout` passes (`null`/`nil`). Between
    /// two polls it sleeps on a timer (no thread is held); cancelling stops the polling.
    pub async fn wait_for_outcome(
        &self,
        call_id: String,
        timeout: Duration,
    ) -> Result<Option<CallRecord>, CallbackError> {
        let client = self.inner.clone();
        asynchronous::wait_for_outcome(None, timeout, move || call_record(&client, &call_id)).await
    }

    // ---- async with a token (Swift's task-cancellation wrappers call these) --------------

    /// `startCallback` that also ends when `cancel` is cancelled (Swift: `startCallback(request:
    /// cancel:)`; the plain `startCallback(request:)` ties a token to task cancellation).
    pub async fn start_callback_cancellable(
        &self,
        request: CallbackRequest,
        cancel: Arc<CancelToken>,
    ) -> Result<CallbackStarted, CallbackError> {
        let client = self.inner.clone();
        offload(Some(cancel), Kind::Start, move |token| {
            start(&client, request, Some(token))
        })
        .await
    }

    /// `checkCallback` that also ends when `cancel` is cancelled.
    pub async fn check_callback_cancellable(
        &self,
        request: CallbackRequest,
        cancel: Arc<CancelToken>,
    ) -> Result<Destination, CallbackError> {
        let client = self.inner.clone();
        offload(Some(cancel), Kind::Read, move |_| check(&client, request)).await
    }

    /// `lines` that also ends when `cancel` is cancelled.
    pub async fn lines_cancellable(
        &self,
        cancel: Arc<CancelToken>,
    ) -> Result<Vec<Line>, CallbackError> {
        let client = self.inner.clone();
        offload(Some(cancel), Kind::Read, move |_| lines(&client)).await
    }

    /// `voices` that also ends when `cancel` is cancelled.
    pub async fn voices_cancellable(
        &self,
        cancel: Arc<CancelToken>,
    ) -> Result<Vec<Voice>, CallbackError> {
        let client = self.inner.clone();
        offload(Some(cancel), Kind::Read, move |_| voices(&client)).await
    }

    /// `callRecord` that also ends when `cancel` is cancelled.
    pub async fn call_record_cancellable(
        &self,
        call_id: String,
        cancel: Arc<CancelToken>,
    ) -> Result<Option<CallRecord>, CallbackError> {
        let client = self.inner.clone();
        offload(Some(cancel), Kind::Read, move |_| {
            call_record(&client, &call_id)
        })
        .await
    }

    /// `waitForOutcome` that also ends (polling stops) when `cancel` is cancelled.
    pub async fn wait_for_outcome_cancellable(
        &self,
        call_id: String,
        timeout: Duration,
        cancel: Arc<CancelToken>,
    ) -> Result<Option<CallRecord>, CallbackError> {
        let client = self.inner.clone();
        asynchronous::wait_for_outcome(Some(cancel), timeout, move || {
            call_record(&client, &call_id)
        })
        .await
    }

    // ---- blocking: for threads of the app's own (a server, a background queue) ------------

    /// `startCallback` on the calling thread (blocks for up to the client's deadline). With
    /// `cancel`, a call still waiting for the limiter or a back-off ends with `RateLimited`,
    /// nothing sent, once the token is cancelled.
    #[uniffi::method(default(cancel = None))]
    pub fn start_callback_blocking(
        &self,
        request: CallbackRequest,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<CallbackStarted, CallbackError> {
        guarded(|| start(&self.inner, request, cancel.as_deref().map(|c| &c.inner)))
    }

    /// `checkCallback` on the calling thread.
    pub fn check_callback_blocking(
        &self,
        request: CallbackRequest,
    ) -> Result<Destination, CallbackError> {
        guarded(|| check(&self.inner, request))
    }

    /// `lines` on the calling thread.
    pub fn lines_blocking(&self) -> Result<Vec<Line>, CallbackError> {
        guarded(|| lines(&self.inner))
    }

    /// `voices` on the calling thread.
    pub fn voices_blocking(&self) -> Result<Vec<Voice>, CallbackError> {
        guarded(|| voices(&self.inner))
    }

    /// `callRecord` on the calling thread.
    pub fn call_record_blocking(
        &self,
        call_id: String,
    ) -> Result<Option<CallRecord>, CallbackError> {
        guarded(|| call_record(&self.inner, &call_id))
    }

    /// `waitForOutcome` on the calling thread (the thread sleeps between polls).
    pub fn wait_for_outcome_blocking(
        &self,
        call_id: String,
        timeout: Duration,
    ) -> Result<Option<CallRecord>, CallbackError> {
        guarded(|| {
            Ok(self
                .inner
                .wait_for_outcome(&call_id, timeout)?
                .map(CallRecord::from))
        })
    }

    /// The portal base address in use (changes after a 302 rename).
    pub fn portal(&self) -> String {
        self.inner.portal()
    }
}

// The calls themselves, shared by the async and the blocking methods.

fn start(
    client: &core::Client,
    request: CallbackRequest,
    cancel: Option<&core::CancelToken>,
) -> Result<CallbackStarted, CallbackError> {
    let built = client.validate(request.into())?;
    let started = match cancel {
        Some(token) => client.start_callback_cancellable(&built, token)?,
        None => client.start_callback(&built)?,
    };
    Ok(started.into())
}

fn check(client: &core::Client, request: CallbackRequest) -> Result<Destination, CallbackError> {
    let built = client.validate(request.into())?;
    Ok(client.check(&built)?.into())
}

fn lines(client: &core::Client) -> Result<Vec<Line>, CallbackError> {
    Ok(client.lines()?.into_iter().map(Line::from).collect())
}

fn voices(client: &core::Client) -> Result<Vec<Voice>, CallbackError> {
    Ok(client.voices()?.into_iter().map(Voice::from).collect())
}

fn call_record(client: &core::Client, call_id: &str) -> Result<Option<CallRecord>, CallbackError> {
    Ok(client.call_record(call_id)?.map(CallRecord::from))
}
