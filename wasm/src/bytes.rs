//! Bounds-checked reads from packet bytes. Every read returns `None` past the end, so a length
//! field taken from a packet can never index outside the captured data.

#[inline(always)]
pub fn u8_at(d: &[u8], off: usize) -> Option<u8> {
    d.get(off).copied()
}

#[inline(always)]
pub fn be16(d: &[u8], off: usize) -> Option<u16> {
    let b = d.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

#[inline(always)]
pub fn be32(d: &[u8], off: usize) -> Option<u32> {
    let b = d.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

#[inline(always)]
pub fn le16(d: &[u8], off: usize) -> Option<u16> {
    let b = d.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

#[inline(always)]
pub fn le32(d: &[u8], off: usize) -> Option<u32> {
    let b = d.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads integers in a capture file's own byte order (pcap and pcapng may be either).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    Little,
    Big,
}

impl Order {
    #[inline(always)]
    pub fn u16(self, d: &[u8], off: usize) -> Option<u16> {
        match self {
            Order::Little => le16(d, off),
            Order::Big => be16(d, off),
        }
    }

    #[inline(always)]
    pub fn u32(self, d: &[u8], off: usize) -> Option<u32> {
        match self {
            Order::Little => le32(d, off),
            Order::Big => be32(d, off),
        }
    }

    pub fn u64(self, d: &[u8], off: usize) -> Option<u64> {
        let a = self.u32(d, off)? as u64;
        let b = self.u32(d, off + 4)? as u64;
        Some(match self {
            Order::Little => (b << 32) | a,
            Order::Big => (a << 32) | b,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_at_the_end() {
        let d = [1u8, 2, 3];
        assert_eq!(be16(&d, 1), Some(0x0203));
        assert_eq!(be16(&d, 2), None);
        assert_eq!(be32(&d, 0), None);
        assert_eq!(be16(&d, usize::MAX), None);
        assert_eq!(Order::Big.u64(&[0, 0, 0, 1, 0, 0, 0, 2], 0), Some((1 << 32) | 2));
        assert_eq!(Order::Little.u64(&[2, 0, 0, 0, 1, 0, 0, 0], 0), Some((1 << 32) | 2));
    }
}
