//! Bidirectional flow table: canonical 5-tuple (+ outer VLAN), per-direction counters, TCP flags
//! and state, idle/closed/active timeouts and a hard maximum with LRU eviction. Every flow leaves
//! the table through `emit`, so none is lost: ended, timed out, evicted or flushed at the end.
//!
//! Memory is fixed at creation: the flow slab and the open-addressing index never grow.

use crate::abi::*;
use crate::agg::{Aggregates, FlowTotals};
use crate::app::FlowApp;
use crate::conn::Conn;
use crate::net::{IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP};
use crate::out::Out;
use crate::packet::{Packet, PF_DEFRAG, PF_REASSEMBLED, PF_ROUTED};
use crate::stats::Stats;

const NIL: u32 = u32::MAX;

fn is_icmp(proto: u8) -> bool {
    proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6
}

/// ICMP's "ports" as Zeek keys its connections (ICMP4_counterpart, ICMP6_counterpart): the type,
/// and the type of the matching request or reply (so both share a flow), or for a message
/// without one, its code. Mirrored by src/flows/icmp_ports.ts.
fn icmp_ports(proto: u8, icmp_type: u8, code: u8) -> (u16, u16) {
    let counterpart = if proto == IPPROTO_ICMP {
        match icmp_type {
            0 => Some(8),
            8 => Some(0),
            9 => Some(10),
            10 => Some(9),
            13 => Some(14),
            14 => Some(13),
            15 => Some(16),
            16 => Some(15),
            17 => Some(18),
            18 => Some(17),
            _ => None,
        }
    } else {
        match icmp_type {
            128 | 130 | 133 | 135 | 139 | 144 => Some(icmp_type + 1),
            129 | 131 | 134 | 136 | 140 | 145 => Some(icmp_type - 1),
            _ => None,
        }
    };
    (icmp_type as u16, counterpart.unwrap_or(code) as u16)
}
const TCP_FIN: u16 = 0x01;
const TCP_SYN: u16 = 0x02;
const TCP_RST: u16 = 0x04;
const TCP_ACK: u16 = 0x10;

/// Idle classes, each with its own timeout and LRU list.
const CLASS_OTHER: usize = 0;
const CLASS_TCP: usize = 1;
const CLASS_CLOSED: usize = 2;
const CLASSES: usize = 3;

/// Non-first IP fragments are matched to their flow through the first fragment's IP id.
const FRAG_SLOTS: usize = 4096;
const FRAG_TTL_NS: u64 = 30_000_000_000;

/// Canonical flow key: addresses as big-endian integers (so comparing them orders them), the
/// lower (address, port) pair first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Key {
    lo: u128,
    hi: u128,
    /// lo port << 16 | hi port.
    ports: u32,
    /// proto << 24 | ipver << 16 | outer VLAN.
    meta: u32,
}

impl Key {
    /// The canonical key of a packet and whether its source is the `lo` side.
    fn of(p: &Packet) -> (Key, bool) {
        let (sport, dport) = if p.flags & PF_PORTS != 0 {
            (p.sport, p.dport)
        } else if is_icmp(p.ip_proto) && p.flags & PF_L4 != 0 && p.l4_len >= 2 {
            icmp_ports(p.ip_proto, p.icmp_type, p.icmp_code)
        } else {
            (0, 0)
        };
        let src = u128::from_be_bytes(p.src);
        let dst = u128::from_be_bytes(if p.flags & PF_ROUTED != 0 { p.route_dst } else { p.dst });
        let src_lo = (src, sport) <= (dst, dport);
        let (lo, hi, lo_port, hi_port) = if src_lo { (src, dst, sport, dport) } else { (dst, src, dport, sport) };
        let meta = (p.ip_proto as u32) << 24 | (p.l3 as u32) << 16 | p.vlan[0] as u32;
        (Key { lo, hi, ports: (lo_port as u32) << 16 | hi_port as u32, meta }, src_lo)
    }

    fn proto(&self) -> u8 {
        (self.meta >> 24) as u8
    }

    /// Real ports (ICMP's "ports" are message types, see `icmp_ports`).
    fn has_ports(&self) -> bool {
        self.ports != 0 && !is_icmp(self.proto())
    }

    fn hash(&self) -> u32 {
        let words = [
            self.lo as u64,
            (self.lo >> 64) as u64,
            self.hi as u64,
            (self.hi >> 64) as u64,
            (self.ports as u64) << 32 | self.meta as u64,
        ];
        let mut h = 0x9e37_79b9_7f4a_7c15u64;
        for x in words {
            h = (h ^ x).wrapping_mul(0xff51_afd7_ed55_8ccd);
            h ^= h >> 32;
        }
        (h ^ (h >> 29)) as u32
    }
}

#[derive(Clone, Debug, Default)]
pub struct Flow {
    key: Key,
    hash: u32,
    pub id: u64,
    /// The initiator (side A) is the key's `lo` side.
    a_is_lo: bool,
    pub first_ns: u64,
    pub last_ns: u64,
    /// `last_ns` when the flow was last queued at its list's tail (lists refresh lazily).
    queued_ns: u64,
    pub pkts: [u64; 2],
    pub bytes: [u64; 2],
    pub flags: [u16; 2],
    pub state: u8,
    fin: [bool; 2],
    iface: u32,
    record_seq: u16,
    fragments: u32,
    class: u8,
    prev: u32,
    next: u32,
    age_prev: u32,
    age_next: u32,
    /// What the payload says the flow carries, and the app layer's state for it.
    pub app: FlowApp,
    /// The flows of the tunnels it rode in over its life, as first seen (Zeek's tunnel_parents),
    /// and the ENCAP_* of the tunnel its first packet rode in directly.
    parents: [u64; PARENT_SLOTS],
    parent_count: u8,
    encap: u8,
}

/// Tunnel parents a flow record holds (FL_PARENT_0..3): one per nesting level, or the few outer
/// flows the two directions of a tunnel take.
const PARENT_SLOTS: usize = 4;

#[derive(Clone, Copy, Default)]
struct FragSlot {
    src: [u8; 16],
    dst: [u8; 16],
    id: u32,
    proto: u8,
    flow: u32,
    flow_id: u64,
    sport: u16,
    dport: u16,
    expires: u64,
}

#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Timeouts {
    pub tcp_idle_ns: u64,
    pub other_idle_ns: u64,
    pub closed_ns: u64,
    pub active_ns: u64,
}

pub struct FlowTable {
    flows: Vec<Flow>,
    free: Vec<u32>,
    max: usize,
    slots: Vec<u64>,
    mask: usize,
    lists: [List; CLASSES],
    age: List,
    frags: Vec<FragSlot>,
    next_id: u64,
    /// Flow ids count up by this (parallel decoding: decoder i of n gives i+1, i+1+n, ...).
    id_step: u64,
    now: u64,
    /// No timeout can fire before this time, so `expire` is one comparison per packet.
    next_expiry: u64,
    pub timeouts: Timeouts,
    /// Report totals, fed by every flow record.
    pub agg: Aggregates,
    /// Emit EV_FLOW events (TS turns them off when it only wants the report).
    pub flow_events: bool,
    /// Emit EV_FLOW_START when a flow is created (the detection engine's first sight of it).
    pub start_events: bool,
    /// App-layer state slots of flows that ended, for the app table to free.
    pub released: Vec<u32>,
    /// Zeek's view of each flow, by flow index; empty unless conn tracking is on.
    conns: Vec<Conn>,
    conn_tracking: bool,
}

fn secs(s: u64) -> u64 {
    s * 1_000_000_000
}

impl FlowTable {
    /// Memory a table of `max` flows takes at most (`None` if that overflows).
    pub fn bytes_for(max: usize) -> Option<usize> {
        let max = max.max(16);
        let slots = max.checked_mul(2)?.checked_next_power_of_two()?;
        let per_flow = std::mem::size_of::<Flow>() + std::mem::size_of::<u32>();
        max.checked_mul(per_flow)?.checked_add(slots.checked_mul(8)?)
    }

    pub fn new(max: usize) -> FlowTable {
        let max = max.max(16);
        let slots = (max * 2).next_power_of_two();
        FlowTable::around(
            max,
            Vec::with_capacity(max),
            Vec::with_capacity(max),
            vec![0; slots],
            vec![FragSlot::default(); FRAG_SLOTS],
        )
    }

    /// A table as `new` makes it, in the given (empty flows, zeroed index and fragments) memory.
    fn around(max: usize, flows: Vec<Flow>, free: Vec<u32>, slots: Vec<u64>, frags: Vec<FragSlot>) -> FlowTable {
        FlowTable {
            flows,
            free,
            max,
            mask: slots.len() - 1,
            slots,
            lists: [List { head: NIL, tail: NIL }; CLASSES],
            age: List { head: NIL, tail: NIL },
            frags,
            next_id: 1,
            id_step: 1,
            now: 0,
            next_expiry: 0,
            // Zeek-like defaults: TCP 5 min idle, others 1 min, closed flows linger 5 s, active 30 min.
            timeouts: Timeouts {
                tcp_idle_ns: secs(300),
                other_idle_ns: secs(60),
                closed_ns: secs(5),
                active_ns: secs(1800),
            },
            agg: Aggregates::default(),
            flow_events: true,
            start_events: false,
            released: Vec::new(),
            conns: Vec::new(),
            conn_tracking: false,
        }
    }

    pub fn set_conn_tracking(&mut self, on: bool) {
        self.conn_tracking = on;
        if on && self.conns.is_empty() {
            self.conns = Vec::with_capacity(self.max);
        }
    }

    /// A fresh table (as `new(max)` makes it) in this one's memory, which is left empty. Only the
    /// entries used are cleared, so a reused decoder does not pay for zeroing its whole index.
    pub fn renewed(&mut self) -> FlowTable {
        // Every index entry sits in the run that starts at some flow's home slot (freed flows'
        // homes too, harmlessly): clearing each such run up to its first empty slot clears them all.
        for f in &self.flows {
            let mut i = f.hash as usize & self.mask;
            while self.slots[i] != 0 {
                self.slots[i] = 0;
                i = (i + 1) & self.mask;
            }
        }
        for s in self.frags.iter_mut().filter(|s| s.expires != 0 || s.flow_id != 0) {
            *s = FragSlot::default();
        }
        let mut flows = std::mem::take(&mut self.flows);
        flows.clear();
        let mut free = std::mem::take(&mut self.free);
        free.clear();
        FlowTable::around(self.max, flows, free, std::mem::take(&mut self.slots), std::mem::take(&mut self.frags))
    }

    /// Ids from `first` on, `step` apart: the decoders of a parallel run never share an id.
    pub fn set_ids(&mut self, first: u64, step: u64) {
        self.next_id = first.max(1);
        self.id_step = step.max(1);
    }

    /// The clock moves to `ts_ns` (a packet decoded elsewhere), for `expire`.
    pub fn tick(&mut self, ts_ns: u64) {
        if ts_ns > self.now {
            self.now = ts_ns;
        }
    }

    pub fn active(&self) -> usize {
        self.flows.len() - self.free.len()
    }

    fn timeout(&self, class: usize) -> u64 {
        match class {
            CLASS_TCP => self.timeouts.tcp_idle_ns,
            CLASS_CLOSED => self.timeouts.closed_ns,
            _ => self.timeouts.other_idle_ns,
        }
    }

    // ---- index -------------------------------------------------------------------------------

    fn find(&self, key: &Key, hash: u32) -> Option<u32> {
        let mut i = hash as usize & self.mask;
        loop {
            let s = self.slots[i];
            if s == 0 {
                return None;
            }
            if (s >> 32) as u32 == hash {
                let idx = (s as u32) - 1;
                if self.flows[idx as usize].key == *key {
                    return Some(idx);
                }
            }
            i = (i + 1) & self.mask;
        }
    }

    fn index_insert(&mut self, hash: u32, idx: u32) {
        let mut i = hash as usize & self.mask;
        while self.slots[i] != 0 {
            i = (i + 1) & self.mask;
        }
        self.slots[i] = (hash as u64) << 32 | (idx as u64 + 1);
    }

    /// Linear-probing delete with backward shift, so lookups never need tombstones.
    fn index_remove(&mut self, hash: u32, idx: u32) {
        let want = (hash as u64) << 32 | (idx as u64 + 1);
        let mut i = hash as usize & self.mask;
        while self.slots[i] != want {
            if self.slots[i] == 0 {
                return;
            }
            i = (i + 1) & self.mask;
        }
        let mut j = i;
        loop {
            j = (j + 1) & self.mask;
            let s = self.slots[j];
            if s == 0 {
                break;
            }
            let home = (s >> 32) as usize & self.mask;
            let stays = if i <= j { i < home && home <= j } else { i < home || home <= j };
            if !stays {
                self.slots[i] = s;
                i = j;
            }
        }
        self.slots[i] = 0;
    }

    // ---- intrusive lists ---------------------------------------------------------------------

    fn unlink(&mut self, idx: u32) {
        let (class, prev, next) = {
            let f = &self.flows[idx as usize];
            (f.class as usize, f.prev, f.next)
        };
        if prev == NIL {
            self.lists[class].head = next;
        } else {
            self.flows[prev as usize].next = next;
        }
        if next == NIL {
            self.lists[class].tail = prev;
        } else {
            self.flows[next as usize].prev = prev;
        }
    }

    fn push_tail(&mut self, idx: u32, class: usize) {
        let tail = self.lists[class].tail;
        let t = self.timeout(class);
        {
            let f = &mut self.flows[idx as usize];
            f.class = class as u8;
            f.prev = tail;
            f.next = NIL;
            f.queued_ns = f.last_ns;
            if t != 0 {
                self.next_expiry = self.next_expiry.min(f.last_ns.saturating_add(t));
            }
        }
        if tail == NIL {
            self.lists[class].head = idx;
        } else {
            self.flows[tail as usize].next = idx;
        }
        self.lists[class].tail = idx;
    }

    fn age_unlink(&mut self, idx: u32) {
        let (prev, next) = {
            let f = &self.flows[idx as usize];
            (f.age_prev, f.age_next)
        };
        if prev == NIL {
            self.age.head = next;
        } else {
            self.flows[prev as usize].age_next = next;
        }
        if next == NIL {
            self.age.tail = prev;
        } else {
            self.flows[next as usize].age_prev = prev;
        }
    }

    fn age_push(&mut self, idx: u32) {
        let tail = self.age.tail;
        let active = self.timeouts.active_ns;
        {
            let f = &mut self.flows[idx as usize];
            f.age_prev = tail;
            f.age_next = NIL;
            if active != 0 {
                self.next_expiry = self.next_expiry.min(f.first_ns.saturating_add(active));
            }
        }
        if tail == NIL {
            self.age.head = idx;
        } else {
            self.flows[tail as usize].age_next = idx;
        }
        self.age.tail = idx;
    }

    // ---- lifecycle ---------------------------------------------------------------------------

    fn create(&mut self, key: Key, hash: u32, src_lo: bool, p: &Packet, out: &mut Out, st: &mut Stats) -> u32 {
        if self.active() >= self.max {
            self.evict_one(out, st);
        }
        let syn = p.tcp_flags & TCP_SYN != 0;
        let ack = p.tcp_flags & TCP_ACK != 0;
        let tcp = p.ip_proto == IPPROTO_TCP && p.flags & PF_L4 != 0;
        // The initiator sent the first SYN; a SYN-ACK came from the responder; without a handshake,
        // a packet from a well-known port to an ephemeral one came from the server.
        let from_server = if tcp && syn {
            ack
        } else {
            p.flags & PF_PORTS != 0 && p.sport < 1024 && p.dport >= 1024
        };
        let flow = Flow {
            key,
            hash,
            id: self.next_id,
            a_is_lo: src_lo != from_server,
            first_ns: p.ts_ns,
            last_ns: p.ts_ns,
            state: if p.ip_proto == IPPROTO_TCP { TCP_MIDSTREAM } else { TCP_NONE },
            iface: p.iface,
            encap: p.encap,
            prev: NIL,
            next: NIL,
            age_prev: NIL,
            age_next: NIL,
            ..Flow::default()
        };
        self.next_id += self.id_step;
        let idx = match self.free.pop() {
            Some(i) => {
                self.flows[i as usize] = flow;
                i
            }
            None => {
                self.flows.push(flow);
                (self.flows.len() - 1) as u32
            }
        };
        self.index_insert(hash, idx);
        if self.conn_tracking {
            let from_b = src_lo != self.flows[idx as usize].a_is_lo;
            let c = Conn::open(p, from_b);
            match self.conns.get_mut(idx as usize) {
                Some(slot) => *slot = c,
                None => self.conns.push(c),
            }
        }
        if self.start_events {
            write_flow_start(out, &self.flows[idx as usize], p);
        }
        let class = if p.ip_proto == IPPROTO_TCP { CLASS_TCP } else { CLASS_OTHER };
        self.push_tail(idx, class);
        self.age_push(idx);
        st.v[ST_FLOWS_CREATED] += 1.0;
        let active = self.active() as f64;
        st.v[ST_FLOWS_ACTIVE] = active;
        if active > st.v[ST_FLOWS_PEAK] {
            st.v[ST_FLOWS_PEAK] = active;
        }
        idx
    }

    fn remove(&mut self, idx: u32, st: &mut Stats) {
        let hash = self.flows[idx as usize].hash;
        self.index_remove(hash, idx);
        self.unlink(idx);
        self.age_unlink(idx);
        let f = &mut self.flows[idx as usize];
        f.id = 0;
        if f.app.slot != u32::MAX {
            self.released.push(f.app.slot);
        }
        self.free.push(idx);
        st.v[ST_FLOWS_ACTIVE] = self.active() as f64;
    }

    /// A flow record: into the report totals, and out as an event when events are on.
    fn record(&mut self, idx: u32, reason: u8, out: &mut Out, st: &mut Stats) {
        let f = &self.flows[idx as usize];
        self.agg.add(&f.totals());
        if self.flow_events {
            let t = f.totals();
            let service = if t.has_ports { self.agg.service_port(t.proto, t.port_a, t.port_b) } else { 0 };
            write_flow(out, f, reason, service, self.conns.get(idx as usize).filter(|_| self.conn_tracking));
        }
        st.v[ST_FLOW_RECORDS] += 1.0;
    }

    fn end_flow(&mut self, idx: u32, reason: u8, out: &mut Out, st: &mut Stats) {
        self.record(idx, reason, out, st);
        self.remove(idx, st);
    }

    fn evict_one(&mut self, out: &mut Out, st: &mut Stats) {
        // The list heads are the least recently queued flows: an approximate LRU (like CLOCK).
        let mut victim = NIL;
        for l in self.lists.iter() {
            if l.head != NIL && (victim == NIL || self.flows[l.head as usize].last_ns < self.flows[victim as usize].last_ns) {
                victim = l.head;
            }
        }
        if victim != NIL {
            st.v[ST_FLOWS_EVICTED] += 1.0;
            self.end_flow(victim, END_EVICTED, out, st);
        }
    }

    /// Accounts a packet to its flow (creating it), setting `p.flow_id` and its direction.
    /// `fragment_of` is the flow a non-first fragment belongs to (from `fragment_flow`).
    /// Returns the flow's index (for `app_mut`).
    pub fn update(&mut self, p: &mut Packet, fragment_of: Option<u32>, out: &mut Out, st: &mut Stats) -> u32 {
        let (key, src_lo) = Key::of(p);
        let idx = match fragment_of {
            Some(i) => i,
            None => {
                let hash = key.hash();
                let found = self.find(&key, hash);
                // Zeek's timers (conn tracking) may have removed the connection already.
                let timed_out = match found {
                    Some(i) if self.conn_tracking => self.conns[i as usize].expired(p),
                    _ => None,
                };
                let idx = match (found, timed_out) {
                    (Some(i), Some(reason)) => {
                        self.end_flow(i, reason, out, st);
                        self.create(key, hash, src_lo, p, out, st)
                    }
                    (Some(i), None) if self.timed_out(i, self.now.max(p.ts_ns)).is_some() => {
                        let reason = self.timed_out(i, self.now.max(p.ts_ns)).unwrap_or(END_IDLE);
                        self.end_timed_out(i, reason, out, st);
                        self.create(key, hash, src_lo, p, out, st)
                    }
                    (Some(i), None) if self.restarts(i, p) => {
                        let reason = if self.flows[i as usize].state == TCP_RESET { END_RST } else { END_FIN };
                        self.end_flow(i, reason, out, st);
                        self.create(key, hash, src_lo, p, out, st)
                    }
                    (Some(i), None) => i,
                    (None, _) => self.create(key, hash, src_lo, p, out, st),
                };
                if p.flags & (PF_FRAGMENT | PF_FIRST_FRAGMENT) == PF_FRAGMENT | PF_FIRST_FRAGMENT {
                    self.remember_fragment(p, idx);
                }
                idx
            }
        };
        let f = &mut self.flows[idx as usize];
        let dir = if src_lo == f.a_is_lo { 0 } else { 1 };
        if dir == 1 {
            p.flags |= PF_FROM_RESPONDER;
        }
        // A reassembled datagram's fragments were counted as they came.
        let counted = p.flags & PF_REASSEMBLED == 0;
        if counted {
            f.pkts[dir] += 1;
            f.bytes[dir] += p.flow_bytes();
        }
        if p.flags & PF_FRAGMENT != 0 && p.flags & PF_FIRST_FRAGMENT == 0 {
            f.fragments += 1;
        }
        if p.ts_ns > f.last_ns {
            f.last_ns = p.ts_ns;
        }
        if p.ts_ns < f.first_ns {
            f.first_ns = p.ts_ns;
        }
        p.flow_id = f.id;
        // Zeek's conn sees a fragmented datagram once, reassembled.
        if self.conn_tracking && p.flags & PF_DEFRAG == 0 {
            self.conns[idx as usize].update(p, dir == 1);
        }
        let f = &mut self.flows[idx as usize];
        if p.parent_count != 0 {
            f.add_parents(&p.parents[..p.parent_count as usize]);
        }
        let class = f.class as usize;
        if f.key.proto() == IPPROTO_TCP && p.flags & PF_L4 != 0 && counted {
            f.flags[dir] |= p.tcp_flags;
            tcp_transition(f, dir, p.tcp_flags);
            let now_class = if f.state == TCP_CLOSED || f.state == TCP_RESET { CLASS_CLOSED } else { CLASS_TCP };
            if now_class != class {
                self.unlink(idx);
                self.push_tail(idx, now_class);
            }
        }
        if p.ts_ns > self.now {
            self.now = p.ts_ns;
        }
        idx
    }

    pub fn app_mut(&mut self, idx: u32) -> &mut FlowApp {
        &mut self.flows[idx as usize].app
    }

    /// A new SYN on a closed or reset connection starts a new flow (port reuse).
    fn restarts(&self, idx: u32, p: &Packet) -> bool {
        let f = &self.flows[idx as usize];
        let syn_only = p.tcp_flags & (TCP_SYN | TCP_ACK) == TCP_SYN;
        p.ip_proto == IPPROTO_TCP && syn_only && (f.state == TCP_CLOSED || f.state == TCP_RESET)
    }

    fn frag_slot(src: &[u8; 16], dst: &[u8; 16], id: u32, proto: u8) -> usize {
        let mut h = id as u64 ^ (proto as u64) << 32;
        for b in src.iter().chain(dst.iter()) {
            h = (h ^ *b as u64).wrapping_mul(0x100_0000_01b3);
        }
        (h as usize ^ (h >> 32) as usize) & (FRAG_SLOTS - 1)
    }

    fn remember_fragment(&mut self, p: &Packet, idx: u32) {
        let slot = Self::frag_slot(&p.src, &p.dst, p.ip_id, p.ip_proto);
        self.frags[slot] = FragSlot {
            src: p.src,
            dst: p.dst,
            id: p.ip_id,
            proto: p.ip_proto,
            flow: idx,
            flow_id: self.flows[idx as usize].id,
            sport: p.sport,
            dport: p.dport,
            expires: p.ts_ns.saturating_add(FRAG_TTL_NS),
        };
    }

    /// For a non-first fragment: the flow of its first fragment, taking that fragment's ports.
    pub fn fragment_flow(&self, p: &mut Packet) -> Option<u32> {
        if p.flags & (PF_FRAGMENT | PF_FIRST_FRAGMENT) != PF_FRAGMENT {
            return None;
        }
        let s = &self.frags[Self::frag_slot(&p.src, &p.dst, p.ip_id, p.ip_proto)];
        let same = s.flow_id != 0
            && s.id == p.ip_id
            && s.proto == p.ip_proto
            && s.src == p.src
            && s.dst == p.dst
            && p.ts_ns <= s.expires;
        if !same || self.flows.get(s.flow as usize).map(|f| f.id) != Some(s.flow_id) {
            return None;
        }
        // A flow past its timeout has ended, whether or not a sweep has reached it yet.
        if self.timed_out(s.flow, self.now.max(p.ts_ns)).is_some() {
            return None;
        }
        if s.sport != 0 || s.dport != 0 {
            p.sport = s.sport;
            p.dport = s.dport;
            p.flags |= PF_PORTS;
        }
        Some(s.flow)
    }

    /// Ends flows whose idle or active time ran out, as far as the event buffer has room.
    pub fn expire(&mut self, out: &mut Out, st: &mut Stats) {
        let now = self.now;
        if now < self.next_expiry {
            return;
        }
        let mut next = u64::MAX;
        for class in 0..CLASSES {
            let t = self.timeout(class);
            if t == 0 {
                continue;
            }
            loop {
                let head = self.lists[class].head;
                if head == NIL {
                    break;
                }
                let queued = self.flows[head as usize].queued_ns;
                // Lists are in queue order: if the head was queued too recently, so were all others.
                // (Elapsed times, not sums: timestamps may sit at u64::MAX.)
                if now.saturating_sub(queued) < t {
                    next = next.min(queued.saturating_add(t));
                    break;
                }
                let reason = match self.timed_out(head, now) {
                    Some(reason) => reason,
                    None => {
                        // Seen since it was queued: back to the tail, at most once per timeout period.
                        self.unlink(head);
                        self.push_tail(head, class);
                        continue;
                    }
                };
                if out.room() < FL_SIZE {
                    next = now;
                    break;
                }
                self.end_timed_out(head, reason, out, st);
            }
        }
        let active = self.timeouts.active_ns;
        while active != 0 && self.age.head != NIL {
            let head = self.age.head;
            let first = self.flows[head as usize].first_ns;
            if now.saturating_sub(first) < active {
                next = next.min(first.saturating_add(active));
                break;
            }
            if out.room() < FL_SIZE {
                next = now;
                break;
            }
            self.record(head, END_ACTIVE, out, st);
            let f = &mut self.flows[head as usize];
            f.record_seq = f.record_seq.saturating_add(1);
            f.first_ns = now;
            f.pkts = [0; 2];
            f.bytes = [0; 2];
            f.fragments = 0;
            self.age_unlink(head);
            self.age_push(head);
        }
        // push_tail/age_push above may have lowered next_expiry: keep the smaller.
        self.next_expiry = next.min(if self.next_expiry > now { self.next_expiry } else { u64::MAX });
    }

    /// Emits every remaining flow, oldest first. Returns true while some remain (out of room).
    pub fn drain(&mut self, out: &mut Out, st: &mut Stats) -> bool {
        loop {
            let head = self.age.head;
            if head == NIL {
                return false;
            }
            if out.room() < FL_SIZE {
                return true;
            }
            match self.timed_out(head, self.now) {
                Some(reason) => self.end_timed_out(head, reason, out, st),
                None => {
                    let reason = match self.flows[head as usize].state {
                        TCP_CLOSED => END_FIN,
                        TCP_RESET => END_RST,
                        _ => END_EOF,
                    };
                    self.end_flow(head, reason, out, st);
                }
            }
        }
    }

    /// How the flow at `idx` ends if its class's timeout ran out by `now`, else None. Whether a
    /// flow timed out depends on its own times only, never on when a sweep of `expire` reached
    /// it: a packet after the timeout starts a new flow, and a flow the input ends after its
    /// timeout ended by it (so the flows of a parallel run's decoders end as one decoder's do).
    fn timed_out(&self, idx: u32, now: u64) -> Option<u8> {
        let f = &self.flows[idx as usize];
        let class = f.class as usize;
        let t = self.timeout(class);
        if t == 0 || now.saturating_sub(f.last_ns) < t {
            return None;
        }
        Some(match f.state {
            TCP_CLOSED if class == CLASS_CLOSED => END_FIN,
            TCP_RESET if class == CLASS_CLOSED => END_RST,
            _ => END_IDLE,
        })
    }

    fn end_timed_out(&mut self, idx: u32, reason: u8, out: &mut Out, st: &mut Stats) {
        if reason == END_IDLE {
            st.v[ST_FLOWS_IDLE] += 1.0;
        }
        self.end_flow(idx, reason, out, st);
    }
}

impl Flow {
    fn add_parents(&mut self, ids: &[u64]) {
        for id in ids {
            let n = self.parent_count as usize;
            // A carrier with the inner packet's own endpoints shares its flow: no parent of itself.
            if n < PARENT_SLOTS && *id != self.id && !self.parents[..n].contains(id) {
                self.parents[n] = *id;
                self.parent_count += 1;
            }
        }
    }

    /// Initiator address, responder address, initiator port, responder port.
    fn sides(&self) -> (u128, u128, u16, u16) {
        let (lo_port, hi_port) = ((self.key.ports >> 16) as u16, self.key.ports as u16);
        if self.a_is_lo {
            (self.key.lo, self.key.hi, lo_port, hi_port)
        } else {
            (self.key.hi, self.key.lo, hi_port, lo_port)
        }
    }

    fn totals(&self) -> FlowTotals {
        let (a, b, port_a, port_b) = self.sides();
        FlowTotals {
            ipver: (self.key.meta >> 16) as u8,
            proto: self.key.proto(),
            a,
            b,
            port_a,
            port_b,
            has_ports: self.key.has_ports(),
            pkts: self.pkts,
            bytes: self.bytes,
            first_ns: self.first_ns,
            last_ns: self.last_ns,
            new_flow: self.record_seq == 0,
            app: self.app.proto,
        }
    }
}

fn tcp_transition(f: &mut Flow, dir: usize, flags: u16) {
    if flags & TCP_RST != 0 {
        f.state = TCP_RESET;
        return;
    }
    if f.state == TCP_RESET {
        return;
    }
    let syn = flags & TCP_SYN != 0;
    let ack = flags & TCP_ACK != 0;
    if syn && !ack && (f.state == TCP_MIDSTREAM || f.state == TCP_NONE) && f.pkts[0] + f.pkts[1] == 1 {
        f.state = TCP_SYN_SENT;
    } else if syn && ack && (f.state == TCP_SYN_SENT || f.state == TCP_MIDSTREAM && f.pkts[0] + f.pkts[1] == 1) {
        f.state = TCP_SYN_RECEIVED;
    } else if !syn && ack && dir == 0 && f.state == TCP_SYN_RECEIVED {
        f.state = TCP_ESTABLISHED;
    }
    if flags & TCP_FIN != 0 {
        f.fin[dir] = true;
        f.state = if f.fin[0] && f.fin[1] { TCP_CLOSED } else { TCP_HALF_CLOSED };
    }
}

/// Writes one EV_FLOW_START event for a flow `p` just created (the caller made sure there is room).
fn write_flow_start(out: &mut Out, f: &Flow, p: &Packet) {
    let e = match out.event(EV_FLOW_START, FS_SIZE) {
        Some(e) => e,
        None => return,
    };
    let (a, b, pa, pb) = f.sides();
    put(e, FS_ID, f.id as f64);
    put(e, FS_TS_SEC, (f.first_ns / 1_000_000_000) as f64);
    put(e, FS_TS_NSEC, (f.first_ns % 1_000_000_000) as u32);
    put(e, FS_TCP_FLAGS, if p.flags & PF_L4 != 0 { p.tcp_flags } else { 0 });
    put(e, FS_IPVER, (f.key.meta >> 16) as u8);
    put(e, FS_PROTO, f.key.proto());
    put(e, FS_ADDR_A, a.to_be_bytes());
    put(e, FS_ADDR_B, b.to_be_bytes());
    put(e, FS_PORT_A, pa);
    put(e, FS_PORT_B, pb);
    put(e, FS_WIRELEN, p.wirelen);
}

/// Writes one EV_FLOW event (the caller made sure there is room).
pub fn write_flow(out: &mut Out, f: &Flow, reason: u8, service_port: u16, conn: Option<&Conn>) {
    let e = match out.event(EV_FLOW, FL_SIZE) {
        Some(e) => e,
        None => return,
    };
    let (a, b, pa, pb) = f.sides();
    put(e, FL_ID, f.id as f64);
    put(e, FL_FIRST_SEC, (f.first_ns / 1_000_000_000) as f64);
    put(e, FL_FIRST_NSEC, (f.first_ns % 1_000_000_000) as u32);
    put(e, FL_LAST_NSEC, (f.last_ns % 1_000_000_000) as u32);
    put(e, FL_LAST_SEC, (f.last_ns / 1_000_000_000) as f64);
    put(e, FL_IPVER, (f.key.meta >> 16) as u8);
    put(e, FL_PROTO, f.key.proto());
    put(e, FL_END, reason);
    put(e, FL_TCP_STATE, f.state);
    put(e, FL_FLAGS_A, f.flags[0]);
    put(e, FL_FLAGS_B, f.flags[1]);
    put(e, FL_ADDR_A, a.to_be_bytes());
    put(e, FL_ADDR_B, b.to_be_bytes());
    put(e, FL_PORT_A, pa);
    put(e, FL_PORT_B, pb);
    put(e, FL_VLAN, f.key.meta as u16);
    put(e, FL_RECORD_SEQ, f.record_seq);
    put(e, FL_PKTS_A, f.pkts[0] as f64);
    put(e, FL_BYTES_A, f.bytes[0] as f64);
    put(e, FL_PKTS_B, f.pkts[1] as f64);
    put(e, FL_BYTES_B, f.bytes[1] as f64);
    put(e, FL_IFACE, f.iface);
    put(e, FL_FRAGMENTS, f.fragments);
    put(e, FL_SERVICE_PORT, service_port);
    put(e, FL_APP, f.app.proto);
    put(e, FL_APP_SOURCE, f.app.source);
    put(e, FL_PARENT_COUNT, f.parent_count);
    put(e, FL_ENCAP, f.encap);
    for (field, id) in [FL_PARENT_0, FL_PARENT_1, FL_PARENT_2, FL_PARENT_3].into_iter().zip(&f.parents[..f.parent_count as usize]) {
        put(e, field, *id as f64);
    }
    if let Some(c) = conn {
        write_conn(e, c, f.key.proto());
    }
}

/// The FL_CONN ... fields: Zeek's view of the connection.
fn write_conn(e: &mut [u8], c: &Conn, proto: u8) {
    put(e, FL_CONN, CONN_TRACKED | if c.orig_is_b { CONN_ORIG_IS_B } else { 0 });
    put(e, FL_ORIG_STATE, c.ep[0]);
    put(e, FL_RESP_STATE, c.ep[1]);
    put(e, FL_HISTORY_LEN, c.hist_len);
    put(e, FL_ORIG_IPBYTES, c.ip_bytes[0] as f64);
    put(e, FL_RESP_IPBYTES, c.ip_bytes[1] as f64);
    put(e, FL_ORIG_SIZE, c.size(proto, 0) as f64);
    put(e, FL_RESP_SIZE, c.size(proto, 1) as f64);
    put(e, FL_CONN_T1_SEC, (c.last_ns / 1_000_000_000) as f64);
    put(e, FL_CONN_T1_NSEC, (c.last_ns % 1_000_000_000) as u32);
    put(e, FL_HISTORY, c.history);
    put(e, FL_ORIG_PKTS, c.pkts[0] as f64);
    put(e, FL_RESP_PKTS, c.pkts[1] as f64);
    put(e, FL_CONN_T0_SEC, (c.first_ns / 1_000_000_000) as f64);
    put(e, FL_CONN_T0_NSEC, (c.first_ns % 1_000_000_000) as u32);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::IPPROTO_UDP;

    fn pkt(src: u8, dst: u8, sport: u16, dport: u16, proto: u8, flags: u16, ts: u64) -> Packet {
        let mut p = Packet::new();
        p.l3 = L3_IPV4;
        p.src[..4].copy_from_slice(&[10, 0, 0, src]);
        p.dst[..4].copy_from_slice(&[10, 0, 0, dst]);
        p.sport = sport;
        p.dport = dport;
        p.ip_proto = proto;
        p.tcp_flags = flags;
        p.flags = PF_L4 | PF_PORTS;
        p.ts_ns = ts;
        p.wirelen = 100;
        p
    }

    fn flows_in(out: &Out) -> Vec<(f64, u8, f64, f64)> {
        let mut v = Vec::new();
        let mut off = 0;
        while off < out.len {
            let e = &out.buf[off..];
            let len = get(e, EVENT_LEN).unwrap() as usize;
            let f = |field: Field<f64>| get(e, field).unwrap();
            v.push((f(FL_ID), get(e, FL_END).unwrap(), f(FL_PKTS_A), f(FL_PKTS_B)));
            off += len;
        }
        v
    }

    #[test]
    fn both_directions_share_a_flow_and_the_syn_sender_is_a() {
        let mut t = FlowTable::new(64);
        let (mut out, mut st) = (Out::new(1 << 16), Stats::new());
        let mut a = pkt(2, 1, 80, 5000, IPPROTO_TCP, TCP_SYN | TCP_ACK, 1);
        t.update(&mut a, None, &mut out, &mut st);
        let mut b = pkt(1, 2, 5000, 80, IPPROTO_TCP, TCP_ACK, 2);
        t.update(&mut b, None, &mut out, &mut st);
        assert_eq!(a.flow_id, b.flow_id);
        assert!(a.has(PF_FROM_RESPONDER));
        assert!(!b.has(PF_FROM_RESPONDER));
        assert!(!t.drain(&mut out, &mut st));
        assert_eq!(flows_in(&out), vec![(1.0, END_EOF, 1.0, 1.0)]);
    }

    #[test]
    fn a_new_flow_announces_its_initiator_once() {
        let mut t = FlowTable::new(64);
        t.start_events = true;
        t.flow_events = false;
        let (mut out, mut st) = (Out::new(1 << 16), Stats::new());
        // A SYN-ACK seen first: the flow's initiator is the other side.
        let mut a = pkt(2, 1, 80, 5000, IPPROTO_TCP, TCP_SYN | TCP_ACK, 1_500_000_000);
        t.update(&mut a, None, &mut out, &mut st);
        let mut b = pkt(1, 2, 5000, 80, IPPROTO_TCP, TCP_ACK, 1_600_000_000);
        t.update(&mut b, None, &mut out, &mut st);
        assert_eq!(out.len, FS_SIZE);
        let e = &out.buf[..FS_SIZE];
        assert_eq!(get(e, EVENT_TYPE), Some(EV_FLOW_START));
        assert_eq!(get(e, FS_ID), Some(1.0));
        assert_eq!(get(e, FS_TS_SEC), Some(1.0));
        assert_eq!(get(e, FS_TS_NSEC), Some(500_000_000));
        assert_eq!(get(e, FS_ADDR_A).unwrap()[..4], [10, 0, 0, 1]);
        assert_eq!(get(e, FS_PORT_B), Some(80));
        assert_eq!(get(e, FS_TCP_FLAGS), Some(TCP_SYN | TCP_ACK));
        assert_eq!(get(e, FS_PROTO), Some(IPPROTO_TCP));
    }

    #[test]
    fn a_flow_times_out_by_its_own_times_whenever_a_sweep_comes() {
        let mut t = FlowTable::new(64);
        t.timeouts.other_idle_ns = 10;
        let (mut out, mut st) = (Out::new(1 << 16), Stats::new());
        // No sweep runs between the two packets: the second, past the timeout, starts a new flow.
        let mut a = pkt(1, 2, 5000, 53, IPPROTO_UDP, 0, 1);
        t.update(&mut a, None, &mut out, &mut st);
        let mut b = pkt(1, 2, 5000, 53, IPPROTO_UDP, 0, 11);
        t.update(&mut b, None, &mut out, &mut st);
        assert_ne!(a.flow_id, b.flow_id);
        // The input ends past the second's timeout (a packet decoded elsewhere moved the clock).
        t.tick(30);
        assert!(!t.drain(&mut out, &mut st));
        assert_eq!(flows_in(&out), vec![(1.0, END_IDLE, 1.0, 0.0), (2.0, END_IDLE, 1.0, 0.0)]);
        assert_eq!(st.v[ST_FLOWS_IDLE], 2.0);
    }

    #[test]
    fn idle_timeout_and_eviction_emit_every_flow() {
        let mut t = FlowTable::new(16);
        t.timeouts.other_idle_ns = 10;
        let (mut out, mut st) = (Out::new(1 << 16), Stats::new());
        for i in 0..40u16 {
            let mut p = pkt(1, 2, 1000 + i, 53, IPPROTO_UDP, 0, i as u64);
            t.update(&mut p, None, &mut out, &mut st);
            t.expire(&mut out, &mut st);
        }
        assert!(t.active() <= 16);
        assert!(!t.drain(&mut out, &mut st));
        let all = flows_in(&out);
        assert_eq!(all.len(), 40);
        assert!(all.iter().any(|f| f.1 == END_IDLE));
        let mut t = FlowTable::new(16);
        t.timeouts = Timeouts::default();
        let (mut out, mut st) = (Out::new(1 << 16), Stats::new());
        for i in 0..40u16 {
            let mut p = pkt(1, 2, 1000 + i, 53, IPPROTO_UDP, 0, i as u64);
            t.update(&mut p, None, &mut out, &mut st);
        }
        assert_eq!(st.v[ST_FLOWS_EVICTED], 24.0);
        t.drain(&mut out, &mut st);
        assert_eq!(flows_in(&out).len(), 40);
    }

    #[test]
    fn syn_after_fin_starts_a_new_flow() {
        let mut t = FlowTable::new(16);
        let (mut out, mut st) = (Out::new(1 << 16), Stats::new());
        for (s, d, sp, dp, fl) in [
            (1, 2, 5000, 80, TCP_SYN),
            (2, 1, 80, 5000, TCP_SYN | TCP_ACK),
            (1, 2, 5000, 80, TCP_ACK),
            (1, 2, 5000, 80, TCP_FIN | TCP_ACK),
            (2, 1, 80, 5000, TCP_FIN | TCP_ACK),
            (1, 2, 5000, 80, TCP_SYN),
        ] {
            let mut p = pkt(s, d, sp, dp, IPPROTO_TCP, fl, 1);
            t.update(&mut p, None, &mut out, &mut st);
        }
        t.drain(&mut out, &mut st);
        assert_eq!(flows_in(&out), vec![(1.0, END_FIN, 3.0, 2.0), (2.0, END_EOF, 1.0, 0.0)]);
    }

    #[test]
    fn index_survives_many_inserts_and_removals() {
        let mut t = FlowTable::new(64);
        t.timeouts.other_idle_ns = 3;
        let (mut out, mut st) = (Out::new(2 << 20), Stats::new());
        for i in 0..5000u64 {
            let mut p = pkt((i % 7) as u8, (i % 11) as u8, (i % 97) as u16, 53, IPPROTO_UDP, 0, i);
            t.update(&mut p, None, &mut out, &mut st);
            t.expire(&mut out, &mut st);
            let (key, _) = Key::of(&p);
            assert!(t.find(&key, key.hash()).is_some());
        }
        t.drain(&mut out, &mut st);
        let total: f64 = flows_in(&out).iter().map(|f| f.2 + f.3).sum();
        assert_eq!(total, 5000.0);
    }
}
