//! The floor: one keep-alive TCP connection, the request written by hand in one `write`, the
//! answer read up to its `Content-Length`. No TLS, no JSON parsing, no checks but the status:
//! what a call costs when nothing but the socket is paid for.

use std::io::{self, Read, Write};
use std::net::TcpStream;

pub struct Floor {
    stream: TcpStream,
    host: String,
    path: String,
    buf: Vec<u8>,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl Floor {
    /// `url` is `http://HOST:PORT/PATH` (plain HTTP only).
    pub fn connect(url: &str) -> io::Result<Floor> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| invalid(format!("the floor speaks plain http only: {url}")))?;
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let stream = TcpStream::connect(host)?;
        stream.set_nodelay(true)?;
        Ok(Floor {
            stream,
            host: host.to_owned(),
            path: path.to_owned(),
            buf: Vec::with_capacity(4096),
        })
    }

    /// One POST of `body` as JSON; returns the HTTP status.
    pub fn post(&mut self, body: &str) -> io::Result<u16> {
        let mut req = Vec::with_capacity(256 + body.len());
        write!(
            req,
            "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: b24-bench-floor\r\nAccept: application/json\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.path,
            self.host,
            body.len()
        )?;
        req.extend_from_slice(body.as_bytes());
        self.stream.write_all(&req)?;

        let mut chunk = [0u8; 8192];
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(invalid("connection closed before the answer".into()));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = std::str::from_utf8(&self.buf[..head_end])
            .map_err(|_| invalid("answer head is not UTF-8".into()))?;
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| invalid("no status line".into()))?;
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())
                    .flatten()
            })
            .ok_or_else(|| invalid("the floor needs a Content-Length".into()))?;
        let total = head_end + length;
        while self.buf.len() < total {
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(invalid("connection closed inside the body".into()));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        self.buf.drain(..total);
        Ok(status)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
