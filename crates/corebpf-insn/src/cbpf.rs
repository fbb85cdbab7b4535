//! Classic BPF (`struct sock_filter`): typed model, decode/encode, kernel-style validation,
//! `tcpdump -d` disassembly, parsing of the textual forms people paste, a reference
//! interpreter, per-instruction explanation and filter-expression reconstruction.
//!
//! An instruction is the 8-byte record the kernel takes through `SO_ATTACH_FILTER`
//! (`u16 code, u8 jt, u8 jf, u32 k`, host byte order, which this module fixes to little-endian)
//! and the element type of the arrays `tcpdump -dd` prints.

mod disasm;
mod error;
mod explain;
mod expr;
mod interp;
mod parse;
mod proto;
mod sym;

pub use disasm::{disassemble, disassemble_insn, mnemonic};
pub use error::{Error, ParseError, ParseProblem};
pub use explain::{explain, AcceptPath, Explanation, InsnNote};
pub use expr::{reconstruct, Reconstruction};
pub use interp::{run, RunContext};
pub use parse::{format_c_array, format_comma, format_ddd, parse, parse_as, Form, Parsed};

/// Most instructions the kernel accepts in one classic filter (`BPF_MAXINSNS`).
pub const MAX_INSNS: usize = 4096;
/// Number of scratch memory words `M[0]..M[15]` (`BPF_MEMWORDS`).
pub const MEMWORDS: u32 = 16;
/// Base of the Linux ancillary-data offsets (`SKF_AD_OFF`, i.e. -0x1000 as `u32`).
pub const SKF_AD_OFF: u32 = 0xffff_f000;

// Instruction classes.
pub const BPF_LD: u16 = 0x00;
pub const BPF_LDX: u16 = 0x01;
pub const BPF_ST: u16 = 0x02;
pub const BPF_STX: u16 = 0x03;
pub const BPF_ALU: u16 = 0x04;
pub const BPF_JMP: u16 = 0x05;
pub const BPF_RET: u16 = 0x06;
pub const BPF_MISC: u16 = 0x07;
// Sizes.
pub const BPF_W: u16 = 0x00;
pub const BPF_H: u16 = 0x08;
pub const BPF_B: u16 = 0x10;
// Modes.
pub const BPF_IMM: u16 = 0x00;
pub const BPF_ABS: u16 = 0x20;
pub const BPF_IND: u16 = 0x40;
pub const BPF_MEM: u16 = 0x60;
pub const BPF_LEN: u16 = 0x80;
pub const BPF_MSH: u16 = 0xa0;
// ALU / jump operations.
pub const BPF_ADD: u16 = 0x00;
pub const BPF_SUB: u16 = 0x10;
pub const BPF_MUL: u16 = 0x20;
pub const BPF_DIV: u16 = 0x30;
pub const BPF_OR: u16 = 0x40;
pub const BPF_AND: u16 = 0x50;
pub const BPF_LSH: u16 = 0x60;
pub const BPF_RSH: u16 = 0x70;
pub const BPF_NEG: u16 = 0x80;
pub const BPF_MOD: u16 = 0x90;
pub const BPF_XOR: u16 = 0xa0;
pub const BPF_JA: u16 = 0x00;
pub const BPF_JEQ: u16 = 0x10;
pub const BPF_JGT: u16 = 0x20;
pub const BPF_JGE: u16 = 0x30;
pub const BPF_JSET: u16 = 0x40;
// Sources.
pub const BPF_K: u16 = 0x00;
pub const BPF_X: u16 = 0x08;
pub const BPF_A: u16 = 0x10;
// Misc.
pub const BPF_TAX: u16 = 0x00;
pub const BPF_TXA: u16 = 0x80;

/// One raw classic BPF instruction (`struct sock_filter`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

impl Insn {
    /// Size of one encoded instruction.
    pub const SIZE: usize = 8;

    pub const fn new(code: u16, jt: u8, jf: u8, k: u32) -> Self {
        Insn { code, jt, jf, k }
    }

    /// A non-jump instruction (`BPF_STMT`).
    pub const fn stmt(code: u16, k: u32) -> Self {
        Insn {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }

    /// Decode one little-endian record.
    pub fn from_bytes(b: [u8; 8]) -> Self {
        Insn {
            code: u16::from_le_bytes([b[0], b[1]]),
            jt: b[2],
            jf: b[3],
            k: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// Encode as one little-endian record.
    pub fn to_bytes(self) -> [u8; 8] {
        let c = self.code.to_le_bytes();
        let k = self.k.to_le_bytes();
        [c[0], c[1], self.jt, self.jf, k[0], k[1], k[2], k[3]]
    }

    pub const fn class(self) -> u16 {
        self.code & 0x07
    }

    /// The typed form of this instruction, or `None` for an opcode the Linux kernel rejects.
    pub fn op(self) -> Option<Op> {
        Op::from_insn(self)
    }

    /// Whether this is a conditional jump (has `jt`/`jf` targets).
    pub const fn is_cond_jump(self) -> bool {
        self.class() == BPF_JMP && (self.code & 0xf0) != BPF_JA
    }
}

/// Load width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Size {
    /// 32-bit word.
    W,
    /// 16-bit half word.
    H,
    /// 8-bit byte.
    B,
}

impl Size {
    pub const fn bytes(self) -> u32 {
        match self {
            Size::W => 4,
            Size::H => 2,
            Size::B => 1,
        }
    }
    const fn bits(self) -> u16 {
        match self {
            Size::W => BPF_W,
            Size::H => BPF_H,
            Size::B => BPF_B,
        }
    }
    const fn from_bits(code: u16) -> Option<Size> {
        match code & 0x18 {
            BPF_W => Some(Size::W),
            BPF_H => Some(Size::H),
            BPF_B => Some(Size::B),
            _ => None,
        }
    }
}

/// Operand of an ALU operation or a conditional jump.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Src {
    K(u32),
    X,
}

/// ALU operation (binary; `neg` is [`Op::Neg`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AluOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    And,
    Or,
    Xor,
    Lsh,
    Rsh,
}

impl AluOp {
    const ALL: [(AluOp, u16); 10] = [
        (AluOp::Add, BPF_ADD),
        (AluOp::Sub, BPF_SUB),
        (AluOp::Mul, BPF_MUL),
        (AluOp::Div, BPF_DIV),
        (AluOp::Mod, BPF_MOD),
        (AluOp::And, BPF_AND),
        (AluOp::Or, BPF_OR),
        (AluOp::Xor, BPF_XOR),
        (AluOp::Lsh, BPF_LSH),
        (AluOp::Rsh, BPF_RSH),
    ];
    pub const fn name(self) -> &'static str {
        match self {
            AluOp::Add => "add",
            AluOp::Sub => "sub",
            AluOp::Mul => "mul",
            AluOp::Div => "div",
            AluOp::Mod => "mod",
            AluOp::And => "and",
            AluOp::Or => "or",
            AluOp::Xor => "xor",
            AluOp::Lsh => "lsh",
            AluOp::Rsh => "rsh",
        }
    }
    fn bits(self) -> u16 {
        AluOp::ALL
            .iter()
            .find(|(o, _)| *o == self)
            .map_or(0, |(_, b)| *b)
    }
    fn from_bits(code: u16) -> Option<AluOp> {
        AluOp::ALL
            .iter()
            .find(|(_, b)| *b == code & 0xf0)
            .map(|(o, _)| *o)
    }
    /// Apply to 32-bit operands; `None` for division or modulo by zero.
    pub fn apply(self, a: u32, b: u32) -> Option<u32> {
        Some(match self {
            AluOp::Add => a.wrapping_add(b),
            AluOp::Sub => a.wrapping_sub(b),
            AluOp::Mul => a.wrapping_mul(b),
            AluOp::Div => a.checked_div(b)?,
            AluOp::Mod => a.checked_rem(b)?,
            AluOp::And => a & b,
            AluOp::Or => a | b,
            AluOp::Xor => a ^ b,
            AluOp::Lsh => a.checked_shl(b).unwrap_or(0),
            AluOp::Rsh => a.checked_shr(b).unwrap_or(0),
        })
    }
}

/// Conditional jump test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JmpOp {
    Jeq,
    Jgt,
    Jge,
    Jset,
}

impl JmpOp {
    pub const fn name(self) -> &'static str {
        match self {
            JmpOp::Jeq => "jeq",
            JmpOp::Jgt => "jgt",
            JmpOp::Jge => "jge",
            JmpOp::Jset => "jset",
        }
    }
    const fn bits(self) -> u16 {
        match self {
            JmpOp::Jeq => BPF_JEQ,
            JmpOp::Jgt => BPF_JGT,
            JmpOp::Jge => BPF_JGE,
            JmpOp::Jset => BPF_JSET,
        }
    }
    /// Evaluate the test.
    pub const fn test(self, a: u32, b: u32) -> bool {
        match self {
            JmpOp::Jeq => a == b,
            JmpOp::Jgt => a > b,
            JmpOp::Jge => a >= b,
            JmpOp::Jset => a & b != 0,
        }
    }
}

/// Value returned by `ret`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RetVal {
    K(u32),
    A,
}

/// Typed classic BPF instruction: exactly the opcodes the Linux kernel accepts.
/// Jump offsets are relative to the next instruction, as encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `A = P[k:size]` (absolute; `k >= SKF_AD_OFF` is an ancillary load).
    LdAbs {
        size: Size,
        k: u32,
    },
    /// `A = P[X + k:size]`.
    LdInd {
        size: Size,
        k: u32,
    },
    /// `A = len` (packet length).
    LdLen,
    /// `A = k`.
    LdImm(u32),
    /// `A = M[k]`.
    LdMem(u32),
    /// `X = k`.
    LdxImm(u32),
    /// `X = M[k]`.
    LdxMem(u32),
    /// `X = len`.
    LdxLen,
    /// `X = 4 * (P[k] & 0xf)`.
    LdxMsh(u32),
    /// `M[k] = A`.
    St(u32),
    /// `M[k] = X`.
    Stx(u32),
    /// `A = A op src`.
    Alu {
        op: AluOp,
        src: Src,
    },
    /// `A = -A`.
    Neg,
    /// `pc += 1 + k`.
    Ja(u32),
    /// `pc += 1 + (A op src ? jt : jf)`.
    Jmp {
        op: JmpOp,
        src: Src,
        jt: u8,
        jf: u8,
    },
    Ret(RetVal),
    /// `X = A`.
    Tax,
    /// `A = X`.
    Txa,
}

impl Op {
    /// Typed form of a raw instruction; `None` when the kernel would reject the opcode.
    pub fn from_insn(i: Insn) -> Option<Op> {
        let c = i.code;
        let k = i.k;
        if c > 0xff {
            return None;
        }
        Some(match c & 0x07 {
            BPF_LD => {
                let size = Size::from_bits(c)?;
                match (c & 0xe0, size) {
                    (BPF_ABS, s) => Op::LdAbs { size: s, k },
                    (BPF_IND, s) => Op::LdInd { size: s, k },
                    (BPF_LEN, Size::W) => Op::LdLen,
                    (BPF_IMM, Size::W) => Op::LdImm(k),
                    (BPF_MEM, Size::W) => Op::LdMem(k),
                    _ => return None,
                }
            }
            BPF_LDX => match c {
                0x01 => Op::LdxImm(k),
                0x61 => Op::LdxMem(k),
                0x81 => Op::LdxLen,
                0xb1 => Op::LdxMsh(k),
                _ => return None,
            },
            BPF_ST if c == BPF_ST => Op::St(k),
            BPF_STX if c == BPF_STX => Op::Stx(k),
            BPF_ALU => {
                if c == BPF_ALU | BPF_NEG {
                    Op::Neg
                } else {
                    let op = AluOp::from_bits(c)?;
                    let src = match c & 0x08 {
                        BPF_K => Src::K(k),
                        _ => Src::X,
                    };
                    Op::Alu { op, src }
                }
            }
            BPF_JMP => {
                let src = if c & BPF_X != 0 { Src::X } else { Src::K(k) };
                let op = match c & 0xf0 {
                    BPF_JA if c == BPF_JMP => return Some(Op::Ja(k)),
                    BPF_JEQ => JmpOp::Jeq,
                    BPF_JGT => JmpOp::Jgt,
                    BPF_JGE => JmpOp::Jge,
                    BPF_JSET => JmpOp::Jset,
                    _ => return None,
                };
                Op::Jmp {
                    op,
                    src,
                    jt: i.jt,
                    jf: i.jf,
                }
            }
            BPF_RET => match c {
                0x06 => Op::Ret(RetVal::K(k)),
                0x16 => Op::Ret(RetVal::A),
                _ => return None,
            },
            BPF_MISC => match c {
                0x07 => Op::Tax,
                0x87 => Op::Txa,
                _ => return None,
            },
            _ => return None,
        })
    }

    /// Raw instruction for this operation.
    pub fn to_insn(self) -> Insn {
        match self {
            Op::LdAbs { size, k } => Insn::stmt(BPF_LD | size.bits() | BPF_ABS, k),
            Op::LdInd { size, k } => Insn::stmt(BPF_LD | size.bits() | BPF_IND, k),
            Op::LdLen => Insn::stmt(BPF_LD | BPF_W | BPF_LEN, 0),
            Op::LdImm(k) => Insn::stmt(BPF_LD | BPF_IMM, k),
            Op::LdMem(k) => Insn::stmt(BPF_LD | BPF_MEM, k),
            Op::LdxImm(k) => Insn::stmt(BPF_LDX | BPF_IMM, k),
            Op::LdxMem(k) => Insn::stmt(BPF_LDX | BPF_MEM, k),
            Op::LdxLen => Insn::stmt(BPF_LDX | BPF_W | BPF_LEN, 0),
            Op::LdxMsh(k) => Insn::stmt(BPF_LDX | BPF_B | BPF_MSH, k),
            Op::St(k) => Insn::stmt(BPF_ST, k),
            Op::Stx(k) => Insn::stmt(BPF_STX, k),
            Op::Alu { op, src } => match src {
                Src::K(k) => Insn::stmt(BPF_ALU | op.bits() | BPF_K, k),
                Src::X => Insn::stmt(BPF_ALU | op.bits() | BPF_X, 0),
            },
            Op::Neg => Insn::stmt(BPF_ALU | BPF_NEG, 0),
            Op::Ja(k) => Insn::stmt(BPF_JMP | BPF_JA, k),
            Op::Jmp { op, src, jt, jf } => match src {
                Src::K(k) => Insn::new(BPF_JMP | op.bits() | BPF_K, jt, jf, k),
                Src::X => Insn::new(BPF_JMP | op.bits() | BPF_X, jt, jf, 0),
            },
            Op::Ret(RetVal::K(k)) => Insn::stmt(BPF_RET | BPF_K, k),
            Op::Ret(RetVal::A) => Insn::stmt(BPF_RET | BPF_A, 0),
            Op::Tax => Insn::stmt(BPF_MISC | BPF_TAX, 0),
            Op::Txa => Insn::stmt(BPF_MISC | BPF_TXA, 0),
        }
    }
}

/// Linux ancillary data reachable through absolute loads at `SKF_AD_OFF + off`, with the
/// names libpcap prints for them.
pub const ANCILLARY: [(u32, &str); 16] = [
    (0, "proto"),
    (4, "type"),
    (8, "ifidx"),
    (12, "nla"),
    (16, "nlan"),
    (20, "mark"),
    (24, "queue"),
    (28, "hatype"),
    (32, "rxhash"),
    (36, "cpu"),
    (40, "xor_x"),
    (44, "vlan_tci"),
    (48, "vlanp"),
    (52, "poff"),
    (56, "random"),
    (60, "vlan_tpid"),
];

/// libpcap's name for an ancillary absolute-load offset `k`, if it is one.
pub fn ancillary_name(k: u32) -> Option<&'static str> {
    let off = k.checked_sub(SKF_AD_OFF)?;
    ANCILLARY.iter().find(|(o, _)| *o == off).map(|(_, n)| *n)
}

/// Offset `k` for an ancillary name.
pub fn ancillary_offset(name: &str) -> Option<u32> {
    ANCILLARY
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(o, _)| SKF_AD_OFF + o)
}

/// Decode a byte buffer of 8-byte little-endian records.
pub fn decode(bytes: &[u8]) -> Result<Vec<Insn>, Error> {
    if bytes.len() % Insn::SIZE != 0 {
        return Err(Error::BadByteLength { len: bytes.len() });
    }
    Ok(bytes
        .chunks_exact(Insn::SIZE)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            Insn::from_bytes(b)
        })
        .collect())
}

/// Encode instructions as 8-byte little-endian records.
pub fn encode(insns: &[Insn]) -> Vec<u8> {
    let mut out = Vec::with_capacity(insns.len() * Insn::SIZE);
    for i in insns {
        out.extend_from_slice(&i.to_bytes());
    }
    out
}

/// Check a program the way the Linux kernel checks a classic filter before attaching it
/// (`bpf_check_classic`): length, known opcodes, jumps inside the program, constant
/// division by zero, shifts below 32, scratch memory indexes below 16, known ancillary
/// offsets, a return as the last instruction, and scratch memory written before it is read
/// on every path.
pub fn validate(insns: &[Insn]) -> Result<(), Error> {
    let len = insns.len();
    if len == 0 {
        return Err(Error::Empty);
    }
    if len > MAX_INSNS {
        return Err(Error::TooLong { len });
    }
    for (pc, &insn) in insns.iter().enumerate() {
        let op = insn.op().ok_or(Error::UnknownOpcode {
            pc,
            code: insn.code,
        })?;
        match op {
            Op::Alu {
                op: AluOp::Div | AluOp::Mod,
                src: Src::K(0),
            } => return Err(Error::DivByZero { pc }),
            Op::Alu {
                op: AluOp::Lsh | AluOp::Rsh,
                src: Src::K(k),
            } if k >= 32 => return Err(Error::BadShift { pc, k }),
            Op::LdMem(k) | Op::LdxMem(k) | Op::St(k) | Op::Stx(k) if k >= MEMWORDS => {
                return Err(Error::BadMemIndex { pc, index: k })
            }
            Op::LdAbs { k, .. } if k >= SKF_AD_OFF && ancillary_name(k).is_none() => {
                return Err(Error::BadAncillary { pc, k })
            }
            Op::Ja(k) => {
                let target = pc as u64 + 1 + u64::from(k);
                if target >= len as u64 {
                    return Err(Error::JumpOutOfRange { pc, target, len });
                }
            }
            Op::Jmp { jt, jf, .. } => {
                for off in [jt, jf] {
                    let target = pc as u64 + 1 + u64::from(off);
                    if target >= len as u64 {
                        return Err(Error::JumpOutOfRange { pc, target, len });
                    }
                }
            }
            _ => {}
        }
    }
    let last = len - 1;
    if !matches!(insns.get(last).and_then(|i| i.op()), Some(Op::Ret(_))) {
        return Err(Error::NoFinalRet { pc: last });
    }
    check_mem_init(insns)
}

/// Forward data flow over the (acyclic) program: the set of scratch words surely written
/// when reaching each instruction is the intersection over its predecessors.
fn check_mem_init(insns: &[Insn]) -> Result<(), Error> {
    const ALL: u16 = 0xffff;
    let len = insns.len();
    // `ALL` marks "not reached yet" (identity for intersection); index 0 starts empty.
    let mut written = vec![ALL; len];
    let mut reached = vec![false; len];
    if let Some(w) = written.first_mut() {
        *w = 0;
    }
    if let Some(r) = reached.first_mut() {
        *r = true;
    }
    for pc in 0..len {
        if !reached.get(pc).copied().unwrap_or(false) {
            continue;
        }
        let mut w = written.get(pc).copied().unwrap_or(0);
        let Some(op) = insns.get(pc).and_then(|i| i.op()) else {
            continue;
        };
        let mut flow = |target: usize, w: u16| {
            if let (Some(slot), Some(r)) = (written.get_mut(target), reached.get_mut(target)) {
                *slot &= w;
                *r = true;
            }
        };
        match op {
            Op::LdMem(k) | Op::LdxMem(k) => {
                if w & (1 << k) == 0 {
                    return Err(Error::UninitMem { pc, index: k });
                }
                flow(pc + 1, w);
            }
            Op::St(k) | Op::Stx(k) => {
                w |= 1 << k;
                flow(pc + 1, w);
            }
            Op::Ja(k) => flow(pc + 1 + k as usize, w),
            Op::Jmp { jt, jf, .. } => {
                flow(pc + 1 + jt as usize, w);
                flow(pc + 1 + jf as usize, w);
            }
            Op::Ret(_) => {}
            _ => flow(pc + 1, w),
        }
    }
    Ok(())
}

/// Absolute index of the jump targets of instruction `pc` (`(true, false)`; both the same
/// for `ja`), or `None` for a non-jump.
pub fn jump_targets(pc: usize, insn: Insn) -> Option<(usize, usize)> {
    match insn.op()? {
        Op::Ja(k) => {
            let t = pc.checked_add(1)?.checked_add(k as usize)?;
            Some((t, t))
        }
        Op::Jmp { jt, jf, .. } => Some((pc + 1 + jt as usize, pc + 1 + jf as usize)),
        _ => None,
    }
}
