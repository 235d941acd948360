//! Which application protocol a flow carries, from its first payload (ports only break ties and
//! select binary protocols that have no signature). Payload wins over ports.

use crate::abi::*;
use crate::net::{IPPROTO_TCP, IPPROTO_UDP};
use crate::packet::Packet;

pub fn detect(p: &Packet, payload: &[u8]) -> Option<u8> {
    match p.ip_proto {
        IPPROTO_TCP => tcp(p, payload),
        IPPROTO_UDP => udp(p, payload),
        _ => None,
    }
}

fn either_port(p: &Packet, port: u16) -> bool {
    p.sport == port || p.dport == port
}

fn tcp(p: &Packet, d: &[u8]) -> Option<u8> {
    if d.len() >= 3 && d[0] == 0x16 && d[1] == 3 && d[2] <= 4 {
        return Some(APP_TLS);
    }
    if super::http::looks_like_http(d) {
        return Some(APP_HTTP);
    }
    if d.starts_with(b"SSH-") {
        return Some(APP_SSH);
    }
    // DNS over TCP has no signature; its first segment may hold only the length prefix.
    if either_port(p, 53) {
        return Some(APP_DNS);
    }
    None
}

fn udp(p: &Packet, d: &[u8]) -> Option<u8> {
    if either_port(p, 5353) {
        return Some(APP_MDNS);
    }
    if either_port(p, 5355) {
        return Some(APP_LLMNR);
    }
    if either_port(p, 53) && d.len() >= 12 {
        return Some(APP_DNS);
    }
    if super::quic::looks_like_initial(d) {
        return Some(APP_QUIC);
    }
    if super::dns::looks_like_dns(d) {
        return Some(APP_DNS);
    }
    None
}
