//! One direction of a TCP connection put back in order for a parser: segments are appended at
//! the next expected sequence number, retransmitted bytes are dropped, a few out-of-order
//! segments wait for the gap to fill. Bounded by APP_STREAM_MAX; a gap that does not fill or an
//! overflow breaks the stream (the parser stops for that direction).

use crate::abi::APP_STREAM_MAX;

/// Out-of-order segments kept while waiting for a gap to fill.
const MAX_PENDING: usize = 8;

#[derive(Default)]
pub struct Stream {
    buf: Vec<u8>,
    next: u32,
    started: bool,
    pending: Vec<(u32, Vec<u8>)>,
    /// Bytes still to discard as they arrive (a body the parser does not read).
    skip: u64,
    pub broken: bool,
}

impl Stream {
    /// Bytes this stream holds (for the shared budget).
    pub fn held(&self) -> usize {
        self.buf.len() + self.pending.iter().map(|(_, d)| d.len()).sum::<usize>()
    }

    pub fn data(&self) -> &[u8] {
        &self.buf
    }

    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
    }

    /// Discards the next `n` bytes of the stream, buffered or still to come.
    pub fn skip(&mut self, n: u64) {
        let now = (n.min(self.buf.len() as u64)) as usize;
        self.buf.drain(..now);
        self.skip = n - now as u64;
    }

    /// Drops everything buffered (the parser is done with this direction).
    pub fn release(&mut self) {
        self.buf = Vec::new();
        self.pending = Vec::new();
    }

    /// Adds a segment. `syn` segments set the initial sequence number.
    pub fn push(&mut self, seq: u32, syn: bool, data: &[u8]) {
        if self.broken {
            return;
        }
        if !self.started {
            self.started = true;
            self.next = if syn { seq.wrapping_add(1) } else { seq };
        }
        let seq = if syn { seq.wrapping_add(1) } else { seq };
        if data.is_empty() {
            return;
        }
        let ahead = seq.wrapping_sub(self.next) as i32;
        if ahead > 0 {
            if self.pending.len() >= MAX_PENDING || self.held() + data.len() > APP_STREAM_MAX {
                self.broken = true;
                return;
            }
            self.pending.push((seq, data.to_vec()));
            return;
        }
        self.append(ahead, data);
        // Pending segments that now touch the end.
        while let Some(i) = self.pending.iter().position(|(s, _)| s.wrapping_sub(self.next) as i32 <= 0) {
            let (s, d) = self.pending.swap_remove(i);
            let ahead = s.wrapping_sub(self.next) as i32;
            self.append(ahead, &d);
        }
    }

    /// Appends a segment starting `-ahead` bytes before the next expected byte.
    fn append(&mut self, ahead: i32, data: &[u8]) {
        let overlap = (-(ahead as i64)) as usize;
        if overlap >= data.len() {
            return;
        }
        let mut fresh = &data[overlap..];
        self.next = self.next.wrapping_add(fresh.len() as u32);
        if self.skip > 0 {
            let n = (self.skip.min(fresh.len() as u64)) as usize;
            self.skip -= n as u64;
            fresh = &fresh[n..];
        }
        if self.buf.len() + fresh.len() > APP_STREAM_MAX {
            self.broken = true;
            self.release();
            return;
        }
        self.buf.extend_from_slice(fresh);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_retransmitted_and_out_of_order_segments() {
        let mut s = Stream::default();
        s.push(99, true, &[]);
        s.push(100, false, b"hello ");
        s.push(100, false, b"hel");
        s.push(111, false, b"!!");
        s.push(106, false, b"world");
        assert_eq!(s.data(), b"hello world!!");
        s.push(112, false, b"!?");
        assert_eq!(s.data(), b"hello world!!?");
        s.consume(6);
        s.skip(10);
        assert_eq!(s.data(), b"");
        s.push(114, false, b"abcd");
        assert_eq!(s.data(), b"cd");
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut s = Stream::default();
        s.push(u32::MAX - 2, false, b"abc");
        s.push(0, false, b"def");
        assert_eq!(s.data(), b"abcdef");
    }

    #[test]
    fn a_gap_that_never_fills_breaks_the_stream() {
        let mut s = Stream::default();
        s.push(0, false, b"a");
        for i in 0..20u32 {
            s.push(10 + i * 10, false, b"x");
        }
        assert!(s.broken);
        let mut big = Stream::default();
        big.push(0, false, &vec![0u8; APP_STREAM_MAX + 1]);
        assert!(big.broken && big.held() == 0);
    }
}
