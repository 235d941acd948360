//! Parallel decoding (src/pipeline/workers.ts): N decoders read the same capture and each decodes
//! the packets of its share of the hosts; the others only move its clock. A packet belongs to the
//! share of its outermost IP addresses, hashed symmetrically: both directions of a flow, every
//! fragment of a datagram (non-first fragments have no ports) and every flow inside a tunnel (with
//! its carrier's flow) land on one decoder. Frames without IP belong to share 0.

use crate::abi::*;
use crate::packet::Packet;

#[derive(Clone, Copy)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Default for Shard {
    fn default() -> Shard {
        Shard { index: 0, count: 1 }
    }
}

impl Shard {
    /// Whether this decoder decodes `p` (decoded up to its first network layer).
    pub fn owns(&self, p: &Packet) -> bool {
        if self.count <= 1 {
            return true;
        }
        if p.l3 != L3_IPV4 && p.l3 != L3_IPV6 {
            return self.index == 0;
        }
        let (lo, hi) = if p.src <= p.dst { (&p.src, &p.dst) } else { (&p.dst, &p.src) };
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for b in lo.iter().chain(hi.iter()) {
            h = (h ^ *b as u64).wrapping_mul(0x100_0000_01b3);
        }
        ((h ^ (h >> 32)) % self.count as u64) as u32 == self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(src: u8, dst: u8) -> Packet {
        let mut p = Packet::new();
        p.l3 = L3_IPV4;
        p.src[..4].copy_from_slice(&[10, 0, 0, src]);
        p.dst[..4].copy_from_slice(&[10, 0, 0, dst]);
        p
    }

    #[test]
    fn both_directions_have_one_owner_and_every_packet_has_exactly_one() {
        for (s, d) in [(1, 2), (7, 200), (33, 33), (250, 3)] {
            for count in 1..5 {
                let owners = |p: &Packet| (0..count).filter(|&index| Shard { index, count }.owns(p)).collect::<Vec<_>>();
                let there = owners(&ip(s, d));
                assert_eq!(there.len(), 1);
                assert_eq!(there, owners(&ip(d, s)));
            }
        }
    }

    #[test]
    fn frames_without_ip_belong_to_the_first_share() {
        let mut p = Packet::new();
        p.l3 = L3_ARP;
        assert!(Shard { index: 0, count: 3 }.owns(&p));
        assert!(!Shard { index: 1, count: 3 }.owns(&p));
    }

    #[test]
    fn shares_spread_the_hosts() {
        let mut seen = [0; 4];
        for d in 0..=255 {
            let owner = (0..4).find(|&index| Shard { index, count: 4 }.owns(&ip(1, d))).unwrap();
            seen[owner as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 30), "{:?}", seen);
    }
}
