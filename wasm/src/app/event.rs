//! EV_APP events: a fixed part and `u16 id, u16 length, value` fields (ABI.md, "APP event").

use crate::abi::*;
use crate::out::Out;
use crate::packet::Packet;
use crate::stats::Stats;

/// Fields of the event being built; values are cut so the event stays within APP_EVENT_MAX.
pub struct Fields {
    buf: Vec<u8>,
}

const ROOM: usize = APP_EVENT_MAX - AP_DATA.at;

impl Fields {
    pub fn new() -> Fields {
        Fields { buf: Vec::with_capacity(ROOM) }
    }

    pub fn clear(&mut self) {
        self.buf.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Adds a field, shortened to what still fits (a field that would not fit at all is dropped).
    pub fn bytes(&mut self, id: u16, value: &[u8]) {
        let left = ROOM.saturating_sub(self.buf.len() + AF_VALUE.at);
        let value = &value[..value.len().min(left).min(u16::MAX as usize)];
        if left == 0 {
            return;
        }
        let at = self.buf.len();
        self.buf.resize(at + AF_VALUE.at, 0);
        let field = &mut self.buf[at..];
        put(field, AF_ID, id);
        put(field, AF_LEN, value.len() as u16);
        self.buf.extend_from_slice(value);
    }

    /// Whether a field of `len` bytes fits whole.
    pub fn fits(&self, len: usize) -> bool {
        self.buf.len() + AF_VALUE.at + len <= ROOM
    }

    pub fn u8(&mut self, id: u16, v: u8) {
        self.bytes(id, &[v]);
    }

    pub fn u16(&mut self, id: u16, v: u16) {
        self.bytes(id, &v.to_le_bytes());
    }

    pub fn u32(&mut self, id: u16, v: u32) {
        self.bytes(id, &v.to_le_bytes());
    }

    /// A `u16[]` field from big-endian wire values (an odd last byte is ignored).
    pub fn u16_list_be(&mut self, id: u16, wire: &[u8]) {
        let mut le = Vec::with_capacity(wire.len());
        for pair in wire.chunks_exact(2) {
            le.extend_from_slice(&[pair[1], pair[0]]);
        }
        self.bytes(id, &le);
    }
}

impl Default for Fields {
    fn default() -> Fields {
        Fields::new()
    }
}

/// What a parser needs to write events for the packet being decoded.
pub struct Ctx<'a> {
    pub out: &'a mut Out,
    pub stats: &'a mut Stats,
    pub fields: &'a mut Fields,
    pub packet: &'a Packet,
    /// 0 from the initiator, 1 from the responder.
    pub dir: u8,
    pub app: u8,
    /// A data connection the parser announced (FTP), taken by the dispatcher after the packet.
    pub announced: Option<super::expect::Announced>,
    /// The parser saw the flow agree to start TLS (STARTTLS and the like): what follows is TLS.
    pub starttls: bool,
}

impl<'a> Ctx<'a> {
    pub fn new(out: &'a mut Out, stats: &'a mut Stats, fields: &'a mut Fields, packet: &'a Packet, app: u8) -> Ctx<'a> {
        fields.clear();
        let dir = (packet.flags & PF_FROM_RESPONDER != 0) as u8;
        Ctx { out, stats, fields, packet, dir, app, announced: None, starttls: false }
    }

    /// Room for one more event (else the message waits in its stream for a later packet).
    pub fn can_emit(&self) -> bool {
        self.out.room() >= APP_EVENT_MAX
    }

    /// Counts a message left for a later packet because `can_emit` said no.
    pub fn defer(&mut self) {
        self.stats.v[ST_APP_DEFERRED] += 1.0;
    }

    /// Writes the fields collected so far as one event of `kind`, then clears them.
    pub fn emit(&mut self, kind: u8) {
        let n = self.fields.buf.len();
        if let Some(e) = self.out.event(EV_APP, AP_DATA.at + n) {
            let p = self.packet;
            put(e, AP_KIND, kind);
            put(e, AP_DIR, self.dir);
            put(e, AP_APP, self.app);
            put(e, AP_IPVER, p.l3);
            put(e, AP_FIELDS_LEN, n as u32);
            put(e, AP_FLOW_ID, p.flow_id as f64);
            put(e, AP_TS_SEC, (p.ts_ns / 1_000_000_000) as f64);
            put(e, AP_TS_NSEC, (p.ts_ns % 1_000_000_000) as u32);
            put(e, AP_FRAME, p.frame as f64);
            // A message flushed by a packet going the other way keeps its own direction.
            let flip = self.dir != (p.flags & PF_FROM_RESPONDER != 0) as u8;
            let (src, dst, sport, dport) = if flip { (&p.dst, &p.src, p.dport, p.sport) } else { (&p.src, &p.dst, p.sport, p.dport) };
            put(e, AP_SPORT, sport);
            put(e, AP_DPORT, dport);
            put(e, AP_SRC, *src);
            put(e, AP_DST, *dst);
            put_tail(e, AP_DATA, &self.fields.buf);
            self.stats.v[ST_APP_EVENTS] += 1.0;
        }
        self.fields.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_never_outgrow_an_event() {
        let mut f = Fields::new();
        f.bytes(1, &[7u8; 40_000]);
        f.bytes(2, b"more");
        assert!(f.buf.len() <= ROOM);
        assert_eq!(u16::from_le_bytes([f.buf[2], f.buf[3]]) as usize, ROOM - 4);
        let mut g = Fields::new();
        g.u16_list_be(3, &[0x13, 0x01, 0x00, 0x2f, 0xff]);
        assert_eq!(g.buf, vec![3, 0, 4, 0, 0x01, 0x13, 0x2f, 0x00]);
    }
}
