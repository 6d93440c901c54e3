//! The HTTP layer: one ureq agent per client, and the single place where `ureq::Error` is
//! turned into the crate's [`Error`].
//!
//! Whether a failed exchange may have reached the portal is decided from facts, not guessed
//! from error texts: the connector chain ends with a thin transport wrapper that notes, per
//! thread, when the first byte of an HTTP request is handed to the socket. Failures before that
//! (DNS, TCP connect, TLS handshake) are `transport` (nothing was sent); failures after it are
//! `outcome_unknown`.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, NextTimeout, RustlsConnector,
    Transport,
};

use crate::error::{Error, ErrorCode};

/// Response bodies longer than this are not read further (and the answer is not trusted).
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;

thread_local! {
    /// Set when this thread's current exchange handed request bytes to a socket.
    static REQUEST_BYTES_SENT: Cell<bool> = const { Cell::new(false) };
}

/// The last connector of the chain: wraps whatever transport the default chain produced.
#[derive(Debug)]
struct MarkSent;

impl<In: Transport> Connector<In> for MarkSent {
    type Out = SentMarker<In>;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|inner| SentMarker {
            inner,
            held: Vec::new(),
        }))
    }
}

/// Notes when request bytes reach the link, and sends a POST's head together with its body:
/// ureq hands them over separately, which would cost a write (and a TLS record) each.
#[derive(Debug)]
struct SentMarker<T> {
    inner: T,
    /// A request head waiting for its body.
    held: Vec<u8>,
}

/// A complete POST head, whose body follows.
fn is_post_head(bytes: &[u8]) -> bool {
    bytes.starts_with(b"POST ") && bytes.ends_with(b"\r\n\r\n")
}

impl<T: Transport> SentMarker<T> {
    /// Writes `held` ahead of the `amount` bytes already in the output buffer.
    fn send_with_held(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let held = std::mem::take(&mut self.held);
        let buf = self.inner.buffers().output();
        if held.len() + amount <= buf.len() {
            buf.copy_within(..amount, held.len());
            buf[..held.len()].copy_from_slice(&held);
            return self.inner.transmit_output(held.len() + amount, timeout);
        }
        // Too big for one buffer: the head first, then what came after it.
        let after = buf[..amount].to_vec();
        buf[..held.len()].copy_from_slice(&held);
        self.inner.transmit_output(held.len(), timeout)?;
        self.inner.buffers().output()[..amount].copy_from_slice(&after);
        self.inner.transmit_output(amount, timeout)
    }
}

impl<T: Transport> Transport for SentMarker<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if amount == 0 {
            return self.inner.transmit_output(0, timeout);
        }
        if self.held.is_empty() && is_post_head(&self.inner.buffers().output()[..amount]) {
            let head = self.inner.buffers().output()[..amount].to_vec();
            self.held = head;
            return Ok(());
        }
        // Noted before writing: a partial write may already be enough for the server.
        REQUEST_BYTES_SENT.with(|c| c.set(true));
        if self.held.is_empty() {
            self.inner.transmit_output(amount, timeout)
        } else {
            self.send_with_held(amount, timeout)
        }
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        if !self.held.is_empty() {
            // A head without a body (nothing came after it): it goes out on its own.
            REQUEST_BYTES_SENT.with(|c| c.set(true));
            self.send_with_held(0, timeout)?;
        }
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

/// How long a resolved host name is reused before it is looked up again.
const RESOLVED_FOR: Duration = Duration::from_secs(60);

/// Finds the portal's addresses without a thread per request: an IP address needs no lookup at
/// all, and a host name is looked up (by ureq's resolver, on a helper thread that enforces the
/// connect timeout) at most once a minute. ureq resolves before it looks for a pooled
/// connection, so without this every request would pay for a lookup and a thread.
#[derive(Debug, Default)]
struct CachingResolver {
    lookup: DefaultResolver,
    cache: std::sync::Mutex<std::collections::HashMap<String, (ResolvedSocketAddrs, Instant)>>,
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let (Some(authority), Some(scheme)) = (uri.authority(), uri.scheme_str()) else {
            return self.lookup.resolve(uri, config, timeout);
        };
        let port = authority
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        let host = authority.host();
        if let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
        {
            let mut addrs = self.empty();
            addrs.push(std::net::SocketAddr::new(ip, port));
            return Ok(addrs);
        }
        let key = format!("{host}:{port}");
        let now = Instant::now();
        {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((addrs, at)) = cache.get(&key)
                && now.duration_since(*at) < RESOLVED_FOR
            {
                return Ok(addrs.clone());
            }
        }
        let addrs = self.lookup.resolve(uri, config, timeout)?;
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, (addrs.clone(), now));
        Ok(addrs)
    }
}

/// What is known about a failed exchange, for the retry decision: a fact from the socket and
/// the TLS layer, never read back from an error text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// No request byte reached a socket (name resolution, TCP connect, connect timeout): a
    /// retry may succeed and cannot ring anybody.
    NotSent,
    /// The TLS handshake was refused (certificate, protocol): nothing was sent, and sending
    /// again cannot help.
    TlsRefused,
    /// Request bytes were written before the failure: the portal may have executed it.
    MaybeExecuted,
}

/// A failed exchange: the error to report and the fact the retry decision uses.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) kind: FailureKind,
    pub(crate) error: Error,
}

/// What a request carries.
pub(crate) enum Body<'a> {
    Json(&'a [u8]),
    Form(&'a str),
}

/// A complete answer (any status).
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    /// The `Location` header of a redirect.
    pub(crate) location: Option<String>,
}

pub(crate) struct HttpTransport {
    agent: ureq::Agent,
    user_agent: String,
    connect_timeout: Duration,
    timeout: Duration,
}

impl fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTransport")
            .field("user_agent", &self.user_agent)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Extra trusted roots, parsed from PEM before a client is built.
#[derive(Clone, Default)]
pub(crate) struct ExtraRoots(Vec<Certificate<'static>>);

impl ExtraRoots {
    /// Parses each PEM text (each must hold at least one certificate). On failure: the index
    /// of every unusable text with its violation code (`unparsable`, `no_certificate`).
    pub(crate) fn parse(pems: &[Vec<u8>]) -> Result<ExtraRoots, Vec<(usize, &'static str)>> {
        let mut out = Vec::new();
        let mut refused = Vec::new();
        for (i, pem) in pems.iter().enumerate() {
            let mut found = 0;
            let mut broken = false;
            for item in ureq::tls::parse_pem(pem) {
                match item {
                    Ok(PemItem::Certificate(c)) => {
                        found += 1;
                        out.push(c);
                    }
                    Ok(_) => {}
                    Err(_) => broken = true,
                }
            }
            if broken {
                refused.push((i, "unparsable"));
            } else if found == 0 {
                refused.push((i, "no_certificate"));
            }
        }
        if refused.is_empty() {
            Ok(ExtraRoots(out))
        } else {
            Err(refused)
        }
    }
}

impl HttpTransport {
    pub(crate) fn new(
        connect_timeout: Duration,
        timeout: Duration,
        extra_roots: ExtraRoots,
        user_agent: String,
    ) -> HttpTransport {
        let roots = if extra_roots.0.is_empty() {
            RootCerts::WebPki
        } else {
            // Mozilla's roots (as full certificates) plus the caller's extras: the extras add
            // trust, they never replace the public roots.
            let mut all: Vec<Certificate<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|der| Certificate::from_der(der.as_ref()).to_owned())
                .collect();
            all.extend(extra_roots.0);
            RootCerts::Specific(Arc::new(all))
        };
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .https_only(false)
            .timeout_global(Some(timeout))
            .timeout_resolve(Some(connect_timeout))
            .timeout_connect(Some(connect_timeout))
            .user_agent(user_agent.as_str())
            .accept("application/json")
            .tls_config(TlsConfig::builder().root_certs(roots).build())
            .build();
        let connector =
            ().chain(ConnectProxyConnector::default())
                .chain(crate::tcp::TcpConnector)
                .chain(RustlsConnector::default())
                .chain(MarkSent);
        let agent = ureq::Agent::with_parts(config, connector, CachingResolver::default());
        HttpTransport {
            agent,
            user_agent,
            connect_timeout,
            timeout,
        }
    }

    /// One POST. `remaining` is what is left of the caller's deadline.
    pub(crate) fn post(
        &self,
        url: &str,
        body: Body<'_>,
        remaining: Duration,
    ) -> Result<RawResponse, Box<Failure>> {
        let started = Instant::now();
        REQUEST_BYTES_SENT.with(|c| c.set(false));
        let mut req = self.agent.post(url);
        if remaining < self.timeout {
            // Only near the deadline: a request-level config makes ureq rebuild its TLS setup.
            let cap = remaining.max(Duration::from_millis(1));
            req = req
                .config()
                .timeout_global(Some(cap))
                .timeout_connect(Some(self.connect_timeout.min(cap)))
                .timeout_resolve(Some(self.connect_timeout.min(cap)))
                .build();
        }
        let result = match body {
            Body::Json(bytes) => req.header("Content-Type", "application/json").send(bytes),
            Body::Form(text) => req
                .header("Content-Type", "application/x-www-form-urlencoded")
                .send(text.as_bytes()),
        };
        let mut response = match result {
            Ok(r) => r,
            Err(e) => return Err(map_ureq_error(e, sent_flag(), started.elapsed())),
        };
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES as u64)
            .read_to_vec()
            .map_err(|e| {
                let mut failure = map_ureq_error(e, true, started.elapsed());
                failure.error = failure.error.with_http_status(Some(status));
                failure
            })?;
        Ok(RawResponse {
            status,
            body,
            location,
        })
    }
}

fn sent_flag() -> bool {
    REQUEST_BYTES_SENT.with(Cell::get)
}

/// The only place `ureq::Error` is looked at. `sent` says whether request bytes reached a
/// socket during this exchange.
fn map_ureq_error(e: ureq::Error, sent: bool, elapsed: Duration) -> Box<Failure> {
    use ureq::Error as U;
    let ms = elapsed.as_millis();
    let (kind, error) = match e {
        U::BodyExceedsLimit(_) => (
            FailureKind::MaybeExecuted,
            Error::new(
                ErrorCode::OutcomeUnknown,
                format!(
                    "the portal's answer is larger than {MAX_BODY_BYTES} bytes; the request may \
                     have been executed"
                ),
            ),
        ),
        U::HostNotFound => (
            FailureKind::NotSent,
            Error::new(
                ErrorCode::Transport,
                "could not resolve the portal's host name; nothing was sent",
            ),
        ),
        U::Timeout(t) if !sent => (
            FailureKind::NotSent,
            Error::new(
                ErrorCode::Transport,
                format!(
                    "timed out connecting to the portal ({t:?}, after {ms} ms); nothing was sent"
                ),
            ),
        ),
        U::Timeout(t) => (
            FailureKind::MaybeExecuted,
            Error::new(
                ErrorCode::OutcomeUnknown,
                format!(
                    "no answer from the portal before the timeout ({t:?}, after {ms} ms); the \
                     request may have been executed"
                ),
            ),
        ),
        other if !sent => {
            let kind = if tls_refusal(&other) {
                FailureKind::TlsRefused
            } else {
                FailureKind::NotSent
            };
            (
                kind,
                Error::new(
                    ErrorCode::Transport,
                    format!(
                        "could not reach the portal ({}); nothing was sent",
                        describe(&other, kind)
                    ),
                ),
            )
        }
        other => (
            FailureKind::MaybeExecuted,
            Error::new(
                ErrorCode::OutcomeUnknown,
                format!(
                    "the connection failed after the request was sent ({}, after {ms} ms); the \
                     request may have been executed",
                    describe(&other, FailureKind::MaybeExecuted)
                ),
            ),
        ),
    };
    Box::new(Failure { kind, error })
}

/// The TLS layer's own error, when the failure came from it (rustls reports a refused
/// handshake as an I/O error wrapping its typed error).
fn rustls_error(e: &ureq::Error) -> Option<&rustls::Error> {
    match e {
        ureq::Error::Rustls(r) => Some(r),
        ureq::Error::Io(io) => io.get_ref()?.downcast_ref::<rustls::Error>(),
        _ => None,
    }
}

/// True when the TLS handshake itself was refused (a certificate the roots do not vouch for,
/// an alert from the server, no common protocol): facts that a second attempt cannot change.
fn tls_refusal(e: &ureq::Error) -> bool {
    matches!(e, ureq::Error::Tls(_) | ureq::Error::Pem(_)) || rustls_error(e).is_some()
}

/// A short, secret-free description of a ureq error (never the URL).
fn describe(e: &ureq::Error, kind: FailureKind) -> String {
    use ureq::Error as U;
    if kind == FailureKind::TlsRefused {
        let detail = rustls_error(e)
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        return crate::redact::sanitize_text(&format!(
            "TLS handshake failed{detail}; if the portal uses a private CA, add it with \
             add_root_certificate_pem"
        ));
    }
    match e {
        U::Io(io) => {
            let inner = io.get_ref().map(|i| format!(": {i}")).unwrap_or_default();
            crate::redact::sanitize_text(&format!("I/O error {:?}{inner}", io.kind()))
        }
        U::ConnectionFailed => "connection failed".into(),
        U::Tls(m) => format!("TLS handshake failed: {m}"),
        U::Rustls(r) => crate::redact::sanitize_text(&format!("TLS handshake failed: {r}")),
        U::Pem(_) => "TLS handshake failed: bad PEM".into(),
        U::Protocol(p) => crate::redact::sanitize_text(&format!("HTTP protocol error: {p}")),
        U::LargeResponseHeader(_, _) => "response header too large".into(),
        U::Decompress(_, _) => "could not decompress the answer".into(),
        U::BadUri(_) => "bad URL".into(),
        U::RequireHttpsOnly(_) => "https required".into(),
        U::TlsRequired => "TLS required".into(),
        U::BodyStalled => "the answer stalled".into(),
        other => {
            // Other variants carry no URL; keep only the variant's own text, cleaned.
            crate::redact::sanitize_text(&other.to_string())
        }
    }
}
