//! DHCP (BOOTP with the magic cookie) (parser to be completed).

use super::event::Ctx;

pub fn datagram(_ctx: &mut Ctx, _d: &[u8]) {}
