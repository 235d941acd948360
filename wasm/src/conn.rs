//! Zeek's view of a connection, for its conn.log: who the originator is (Zeek's port heuristic and
//! its flips), each TCP endpoint's state, the history letters, payload sizes and IP bytes per
//! direction. The rules follow Zeek's TCP session adapter, its UDP and ICMP analyzers and its
//! base/protocols/conn script (read, not copied). The flow table keeps one `Conn` per flow only
//! when conn tracking is on (`ws_set_conn_tracking`), so flows cost nothing more without it.

use crate::abi::{END_ATTEMPT, END_FIN, END_IDLE, END_RST};
use crate::net::{IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP};
use crate::packet::{Packet, PF_BAD_CHECKSUM};

const FIN: u16 = 0x01;
const SYN: u16 = 0x02;
const RST: u16 = 0x04;
const ACK: u16 = 0x10;

/// TCP endpoint states, as Zeek numbers them (TCP_ENDPOINT_*); UDP and ICMP use ACTIVE only.
pub const EP_INACTIVE: u8 = 0;
pub const EP_SYN_SENT: u8 = 1;
pub const EP_SYN_ACK_SENT: u8 = 2;
pub const EP_PARTIAL: u8 = 3;
pub const EP_ESTABLISHED: u8 = 4;
pub const EP_CLOSED: u8 = 5;
pub const EP_RESET: u8 = 6;
pub const EP_ACTIVE: u8 = 7;

pub const HISTORY_MAX: usize = 24;
/// Zeek's tcp_attempt_delay.
const ATTEMPT_NS: u64 = 5_000_000_000;
/// Zeek's tcp_close_delay: a connection whose close is complete is removed this long after it.
const CLOSE_DELAY_NS: u64 = 5_000_000_000;
/// Zeek's dns_session_timeout: its DNS analyzer's expire timer on UDP, which removes the
/// connection when it finds it idle for this long less one second.
const DNS_SESSION_NS: u64 = 10_000_000_000;
const DNS_SLACK_NS: u64 = 1_000_000_000;
/// The UDP ports Zeek's DNS analyzer is registered for (base/protocols/dns: DNS::ports).
const DNS_UDP_PORTS: &[u16] = &[53, 137, 5353, 5355];
/// Zeek ignores sequence jumps larger than this on SYNs and RSTs.
const TOO_LARGE_SEQ_DELTA: i32 = 1_048_576;

/// Zeek's likely_server_ports with its default scripts (each analyzer's registered ports): a
/// connection seen first from one of these (and not to one) is flipped.
const LIKELY_TCP: &[u16] = &[
    21, 22, 25, 53, 79, 80, 81, 88, 135, 139, 143, 389, 443, 445, 465, 502, 514, 563, 585, 587, 614, 631,
    636, 989, 990, 992, 993, 995, 1080, 1434, 1883, 2811, 3128, 3268, 3306, 3389, 5222, 5223, 5269, 5432,
    6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000,
];
const LIKELY_UDP: &[u16] = &[
    53, 67, 68, 88, 123, 137, 161, 162, 389, 443, 514, 784, 853, 1812, 3389, 3544, 4011, 4754, 4789, 5060,
    5072, 5353, 5355, 6081, 20000,
];

fn likely_server(proto: u8, port: u16) -> bool {
    match proto {
        IPPROTO_TCP => LIKELY_TCP.contains(&port),
        IPPROTO_UDP => LIKELY_UDP.contains(&port),
        _ => false,
    }
}

/// History bits already logged (Zeek's HIST_*_PKT), per direction: the responder's shifted by 8.
const H_SYN: u16 = 1;
const H_FIN: u16 = 2;
const H_RST: u16 = 4;
const H_FIN_RST: u16 = 8;
const H_MULTI: u16 = 16;
const H_DATA: u16 = 32;
const H_ACK: u16 = 64;

#[derive(Clone, Copy, Debug, Default)]
pub struct Conn {
    /// Zeek's originator is the flow's side B (wiresight's initiator is side A).
    pub orig_is_b: bool,
    /// Per Zeek direction (0 originator, 1 responder) from here on.
    pub pkts: [u64; 2],
    pub ip_bytes: [u64; 2],
    /// UDP and ICMP payload bytes (TCP's come from sequence numbers: `size`).
    payload: [u64; 2],
    pub ep: [u8; 2],
    prev_ep: [u8; 2],
    did_close: [bool; 2],
    fin_seen: [bool; 2],
    start: [u32; 2],
    last: [u32; 2],
    ack: [u32; 2],
    /// Relative sequence numbers of the last SYN, FIN and RST (a repeat with a new one is logged).
    hist_last: [[u32; 3]; 2],
    seen: [u16; 2],
    /// Retransmissions and zero windows: logged at 1, 10, 100, ... (Zeek's scaled history).
    rxmt: [u32; 2],
    win0: [u32; 2],
    /// Packets with a wrong checksum (logged C at 1, 10, 100, ...).
    corrupt: [u32; 2],
    pub first_ns: u64,
    /// The time of the last packet that counts for the duration.
    pub last_ns: u64,
    pub history: [u8; HISTORY_MAX],
    pub hist_len: u8,
    /// When Zeek's close-delay timer removes the connection (0: not scheduled).
    delete_ns: u64,
    /// A UDP connection to a DNS port: Zeek's DNS analyzer's expire timer applies.
    dns_timer: bool,
}

impl Conn {
    /// The connection a flow's first packet opens; `from_b`: that packet came from the flow's side B.
    pub fn open(p: &Packet, from_b: bool) -> Conn {
        let tcp = p.ip_proto == IPPROTO_TCP;
        let syn = p.tcp_flags & SYN != 0;
        let ack = p.tcp_flags & ACK != 0;
        let (s, d) = (p.sport, p.dport);
        let flip = match p.ip_proto {
            // A connection starting without a SYN, or with a SYN-ACK, is guessed by its ports.
            IPPROTO_TCP if !syn || ack => {
                likely_server(IPPROTO_TCP, s) && (!likely_server(IPPROTO_TCP, d) || !syn && s < d)
            }
            IPPROTO_UDP => likely_server(IPPROTO_UDP, s) && !likely_server(IPPROTO_UDP, d),
            _ => false,
        };
        let resp_port = if flip { s } else { d };
        let dns_timer = p.ip_proto == IPPROTO_UDP && DNS_UDP_PORTS.contains(&resp_port);
        let mut c =
            Conn { orig_is_b: from_b != flip, first_ns: p.ts_ns, last_ns: p.ts_ns, dns_timer, ..Conn::default() };
        if flip && (tcp || p.ip_proto == IPPROTO_UDP) {
            c.add('^');
        }
        c
    }

    fn add(&mut self, letter: char) {
        if (self.hist_len as usize) < HISTORY_MAX {
            self.history[self.hist_len as usize] = letter as u8;
            self.hist_len += 1;
        }
    }

    fn history_is(&self, s: &[u8]) -> bool {
        &self.history[..self.hist_len as usize] == s
    }

    fn letter(dir: usize, upper: char) -> char {
        if dir == 0 { upper } else { upper.to_ascii_lowercase() }
    }

    /// Logs the letter the first time; true when it was logged before (Zeek's CheckHistory).
    fn check(&mut self, dir: usize, bit: u16, upper: char) -> bool {
        if self.seen[dir] & bit != 0 {
            return true;
        }
        self.seen[dir] |= bit;
        self.add(Conn::letter(dir, upper));
        false
    }

    /// Logs the letter at the 1st, 10th, 100th ... time.
    fn scaled(&mut self, dir: usize, count: u32, upper: char) {
        let mut t = 1u32;
        while t < count {
            t = t.saturating_mul(10);
        }
        if t == count {
            self.add(Conn::letter(dir, upper));
        }
    }

    fn flip(&mut self) {
        self.orig_is_b = !self.orig_is_b;
        self.pkts.swap(0, 1);
        self.ip_bytes.swap(0, 1);
        self.payload.swap(0, 1);
        self.ep.swap(0, 1);
        self.prev_ep.swap(0, 1);
        self.did_close.swap(0, 1);
        self.fin_seen.swap(0, 1);
        self.start.swap(0, 1);
        self.last.swap(0, 1);
        self.ack.swap(0, 1);
        self.hist_last.swap(0, 1);
        self.seen.swap(0, 1);
        self.rxmt.swap(0, 1);
        self.win0.swap(0, 1);
        self.corrupt.swap(0, 1);
    }

    fn set_state(&mut self, dir: usize, s: u8) {
        self.prev_ep[dir] = self.ep[dir];
        self.ep[dir] = s;
    }

    /// Whether one of Zeek's timers removed the connection before packet `p` (what follows on the
    /// same ports is a new one), and the flow end reason to record.
    pub fn expired(&self, p: &Packet) -> Option<u8> {
        if self.attempt_expired(p) {
            Some(END_ATTEMPT)
        } else if self.delete_ns != 0 && p.ts_ns >= self.delete_ns {
            Some(if self.ep.contains(&EP_RESET) { END_RST } else { END_FIN })
        } else if self.dns_expired(p.ts_ns) {
            Some(END_IDLE)
        } else {
            None
        }
    }

    /// Zeek's attempt timer: a SYN unanswered for 5 s ends the connection (logged S0).
    fn attempt_expired(&self, p: &Packet) -> bool {
        let attempt = self.ep[0] == EP_SYN_SENT || self.ep[0] == EP_SYN_ACK_SENT;
        p.ip_proto == IPPROTO_TCP && attempt && self.ep[1] == EP_INACTIVE && p.ts_ns >= self.first_ns + ATTEMPT_NS
    }

    /// The DNS expire timer fires every 10 s from the start; it removes the connection when the
    /// last packet is at least 9 s before it. Checked lazily: the latest firing before `now` is
    /// the one that sees the longest idle time.
    fn dns_expired(&self, now: u64) -> bool {
        if !self.dns_timer || now < self.first_ns + DNS_SESSION_NS {
            return false;
        }
        let fired = self.first_ns + (now - self.first_ns) / DNS_SESSION_NS * DNS_SESSION_NS;
        fired.saturating_sub(self.last_ns) >= DNS_SESSION_NS - DNS_SLACK_NS
    }

    /// Accounts a packet that came from the flow's side B when `from_b`.
    pub fn update(&mut self, p: &Packet, from_b: bool) {
        let dir = (from_b != self.orig_is_b) as usize;
        if p.flags & PF_BAD_CHECKSUM != 0 {
            // Zeek's TCP and UDP analyzers drop it, noting the corruption in the history only.
            self.corrupt[dir] += 1;
            self.scaled(dir, self.corrupt[dir], 'C');
            return;
        }
        self.pkts[dir] += 1;
        self.ip_bytes[dir] += p.ip_len as u64;
        let l4 = p.flags & crate::abi::PF_L4 != 0;
        match p.ip_proto {
            IPPROTO_TCP if l4 => self.tcp(p, dir),
            IPPROTO_UDP if l4 => {
                self.last_ns = self.last_ns.max(p.ts_ns);
                self.payload[dir] += p.payload_len as u64;
                self.ep[dir] = EP_ACTIVE;
                self.check(dir, H_DATA, 'D');
            }
            IPPROTO_ICMP | IPPROTO_ICMPV6 if l4 => {
                self.last_ns = self.last_ns.max(p.ts_ns);
                // Zeek counts what follows the 8-byte ICMP header.
                self.payload[dir] += p.l4_len.saturating_sub(8) as u64;
                self.ep[dir] = EP_ACTIVE;
            }
            _ => self.last_ns = self.last_ns.max(p.ts_ns),
        }
    }

    fn tcp(&mut self, p: &Packet, dir: usize) {
        let flags = p.tcp_flags;
        let (syn, fin, rst, ack) = (flags & SYN != 0, flags & FIN != 0, flags & RST != 0, flags & ACK != 0);
        let len = p.payload_len;
        let seg_len = if rst { 0 } else { len } + syn as u32 + fin as u32;
        let base = p.tcp_seq;
        let end = base.wrapping_add(seg_len);
        self.init_endpoint(dir, syn, base, end);
        let rel_seq = base.wrapping_sub(self.start[dir]);
        let dir = self.history(dir, flags, rel_seq, len);
        let peer = 1 - dir;
        if p.tcp_window == 0 && !rst && self.ep[peer] != EP_CLOSED && self.ep[dir] != EP_RESET {
            self.win0[dir] += 1;
            self.scaled(dir, self.win0[dir], 'W');
        }
        if !(self.did_close[0] && self.did_close[1]) {
            self.last_ns = self.last_ns.max(p.ts_ns);
        }
        if fin {
            self.fin_seen[dir] = true;
        }
        if ack {
            if self.ep[peer] == EP_INACTIVE {
                let a = p.tcp_ack.wrapping_sub(1);
                self.start[peer] = a;
                self.ack[peer] = a;
                self.last[peer] = a;
            } else if !rst && (p.tcp_ack.wrapping_sub(self.ack[peer]) as i32) > 0 {
                self.ack[peer] = p.tcp_ack;
            }
        }
        self.update_last(dir, end, flags, len);
        let closing = self.state_machine(dir, flags, len, base);
        if closing && !self.did_close[dir] {
            self.did_close[dir] = true;
            // Zeek's ConnectionClosed: a close is complete when the closing side reset, or its
            // peer closed already or never sent anything; the connection is then removed after
            // tcp_close_delay (other timers are cancelled).
            if self.ep[dir] == EP_RESET || self.did_close[peer] || self.ep[peer] == EP_INACTIVE {
                self.delete_ns = p.ts_ns + CLOSE_DELAY_NS;
            }
        }
    }

    fn init_endpoint(&mut self, dir: usize, syn: bool, base: u32, end: u32) {
        let reinit = match self.ep[dir] {
            EP_INACTIVE => {
                if syn {
                    self.start[dir] = base;
                    self.ack[dir] = base;
                    self.last[dir] = end;
                } else {
                    // A partial connection: numbered as though a SYN came just before.
                    self.start[dir] = base.wrapping_sub(1);
                    self.ack[dir] = base.wrapping_sub(1);
                    self.last[dir] = base;
                }
                false
            }
            EP_SYN_SENT | EP_SYN_ACK_SENT => syn && base != self.start[dir],
            EP_ESTABLISHED | EP_PARTIAL => syn,
            EP_RESET => syn && self.prev_ep[dir] == EP_INACTIVE,
            _ => false,
        };
        if reinit {
            self.start[dir] = base;
            self.ack[dir] = base;
            self.last[dir] = end;
        }
    }

    /// Logs the packet's letters; returns its direction, which a flip may have changed.
    fn history(&mut self, dir: usize, flags: u16, rel_seq: u32, len: u32) -> usize {
        let (syn, fin, rst, ack) = (flags & SYN != 0, flags & FIN != 0, flags & RST != 0, flags & ACK != 0);
        let bits = syn as u8 + fin as u8 + rst as u8;
        if bits > 1 {
            if fin && rst {
                self.check(dir, H_FIN_RST, 'I');
            } else {
                self.check(dir, H_MULTI, 'Q');
            }
        } else if bits == 1 {
            let (bit, letter, at, slot) = if syn {
                (H_SYN, if ack { 'H' } else { 'S' }, rel_seq, 0)
            } else if fin {
                // A FIN's sequence number is that after its data.
                (H_FIN, 'F', rel_seq.wrapping_add(len), 1)
            } else {
                (H_RST, 'R', rel_seq, 2)
            };
            if self.check(dir, bit, letter) && at != self.hist_last[dir][slot] {
                self.add(Conn::letter(dir, letter));
            }
            self.hist_last[dir][slot] = at;
        } else if len > 0 {
            return self.productive(dir, H_DATA, 'D');
        } else if ack {
            return self.productive(dir, H_ACK, 'A');
        }
        dir
    }

    /// A pure ACK or data: after a lone SYN-ACK, Zeek decides it missed the SYN and flips.
    fn productive(&mut self, dir: usize, bit: u16, letter: char) -> usize {
        let mut dir = dir;
        if self.history_is(b"H") {
            self.flip();
            self.history[0] = b'^';
            self.history[1] = b'h';
            self.hist_len = 2;
            // The SYN-ACK's sender is now the responder: its letters and states move with it.
            dir = 1 - dir;
        }
        self.check(dir, bit, letter);
        dir
    }

    fn update_last(&mut self, dir: usize, end: u32, flags: u16, len: u32) {
        let delta = end.wrapping_sub(self.last[dir]) as i32;
        let big = !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&delta);
        if flags & (SYN | RST) != 0 && big {
            return; // a wild jump on a SYN or RST says nothing of the stream
        }
        if flags & FIN != 0 && self.last[dir] == self.start[dir].wrapping_add(1) {
            self.last[dir] = end;
        } else if self.ep[dir] == EP_RESET {
            // After a RST, nothing moves the stream on.
        } else if delta > 0 {
            self.last[dir] = end;
        } else if len > 0 {
            self.rxmt[dir] += 1;
            self.scaled(dir, self.rxmt[dir], 'T');
        }
    }

    /// Zeek's per-endpoint state machine; true when the packet closes the endpoint.
    fn state_machine(&mut self, dir: usize, flags: u16, len: u32, base: u32) -> bool {
        let (syn, fin, rst, ack) = (flags & SYN != 0, flags & FIN != 0, flags & RST != 0, flags & ACK != 0);
        let peer = 1 - dir;
        let mut close = false;
        match self.ep[dir] {
            EP_INACTIVE => {
                if syn {
                    if dir == 0 {
                        self.set_state(dir, if ack { EP_SYN_ACK_SENT } else { EP_SYN_SENT });
                    } else {
                        if !ack && self.ep[peer] == EP_SYN_ACK_SENT && base == self.start[dir] {
                            // A SYN answering a SYN-ACK: the roles were reversed.
                            self.flip();
                            self.add('^');
                            self.set_state(0, EP_ESTABLISHED);
                            self.set_state(1, EP_ESTABLISHED);
                            return false;
                        }
                        if self.ep[peer] == EP_SYN_SENT {
                            self.set_state(peer, EP_ESTABLISHED);
                        }
                        self.set_state(dir, EP_ESTABLISHED);
                    }
                }
                if fin {
                    self.set_state(dir, EP_CLOSED);
                    close = true;
                }
                if rst {
                    self.set_state(dir, EP_RESET);
                    close = true;
                }
                if self.ep[dir] == EP_INACTIVE {
                    if dir == 1 && len == 0 && self.ep[0] == EP_SYN_SENT {
                        // An ACK of the SYN before the SYN-ACK: not yet a partial connection.
                    } else if ack && self.ep[peer] == EP_ESTABLISHED {
                        self.set_state(dir, EP_ESTABLISHED);
                    } else {
                        self.set_state(dir, EP_PARTIAL);
                    }
                }
            }
            EP_SYN_SENT | EP_SYN_ACK_SENT => {
                if fin {
                    self.set_state(dir, EP_CLOSED);
                    close = true;
                }
                if rst {
                    self.set_state(dir, EP_RESET);
                    close = true;
                }
            }
            EP_ESTABLISHED | EP_PARTIAL => {
                if syn && self.ep[dir] == EP_PARTIAL && self.ep[peer] == EP_INACTIVE && !ack {
                    self.set_state(dir, EP_SYN_SENT);
                }
                if fin && !rst {
                    self.set_state(dir, EP_CLOSED);
                    if self.ep[peer] == EP_RESET && self.prev_ep[peer] == EP_CLOSED {
                        // A FIN then a RST from the peer was a normal close after all.
                        self.set_state(peer, EP_CLOSED);
                    }
                    close = true;
                }
                if rst {
                    self.set_state(dir, EP_RESET);
                    close = true;
                }
            }
            EP_CLOSED => {
                if rst && self.ep[peer] != EP_CLOSED {
                    self.set_state(dir, EP_RESET);
                    close = !self.did_close[dir];
                }
            }
            _ => {}
        }
        close
    }

    /// Payload bytes of the originator (0) or responder (1), as Zeek's endpoint sizes count them.
    pub fn size(&self, proto: u8, dir: usize) -> u64 {
        if proto != IPPROTO_TCP {
            return self.payload[dir];
        }
        let peer = 1 - dir;
        if self.prev_ep[dir] == EP_SYN_SENT && self.ep[dir] == EP_RESET && self.ep[peer] == EP_INACTIVE {
            // A half-open connection found and aborted: its numbers say nothing of data.
            return 0;
        }
        if self.ep[dir] == EP_INACTIVE {
            return 0;
        }
        let last = self.last[dir].wrapping_sub(self.start[dir]);
        let acked = self.ack[dir].wrapping_sub(self.start[dir]);
        let mut size = if (last as i32) > (acked as i32) { last } else { acked } as i32 as i64;
        if size < 0 {
            size = 0;
        }
        let mut size = size as u64;
        if size != 0 {
            size -= 1; // the SYN's octet
        }
        if self.fin_seen[dir] && size != 0 {
            size -= 1; // the FIN's octet
        }
        size
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{PF_L4, PF_PORTS};

    /// A TCP segment from port `sport` to `dport` at `ms` milliseconds.
    fn seg(sport: u16, dport: u16, flags: u16, seq: u32, ack: u32, len: u32, ms: u64) -> Packet {
        let mut p = Packet::new();
        p.ip_proto = IPPROTO_TCP;
        p.flags = PF_L4 | PF_PORTS;
        (p.sport, p.dport, p.tcp_flags, p.tcp_seq, p.tcp_ack) = (sport, dport, flags, seq, ack);
        p.tcp_window = 1000;
        p.payload_len = len;
        p.ip_len = 40 + len;
        p.ts_ns = ms * 1_000_000;
        p
    }

    fn history(c: &Conn) -> &str {
        std::str::from_utf8(&c.history[..c.hist_len as usize]).unwrap()
    }

    #[test]
    fn a_whole_connection_reads_as_zeek_logs_it() {
        let syn = seg(40000, 80, SYN, 100, 0, 0, 0);
        let mut c = Conn::open(&syn, false);
        let from_client = [&syn, &seg(40000, 80, ACK, 101, 501, 0, 2), &seg(40000, 80, ACK, 101, 501, 10, 3)];
        c.update(from_client[0], false);
        c.update(&seg(80, 40000, SYN | ACK, 500, 101, 0, 1), true);
        c.update(from_client[1], false);
        c.update(from_client[2], false);
        c.update(&seg(80, 40000, ACK, 501, 111, 20, 4), true);
        c.update(&seg(40000, 80, FIN | ACK, 111, 521, 0, 5), false);
        c.update(&seg(80, 40000, FIN | ACK, 521, 112, 0, 6), true);
        c.update(&seg(40000, 80, ACK, 112, 522, 0, 7), false);
        assert_eq!(history(&c), "ShADdFf");
        assert_eq!((c.ep, c.size(IPPROTO_TCP, 0), c.size(IPPROTO_TCP, 1)), ([EP_CLOSED, EP_CLOSED], 10, 20));
        assert_eq!((c.pkts, c.ip_bytes), ([5, 3], [210, 140]));
        // The last ACK, after both FINs, is not part of the duration.
        assert_eq!(c.last_ns, 6_000_000);
    }

    #[test]
    fn a_syn_ack_then_traffic_flips_the_roles() {
        // Seen from the server first (on no likely server port): its SYN-ACK, then the client's ACK.
        let synack = seg(5000, 40000, SYN | ACK, 500, 101, 0, 0);
        let mut c = Conn::open(&synack, false);
        c.update(&synack, false);
        assert_eq!((history(&c), c.orig_is_b), ("H", false));
        c.update(&seg(40000, 5000, ACK, 101, 501, 0, 1), true);
        assert_eq!((history(&c), c.orig_is_b), ("^hA", true));
        // From a likely server port, Zeek flips at once.
        let from_http = seg(80, 40000, SYN | ACK, 500, 101, 0, 0);
        let c = Conn::open(&from_http, false);
        assert_eq!((history(&c), c.orig_is_b), ("^", true));
    }

    #[test]
    fn an_unanswered_syn_expires_after_five_seconds() {
        let syn = seg(40000, 22, SYN, 7, 0, 0, 0);
        let mut c = Conn::open(&syn, false);
        c.update(&syn, false);
        assert_eq!(c.expired(&seg(40000, 22, ACK, 8, 1, 0, 4999)), None);
        assert_eq!(c.expired(&seg(40000, 22, ACK, 8, 1, 0, 5000)), Some(END_ATTEMPT));
    }

    #[test]
    fn a_complete_close_removes_the_connection_five_seconds_later() {
        // A FIN from a side whose peer never sent anything completes the close at once.
        let fin = seg(80, 40000, FIN | ACK, 500, 101, 0, 1000);
        let mut c = Conn::open(&fin, false);
        c.update(&fin, false);
        let ack = seg(40000, 80, ACK, 101, 501, 0, 1001);
        c.update(&ack, true);
        assert_eq!(c.expired(&seg(40000, 80, RST | ACK, 101, 501, 0, 5999)), None);
        assert_eq!(c.expired(&seg(40000, 80, RST | ACK, 101, 501, 0, 6000)), Some(END_FIN));
        // A FIN answered by data and no FIN is a half close: no timer.
        let syn = seg(40000, 80, SYN, 100, 0, 0, 0);
        let mut c = Conn::open(&syn, false);
        c.update(&syn, false);
        c.update(&seg(80, 40000, SYN | ACK, 500, 101, 0, 1), true);
        c.update(&seg(40000, 80, ACK, 101, 501, 0, 2), false);
        c.update(&seg(40000, 80, FIN | ACK, 101, 501, 0, 3), false);
        assert_eq!(c.expired(&seg(80, 40000, ACK, 501, 102, 10, 60_000)), None);
        // A RST completes it.
        c.update(&seg(80, 40000, RST, 501, 0, 0, 60_001), true);
        assert_eq!(c.expired(&seg(80, 40000, ACK, 501, 102, 0, 65_001)), Some(END_RST));
    }

    #[test]
    fn the_dns_timer_ends_an_idle_udp_dns_connection() {
        let at = |ms: u64| {
            let mut q = seg(40000, 53, 0, 0, 0, 30, ms);
            q.ip_proto = IPPROTO_UDP;
            q
        };
        let mut c = Conn::open(&at(0), false);
        c.update(&at(0), false);
        // Quiet since 0: the firing at 10 s finds 10 s >= 9 s of idleness.
        assert_eq!(c.expired(&at(9_999)), None);
        assert_eq!(c.expired(&at(10_000)), Some(END_IDLE));
        // A packet at 1.5 s: the firing at 10 s sees 8.5 s, the one at 20 s ends it.
        c.update(&at(1_500), false);
        assert_eq!(c.expired(&at(19_999)), None);
        assert_eq!(c.expired(&at(20_000)), Some(END_IDLE));
        // Not on other ports.
        let mut other = seg(40000, 5000, 0, 0, 0, 30, 0);
        other.ip_proto = IPPROTO_UDP;
        let c = Conn::open(&other, false);
        assert_eq!(c.expired(&seg(40000, 5000, 0, 0, 0, 30, 50_000)), None);
    }

    #[test]
    fn udp_from_a_likely_server_port_is_flipped() {
        let mut p = seg(53, 40000, 0, 0, 0, 30, 0);
        p.ip_proto = IPPROTO_UDP;
        let mut c = Conn::open(&p, false);
        c.update(&p, false);
        assert_eq!((c.orig_is_b, history(&c), c.ep), (true, "^d", [EP_INACTIVE, EP_ACTIVE]));
    }
}
