//! Classic BPF, as libpcap compiles it (`pcap_compile` on a dead handle; see ffi/libpcap.ts).
//! Programs are validated before use like the kernel's and libpcap's `bpf_validate`: jumps only
//! forward and inside the program, scratch memory indexes in range, a return at the end. Loads
//! past the captured bytes reject the packet, as in `bpf_filter`.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

impl Insn {
    /// Parses libpcap's 8-byte `struct bpf_insn` (native little-endian on wasm32 and x86).
    pub fn from_bytes(b: &[u8]) -> Insn {
        Insn { code: u16::from_le_bytes([b[0], b[1]]), jt: b[2], jf: b[3], k: u32::from_le_bytes([b[4], b[5], b[6], b[7]]) }
    }
}

const MEMWORDS: usize = 16;
/// Most instructions accepted (the kernel's BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

// Instruction classes and fields (bpf.h).
const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const ST: u16 = 0x02;
const STX: u16 = 0x03;
const ALU: u16 = 0x04;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const MISC: u16 = 0x07;
const W: u16 = 0x00;
const H: u16 = 0x08;
const B: u16 = 0x10;
const IMM: u16 = 0x00;
const ABS: u16 = 0x20;
const IND: u16 = 0x40;
const MEM: u16 = 0x60;
const LEN: u16 = 0x80;
const MSH: u16 = 0xa0;
const ADD: u16 = 0x00;
const SUB: u16 = 0x10;
const MUL: u16 = 0x20;
const DIV: u16 = 0x30;
const OR: u16 = 0x40;
const AND: u16 = 0x50;
const LSH: u16 = 0x60;
const RSH: u16 = 0x70;
const NEG: u16 = 0x80;
const MOD: u16 = 0x90;
const XOR: u16 = 0xa0;
const JA: u16 = 0x00;
const JEQ: u16 = 0x10;
const JGT: u16 = 0x20;
const JGE: u16 = 0x30;
const JSET: u16 = 0x40;
const SRC_X: u16 = 0x08;
const RVAL_A: u16 = 0x10;
const TAX: u16 = 0x00;
const TXA: u16 = 0x80;

fn class(code: u16) -> u16 {
    code & 0x07
}

pub fn validate(prog: &[Insn]) -> bool {
    if prog.is_empty() || prog.len() > MAX_INSNS {
        return false;
    }
    for (pc, i) in prog.iter().enumerate() {
        let rest = prog.len() - pc - 1;
        let ok = match class(i.code) {
            LD | LDX => match i.code & 0xe0 {
                IMM | LEN | ABS | IND => true,
                MEM => (i.k as usize) < MEMWORDS,
                MSH => class(i.code) == LDX && i.code & 0x18 == B,
                _ => false,
            },
            ST | STX => (i.k as usize) < MEMWORDS,
            ALU => match i.code & 0xf0 {
                ADD | SUB | MUL | OR | AND | LSH | RSH | NEG | XOR => true,
                DIV | MOD => i.code & SRC_X != 0 || i.k != 0,
                _ => false,
            },
            JMP => match i.code & 0xf0 {
                JA => (i.k as usize) < rest,
                JEQ | JGT | JGE | JSET => (i.jt as usize) < rest && (i.jf as usize) < rest,
                _ => false,
            },
            RET => true,
            MISC => matches!(i.code & 0xf8, TAX | TXA),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    class(prog[prog.len() - 1].code) == RET
}

fn load(pkt: &[u8], k: usize, size: u16) -> Option<u32> {
    match size {
        W => crate::bytes::be32(pkt, k),
        H => crate::bytes::be16(pkt, k).map(|v| v as u32),
        B => pkt.get(k).map(|&v| v as u32),
        _ => None,
    }
}

/// Runs a validated program; returns the snap length to keep (0 = reject).
pub fn run(prog: &[Insn], pkt: &[u8], wirelen: u32) -> u32 {
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; MEMWORDS];
    let mut pc = 0usize;
    while let Some(i) = prog.get(pc) {
        pc += 1;
        let k = i.k;
        match class(i.code) {
            RET => return if i.code & 0x18 == RVAL_A { a } else { k },
            LD => {
                a = match i.code & 0xe0 {
                    IMM => k,
                    LEN => wirelen,
                    MEM => mem[k as usize % MEMWORDS],
                    ABS => match load(pkt, k as usize, i.code & 0x18) {
                        Some(v) => v,
                        None => return 0,
                    },
                    IND => match x.checked_add(k).and_then(|o| load(pkt, o as usize, i.code & 0x18)) {
                        Some(v) => v,
                        None => return 0,
                    },
                    _ => return 0,
                }
            }
            LDX => {
                x = match i.code & 0xe0 {
                    IMM => k,
                    LEN => wirelen,
                    MEM => mem[k as usize % MEMWORDS],
                    MSH => match pkt.get(k as usize) {
                        Some(&b) => ((b & 0x0f) as u32) << 2,
                        None => return 0,
                    },
                    _ => return 0,
                }
            }
            ST => mem[k as usize % MEMWORDS] = a,
            STX => mem[k as usize % MEMWORDS] = x,
            ALU => {
                let v = if i.code & SRC_X != 0 { x } else { k };
                a = match i.code & 0xf0 {
                    ADD => a.wrapping_add(v),
                    SUB => a.wrapping_sub(v),
                    MUL => a.wrapping_mul(v),
                    DIV => match a.checked_div(v) {
                        Some(r) => r,
                        None => return 0,
                    },
                    MOD => match a.checked_rem(v) {
                        Some(r) => r,
                        None => return 0,
                    },
                    OR => a | v,
                    AND => a & v,
                    LSH => if v < 32 { a << v } else { 0 },
                    RSH => if v < 32 { a >> v } else { 0 },
                    NEG => a.wrapping_neg(),
                    XOR => a ^ v,
                    _ => return 0,
                }
            }
            JMP => {
                let v = if i.code & SRC_X != 0 { x } else { k };
                let taken = match i.code & 0xf0 {
                    JA => {
                        pc += k as usize;
                        continue;
                    }
                    JEQ => a == v,
                    JGT => a > v,
                    JGE => a >= v,
                    JSET => a & v != 0,
                    _ => return 0,
                };
                pc += if taken { i.jt as usize } else { i.jf as usize };
            }
            MISC => {
                if i.code & 0xf8 == TXA {
                    a = x;
                } else {
                    x = a;
                }
            }
            _ => return 0,
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ins(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
        Insn { code, jt, jf, k }
    }

    /// `tcpdump -d ip` on Ethernet: ldh [12]; jeq #0x800 jt 2 jf 3; ret #262144; ret #0
    fn ip_only() -> Vec<Insn> {
        vec![ins(0x28, 0, 0, 12), ins(0x15, 0, 1, 0x800), ins(0x06, 0, 0, 262144), ins(0x06, 0, 0, 0)]
    }

    #[test]
    fn accepts_and_rejects() {
        let p = ip_only();
        assert!(validate(&p));
        let mut pkt = vec![0u8; 14];
        pkt[12] = 0x08;
        assert_eq!(run(&p, &pkt, 14), 262144);
        pkt[12] = 0x86;
        assert_eq!(run(&p, &pkt, 14), 0);
        assert_eq!(run(&p, &pkt[..10], 14), 0, "short packets are rejected, not read past");
    }

    #[test]
    fn rejects_bad_programs() {
        assert!(!validate(&[]));
        assert!(!validate(&[ins(0x05, 0, 0, 5), ins(0x06, 0, 0, 0)]), "jump past the end");
        assert!(!validate(&[ins(0x28, 0, 0, 12)]), "no return at the end");
        assert!(!validate(&[ins(0x60, 0, 0, 16), ins(0x06, 0, 0, 0)]), "scratch index out of range");
        assert!(!validate(&[ins(0x34, 0, 0, 0), ins(0x06, 0, 0, 0)]), "division by constant zero");
    }

    #[test]
    fn division_by_zero_register_rejects() {
        let p = vec![ins(0x00, 0, 0, 10), ins(0x3c, 0, 0, 0), ins(0x16, 0, 0, 0)];
        assert!(validate(&p));
        assert_eq!(run(&p, &[], 0), 0);
    }
}
