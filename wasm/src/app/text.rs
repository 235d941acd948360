//! Text forms of values for app fields: addresses as inet_ntop writes them, names escaped.

use std::fmt::Write;

pub fn ipv4(b: &[u8]) -> String {
    // Digits written by hand: `format!` cost more than the rest of an A record's decoding.
    let mut s = String::with_capacity(15);
    for (i, &x) in b[..4].iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        push_decimal(&mut s, x as u32);
    }
    s
}

/// Appends `x` in decimal (what `write!(s, "{}", x)` gives, without the formatting machinery).
pub fn push_decimal(s: &mut String, x: u32) {
    let (mut digits, mut at, mut x) = ([0u8; 10], 10, x);
    loop {
        at -= 1;
        digits[at] = b'0' + (x % 10) as u8;
        x /= 10;
        if x == 0 {
            break;
        }
    }
    s.extend(digits[at..].iter().map(|&d| d as char));
}

/// RFC 5952: lower-case hex, no leading zeros, the longest run of 2+ zero groups as "::".
pub fn ipv6(b: &[u8]) -> String {
    let g: Vec<u16> = (0..8).map(|i| u16::from_be_bytes([b[2 * i], b[2 * i + 1]])).collect();
    if g[..5].iter().all(|&x| x == 0) && g[5] == 0xffff {
        return format!("::ffff:{}", ipv4(&b[12..16]));
    }
    let (mut best, mut best_len, mut i) = (8, 0, 0);
    while i < 8 {
        if g[i] != 0 {
            i += 1;
            continue;
        }
        let start = i;
        while i < 8 && g[i] == 0 {
            i += 1;
        }
        if i - start > best_len && i - start >= 2 {
            best = start;
            best_len = i - start;
        }
    }
    let hex = |s: &[u16]| s.iter().map(|x| format!("{:x}", x)).collect::<Vec<_>>().join(":");
    if best == 8 {
        hex(&g)
    } else {
        format!("{}::{}", hex(&g[..best]), hex(&g[best + best_len..]))
    }
}

/// Appends a DNS label, escaping bytes that are not printable, dots and backslashes (RFC 1035 5.1).
pub fn push_label(out: &mut String, label: &[u8]) {
    for &c in label {
        match c {
            b'.' | b'\\' => {
                out.push('\\');
                out.push(c as char);
            }
            0x21..=0x7e => out.push(c as char),
            _ => {
                let _ = write!(out, "\\{:03}", c);
            }
        }
    }
}

pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    push_hex(&mut s, b);
    s
}

/// Appends `b` as lower-case hex, two digits a byte.
pub fn push_hex(s: &mut String, b: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &x in b {
        s.push(DIGITS[(x >> 4) as usize] as char);
        s.push(DIGITS[(x & 15) as usize] as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_forms() {
        let mut a = [0u8; 16];
        a[0] = 0x20;
        a[1] = 0x01;
        a[2] = 0x0d;
        a[3] = 0xb8;
        a[15] = 1;
        assert_eq!(ipv6(&a), "2001:db8::1");
        assert_eq!(ipv6(&[0; 16]), "::");
        let mut m = [0u8; 16];
        m[10] = 0xff;
        m[11] = 0xff;
        m[12..].copy_from_slice(&[192, 0, 2, 1]);
        assert_eq!(ipv6(&m), "::ffff:192.0.2.1");
        assert_eq!(ipv4(&[0, 9, 10, 255]), "0.9.10.255");
        assert_eq!(ipv4(&[100, 199, 200, 1]), "100.199.200.1");
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        for x in [0, 7, 10, 99, 100, 65535, 4294967295] {
            let mut s = String::new();
            push_decimal(&mut s, x);
            assert_eq!(s, x.to_string());
        }
        let mut label = String::new();
        push_label(&mut label, b"a.b\x01");
        assert_eq!(label, "a\\.b\\001");
    }
}
