//! Parallel decoding (src/pipeline/workers.ts): N decoders read the same capture and each decodes
//! the records of its share; for the others it only moves its clock. A record belongs to the share
//! of its frame's outermost IP addresses, read straight from the link header (no decoding) and
//! hashed symmetrically: both directions of a flow, every fragment of a datagram (non-first
//! fragments have no ports) and every flow inside a tunnel (with its carrier's flow) land on one
//! decoder. Frames without IP, or of other link types, belong to share 0.

use crate::abi::*;

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
    /// Whether this decoder decodes the frame `data` of link type `linktype`.
    pub fn owns(&self, data: &[u8], linktype: u32) -> bool {
        if self.count <= 1 {
            return true;
        }
        let share = match addresses(data, linktype) {
            Some((a, b)) => {
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                let mut h = 0xcbf2_9ce4_8422_2325u64;
                for x in lo.iter().chain(hi.iter()) {
                    h = (h ^ *x as u64).wrapping_mul(0x100_0000_01b3);
                }
                (h ^ (h >> 32)) % self.count as u64
            }
            None => 0,
        };
        share == self.index as u64
    }
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    d.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

/// Where the frame's IP header starts, for the link types that carry one at a known place.
fn ip_offset(d: &[u8], linktype: u32) -> Option<usize> {
    let ip = |ethertype: u16, at: usize| (ethertype == 0x0800 || ethertype == 0x86dd).then(|| at);
    match linktype {
        LINKTYPE_ETHERNET => {
            let mut at = 12;
            let mut ethertype = be16(d, at)?;
            for _ in 0..2 {
                if ethertype != 0x8100 && ethertype != 0x88a8 && ethertype != 0x9100 {
                    break;
                }
                at += 4;
                ethertype = be16(d, at)?;
            }
            ip(ethertype, at + 2)
        }
        LINKTYPE_LINUX_SLL => ip(be16(d, 14)?, 16),
        LINKTYPE_LINUX_SLL2 => ip(be16(d, 0)?, 20),
        LINKTYPE_NULL | LINKTYPE_LOOP => Some(4),
        LINKTYPE_RAW | LINKTYPE_RAW_OPENBSD | LINKTYPE_RAW_BSDOS | LINKTYPE_IPV4 | LINKTYPE_IPV6 => Some(0),
        _ => None,
    }
}

/// The source and destination address of the frame's outermost IP header.
fn addresses(d: &[u8], linktype: u32) -> Option<(&[u8], &[u8])> {
    let at = ip_offset(d, linktype)?;
    match d.get(at)? >> 4 {
        4 => Some((d.get(at + 12..at + 16)?, d.get(at + 16..at + 20)?)),
        6 => Some((d.get(at + 8..at + 24)?, d.get(at + 24..at + 40)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ether_ipv4(src: u8, dst: u8, vlan: bool) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        if vlan {
            f.extend_from_slice(&[0x81, 0x00, 0, 7]);
        }
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, src, 10, 0, 0, dst]);
        f
    }

    fn owners(f: &[u8], linktype: u32, count: u32) -> Vec<u32> {
        (0..count).filter(|&index| Shard { index, count }.owns(f, linktype)).collect()
    }

    #[test]
    fn both_directions_have_one_owner_and_every_frame_has_exactly_one() {
        for (s, d) in [(1, 2), (7, 200), (33, 33), (250, 3)] {
            for count in 1..5 {
                for vlan in [false, true] {
                    let there = owners(&ether_ipv4(s, d, vlan), LINKTYPE_ETHERNET, count);
                    assert_eq!(there.len(), 1);
                    assert_eq!(there, owners(&ether_ipv4(d, s, vlan), LINKTYPE_ETHERNET, count));
                }
                // The same packet as raw IP has the same owner.
                let f = ether_ipv4(s, d, false);
                assert_eq!(owners(&f[14..], LINKTYPE_RAW, count), owners(&f, LINKTYPE_ETHERNET, count));
            }
        }
    }

    #[test]
    fn frames_without_ip_or_cut_short_belong_to_the_first_share() {
        let arp = [vec![0u8; 12], vec![0x08, 0x06], vec![0u8; 28]].concat();
        let cut = &ether_ipv4(1, 2, false)[..30];
        for f in [&arp[..], cut, &[][..]] {
            assert_eq!(owners(f, LINKTYPE_ETHERNET, 3), vec![0]);
        }
        assert_eq!(owners(&ether_ipv4(1, 9, false), 147, 3), vec![0]);
    }

    #[test]
    fn shares_spread_the_hosts() {
        let mut seen = [0; 4];
        for d in 0..=255 {
            seen[owners(&ether_ipv4(1, d, false), LINKTYPE_ETHERNET, 4)[0] as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 30), "{:?}", seen);
    }
}
