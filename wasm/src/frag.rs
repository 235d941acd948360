//! IP fragment reassembly, as Zeek does it before anything reads past the IP header (its
//! FragReassembler): a datagram's fragments are kept until they cover it, then the datagram is
//! rebuilt (the first fragment's header, its length fields rewritten) and decoded once, so a
//! fragmented tunnel datagram is decapsulated whole. Overlaps keep the bytes that came first.
//! Memory is bounded: at most `MAX_PENDING` datagrams, `MAX_BYTES` buffered in all,
//! `MAX_PIECES` separate pieces per datagram and 64 KiB per datagram; a datagram still
//! incomplete after `TIMEOUT_NS`, or pushed out by a newer one, is dropped (its fragments stay
//! counted as what they are).

/// Datagrams being reassembled at once.
const MAX_PENDING: usize = 64;
/// Bytes buffered across them (32 maximum-size datagrams).
const MAX_BYTES: usize = 2 << 20;
/// Separate covered ranges per datagram: a flood of tiny disjoint fragments is dropped.
const MAX_PIECES: usize = 64;
/// An IP datagram's payload cannot go past this (the length fields are 16 bits).
const MAX_PAYLOAD: usize = 65_535;
/// Linux's ipfrag_time (Zeek's frag_timeout is unset by default, which a bounded table cannot do).
pub const TIMEOUT_NS: u64 = 30_000_000_000;

/// Which datagram a fragment belongs to (RFC 791 / RFC 8200: addresses, id and, for IPv4, the
/// protocol).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Key {
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub id: u32,
    pub proto: u8,
    pub v6: bool,
}

/// One fragment, as its IP header describes it.
pub struct Fragment<'a> {
    pub key: Key,
    /// The unfragmentable part (the IP header; for IPv6 up to the fragment header).
    pub header: &'a [u8],
    /// For IPv6: where in `header` the next-header byte naming the fragment header is, and the
    /// header that follows the fragment header.
    pub nh_pos: usize,
    pub next: u8,
    /// Byte offset of `data` in the datagram's payload, and whether more fragments follow.
    pub offset: usize,
    pub more: bool,
    pub data: &'a [u8],
    pub ts_ns: u64,
}

struct Datagram {
    key: Key,
    /// The first fragment's unfragmentable part (empty until it comes).
    header: Vec<u8>,
    nh_pos: usize,
    next: u8,
    data: Vec<u8>,
    /// Covered ranges of `data`, sorted and merged.
    have: Vec<(usize, usize)>,
    /// The payload's length, once the last fragment came.
    total: Option<usize>,
    first_ns: u64,
}

impl Datagram {
    fn bytes(&self) -> usize {
        self.header.len() + self.data.len()
    }

    /// Adds the bytes of `f` not covered yet. False when the fragment contradicts the datagram
    /// (another end, data past the end) or splits it into too many pieces.
    fn add(&mut self, f: &Fragment) -> bool {
        let (start, end) = (f.offset, f.offset + f.data.len());
        match self.total {
            Some(t) if end > t || !f.more && end != t => return false,
            None if !f.more => {
                if self.have.last().map_or(false, |&(_, e)| e > end) {
                    return false;
                }
                self.total = Some(end);
            }
            _ => {}
        }
        if f.offset == 0 && self.header.is_empty() {
            self.header.extend_from_slice(f.header);
            self.nh_pos = f.nh_pos;
            self.next = f.next;
        }
        if self.data.len() < end {
            self.data.resize(end, 0);
        }
        // Copy into the gaps between covered ranges, then merge.
        let mut at = start;
        for &(s, e) in self.have.iter().filter(|&&(s, e)| e > start && s < end) {
            if s > at {
                self.data[at..s].copy_from_slice(&f.data[at - start..s - start]);
            }
            at = at.max(e);
        }
        if at < end {
            self.data[at..end].copy_from_slice(&f.data[at - start..]);
        }
        self.cover(start, end);
        self.have.len() <= MAX_PIECES
    }

    fn cover(&mut self, start: usize, end: usize) {
        if start == end {
            return;
        }
        let (mut s, mut e) = (start, end);
        self.have.retain(|&(a, b)| {
            let touches = b >= s && a <= e;
            if touches {
                s = s.min(a);
                e = e.max(b);
            }
            !touches
        });
        let at = self.have.iter().position(|&(a, _)| a > s).unwrap_or(self.have.len());
        self.have.insert(at, (s, e));
    }

    fn complete(&self) -> bool {
        !self.header.is_empty() && self.total.map_or(false, |t| self.have.as_slice() == [(0, t)])
    }

    /// The whole datagram: the first fragment's header with the length fields of a datagram that
    /// was never fragmented (IPv6: the fragment header left out), then the payload.
    fn build(&self, out: &mut Vec<u8>) {
        let total = self.total.unwrap_or(0);
        out.clear();
        out.extend_from_slice(&self.header);
        if self.key.v6 {
            let plen = (out.len() - 40 + total) as u16;
            out[4..6].copy_from_slice(&plen.to_be_bytes());
            out[self.nh_pos] = self.next;
        } else {
            let len = (out.len() + total) as u16;
            out[2..4].copy_from_slice(&len.to_be_bytes());
            // Keep "don't fragment", clear "more fragments" and the offset.
            out[6] &= 0x40;
            out[7] = 0;
        }
        out.extend_from_slice(&self.data[..total]);
    }
}

#[derive(Default)]
pub struct Reassembler {
    pending: Vec<Datagram>,
    bytes: usize,
    /// The datagram `add` completed last.
    pub out: Vec<u8>,
}

impl Reassembler {
    /// Adds a fragment; true when it completed its datagram, now in `out`.
    pub fn add(&mut self, f: &Fragment) -> bool {
        self.expire(f.ts_ns);
        let plausible = f.header.len() >= if f.key.v6 { 40 } else { 20 }
            && f.nh_pos < f.header.len()
            && f.header.len() + f.offset + f.data.len() <= MAX_PAYLOAD + if f.key.v6 { 40 } else { 0 };
        if !plausible {
            return false;
        }
        let i = match self.pending.iter().position(|d| d.key == f.key) {
            Some(i) => i,
            None => {
                if self.pending.len() == MAX_PENDING {
                    self.drop_at(0);
                }
                self.pending.push(Datagram {
                    key: f.key,
                    header: Vec::new(),
                    nh_pos: 0,
                    next: 0,
                    data: Vec::new(),
                    have: Vec::new(),
                    total: None,
                    first_ns: f.ts_ns,
                });
                self.pending.len() - 1
            }
        };
        let before = self.pending[i].bytes();
        let ok = self.pending[i].add(f);
        self.bytes = self.bytes - before + self.pending[i].bytes();
        if !ok {
            self.drop_at(i);
            return false;
        }
        if self.pending[i].complete() {
            self.pending[i].build(&mut self.out);
            self.drop_at(i);
            return true;
        }
        // Over budget: the oldest datagrams go first (possibly this one).
        while self.bytes > MAX_BYTES && !self.pending.is_empty() {
            self.drop_at(0);
        }
        false
    }

    /// Datagrams pending (for tests and bounds).
    pub fn pending(&self) -> (usize, usize) {
        (self.pending.len(), self.bytes)
    }

    fn drop_at(&mut self, i: usize) {
        let d = self.pending.remove(i);
        self.bytes -= d.bytes();
    }

    fn expire(&mut self, now: u64) {
        while self.pending.first().map_or(false, |d| now.saturating_sub(d.first_ns) >= TIMEOUT_NS) {
            self.drop_at(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: Key = Key { src: [1; 16], dst: [2; 16], id: 7, proto: 17, v6: false };

    /// An IPv4 header of a fragment (only the bytes reassembly rewrites matter).
    fn v4_header() -> Vec<u8> {
        let mut h = vec![0u8; 20];
        h[0] = 0x45;
        h[6] = 0x20 | 0x40; // more fragments, don't fragment
        h[9] = 17;
        h
    }

    fn frag<'a>(h: &'a [u8], offset: usize, more: bool, data: &'a [u8], ms: u64) -> Fragment<'a> {
        Fragment { key: KEY, header: h, nh_pos: 9, next: 17, offset, more, data, ts_ns: ms * 1_000_000 }
    }

    #[test]
    fn fragments_in_any_order_make_the_datagram() {
        let h = v4_header();
        let payload: Vec<u8> = (0..40u8).collect();
        let mut r = Reassembler::default();
        assert!(!r.add(&frag(&h, 24, false, &payload[24..], 0)));
        assert!(!r.add(&frag(&h, 8, true, &payload[8..24], 1)));
        assert!(r.add(&frag(&h, 0, true, &payload[..8], 2)));
        assert_eq!(r.out.len(), 60);
        assert_eq!(&r.out[2..4], &60u16.to_be_bytes());
        assert_eq!((r.out[6], r.out[7]), (0x40, 0));
        assert_eq!(&r.out[20..], &payload[..]);
        assert_eq!(r.pending(), (0, 0));
    }

    #[test]
    fn overlaps_keep_the_first_bytes() {
        let h = v4_header();
        let mut r = Reassembler::default();
        assert!(!r.add(&frag(&h, 0, true, &[1; 16], 0)));
        // Overlaps both ends of what came before, and rewrites it: only the new bytes count.
        assert!(!r.add(&frag(&h, 8, true, &[2; 16], 1)));
        assert!(r.add(&frag(&h, 16, false, &[3; 16], 2)));
        let body = &r.out[20..];
        assert_eq!((body.len(), &body[..16], &body[16..24], &body[24..]), (32, &[1; 16][..], &[2; 8][..], &[3; 8][..]));
    }

    #[test]
    fn contradictions_drop_the_datagram() {
        let h = v4_header();
        let mut r = Reassembler::default();
        assert!(!r.add(&frag(&h, 0, true, &[0; 16], 0)));
        assert!(!r.add(&frag(&h, 24, false, &[0; 8], 1)));
        // A second "last" fragment with another end.
        assert!(!r.add(&frag(&h, 32, false, &[0; 8], 2)));
        assert_eq!(r.pending(), (0, 0));
        // Data past the end, and a last fragment ending before data seen.
        assert!(!r.add(&frag(&h, 40, true, &[0; 8], 3)));
        assert!(!r.add(&frag(&h, 0, false, &[0; 8], 4)));
        assert_eq!(r.pending(), (0, 0));
    }

    #[test]
    fn hostile_input_stays_bounded() {
        let h = v4_header();
        let mut r = Reassembler::default();
        // Past 64 KiB: refused outright.
        assert!(!r.add(&frag(&h, 65_528, true, &[0; 16], 0)));
        assert_eq!(r.pending(), (0, 0));
        // Never-completing datagrams, each holding almost 64 KiB: the byte budget holds.
        let big = vec![0u8; 60_000];
        for id in 0..1000u32 {
            let f = Fragment { key: Key { id, ..KEY }, ..frag(&h, 8, true, &big, id as u64) };
            assert!(!r.add(&f));
            let (n, bytes) = r.pending();
            assert!(n <= MAX_PENDING && bytes <= MAX_BYTES, "{n} {bytes}");
        }
        // Many tiny disjoint pieces: dropped at the piece limit.
        let mut r = Reassembler::default();
        for i in 0..200 {
            r.add(&frag(&h, 16 * i + 8, true, &[0; 8], 0));
        }
        assert!(r.pending().0 <= 1 && r.pending().1 <= MAX_PAYLOAD);
        // Incomplete datagrams time out.
        let mut r = Reassembler::default();
        r.add(&frag(&h, 0, true, &[0; 8], 0));
        let late = Fragment { key: Key { id: 99, ..KEY }, ..frag(&h, 0, true, &[0; 8], TIMEOUT_NS / 1_000_000) };
        r.add(&late);
        assert_eq!(r.pending().0, 1);
    }

    #[test]
    fn an_ipv6_datagram_loses_its_fragment_header() {
        let mut h = vec![0u8; 40];
        h[0] = 0x60;
        h[6] = 44;
        let key = Key { v6: true, ..KEY };
        let mut r = Reassembler::default();
        let f = |offset, more, data| Fragment { key, header: &h, nh_pos: 6, next: 17, offset, more, data, ts_ns: 0 };
        assert!(!r.add(&f(8, false, &[2; 4])));
        assert!(r.add(&f(0, true, &[1; 8])));
        assert_eq!((r.out.len(), &r.out[4..6], r.out[6]), (52, &12u16.to_be_bytes()[..], 17));
    }
}
