//! Packet filters the CLI offers besides BPF: protocol include/exclude, hosts (CIDR), ports,
//! loopback exclusion. All given kinds must match (AND); within a kind any entry matches (OR).
//! Application protocols are part of the protocol kind: TS works out which records belong to a
//! flow of a named application (a pre-pass over the files) and hands over a mark per record.

use crate::abi::*;
use crate::net::{IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP};
use crate::packet::Packet;

#[derive(Clone, Copy)]
struct Cidr {
    addr: [u8; 16],
    prefix: u32,
    ipver: u8,
}

impl Cidr {
    fn contains(&self, ipver: u8, a: &[u8; 16]) -> bool {
        if ipver != self.ipver {
            return false;
        }
        let full = (self.prefix / 8) as usize;
        if a[..full] != self.addr[..full] {
            return false;
        }
        let rest = self.prefix % 8;
        rest == 0 || {
            let mask = 0xffu8 << (8 - rest);
            a[full] & mask == self.addr[full] & mask
        }
    }
}

#[derive(Default)]
pub struct Filter {
    /// Any filter configured (checked per packet, so kept as one flag).
    any: bool,
    include: u32,
    exclude: u32,
    hosts: Vec<Cidr>,
    ports: Vec<u16>,
    no_loopback: bool,
    /// APP_MARK_* bits per capture record from record `app_first` on (index over all input), four a byte.
    app_marks: Vec<u8>,
    app_first: usize,
    /// Applications were named in the include list (a marked record passes it) ...
    app_include: bool,
    /// ... or in the exclude list (a marked record is dropped).
    app_exclude: bool,
}

/// The PROTO_* classes a packet belongs to.
pub fn classes(p: &Packet) -> u32 {
    let mut c = match p.l3 {
        L3_IPV4 => PROTO_IPV4,
        L3_IPV6 => PROTO_IPV6,
        L3_ARP => PROTO_ARP,
        _ => PROTO_OTHER,
    };
    if p.flags & (PF_L4 | PF_FRAGMENT) != 0 {
        c |= match p.ip_proto {
            IPPROTO_TCP => PROTO_TCP,
            IPPROTO_UDP => PROTO_UDP,
            IPPROTO_ICMP => PROTO_ICMP,
            IPPROTO_ICMPV6 => PROTO_ICMPV6,
            _ => 0,
        };
    }
    c
}

pub fn is_loopback(ipver: u8, a: &[u8; 16]) -> bool {
    match ipver {
        L3_IPV4 => a[0] == 127,
        L3_IPV6 => {
            let one = a[..15].iter().all(|&b| b == 0) && a[15] == 1;
            let mapped = a[..10].iter().all(|&b| b == 0) && a[10] == 0xff && a[11] == 0xff && a[12] == 127;
            one || mapped
        }
        _ => false,
    }
}

impl Filter {
    pub fn set_protocols(&mut self, include: u32, exclude: u32) {
        self.include = include;
        self.exclude = exclude;
        self.update();
    }

    pub fn add_host(&mut self, addr: [u8; 16], prefix: u32, ipver: u8) {
        let max = if ipver == L3_IPV4 { 32 } else { 128 };
        self.hosts.push(Cidr { addr, prefix: prefix.min(max), ipver });
        self.update();
    }

    pub fn add_port(&mut self, port: u16) {
        self.ports.push(port);
        self.update();
    }

    /// Room for the marks of `records` records from record `first` on, zeroed (TS writes them);
    /// None without memory.
    pub fn set_app_marks(&mut self, first: usize, records: usize, include: bool, exclude: bool) -> Option<&mut [u8]> {
        let bytes = (records + 3) / 4;
        let mut marks = Vec::new();
        marks.try_reserve_exact(bytes).ok()?;
        marks.resize(bytes, 0);
        self.app_marks = marks;
        self.app_first = first;
        self.app_include = include;
        self.app_exclude = exclude;
        self.update();
        Some(&mut self.app_marks)
    }

    fn app_mark(&self, record: usize) -> u8 {
        match record.checked_sub(self.app_first) {
            Some(i) => self.app_marks.get(i / 4).map_or(0, |b| (b >> (2 * (i % 4))) & 3),
            None => 0,
        }
    }

    pub fn set_no_loopback(&mut self, on: bool) {
        self.no_loopback = on;
        self.update();
    }

    #[inline]
    pub fn active(&self) -> bool {
        self.any
    }

    fn update(&mut self) {
        self.any = self.include != 0
            || self.exclude != 0
            || self.app_include
            || self.app_exclude
            || !self.hosts.is_empty()
            || !self.ports.is_empty()
            || self.no_loopback;
    }

    /// Whether the packet of capture record `record` (its index over all files) passes.
    pub fn matches(&self, p: &Packet, record: usize) -> bool {
        if self.include != 0 || self.exclude != 0 || self.app_include || self.app_exclude {
            let c = classes(p);
            let app = self.app_mark(record);
            let included = c & self.include != 0 || app & APP_MARK_INCLUDED != 0;
            if (self.include != 0 || self.app_include) && !included {
                return false;
            }
            if c & self.exclude != 0 || app & APP_MARK_EXCLUDED != 0 {
                return false;
            }
        }
        let ip = p.l3 == L3_IPV4 || p.l3 == L3_IPV6;
        if self.no_loopback && p.flags & PF_LOOPBACK != 0 {
            return false;
        }
        if !self.hosts.is_empty()
            && !(ip && self.hosts.iter().any(|h| h.contains(p.l3, &p.src) || h.contains(p.l3, &p.dst)))
        {
            return false;
        }
        if !self.ports.is_empty()
            && !(p.flags & PF_PORTS != 0 && self.ports.iter().any(|&x| x == p.sport || x == p.dport))
        {
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_prefixes() {
        let mut a = [0u8; 16];
        a[..4].copy_from_slice(&[192, 168, 1, 0]);
        let c = Cidr { addr: a, prefix: 23, ipver: L3_IPV4 };
        let mut x = [0u8; 16];
        x[..4].copy_from_slice(&[192, 168, 0, 77]);
        assert!(c.contains(L3_IPV4, &x));
        x[2] = 2;
        assert!(!c.contains(L3_IPV4, &x));
        assert!(!c.contains(L3_IPV6, &x));
    }

    #[test]
    fn app_marks_join_the_protocol_kind() {
        let mut f = Filter::default();
        let mut p = Packet::default();
        p.l3 = L3_IPV4;
        p.flags = PF_L4;
        p.ip_proto = IPPROTO_UDP;
        // Records 0..5: record 1 is of an included application, record 4 of an excluded one.
        let marks = f.set_app_marks(0, 5, true, true).unwrap();
        marks[0] = APP_MARK_INCLUDED << 2;
        marks[1] = APP_MARK_EXCLUDED;
        assert!(f.active());
        let kept: Vec<bool> = (0..6).map(|r| f.matches(&p, r)).collect();
        assert_eq!(kept, [false, true, false, false, false, false]);
        // An L3/L4 name in the include list widens it: UDP records pass unless excluded.
        f.set_protocols(PROTO_UDP, 0);
        let kept: Vec<bool> = (0..6).map(|r| f.matches(&p, r)).collect();
        assert_eq!(kept, [true, true, true, true, false, true]);
        // Marks of a later stretch (a live capture's batch, records 3 and 4): the second is marked.
        f.set_protocols(0, 0);
        f.set_app_marks(3, 2, true, false).unwrap()[0] = APP_MARK_INCLUDED << 2;
        let kept: Vec<bool> = (0..6).map(|r| f.matches(&p, r)).collect();
        assert_eq!(kept, [false, false, false, false, true, false]);
    }
}
