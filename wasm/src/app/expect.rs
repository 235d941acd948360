//! Data connections announced on control flows (FTP's PASV/EPSV replies, PORT/EPRT commands):
//! a new TCP flow to an announced address and port is that control flow's data channel. Bounded:
//! the oldest announcement goes when the table is full, and each is used once.

use crate::abi::L3_IPV4;
use std::collections::VecDeque;

/// Announcements kept (a control flow announces one per transfer and it is used within seconds).
const MAX_EXPECTED: usize = 1024;

/// What a parser announced while handling a packet (taken by the dispatcher).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Announced {
    pub l3: u8,
    pub addr: [u8; 16],
    pub port: u16,
}

impl Announced {
    /// An announcement for an address as the packet holds it (IPv4 in the first four bytes).
    pub fn new(l3: u8, addr: &[u8; 16], port: u16) -> Announced {
        Announced { l3, addr: address(l3, addr), port }
    }
}

/// The address with the bytes past an IPv4 address cleared (packet buffers are reused).
pub fn address(l3: u8, addr: &[u8; 16]) -> [u8; 16] {
    let mut a = *addr;
    if l3 == L3_IPV4 {
        a[4..].fill(0);
    }
    a
}

#[derive(Default)]
pub struct Expected {
    entries: VecDeque<(Announced, u64)>,
}

impl Expected {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Expects a connection to `a` for control flow `control` (a repeat replaces the older one).
    pub fn add(&mut self, a: Announced, control: u64) {
        self.entries.retain(|(e, _)| *e != a);
        if self.entries.len() >= MAX_EXPECTED {
            self.entries.pop_front();
        }
        self.entries.push_back((a, control));
    }

    /// The control flow that announced a connection to `a`, forgotten once matched.
    pub fn take(&mut self, a: &Announced) -> Option<u64> {
        let i = self.entries.iter().position(|(e, _)| e == a)?;
        self.entries.remove(i).map(|(_, control)| control)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_used_once() {
        let at = |port| Announced { l3: 4, addr: [1; 16], port };
        let mut x = Expected::default();
        for port in 0..(MAX_EXPECTED as u16 + 10) {
            x.add(at(port), port as u64);
        }
        assert_eq!(x.entries.len(), MAX_EXPECTED);
        assert_eq!(x.take(&at(3)), None);
        assert_eq!(x.take(&at(20)), Some(20));
        assert_eq!(x.take(&at(20)), None);
    }
}
