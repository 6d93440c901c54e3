//! A fixed delay on every packet, for kernels without `sch_netem`: packets that an iptables
//! rule sends to an NFQUEUE are held here for `delay` and then accepted, in arrival order. Run
//! inside the benchmark's own network namespace, with
//! `iptables -A OUTPUT -o lo -j NFQUEUE --queue-num Q --queue-bypass`, every packet on that
//! namespace's loopback (SYN and SYN-ACK included) waits `delay` once: a round trip takes
//! twice `delay`, as on a link with `netem delay` in each direction.
//!
//! Speaks the nfnetlink queue protocol directly (metadata only, no payload copies). Stops when
//! its standard input is closed.

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

const NFNL_SUBSYS_QUEUE: u16 = 3;
const NFQNL_MSG_PACKET: u16 = 0;
const NFQNL_MSG_VERDICT: u16 = 1;
const NFQNL_MSG_CONFIG: u16 = 2;
const NFQA_PACKET_HDR: u16 = 1;
const NFQA_VERDICT_HDR: u16 = 2;
const NFQA_CFG_CMD: u16 = 1;
const NFQA_CFG_PARAMS: u16 = 2;
const NFQNL_CFG_CMD_BIND: u8 = 1;
const NFQNL_COPY_META: u8 = 1;
const NF_ACCEPT: u32 = 1;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;

struct Socket(libc::c_int);

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed once.
        unsafe { libc::close(self.0) };
    }
}

fn last_error(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// One netlink message of the queue subsystem: header, nfgenmsg, then the attributes.
fn message(kind: u16, flags: u16, queue: u16, attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut m = vec![0u8; 16];
    m.extend_from_slice(&[libc::AF_UNSPEC as u8, 0]);
    m.extend_from_slice(&queue.to_be_bytes());
    for (kind, payload) in attrs {
        m.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(payload);
        while !m.len().is_multiple_of(4) {
            m.push(0);
        }
    }
    let len = m.len() as u32;
    m[0..4].copy_from_slice(&len.to_ne_bytes());
    m[4..6].copy_from_slice(&((NFNL_SUBSYS_QUEUE << 8) | kind).to_ne_bytes());
    m[6..8].copy_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
    m
}

impl Socket {
    fn open() -> io::Result<Socket> {
        // SAFETY: plain socket(2)/bind(2) calls on a zeroed sockaddr_nl.
        unsafe {
            let fd = libc::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_NETFILTER);
            if fd < 0 {
                return Err(last_error("netlink socket"));
            }
            let sock = Socket(fd);
            let mut addr: libc::sockaddr_nl = std::mem::zeroed();
            addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
            let rc = libc::bind(
                fd,
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            );
            if rc < 0 {
                return Err(last_error("netlink bind"));
            }
            let one: libc::c_int = 1;
            libc::setsockopt(
                fd,
                libc::SOL_NETLINK,
                libc::NETLINK_NO_ENOBUFS,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
            Ok(sock)
        }
    }

    fn send(&self, msg: &[u8]) -> io::Result<()> {
        // SAFETY: `msg` is a valid buffer of `msg.len()` bytes.
        let n = unsafe { libc::send(self.0, msg.as_ptr().cast(), msg.len(), 0) };
        if n < 0 {
            return Err(last_error("netlink send"));
        }
        Ok(())
    }

    /// One datagram (possibly several messages); `None` when nothing is waiting.
    fn recv<'b>(&self, buf: &'b mut [u8]) -> io::Result<Option<&'b [u8]>> {
        // SAFETY: `buf` is writable for `buf.len()` bytes.
        let n = unsafe {
            libc::recv(
                self.0,
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(last_error("netlink recv")),
            };
        }
        Ok(Some(&buf[..n as usize]))
    }

    /// Sends a configuration message and waits for its acknowledgement.
    fn configure(&self, queue: u16, attr: u16, payload: &[u8]) -> io::Result<()> {
        self.send(&message(
            NFQNL_MSG_CONFIG,
            NLM_F_ACK,
            queue,
            &[(attr, payload)],
        ))?;
        let mut buf = vec![0u8; 8192];
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Some(data) = self.recv(&mut buf)? {
                for (kind, body) in messages(data) {
                    if kind == NLMSG_ERROR && body.len() >= 4 {
                        let code = i32::from_ne_bytes([body[0], body[1], body[2], body[3]]);
                        if code == 0 {
                            return Ok(());
                        }
                        return Err(io::Error::other(format!(
                            "nfqueue configuration refused: {}",
                            io::Error::from_raw_os_error(-code)
                        )));
                    }
                }
            } else {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        Err(io::Error::other("no answer to the nfqueue configuration"))
    }
}

/// The messages of one datagram as (type, body after the netlink header).
fn messages(mut data: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while data.len() >= 16 {
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        if len < 16 || len > data.len() {
            break;
        }
        let kind = u16::from_ne_bytes([data[4], data[5]]);
        out.push((kind, &data[16..len]));
        data = &data[((len + 3) & !3).min(data.len())..];
    }
    out
}

/// The packet id of a queued packet message (its body after the netlink header).
fn packet_id(body: &[u8]) -> Option<u32> {
    let mut attrs = body.get(4..)?;
    while attrs.len() >= 4 {
        let len = u16::from_ne_bytes([attrs[0], attrs[1]]) as usize;
        let kind = u16::from_ne_bytes([attrs[2], attrs[3]]) & 0x3fff;
        if len < 4 || len > attrs.len() {
            return None;
        }
        if kind == NFQA_PACKET_HDR && len >= 8 {
            return Some(u32::from_be_bytes([attrs[4], attrs[5], attrs[6], attrs[7]]));
        }
        attrs = &attrs[((len + 3) & !3).min(attrs.len())..];
    }
    None
}

/// Holds every packet of `queue` for `delay`, until standard input is closed.
pub fn run(queue: u16, delay: Duration) -> io::Result<u64> {
    let sock = Socket::open()?;
    sock.configure(queue, NFQA_CFG_CMD, &[NFQNL_CFG_CMD_BIND, 0, 0, 0])?;
    let mut params = 0u32.to_be_bytes().to_vec();
    params.push(NFQNL_COPY_META);
    sock.configure(queue, NFQA_CFG_PARAMS, &params)?;
    println!("ready");
    use std::io::Write;
    io::stdout().flush()?;

    let mut held: VecDeque<(Instant, u32)> = VecDeque::new();
    let mut buf = vec![0u8; 65536];
    let mut released = 0u64;
    loop {
        let timeout = held
            .front()
            .map(|(due, _)| due.saturating_duration_since(Instant::now()));
        let ts = timeout.map(|t| libc::timespec {
            tv_sec: t.as_secs() as libc::time_t,
            tv_nsec: t.subsec_nanos() as libc::c_long,
        });
        let mut fds = [
            libc::pollfd {
                fd: sock.0,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: 0,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfds; the timespec (if any) lives across the call.
        let rc = unsafe {
            libc::ppoll(
                fds.as_mut_ptr(),
                2,
                ts.as_ref()
                    .map_or(std::ptr::null(), |t| t as *const libc::timespec),
                std::ptr::null(),
            )
        };
        if rc < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return Err(last_error("ppoll"));
        }
        if fds[1].revents != 0 {
            // Standard input readable means closed (or a byte from the harness): stop, and
            // let every held packet go first.
            for (_, id) in held.drain(..) {
                verdict(&sock, queue, id)?;
            }
            return Ok(released);
        }
        if fds[0].revents & libc::POLLIN != 0 {
            while let Some(data) = sock.recv(&mut buf)? {
                let now = Instant::now();
                for (kind, body) in messages(data) {
                    if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET
                        && let Some(id) = packet_id(body)
                    {
                        held.push_back((now + delay, id));
                    }
                }
            }
        }
        let now = Instant::now();
        while held.front().is_some_and(|(due, _)| *due <= now) {
            let (_, id) = held.pop_front().expect("checked above");
            verdict(&sock, queue, id)?;
            released += 1;
        }
    }
}

fn verdict(sock: &Socket, queue: u16, id: u32) -> io::Result<()> {
    let mut hdr = NF_ACCEPT.to_be_bytes().to_vec();
    hdr.extend_from_slice(&id.to_be_bytes());
    sock.send(&message(
        NFQNL_MSG_VERDICT,
        0,
        queue,
        &[(NFQA_VERDICT_HDR, &hdr)],
    ))
}
