//! One logical call to the portal, in small phases: wait for the limiter ([`Exchange::admit`]),
//! send one request ([`Exchange::send`]), read what came back ([`Exchange::decide`]) and either
//! return, or pause and send again when that is certainly safe.
//!
//! Every retry is decided from facts: the transport's [`FailureKind`] (were request bytes
//! written?), the HTTP status and the classified answer, never from an error's text.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use url::Url;

use crate::auth::{Auth, TokenStore, checked_base};
use crate::error::{Error, ErrorCode};
use crate::limiter::{CancelToken, instant_after, sleep_until, too_far};
use crate::oauth::OAuthState;
use crate::outcome::CallMeta;
use crate::response::{Success, classify, unfollowed_redirect};
use crate::state::{Slot, Store};
use crate::transport::{Body, Failure, FailureKind, HttpTransport, RawResponse};

/// Requests sent for one logical call, at most (retries, refresh resends, rename re-POSTs).
const MAX_ATTEMPTS: u32 = 12;
/// Resends after a connection that certainly carried nothing.
const MAX_CONNECT_RETRIES: u32 = 2;
/// Waits for an operating-time reset within one call.
const MAX_OPERATING_WAITS: u32 = 2;
/// Token refreshes within one call: the second only after the first took a pair another
/// thread or process had obtained, and that pair was refused too (it expired meanwhile).
const MAX_REFRESHES: u32 = 2;

/// How requests are authenticated.
enum AuthKind {
    Webhook {
        user_id: String,
        secret: String,
    },
    OAuth {
        state: Box<OAuthState>,
        rest_path: String,
    },
}

/// One logical call: which method, with what, until when.
pub(crate) struct Call<'a> {
    pub(crate) method: &'a str,
    /// The JSON object of parameters.
    pub(crate) payload: &'a str,
    pub(crate) deadline: Instant,
    pub(crate) cancel: Option<&'a CancelToken>,
    /// The masked destination number, for logs (`-` for other methods).
    pub(crate) number: &'a str,
}

/// What is left of one call's retries.
#[derive(Default)]
struct Budget {
    refreshes: u32,
    /// This call had the token server rotate the pair: no further refresh can help.
    rotated: bool,
    connect_retries: u32,
    limit_retries: u32,
    operating_waits: u32,
}

/// One request as it was sent.
struct Sent {
    /// The OAuth token generation it carried (0 for webhooks).
    generation: u64,
    portal: String,
    answer: Result<RawResponse, Box<Failure>>,
}

/// What the answer to one request means for the call.
enum Decision {
    Done(Success),
    /// Nothing was executed: send again after `pause` (or report `error` if that does not fit
    /// the deadline).
    Retry {
        pause: Duration,
        error: Error,
    },
    /// The access token of `generation` was refused: refresh it once, then send again.
    Refresh {
        generation: u64,
        error: Error,
    },
    /// The portal was renamed before running the method: send again to the new base.
    Moved(String),
    Fail(Error),
}

/// The HTTP side of a client: transport, credentials, portal address, limiter.
pub(crate) struct Exchange {
    http: HttpTransport,
    auth: AuthKind,
    portal: RwLock<String>,
    store: Arc<dyn Store>,
    /// The last `time.operating_reset_at` seen in a successful answer (0 = none yet).
    last_reset_at: AtomicI64,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn jitter(max_ms: u64) -> Duration {
    Duration::from_millis(fastrand::u64(0..=max_ms))
}

/// Adds the access token to a JSON object body.
fn with_auth(payload: &str, token: &str) -> String {
    let token_json = serde_json::to_string(token).unwrap_or_default();
    let trimmed = payload.trim_end();
    let inner = trimmed.strip_suffix('}').unwrap_or(trimmed).trim_end();
    if inner.ends_with('{') {
        format!("{inner}\"auth\":{token_json}}}")
    } else {
        format!("{inner},\"auth\":{token_json}}}")
    }
}

/// Where a rename points: the new portal base, or why the target is refused. A rename keeps
/// the REST path, so anything else (another scheme downwards, a page that is not the REST API,
/// credentials in the URL) is not a renamed portal.
pub(crate) fn moved_base(location: &str, current: &str) -> Result<String, &'static str> {
    let base = Url::parse(current).map_err(|_| "from an address that is not a URL")?;
    let target = base
        .join(location)
        .map_err(|_| "to an address that is not a URL")?;
    let new_base = checked_base(&target).map_err(|(code, _)| match code {
        "credentials_in_url" => "to an address with credentials in it",
        _ => "to an address that is not https",
    })?;
    if base.scheme() == "https" && target.scheme() != "https" {
        return Err("from https to plain http");
    }
    if !target.path().starts_with("/rest/") {
        return Err("to an address that is not a portal's REST API");
    }
    if new_base == current {
        return Err("to itself");
    }
    Ok(new_base)
}

impl AuthKind {
    fn new(
        auth: &Auth,
        token_store: Option<TokenStore>,
        store: &dyn Store,
    ) -> Result<AuthKind, Error> {
        let o = match auth {
            Auth::Webhook(w) => {
                return Ok(AuthKind::Webhook {
                    user_id: w.user_id.clone(),
                    secret: w.secret.clone(),
                });
            }
            Auth::OAuth(o) => o,
        };
        // `Auth::OAuth` can be built directly: check it the way `Auth::oauth` does.
        Auth::oauth(o.clone())?;
        let client = Url::parse(o.client_endpoint.trim())
            .map_err(|_| Error::new(ErrorCode::InvalidRequest, "client_endpoint is not a URL"))?;
        let server = Url::parse(o.server_endpoint.trim())
            .map_err(|_| Error::new(ErrorCode::InvalidRequest, "server_endpoint is not a URL"))?;
        let server_base =
            checked_base(&server).map_err(|(_, m)| Error::new(ErrorCode::InvalidRequest, m))?;
        let mut rest_path = client.path().to_owned();
        if !rest_path.ends_with('/') {
            rest_path.push('/');
        }
        Ok(AuthKind::OAuth {
            state: Box::new(OAuthState::new(
                o.client_id.clone(),
                o.client_secret.clone(),
                o.access_token.clone(),
                o.refresh_token.clone(),
                format!("{server_base}/oauth/token/"),
                token_store,
                store.tokens(&o.client_id),
            )),
            rest_path,
        })
    }
}

impl Exchange {
    pub(crate) fn new(
        auth: &Auth,
        token_store: Option<TokenStore>,
        store: Arc<dyn Store>,
        http: HttpTransport,
    ) -> Result<Exchange, Error> {
        Ok(Exchange {
            http,
            auth: AuthKind::new(auth, token_store, &*store)?,
            portal: RwLock::new(auth.portal_base()),
            store,
            last_reset_at: AtomicI64::new(0),
        })
    }

    /// `"webhook"` or `"oauth"`.
    pub(crate) fn auth_kind(&self) -> &'static str {
        match self.auth {
            AuthKind::Webhook { .. } => "webhook",
            AuthKind::OAuth { .. } => "oauth",
        }
    }

    /// The portal base address in use (changes after a rename).
    pub(crate) fn portal(&self) -> String {
        self.portal
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// `error` without any secret this exchange knows (a portal or proxy may echo the request:
    /// the webhook path, a token in the body).
    fn scrubbed(&self, error: Error) -> Error {
        match &self.auth {
            AuthKind::Webhook { secret, .. } => error.scrub(&[secret.as_str()]),
            AuthKind::OAuth { state, .. } => state.scrub(error),
        }
    }

    /// The URL handed to the HTTP layer: a webhook's secret is masked there and put in by the
    /// transport on the way to the socket (see [`crate::transport`]).
    fn method_url(&self, portal: &str, method: &str) -> String {
        match &self.auth {
            AuthKind::Webhook { user_id, .. } => {
                let mask = crate::transport::SECRET_MASK;
                format!("{portal}/rest/{user_id}/{mask}/{method}")
            }
            AuthKind::OAuth { rest_path, .. } => format!("{portal}{rest_path}{method}"),
        }
    }

    /// One logical call with every safe retry.
    pub(crate) fn call(&self, call: &Call<'_>) -> Result<(Success, CallMeta), Error> {
        let mut meta = CallMeta::default();
        let mut budget = Budget::default();
        let outcome = loop {
            let sent = match self.admit(call, &mut meta) {
                Ok(()) => self.send(call, &mut meta),
                Err(e) => break Err(e),
            };
            match self.decide(sent, &mut budget, &mut meta) {
                Decision::Done(ok) => break Ok(ok),
                Decision::Fail(e) => break Err(e),
                Decision::Moved(new_base) => {
                    meta.moved_to = Some(new_base);
                }
                Decision::Retry { pause, error } => {
                    if self.pause(pause, call).is_err() {
                        break Err(error);
                    }
                }
                Decision::Refresh { generation, error } => {
                    match self.refresh(generation, call, error) {
                        Ok(rotated) => budget.rotated |= rotated,
                        Err(e) => break Err(e),
                    }
                }
            }
        };
        match outcome {
            Ok(ok) => {
                if let Some(moved) = &meta.moved_to {
                    *self.portal.write().unwrap_or_else(|p| p.into_inner()) = moved.clone();
                }
                Ok((ok, meta))
            }
            Err(e) => Err(self.scrubbed(e).with_portal_moved_to_if_none(meta.moved_to)),
        }
    }

    /// Waits for the limiter; refuses (nothing sent) when cancelled or out of time.
    fn admit(&self, call: &Call<'_>, meta: &mut CallMeta) -> Result<(), Error> {
        if call.cancel.is_some_and(CancelToken::is_cancelled) {
            return Err(Error::new(
                ErrorCode::RateLimited,
                "cancelled before sending; nothing was sent",
            ));
        }
        if let AuthKind::OAuth { state, .. } = &self.auth {
            state.prepare()?;
        }
        let max_wait = call.deadline.saturating_duration_since(Instant::now());
        match self.store.reserve_slot(max_wait)? {
            Slot::After(wait) if wait.is_zero() => {}
            Slot::After(wait) => {
                // Measured from the answer: a shared store's round trip makes the send later,
                // never earlier, than its slot.
                sleep_until(Instant::now() + wait, call.cancel)?;
                meta.limiter_wait += wait;
            }
            Slot::TooFar(next) => return Err(too_far(next)),
        }
        if Instant::now() >= call.deadline {
            return Err(Error::new(
                ErrorCode::RateLimited,
                "the deadline passed before the request could be sent; nothing was sent",
            ));
        }
        Ok(())
    }

    /// Sends one request with the current credentials.
    fn send(&self, call: &Call<'_>, meta: &mut CallMeta) -> Sent {
        let (body, generation) = match &self.auth {
            AuthKind::Webhook { .. } => (call.payload.to_owned(), 0),
            AuthKind::OAuth { state, .. } => {
                let t = state.current();
                (with_auth(call.payload, &t.access), t.generation)
            }
        };
        let portal = meta.moved_to.clone().unwrap_or_else(|| self.portal());
        let url = self.method_url(&portal, call.method);
        meta.attempts += 1;
        let attempt = meta.attempts;
        let (method, number) = (call.method, call.number);
        log::debug!("{method} -> {portal} attempt {attempt} number {number}");
        let sent_at = Instant::now();
        let remaining = call.deadline.saturating_duration_since(sent_at);
        let answer = self.http.post(&url, Body::Json(body.as_bytes()), remaining);
        let ms = sent_at.elapsed().as_millis();
        match &answer {
            Ok(raw) => log::debug!(
                "{method} -> {portal} attempt {attempt} number {number}: HTTP {} in {ms} ms",
                raw.status
            ),
            Err(f) => log::warn!(
                "{method} -> {portal} attempt {attempt} number {number}: {} after {ms} ms",
                f.error.code()
            ),
        }
        Sent {
            generation,
            portal,
            answer,
        }
    }

    /// What the answer to one request means: done, fail, or which safe retry.
    fn decide(&self, sent: Sent, budget: &mut Budget, meta: &mut CallMeta) -> Decision {
        let raw = match sent.answer {
            Ok(raw) => raw,
            Err(failure) => {
                let Failure { kind, error } = *failure;
                return if kind == FailureKind::NotSent
                    && budget.connect_retries < MAX_CONNECT_RETRIES
                {
                    budget.connect_retries += 1;
                    Decision::Retry {
                        pause: Duration::from_millis(150 << budget.connect_retries) + jitter(100),
                        error,
                    }
                } else {
                    Decision::Fail(error)
                };
            }
        };
        if (300..400).contains(&raw.status) {
            return self.redirected(raw.status, raw.location.as_deref(), &sent.portal, meta);
        }
        let error = match classify(raw.status, &raw.body) {
            Ok(ok) => {
                if let Some(at) = ok.time.as_ref().and_then(|t| t.operating_reset_at) {
                    self.last_reset_at.store(at, Ordering::Relaxed);
                }
                return Decision::Done(ok);
            }
            Err(e) => e,
        };
        if meta.attempts >= MAX_ATTEMPTS {
            return Decision::Fail(error);
        }
        self.after_refusal(error, sent.generation, budget)
    }

    /// A redirect. Only a rename (301, 302 or 308 to the same REST path on a portal base that is
    /// not less secure) is followed, once per call; 303 says the request was processed, and any
    /// other redirect executed nothing. The new address is kept once a call through it worked.
    fn redirected(
        &self,
        status: u16,
        location: Option<&str>,
        portal: &str,
        meta: &CallMeta,
    ) -> Decision {
        let Some(location) = location.filter(|_| matches!(status, 301 | 302 | 308)) else {
            return Decision::Fail(unfollowed_redirect(status));
        };
        let refuse = |why: &str| {
            Decision::Fail(
                Error::new(
                    ErrorCode::PortalError,
                    format!("the portal redirected (HTTP {status}) {why}; nothing was executed"),
                )
                .with_http_status(Some(status)),
            )
        };
        if meta.moved_to.is_some() {
            return refuse("again; not following further");
        }
        if meta.attempts >= MAX_ATTEMPTS {
            return refuse("after too many attempts");
        }
        match moved_base(location, portal) {
            Ok(new_base) => {
                log::info!("portal {portal} answered HTTP {status}: moved to {new_base}");
                Decision::Moved(new_base)
            }
            Err(why) => refuse(why),
        }
    }

    /// A refusal that executed nothing: which of them are worth another request.
    fn after_refusal(&self, error: Error, generation: u64, budget: &mut Budget) -> Decision {
        match error.code() {
            ErrorCode::RateLimited => {
                self.store.portal_full();
                budget.limit_retries += 1;
                let pause = Duration::from_millis(500 * (1 << budget.limit_retries.min(4)))
                    .min(Duration::from_secs(8))
                    + jitter(250);
                Decision::Retry { pause, error }
            }
            ErrorCode::OperationTimeLimit => {
                let known = error.operating_reset_at().or_else(|| {
                    let v = self.last_reset_at.load(Ordering::Relaxed);
                    (v > 0).then_some(v)
                });
                let error = error.with_operating_reset_at(known);
                match known {
                    Some(at) if budget.operating_waits < MAX_OPERATING_WAITS => {
                        budget.operating_waits += 1;
                        let wait = Duration::from_secs(at.saturating_sub(unix_now()).max(0) as u64)
                            + jitter(500);
                        Decision::Retry { pause: wait, error }
                    }
                    _ => Decision::Fail(error),
                }
            }
            ErrorCode::AuthFailed
                if !budget.rotated
                    && budget.refreshes < MAX_REFRESHES
                    && matches!(self.auth, AuthKind::OAuth { .. })
                    && error.bitrix_code().is_some_and(|c| {
                        c.eq_ignore_ascii_case("expired_token")
                            || c.eq_ignore_ascii_case("invalid_token")
                    }) =>
            {
                budget.refreshes += 1;
                Decision::Refresh { generation, error }
            }
            _ => Decision::Fail(error),
        }
    }

    /// Refreshes the access token (once across all threads) before the resend; `Ok(true)` when
    /// this call rotated the pair itself.
    fn refresh(&self, generation: u64, call: &Call<'_>, error: Error) -> Result<bool, Error> {
        let AuthKind::OAuth { state, .. } = &self.auth else {
            return Err(error);
        };
        let remaining = call.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(error);
        }
        state.refresh_after(generation, &self.http, remaining)
    }

    /// Sleeps for a back-off if it ends before the deadline; `Err` when it would not, or when
    /// the call was cancelled meanwhile (the caller then reports the refusal it retried).
    fn pause(&self, pause: Duration, call: &Call<'_>) -> Result<(), ()> {
        let until = instant_after(Instant::now(), pause);
        if until >= call.deadline {
            return Err(());
        }
        sleep_until(until, call.cancel).map_err(drop)
    }
}
