//! Which application protocol a flow carries, from its first payloads (ports only break ties and
//! select protocols that have no signature). Payload wins over ports. Every signature is cheap
//! and specific enough to stay silent on random data (see the tests); the UDP ones for
//! protocols with short headers (DHCP, NTP, syslog, SNMP) also want their well-known port.

use crate::abi::*;
use crate::bytes::{be16, be32};
use crate::net::{IPPROTO_TCP, IPPROTO_UDP};
use crate::packet::Packet;

/// Longest greeting line looked at (SMTP allows 512 bytes per reply line).
const MAX_GREETING: usize = 1024;

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
    if super::tls::looks_like_sslv2_hello(d) {
        return Some(APP_TLS);
    }
    if super::http::looks_like_http(d) {
        return Some(APP_HTTP);
    }
    if d.starts_with(b"SSH-") {
        return Some(APP_SSH);
    }
    if let Some(app) = tcp_signature(p, d) {
        return Some(app);
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
    if let Some(app) = udp_signature(p, d) {
        return Some(app);
    }
    if super::quic::looks_like_initial(d) {
        return Some(APP_QUIC);
    }
    if super::dns::looks_like_dns(d) {
        return Some(APP_DNS);
    }
    None
}

type Signature = fn(&[u8]) -> bool;

fn tcp_signature(p: &Packet, d: &[u8]) -> Option<u8> {
    if let Some(line) = greeting_line(d) {
        if line.starts_with(b"220 ") || line.starts_with(b"220-") {
            // SMTP and FTP greet alike: the text usually names the protocol, else the port decides.
            let ftp = !contains_ci(line, b"smtp") && (contains_ci(line, b"ftp") || either_port(p, 21));
            return Some(if ftp { APP_FTP } else { APP_SMTP });
        }
        if line.starts_with(b"+OK") {
            return Some(APP_POP3);
        }
        if line.starts_with(b"* OK") || line.starts_with(b"* PREAUTH") {
            return Some(APP_IMAP);
        }
    }
    let checks: [(Signature, u8); 8] = [
        (redis, APP_REDIS),
        (mqtt_connect, APP_MQTT),
        (smb, APP_SMB),
        (rdp_connection_request, APP_RDP),
        (mysql_greeting, APP_MYSQL),
        (postgresql_startup, APP_POSTGRESQL),
        (telnet_negotiation, APP_TELNET),
        (xmpp_stream, APP_XMPP),
    ];
    checks.iter().find(|(check, _)| check(d)).map(|&(_, app)| app)
}

fn udp_signature(p: &Packet, d: &[u8]) -> Option<u8> {
    if (either_port(p, 67) || either_port(p, 68)) && dhcp(d) {
        return Some(APP_DHCP);
    }
    if either_port(p, 123) && ntp(d) {
        return Some(APP_NTP);
    }
    if either_port(p, 514) && syslog(d) {
        return Some(APP_SYSLOG);
    }
    if (either_port(p, 161) || either_port(p, 162)) && snmp(d) {
        return Some(APP_SNMP);
    }
    None
}

/// The first line of a text greeting (without CR LF): printable text ended by LF.
fn greeting_line(d: &[u8]) -> Option<&[u8]> {
    let end = d.iter().take(MAX_GREETING).position(|&b| b == b'\n')?;
    let line = d[..end].strip_suffix(b"\r").unwrap_or(&d[..end]);
    line.iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f)).then_some(line)
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

/// Digits `d[from..]` up to `stop`: their count (1..=max) and value.
fn digits_until(d: &[u8], from: usize, max: usize, stop: u8) -> Option<(usize, u32)> {
    let mut value = 0u32;
    for (i, &b) in d.iter().enumerate().skip(from).take(max + 1) {
        match b {
            b'0'..=b'9' => value = value * 10 + (b - b'0') as u32,
            _ if b == stop && i > from => return Some((i - from, value)),
            _ => return None,
        }
    }
    None
}

/// A RESP command: an array of bulk strings ("*3\r\n$3\r\nSET\r\n...").
fn redis(d: &[u8]) -> bool {
    match digits_until(d, 1, 4, b'\r') {
        Some((n, _)) if d[0] == b'*' => {
            d.get(2 + n..5 + n).map_or(false, |s| s[..2] == *b"\n$" && s[2].is_ascii_digit())
        }
        _ => false,
    }
}

/// MQTT CONNECT: fixed header 0x10, a remaining length of 1-4 bytes, protocol name "MQTT" (3.1.1,
/// 5) or "MQIsdp" (3.1).
fn mqtt_connect(d: &[u8]) -> bool {
    if d.first() != Some(&0x10) {
        return false;
    }
    let len_bytes = match d.iter().skip(1).take(4).position(|&b| b & 0x80 == 0) {
        Some(i) => i + 1,
        None => return false,
    };
    let name = &d[1 + len_bytes..];
    name.starts_with(b"\x00\x04MQTT") || name.starts_with(b"\x00\x06MQIsdp")
}

/// SMB1/SMB2/SMB3 (transform) header in a NetBIOS session message (TCP 445 and 139).
fn smb(d: &[u8]) -> bool {
    let len = d.get(1..4).map_or(0, |b| u32::from_be_bytes([0, b[0], b[1], b[2]]));
    d.first() == Some(&0) && len >= 32 && matches!(d.get(4..8), Some(b"\xffSMB" | b"\xfeSMB" | b"\xfdSMB"))
}

/// An X.224 Connection Request in a TPKT, as RDP clients open with: the whole TPDU in the
/// segment, then nothing, a cookie/routing token, or an RDP negotiation request. ISO-TSAP users
/// of the same framing (S7, port 102) carry parameters there instead.
fn rdp_connection_request(d: &[u8]) -> bool {
    let tpkt_len = be16(d, 2).map_or(0, |l| l as usize);
    if d.len() < 11 || d[0] != 3 || d[1] != 0 || tpkt_len != d.len() || d[4] as usize != tpkt_len - 5 || d[5] != 0xe0 {
        return false;
    }
    let rest = &d[11..];
    rest.is_empty() || rest.starts_with(b"Cookie: ") || rest.len() >= 8 && rest[0] == 1 && rest[2] == 8 && rest[3] == 0
}

/// The MySQL server greeting (handshake v10): the whole packet in the segment, sequence 0,
/// protocol 10, a NUL-terminated version that starts with a digit.
fn mysql_greeting(d: &[u8]) -> bool {
    if d.len() < 8 || d[3] != 0 || d[4] != 10 || u32::from_le_bytes([d[0], d[1], d[2], 0]) as usize + 4 != d.len() {
        return false;
    }
    let version = &d[5..];
    match version.iter().take(64).position(|&b| b == 0) {
        Some(n) => n > 0 && version[0].is_ascii_digit() && version[..n].iter().all(|b| b.is_ascii_graphic()),
        None => false,
    }
}

/// An XMPP stream header (RFC 6120 4.2), after the XML declaration if any.
fn xmpp_stream(d: &[u8]) -> bool {
    let head = &d[..d.len().min(256)];
    (d.starts_with(b"<?xml") || d.starts_with(b"<stream:stream")) && head.windows(14).any(|w| w == b"<stream:stream")
}

/// A PostgreSQL StartupMessage (protocol 3.0, then NUL-terminated "name value" pairs), or the
/// SSLRequest/GSSENCRequest a client may send before it.
fn postgresql_startup(d: &[u8]) -> bool {
    let (len, code) = match (be32(d, 0), be32(d, 4)) {
        (Some(l), Some(c)) => (l as usize, c),
        _ => return false,
    };
    match code {
        80877103 | 80877104 => len == 8 && d.len() == 8,
        0x0003_0000 => len == d.len() && len > 9 && d[8].is_ascii_lowercase() && d[len - 1] == 0,
        _ => false,
    }
}

/// Telnet option negotiation: IAC WILL/WONT/DO/DONT of a defined option, followed by more
/// commands or nothing.
fn telnet_negotiation(d: &[u8]) -> bool {
    d.len() >= 3 && d[0] == 0xff && (251..=254).contains(&d[1]) && d[2] <= 49 && (d.len() == 3 || d[3] == 0xff)
}

/// BOOTP with the DHCP magic cookie.
fn dhcp(d: &[u8]) -> bool {
    d.len() >= 240 && (d[0] == 1 || d[0] == 2) && d[236..240] == [0x63, 0x82, 0x53, 0x63]
}

/// An NTP header: version 1-4 and, by mode, a time packet (48 bytes, sane stratum and poll),
/// a control message (mode 6) or an implementation-specific one (mode 7, ntpd's
/// implementations 0, 2, 3).
fn ntp(d: &[u8]) -> bool {
    let first = match d.first() {
        Some(&b) => b,
        None => return false,
    };
    if !(1..=4).contains(&((first >> 3) & 7)) {
        return false;
    }
    match first & 7 {
        1..=5 => d.len() >= 48 && d[1] <= 16 && d[2] <= 17,
        6 => d.len() >= 12 && d[1] & 0x1f != 0 && be16(d, 10).map_or(false, |n| 12 + n as usize <= d.len()),
        7 => d.len() >= 8 && matches!(d[2], 0 | 2 | 3),
        _ => false,
    }
}

/// A syslog message starts with "<PRI>" (RFC 3164, 5424), PRI at most 191.
fn syslog(d: &[u8]) -> bool {
    d.first() == Some(&b'<') && matches!(digits_until(d, 1, 3, b'>'), Some((_, pri)) if pri <= 191)
}

/// An SNMP message: a SEQUENCE filling the datagram that starts with INTEGER version 0, 1 or 3.
fn snmp(d: &[u8]) -> bool {
    let (len, header) = match d.get(1) {
        Some(&l) if l < 0x80 => (l as usize, 2),
        Some(0x81) => (d.get(2).map_or(0, |&l| l as usize), 3),
        Some(0x82) => (be16(d, 2).map_or(0, |l| l as usize), 4),
        _ => return false,
    };
    d[0] == 0x30 && header + len == d.len() && matches!(d.get(header..header + 3), Some([2, 1, 0 | 1 | 3]))
}

/// xorshift64: deterministic pseudo-random bytes for the app parsers' tests.
#[cfg(test)]
pub(crate) struct Rng(pub u64);

#[cfg(test)]
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// `d` with a few bytes overwritten and maybe cut short.
    pub fn mutate(&mut self, d: &[u8]) -> Vec<u8> {
        let mut m = d.to_vec();
        for _ in 0..1 + self.next() % 4 {
            let i = (self.next() % m.len() as u64) as usize;
            m[i] = self.next() as u8;
        }
        if self.next() % 4 == 0 {
            m.truncate((self.next() % m.len() as u64) as usize);
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(proto: u8, sport: u16, dport: u16) -> Packet {
        let mut p = Packet::new();
        p.ip_proto = proto;
        p.sport = sport;
        p.dport = dport;
        p
    }

    fn tcp_app(port: u16, d: &[u8]) -> Option<u8> {
        detect(&packet(IPPROTO_TCP, port, 40000), d)
    }

    fn udp_app(port: u16, d: &[u8]) -> Option<u8> {
        detect(&packet(IPPROTO_UDP, 40000, port), d)
    }

    #[test]
    fn greetings() {
        assert_eq!(tcp_app(2525, b"220 mx.example.org ESMTP Postfix\r\n"), Some(APP_SMTP));
        assert_eq!(tcp_app(25, b"220-mx.example.org ESMTP\r\n220 ready\r\n"), Some(APP_SMTP));
        assert_eq!(tcp_app(2121, b"220 (vsFTPd 3.0.3)\r\n"), Some(APP_FTP));
        assert_eq!(tcp_app(21, b"220 Welcome\r\n"), Some(APP_FTP));
        assert_eq!(tcp_app(110, b"+OK Dovecot ready.\r\n"), Some(APP_POP3));
        assert_eq!(tcp_app(1143, b"* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n"), Some(APP_IMAP));
        assert_eq!(tcp_app(143, b"* PREAUTH IMAP4rev1 server logged in\r\n"), Some(APP_IMAP));
        assert_eq!(tcp_app(5222, b"<?xml version='1.0'?><stream:stream to='x'>"), Some(APP_XMPP));
        assert_eq!(tcp_app(5222, b"<?xml version='1.0'?><html>"), None);
        // No line end yet, or binary after the code: not a greeting.
        assert_eq!(tcp_app(2525, b"220 mx.example.org"), None);
        assert_eq!(tcp_app(2525, b"220 \x01\x02\r\n"), None);
    }

    #[test]
    fn binary_protocols() {
        assert_eq!(tcp_app(7000, b"*1\r\n$4\r\nPING\r\n"), Some(APP_REDIS));
        assert_eq!(tcp_app(7000, b"*10\r\n"), None);
        let mut mqtt = vec![0x10, 0x1a, 0, 4];
        mqtt.extend_from_slice(b"MQTT\x04\x02\x00\x3c\x00\x0eclient-id-1234");
        assert_eq!(tcp_app(1884, &mqtt), Some(APP_MQTT));
        assert_eq!(tcp_app(1884, b"\x10\x80\x80\x80\x80\x00\x04MQTT"), None);
        let mut smb2 = vec![0, 0, 0, 0x44];
        smb2.extend_from_slice(b"\xfeSMB");
        smb2.resize(0x48, 0);
        assert_eq!(tcp_app(4455, &smb2), Some(APP_SMB));
        let mut rdp = vec![3, 0, 0, 0, 0, 0xe0, 0, 0, 0, 0, 0];
        rdp.extend_from_slice(b"Cookie: mstshash=user\r\n");
        rdp.extend_from_slice(&[1, 0, 8, 0, 3, 0, 0, 0]);
        rdp[3] = rdp.len() as u8;
        rdp[4] = rdp[3] - 5;
        assert_eq!(tcp_app(3390, &rdp), Some(APP_RDP));
        let s7 = [3, 0, 0, 0x16, 0x11, 0xe0, 0, 0, 0, 1, 0, 0xc0, 1, 0x0a, 0xc1, 2, 1, 0, 0xc2, 2, 1, 2];
        assert_eq!(tcp_app(102, &s7), None);
        let mut mysql = vec![0, 0, 0, 0, 10];
        mysql.extend_from_slice(b"8.0.36\0");
        mysql.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0xff, 0xf7]);
        mysql[0] = (mysql.len() - 4) as u8;
        assert_eq!(tcp_app(3307, &mysql), Some(APP_MYSQL));
        let mut startup = vec![0, 0, 0, 0, 0, 3, 0, 0];
        startup.extend_from_slice(b"user\0postgres\0database\0app\0\0");
        startup[3] = startup.len() as u8;
        assert_eq!(tcp_app(5433, &startup), Some(APP_POSTGRESQL));
        assert_eq!(tcp_app(5433, &[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]), Some(APP_POSTGRESQL));
        assert_eq!(tcp_app(2323, &[0xff, 0xfd, 0x18, 0xff, 0xfd, 0x20]), Some(APP_TELNET));
        assert_eq!(tcp_app(2323, &[0xff, 0xfd, 0x18, b'l', b'o']), None);
        // The signatures come before the DNS port fallback; the older ones keep their order.
        assert_eq!(tcp_app(53, b"\x00\x1c\x12\x34"), Some(APP_DNS));
        assert_eq!(tcp_app(2525, b"SSH-2.0-OpenSSH_9.6\r\n"), Some(APP_SSH));
    }

    #[test]
    fn udp_protocols_want_their_port() {
        let mut dhcp = vec![0u8; 300];
        dhcp[0] = 1;
        dhcp[236..240].copy_from_slice(&[0x63, 0x82, 0x53, 0x63]);
        assert_eq!(udp_app(67, &dhcp), Some(APP_DHCP));
        assert_eq!(udp_app(6767, &dhcp), None);
        let mut ntp = vec![0u8; 48];
        ntp[0] = 0x23;
        assert_eq!(udp_app(123, &ntp), Some(APP_NTP));
        assert_eq!(udp_app(123, &[0x16, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]), Some(APP_NTP));
        assert_eq!(udp_app(123, &[0x17, 0, 3, 1, 0, 0, 0, 0]), Some(APP_NTP));
        assert_eq!(udp_app(123, &ntp[..40]), None);
        assert_eq!(udp_app(514, b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed"), Some(APP_SYSLOG));
        assert_eq!(udp_app(514, b"<192>x"), None);
        let snmp = b"\x30\x0b\x02\x01\x01\x04\x06public";
        assert_eq!(udp_app(161, snmp), Some(APP_SNMP));
        assert_eq!(udp_app(161, &snmp[..12]), None);
        assert_eq!(udp_app(1161, snmp), None);
    }

    #[test]
    fn signatures_stay_silent_on_random_payloads() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let ports = [21, 25, 67, 110, 123, 143, 161, 445, 514, 1883, 3306, 3389, 5432, 6379, 40000];
        let (mut ntp_hits, mut other_hits) = (0, 0);
        let rounds = 20_000;
        for _ in 0..rounds {
            let len = match rng.next() % 4 {
                0 => (rng.next() % 16) as usize,
                1 => 48 + (rng.next() % 16) as usize,
                _ => (rng.next() % 1500) as usize,
            };
            let d: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            for &port in &ports {
                let tcp = tcp_signature(&packet(IPPROTO_TCP, port, 50000), &d);
                match udp_signature(&packet(IPPROTO_UDP, 50000, port), &d).or(tcp) {
                    Some(APP_NTP) => ntp_hits += 1,
                    Some(_) => other_hits += 1,
                    None => {}
                }
            }
        }
        assert_eq!(other_hits, 0);
        // NTP is the loosest (a few header bits on its own port): about 2 in 1000 there.
        assert!(ntp_hits * 200 < rounds, "{} of {} random datagrams to port 123 look like NTP", ntp_hits, rounds);
    }
}
