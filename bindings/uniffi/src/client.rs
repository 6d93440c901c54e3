//! `CallbackClient`: the core's blocking client as a uniffi object.

use std::sync::Arc;
use std::time::Duration;

use callback_core as core;

use crate::convert;
use crate::error::{CallbackError, guarded};
use crate::types::{
    CallRecord, CallbackRequest, CallbackStarted, ClientOptions, Destination, Line,
    OAuthCredentials, TokenPair, ValidatedRequest, Voice,
};

/// Why the app's [`TokenStore`] could not persist a rotated pair.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Error)]
pub enum TokenStoreError {
    /// The store failed; `reason` is app text (keep secrets out of it).
    Failed { reason: String },
}

impl std::fmt::Display for TokenStoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenStoreError::Failed { reason } => write!(f, "token store failed: {reason}"),
        }
    }
}

impl std::error::Error for TokenStoreError {}

/// Any other exception thrown by the app's implementation ends up here. Only its type is
/// kept (the text before the first `:`, e.g. `java.io.IOException`): its message is app text
/// that could hold anything, and the reason becomes part of the `AuthFailed` description.
impl From<uniffi::UnexpectedUniFFICallbackError> for TokenStoreError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        let kind: String = e
            .reason
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .chars()
            .take(120)
            .collect();
        TokenStoreError::Failed {
            reason: format!("unexpected error in the app's TokenStore: {kind}"),
        }
    }
}

/// Implemented by the app to persist rotated OAuth tokens (Bitrix24's refresh tokens are
/// single-use: lose the new pair and the app must be re-authorised).
///
/// `save` is called on the thread that made the call which triggered the refresh, before the
/// new access token is used. Persist both tokens atomically and return; throwing
/// `TokenStoreException` (Swift: `TokenStoreError`) fails that call with `AuthFailed`.
#[uniffi::export(callback_interface)]
pub trait TokenStore: Send + Sync {
    fn save(&self, tokens: TokenPair) -> Result<(), TokenStoreError>;
}

/// Cancels a call that is still waiting for the rate limiter or a back-off (it then fails with
/// `RateLimited`, nothing sent). Once the request is on the wire, cancelling has no effect.
/// Tie it to coroutine / `Task` cancellation.
#[derive(Debug, Default, uniffi::Object)]
pub struct CancelToken {
    inner: core::CancelToken,
}

#[uniffi::export]
impl CancelToken {
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(CancelToken::default())
    }

    pub fn cancel(&self) {
        self.inner.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}

/// A Bitrix24 client. Thread-safe: share one instance across threads; it holds the connection
/// pool, the rate limiter, the token state and the dedupe memory.
///
/// Every method blocks the calling thread (network I/O, bounded by the client's deadline):
/// call it from `Dispatchers.IO` (Kotlin) or `Task.detached` / a background queue (Swift).
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

    /// Validates `request` with this client's rules (default region, unknown voices) without
    /// sending anything.
    pub fn validate(&self, request: CallbackRequest) -> Result<ValidatedRequest, CallbackError> {
        guarded(|| {
            let built = self.inner.validate(request.into())?;
            Ok(ValidatedRequest::from(&built))
        })
    }

    /// What `startCallback` would decide, without any network traffic and without reserving
    /// anything (the cooldown, the hourly cap and the idempotency key stay as they are): the
    /// destination, or the `CallbackError` `startCallback` would throw before sending
    /// (`InvalidRequest`, `DestinationBlocked`). A key already used for this very request is
    /// accepted (`startCallback` would return the remembered answer).
    pub fn check_callback(&self, request: CallbackRequest) -> Result<Destination, CallbackError> {
        guarded(|| {
            let built = self.inner.validate(request.into())?;
            Ok(self.inner.check(&built)?.into())
        })
    }

    /// Validates the request, applies the destination policy and dedupe, paces through the
    /// rate limiter and sends `voximplant.callback.start`; retries only what is safe.
    /// Blocks; see the class documentation.
    pub fn start_callback(
        &self,
        request: CallbackRequest,
    ) -> Result<CallbackStarted, CallbackError> {
        guarded(|| {
            let built = self.inner.validate(request.into())?;
            Ok(self.inner.start_callback(&built)?.into())
        })
    }

    /// Like `startCallback`, but gives up with `RateLimited` (nothing sent) when `cancel` is
    /// cancelled while the call still waits for the limiter or a back-off.
    pub fn start_callback_cancellable(
        &self,
        request: CallbackRequest,
        cancel: Arc<CancelToken>,
    ) -> Result<CallbackStarted, CallbackError> {
        guarded(|| {
            let built = self.inner.validate(request.into())?;
            Ok(self
                .inner
                .start_callback_cancellable(&built, &cancel.inner)?
                .into())
        })
    }

    /// `voximplant.line.get`: the lines usable as `fromLine`, sorted by id.
    pub fn lines(&self) -> Result<Vec<Line>, CallbackError> {
        guarded(|| Ok(self.inner.lines()?.into_iter().map(Line::from).collect()))
    }

    /// `voximplant.tts.voices.get`, sorted by id.
    pub fn voices(&self) -> Result<Vec<Voice>, CallbackError> {
        guarded(|| Ok(self.inner.voices()?.into_iter().map(Voice::from).collect()))
    }

    /// `voximplant.statistic.get` for one call; `null`/`nil` while the call is not finished.
    pub fn call_record(&self, call_id: String) -> Result<Option<CallRecord>, CallbackError> {
        guarded(|| Ok(self.inner.call_record(&call_id)?.map(CallRecord::from)))
    }

    /// Polls `callRecord` until the record appears or `timeout` passes (`null`/`nil`).
    pub fn wait_for_outcome(
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
