//! The event buffer TS drains: typed, length-prefixed, 8-byte aligned records (see ABI.md).

use crate::abi::{put, EVENT_HEADER, EVENT_LEN, EVENT_TYPE};

#[derive(Default)]
pub struct Out {
    pub buf: Vec<u8>,
    pub len: usize,
}

impl Out {
    pub fn new(cap: usize) -> Out {
        Out { buf: vec![0; cap], len: 0 }
    }

    #[inline]
    pub fn room(&self) -> usize {
        self.buf.len() - self.len
    }

    /// Reserves an event of `size` bytes (header included), zeroed, or `None` without room.
    pub fn event(&mut self, kind: u16, size: usize) -> Option<&mut [u8]> {
        let total = (size + 7) & !7;
        if self.room() < total || size < EVENT_HEADER {
            return None;
        }
        let start = self.len;
        self.len += total;
        let e = &mut self.buf[start..start + total];
        e.fill(0);
        put(e, EVENT_TYPE, kind);
        put(e, EVENT_LEN, total as u32);
        Some(e)
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }
}
