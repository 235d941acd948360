//! Capture-file framing: pcap (both byte orders, micro/nanoseconds) and pcapng (sections,
//! interfaces with their own link types and timestamp resolutions, EPB/SPB/OPB, other blocks
//! skipped). Works on whatever bytes are buffered: a record that is not complete yet yields
//! `NeedMore` and is decoded on the next call, so records may span reads.

use crate::abi::*;
use crate::bytes::Order;

/// Largest pcap record accepted; larger means the file is corrupt (libpcap and Wireshark cap
/// snapshot lengths at 256 KiB; BIG TCP and USB captures need more, so allow a margin).
pub const MAX_PCAP_RECORD: usize = 1 << 20;
/// Largest pcapng block accepted (libpcap's limit).
pub const MAX_PCAPNG_BLOCK: usize = 16 << 20;

const PCAP_USEC: u32 = 0xa1b2_c3d4;
const PCAP_NSEC: u32 = 0xa1b2_3c4d;
const PCAPNG_SHB: u32 = 0x0a0d_0d0a;
const BOM: u32 = 0x1a2b_3c4d;

#[derive(Clone, Debug)]
pub struct Iface {
    pub global_id: u32,
    pub linktype: u32,
    pub snaplen: u32,
    /// Timestamp units per second.
    pub units: u64,
    /// log10 of `units`, or 255 when the resolution is a power of two.
    pub units_log10: u32,
    pub offset_s: i64,
    pub name: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Detect,
    Pcap { order: Order, nano: bool },
    Pcapng { order: Order },
    Failed,
}

/// A packet found in the buffer; offsets are relative to the slice passed to `next`.
#[derive(Clone, Copy, Debug)]
pub struct Record {
    pub consumed: usize,
    pub data: usize,
    pub caplen: usize,
    pub wirelen: u32,
    /// Index into `Container::ifaces`.
    pub iface: usize,
    pub ts_ns: u64,
    /// Offset (in the buffer) and length of the packet's pcapng comment, if it has one.
    pub comment: Option<(usize, usize)>,
    /// Apple's process information: the index of the section's process block (EPB option
    /// 0x8001), and whether epb_flags say the packet came in.
    pub process: Option<usize>,
    pub inbound: bool,
}

/// A process of Apple's pcapng process information block (PCAPNG_BT_PIB, 0x80000001, in Apple's
/// libpcap pcap/pcap-ng.h): its pid and the name (option 2) and path (option 3) options.
#[derive(Debug)]
pub struct DarwinProcess {
    pub pid: u32,
    pub name: Vec<u8>,
    pub path: Vec<u8>,
}

/// Process blocks kept per section; packets pointing past them have no process.
pub const MAX_PROCESSES: usize = 4096;
const PCAPNG_BT_PIB: u32 = 0x8000_0001;
/// EPB options: epb_flags (2) and Apple's PCAPNG_EPB_PIB_INDEX (0x8001).
const EPB_FLAGS: u16 = 2;
const EPB_PIB_INDEX: u16 = 0x8001;
/// epb_flags bits 0-1: the direction, 1 inbound, 2 outbound (pcapng spec).
const EPB_INBOUND: u32 = 1;

/// Longest packet comment passed on (wiresight's own process notes are far shorter).
pub const MAX_COMMENT: usize = 1024;

#[derive(Debug)]
pub enum Step {
    NeedMore,
    /// A block without packets was consumed.
    Skipped(usize),
    /// An interface was defined (index into `ifaces`), `usize` bytes consumed.
    Interface(usize, usize),
    Packet(Record),
    /// A record whose own fields are inconsistent, skipped whole.
    Invalid(usize),
    /// A name resolution record (pcapng NRB): the block stays unconsumed until its last record.
    Name { ipver: u8, addr: [u8; 16], name: usize, name_len: usize },
    /// Interface statistics (pcapng ISB), `usize` bytes consumed.
    IfStats { consumed: usize, iface: usize, recv: Option<u64>, drop: Option<u64>, osdrop: Option<u64> },
    Error(u32),
}

pub struct Container {
    format: Format,
    pub ifaces: Vec<Iface>,
    next_global: u32,
    /// Bytes of an oversized block still to be skipped.
    skip: u64,
    last_ts: u64,
    /// Bytes the caller can buffer at once: blocks larger than this are skipped.
    capacity: usize,
    /// The file header (pcap header or first section header) has been read.
    header_read: bool,
    /// Offset of the next record inside the name resolution block being read.
    nrb_pos: usize,
    /// The current section's Darwin process blocks, in order (packets refer to them by index).
    pub processes: Vec<DarwinProcess>,
}

/// Interfaces kept per pcapng section; further IDBs are counted invalid (memory stays bounded).
pub const MAX_INTERFACES: usize = 4096;

impl Container {
    pub fn new(capacity: usize) -> Container {
        Container {
            format: Format::Detect,
            ifaces: Vec::new(),
            next_global: 0,
            skip: 0,
            last_ts: 0,
            capacity,
            header_read: false,
            nrb_pos: 0,
            processes: Vec::new(),
        }
    }

    /// The next input is a new file; interface ids keep counting so they stay unique.
    pub fn begin_file(&mut self) {
        self.format = Format::Detect;
        self.ifaces.clear();
        self.skip = 0;
        self.header_read = false;
        self.nrb_pos = 0;
        self.processes.clear();
    }

    pub fn is_pcapng(&self) -> bool {
        matches!(self.format, Format::Pcapng { .. })
    }

    /// Decodes the next item in `buf`. `eof` says no more bytes will follow.
    pub fn next(&mut self, buf: &[u8], eof: bool) -> Step {
        if self.skip > 0 {
            let n = (self.skip as usize).min(buf.len());
            self.skip -= n as u64;
            return if n == 0 { self.end(eof, true) } else { Step::Skipped(n) };
        }
        match self.format {
            Format::Detect => self.detect(buf, eof),
            Format::Pcap { order, nano } => self.pcap_record(buf, eof, order, nano),
            Format::Pcapng { order } => self.pcapng_block(buf, eof, order),
            Format::Failed => Step::Error(ERR_CORRUPT_RECORD),
        }
    }

    /// Out of bytes: fine between records, an error inside one.
    fn end(&mut self, eof: bool, inside: bool) -> Step {
        if !eof {
            return Step::NeedMore;
        }
        if inside {
            self.fail(if self.header_read { ERR_TRUNCATED_RECORD } else { ERR_TRUNCATED_HEADER })
        } else {
            Step::NeedMore
        }
    }

    fn fail(&mut self, err: u32) -> Step {
        self.format = Format::Failed;
        Step::Error(err)
    }

    fn detect(&mut self, buf: &[u8], eof: bool) -> Step {
        if buf.len() < 4 {
            if !eof {
                return Step::NeedMore;
            }
            return self.fail(if buf.is_empty() { ERR_EMPTY } else { ERR_NOT_A_CAPTURE });
        }
        let le = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
        let be = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
        let pcap = match (le, be) {
            (PCAP_USEC, _) => Some((Order::Little, false)),
            (PCAP_NSEC, _) => Some((Order::Little, true)),
            (_, PCAP_USEC) => Some((Order::Big, false)),
            (_, PCAP_NSEC) => Some((Order::Big, true)),
            _ => None,
        };
        if let Some((order, nano)) = pcap {
            return self.pcap_header(buf, eof, order, nano);
        }
        if le == PCAPNG_SHB {
            // The section header sets the byte order; pcapng_block reads it.
            self.format = Format::Pcapng { order: Order::Little };
            return self.pcapng_block(buf, eof, Order::Little);
        }
        self.fail(ERR_NOT_A_CAPTURE)
    }

    fn pcap_header(&mut self, buf: &[u8], eof: bool, order: Order, nano: bool) -> Step {
        if buf.len() < 24 {
            return if eof { self.fail(ERR_TRUNCATED_HEADER) } else { Step::NeedMore };
        }
        let major = order.u16(buf, 4).unwrap_or(0);
        if major != 2 {
            return self.fail(ERR_UNSUPPORTED_VERSION);
        }
        let snaplen = order.u32(buf, 16).unwrap_or(0);
        // The top bits of the link-type field carry FCS information.
        let linktype = order.u32(buf, 20).unwrap_or(0) & 0x03ff_ffff;
        self.format = Format::Pcap { order, nano };
        self.header_read = true;
        self.ifaces.clear();
        let units = if nano { 1_000_000_000 } else { 1_000_000 };
        self.push_iface(linktype, snaplen, units, if nano { 9 } else { 6 }, 0, Vec::new());
        Step::Interface(0, 24)
    }

    fn push_iface(&mut self, linktype: u32, snaplen: u32, units: u64, log10: u32, offset_s: i64, name: Vec<u8>) {
        self.ifaces.push(Iface {
            global_id: self.next_global,
            linktype,
            snaplen,
            units,
            units_log10: log10,
            offset_s,
            name,
        });
        self.next_global += 1;
    }

    fn pcap_record(&mut self, buf: &[u8], eof: bool, order: Order, nano: bool) -> Step {
        if buf.len() < 16 {
            return self.end(eof, !buf.is_empty());
        }
        let sec = order.u32(buf, 0).unwrap_or(0) as u64;
        let frac = order.u32(buf, 4).unwrap_or(0) as u64;
        let caplen = order.u32(buf, 8).unwrap_or(0) as usize;
        let wirelen = order.u32(buf, 12).unwrap_or(0);
        if caplen > MAX_PCAP_RECORD {
            return self.fail(ERR_CORRUPT_RECORD);
        }
        if buf.len() < 16 + caplen {
            return self.end(eof, true);
        }
        let ns = sec.saturating_mul(1_000_000_000).saturating_add(if nano { frac } else { frac.saturating_mul(1000) });
        Step::Packet(Record { consumed: 16 + caplen, data: 16, caplen, wirelen, iface: 0, ts_ns: ns, comment: None, process: None, inbound: false })
    }

    fn pcapng_block(&mut self, buf: &[u8], eof: bool, order: Order) -> Step {
        if buf.len() < 12 {
            return self.end(eof, !buf.is_empty());
        }
        let kind = order.u32(buf, 0).unwrap_or(0);
        let (order, len) = if kind == PCAPNG_SHB {
            // A section header may switch byte order: its byte-order magic comes first.
            let bom_le = u32::from_le_bytes([buf[8], buf[9], buf[10], buf[11]]);
            let order = if bom_le == BOM {
                Order::Little
            } else if bom_le.swap_bytes() == BOM {
                Order::Big
            } else {
                return self.fail(ERR_CORRUPT_BLOCK);
            };
            (order, order.u32(buf, 4).unwrap_or(0) as usize)
        } else {
            (order, order.u32(buf, 4).unwrap_or(0) as usize)
        };
        if len < 12 || len % 4 != 0 || len > MAX_PCAPNG_BLOCK {
            return self.fail(ERR_CORRUPT_BLOCK);
        }
        if buf.len() < len {
            if !eof && len <= self.capacity {
                return Step::NeedMore;
            }
            if eof {
                return self.end(true, true);
            }
            // Larger than the input buffer can hold: skip it whole.
            self.skip = (len - buf.len()) as u64;
            return Step::Invalid(buf.len());
        }
        let block = &buf[..len];
        let trailer = order.u32(block, len - 4).unwrap_or(0) as usize;
        if trailer != len {
            return self.fail(ERR_CORRUPT_BLOCK);
        }
        let body = &block[8..len - 4];
        match kind {
            PCAPNG_SHB => self.section(body, order, len),
            1 => self.interface(body, order, len),
            6 => self.enhanced_packet(body, order, len),
            3 => self.simple_packet(body, order, len),
            2 => self.obsolete_packet(body, order, len),
            4 => self.name_record(body, order, len),
            5 => self.interface_statistics(body, order, len),
            PCAPNG_BT_PIB => self.darwin_process(body, order, len),
            _ => Step::Skipped(len),
        }
    }

    fn section(&mut self, body: &[u8], order: Order, len: usize) -> Step {
        let major = order.u16(body, 4).unwrap_or(0);
        if major != 1 {
            return self.fail(ERR_UNSUPPORTED_VERSION);
        }
        self.format = Format::Pcapng { order };
        self.header_read = true;
        self.ifaces.clear();
        self.processes.clear();
        Step::Skipped(len)
    }

    /// A process information block: u32 process_id, then options (name 2, path 3).
    fn darwin_process(&mut self, body: &[u8], order: Order, len: usize) -> Step {
        let pid = match order.u32(body, 0) {
            Some(pid) if self.processes.len() < MAX_PROCESSES => pid,
            _ => return Step::Invalid(len),
        };
        let (mut name, mut path) = (Vec::new(), Vec::new());
        for (code, _, value) in Options::new(&body[4..], order) {
            let text = || value.iter().copied().take_while(|&b| b != 0).take(MAX_COMMENT / 4).collect();
            match code {
                2 => name = text(),
                3 => path = text(),
                _ => {}
            }
        }
        self.processes.push(DarwinProcess { pid, name, path });
        Step::Skipped(len)
    }

    fn interface(&mut self, body: &[u8], order: Order, len: usize) -> Step {
        if body.len() < 8 || self.ifaces.len() >= MAX_INTERFACES {
            return Step::Invalid(len);
        }
        let linktype = order.u16(body, 0).unwrap_or(0) as u32;
        let snaplen = order.u32(body, 4).unwrap_or(0);
        let mut units = 1_000_000u64;
        let mut log10 = 6u32;
        let mut offset_s = 0i64;
        let mut name = Vec::new();
        for (code, _, value) in Options::new(&body[8..], order) {
            match code {
                2 => name = value.iter().copied().take_while(|&b| b != 0).take(256).collect(),
                9 if !value.is_empty() => {
                    let r = value[0];
                    let exp = (r & 0x7f) as u32;
                    if r & 0x80 == 0 {
                        if exp <= 19 {
                            units = 10u64.pow(exp);
                            log10 = exp;
                        }
                    } else if exp <= 63 {
                        units = 1u64 << exp;
                        log10 = 255;
                    }
                }
                14 if value.len() >= 8 => offset_s = order.u64(value, 0).unwrap_or(0) as i64,
                _ => {}
            }
        }
        self.push_iface(linktype, snaplen, units.max(1), log10, offset_s, name);
        Step::Interface(self.ifaces.len() - 1, len)
    }

    fn timestamp(&self, iface: usize, raw: u64) -> u64 {
        let i = &self.ifaces[iface];
        let ns = match i.units {
            1_000_000_000 => raw,
            1_000_000 => raw.saturating_mul(1000),
            units => {
                let secs = raw / units;
                let frac = ((raw % units) as u128 * 1_000_000_000u128 / units as u128) as u64;
                secs.saturating_mul(1_000_000_000).saturating_add(frac)
            }
        };
        if i.offset_s >= 0 {
            ns.saturating_add((i.offset_s as u64).saturating_mul(1_000_000_000))
        } else {
            ns.saturating_sub(i.offset_s.unsigned_abs().saturating_mul(1_000_000_000))
        }
    }

    fn enhanced_packet(&mut self, body: &[u8], order: Order, len: usize) -> Step {
        if body.len() < 20 {
            return Step::Invalid(len);
        }
        let iface = order.u32(body, 0).unwrap_or(u32::MAX) as usize;
        let raw = ((order.u32(body, 4).unwrap_or(0) as u64) << 32) | order.u32(body, 8).unwrap_or(0) as u64;
        let caplen = order.u32(body, 12).unwrap_or(0) as usize;
        let wirelen = order.u32(body, 16).unwrap_or(0);
        if iface >= self.ifaces.len() || caplen > body.len() - 20 {
            return Step::Invalid(len);
        }
        let ts_ns = self.timestamp(iface, raw);
        self.last_ts = ts_ns;
        // Options follow the padded packet data; opt_comment (1) is the one passed on. Offsets
        // are in the buffer: the block header takes 8 bytes before the body.
        let opts_at = 20 + ((caplen + 3) & !3);
        let (mut comment, mut process, mut inbound) = (None, None, false);
        for (code, at, v) in Options::new(body.get(opts_at..).unwrap_or(&[]), order) {
            match code {
                1 if comment.is_none() => comment = Some((8 + opts_at + at, v.len().min(MAX_COMMENT))),
                EPB_FLAGS => inbound = order.u32(v, 0).map_or(false, |f| f & 3 == EPB_INBOUND),
                EPB_PIB_INDEX => process = order.u32(v, 0).map(|i| i as usize),
                _ => {}
            }
        }
        Step::Packet(Record { consumed: len, data: 8 + 20, caplen, wirelen, iface, ts_ns, comment, process, inbound })
    }

    fn obsolete_packet(&mut self, body: &[u8], order: Order, len: usize) -> Step {
        if body.len() < 20 {
            return Step::Invalid(len);
        }
        let iface = order.u16(body, 0).unwrap_or(u16::MAX) as usize;
        let raw = ((order.u32(body, 4).unwrap_or(0) as u64) << 32) | order.u32(body, 8).unwrap_or(0) as u64;
        let caplen = order.u32(body, 12).unwrap_or(0) as usize;
        let wirelen = order.u32(body, 16).unwrap_or(0);
        if iface >= self.ifaces.len() || caplen > body.len() - 20 {
            return Step::Invalid(len);
        }
        let ts_ns = self.timestamp(iface, raw);
        self.last_ts = ts_ns;
        Step::Packet(Record {
            consumed: len,
            data: 8 + 20,
            caplen,
            wirelen,
            iface,
            ts_ns,
            comment: None,
            process: None,
            inbound: false,
        })
    }

    /// The next IPv4/IPv6 record of a name resolution block (first name of each), then the block.
    fn name_record(&mut self, body: &[u8], order: Order, len: usize) -> Step {
        while let (Some(kind), Some(rlen)) = (order.u16(body, self.nrb_pos), order.u16(body, self.nrb_pos + 2)) {
            let value_at = self.nrb_pos + 4;
            let value = match body.get(value_at..value_at + rlen as usize) {
                Some(v) if kind != 0 => v,
                _ => break,
            };
            self.nrb_pos = value_at + ((rlen as usize + 3) & !3);
            let (ipver, alen) = match kind {
                1 => (L3_IPV4, 4),
                2 => (L3_IPV6, 16),
                _ => continue,
            };
            let names = match value.get(alen..) {
                Some(n) => n,
                None => continue,
            };
            let name_len = names.iter().position(|&b| b == 0).unwrap_or(names.len()).min(255);
            if name_len == 0 {
                continue;
            }
            let mut addr = [0u8; 16];
            addr[..alen].copy_from_slice(&value[..alen]);
            // Offsets are relative to the buffer: the block header is 8 bytes.
            return Step::Name { ipver, addr, name: 8 + value_at + alen, name_len };
        }
        self.nrb_pos = 0;
        Step::Skipped(len)
    }

    fn interface_statistics(&mut self, body: &[u8], order: Order, len: usize) -> Step {
        let iface = order.u32(body, 0).map_or(usize::MAX, |i| i as usize);
        if body.len() < 12 || iface >= self.ifaces.len() {
            return Step::Invalid(len);
        }
        let (mut recv, mut drop, mut osdrop) = (None, None, None);
        for (code, _, value) in Options::new(&body[12..], order) {
            let v = order.u64(value, 0);
            match code {
                4 => recv = v,
                5 => drop = v,
                7 => osdrop = v,
                _ => {}
            }
        }
        Step::IfStats { consumed: len, iface, recv, drop, osdrop }
    }

    /// Simple packets have no timestamp: they take the previous packet's.
    fn simple_packet(&mut self, body: &[u8], order: Order, len: usize) -> Step {
        if body.len() < 4 || self.ifaces.is_empty() {
            return Step::Invalid(len);
        }
        let wirelen = order.u32(body, 0).unwrap_or(0);
        let snap = self.ifaces[0].snaplen as usize;
        let mut caplen = (wirelen as usize).min(body.len() - 4);
        if snap > 0 {
            caplen = caplen.min(snap);
        }
        Step::Packet(Record { consumed: len, data: 8 + 4, caplen, wirelen, iface: 0, ts_ns: self.last_ts, comment: None, process: None, inbound: false })
    }
}

/// pcapng options: (code, offset of the value in the bytes, value) until opt_endofopt or the end.
struct Options<'a> {
    d: &'a [u8],
    pos: usize,
    order: Order,
}

impl<'a> Options<'a> {
    fn new(d: &'a [u8], order: Order) -> Options<'a> {
        Options { d, pos: 0, order }
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = (u16, usize, &'a [u8]);
    fn next(&mut self) -> Option<(u16, usize, &'a [u8])> {
        let code = self.order.u16(self.d, self.pos)?;
        let len = self.order.u16(self.d, self.pos + 2)? as usize;
        if code == 0 {
            return None;
        }
        let start = self.pos + 4;
        let value = self.d.get(start..start + len)?;
        self.pos = start + ((len + 3) & !3);
        Some((code, start, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap_header(order: Order, nano: bool, linktype: u32) -> Vec<u8> {
        let magic = if nano { PCAP_NSEC } else { PCAP_USEC };
        let mut v = Vec::new();
        let w32 = |v: &mut Vec<u8>, x: u32| match order {
            Order::Little => v.extend_from_slice(&x.to_le_bytes()),
            Order::Big => v.extend_from_slice(&x.to_be_bytes()),
        };
        w32(&mut v, magic);
        match order {
            Order::Little => v.extend_from_slice(&[2, 0, 4, 0]),
            Order::Big => v.extend_from_slice(&[0, 2, 0, 4]),
        }
        w32(&mut v, 0);
        w32(&mut v, 0);
        w32(&mut v, 65535);
        w32(&mut v, linktype);
        v
    }

    #[test]
    fn pcap_records_in_both_orders_and_resolutions() {
        for &(order, nano) in &[(Order::Little, false), (Order::Big, false), (Order::Little, true), (Order::Big, true)] {
            let mut f = pcap_header(order, nano, 1);
            let rec = |x: u32| match order {
                Order::Little => x.to_le_bytes(),
                Order::Big => x.to_be_bytes(),
            };
            for x in [5u32, 7, 3, 3] {
                f.extend_from_slice(&rec(x));
            }
            f.extend_from_slice(&[9, 9, 9]);
            let mut c = Container::new(1 << 22);
            match c.next(&f, true) {
                Step::Interface(0, 24) => {}
                s => panic!("{:?}", s),
            }
            match c.next(&f[24..], true) {
                Step::Packet(r) => {
                    assert_eq!((r.consumed, r.caplen, r.wirelen), (19, 3, 3));
                    assert_eq!(r.ts_ns, 5_000_000_000 + if nano { 7 } else { 7000 });
                }
                s => panic!("{:?}", s),
            }
            assert!(matches!(c.next(&f[43..], true), Step::NeedMore));
        }
    }

    #[test]
    fn partial_records_wait_and_cut_records_fail_at_eof() {
        let mut f = pcap_header(Order::Little, false, 1);
        f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 10, 0, 0, 0, 1, 2]);
        let mut c = Container::new(1 << 22);
        c.next(&f, false);
        assert!(matches!(c.next(&f[24..], false), Step::NeedMore));
        assert!(matches!(c.next(&f[24..], true), Step::Error(ERR_TRUNCATED_RECORD)));
    }

    #[test]
    fn not_a_capture_and_empty() {
        let mut c = Container::new(1 << 22);
        assert!(matches!(c.next(b"hello world", true), Step::Error(ERR_NOT_A_CAPTURE)));
        let mut c = Container::new(1 << 22);
        assert!(matches!(c.next(b"", true), Step::Error(ERR_EMPTY)));
    }

    #[test]
    fn absurd_pcap_length_is_corrupt() {
        let mut f = pcap_header(Order::Little, false, 1);
        f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 10, 0, 0, 0]);
        let mut c = Container::new(1 << 22);
        c.next(&f, false);
        assert!(matches!(c.next(&f[24..], false), Step::Error(ERR_CORRUPT_RECORD)));
    }

    #[test]
    fn options_stop_at_bad_lengths() {
        let d = [2u8, 0, 200, 0, b'a'];
        assert_eq!(Options::new(&d, Order::Little).count(), 0);
        let d = [2u8, 0, 2, 0, b'a', b'b', 0, 0, 0, 0, 0, 0];
        let all: Vec<_> = Options::new(&d, Order::Little).collect();
        assert_eq!(all, vec![(2u16, 4, &b"ab"[..])]);
    }
}
