//! DHCP (RFC 2131, 2132): the BOOTP header's client hardware address and assigned address, and
//! the options after the magic cookie that name the client. Options may overflow into the
//! header's `file` and `sname` fields (option 52); each area is read once, so the walk is
//! bounded by the datagram.

use super::event::Ctx;
use crate::abi::*;

const COOKIE_AT: usize = 236;
const OPTIONS_AT: usize = 240;
const FILE: (usize, usize) = (108, 236);
const SNAME: (usize, usize) = (44, 108);

const OPT_PAD: u8 = 0;
const OPT_HOSTNAME: u8 = 12;
const OPT_REQUESTED_IP: u8 = 50;
const OPT_OVERLOAD: u8 = 52;
const OPT_MSG_TYPE: u8 = 53;
const OPT_VENDOR_CLASS: u8 = 60;
const OPT_END: u8 = 255;

/// The options this parser reports (first occurrence of each).
#[derive(Default)]
struct Options<'a> {
    msg_type: Option<u8>,
    hostname: Option<&'a [u8]>,
    requested_ip: Option<&'a [u8]>,
    vendor_class: Option<&'a [u8]>,
    overload: u8,
}

/// One DHCP message as an AK_DHCP event (BOOTP without the cookie is left alone).
pub fn datagram(ctx: &mut Ctx, d: &[u8]) {
    if d.len() < OPTIONS_AT || d[COOKIE_AT..OPTIONS_AT] != [0x63, 0x82, 0x53, 0x63] {
        return;
    }
    let mut o = Options::default();
    walk(&mut o, &d[OPTIONS_AT..]);
    // RFC 2131 4.1: after the options field come `file`, then `sname`, when option 52 says so.
    if o.overload & 1 != 0 {
        walk(&mut o, &d[FILE.0..FILE.1]);
    }
    if o.overload & 2 != 0 {
        walk(&mut o, &d[SNAME.0..SNAME.1]);
    }
    let f = &mut *ctx.fields;
    if let Some(t) = o.msg_type {
        f.u8(F_DHCP_MSG_TYPE, t);
    }
    let hlen = d[2] as usize;
    if (1..=16).contains(&hlen) {
        f.bytes(F_DHCP_CLIENT_MAC, &d[28..28 + hlen]);
    }
    if let Some(h) = o.hostname {
        f.bytes(F_DHCP_HOSTNAME, h);
    }
    if let Some(ip) = o.requested_ip {
        f.bytes(F_DHCP_REQUESTED_IP, ip);
    }
    if d[16..20] != [0; 4] {
        f.bytes(F_DHCP_YOUR_IP, &d[16..20]);
    }
    if let Some(v) = o.vendor_class {
        f.bytes(F_DHCP_VENDOR_CLASS, v);
    }
    ctx.emit(AK_DHCP);
}

/// Reads code/length/value options up to END or the end of the area (a length past it stops).
fn walk<'a>(o: &mut Options<'a>, area: &'a [u8]) {
    let mut pos = 0;
    while let Some(&code) = area.get(pos) {
        match code {
            OPT_PAD => {
                pos += 1;
                continue;
            }
            OPT_END => return,
            _ => {}
        }
        let value = match area.get(pos + 1).and_then(|&n| area.get(pos + 2..pos + 2 + n as usize)) {
            Some(v) => v,
            None => return,
        };
        pos += 2 + value.len();
        let first = value.first().copied();
        match code {
            OPT_MSG_TYPE => o.msg_type = o.msg_type.or(first),
            OPT_HOSTNAME if !value.is_empty() => o.hostname = o.hostname.or(Some(value)),
            OPT_REQUESTED_IP if value.len() == 4 => o.requested_ip = o.requested_ip.or(Some(value)),
            OPT_VENDOR_CLASS if !value.is_empty() => o.vendor_class = o.vendor_class.or(Some(value)),
            // Only the options field may say that the others hold options.
            OPT_OVERLOAD if o.overload == 0 => o.overload = first.unwrap_or(0) | 0x80,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::abi::*;
    use crate::app::testing::{run, values, Seg};
    use crate::net::IPPROTO_UDP;

    fn message(options: &[u8]) -> Vec<u8> {
        let mut m = vec![0u8; 240];
        m[0] = 1;
        m[1] = 1;
        m[2] = 6;
        m[28..34].copy_from_slice(&[0x42, 0xb4, 0x44, 0xb4, 0xf0, 0xee]);
        m[236..240].copy_from_slice(&[0x63, 0x82, 0x53, 0x63]);
        m.extend_from_slice(options);
        m
    }

    fn one(m: &[u8]) -> Vec<(u16, Vec<u8>)> {
        let (_, ev) =
            run(&[Seg { dir: 0, proto: IPPROTO_UDP, sport: 68, dport: 67, seq: 0, tcp_flags: 0, payload: m }]);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].0, AK_DHCP);
        ev[0].1.clone()
    }

    #[test]
    fn request_with_hostname_and_requested_address() {
        let f = one(&message(b"\x35\x01\x03\x00\x32\x04\x0a\x00\x00\x07\x0c\x04host\x3c\x08MSFT 5.0\xff"));
        assert_eq!(values(&f, F_DHCP_MSG_TYPE), vec![vec![3]]);
        assert_eq!(values(&f, F_DHCP_CLIENT_MAC), vec![vec![0x42, 0xb4, 0x44, 0xb4, 0xf0, 0xee]]);
        assert_eq!(values(&f, F_DHCP_HOSTNAME), vec![b"host".to_vec()]);
        assert_eq!(values(&f, F_DHCP_REQUESTED_IP), vec![vec![10, 0, 0, 7]]);
        assert_eq!(values(&f, F_DHCP_VENDOR_CLASS), vec![b"MSFT 5.0".to_vec()]);
        assert!(values(&f, F_DHCP_YOUR_IP).is_empty());
    }

    #[test]
    fn overloaded_fields_and_cut_options() {
        // Option 52 = 3: the message type sits in `file`, the hostname in `sname`.
        let mut m = message(b"\x34\x01\x03\xff");
        m[108..111].copy_from_slice(&[53, 1, 5]);
        m[44..50].copy_from_slice(&[12, 4, b'n', b'a', b'm', b'e']);
        m[16..20].copy_from_slice(&[192, 168, 1, 9]);
        let f = one(&m);
        assert_eq!(values(&f, F_DHCP_MSG_TYPE), vec![vec![5]]);
        assert_eq!(values(&f, F_DHCP_HOSTNAME), vec![b"name".to_vec()]);
        assert_eq!(values(&f, F_DHCP_YOUR_IP), vec![vec![192, 168, 1, 9]]);
        // An option whose length runs past the datagram ends the walk, and a bad hlen drops the MAC.
        let mut m = message(b"\x35\x01\x01\x0c\xff ab");
        m[2] = 200;
        let f = one(&m);
        assert_eq!(values(&f, F_DHCP_MSG_TYPE), vec![vec![1]]);
        assert!(values(&f, F_DHCP_HOSTNAME).is_empty() && values(&f, F_DHCP_CLIENT_MAC).is_empty());
    }

    #[test]
    fn mutated_messages_never_panic() {
        let mut rng = crate::app::detect::Rng(11);
        let mut m = message(b"\x34\x01\x03\x35\x01\x03\x0c\x04host\x3c\x03abc\xff");
        m[108..111].copy_from_slice(&[53, 1, 5]);
        for _ in 0..5000 {
            let d = rng.mutate(&m);
            run(&[Seg { dir: 0, proto: IPPROTO_UDP, sport: 68, dport: 67, seq: 0, tcp_flags: 0, payload: &d }]);
        }
    }
}
