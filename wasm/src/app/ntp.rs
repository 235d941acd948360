//! NTP (RFC 5905; modes 6 and 7 as ntpd uses them): version and mode of every packet, and the
//! stratum of time packets.

use super::event::Ctx;
use crate::abi::*;

/// The size of a time packet's header (modes 1-5), which holds the stratum.
const TIME_HEADER: usize = 48;

pub fn datagram(ctx: &mut Ctx, d: &[u8]) {
    let first = match d.first() {
        Some(&b) => b,
        None => return,
    };
    let mode = first & 7;
    ctx.fields.u8(F_NTP_VERSION, (first >> 3) & 7);
    ctx.fields.u8(F_NTP_MODE, mode);
    if (1..=5).contains(&mode) && d.len() >= TIME_HEADER {
        ctx.fields.u8(F_NTP_STRATUM, d[1]);
    }
    ctx.emit(AK_NTP);
}

#[cfg(test)]
mod tests {
    use crate::abi::*;
    use crate::app::testing::{run, values, Seg};
    use crate::net::IPPROTO_UDP;

    fn seg(dir: u8, payload: &[u8]) -> Seg<'_> {
        let (sport, dport) = if dir == 0 { (40000, 123) } else { (123, 40000) };
        Seg { dir, proto: IPPROTO_UDP, sport, dport, seq: 0, tcp_flags: 0, payload }
    }

    #[test]
    fn client_server_and_control() {
        let mut client = vec![0u8; 48];
        client[0] = 0x23;
        let mut server = client.clone();
        server[0] = 0x24;
        server[1] = 2;
        let control = [0x16, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        let (_, ev) = run(&[seg(0, &client), seg(1, &server), seg(0, &control), seg(1, &[])]);
        assert_eq!(ev.len(), 3);
        let get = |i: usize, id| values(&ev[i].1, id);
        assert_eq!(
            (get(0, F_NTP_VERSION), get(0, F_NTP_MODE), get(0, F_NTP_STRATUM)),
            (vec![vec![4]], vec![vec![3]], vec![vec![0]])
        );
        assert_eq!((get(1, F_NTP_MODE), get(1, F_NTP_STRATUM)), (vec![vec![4]], vec![vec![2]]));
        assert_eq!(
            (get(2, F_NTP_VERSION), get(2, F_NTP_MODE), get(2, F_NTP_STRATUM)),
            (vec![vec![2]], vec![vec![6]], vec![])
        );
    }
}
