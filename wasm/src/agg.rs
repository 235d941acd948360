//! Report totals per host, per address pair and per service, built from flow records inside the
//! decoder (numeric keys, no per-flow work in TS). Each table has a hard size: when it fills, the
//! entries with the fewest bytes are folded away, so the top of each table stays exact while
//! memory stays bounded whatever the traffic.

use crate::abi::*;
use crate::out::Out;

/// Entries per table before the smallest half is folded away.
pub const TABLE_CAPACITY: usize = 65536;

#[derive(Clone, Copy, Default, Debug)]
pub struct Totals {
    /// Host: sent / received. Pair: lower address to higher / back. Service: all in `pkts[0]`.
    pub pkts: [u64; 2],
    pub bytes: [u64; 2],
    pub flows: u64,
    pub first_ns: u64,
    pub last_ns: u64,
}

impl Totals {
    fn rank(&self) -> u64 {
        self.bytes[0] + self.bytes[1]
    }

    fn add(&mut self, pkts: [u64; 2], bytes: [u64; 2], flows: u64) {
        self.pkts[0] += pkts[0];
        self.pkts[1] += pkts[1];
        self.bytes[0] += bytes[0];
        self.bytes[1] += bytes[1];
        self.flows += flows;
    }
}

/// Key of any table: two addresses, IP version, and for services protocol and port.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct Key {
    pub a: u128,
    pub b: u128,
    /// ipver << 24 | proto << 16 | port, plus NO_PORT for services without ports.
    pub meta: u32,
}

pub const NO_PORT: u32 = 1 << 31;

impl Key {
    fn hash(&self) -> u64 {
        let mut h = 0x243f_6a88_85a3_08d3u64;
        for x in [self.a as u64, (self.a >> 64) as u64, self.b as u64, (self.b >> 64) as u64, self.meta as u64] {
            h = (h ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            h ^= h >> 29;
        }
        h
    }
}

/// Open-addressing map with a hard capacity (see the module comment).
pub struct TopMap {
    entries: Vec<(Key, Totals)>,
    slots: Vec<u32>,
    pub folded: u64,
}

impl TopMap {
    pub fn new() -> TopMap {
        TopMap { entries: Vec::new(), slots: vec![0; 64], folded: 0 }
    }

    pub fn get(&mut self, key: Key) -> &mut Totals {
        if let Some(i) = self.find(&key) {
            return &mut self.entries[i].1;
        }
        if self.entries.len() >= TABLE_CAPACITY {
            self.prune();
        }
        if (self.entries.len() + 1) * 2 > self.slots.len() {
            self.rebuild(self.slots.len() * 2);
        }
        self.entries.push((key, Totals { first_ns: u64::MAX, ..Totals::default() }));
        let i = self.entries.len() - 1;
        self.place(i);
        &mut self.entries[i].1
    }

    fn find(&self, key: &Key) -> Option<usize> {
        let mask = self.slots.len() - 1;
        let mut s = key.hash() as usize & mask;
        loop {
            match self.slots[s] {
                0 => return None,
                i if self.entries[i as usize - 1].0 == *key => return Some(i as usize - 1),
                _ => s = (s + 1) & mask,
            }
        }
    }

    fn place(&mut self, i: usize) {
        let mask = self.slots.len() - 1;
        let mut s = self.entries[i].0.hash() as usize & mask;
        while self.slots[s] != 0 {
            s = (s + 1) & mask;
        }
        self.slots[s] = i as u32 + 1;
    }

    fn rebuild(&mut self, slots: usize) {
        self.slots = vec![0; slots];
        for i in 0..self.entries.len() {
            self.place(i);
        }
    }

    /// Folds away the half of the entries with the fewest bytes.
    fn prune(&mut self) {
        self.entries.sort_unstable_by(|x, y| y.1.rank().cmp(&x.1.rank()));
        let keep = self.entries.len() / 2;
        self.folded += (self.entries.len() - keep) as u64;
        self.entries.truncate(keep);
        let slots = self.slots.len();
        self.rebuild(slots);
    }

    /// The `n` entries with the most bytes, most first.
    pub fn top(&self, n: usize) -> Vec<(Key, Totals)> {
        // A total order (bytes, then the whole key), also when choosing the top among ties:
        // tables merged from parallel decoders choose and sort alike.
        let order = |x: &(Key, Totals), y: &(Key, Totals)| {
            y.1.rank().cmp(&x.1.rank()).then(x.0.a.cmp(&y.0.a)).then(x.0.b.cmp(&y.0.b)).then(x.0.meta.cmp(&y.0.meta))
        };
        let mut all = self.entries.clone();
        let n = n.min(all.len());
        if n > 0 && n < all.len() {
            all.select_nth_unstable_by(n - 1, order);
            all.truncate(n);
        }
        all.sort_by(order);
        all
    }
}

impl Default for TopMap {
    fn default() -> TopMap {
        TopMap::new()
    }
}

/// One flow record's contribution (side A = initiator).
pub struct FlowTotals {
    pub ipver: u8,
    pub proto: u8,
    pub a: u128,
    pub b: u128,
    pub port_a: u16,
    pub port_b: u16,
    pub has_ports: bool,
    pub pkts: [u64; 2],
    pub bytes: [u64; 2],
    pub first_ns: u64,
    pub last_ns: u64,
    /// The first record of a flow (continuations after active timeouts are not new flows).
    pub new_flow: bool,
    /// APP_* found in the payload.
    pub app: u8,
}

#[derive(Default)]
pub struct Aggregates {
    pub hosts: TopMap,
    pub pairs: TopMap,
    pub services: TopMap,
    /// Well-known ports per protocol (TS hands over its service table): bit per port.
    known_tcp: Vec<u64>,
    known_udp: Vec<u64>,
}

fn has_bit(bits: &[u64], port: u16) -> bool {
    bits.get(port as usize / 64).map_or(false, |w| w & (1 << (port % 64)) != 0)
}

impl Aggregates {
    pub fn set_known_port(&mut self, proto: u8, port: u16) {
        let bits = if proto == crate::net::IPPROTO_UDP { &mut self.known_udp } else { &mut self.known_tcp };
        if bits.is_empty() {
            *bits = vec![0; 1024];
        }
        bits[port as usize / 64] |= 1 << (port % 64);
    }

    fn known(&self, proto: u8, port: u16) -> bool {
        has_bit(if proto == crate::net::IPPROTO_UDP { &self.known_udp } else { &self.known_tcp }, port)
    }

    /// The port naming a flow's service: the responder's when it is well known or below 1024,
    /// else the initiator's when that one is well known, else the responder's.
    pub fn service_port(&self, proto: u8, initiator: u16, responder: u16) -> u16 {
        if self.known(proto, responder) || responder < 1024 {
            responder
        } else if self.known(proto, initiator) {
            initiator
        } else {
            responder
        }
    }

    pub fn add(&mut self, f: &FlowTotals) {
        let flows = f.new_flow as u64;
        let meta = (f.ipver as u32) << 24;
        let swap = |x: [u64; 2]| [x[1], x[0]];
        if f.b != f.a {
            self.hosts.get(Key { a: f.a, b: 0, meta }).add(f.pkts, f.bytes, flows);
            self.hosts.get(Key { a: f.b, b: 0, meta }).add(swap(f.pkts), swap(f.bytes), flows);
        } else {
            // A host talking to itself sends and receives every packet (as tshark's endpoints count).
            let both = |x: [u64; 2]| [x[0] + x[1], x[0] + x[1]];
            self.hosts.get(Key { a: f.a, b: 0, meta }).add(both(f.pkts), both(f.bytes), flows);
        }
        let pair = if f.a <= f.b {
            let p = self.pairs.get(Key { a: f.a, b: f.b, meta });
            p.add(f.pkts, f.bytes, flows);
            p
        } else {
            let p = self.pairs.get(Key { a: f.b, b: f.a, meta });
            p.add(swap(f.pkts), swap(f.bytes), flows);
            p
        };
        pair.first_ns = pair.first_ns.min(f.first_ns);
        pair.last_ns = pair.last_ns.max(f.last_ns);
        let service = if f.has_ports {
            (f.proto as u32) << 16 | self.service_port(f.proto, f.port_a, f.port_b) as u32
        } else {
            NO_PORT | (f.proto as u32) << 16
        };
        let all = |x: [u64; 2]| [x[0] + x[1], 0];
        self.services.get(Key { a: 0, b: f.app as u128, meta: service }).add(all(f.pkts), all(f.bytes), flows);
    }

    /// Writes the top `n` of a table (TOP_* in ABI.md) into the event buffer, as room allows;
    /// returns how many were written.
    pub fn write_top(&self, table: u8, n: usize, out: &mut Out) -> usize {
        let map = match table {
            TOP_HOSTS => &self.hosts,
            TOP_PAIRS => &self.pairs,
            _ => &self.services,
        };
        let mut written = 0;
        for (k, t) in map.top(n) {
            let e = match out.event(EV_TOP, TOP_SIZE) {
                Some(e) => e,
                None => break,
            };
            put(e, TOP_TABLE, table);
            put(e, TOP_IPVER, (k.meta >> 24) as u8);
            put(e, TOP_PROTO, (k.meta >> 16) as u8);
            put(e, TOP_HAS_PORT, (table == TOP_SERVICES && k.meta & NO_PORT == 0) as u8);
            put(e, TOP_PORT, k.meta as u16);
            put(e, TOP_APP, if table == TOP_SERVICES { k.b as u8 } else { 0 });
            put(e, TOP_ADDR_A, k.a.to_be_bytes());
            put(e, TOP_ADDR_B, k.b.to_be_bytes());
            put(e, TOP_PKTS_A, t.pkts[0] as f64);
            put(e, TOP_BYTES_A, t.bytes[0] as f64);
            put(e, TOP_PKTS_B, t.pkts[1] as f64);
            put(e, TOP_BYTES_B, t.bytes[1] as f64);
            put(e, TOP_FLOWS, t.flows as f64);
            let (first, last) = if t.first_ns == u64::MAX { (0, 0) } else { (t.first_ns, t.last_ns) };
            put(e, TOP_FIRST_SEC, (first / 1_000_000_000) as f64);
            put(e, TOP_FIRST_NSEC, (first % 1_000_000_000) as u32);
            put(e, TOP_LAST_NSEC, (last % 1_000_000_000) as u32);
            put(e, TOP_LAST_SEC, (last / 1_000_000_000) as f64);
            written += 1;
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_keeps_the_heaviest_and_counts_the_rest() {
        let mut m = TopMap::new();
        for i in 0..(TABLE_CAPACITY as u128 * 3) {
            let t = m.get(Key { a: i, b: 0, meta: 0 });
            t.bytes[0] += if i % 1000 == 7 { 1_000_000 } else { 1 };
        }
        assert!(m.entries.len() <= TABLE_CAPACITY);
        assert!(m.folded > 0);
        let top = m.top(5);
        assert_eq!(top.len(), 5);
        assert!(top.iter().all(|(k, t)| k.a % 1000 == 7 && t.bytes[0] == 1_000_000));
    }

    #[test]
    fn a_flow_counts_once_per_host_pair_and_service() {
        let mut g = Aggregates::default();
        g.set_known_port(6, 443);
        let f = FlowTotals {
            ipver: 4,
            proto: 6,
            a: 2,
            b: 1,
            port_a: 50000,
            port_b: 443,
            has_ports: true,
            pkts: [3, 2],
            bytes: [300, 2000],
            first_ns: 5,
            last_ns: 9,
            new_flow: true,
            app: APP_TLS,
        };
        g.add(&f);
        g.add(&FlowTotals { new_flow: false, ..f });
        let host_b = g.hosts.top(2).into_iter().find(|(k, _)| k.a == 1).unwrap().1;
        assert_eq!((host_b.bytes, host_b.flows), ([4000, 600], 1));
        let pair = g.pairs.top(1)[0];
        assert_eq!((pair.0.a, pair.0.b, pair.1.bytes), (1, 2, [4000, 600]));
        let svc = g.services.top(1)[0];
        assert_eq!((svc.0.meta & 0xffff, svc.1.bytes[0], svc.1.flows), (443, 4600, 1));
        assert_eq!(g.service_port(6, 443, 50000), 443);
        assert_eq!(g.service_port(17, 40000, 50000), 50000);
    }

    #[test]
    fn a_host_talking_to_itself_sends_and_receives_each_packet() {
        let mut g = Aggregates::default();
        let f = FlowTotals {
            ipver: 4,
            proto: 6,
            a: 7,
            b: 7,
            port_a: 50000,
            port_b: 8080,
            has_ports: true,
            pkts: [3, 2],
            bytes: [300, 2000],
            first_ns: 5,
            last_ns: 9,
            new_flow: true,
            app: APP_HTTP,
        };
        g.add(&f);
        let host = g.hosts.top(2);
        assert_eq!(host.len(), 1);
        assert_eq!((host[0].1.pkts, host[0].1.bytes, host[0].1.flows), ([5, 5], [2300, 2300], 1));
    }
}
