//! A misbehaving server on loopback: plain TCP or TLS (rustls), one thread per connection,
//! and counters the cases assert on (connections accepted, complete requests read, bytes
//! written).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// The webhook path every case uses (user 1, a made-up secret).
pub const REST_PATH: &str = "/rest/1/hostile0secret42/";

/// What a server saw.
#[derive(Default)]
pub struct Counters {
    pub connections: AtomicUsize,
    pub requests: AtomicUsize,
    pub bytes_out: AtomicU64,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// One accepted connection, after a complete request was read from it.
pub struct Conn {
    stream: Stream,
    counters: Arc<Counters>,
    /// The request target of the request just read (`/rest/...`).
    pub path: String,
}

impl Conn {
    /// Writes all of `bytes` (counted as they go out).
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        for piece in bytes.chunks(64 * 1024) {
            self.stream.write_all(piece)?;
            self.counters
                .bytes_out
                .fetch_add(piece.len() as u64, Ordering::Relaxed);
        }
        self.stream.flush()
    }

    /// Writes `bytes` one byte at a time, pausing `every` before each.
    pub fn trickle(&mut self, bytes: &[u8], every: Duration) -> io::Result<()> {
        for b in bytes {
            thread::sleep(every);
            self.send(std::slice::from_ref(b))?;
        }
        Ok(())
    }

    /// Ends the connection with a TCP reset (SO_LINGER 0, then close) instead of a FIN.
    pub fn reset(self) {
        let fd = std::os::fd::AsRawFd::as_raw_fd(self.stream.tcp());
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: a valid socket descriptor owned by `self`, and a properly sized option.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "SO_LINGER");
        drop(self);
    }
}

/// What the server does with each complete request: `Ok(Some(conn))` to read the next request
/// on the same connection, `Ok(None)` or an error to close it.
pub type Behaviour = dyn Fn(Conn) -> io::Result<Option<Conn>> + Send + Sync;

pub struct Server {
    addr: SocketAddr,
    tls: bool,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Plain HTTP.
    pub fn plain(
        behaviour: impl Fn(Conn) -> io::Result<Option<Conn>> + Send + Sync + 'static,
    ) -> Server {
        Server::start(None, Arc::new(behaviour))
    }

    /// HTTPS with the given certificate chain and key.
    pub fn tls(
        config: Arc<ServerConfig>,
        behaviour: impl Fn(Conn) -> io::Result<Option<Conn>> + Send + Sync + 'static,
    ) -> Server {
        Server::start(Some(config), Arc::new(behaviour))
    }

    fn start(tls: Option<Arc<ServerConfig>>, behaviour: Arc<Behaviour>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let server = Server {
            addr,
            tls: tls.is_some(),
            counters: counters.clone(),
            stop: stop.clone(),
        };
        thread::spawn(move || {
            for tcp in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(tcp) = tcp else { continue };
                counters.connections.fetch_add(1, Ordering::SeqCst);
                let (tls, behaviour, counters) = (tls.clone(), behaviour.clone(), counters.clone());
                thread::spawn(move || serve(tcp, tls, &*behaviour, counters));
            }
        });
        server
    }

    /// `http://127.0.0.1:PORT` or `https://...`.
    pub fn base(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.addr.port())
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The incoming-webhook address a client is given.
    pub fn webhook(&self) -> String {
        format!("{}{REST_PATH}", self.base())
    }

    pub fn connections(&self) -> usize {
        self.counters.connections.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> usize {
        self.counters.requests.load(Ordering::SeqCst)
    }

    pub fn bytes_out(&self) -> u64 {
        self.counters.bytes_out.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn serve(
    tcp: TcpStream,
    tls: Option<Arc<ServerConfig>>,
    behaviour: &Behaviour,
    counters: Arc<Counters>,
) {
    // A bound on every stuck read or write: the client's process exits long before.
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = tcp.set_write_timeout(Some(Duration::from_secs(30)));
    let _ = tcp.set_nodelay(true);
    let stream = match tls {
        None => Stream::Plain(tcp),
        Some(config) => {
            let Ok(conn) = ServerConnection::new(config) else {
                return;
            };
            Stream::Tls(Box::new(StreamOwned::new(conn, tcp)))
        }
    };
    let mut conn = Conn {
        stream,
        counters,
        path: String::new(),
    };
    loop {
        match read_request(&mut conn.stream) {
            Ok(path) => conn.path = path,
            Err(_) => return,
        }
        conn.counters.requests.fetch_add(1, Ordering::SeqCst);
        match behaviour(conn) {
            Ok(Some(next)) => conn = next,
            _ => return,
        }
    }
}

/// Reads one request head and its `Content-Length` body, returning the request target; an error
/// when the connection ends (or the TLS handshake fails) first.
fn read_request(stream: &mut Stream) -> io::Result<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 64 * 1024 {
            return Err(io::Error::other("request head too large"));
        }
        if stream.read(&mut byte)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body)?;
    let original = String::from_utf8_lossy(&head);
    Ok(original.split(' ').nth(1).unwrap_or_default().to_owned())
}

/// A certificate authority generated for one case.
pub struct Authority {
    pub ca_pem: String,
    ca_der: rustls::pki_types::CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

impl Authority {
    pub fn new(name: &str) -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Authority {
            ca_pem: cert.pem(),
            ca_der: cert.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server configuration presenting a leaf for `names`, valid now or expired since 2021.
    pub fn server_config(&self, names: &[&str], expired: bool) -> Arc<ServerConfig> {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, names.first().copied().unwrap_or("leaf"));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let leaf = params.signed_by(&key, &self.issuer).unwrap();
        let chain = vec![leaf.der().clone(), self.ca_der.clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}
