//! One decoder: capture framing -> BPF -> L2..L4 decode -> filters -> statistics -> flows ->
//! events. `feed` decodes every complete record in the input buffer in one call.

use crate::abi::*;
use crate::app::AppTable;
use crate::bpf::{self, Insn};
use crate::capture::{Container, Iface, Record, Step, MAX_PCAP_RECORD};
use crate::filter::{is_loopback, Filter};
use crate::flow::{FlowTable, Timeouts};
use crate::frag::{self, Reassembler};
use crate::link::{self, Net};
use crate::net;
use crate::out::Out;
use crate::packet::{Packet, PF_BAD_CHECKSUM, PF_DEFRAG, PF_REASSEMBLED, PF_ROUTED};
use crate::rate::HostRates;
use crate::shard::Shard;
use crate::stats::Stats;
use crate::transport;
use crate::tunnel::{self, MAX_DEPTH};

/// The input is four equal parts (carry A, A, carry B, B; see ABI.md); each holds the largest record.
pub const MIN_INPUT: usize = 4 * (MAX_PCAP_RECORD + 64 * 1024);
/// The event buffer must hold the largest packet event plus the flows one packet can end.
const MAX_PAYLOAD_COPY: usize = 65535;

pub struct Decoder {
    pub input: Vec<u8>,
    pub scratch: Vec<u8>,
    container: Container,
    /// The process note of a packet whose process comes from a Darwin process block.
    note: Vec<u8>,
    pub eng: Engine,
}

/// Everything but the input, so a record can be decoded while the input is borrowed.
pub struct Engine {
    pub out: Out,
    pub stats: Stats,
    pub flows: FlowTable,
    pub filter: Filter,
    pub apps: AppTable,
    pub rates: HostRates,
    /// The share of the packets this decoder decodes (parallel decoding); the rest move its clock.
    pub shard: Shard,
    bpf_on: bool,
    bpf: Vec<(u32, Vec<Insn>)>,
    pkt: Packet,
    /// The carriers of the current packet's tunnels, outermost first (see `decapsulate`).
    carriers: Vec<Packet>,
    /// Fragments of outer IP datagrams, until they make a whole one.
    frags: Reassembler,
    /// Zeek's TCP and UDP checksum checks (conn tracking's CONN_MODE_CHECKSUMS).
    verify_checksums: bool,
    emit_packets: bool,
    payload_max: usize,
    frame: u64,
    pub status: u32,
    pub need_linktype: u32,
    pub error: u32,
    pub error_offset: u64,
    file_offset: u64,
}

/// Most memory one decoder may plan for: wasm32 addresses 4 GiB and the engine needs room too.
/// Beyond it `new` refuses up front, where an allocation failure would abort (a trap in wasm).
pub const MEMORY_BUDGET: usize = 2 << 30;

impl Decoder {
    /// `None` when the buffers and the flow table would not fit in `MEMORY_BUDGET`.
    pub fn new(input_cap: usize, out_cap: usize, max_flows: usize) -> Option<Decoder> {
        let input_cap = input_cap.max(MIN_INPUT);
        let out_cap = out_cap.max(1 << 20);
        let planned = input_cap.checked_add(out_cap)?.checked_add(FlowTable::bytes_for(max_flows)?)?;
        if planned > MEMORY_BUDGET {
            return None;
        }
        Some(Decoder {
            input: vec![0; input_cap],
            scratch: vec![0; SCRATCH_BYTES],
            container: Container::new(input_cap / 4),
            note: Vec::new(),
            eng: Engine::new(Out::new(out_cap), FlowTable::new(max_flows)),
        })
    }

    /// Back to the state `new` left it in, settings included, keeping its memory: the input and
    /// scratch areas are the caller's to fill before use, the event buffer and the flow table
    /// are cleared only where they were used. Creating a decoder zeroes ~10 MiB; this does not.
    pub fn reset(&mut self) {
        self.container = Container::new(self.input.len() / 4);
        self.eng = self.eng.renewed();
    }

    pub fn begin_file(&mut self) {
        self.container.begin_file();
        self.eng.frame = 0;
        self.eng.file_offset = 0;
        self.eng.error = ERR_NONE;
        self.eng.status = STATUS_NEED_INPUT;
    }

    pub fn set_timeouts(&mut self, t: Timeouts) {
        self.eng.flows.timeouts = t;
    }

    /// Zeek's view of each connection (wasm/src/conn.rs) in the flow records, from the next flow on.
    /// `mode`: CONN_MODE_* bits.
    pub fn set_conn_tracking(&mut self, mode: u32) {
        self.eng.flows.set_conn_tracking(mode & CONN_MODE_ON != 0);
        self.eng.verify_checksums = mode & CONN_MODE_ON != 0 && mode & CONN_MODE_CHECKSUMS != 0;
    }

    pub fn set_packet_output(&mut self, on: bool, payload_max: usize) {
        self.eng.emit_packets = on;
        self.eng.payload_max = payload_max.min(MAX_PAYLOAD_COPY);
    }

    pub fn enable_bpf(&mut self, on: bool) {
        self.eng.bpf_on = on;
    }

    /// Installs the program for a link type from `count` instructions in the scratch area.
    pub fn set_bpf(&mut self, linktype: u32, count: usize) -> bool {
        if count == 0 || count * BPF_INSN_BYTES > self.scratch.len() {
            return false;
        }
        let prog: Vec<Insn> = self.scratch[..count * BPF_INSN_BYTES].chunks(BPF_INSN_BYTES).map(Insn::from_bytes).collect();
        if !bpf::validate(&prog) {
            return false;
        }
        self.eng.bpf.retain(|(lt, _)| *lt != linktype);
        self.eng.bpf.push((linktype, prog));
        true
    }

    /// Decodes complete records in `input[start..start + len]`; returns the bytes consumed.
    pub fn feed(&mut self, start: usize, len: usize, eof: bool) -> usize {
        let start = start.min(self.input.len());
        let end = start + len.min(self.input.len() - start);
        let window = &self.input[start..end];
        let len = window.len();
        let mut pos = 0usize;
        let e = &mut self.eng;
        loop {
            if e.out.room() < e.reserve() {
                e.status = STATUS_OUT_FULL;
                break;
            }
            match self.container.next(&window[pos..], eof) {
                Step::NeedMore => {
                    e.status = if eof && pos == len { STATUS_DONE } else { STATUS_NEED_INPUT };
                    break;
                }
                Step::Skipped(n) => pos += n,
                Step::Invalid(n) => {
                    e.stats.malformed(MAL_RECORD_INVALID);
                    pos += n;
                }
                Step::Name { ipver, addr, name, name_len } => {
                    e.name(ipver, &addr, &window[pos + name..pos + name + name_len]);
                }
                Step::IfStats { consumed, iface, recv, drop, osdrop } => {
                    e.interface_statistics(self.container.ifaces[iface].global_id, recv, drop, osdrop);
                    pos += consumed;
                }
                Step::Interface(i, n) => {
                    let pcapng = self.container.is_pcapng();
                    e.interface(&self.container.ifaces[i], pcapng);
                    pos += n;
                }
                Step::Packet(r) => {
                    let iface = &self.container.ifaces[r.iface];
                    if e.bpf_on && !e.bpf.iter().any(|(lt, _)| *lt == iface.linktype) {
                        e.status = STATUS_NEED_BPF;
                        e.need_linktype = iface.linktype;
                        break;
                    }
                    let at = pos + r.data;
                    let data = &window[at..at + r.caplen];
                    let comment = match (r.comment, r.process.and_then(|i| self.container.processes.get(i))) {
                        (Some((off, len)), _) => Some(&window[pos + off..pos + off + len]),
                        (None, Some(p)) => {
                            process_note(&mut self.note, p.pid, &p.name, &p.path, r.inbound);
                            Some(&self.note[..])
                        }
                        (None, None) if iface.linktype == LINKTYPE_PKTAP => {
                            link::pktap_process(data).map(|(pid, comm, inbound)| {
                                process_note(&mut self.note, pid, comm, &[], inbound);
                                &self.note[..]
                            })
                        }
                        (None, None) => None,
                    };
                    e.packet(data, &r, iface, comment);
                    pos += r.consumed;
                }
                Step::Error(code) => {
                    e.status = STATUS_ERROR;
                    e.error = code;
                    e.error_offset = e.file_offset + pos as u64;
                    break;
                }
            }
        }
        e.file_offset += pos as u64;
        pos
    }

    /// The counters, with the report tables' fold counts brought up to date.
    pub fn stats(&mut self) -> &[f64] {
        let e = &mut self.eng;
        e.stats.v[ST_HOSTS_FOLDED] = e.flows.agg.hosts.folded as f64;
        e.stats.v[ST_PAIRS_FOLDED] = e.flows.agg.pairs.folded as f64;
        e.stats.v[ST_SERVICES_FOLDED] = e.flows.agg.services.folded as f64;
        e.stats.publish()
    }

    /// Emits every flow still in the table; true while more remain (drain the events first).
    pub fn finish(&mut self) -> bool {
        let e = &mut self.eng;
        if e.out.room() < e.rates.room_needed() {
            return true;
        }
        e.rates.flush(&mut e.out, &mut e.stats);
        let more = e.flows.drain(&mut e.out, &mut e.stats);
        for slot in e.flows.released.drain(..) {
            e.apps.release_slot(slot);
        }
        e.stats.v[ST_FLOWS_ACTIVE] = e.flows.active() as f64;
        more
    }
}

impl Engine {
    fn new(out: Out, flows: FlowTable) -> Engine {
        Engine {
            out,
            stats: Stats::new(),
            flows,
            filter: Filter::default(),
            apps: AppTable::default(),
            rates: HostRates::default(),
            shard: Shard::default(),
            bpf_on: false,
            bpf: Vec::new(),
            pkt: Packet::new(),
            carriers: vec![Packet::new(); MAX_DEPTH],
            frags: Reassembler::default(),
            verify_checksums: false,
            emit_packets: false,
            payload_max: 0,
            frame: 0,
            status: STATUS_NEED_INPUT,
            need_linktype: 0,
            error: ERR_NONE,
            error_offset: 0,
            file_offset: 0,
        }
    }

    /// A fresh engine around this one's event buffer and flow table (this one is left empty).
    fn renewed(&mut self) -> Engine {
        self.out.clear();
        Engine::new(std::mem::take(&mut self.out), self.flows.renewed())
    }

    /// Room kept free before each record: its packet event and the flows it may end.
    fn reserve(&self) -> usize {
        let pkt = if self.emit_packets { PKT_PAYLOAD.at + self.payload_max + 8 } else { 0 };
        // A record may complete a fragmented datagram, which is decoded after it: twice the room.
        let app = if self.apps.enabled { 2 * APP_EVENTS_PER_PACKET * APP_EVENT_MAX } else { 0 };
        let comment = CM_TEXT.at + crate::capture::MAX_COMMENT + 8;
        let start = if self.flows.start_events { FS_SIZE } else { 0 };
        // The packet and each tunnel carrier under it: each may end, evict and start a flow (and
        // again for a datagram the record completes).
        let flows = 2 * (1 + MAX_DEPTH) * (4 * FL_SIZE + start);
        // A name event (at most 255 bytes of name) also fits in this.
        (pkt + app + comment + flows + self.rates.room_needed()).max(NM_NAME.at + 256)
    }

    fn interface(&mut self, i: &Iface, pcapng: bool) {
        self.stats.v[ST_INTERFACES] += 1.0;
        let name = &i.name[..i.name.len().min(256)];
        if let Some(ev) = self.out.event(EV_INTERFACE, IF_NAME.at + name.len()) {
            put(ev, IF_ID, i.global_id);
            put(ev, IF_LINKTYPE, i.linktype);
            put(ev, IF_SNAPLEN, i.snaplen);
            put(ev, IF_TS_UNITS, i.units_log10);
            put(ev, IF_NAME_LEN, name.len() as u32);
            put(ev, IF_FORMAT, if pcapng { IF_FORMAT_PCAPNG } else { IF_FORMAT_PCAP });
            put_tail(ev, IF_NAME, name);
        }
    }

    fn name(&mut self, ipver: u8, addr: &[u8; 16], name: &[u8]) {
        if let Some(ev) = self.out.event(EV_NAME, NM_NAME.at + name.len()) {
            put(ev, NM_IPVER, ipver);
            put(ev, NM_NAME_LEN, name.len() as u16);
            put(ev, NM_ADDR, *addr);
            put_tail(ev, NM_NAME, name);
        }
    }

    fn interface_statistics(&mut self, iface: u32, recv: Option<u64>, drop: Option<u64>, osdrop: Option<u64>) {
        if let Some(ev) = self.out.event(EV_IFSTATS, IS_SIZE) {
            put(ev, IS_IFACE, iface);
            let mut has = 0;
            for (bit, at, v) in [(IS_HAS_RECV, IS_RECV, recv), (IS_HAS_DROP, IS_DROP, drop), (IS_HAS_OSDROP, IS_OSDROP, osdrop)] {
                if let Some(v) = v {
                    has |= bit;
                    put(ev, at, v as f64);
                }
            }
            put(ev, IS_HAS, has);
        }
    }

    fn packet(&mut self, data: &[u8], r: &Record, iface: &Iface, comment: Option<&[u8]>) {
        let record = self.stats.v[ST_RECORDS] as usize;
        self.stats.v[ST_RECORDS] += 1.0;
        self.frame += 1;
        // The flows' clock is the capture's: every record moves it, filtered or not, decoded here
        // or by another decoder of a parallel run (whose idle flows then end as one decoder's).
        self.flows.tick(r.ts_ns);
        if !self.shard.owns(data, iface.linktype) {
            self.expire();
            return;
        }
        if !self.bpf_passes(data, r, iface) {
            self.stats.v[ST_FILTERED] += 1.0;
            return;
        }
        let p = &mut self.pkt;
        p.reset();
        p.frame = self.frame;
        p.iface = iface.global_id;
        p.linktype = iface.linktype;
        p.ts_ns = r.ts_ns;
        p.caplen = r.caplen as u32;
        p.wirelen = r.wirelen;
        if r.wirelen as usize > r.caplen {
            p.flags |= PF_TRUNCATED;
        }
        decode_layers(data, p);
        // A fragment of the outer datagram waits for the others (unless the capture cut it: Zeek
        // does not reassemble those either); tunnels are not followed from a fragment.
        let defrag = p.flags & (PF_FRAGMENT | PF_TRUNCATED) == PF_FRAGMENT;
        if defrag {
            p.flags |= PF_DEFRAG;
        }
        let depth = self.decapsulate(data);
        let p = &mut self.pkt;
        let fragment_of = self.flows.fragment_flow(p);
        // Filters and counters see the innermost packet.
        if self.filter.active() && !self.filter.matches(p, record) {
            self.stats.v[ST_FILTERED] += 1.0;
            return;
        }
        self.stats.count(p);
        self.rates.add(p, &mut self.out, &mut self.stats);
        self.carrier_flows(depth);
        let p = &mut self.pkt;
        if p.flags & PF_L4 != 0 || fragment_of.is_some() {
            // Packets that reached the upper layer belong to a flow, and non-first fragments whose
            // first fragment was seen; packets whose IP header was unusable do not.
            let idx = self.flows.update(p, fragment_of, &mut self.out, &mut self.stats);
            if p.flags & PF_L4 != 0 {
                let fa = self.flows.app_mut(idx);
                self.apps.packet(fa, p, data, &mut self.out, &mut self.stats);
                p.app = fa.proto;
                // Only TCP and UDP flows carry an application the decoder can find.
                let carrier = p.ip_proto == net::IPPROTO_TCP || p.ip_proto == net::IPPROTO_UDP;
                p.app_decided = fa.proto != APP_UNKNOWN || fa.done || !self.apps.enabled || !carrier;
            }
        } else if p.flags & (PF_FRAGMENT | PF_FIRST_FRAGMENT) == PF_FRAGMENT {
            self.stats.v[ST_FRAGMENTS_UNMATCHED] += 1.0;
        }
        // The packet's event first: the room reserved for it must not go to expiring flows.
        if self.emit_packets {
            write_packet(&mut self.out, &self.pkt, data, self.payload_max);
        }
        if let Some(text) = comment {
            write_comment(&mut self.out, &self.pkt, text);
        }
        if defrag && self.add_fragment(data) {
            self.reassembled();
        }
        self.expire();
    }

    fn bpf_passes(&self, data: &[u8], r: &Record, iface: &Iface) -> bool {
        !self.bpf_on
            || match self.bpf.iter().find(|(lt, _)| *lt == iface.linktype) {
                Some((_, prog)) => bpf::run(prog, data, r.wirelen) != 0,
                None => false,
            }
    }

    fn expire(&mut self) {
        self.flows.expire(&mut self.out, &mut self.stats);
        for slot in self.flows.released.drain(..) {
            self.apps.release_slot(slot);
        }
    }
}

/// A process macOS noted (a pcapng Darwin process block, a PKTAP header) as the note
/// wiresight's own pcapng comments carry ("wiresight process role=… pid=… name=… exe=…",
/// src/proc/comment.ts), so captures from macOS name their processes as wiresight's do. Without
/// a name, the path's last part names it.
fn process_note(note: &mut Vec<u8>, pid: u32, name: &[u8], path: &[u8], inbound: bool) {
    note.clear();
    note.extend_from_slice(if inbound { b"wiresight process role=received pid=" } else { b"wiresight process role=sent pid=" });
    note.extend_from_slice(pid.to_string().as_bytes());
    note.extend_from_slice(b" name=");
    let base = path.rsplit(|&b| b == b'/').next().unwrap_or(&[]);
    note.extend_from_slice(if !name.is_empty() { name } else if !base.is_empty() { base } else { b"?" });
    if !path.is_empty() {
        note.extend_from_slice(b" exe=");
        note.extend_from_slice(path);
    }
}

impl Engine {
    /// Hands the current packet (a fragment) to reassembly; true when it completed its datagram.
    fn add_fragment(&mut self, data: &[u8]) -> bool {
        let (p, at) = (&self.pkt, self.pkt.frag);
        let range = |a: u32, b: u32| data.get(a as usize..b as usize);
        let (header, body) = match (range(at.l3_off, at.hdr_end), range(at.data_off, at.data_end)) {
            (Some(h), Some(b)) => (h, b),
            _ => return false,
        };
        let key = frag::Key { src: p.src, dst: p.dst, id: p.ip_id, proto: at.next, v6: p.l3 == L3_IPV6 };
        let f = frag::Fragment {
            key,
            header,
            nh_pos: at.nh_pos as usize,
            next: at.next,
            offset: at.offset as usize,
            more: at.more,
            data: body,
            ts_ns: p.ts_ns,
        };
        self.frags.add(&f)
    }

    /// Decodes the datagram reassembly just completed as a packet of the current record: its
    /// flow already counted its fragments (Zeek's conn counts it instead); what it carries, a
    /// tunnel's inner packets, are new packets of their flows.
    fn reassembled(&mut self) {
        let whole = std::mem::take(&mut self.frags.out);
        let p = &mut self.pkt;
        p.reset();
        p.caplen = whole.len() as u32;
        p.wirelen = whole.len() as u32;
        decode_network(&whole, Net::Ip, 0, p);
        p.flags |= PF_REASSEMBLED;
        let depth = self.decapsulate(&whole);
        self.carrier_flows(depth);
        let p = &mut self.pkt;
        if p.flags & PF_L4 != 0 {
            let idx = self.flows.update(p, None, &mut self.out, &mut self.stats);
            if p.flags & PF_REASSEMBLED == 0 {
                let fa = self.flows.app_mut(idx);
                self.apps.packet(fa, p, &whole, &mut self.out, &mut self.stats);
            }
        }
        self.frags.out = whole;
    }

    /// Follows tunnels from the decoded packet inwards, keeping each carrier in `carriers`; the
    /// packet ends up as the innermost one. Returns how many carriers there are.
    fn decapsulate(&mut self, data: &[u8]) -> usize {
        let mut depth = 0;
        loop {
            // Zeek drops a packet whose checksum is wrong before anything reads its payload.
            if self.verify_checksums && !transport::checksum_ok(data, &self.pkt) {
                self.pkt.flags |= PF_BAD_CHECKSUM;
                break;
            }
            let found = match tunnel::find(data, &self.pkt) {
                Some(f) => f,
                None => break,
            };
            if depth == MAX_DEPTH {
                // Hostile nesting: the packet stays the carrier it is.
                self.pkt.mark(MAL_TUNNEL_TOO_DEEP);
                break;
            }
            self.carriers[depth].clone_from(&self.pkt);
            decode_inner(data, &found, &mut self.pkt);
            if !matches!(self.pkt.l3, L3_IPV4 | L3_IPV6 | L3_ARP) {
                // Nothing we read inside (a keepalive, an unknown payload): the carrier stays the packet.
                self.pkt.clone_from(&self.carriers[depth]);
                break;
            }
            depth += 1;
        }
        depth
    }

    /// Counts each carrier in its own flow, outermost first: each one's flow is a parent of the
    /// flows inside it, down to the innermost packet's.
    fn carrier_flows(&mut self, depth: usize) {
        let mut parents = [0u64; MAX_DEPTH];
        for (i, c) in self.carriers[..depth].iter_mut().enumerate() {
            c.parents = parents;
            self.flows.update(c, None, &mut self.out, &mut self.stats);
            parents[i] = c.flow_id;
        }
        self.pkt.parents = parents;
    }
}

/// Writes one EV_COMMENT event for a packet that carries a pcapng comment.
fn write_comment(out: &mut Out, p: &Packet, text: &[u8]) {
    if let Some(e) = out.event(EV_COMMENT, CM_TEXT.at + text.len()) {
        put(e, CM_FRAME, p.frame as f64);
        put(e, CM_FLOW_ID, p.flow_id as f64);
        put(e, CM_WIRELEN, p.wirelen);
        put(e, CM_FROM_RESPONDER, (p.flags & PF_FROM_RESPONDER != 0) as u8);
        put(e, CM_TEXT_LEN, text.len() as u16);
        put_tail(e, CM_TEXT, text);
    }
}

/// Writes one EV_PACKET event with up to `payload_max` payload bytes.
fn write_packet(out: &mut Out, p: &Packet, data: &[u8], payload_max: usize) {

    let off = (p.payload_off as usize).min(data.len());
    let copy = (p.payload_len as usize).min(payload_max).min(data.len() - off);
    let e = match out.event(EV_PACKET, PKT_PAYLOAD.at + copy) {
        Some(e) => e,
        None => return,
    };
    put(e, PKT_TS_SEC, (p.ts_ns / 1_000_000_000) as f64);
    put(e, PKT_TS_NSEC, (p.ts_ns % 1_000_000_000) as u32);
    put(e, PKT_IFACE, p.iface);
    put(e, PKT_CAPLEN, p.caplen);
    put(e, PKT_WIRELEN, p.wirelen);
    put(e, PKT_LINKTYPE, p.linktype as u16);
    put(e, PKT_ETHERTYPE, p.ethertype);
    put(e, PKT_VLAN_OUTER, p.vlan[0]);
    put(e, PKT_VLAN_INNER, p.vlan[1]);
    put(e, PKT_L3, p.l3);
    put(e, PKT_IP_PROTO, p.ip_proto);
    put(e, PKT_MALFORMED, p.malformed);
    put(e, PKT_TTL, p.ttl);
    put(e, PKT_FLAGS, p.flags & !PF_ROUTED);
    put(e, PKT_SRC, p.src);
    put(e, PKT_DST, p.dst);
    put(e, PKT_SPORT, p.sport);
    put(e, PKT_DPORT, p.dport);
    put(e, PKT_TCP_FLAGS, p.tcp_flags);
    put(e, PKT_ICMP_TYPE, p.icmp_type);
    put(e, PKT_ICMP_CODE, p.icmp_code);
    put(e, PKT_FLOW_ID, p.flow_id as f64);
    put(e, PKT_SRC_MAC, p.src_mac);
    put(e, PKT_DST_MAC, p.dst_mac);
    put(e, PKT_PAYLOAD_COPIED, copy as u16);
    put(e, PKT_TCP_WINDOW, p.tcp_window);
    put(e, PKT_IP_LEN, p.ip_len);
    put(e, PKT_PAYLOAD_OFF, p.payload_off);
    put(e, PKT_PAYLOAD_LEN, p.payload_len);
    put(e, PKT_TCP_SEQ, p.tcp_seq);
    put(e, PKT_TCP_ACK, p.tcp_ack);
    put(e, PKT_ICMP_ID, p.icmp_id);
    put(e, PKT_FRAME, p.frame as f64);
    put(e, PKT_APP, p.app);
    put(e, PKT_APP_DECIDED, p.app_decided as u8);
    put_tail(e, PKT_PAYLOAD, &data[off..off + copy]);
}

/// Link, network and transport layers of one frame.
pub fn decode_layers(data: &[u8], p: &mut Packet) {
    let (kind, off) = link::decode(p.linktype, data, p);
    decode_network(data, kind, off, p);
}

/// The layers of the packet inside the tunnel `found` that `p` carries, over `p`'s own.
pub fn decode_inner(data: &[u8], found: &tunnel::Found, p: &mut Packet) {
    p.begin_inner(found.encap);
    // The inner packet ends where the carrier's payload does (not at Ethernet padding).
    let d = &data[..found.end];
    let (kind, off) = link::decode_inner(found.link, d, found.off, p);
    decode_network(d, kind, off, p);
}

/// Network and transport layers, from what the link layer found.
fn decode_network(data: &[u8], kind: Net, off: usize, p: &mut Packet) {
    let upper = match kind {
        Net::Ip => match data.get(off).map(|b| b >> 4) {
            Some(6) => net::ipv6(data, off, p),
            _ => net::ipv4(data, off, p),
        },
        Net::Ipv4 => net::ipv4(data, off, p),
        Net::Ipv6 => net::ipv6(data, off, p),
        Net::Arp => {
            net::arp(data, off, p);
            None
        }
        Net::Other(et) => {
            p.l3 = L3_OTHER;
            p.ethertype = et;
            None
        }
        Net::Broken => None,
        Net::Unsupported => {
            p.l3 = L3_UNSUPPORTED_LINK;
            None
        }
    };
    if p.l3 == L3_IPV4 || p.l3 == L3_IPV6 {
        if is_loopback(p.l3, &p.src) || is_loopback(p.l3, &p.dst) {
            p.flags |= PF_LOOPBACK;
        }
    }
    if let Some(up) = upper {
        transport::decode(data, up, p);
    }
}

#[cfg(test)]
mod tunnel_tests {
    use super::*;

    /// An IPv4 header (10.0.0.`host` -> 10.0.1.`host`) with protocol `proto` around `payload`.
    fn ipv4(proto: u8, host: u8, payload: &[u8]) -> Vec<u8> {
        let total = (20 + payload.len()) as u16;
        let mut h = vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, host, 10, 0, 1, host];
        h.extend_from_slice(payload);
        h
    }

    /// A UDP datagram in `levels` of IP-in-IP, decoded and decapsulated as `packet` does it.
    fn nested(levels: usize) -> (Engine, usize) {
        let mut frame = ipv4(net::IPPROTO_UDP, 0, &[0x30, 0x39, 0, 53, 0, 12, 0, 0, 1, 2, 3, 4]);
        for level in 0..levels {
            frame = ipv4(4, 1 + level as u8, &frame);
        }
        let mut e = Decoder::new(0, 0, 64).unwrap().eng;
        e.pkt.linktype = LINKTYPE_RAW;
        decode_layers(&frame, &mut e.pkt);
        let depth = e.decapsulate(&frame);
        (e, depth)
    }

    #[test]
    fn each_tunnel_level_is_a_parent_of_the_inner_flow() {
        let (mut e, depth) = nested(MAX_DEPTH);
        assert_eq!(depth, MAX_DEPTH);
        assert_eq!((e.pkt.ip_proto, e.pkt.dport, e.pkt.malformed), (net::IPPROTO_UDP, 53, MAL_NONE));
        assert_eq!((e.pkt.parent_count as usize, e.pkt.encap), (MAX_DEPTH, ENCAP_IP));
        e.carrier_flows(depth);
        // The carriers' flows were made outermost first, so they hold ids 1..=4.
        assert_eq!(e.pkt.parents, [1, 2, 3, 4]);
        assert_eq!(e.carriers[3].parents[..3], [1, 2, 3]);
        // The inner packet's flow counts its own IP length, not the frame's.
        assert_eq!(e.pkt.flow_bytes(), 20 + 12);
    }

    #[test]
    fn nesting_past_the_limit_is_refused_cleanly() {
        let (e, depth) = nested(MAX_DEPTH + 2);
        assert_eq!(depth, MAX_DEPTH);
        // The packet stays the 4th carrier: an IP-in-IP packet, marked.
        assert_eq!((e.pkt.ip_proto, e.pkt.malformed), (4, MAL_TUNNEL_TOO_DEEP));
    }
}
