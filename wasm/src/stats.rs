//! Counters TS reads as one f64 array (ABI.md, "Statistics").

use crate::abi::*;

pub struct Stats {
    pub v: Vec<f64>,
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
        Stats { v }
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

    /// Counts into a small keyed table of [key, packets, bytes] triples; when every slot is
    /// taken, the last slot collects the rest under key 65535 ("other").
    fn keyed(&mut self, base: usize, slots: usize, key: u32, bytes: f64) {
        let mut chosen = base + 3 * (slots - 1);
        for slot in 0..slots {
            let i = base + 3 * slot;
            let k = self.v[i];
            if k == key as f64 {
                chosen = i;
                break;
            }
            if k < 0.0 {
                self.v[i] = key as f64;
                chosen = i;
                break;
            }
        }
        if chosen == base + 3 * (slots - 1) && self.v[chosen] != key as f64 {
            self.v[chosen] = 65535.0;
        }
        self.v[chosen + 1] += 1.0;
        self.v[chosen + 2] += bytes;
    }

    pub fn linktype(&mut self, linktype: u32, bytes: f64) {
        self.keyed(ST_LINKTYPE_BASE, LINKTYPE_SLOTS, linktype, bytes);
    }

    pub fn ethertype(&mut self, et: u16, bytes: f64) {
        self.keyed(ST_ETHERTYPE_BASE, ETHERTYPE_SLOTS, et as u32, bytes);
    }

    pub fn time(&mut self, first_ns: u64, last_ns: u64) {
        self.v[ST_FIRST_SEC] = (first_ns / 1_000_000_000) as f64;
        self.v[ST_FIRST_NSEC] = (first_ns % 1_000_000_000) as f64;
        self.v[ST_LAST_SEC] = (last_ns / 1_000_000_000) as f64;
        self.v[ST_LAST_NSEC] = (last_ns % 1_000_000_000) as f64;
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
