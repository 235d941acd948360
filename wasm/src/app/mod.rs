//! Application layer: what each flow carries (payload detection first), TCP streams put back in
//! order for the parsers that need whole messages, and EV_APP events with the metadata (ABI.md,
//! "APP event"). Memory is bounded: streams hold at most APP_STREAM_MAX bytes each and
//! APP_BUFFER_BUDGET together; a flow stops being inspected once its parser has what it wants.

pub mod detect;
pub mod dhcp;
pub mod dns;
pub mod dns_rdata;
pub mod event;
pub mod expect;
pub mod ftp;
pub mod h2;
pub mod hpack;
pub mod http;
pub mod ntp;
pub mod quic;
pub mod ssh;
pub mod starttls;
pub mod stream;
pub mod text;
pub mod tls;

use crate::abi::*;
use crate::net::{IPPROTO_TCP, IPPROTO_UDP};
use crate::out::Out;
use crate::packet::Packet;
use crate::stats::Stats;
use event::{Ctx, Fields};
use stream::Stream;

const NIL: u32 = u32::MAX;
/// Payload packets a flow gets to show what it is before detection gives up.
const DETECT_TRIES: u8 = 4;
/// A first TCP payload shorter than this may be a request sent a byte at a time ("G", "E" ...):
/// such a flow's stream is kept and detection runs again on it as it grows.
const TOO_SHORT_TO_TELL: usize = 16;
/// Segments an undecided stream gets before detection gives up on it.
const UNDECIDED_TRIES: u8 = 16;

/// A flow's application-layer state, kept in its flow record.
#[derive(Clone, Copy, Debug)]
pub struct FlowApp {
    pub proto: u8,
    pub source: u8,
    /// Index of its stream state in the AppTable (NIL: none).
    pub slot: u32,
    /// Detection attempts, then messages seen (parsers that want only the first few).
    pub count: u8,
    pub done: bool,
}

impl Default for FlowApp {
    fn default() -> FlowApp {
        FlowApp { proto: APP_UNKNOWN, source: APP_SRC_NONE, slot: NIL, count: 0, done: false }
    }
}

/// What a stream parser did with the bytes it was given.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// Bytes to drop from the front of the stream.
    pub consumed: usize,
    /// Bytes to discard after those, as they arrive (message bodies).
    pub skip: u64,
    /// Nothing more to learn from this flow.
    pub done: bool,
}

/// Parsers of protocols whose messages may span TCP segments.
pub trait StreamParser {
    /// Parses the in-order bytes of direction `dir` (0 initiator, 1 responder).
    fn parse(&mut self, ctx: &mut Ctx, dir: usize, data: &[u8]) -> Parsed;
}

enum Parser {
    /// Not known yet: the stream's first bytes wait for detection (see TOO_SHORT_TO_TELL).
    Undecided,
    Dns(dns::TcpDns),
    Http(http::Http),
    Tls(tls::Tls),
    Ssh(ssh::Ssh),
    Starttls(starttls::Starttls),
    Ftp(ftp::Ftp),
}

impl Parser {
    fn for_app(app: u8) -> Option<Parser> {
        Some(match app {
            APP_DNS | APP_MDNS | APP_LLMNR => Parser::Dns(dns::TcpDns),
            APP_HTTP => Parser::Http(http::Http::default()),
            APP_TLS => Parser::Tls(tls::Tls::default()),
            APP_SSH => Parser::Ssh(ssh::Ssh::default()),
            APP_FTP => Parser::Ftp(ftp::Ftp::default()),
            APP_SMTP | APP_POP3 | APP_IMAP | APP_XMPP | APP_MYSQL => Parser::Starttls(starttls::Starttls::new(app)),
            _ => return None,
        })
    }

    fn parse(&mut self, ctx: &mut Ctx, dir: usize, data: &[u8]) -> Parsed {
        match self {
            Parser::Dns(p) => p.parse(ctx, dir, data),
            Parser::Http(p) => p.parse(ctx, dir, data),
            Parser::Tls(p) => p.parse(ctx, dir, data),
            Parser::Ssh(p) => p.parse(ctx, dir, data),
            Parser::Starttls(p) => p.parse(ctx, dir, data),
            Parser::Ftp(p) => p.parse(ctx, dir, data),
            Parser::Undecided => Parsed::default(),
        }
    }
}

struct State {
    streams: [Stream; 2],
    parser: Parser,
}

impl State {
    fn held(&self) -> usize {
        self.streams[0].held() + self.streams[1].held()
    }
}

pub struct AppTable {
    states: Vec<Option<Box<State>>>,
    free: Vec<u32>,
    /// Bytes all streams hold.
    held: usize,
    fields: Fields,
    /// Data connections that control flows announced.
    expected: expect::Expected,
    pub enabled: bool,
}

impl Default for AppTable {
    fn default() -> AppTable {
        AppTable {
            states: Vec::new(),
            free: Vec::new(),
            held: 0,
            fields: Fields::new(),
            expected: expect::Expected::default(),
            enabled: true,
        }
    }
}

impl AppTable {
    /// Looks at a packet of a flow (after flow accounting, so `p.flow_id` is set).
    pub fn packet(&mut self, fa: &mut FlowApp, p: &Packet, data: &[u8], out: &mut Out, stats: &mut Stats) {
        if fa.done || !self.enabled {
            return;
        }
        // Announced data channels are rare: the cheapest test first.
        if !self.expected.is_empty()
            && fa.proto == APP_UNKNOWN
            && fa.slot == NIL
            && fa.count == 0
            && p.ip_proto == IPPROTO_TCP
            && self.data_channel(fa, p, out, stats)
        {
            return;
        }
        let start = p.payload_off as usize;
        let payload = data.get(start..start + p.payload_len as usize).unwrap_or(&[]);
        let dir = (p.flags & PF_FROM_RESPONDER != 0) as usize;
        if payload.is_empty() {
            // A packet without payload still lets messages that waited for room go out.
            if fa.slot != NIL {
                let mut ctx = Ctx::new(out, stats, &mut self.fields, p, fa.proto);
                if let Some(state) = self.states.get_mut(fa.slot as usize).and_then(|s| s.as_mut()) {
                    let before = state.held();
                    for d in 0..2 {
                        drive(state, fa, &mut ctx, d);
                    }
                    self.held = self.held + state.held() - before;
                }
                if let Some(a) = ctx.announced {
                    self.expected.add(a, p.flow_id);
                }
            }
            return;
        }
        if fa.proto == APP_UNKNOWN && fa.slot == NIL {
            match detect::detect(p, payload) {
                Some(app) => {
                    fa.proto = app;
                    fa.source = APP_SRC_PAYLOAD;
                }
                None if p.ip_proto == IPPROTO_TCP && payload.len() < TOO_SHORT_TO_TELL => {}
                None => {
                    fa.count += 1;
                    fa.done = fa.count >= DETECT_TRIES;
                    return;
                }
            }
            fa.count = 0;
        }
        let mut ctx = Ctx::new(out, stats, &mut self.fields, p, fa.proto);
        match (p.ip_proto, fa.proto) {
            (IPPROTO_UDP, APP_DNS | APP_MDNS | APP_LLMNR) => dns::message(&mut ctx, payload, IPPROTO_UDP),
            (IPPROTO_UDP, APP_QUIC) => {
                fa.count += 1;
                fa.done = !quic::datagram(&mut ctx, payload, fa.count);
            }
            (IPPROTO_UDP, APP_DHCP) => dhcp::datagram(&mut ctx, payload),
            (IPPROTO_UDP, APP_NTP) => ntp::datagram(&mut ctx, payload),
            (IPPROTO_TCP, app) => {
                let syn = p.tcp_flags & 0x02 != 0;
                // Split borrows: the context holds `fields`, the streams live in `states`.
                let (states, free, held) = (&mut self.states, &mut self.free, &mut self.held);
                stream_packet(states, free, held, fa, app, &mut ctx, dir, p.tcp_seq, syn, payload);
            }
            // Detected by signature only (SNMP, syslog ...): nothing more to extract.
            _ => fa.done = true,
        }
        if let Some(a) = ctx.announced {
            self.expected.add(a, p.flow_id);
        }
        if fa.done {
            self.release(fa);
        }
    }

    /// A new TCP flow to an address and port a control flow announced: marked as its data
    /// channel (APP_SRC_LINKED) with an AK_FTP_DATA event naming the control flow.
    fn data_channel(&mut self, fa: &mut FlowApp, p: &Packet, out: &mut Out, stats: &mut Stats) -> bool {
        let from_responder = p.flags & PF_FROM_RESPONDER != 0;
        let (addr, port) = if from_responder { (&p.src, p.sport) } else { (&p.dst, p.dport) };
        let control = match self.expected.take(&expect::Announced::new(p.l3, addr, port)) {
            Some(c) => c,
            None => return false,
        };
        *fa = FlowApp { proto: APP_FTP_DATA, source: APP_SRC_LINKED, done: true, ..FlowApp::default() };
        let mut ctx = Ctx::new(out, stats, &mut self.fields, p, APP_FTP_DATA);
        ctx.dir = 0;
        ctx.fields.u32(F_FTP_CONTROL_FLOW, control as u32);
        ctx.emit(AK_FTP_DATA);
        true
    }

    /// Frees a flow's stream state (its parser is done).
    fn release(&mut self, fa: &mut FlowApp) {
        self.release_slot(fa.slot);
        fa.slot = NIL;
    }

    /// Frees the stream state of a flow that ended.
    pub fn release_slot(&mut self, slot: u32) {
        if let Some(state) = self.states.get_mut(slot as usize).and_then(|s| s.take()) {
            self.held -= state.held();
            self.free.push(slot);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn stream_packet(
    states: &mut Vec<Option<Box<State>>>,
    free: &mut Vec<u32>,
    held: &mut usize,
    fa: &mut FlowApp,
    app: u8,
    ctx: &mut Ctx,
    dir: usize,
    seq: u32,
    syn: bool,
    payload: &[u8],
) {
    if fa.slot == NIL {
        // The parser is made with the flow's state, once: making and dropping one per packet was
        // ~8% of the application layer's instructions on the bench capture.
        let parser = match app {
            APP_UNKNOWN => Parser::Undecided,
            app => match Parser::for_app(app) {
                Some(parser) => parser,
                None => {
                    fa.done = true;
                    return;
                }
            },
        };
        if *held >= APP_BUFFER_BUDGET {
            ctx.stats.v[ST_APP_BUDGET_STOPS] += 1.0;
            fa.done = true;
            return;
        }
        let state = Box::new(State { streams: [Stream::default(), Stream::default()], parser });
        fa.slot = match free.pop() {
            Some(i) => {
                states[i as usize] = Some(state);
                i
            }
            None => {
                states.push(Some(state));
                (states.len() - 1) as u32
            }
        };
    }
    let state = match states.get_mut(fa.slot as usize).and_then(|s| s.as_mut()) {
        Some(s) => s,
        None => return,
    };
    let before = state.held();
    state.streams[dir].push(seq, syn, payload);
    if decided(state, fa, ctx, dir) {
        drive(state, fa, ctx, dir);
    }
    *held = *held + state.held() - before;
}

/// For an undecided stream: detection on the bytes gathered so far; true once a parser has them.
fn decided(state: &mut State, fa: &mut FlowApp, ctx: &mut Ctx, dir: usize) -> bool {
    if !matches!(state.parser, Parser::Undecided) {
        return true;
    }
    let data = state.streams[dir].data();
    match detect::detect(ctx.packet, data) {
        Some(app) => {
            fa.proto = app;
            fa.source = APP_SRC_PAYLOAD;
            fa.count = 0;
            ctx.app = app;
            match Parser::for_app(app) {
                Some(parser) => state.parser = parser,
                None => fa.done = true,
            }
        }
        None => {
            fa.count += 1;
            fa.done = data.len() >= TOO_SHORT_TO_TELL || fa.count >= UNDECIDED_TRIES;
        }
    }
    !fa.done && !matches!(state.parser, Parser::Undecided)
}

/// Hands one direction's in-order bytes to the parser until it needs more.
fn drive(state: &mut State, fa: &mut FlowApp, ctx: &mut Ctx, dir: usize) {
    ctx.dir = dir as u8;
    let stream = &mut state.streams[dir];
    loop {
        if matches!(state.parser, Parser::Tls(_)) {
            // Also after STARTTLS: the flow keeps its protocol, its TLS events say TLS.
            ctx.app = APP_TLS;
        }
        if stream.broken {
            ctx.stats.v[ST_APP_STREAM_GAPS] += 1.0;
            fa.done = true;
            return;
        }
        if stream.data().is_empty() {
            return;
        }
        let r = state.parser.parse(ctx, dir, stream.data());
        stream.consume(r.consumed);
        if r.skip > 0 {
            stream.skip(r.skip);
        }
        if ctx.starttls {
            // The protocol hands the connection to TLS: a TLS parser reads what follows.
            ctx.starttls = false;
            state.parser = Parser::Tls(tls::Tls::default());
            continue;
        }
        if r.done {
            fa.done = true;
            return;
        }
        if r.consumed == 0 {
            return;
        }
    }
}

/// Drives payloads through the dispatcher as one flow, for the parsers' unit tests.
#[cfg(test)]
pub mod testing {
    use super::*;

    /// One packet of the test flow: direction (0 initiator), transport, ports, TCP seq and flags.
    pub struct Seg<'a> {
        pub dir: u8,
        pub proto: u8,
        pub sport: u16,
        pub dport: u16,
        pub seq: u32,
        pub tcp_flags: u16,
        pub payload: &'a [u8],
    }

    /// TCP segments of a flow to `port` from (direction, bytes) pieces, each direction's sequence
    /// numbers following on.
    pub fn tcp_segments<'a>(parts: &[(u8, &'a [u8])], port: u16) -> Vec<Seg<'a>> {
        let mut seq = [1000u32, 5000u32];
        parts
            .iter()
            .map(|(dir, p)| {
                let s = seq[*dir as usize];
                seq[*dir as usize] += p.len() as u32;
                let (sport, dport) = if *dir == 0 { (40000, port) } else { (port, 40000) };
                Seg { dir: *dir, proto: crate::net::IPPROTO_TCP, sport, dport, seq: s, tcp_flags: 0x18, payload: p }
            })
            .collect()
    }

    /// A seeded xorshift generator of numbers below `n` (0 for n = 0), for the mutation tests.
    pub fn rand_below(seed: u64) -> impl FnMut(usize) -> usize {
        let mut x = seed;
        move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n.max(1) as u64) as usize
        }
    }

    /// The events of a flow: (kind, fields as (id, value)).
    pub fn run(segs: &[Seg]) -> (FlowApp, Vec<(u8, Vec<(u16, Vec<u8>)>)>) {
        let mut table = AppTable::default();
        let mut fa = FlowApp::default();
        let mut out = Out::new(1 << 20);
        let mut stats = Stats::new();
        for (i, s) in segs.iter().enumerate() {
            let mut p = Packet::new();
            p.l3 = L3_IPV4;
            p.ip_proto = s.proto;
            p.sport = s.sport;
            p.dport = s.dport;
            p.tcp_seq = s.seq;
            p.tcp_flags = s.tcp_flags;
            p.flow_id = 1;
            p.frame = i as u64 + 1;
            p.flags = PF_L4 | PF_PORTS | if s.dir == 1 { PF_FROM_RESPONDER } else { 0 };
            p.payload_len = s.payload.len() as u32;
            table.packet(&mut fa, &p, s.payload, &mut out, &mut stats);
        }
        let mut events = Vec::new();
        let mut off = 0;
        while off < out.len {
            let total = get(&out.buf[off..], EVENT_LEN).unwrap() as usize;
            let e = &out.buf[off..off + total];
            let end = AP_DATA.at + get(e, AP_FIELDS_LEN).unwrap() as usize;
            let mut fields = Vec::new();
            let mut p = AP_DATA.at;
            while p + AF_VALUE.at <= end {
                let (id, len) = (get(&e[p..], AF_ID).unwrap(), get(&e[p..], AF_LEN).unwrap() as usize);
                let value = p + AF_VALUE.at;
                fields.push((id, e[value..value + len].to_vec()));
                p = value + len;
            }
            events.push((get(e, AP_KIND).unwrap(), fields));
            off += total;
        }
        (fa, events)
    }

    /// The values of field `id` in an event's fields.
    pub fn values(fields: &[(u16, Vec<u8>)], id: u16) -> Vec<Vec<u8>> {
        fields.iter().filter(|(i, _)| *i == id).map(|(_, v)| v.clone()).collect()
    }
}
