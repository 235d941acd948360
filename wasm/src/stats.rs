//! Counters TS reads as one f64 array (ABI.md, "Statistics").

use crate::abi::*;
use crate::packet::Packet;

pub struct Stats {
    pub v: Vec<f64>,
    first_ns: u64,
    last_ns: u64,
    /// The link-type slot last counted into (one link type per file, usually).
    linktype_slot: usize,
}

impl Stats {
    pub fn new() -> Stats {
        let mut v = vec![0.0; STATS_LEN];
        for i in [ST_FIRST_SEC, ST_FIRST_NSEC, ST_LAST_SEC, ST_LAST_NSEC] {
            v[i] = -1.0;
        }
        for slot in 0..LINKTYPE_SLOTS {
            v[ST_LINKTYPE_BASE + 3 * slot] = -1.0;
        }
        for slot in 0..ETHERTYPE_SLOTS {
            v[ST_ETHERTYPE_BASE + 3 * slot] = -1.0;
        }
        Stats { v, first_ns: u64::MAX, last_ns: 0, linktype_slot: ST_LINKTYPE_BASE }
    }

    /// Counts a packet that passed the filters.
    pub fn count(&mut self, p: &Packet) {
        let bytes = p.wirelen as f64;
        self.v[ST_PACKETS] += 1.0;
        self.v[ST_BYTES] += bytes;
        self.v[ST_CAPTURED_BYTES] += p.caplen as f64;
        self.linktype(p.linktype, bytes);
        if p.flags & PF_TRUNCATED != 0 {
            self.v[ST_TRUNCATED] += 1.0;
        }
        if p.flags & PF_VLAN_OUTER != 0 {
            self.v[ST_VLAN_PKTS] += 1.0;
        }
        match p.l3 {
            L3_IPV4 => self.add(ST_IPV4_PKTS, ST_IPV4_BYTES, bytes),
            L3_IPV6 => self.add(ST_IPV6_PKTS, ST_IPV6_BYTES, bytes),
            L3_ARP => self.add(ST_ARP_PKTS, ST_ARP_BYTES, bytes),
            L3_UNSUPPORTED_LINK => self.add(ST_UNSUPPORTED_LINK_PKTS, ST_UNSUPPORTED_LINK_BYTES, bytes),
            L3_OTHER => {
                self.add(ST_OTHER_L3_PKTS, ST_OTHER_L3_BYTES, bytes);
                self.ethertype(p.ethertype, bytes);
            }
            _ => {}
        }
        if p.flags & PF_FRAGMENT != 0 {
            self.v[if p.l3 == L3_IPV4 { ST_IPV4_FRAGMENTS } else { ST_IPV6_FRAGMENTS }] += 1.0;
            if p.flags & PF_FIRST_FRAGMENT == 0 {
                self.v[ST_NON_FIRST_FRAGMENTS] += 1.0;
            }
        }
        if p.flags & PF_L4 != 0 {
            let i = ST_PROTO_BASE + 2 * p.ip_proto as usize;
            self.add(i, i + 1, bytes);
        }
        if p.malformed != MAL_NONE {
            self.v[ST_MALFORMED_PKTS] += 1.0;
            self.malformed(p.malformed);
        }
        self.first_ns = self.first_ns.min(p.ts_ns);
        self.last_ns = self.last_ns.max(p.ts_ns);
    }

    #[inline]
    pub fn add(&mut self, pkts: usize, bytes: usize, n: f64) {
        self.v[pkts] += 1.0;
        self.v[bytes] += n;
    }

    #[inline]
    pub fn malformed(&mut self, reason: u8) {
        if (reason as usize) < MAL_COUNT as usize {
            self.v[ST_MALFORMED_BASE + reason as usize] += 1.0;
        }
    }

    /// Counts into a small keyed table of [key, packets, bytes] triples (see `slot`).
    fn keyed(&mut self, base: usize, slots: usize, key: u32, bytes: f64) -> usize {
        let chosen = self.slot(base, slots, key);
        self.v[chosen + 1] += 1.0;
        self.v[chosen + 2] += bytes;
        chosen
    }

    /// The slot of `key` in a keyed table, taken if new; when every slot is taken, the last
    /// slot collects the rest under key 65535 ("other").
    fn slot(&mut self, base: usize, slots: usize, key: u32) -> usize {
        let mut chosen = base + 3 * (slots - 1);
        for slot in 0..slots {
            let i = base + 3 * slot;
            let k = self.v[i];
            if k == key as f64 {
                chosen = i;
                break;
            }
            if k < 0.0 {
                // When it was taken, for parallel decoding's merge to order the keys.
                let first = if base == ST_LINKTYPE_BASE { ST_LINKTYPE_FIRST_BASE } else { ST_ETHERTYPE_FIRST_BASE };
                self.v[first + slot] = self.v[ST_RECORDS];
                self.v[i] = key as f64;
                chosen = i;
                break;
            }
        }
        if chosen == base + 3 * (slots - 1) && self.v[chosen] != key as f64 {
            self.v[chosen] = 65535.0;
        }
        chosen
    }

    fn linktype(&mut self, linktype: u32, bytes: f64) {
        let slot = self.linktype_slot;
        if self.v[slot] == linktype as f64 {
            self.v[slot + 1] += 1.0;
            self.v[slot + 2] += bytes;
        } else {
            self.linktype_slot = self.keyed(ST_LINKTYPE_BASE, LINKTYPE_SLOTS, linktype, bytes);
        }
    }

    pub fn ethertype(&mut self, et: u16, bytes: f64) {
        self.keyed(ST_ETHERTYPE_BASE, ETHERTYPE_SLOTS, et as u32, bytes);
    }

    /// Writes the first/last timestamps into the table (done when TS reads it, not per packet).
    pub fn publish(&mut self) -> &[f64] {
        if self.first_ns <= self.last_ns {
            self.time();
        }
        &self.v
    }

    fn time(&mut self) {
        self.v[ST_FIRST_SEC] = (self.first_ns / 1_000_000_000) as f64;
        self.v[ST_FIRST_NSEC] = (self.first_ns % 1_000_000_000) as f64;
        self.v[ST_LAST_SEC] = (self.last_ns / 1_000_000_000) as f64;
        self.v[ST_LAST_NSEC] = (self.last_ns % 1_000_000_000) as f64;
    }
}

impl Default for Stats {
    fn default() -> Stats {
        Stats::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_table_overflows_into_other() {
        let mut s = Stats::new();
        for et in 0..40u16 {
            s.ethertype(0x9000 + et, 10.0);
        }
        let last = ST_ETHERTYPE_BASE + 3 * (ETHERTYPE_SLOTS - 1);
        assert_eq!(s.v[last], 65535.0);
        let total: f64 = (0..ETHERTYPE_SLOTS).map(|i| s.v[ST_ETHERTYPE_BASE + 3 * i + 1]).sum();
        assert_eq!(total, 40.0);
    }
}
