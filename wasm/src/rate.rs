//! Per-host packet counts over fixed windows of capture time, for the detection engine's packet
//! rate and SYN flood checks (TS turns them on with `ws_set_host_rates`). When a window closes,
//! each host that sent at least the threshold of packets, or of bare SYNs, gets an EV_HOST_RATE
//! event: alerts come as the traffic happens, not when flows end minutes later.
//!
//! Memory is fixed: at most HR_HOSTS hosts are counted per window (the rest are counted in
//! ST_HOST_RATE_OVERFLOW) and at most HR_EVENTS_PER_WINDOW events leave per window.

use crate::abi::*;
use crate::net::IPPROTO_TCP;
use crate::out::Out;
use crate::packet::Packet;
use crate::stats::Stats;

const SLOTS: usize = 2 * HR_HOSTS;
const TCP_SYN: u16 = 0x02;
const TCP_ACK: u16 = 0x10;

#[derive(Clone, Copy, Default)]
struct Host {
    addr: u128,
    ipver: u8,
    packets: u32,
    syns: u32,
    bytes: u64,
}

#[derive(Default)]
pub struct HostRates {
    window_ns: u64,
    min_packets: u32,
    min_syns: u32,
    /// Index of the window being counted (ts / window_ns); `None` before the first packet.
    window: Option<u64>,
    slots: Vec<Host>,
    /// Slots in use this window, so closing one touches only those.
    used: Vec<u32>,
}

impl HostRates {
    pub fn on(&self) -> bool {
        self.window_ns != 0
    }

    /// `window_ms` 0 turns counting off.
    pub fn configure(&mut self, window_ms: u32, min_packets: u32, min_syns: u32) {
        self.window_ns = window_ms as u64 * 1_000_000;
        self.min_packets = min_packets.max(1);
        self.min_syns = min_syns.max(1);
        self.window = None;
        self.used.clear();
        self.slots = if self.on() { vec![Host::default(); SLOTS] } else { Vec::new() };
    }

    /// Bytes of events one call to `add` or `flush` may write.
    pub fn room_needed(&self) -> usize {
        if self.on() {
            HR_EVENTS_PER_WINDOW * HR_SIZE
        } else {
            0
        }
    }

    /// Counts one IP packet that passed the filters (closing the window before it if it ended).
    pub fn add(&mut self, p: &Packet, out: &mut Out, st: &mut Stats) {
        if !self.on() || (p.l3 != L3_IPV4 && p.l3 != L3_IPV6) {
            return;
        }
        let w = p.ts_ns / self.window_ns;
        match self.window {
            Some(cur) if w <= cur => {}
            Some(_) => {
                self.flush(out, st);
                self.window = Some(w);
            }
            None => self.window = Some(w),
        }
        let addr = u128::from_be_bytes(p.src);
        let mut i = (hash(addr) as usize) & (SLOTS - 1);
        loop {
            let h = &mut self.slots[i];
            if h.packets == 0 {
                if self.used.len() >= HR_HOSTS {
                    st.v[ST_HOST_RATE_OVERFLOW] += 1.0;
                    return;
                }
                *h = Host { addr, ipver: p.l3, ..Host::default() };
                self.used.push(i as u32);
                break;
            }
            if h.addr == addr && h.ipver == p.l3 {
                break;
            }
            i = (i + 1) & (SLOTS - 1);
        }
        let h = &mut self.slots[i];
        h.packets = h.packets.saturating_add(1);
        h.bytes += p.wirelen as u64;
        let bare_syn = p.ip_proto == IPPROTO_TCP && p.tcp_flags & (TCP_SYN | TCP_ACK) == TCP_SYN;
        if bare_syn && p.flags & PF_L4 != 0 {
            h.syns = h.syns.saturating_add(1);
        }
    }

    /// Ends the current window: events for the hosts over a threshold, then an empty table.
    pub fn flush(&mut self, out: &mut Out, st: &mut Stats) {
        let start = match self.window {
            Some(w) => w * self.window_ns,
            None => return,
        };
        let mut written = 0;
        for &i in self.used.iter() {
            let h = &mut self.slots[i as usize];
            if h.packets >= self.min_packets || h.syns >= self.min_syns {
                if written < HR_EVENTS_PER_WINDOW {
                    write_rate(out, h, start, self.window_ns);
                    written += 1;
                } else {
                    st.v[ST_HOST_RATE_UNREPORTED] += 1.0;
                }
            }
            *h = Host::default();
        }
        self.used.clear();
        self.window = None;
    }
}

fn hash(a: u128) -> u64 {
    let mut h = (a as u64) ^ ((a >> 64) as u64).rotate_left(29);
    h = (h ^ (h >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

fn write_rate(out: &mut Out, h: &Host, start_ns: u64, window_ns: u64) {
    if let Some(e) = out.event(EV_HOST_RATE, HR_SIZE) {
        put(e, HR_TS_SEC, (start_ns / 1_000_000_000) as f64);
        put(e, HR_TS_NSEC, (start_ns % 1_000_000_000) as u32);
        put(e, HR_WINDOW_MS, (window_ns / 1_000_000) as u32);
        put(e, HR_IPVER, h.ipver);
        put(e, HR_ADDR, h.addr.to_be_bytes());
        put(e, HR_PACKETS, h.packets as f64);
        put(e, HR_BYTES, h.bytes as f64);
        put(e, HR_SYNS, h.syns as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syn(src: u8, ts_ns: u64) -> Packet {
        let mut p = Packet::new();
        p.l3 = L3_IPV4;
        p.ip_proto = IPPROTO_TCP;
        p.flags = PF_L4 | PF_PORTS;
        p.src[0] = 10;
        p.src[3] = src;
        p.tcp_flags = TCP_SYN;
        p.wirelen = 60;
        p.ts_ns = ts_ns;
        p
    }

    fn events(out: &Out) -> Vec<(u8, f64, f64)> {
        let mut v = Vec::new();
        let mut o = 0;
        while o < out.len {
            let e = &out.buf[o..];
            let len = get(e, EVENT_LEN).unwrap() as usize;
            v.push((get(e, HR_ADDR).unwrap()[3], get(e, HR_PACKETS).unwrap(), get(e, HR_SYNS).unwrap()));
            o += len;
        }
        v
    }

    #[test]
    fn a_host_over_the_threshold_is_reported_when_its_window_closes() {
        let (mut r, mut out, mut st) = (HostRates::default(), Out::new(1 << 16), Stats::new());
        r.configure(1000, 100, 50);
        for i in 0..120 {
            r.add(&syn(1, i * 1_000_000), &mut out, &mut st);
        }
        r.add(&syn(2, 5_000_000), &mut out, &mut st);
        assert!(events(&out).is_empty(), "nothing before the window closes");
        r.add(&syn(2, 1_500_000_000), &mut out, &mut st);
        assert_eq!(events(&out), vec![(1, 120.0, 120.0)]);
        r.flush(&mut out, &mut st);
        assert_eq!(events(&out).len(), 1, "host 2 stayed under both thresholds");
    }

    #[test]
    fn hosts_beyond_the_table_are_counted_as_overflow() {
        let (mut r, mut out, mut st) = (HostRates::default(), Out::new(1 << 20), Stats::new());
        r.configure(1000, 1, 1);
        for i in 0..(HR_HOSTS as u32 + 10) {
            let mut p = syn(0, 0);
            p.src[1..5].copy_from_slice(&i.to_be_bytes());
            r.add(&p, &mut out, &mut st);
        }
        assert_eq!(st.v[ST_HOST_RATE_OVERFLOW], 10.0);
        r.flush(&mut out, &mut st);
        assert_eq!(events(&out).len(), HR_EVENTS_PER_WINDOW);
        assert_eq!(st.v[ST_HOST_RATE_UNREPORTED], (HR_HOSTS - HR_EVENTS_PER_WINDOW) as f64);
    }
}
