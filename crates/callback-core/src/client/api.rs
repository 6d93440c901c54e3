//! [`Client`]: the guard in front, the exchange behind, and the calls users make.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::auth::Auth;
use crate::client::exchange::{Call, Exchange};
use crate::client::guard::{Guard, Reservation};
use crate::client::options::{ClientOptions, Settings};
use crate::error::{Error, ErrorCode, Violation};
use crate::limiter::{CancelToken, instant_after};
use crate::outcome::{CallbackStarted, Destination, started_from};
use crate::records::{CallRecord, Line, Voice};
use crate::request::{CallbackRequest, CallbackRequestBuilder, RequestInput};
use crate::state::memory::MemoryStore;
use crate::state::redis::RedisStore;
use crate::state::{Claim, Store};
use crate::transport::HttpTransport;

struct Inner {
    exchange: Exchange,
    guard: Guard,
    deadline: Duration,
    default_region: Option<String>,
    allow_unknown_voice: bool,
}

/// The blocking client: `Send + Sync`, cheap to clone (clones share the connection pool, the
/// rate limiter, the token state and the dedupe memory).
///
/// Build one client per portal and share it (or its clones) between threads and requests: the
/// idempotency-key memory and the per-number cooldown live in the client. The rate limiter is
/// shared even wider, by every client of the process that talks to the same portal with the
/// same bucket numbers.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("portal", &self.portal())
            .field("auth", &self.inner.exchange.auth_kind())
            .field("deadline", &self.inner.deadline)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client from plain-data options (what bindings use; Rust code usually prefers
    /// [`Client::builder`]). Every invalid option is reported at once (`invalid_request`).
    pub fn with_options(auth: Auth, options: ClientOptions) -> Result<Client, Error> {
        Client::new(auth, options.settle()?)
    }

    pub(crate) fn new(auth: Auth, settings: Settings) -> Result<Client, Error> {
        let Settings {
            connect_timeout,
            timeout,
            deadline,
            rate_limit,
            extra_roots,
            user_agent,
            default_region,
            allow_unknown_voice,
            policy,
            dedupe_window,
            token_store,
            shared_state,
        } = settings;
        let path_secret = match &auth {
            Auth::Webhook(w) => Some(w.secret.as_str()),
            Auth::OAuth(_) => None,
        };
        let http = HttpTransport::new(
            connect_timeout,
            timeout,
            extra_roots,
            user_agent,
            path_secret,
        );
        let portal = auth.portal_base();
        let store: Arc<dyn Store> = match shared_state {
            None => Arc::new(MemoryStore::new(&portal, rate_limit)),
            Some((url, prefix)) => {
                let prefix = prefix.unwrap_or_else(|| crate::state::redis::default_prefix(&portal));
                // Redis answers in microseconds: a slow answer means trouble, not load.
                let bound = connect_timeout.min(Duration::from_secs(3));
                Arc::new(RedisStore::open(&url, prefix, rate_limit, bound)?)
            }
        };
        Ok(Client {
            inner: Arc::new(Inner {
                exchange: Exchange::new(&auth, token_store, store.clone(), http)?,
                guard: Guard::new(policy, dedupe_window, deadline, store),
                deadline,
                default_region,
                allow_unknown_voice,
            }),
        })
    }

    /// A request builder preloaded with this client's validation rules (default region,
    /// unknown voices).
    pub fn request(&self) -> CallbackRequestBuilder {
        let mut b = CallbackRequestBuilder::default();
        if let Some(r) = &self.inner.default_region {
            b = b.default_region(r.clone());
        }
        b.allow_unknown_voice(self.inner.allow_unknown_voice)
    }

    /// Validates raw input with this client's rules (what bindings hand over).
    pub fn validate(&self, input: RequestInput) -> Result<CallbackRequest, Error> {
        self.request().input(input).build()
    }

    /// Answers what [`Self::start_callback`] would, as far as that is decided before any
    /// network traffic: the destination policy, the idempotency key and the number's cooldown
    /// and hourly cap. Nothing is sent and nothing is reserved, so a form can tell the visitor
    /// at once; the start itself checks everything again.
    pub fn check(&self, request: &CallbackRequest) -> Result<Destination, Error> {
        let guard = &self.inner.guard;
        if let Some(key) = request.idempotency_key()
            && guard.peek_key(key, &request.fingerprint())?
        {
            return Ok(Destination::of(request));
        }
        guard.check_policy(request)?;
        guard.peek_number(request)?;
        Ok(Destination::of(request))
    }

    /// Applies the destination policy and dedupe, paces through the limiter, sends
    /// `voximplant.callback.start`, retries only what is safe.
    pub fn start_callback(&self, request: &CallbackRequest) -> Result<CallbackStarted, Error> {
        self.start(request, None)
    }

    /// Like [`Self::start_callback`], but gives up (with `rate_limited`, nothing sent) when
    /// `cancel` is cancelled while the call still waits for the limiter or a back-off. Once the
    /// request is on the wire, cancellation has no effect.
    pub fn start_callback_cancellable(
        &self,
        request: &CallbackRequest,
        cancel: &CancelToken,
    ) -> Result<CallbackStarted, Error> {
        self.start(request, Some(cancel))
    }

    /// `voximplant.line.get`, sorted by id.
    pub fn lines(&self) -> Result<Vec<Line>, Error> {
        let ok = self.read("voximplant.line.get", "{}")?;
        Ok(crate::records::lines_from(&ok.result))
    }

    /// `voximplant.tts.voices.get`, sorted by id.
    pub fn voices(&self) -> Result<Vec<Voice>, Error> {
        let ok = self.read("voximplant.tts.voices.get", "{}")?;
        Ok(crate::records::voices_from(&ok.result))
    }

    /// `voximplant.statistic.get` with `FILTER[CALL_ID]`; `None` while the call is not finished.
    pub fn call_record(&self, call_id: &str) -> Result<Option<CallRecord>, Error> {
        let id = call_id.trim();
        if id.is_empty() || id.len() > 200 || id.chars().any(char::is_control) {
            return Err(Error::invalid(vec![Violation {
                field: "call_id".into(),
                code: "invalid".into(),
                message: "must be a non-empty CALL_ID without control characters".into(),
            }]));
        }
        let payload = serde_json::json!({ "FILTER": { "CALL_ID": id } }).to_string();
        let ok = self.read("voximplant.statistic.get", &payload)?;
        Ok(crate::records::record_from(&ok.result, id))
    }

    /// Polls [`Self::call_record`] until the record appears or `timeout` passes (`Ok(None)`).
    ///
    /// Polls start after 0.5 s and back off to one every 5 s. A poll that fails transiently
    /// (`rate_limited`, `transport`, `outcome_unknown`: reading is harmless) is retried at the
    /// next interval; any other error ends the wait.
    pub fn wait_for_outcome(
        &self,
        call_id: &str,
        timeout: Duration,
    ) -> Result<Option<CallRecord>, Error> {
        let until = instant_after(Instant::now(), timeout);
        let mut interval = Duration::from_millis(500);
        loop {
            match self.call_record(call_id) {
                Ok(Some(r)) => return Ok(Some(r)),
                Ok(None) => {}
                Err(e)
                    if matches!(
                        e.code(),
                        ErrorCode::RateLimited | ErrorCode::Transport | ErrorCode::OutcomeUnknown
                    ) =>
                {
                    log::debug!("wait_for_outcome: poll failed ({}), polling on", e.code());
                }
                Err(e) => return Err(e),
            }
            let now = Instant::now();
            if now >= until {
                return Ok(None);
            }
            std::thread::sleep(interval.min(until - now));
            interval = (interval.mul_f64(1.5)).min(Duration::from_secs(5));
        }
    }

    /// The bound of one call (limiter waits and retries included), as configured.
    pub fn deadline(&self) -> Duration {
        self.inner.deadline
    }

    /// `"webhook"` or `"oauth"`.
    pub fn auth_kind(&self) -> &'static str {
        self.inner.exchange.auth_kind()
    }

    /// The portal base address in use (changes after a 302 rename).
    pub fn portal(&self) -> String {
        self.inner.exchange.portal()
    }

    fn deadline_from_now(&self) -> Instant {
        instant_after(Instant::now(), self.inner.deadline)
    }

    /// A call that only reads (no number, no guard).
    fn read(&self, method: &str, payload: &str) -> Result<crate::response::Success, Error> {
        let call = Call {
            method,
            payload,
            deadline: self.deadline_from_now(),
            cancel: None,
            number: "-",
        };
        self.inner.exchange.call(&call).map(|(ok, _)| ok)
    }

    fn start(
        &self,
        request: &CallbackRequest,
        cancel: Option<&CancelToken>,
    ) -> Result<CallbackStarted, Error> {
        let started_at = Instant::now();
        let deadline = instant_after(started_at, self.inner.deadline);
        let masked = request.masked_number();
        let guard = &self.inner.guard;
        let key = request.idempotency_key();
        // The fingerprint binds a key to its request; without a key nothing reads it (SHA-256
        // over the request is a tenth of the call's own work on loopback).
        let claim = Claim::new(key.map_or([0; 32], |_| request.fingerprint()));
        if let Some(k) = key
            && let Some(first) = guard.begin_key(k, &claim, deadline)?
        {
            log::info!("voximplant.callback.start to {masked}: deduplicated by idempotency key");
            return Ok(first.replayed(started_at));
        }
        // From here on the key (if any) is reserved and must be settled, even if this unwinds.
        let mut reservation = Reservation::new(guard, &claim, key);
        let result = reservation.take_number(request).and_then(|()| {
            #[cfg(feature = "test-hooks")]
            if request.from_line() == crate::TEST_PANIC_LINE {
                panic!("forced by the test hook");
            }
            let body = request.wire_body();
            let call = Call {
                method: "voximplant.callback.start",
                payload: &body,
                deadline,
                cancel,
                number: &masked,
            };
            let (ok, meta) = self.inner.exchange.call(&call)?;
            started_from(ok, meta, started_at)
        });
        reservation.settle(&result);
        match &result {
            Ok(s) => log::info!(
                "voximplant.callback.start to {masked}: started, call_id={}, attempts={}, {} ms",
                s.call_id.as_deref().unwrap_or("(none: REST app line)"),
                s.timing.attempts,
                s.timing.total.as_millis()
            ),
            // An unknown outcome needs a person's attention (the call may ring): a warning.
            Err(e) => log::log!(
                if e.retry_safe() {
                    log::Level::Info
                } else {
                    log::Level::Warn
                },
                "voximplant.callback.start to {masked}: {} (retry_safe={})",
                e.code(),
                e.retry_safe()
            ),
        }
        result
    }
}
