//! SSH: each side's identification line ("SSH-2.0-software comments", RFC 4253 4.2; a server may
//! send other lines before it) and its first KEXINIT (7.1), whose name-lists make HASSH. The
//! flow is done once both sides have sent theirs; a side that breaks the rules is given up.

use super::event::Ctx;
use super::{Parsed, StreamParser};
use crate::abi::*;
use crate::bytes::{be32, u8_at};

/// The identification line is at most 255 bytes with its CR LF.
const MAX_LINE: usize = 255;
/// Lines a server may send before its identification line that we look through.
const MAX_PRE_LINES: u8 = 32;
/// Largest packet an implementation must accept (RFC 4253 6.1).
const MAX_PACKET: usize = 35000;
/// Binary packets before KEXINIT we look through (it is normally the first).
const MAX_PACKETS_BEFORE_KEXINIT: u8 = 4;
const MSG_KEXINIT: u8 = 20;
/// KEXINIT name-lists in order, with the fields of the first eight (the languages are dropped).
const LISTS: [u16; 8] =
    [F_SSH_KEX, F_SSH_HOST_KEY, F_SSH_ENC_CS, F_SSH_ENC_SC, F_SSH_MAC_CS, F_SSH_MAC_SC, F_SSH_CMP_CS, F_SSH_CMP_SC];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stage {
    Banner,
    Kexinit,
    Done,
}

#[derive(Clone, Copy, Debug)]
struct Side {
    stage: Stage,
    /// Lines or packets skipped in the current stage.
    skipped: u8,
}

pub struct Ssh {
    sides: [Side; 2],
}

impl Default for Ssh {
    fn default() -> Ssh {
        Ssh { sides: [Side { stage: Stage::Banner, skipped: 0 }; 2] }
    }
}

impl StreamParser for Ssh {
    fn parse(&mut self, ctx: &mut Ctx, dir: usize, data: &[u8]) -> Parsed {
        let side = &mut self.sides[dir];
        let consumed = match side.stage {
            Stage::Banner => banner(ctx, side, data),
            Stage::Kexinit => packet(ctx, side, data),
            Stage::Done => data.len(),
        };
        // A side that is done drops whatever else it sends.
        let consumed = if side.stage == Stage::Done { data.len() } else { consumed };
        Parsed { consumed, done: self.sides.iter().all(|s| s.stage == Stage::Done), ..Parsed::default() }
    }
}

/// Looks at one line; returns the bytes it used (0: wait for more).
fn banner(ctx: &mut Ctx, side: &mut Side, data: &[u8]) -> usize {
    let end = match data.iter().take(MAX_LINE).position(|&b| b == b'\n') {
        Some(i) => i,
        None => {
            if data.len() >= MAX_LINE {
                side.stage = Stage::Done;
            }
            return 0;
        }
    };
    let line = data[..end].strip_suffix(b"\r").unwrap_or(&data[..end]);
    if !line.starts_with(b"SSH-") {
        side.skipped += 1;
        if side.skipped > MAX_PRE_LINES {
            side.stage = Stage::Done;
        }
        return end + 1;
    }
    if !ctx.can_emit() {
        ctx.defer();
        return 0;
    }
    ctx.fields.bytes(F_SSH_BANNER, line);
    ctx.emit(AK_SSH_BANNER);
    // SSH 1 ("SSH-1.5-") frames its packets differently; "SSH-1.99-" speaks version 2.
    let v2 = line.starts_with(b"SSH-2.0-") || line.starts_with(b"SSH-1.99-");
    *side = Side { stage: if v2 { Stage::Kexinit } else { Stage::Done }, skipped: 0 };
    end + 1
}

/// Looks at one binary packet (uint32 packet_length, byte padding_length, payload, padding;
/// no MAC before the first key exchange); returns the bytes it used (0: wait for more).
fn packet(ctx: &mut Ctx, side: &mut Side, data: &[u8]) -> usize {
    let len = match be32(data, 0) {
        Some(l) => l as usize,
        None => return 0,
    };
    let padding = u8_at(data, 4).map_or(0, |p| p as usize);
    if !(5..=MAX_PACKET).contains(&len) || padding + 1 >= len {
        side.stage = Stage::Done;
        return 0;
    }
    let payload = match data.get(5..4 + len - padding) {
        Some(p) if data.len() >= 4 + len => p,
        _ => return 0,
    };
    if payload[0] != MSG_KEXINIT {
        side.skipped += 1;
        if side.skipped > MAX_PACKETS_BEFORE_KEXINIT {
            side.stage = Stage::Done;
        }
        return 4 + len;
    }
    if !ctx.can_emit() {
        ctx.defer();
        return 0;
    }
    kexinit(ctx, payload);
    side.stage = Stage::Done;
    4 + len
}

/// byte 20, 16-byte cookie, then name-lists (uint32 length, comma-separated names); a list cut
/// short ends the event there.
fn kexinit(ctx: &mut Ctx, payload: &[u8]) {
    let mut pos = 17;
    for id in LISTS {
        let list = be32(payload, pos).and_then(|n| {
            let start = pos + 4;
            payload.get(start..start.checked_add(n as usize)?)
        });
        match list {
            Some(l) => {
                ctx.fields.bytes(id, l);
                pos += 4 + l.len();
            }
            None => break,
        }
    }
    ctx.emit(AK_SSH_KEXINIT);
}

#[cfg(test)]
mod tests {
    use crate::abi::*;
    use crate::app::testing::{run, values, Seg};
    use crate::net::IPPROTO_TCP;

    /// A KEXINIT binary packet with the given name-lists (then the two language lists).
    fn kexinit(lists: &[&str]) -> Vec<u8> {
        let mut payload = vec![20];
        payload.extend_from_slice(&[0xab; 16]);
        for l in lists.iter().chain(&["", ""]) {
            payload.extend_from_slice(&(l.len() as u32).to_be_bytes());
            payload.extend_from_slice(l.as_bytes());
        }
        payload.extend_from_slice(&[0, 0, 0, 0, 0]);
        let padding = 8 - (payload.len() + 5) % 8 + 4;
        let mut p = ((payload.len() + padding + 1) as u32).to_be_bytes().to_vec();
        p.push(padding as u8);
        p.extend_from_slice(&payload);
        p.extend_from_slice(&vec![0; padding]);
        p
    }

    fn seg(dir: u8, seq: u32, payload: &[u8]) -> Seg<'_> {
        let (sport, dport) = if dir == 0 { (50000, 22) } else { (22, 50000) };
        Seg { dir, proto: IPPROTO_TCP, sport, dport, seq, tcp_flags: 0x18, payload }
    }

    const LISTS: [&str; 8] = [
        "curve25519-sha256",
        "ssh-ed25519",
        "aes128-ctr",
        "aes256-ctr",
        "hmac-sha2-256",
        "hmac-sha1",
        "none",
        "none,zlib",
    ];

    #[test]
    fn banners_and_kexinits_of_both_sides() {
        let mut server = b"Please wait\r\nSSH-2.0-OpenSSH_9.6 Debian\r\n".to_vec();
        let server_kex = kexinit(&LISTS);
        server.extend_from_slice(&server_kex);
        let client = b"SSH-2.0-PuTTY_Release_0.80\r\n".to_vec();
        let client_kex = kexinit(&LISTS[..]);
        // The server's bytes arrive cut at awkward places; the client's KEXINIT comes alone.
        let (fa, ev) = run(&[
            seg(0, 7000, &client),
            seg(1, 1000, &server[..5]),
            seg(1, 1005, &server[5..30]),
            seg(1, 1030, &server[30..]),
            seg(0, 7000 + client.len() as u32, &client_kex[..9]),
            seg(0, 7009 + client.len() as u32, &client_kex[9..]),
        ]);
        assert!(fa.done);
        let kinds: Vec<u8> = ev.iter().map(|e| e.0).collect();
        assert_eq!(kinds, vec![AK_SSH_BANNER, AK_SSH_BANNER, AK_SSH_KEXINIT, AK_SSH_KEXINIT]);
        assert_eq!(values(&ev[0].1, F_SSH_BANNER), vec![b"SSH-2.0-PuTTY_Release_0.80".to_vec()]);
        assert_eq!(values(&ev[1].1, F_SSH_BANNER), vec![b"SSH-2.0-OpenSSH_9.6 Debian".to_vec()]);
        for (i, id) in super::LISTS.iter().enumerate() {
            assert_eq!(values(&ev[3].1, *id), vec![LISTS[i].as_bytes().to_vec()]);
        }
    }

    #[test]
    fn hostile_lengths_give_the_side_up() {
        let mut kex = kexinit(&LISTS);
        // A name-list that claims more than the packet: the lists before it are kept.
        kex[5 + 17 + 4 + LISTS[0].len() + 3] = 0xff;
        let (_, ev) = run(&[seg(0, 1, b"SSH-2.0-x\r\n"), seg(0, 12, &kex)]);
        assert_eq!(ev[1].0, AK_SSH_KEXINIT);
        assert_eq!(values(&ev[1].1, F_SSH_KEX), vec![LISTS[0].as_bytes().to_vec()]);
        assert!(values(&ev[1].1, F_SSH_HOST_KEY).is_empty());
        // A packet length past the limit, a line that never ends: nothing more, nothing held.
        let (_, ev) = run(&[seg(0, 1, b"SSH-2.0-x\r\n\xff\xff\xff\xff\x04")]);
        assert_eq!(ev.len(), 1);
        let long = [b'a'; 300];
        let (_, ev) = run(&[seg(1, 1, b"SSH-"), seg(1, 5, &long), seg(0, 1, b"SSH-2.0-y\r\n")]);
        assert_eq!(ev.len(), 1);
        // SSH 1 has no KEXINIT.
        let (_, ev) = run(&[seg(1, 1, b"SSH-1.5-old\n"), seg(1, 13, &kexinit(&LISTS))]);
        assert_eq!(ev.len(), 1);
    }

    #[test]
    fn mutated_streams_never_panic() {
        let mut rng = crate::app::detect::Rng(7);
        let mut stream = b"SSH-2.0-x\r\n".to_vec();
        stream.extend_from_slice(&kexinit(&LISTS));
        for _ in 0..5000 {
            let mut m = rng.mutate(&stream);
            if m.len() < 4 {
                continue;
            }
            // Kept, so that the flow is detected as SSH.
            m[..4].copy_from_slice(b"SSH-");
            let cut = rng.next() as usize % m.len();
            let (_, ev) = run(&[seg(0, 1, &m[..cut]), seg(0, 1 + cut as u32, &m[cut..])]);
            assert!(ev.len() <= 2);
        }
    }
}
