//! QUIC long-header Initial packets, handed whole to TS for decryption (to be completed).

use super::event::Ctx;

pub fn looks_like_initial(_d: &[u8]) -> bool {
    false
}

/// Emits a client Initial; returns whether later packets of the flow are still wanted.
pub fn datagram(_ctx: &mut Ctx, _d: &[u8], _nth: u8) -> bool {
    false
}
