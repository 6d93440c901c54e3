//! The plain TCP link under the client, tuned for a few small requests on one kept-alive
//! connection: ureq's own TCP transport sets the socket's timeouts before every read and write
//! (they shrink with the call's deadline, so they always differ) and checks a pooled connection
//! with three system calls. Here a timeout is set only when it moves to another granule, and a
//! pooled connection is checked with one `poll` (on Unix).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Weak};
use std::time::Duration;

use ureq::Error;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, ShutdownHandle,
    Transport,
};

/// Socket timeouts are rounded down to this: a timeout expires at most this much early, and a
/// steady stream of calls sets it once.
const GRANULE: Duration = Duration::from_millis(50);

/// Connects plain TCP (what TLS, when needed, is layered on).
#[derive(Debug, Default)]
pub(crate) struct TcpConnector;

impl<In: Transport> Connector<In> for TcpConnector {
    type Out = Either<In, TcpLink>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, Error> {
        if chained.is_some() {
            // A proxy connector already opened the connection.
            return Ok(chained.map(Either::A));
        }
        let budget = details.timeout.not_zero().map(|d| *d);
        let started = std::time::Instant::now();
        let mut last = None;
        for (i, addr) in details.addrs.iter().enumerate() {
            // Each address gets half of what is left (the last one all of it).
            let left = budget.map(|b| {
                let rest = b.saturating_sub(started.elapsed());
                if i + 1 < details.addrs.len() {
                    rest / 2
                } else {
                    rest
                }
            });
            match connect(*addr, left) {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    let link = TcpLink::new(stream, details);
                    let handle = Arc::downgrade(&link.stream) as Weak<dyn ShutdownHandle>;
                    (details.register_shutdown)(handle)?;
                    return Ok(Some(Either::B(link)));
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            Error::Io(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                "no address to connect to",
            ))
        }))
    }
}

fn connect(addr: SocketAddr, timeout: Option<Duration>) -> Result<TcpStream, Error> {
    let connected = match timeout {
        Some(t) if t.is_zero() => return Err(Error::Timeout(ureq::Timeout::Connect)),
        Some(t) => TcpStream::connect_timeout(&addr, t),
        None => TcpStream::connect(addr),
    };
    connected.map_err(|e| match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            Error::Timeout(ureq::Timeout::Connect)
        }
        _ => Error::Io(e),
    })
}

/// One TCP connection.
pub(crate) struct TcpLink {
    stream: Arc<TcpStream>,
    buffers: LazyBuffers,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

impl std::fmt::Debug for TcpLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpLink").finish_non_exhaustive()
    }
}

/// The socket timeout for what is left of a budget: rounded down to a granule (at least 1 ms).
fn granular(left: Duration) -> Duration {
    let g = GRANULE.as_nanos();
    let n = left.as_nanos() / g * g;
    let rounded = Duration::from_nanos(u64::try_from(n).unwrap_or(u64::MAX));
    if rounded.is_zero() {
        left.max(Duration::from_millis(1))
    } else {
        rounded
    }
}

impl TcpLink {
    fn new(stream: TcpStream, details: &ConnectionDetails) -> TcpLink {
        let config = details.config;
        TcpLink {
            stream: Arc::new(stream),
            buffers: LazyBuffers::new(config.input_buffer_size(), config.output_buffer_size()),
            read_timeout: None,
            write_timeout: None,
        }
    }

    /// Sets a socket timeout when its granule changed. Returns the expiry to report.
    fn timeout(
        stream: &TcpStream,
        current: &mut Option<Duration>,
        next: NextTimeout,
        set: fn(&TcpStream, Option<Duration>) -> io::Result<()>,
    ) -> Result<ureq::Timeout, Error> {
        if next.after.is_zero() {
            return Err(Error::Timeout(next.reason));
        }
        let wanted = next.not_zero().map(|d| granular(*d));
        if wanted != *current {
            set(stream, wanted)?;
            *current = wanted;
        }
        Ok(next.reason)
    }
}

impl Transport for TcpLink {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        let reason = Self::timeout(
            &self.stream,
            &mut self.write_timeout,
            timeout.for_write(),
            TcpStream::set_write_timeout,
        )?;
        let output = &self.buffers.output()[..amount];
        match (&*self.stream).write_all(output) {
            Ok(()) => Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                Err(Error::Timeout(reason))
            }
            Err(e) => Err(Error::Io(e)),
        }
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        let reason = Self::timeout(
            &self.stream,
            &mut self.read_timeout,
            timeout.for_read(),
            TcpStream::set_read_timeout,
        )?;
        let input = self.buffers.input_append_buf();
        let amount = loop {
            match (&*self.stream).read(input) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                    ) =>
                {
                    return Err(Error::Timeout(reason));
                }
                Err(e) => return Err(Error::Io(e)),
            }
        };
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        still_open(&self.stream)
    }
}

/// Whether a pooled connection can carry another request: nothing to read (a kept-alive
/// connection says nothing until asked) and no hang-up.
#[cfg(unix)]
fn still_open(stream: &TcpStream) -> bool {
    use std::os::fd::AsRawFd;
    let mut fds = libc::pollfd {
        fd: stream.as_raw_fd(),
        events: libc::POLLIN | libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout: poll only reads and writes `fds`.
    let ready = unsafe { libc::poll(&mut fds, 1, 0) };
    ready == 0
}

#[cfg(not(unix))]
fn still_open(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let mut probe = [0u8; 1];
    let open = matches!(stream.peek(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
    stream.set_nonblocking(false).is_ok() && open
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_down_to_a_granule() {
        assert_eq!(
            granular(Duration::from_millis(39_987)),
            Duration::from_millis(39_950)
        );
        assert_eq!(
            granular(Duration::from_millis(120)),
            Duration::from_millis(100)
        );
        assert_eq!(
            granular(Duration::from_millis(30)),
            Duration::from_millis(30)
        );
        assert_eq!(
            granular(Duration::from_micros(10)),
            Duration::from_millis(1)
        );
    }

    #[test]
    fn a_connection_the_server_closed_is_not_open() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        assert!(still_open(&client));
        (&server).write_all(b"x").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert!(!still_open(&client), "unexpected bytes");
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        drop(server);
        std::thread::sleep(Duration::from_millis(50));
        assert!(!still_open(&client), "closed by the server");
    }
}
