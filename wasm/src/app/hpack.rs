//! HPACK (RFC 7541): the header compression of HTTP/2. One Decoder per direction keeps that
//! direction's dynamic table; every header block must go through it in order, or the table and
//! the peer's encoder drift apart. Memory is bounded: the table never outgrows the size the
//! receiver announced in SETTINGS (and never HARD_MAX_TABLE), a block yields at most MAX_FIELDS
//! fields and MAX_DECODED bytes (indexed fields can repeat a large entry many times).

use std::collections::VecDeque;

/// SETTINGS_HEADER_TABLE_SIZE until a SETTINGS frame says otherwise (RFC 9113 6.5.2).
pub const DEFAULT_TABLE: usize = 4096;
/// Largest dynamic table followed, whatever a peer announces.
pub const HARD_MAX_TABLE: usize = 65536;
const MAX_FIELDS: usize = 1024;
const MAX_DECODED: usize = 256 * 1024;
/// Per-entry overhead counted in the table size (RFC 7541 4.1).
const ENTRY_OVERHEAD: usize = 32;

#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    Truncated,
    BadIndex,
    BadInteger,
    BadHuffman,
    TableSize,
    TooMuch,
}

const STATIC: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// Code lengths of the Huffman code (RFC 7541 Appendix B), symbols 0..=256 (256 is EOS). The
/// code is canonical: codes of one length are consecutive in symbol order, so the lengths are
/// all it takes to rebuild it (the tests check the RFC's example strings decode).
const CODE_LENGTHS: [u8; 257] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28,
    28, 28, 28, //
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, //
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, //
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, //
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22,
    23, 23, 24, //
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23,
    22, 22, 23, //
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28,
    27, 27, 27, //
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27,
    27, 27, 26, //
    30,
];

const MAX_CODE: usize = 30;
const EOS: u16 = 256;

/// The canonical code's decoding tables: per length, how many codes, the first code, and where
/// its symbols start in SORTED (symbols ordered by length, then value).
struct Canonical {
    count: [u32; MAX_CODE + 1],
    first: [u32; MAX_CODE + 1],
    start: [u16; MAX_CODE + 1],
    sorted: [u16; 257],
}

const HUFFMAN: Canonical = canonical();

const fn canonical() -> Canonical {
    let mut c =
        Canonical { count: [0; MAX_CODE + 1], first: [0; MAX_CODE + 1], start: [0; MAX_CODE + 1], sorted: [0; 257] };
    let mut s = 0;
    while s < 257 {
        c.count[CODE_LENGTHS[s] as usize] += 1;
        s += 1;
    }
    let (mut code, mut at, mut len) = (0u32, 0u16, 1);
    while len <= MAX_CODE {
        code = (code + c.count[len - 1]) << 1;
        c.first[len] = code;
        c.start[len] = at;
        at += c.count[len] as u16;
        len += 1;
    }
    let mut fill = [0u16; MAX_CODE + 1];
    s = 0;
    while s < 257 {
        let l = CODE_LENGTHS[s] as usize;
        c.sorted[(c.start[l] + fill[l]) as usize] = s as u16;
        fill[l] += 1;
        s += 1;
    }
    c
}

/// Decodes a Huffman string (RFC 7541 5.2): the padding is under 8 bits of ones; EOS is an error.
pub fn huffman(src: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    let h = &HUFFMAN;
    let (mut code, mut len, mut ones) = (0u32, 0usize, true);
    for &byte in src {
        for bit in (0..8).rev() {
            let b = (byte >> bit) as u32 & 1;
            code = (code << 1) | b;
            len += 1;
            ones &= b == 1;
            let offset = code.wrapping_sub(h.first[len]);
            if offset < h.count[len] {
                let sym = h.sorted[(h.start[len] as u32 + offset) as usize];
                if sym == EOS {
                    return Err(Error::BadHuffman);
                }
                out.push(sym as u8);
                (code, len, ones) = (0, 0, true);
            } else if len >= MAX_CODE {
                return Err(Error::BadHuffman);
            }
        }
    }
    if len > 7 || !ones {
        return Err(Error::BadHuffman);
    }
    Ok(())
}

/// An integer with an N-bit prefix (RFC 7541 5.1) at `d[*pos]`; values past 2^28 are refused.
fn integer(d: &[u8], pos: &mut usize, prefix: u8) -> Result<usize, Error> {
    let max = (1usize << prefix) - 1;
    let first = *d.get(*pos).ok_or(Error::Truncated)? as usize & max;
    *pos += 1;
    if first < max {
        return Ok(first);
    }
    let mut value = max;
    let mut shift = 0;
    loop {
        let b = *d.get(*pos).ok_or(Error::Truncated)? as usize;
        *pos += 1;
        if shift > 21 {
            return Err(Error::BadInteger);
        }
        value += (b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
}

fn string(d: &[u8], pos: &mut usize, out: &mut Vec<u8>) -> Result<(), Error> {
    let huff = *d.get(*pos).ok_or(Error::Truncated)? & 0x80 != 0;
    let len = integer(d, pos, 7)?;
    let raw = d.get(*pos..pos.checked_add(len).ok_or(Error::Truncated)?).ok_or(Error::Truncated)?;
    *pos += len;
    out.clear();
    if huff {
        huffman(raw, out)
    } else {
        out.extend_from_slice(raw);
        Ok(())
    }
}

pub struct Decoder {
    /// Newest entry first.
    table: VecDeque<(Vec<u8>, Vec<u8>)>,
    size: usize,
    /// Current maximum, set by the encoder's size updates.
    max: usize,
    /// What the receiver allows (its SETTINGS_HEADER_TABLE_SIZE), capped by HARD_MAX_TABLE.
    pub limit: usize,
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder { table: VecDeque::new(), size: 0, max: DEFAULT_TABLE, limit: DEFAULT_TABLE }
    }
}

impl Decoder {
    /// Decodes a header block, giving each field to `field(name, value)` in order.
    pub fn decode(&mut self, block: &[u8], mut field: impl FnMut(&[u8], &[u8])) -> Result<(), Error> {
        let (mut pos, mut fields, mut decoded) = (0, 0, 0);
        let (mut name, mut value) = (Vec::new(), Vec::new());
        while pos < block.len() {
            let b = block[pos];
            if b & 0xe0 == 0x20 {
                let size = integer(block, &mut pos, 5)?;
                if size > self.limit.min(HARD_MAX_TABLE) {
                    return Err(Error::TableSize);
                }
                self.max = size;
                self.evict(0);
                continue;
            }
            fields += 1;
            if fields > MAX_FIELDS {
                return Err(Error::TooMuch);
            }
            if b & 0x80 != 0 {
                let (n, v) = self.entry(integer(block, &mut pos, 7)?)?;
                decoded += n.len() + v.len();
                if decoded > MAX_DECODED {
                    return Err(Error::TooMuch);
                }
                field(n, v);
                continue;
            }
            let (prefix, indexing) = if b & 0x40 != 0 { (6, true) } else { (4, false) };
            match integer(block, &mut pos, prefix)? {
                0 => string(block, &mut pos, &mut name)?,
                i => {
                    let n = self.entry(i)?.0;
                    name.clear();
                    name.extend_from_slice(n);
                }
            }
            string(block, &mut pos, &mut value)?;
            decoded += name.len() + value.len();
            if decoded > MAX_DECODED {
                return Err(Error::TooMuch);
            }
            field(&name, &value);
            if indexing {
                self.insert(&name, &value);
            }
        }
        Ok(())
    }

    fn entry(&self, index: usize) -> Result<(&[u8], &[u8]), Error> {
        match index {
            0 => Err(Error::BadIndex),
            1..=61 => {
                let (n, v) = STATIC[index - 1];
                Ok((n.as_bytes(), v.as_bytes()))
            }
            _ => self.table.get(index - 62).map(|(n, v)| (&n[..], &v[..])).ok_or(Error::BadIndex),
        }
    }

    /// Adds an entry, evicting the oldest as needed; one larger than the table empties it.
    fn insert(&mut self, name: &[u8], value: &[u8]) {
        let size = name.len() + value.len() + ENTRY_OVERHEAD;
        self.evict(size);
        if size <= self.max {
            self.table.push_front((name.to_vec(), value.to_vec()));
            self.size += size;
        }
    }

    /// Evicts until `room` more bytes fit under the maximum.
    fn evict(&mut self, room: usize) {
        while self.size + room > self.max {
            match self.table.pop_back() {
                Some((n, v)) => self.size -= n.len() + v.len() + ENTRY_OVERHEAD,
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn fields(d: &mut Decoder, block: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        d.decode(&hex(block), |n, v| {
            out.push((String::from_utf8_lossy(n).into_owned(), String::from_utf8_lossy(v).into_owned()))
        })
        .unwrap();
        out
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_code_is_complete() {
        // Kraft's sum of a complete prefix code is exactly 1: a mistyped length breaks it.
        let sum: u64 = CODE_LENGTHS.iter().map(|&l| 1u64 << (MAX_CODE - l as usize)).sum();
        assert_eq!(sum, 1 << MAX_CODE);
    }

    #[test]
    fn integers() {
        // RFC 7541 C.1: 10 and 1337 with a 5-bit prefix, 42 at an octet boundary.
        for (bytes, prefix, v) in [(&[0x0a][..], 5, 10), (&[0x1f, 0x9a, 0x0a], 5, 1337), (&[0x2a], 8, 42)] {
            let mut pos = 0;
            assert_eq!(integer(bytes, &mut pos, prefix), Ok(v));
            assert_eq!(pos, bytes.len());
        }
        let mut pos = 0;
        assert_eq!(integer(&[0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], &mut pos, 5), Err(Error::BadInteger));
        assert_eq!(integer(&[0x1f, 0xff], &mut 0, 5), Err(Error::Truncated));
    }

    /// RFC 7541 C.3 (requests without Huffman) and C.4 (the same with Huffman): three requests
    /// on one connection, the dynamic table carried from one to the next.
    #[test]
    fn rfc_request_examples() {
        for blocks in [
            [
                "828684410f7777772e6578616d706c652e636f6d",
                "828684be58086e6f2d6361636865",
                "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
            ],
            [
                "828684418cf1e3c2e5f23a6ba0ab90f4ff",
                "828684be5886a8eb10649cbf",
                "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
            ],
        ] {
            let mut d = Decoder::default();
            let base = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com")];
            assert_eq!(fields(&mut d, blocks[0]), pairs(&base));
            let mut second = base.to_vec();
            second.push(("cache-control", "no-cache"));
            assert_eq!(fields(&mut d, blocks[1]), pairs(&second));
            assert_eq!(
                fields(&mut d, blocks[2]),
                pairs(&[
                    (":method", "GET"),
                    (":scheme", "https"),
                    (":path", "/index.html"),
                    (":authority", "www.example.com"),
                    ("custom-key", "custom-value")
                ])
            );
            assert_eq!(d.size, 164);
            assert_eq!(d.table[0].0, b"custom-key");
        }
    }

    /// RFC 7541 C.6: responses with Huffman and a 256-byte table, so entries are evicted.
    #[test]
    fn rfc_response_examples_with_eviction() {
        let mut d = Decoder { max: 256, limit: 256, ..Decoder::default() };
        let date1 = ("date", "Mon, 21 Oct 2013 20:13:21 GMT");
        let loc = ("location", "https://www.example.com");
        assert_eq!(
            fields(&mut d, "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3"),
            pairs(&[(":status", "302"), ("cache-control", "private"), date1, loc])
        );
        assert_eq!(d.size, 222);
        assert_eq!(
            fields(&mut d, "4883640effc1c0bf"),
            pairs(&[(":status", "307"), ("cache-control", "private"), date1, loc])
        );
        assert_eq!(d.size, 222);
        assert_eq!(
            fields(
                &mut d,
                "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007"
            ),
            pairs(&[
                (":status", "200"),
                ("cache-control", "private"),
                ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
                loc,
                ("content-encoding", "gzip"),
                ("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"),
            ])
        );
        assert_eq!(d.size, 215);
        assert_eq!(d.table.len(), 3);
    }

    #[test]
    fn hostile_blocks_are_refused() {
        let mut d = Decoder::default();
        let mut none = |_: &[u8], _: &[u8]| {};
        assert_eq!(d.decode(&[0x80], &mut none), Err(Error::BadIndex));
        assert_eq!(d.decode(&[0xbe], &mut none), Err(Error::BadIndex));
        // A size update above what SETTINGS allowed; a literal whose length runs past the block.
        assert_eq!(d.decode(&[0x3f, 0xe2, 0x1f], &mut none), Err(Error::TableSize));
        assert_eq!(d.decode(&[0x40, 0x05, b'a'], &mut none), Err(Error::Truncated));
        // Huffman: padding of zeros, padding of 8 bits, and an explicit EOS.
        let mut out = Vec::new();
        assert_eq!(huffman(&[0x00], &mut out), Err(Error::BadHuffman));
        assert_eq!(huffman(&[0x1f, 0xff], &mut out), Err(Error::BadHuffman));
        assert_eq!(huffman(&[0xff, 0xff, 0xff, 0xfc], &mut out), Err(Error::BadHuffman));
        // One large entry repeated: stopped at MAX_DECODED, not expanded without end.
        let mut block = vec![0x40, 0x01, b'x', 0x7f, 0xa1, 0x1e];
        block.extend(std::iter::repeat(b'v').take(4000));
        block.extend(std::iter::repeat(0xbe).take(200));
        let mut d = Decoder::default();
        assert_eq!(d.decode(&block, &mut none), Err(Error::TooMuch));
    }
}
