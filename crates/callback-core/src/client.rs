//! The blocking client.
//!
//! SKELETON: signatures are the contract; the bodies are being filled in.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::{Auth, TokenPair, TokenStore};
use crate::error::{Error, ErrorCode};
use crate::records::{CallRecord, Line, Voice};
use crate::request::{CallbackRequest, CallbackRequestBuilder};

/// Client-side pacing that mirrors the portal's leaky bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateLimit {
    /// Burst 50, drains 2 per second (every plan but Enterprise).
    Standard,
    /// Burst 250, drains 5 per second.
    Enterprise,
    Custom {
        burst: u32,
        per_second: f64,
    },
    Off,
}

/// Which destinations the client refuses before any network traffic (`destination_blocked`).
#[derive(Debug, Clone, PartialEq)]
pub struct DestinationPolicy {
    /// ISO 3166 alpha-2 regions the business serves (`["GB", "DE"]`); empty = any region.
    pub allowed_regions: Vec<String>,
    /// Refuse premium-rate, shared-cost and personal numbers (toll fraud). Default `true`.
    pub block_costly_numbers: bool,
    /// A number that was called is refused for this long (a bot hammering one number, a
    /// double click). Default 60 s; zero turns it off.
    pub number_cooldown: Duration,
}

impl Default for DestinationPolicy {
    fn default() -> Self {
        DestinationPolicy {
            allowed_regions: Vec::new(),
            block_costly_numbers: true,
            number_cooldown: Duration::from_secs(60),
        }
    }
}

/// Time spent, as measured by the client and as reported by the portal.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Timing {
    /// From `start_callback` entry to return.
    pub total: Duration,
    /// Time waited for the local rate limiter.
    pub limiter_wait: Duration,
    /// HTTP requests sent for this call (retries, refresh resends and rename re-POSTs included).
    pub attempts: u32,
    /// The portal's own `time` object of the successful answer.
    pub portal: Option<PortalTime>,
}

/// Bitrix24's `time` object; every field is optional (the set varies by portal).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PortalTime {
    pub start: Option<f64>,
    pub finish: Option<f64>,
    pub duration: Option<f64>,
    pub processing: Option<f64>,
    pub date_start: Option<String>,
    pub date_finish: Option<String>,
    pub operating: Option<f64>,
    pub operating_reset_at: Option<i64>,
}

/// A callback the portal accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct CallbackStarted {
    /// `None` for lines owned by a telephony REST application.
    pub call_id: Option<String>,
    /// True when this is the remembered answer to an earlier call with the same idempotency key;
    /// the portal was not called again.
    pub deduplicated: bool,
    pub timing: Timing,
    /// Set when the portal answered 302 (renamed) and the call went to the new address.
    pub portal_moved_to: Option<String>,
}

/// Cancels a call that is still waiting (limiter, back-off). Clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct CancelToken {
    flag: Arc<std::sync::atomic::AtomicBool>,
}

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }
    pub fn cancel(&self) {
        self.flag.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Builds a [`Client`]. Every option has a safe default.
#[derive(Clone)]
pub struct ClientBuilder {
    pub(crate) auth: Auth,
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) deadline: Duration,
    pub(crate) rate_limit: RateLimit,
    pub(crate) root_certificates_pem: Vec<Vec<u8>>,
    pub(crate) user_agent_suffix: Option<String>,
    pub(crate) default_region: Option<String>,
    pub(crate) allow_unknown_voice: bool,
    pub(crate) destination_policy: DestinationPolicy,
    pub(crate) dedupe_window: Duration,
    pub(crate) token_store: Option<TokenStore>,
}

impl ClientBuilder {
    /// TCP connect (and TLS handshake) bound. Default 10 s.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }
    /// Bound of one HTTP exchange. Default 40 s (the portal itself waits up to 30 s for its
    /// telephony controller).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }
    /// Bound of one `start_callback`/`lines`/... call including limiter waits and retries.
    /// Default 60 s.
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = d;
        self
    }
    pub fn rate_limit(mut self, r: RateLimit) -> Self {
        self.rate_limit = r;
        self
    }
    /// Trust an extra root certificate (PEM; may hold several), e.g. a corporate proxy or the
    /// fake portal's CA.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates_pem.push(pem.into());
        self
    }
    /// Appended to the `User-Agent` (`bitrix24-callback/0.1.0 (rust) <suffix>`); bindings put
    /// their language and version here.
    pub fn user_agent_suffix(mut self, s: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(s.into());
        self
    }
    /// Region for numbers written without `+` (used by [`Client::request`]).
    pub fn default_region(mut self, r: impl Into<String>) -> Self {
        self.default_region = Some(r.into());
        self
    }
    pub fn allow_unknown_voice(mut self, allow: bool) -> Self {
        self.allow_unknown_voice = allow;
        self
    }
    pub fn destination_policy(mut self, p: DestinationPolicy) -> Self {
        self.destination_policy = p;
        self
    }
    /// How long an idempotency key is remembered. Default 10 minutes.
    pub fn dedupe_window(mut self, d: Duration) -> Self {
        self.dedupe_window = d;
        self
    }
    /// Called with each rotated OAuth pair before it is used.
    pub fn token_store(mut self, store: TokenStore) -> Self {
        self.token_store = Some(store);
        self
    }
    /// Convenience for [`Self::token_store`].
    pub fn on_tokens(
        self,
        f: impl Fn(&TokenPair) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.token_store(Arc::new(f))
    }
    /// Checks the options (certificates parse, timeouts non-zero, ...) and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        Err(Error::new(ErrorCode::InvalidRequest, "skeleton"))
    }
}

/// The blocking client: `Send + Sync`, cheap to clone (clones share the connection pool, the
/// rate limiter, the token state and the dedupe memory).
#[derive(Clone)]
pub struct Client {
    #[allow(dead_code)]
    pub(crate) inner: Arc<()>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    pub fn builder(auth: Auth) -> ClientBuilder {
        ClientBuilder {
            auth,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(40),
            deadline: Duration::from_secs(60),
            rate_limit: RateLimit::Standard,
            root_certificates_pem: Vec::new(),
            user_agent_suffix: None,
            default_region: None,
            allow_unknown_voice: false,
            destination_policy: DestinationPolicy::default(),
            dedupe_window: Duration::from_secs(600),
            token_store: None,
        }
    }

    /// A request builder preloaded with this client's validation rules (default region,
    /// unknown voices).
    pub fn request(&self) -> CallbackRequestBuilder {
        CallbackRequestBuilder::default()
    }

    /// Applies the destination policy and dedupe, paces through the limiter, sends
    /// `voximplant.callback.start`, retries only what is safe.
    pub fn start_callback(&self, request: &CallbackRequest) -> Result<CallbackStarted, Error> {
        let _ = request;
        Err(Error::new(ErrorCode::Transport, "skeleton"))
    }

    /// Like [`Self::start_callback`], but gives up (with `rate_limited`, nothing sent) when
    /// `cancel` is cancelled while the call still waits for the limiter or a back-off. Once the
    /// request is on the wire, cancellation has no effect.
    pub fn start_callback_cancellable(
        &self,
        request: &CallbackRequest,
        cancel: &CancelToken,
    ) -> Result<CallbackStarted, Error> {
        let _ = (request, cancel);
        Err(Error::new(ErrorCode::Transport, "skeleton"))
    }

    /// `voximplant.line.get`, sorted by id.
    pub fn lines(&self) -> Result<Vec<Line>, Error> {
        Err(Error::new(ErrorCode::Transport, "skeleton"))
    }

    /// `voximplant.tts.voices.get`, sorted by id.
    pub fn voices(&self) -> Result<Vec<Voice>, Error> {
        Err(Error::new(ErrorCode::Transport, "skeleton"))
    }

    /// `voximplant.statistic.get` with `FILTER[CALL_ID]`; `None` while the call is not finished.
    pub fn call_record(&self, call_id: &str) -> Result<Option<CallRecord>, Error> {
        let _ = call_id;
        Err(Error::new(ErrorCode::Transport, "skeleton"))
    }

    /// Polls [`Self::call_record`] until the record appears or `timeout` passes (`Ok(None)`).
    pub fn wait_for_outcome(
        &self,
        call_id: &str,
        timeout: Duration,
    ) -> Result<Option<CallRecord>, Error> {
        let _ = (call_id, timeout);
        Err(Error::new(ErrorCode::Transport, "skeleton"))
    }

    /// The portal base address in use (changes after a 302 rename).
    pub fn portal(&self) -> String {
        String::new()
    }
}
