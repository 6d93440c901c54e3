//! OAuth token state: the current pair and the single-flight refresh.
//!
//! Refresh tokens are single-use and rotate, so two threads must never refresh with the same
//! one. Every pair has a generation number; a thread that saw generation `g` fail with
//! `expired_token` takes the refresh lock, and only refreshes if the state is still at `g`.
//! Everybody else who queued behind it finds a newer generation (or `g`'s recorded failure)
//! and reuses that result.
//!
//! With shared state (Redis) the pair also lives there, so that exactly one process refreshes
//! per expiry: the process that saw its token refused first looks for a newer pair published by
//! another process, then takes the shared refresh lock, looks once more, and only then asks the
//! token server; the others wait for the pair it publishes.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::auth::{TokenPair, TokenStore};
use crate::error::{Error, ErrorCode};
use crate::response::{envelope_of, number_of};
use crate::state::{SharedPair, TokenShare};
use crate::transport::{Body, Failure, FailureKind, HttpTransport};

#[derive(Clone)]
pub(crate) struct Tokens {
    pub(crate) access: String,
    refresh: String,
    pub(crate) generation: u64,
}

pub(crate) struct OAuthState {
    client_id: String,
    client_secret: String,
    token_url: String,
    tokens: Mutex<Tokens>,
    /// Held for the whole refresh exchange: the single flight.
    refresh_lock: Mutex<Option<(u64, Error)>>,
    store: Option<TokenStore>,
    /// Where the pair is shared with other processes (shared state), if anywhere.
    share: Option<Box<dyn TokenShare>>,
    /// Whether this process's pair was reconciled with the shared one yet.
    synced: AtomicBool,
    /// A rotated pair that could not be published yet.
    unpublished: Mutex<Option<SharedPair>>,
}

/// How long one process may hold the shared refresh lock.
const SHARED_LOCK_TTL: Duration = Duration::from_secs(60);
/// How often a process waiting for another's refresh looks for the new pair.
const SHARED_POLL: Duration = Duration::from_millis(50);

impl fmt::Debug for OAuthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthState")
            .field("client_id", &self.client_id)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

impl OAuthState {
    pub(crate) fn new(
        client_id: String,
        client_secret: String,
        access: String,
        refresh: String,
        token_url: String,
        store: Option<TokenStore>,
        share: Option<Box<dyn TokenShare>>,
    ) -> OAuthState {
        OAuthState {
            client_id,
            client_secret,
            token_url,
            tokens: Mutex::new(Tokens {
                access,
                refresh,
                generation: 0,
            }),
            refresh_lock: Mutex::new(None),
            store,
            synced: AtomicBool::new(share.is_none()),
            share,
            unpublished: Mutex::new(None),
        }
    }

    /// Before a request: reconciles this process's pair with the shared one (once), and
    /// publishes a rotated pair that could not be published before. Fails (nothing sent) when
    /// the shared state cannot be reached.
    pub(crate) fn prepare(&self) -> Result<(), Error> {
        let Some(share) = &self.share else {
            return Ok(());
        };
        let pending = self
            .unpublished
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(pair) = pending {
            share.publish(&pair)?;
            *self.unpublished.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        if !self.synced.load(Ordering::Acquire) {
            let mine = self.pair();
            let in_force = share.seed(&mine)?;
            if in_force != mine {
                self.adopt(&in_force);
            }
            self.synced.store(true, Ordering::Release);
        }
        Ok(())
    }

    fn pair(&self) -> SharedPair {
        let t = self.current();
        SharedPair {
            access: t.access,
            refresh: t.refresh,
        }
    }

    /// Takes a pair another process published; returns it as the current tokens.
    fn adopt(&self, pair: &SharedPair) -> Tokens {
        let mut t = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if t.access != pair.access {
            t.access = pair.access.clone();
            t.refresh = pair.refresh.clone();
            t.generation += 1;
        }
        t.clone()
    }

    /// `error` without the client secret or the current tokens in its texts.
    pub(crate) fn scrub(&self, error: Error) -> Error {
        let t = self.current();
        error.scrub(&[&self.client_secret, &t.access, &t.refresh])
    }

    pub(crate) fn current(&self) -> Tokens {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Makes sure a pair newer than `seen_generation` exists, refreshing at most once across
    /// all threads. `Ok(true)` when this call had the token server rotate the pair; `Ok(false)`
    /// when it took a pair another thread or process obtained (which may have expired since).
    pub(crate) fn refresh_after(
        &self,
        seen_generation: u64,
        http: &HttpTransport,
        remaining: Duration,
    ) -> Result<bool, Error> {
        let mut failure = self.refresh_lock.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.current();
        if now.generation != seen_generation {
            return Ok(false);
        }
        if let Some((generation, err)) = failure.as_ref()
            && *generation == seen_generation
        {
            return Err(err.clone());
        }
        let result = match &self.share {
            Some(share) => self.refresh_shared(&**share, &now, http, remaining),
            None => self.rotate(&now.refresh, http, remaining).map(|_| true),
        };
        if let Err(err) = &result {
            log::warn!("oauth: refresh failed: {}", err.code());
            // Only the token server's own refusal is remembered (the pair is dead; asking
            // again cannot help). A gateway's 5xx, an answer that is not a token pair or a
            // connection lost on the way says nothing about the refresh token: a later call
            // asks again (a refresh token that was used meanwhile then gets `invalid_grant`).
            if definite_refusal(err) {
                *failure = Some((seen_generation, err.clone()));
            }
        }
        result
    }

    /// The refresh of a pair shared with other processes: at most one of them asks the token
    /// server per expiry; the others take the pair it publishes. `Ok(true)` when this process
    /// rotated the pair.
    fn refresh_shared(
        &self,
        share: &dyn TokenShare,
        seen: &Tokens,
        http: &HttpTransport,
        remaining: Duration,
    ) -> Result<bool, Error> {
        let deadline = crate::limiter::instant_after(Instant::now(), remaining);
        loop {
            if let Some(pair) = share.load()?
                && pair.access != seen.access
            {
                self.adopt(&pair);
                return Ok(false);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if let Some(lock) = share.lock(left.min(SHARED_LOCK_TTL))? {
                // Somebody may have refreshed between our look and the lock.
                let result = match share.load() {
                    Ok(Some(pair)) if pair.access != seen.access => {
                        self.adopt(&pair);
                        Ok(false)
                    }
                    Ok(shared) => {
                        let refresh = shared.map_or_else(|| seen.refresh.clone(), |p| p.refresh);
                        self.rotate(&refresh, http, left).inspect(|fresh| {
                            let pair = SharedPair {
                                access: fresh.access.clone(),
                                refresh: fresh.refresh.clone(),
                            };
                            if share.publish(&pair).is_err() {
                                log::warn!(
                                    "oauth: the rotated pair could not be published to the shared \
                                     state yet; it will be before the next request"
                                );
                                *self.unpublished.lock().unwrap_or_else(|p| p.into_inner()) =
                                    Some(pair);
                            }
                        })
                        .map(|_| true)
                    }
                    Err(e) => Err(e),
                };
                share.unlock(&lock);
                return result;
            }
            if Instant::now() >= deadline {
                return Err(Error::new(
                    ErrorCode::AuthFailed,
                    "another process is refreshing the OAuth tokens and did not publish the new \
                     pair in time; the call was not sent",
                ));
            }
            std::thread::sleep(SHARED_POLL.min(deadline - Instant::now()));
        }
    }

    /// Asks the token server for a new pair with `refresh_token`, hands it to the token store,
    /// and makes it current.
    fn rotate(
        &self,
        refresh_token: &str,
        http: &HttpTransport,
        remaining: Duration,
    ) -> Result<Tokens, Error> {
        match self.exchange(refresh_token, http, remaining) {
            Ok(pair) => {
                // The application persists the rotated pair before anybody uses it.
                let stored = match &self.store {
                    Some(store) => store(&pair),
                    None => Ok(()),
                };
                let fresh = {
                    let mut t = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
                    t.access = pair.access_token.clone();
                    t.refresh = pair.refresh_token.clone();
                    t.generation += 1;
                    t.clone()
                };
                log::info!(
                    "oauth: tokens refreshed (generation {}), expires_in={:?}",
                    fresh.generation,
                    pair.expires_in
                );
                match stored {
                    Ok(()) => Ok(fresh),
                    Err(msg) => Err(Error::new(
                        ErrorCode::AuthFailed,
                        format!(
                            "the token store refused the rotated tokens ({}); the call was not \
                             sent",
                            crate::redact::sanitize_text(&msg)
                        ),
                    )),
                }
            }
            Err(err) => Err(err),
        }
    }

    fn exchange(
        &self,
        refresh_token: &str,
        http: &HttpTransport,
        remaining: Duration,
    ) -> Result<TokenPair, Error> {
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("client_id", &self.client_id)
            .append_pair("client_secret", &self.client_secret)
            .append_pair("refresh_token", refresh_token)
            .finish();
        let raw = http
            .post(&self.token_url, Body::Form(&form), remaining)
            .map_err(|failure| {
                let Failure { kind, error } = *failure;
                // Nothing the token server does can ring anybody: whatever happened, the call
                // itself was not sent.
                if kind == FailureKind::MaybeExecuted {
                    Error::new(
                        ErrorCode::AuthFailed,
                        format!("token refresh failed: {}", error.description()),
                    )
                } else {
                    error
                }
            })?;
        read_token_answer(raw.status, &raw.body)
    }
}

/// Whether a failed refresh is the token server's refusal of the credentials: an error
/// envelope (`invalid_grant`, `invalid_client`, ...) with a 4xx status.
fn definite_refusal(err: &Error) -> bool {
    err.code() == ErrorCode::AuthFailed
        && err.bitrix_code().is_some()
        && err.http_status().is_some_and(|s| (400..500).contains(&s))
}

/// Reads the token server's answer: a rotated pair, or why not (`auth_failed`, or
/// `rate_limited` for the server's own limit).
pub(crate) fn read_token_answer(status: u16, body: &[u8]) -> Result<TokenPair, Error> {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    if let Some(env) = value.as_ref().and_then(envelope_of) {
        let mut err = crate::response::classify_envelope(status, &env);
        if err.code() != ErrorCode::RateLimited {
            err = Error::new(
                ErrorCode::AuthFailed,
                format!("token refresh refused: {}", err.description()),
            )
            .with_bitrix_code(err.bitrix_code().map(str::to_owned))
            .with_http_status(Some(status));
        }
        return Err(err);
    }
    let Some(v) = value.filter(|_| (200..300).contains(&status)) else {
        return Err(Error::new(
            ErrorCode::AuthFailed,
            format!(
                "the token server's answer (HTTP {}) is not a token pair",
                status
            ),
        )
        .with_http_status(Some(status)));
    };
    let text = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let (Some(access_token), Some(refresh_token)) = (text("access_token"), text("refresh_token"))
    else {
        return Err(Error::new(
            ErrorCode::AuthFailed,
            "the token server's answer has no access_token/refresh_token",
        )
        .with_http_status(Some(status)));
    };
    let expires_in = number_of(v.get("expires_in")).map(|f| f as u64);
    let expires_at = number_of(v.get("expires")).map(|f| f as i64).or_else(|| {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
        expires_in.map(|e| now.saturating_add(i64::try_from(e).unwrap_or(i64::MAX)))
    });
    Ok(TokenPair {
        access_token,
        refresh_token,
        expires_in,
        expires_at,
        client_endpoint: text("client_endpoint"),
        server_endpoint: text("server_endpoint"),
    })
}
