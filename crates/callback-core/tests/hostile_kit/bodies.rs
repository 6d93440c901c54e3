//! Hostile answers, built by hand.

/// A complete HTTP/1.1 answer with `Content-Length`.
pub fn answer(status: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n").into_bytes();
    for h in headers {
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

/// A well-formed success envelope for `voximplant.callback.start`.
pub const STARTED: &str = r#"{"result":{"RESULT":true,"CALL_ID":"hostile-call-1"},"time":{"start":1700000000.0,"finish":1700000000.1,"duration":0.1,"processing":0.05,"operating":0,"operating_reset_at":1700000600}}"#;

/// A 200 envelope whose `result` is `depth` nested arrays (well-formed JSON).
pub fn nested_json(depth: usize) -> Vec<u8> {
    let mut out = br#"{"result":"#.to_vec();
    out.extend(std::iter::repeat_n(b'[', depth));
    out.extend(std::iter::repeat_n(b']', depth));
    out.push(b'}');
    out
}

/// Deflate's bits, least significant first.
struct Bits {
    out: Vec<u8>,
    acc: u32,
    used: u32,
}

impl Bits {
    fn new() -> Bits {
        Bits {
            out: Vec::new(),
            acc: 0,
            used: 0,
        }
    }

    /// A number field (least significant bit first).
    fn put(&mut self, value: u32, count: u32) {
        for i in 0..count {
            self.acc |= ((value >> i) & 1) << self.used;
            self.used += 1;
            if self.used == 8 {
                self.out.push(self.acc as u8);
                self.acc = 0;
                self.used = 0;
            }
        }
    }

    /// A Huffman code (most significant bit first).
    fn code(&mut self, code: u32, len: u32) {
        for i in (0..len).rev() {
            self.put((code >> i) & 1, 1);
        }
    }

    fn zeros(&mut self, mut count: u64) {
        while count > 0 && self.used != 0 {
            self.put(0, 1);
            count -= 1;
        }
        self.out
            .extend(std::iter::repeat_n(0u8, (count / 8) as usize));
        for _ in 0..count % 8 {
            self.put(0, 1);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.used > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// Matches of 258 bytes in the bomb: 1 + 258 * BOMB_MATCHES = 1,073,741,821 bytes inflated.
const BOMB_MATCHES: u64 = 4_161_790;
/// The inflated size.
pub const BOMB_INFLATED: u64 = 1 + 258 * BOMB_MATCHES;
/// CRC-32 of BOMB_INFLATED zero bytes (computed once with zlib), for the gzip trailer.
const BOMB_CRC32: u32 = 0xa1e8_37cf;

/// A gzip member of about 1 MB that inflates to 1 GiB of zeros: one dynamic-Huffman deflate
/// block whose length-258 and distance-1 codes are one bit each, so every 2 bits become 258
/// bytes (deflate's maximum ratio, about 1032:1).
pub fn gzip_bomb() -> Vec<u8> {
    let mut b = Bits::new();
    b.put(1, 1); // BFINAL
    b.put(2, 2); // BTYPE: dynamic Huffman
    b.put(29, 5); // HLIT: 286 literal/length codes (up to 285, length 258)
    b.put(1, 5); // HDIST: 2 distance codes
    b.put(14, 4); // HCLEN: 18 code-length code lengths
    // The code-length alphabet in its transmission order; used: 18 (1 bit), 1 and 2 (2 bits).
    for sym in [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1] {
        let len = match sym {
            18 => 1,
            1 | 2 => 2,
            _ => 0,
        };
        b.put(len, 3);
    }
    // Canonical code-length codes: 18 = 0, 1 = 10, 2 = 11.
    let (len1, len2, zeros) = ((0b10, 2), (0b11, 2), (0b0, 1));
    b.code(len2.0, len2.1); // literal 0: length 2
    b.code(zeros.0, zeros.1);
    b.put(138 - 11, 7); // literals 1..=138: unused
    b.code(zeros.0, zeros.1);
    b.put(117 - 11, 7); // literals 139..=255: unused
    b.code(len2.0, len2.1); // 256 (end of block): length 2
    b.code(zeros.0, zeros.1);
    b.put(28 - 11, 7); // lengths 257..=284: unused
    b.code(len1.0, len1.1); // 285 (length 258): length 1
    b.code(len1.0, len1.1); // distance code 0 (distance 1): length 1
    b.code(len1.0, len1.1); // distance code 1: length 1
    // Canonical literal/length codes: 285 = 0, literal 0 = 10, end of block = 11; distance 1 = 0.
    b.code(0b10, 2); // one literal zero
    b.zeros(2 * BOMB_MATCHES); // then (length 258, distance 1) again and again
    b.code(0b11, 2); // end of block
    let deflate = b.finish();

    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend_from_slice(&deflate);
    out.extend_from_slice(&BOMB_CRC32.to_le_bytes());
    out.extend_from_slice(&(BOMB_INFLATED as u32).to_le_bytes());
    out
}
