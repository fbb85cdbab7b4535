//! Encoding: [`Insn`] to raw slots and bytes.

use super::insn::{AluOp, Call, Insn, JmpOp, MemSize, Source, SwapOp, SwapSize, Width};
use super::opcode as op;
use super::raw::{Endian, RawInsn};

impl AluOp {
    /// The operation bits of the opcode (`BPF_OP`) and the `off` value selecting it.
    #[inline]
    pub(crate) const fn code_off(self) -> (u8, i16) {
        match self {
            AluOp::Add => (op::ADD, 0),
            AluOp::Sub => (op::SUB, 0),
            AluOp::Mul => (op::MUL, 0),
            AluOp::Div => (op::DIV, 0),
            AluOp::SDiv => (op::DIV, 1),
            AluOp::Or => (op::OR, 0),
            AluOp::And => (op::AND, 0),
            AluOp::Lsh => (op::LSH, 0),
            AluOp::Rsh => (op::RSH, 0),
            AluOp::Mod => (op::MOD, 0),
            AluOp::SMod => (op::MOD, 1),
            AluOp::Xor => (op::XOR, 0),
            AluOp::Mov => (op::MOV, 0),
            AluOp::Arsh => (op::ARSH, 0),
        }
    }
}

impl JmpOp {
    /// The operation bits of the opcode (`BPF_OP`).
    #[inline]
    pub(crate) const fn code(self) -> u8 {
        match self {
            JmpOp::Eq => op::JEQ,
            JmpOp::Gt => op::JGT,
            JmpOp::Ge => op::JGE,
            JmpOp::Set => op::JSET,
            JmpOp::Ne => op::JNE,
            JmpOp::Sgt => op::JSGT,
            JmpOp::Sge => op::JSGE,
            JmpOp::Lt => op::JLT,
            JmpOp::Le => op::JLE,
            JmpOp::Slt => op::JSLT,
            JmpOp::Sle => op::JSLE,
        }
    }
}

#[inline]
const fn alu_class(w: Width) -> u8 {
    match w {
        Width::W32 => op::ALU,
        Width::W64 => op::ALU64,
    }
}

#[inline]
const fn jmp_class(w: Width) -> u8 {
    match w {
        Width::W32 => op::JMP32,
        Width::W64 => op::JMP,
    }
}

#[inline]
const fn raw(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawInsn {
    RawInsn {
        code,
        dst,
        src,
        off,
        imm,
    }
}

/// `(bits, src field, imm)` of a second operand.
#[inline]
const fn source(s: Source) -> (u8, u8, i32) {
    match s {
        Source::Reg(r) => (op::X, r.index(), 0),
        Source::Imm(i) => (op::K, 0, i),
    }
}

impl Insn {
    /// The raw slots of the instruction: the first, and the second for [`Insn::LdImm64`].
    pub fn to_raw(&self) -> (RawInsn, Option<RawInsn>) {
        let one = |r: RawInsn| (r, None);
        match *self {
            Insn::Alu {
                width,
                op: aop,
                dst,
                src,
            } => {
                let (opc, off) = aop.code_off();
                let (x, s, imm) = source(src);
                one(raw(alu_class(width) | opc | x, dst.index(), s, off, imm))
            }
            Insn::Neg { width, dst } => one(raw(alu_class(width) | op::NEG, dst.index(), 0, 0, 0)),
            Insn::MovSx {
                width,
                dst,
                src,
                from,
            } => one(raw(
                alu_class(width) | op::MOV | op::X,
                dst.index(),
                src.index(),
                from.bits() as i16,
                0,
            )),
            Insn::AddrSpaceCast {
                dst,
                src,
                dst_as,
                src_as,
            } => one(raw(
                op::ALU64 | op::MOV | op::X,
                dst.index(),
                src.index(),
                op::ADDR_SPACE_CAST,
                ((u32::from(dst_as) << 16) | u32::from(src_as)) as i32,
            )),
            Insn::MovPercpuAddr { dst, src } => one(raw(
                op::ALU64 | op::MOV | op::X,
                dst.index(),
                src.index(),
                op::ADDR_PERCPU,
                0,
            )),
            Insn::Swap { op: sop, size, dst } => {
                let code = match sop {
                    SwapOp::ToLe => op::ALU | op::END | op::K,
                    SwapOp::ToBe => op::ALU | op::END | op::X,
                    SwapOp::Swap => op::ALU64 | op::END | op::K,
                };
                one(raw(code, dst.index(), 0, 0, swap_imm(size)))
            }
            Insn::Ja { off } => one(raw(op::JMP | op::JA, 0, 0, off, 0)),
            Insn::Gotol { off } => one(raw(op::JMP32 | op::JA, 0, 0, 0, off)),
            Insn::MayGoto { off } => one(raw(op::JMP | op::JCOND, 0, 0, off, 0)),
            Insn::Jmp {
                width,
                op: jop,
                dst,
                src,
                off,
            } => {
                let (x, s, imm) = source(src);
                one(raw(
                    jmp_class(width) | jop.code() | x,
                    dst.index(),
                    s,
                    off,
                    imm,
                ))
            }
            Insn::Call(call) => {
                let c = op::JMP | op::CALL;
                one(match call {
                    Call::Helper(id) => raw(c, 0, op::PSEUDO_HELPER, 0, id),
                    Call::Local(imm) => raw(c, 0, op::PSEUDO_CALL, 0, imm),
                    Call::LocalTranslated { off, subprog } => {
                        raw(c, 0, op::PSEUDO_CALL, off, subprog)
                    }
                    Call::Kfunc { btf_id, off } => raw(c, 0, op::PSEUDO_KFUNC_CALL, off, btf_id),
                    Call::Reg(r) => raw(c | op::X, r.index(), 0, 0, 0),
                })
            }
            Insn::Exit => one(raw(op::JMP | op::EXIT, 0, 0, 0, 0)),
            Insn::LdImm64 {
                dst,
                kind,
                imm,
                next_imm,
            } => (
                raw(op::LD_IMM64, dst.index(), kind.src(), 0, imm),
                Some(raw(0, 0, 0, 0, next_imm)),
            ),
            Insn::LdAbs { size, imm } => one(raw(op::LD | op::ABS | size.code(), 0, 0, 0, imm)),
            Insn::LdInd { size, src, imm } => {
                one(raw(op::LD | op::IND | size.code(), 0, src.index(), 0, imm))
            }
            Insn::Load {
                size,
                signed,
                dst,
                src,
                off,
            } => {
                let mode = if signed { op::MEMSX } else { op::MEM };
                one(raw(
                    op::LDX | mode | size.code(),
                    dst.index(),
                    src.index(),
                    off,
                    0,
                ))
            }
            Insn::Store {
                size,
                dst,
                off,
                src,
            } => one(match src {
                Source::Reg(r) => raw(
                    op::STX | op::MEM | size.code(),
                    dst.index(),
                    r.index(),
                    off,
                    0,
                ),
                Source::Imm(imm) => raw(op::ST | op::MEM | size.code(), dst.index(), 0, off, imm),
            }),
            Insn::Atomic {
                size,
                op: aop,
                dst,
                src,
                off,
            } => one(raw(
                op::STX | op::ATOMIC | size.code(),
                dst.index(),
                src.index(),
                off,
                aop.imm(),
            )),
            Insn::Nospec => one(raw(op::NOSPEC, 0, 0, 0, 0)),
        }
    }

    /// Appends the instruction's 8 or 16 bytes to `out`.
    #[inline]
    pub fn encode_into(&self, endian: Endian, out: &mut Vec<u8>) {
        let (first, second) = self.to_raw();
        out.extend_from_slice(&first.to_bytes(endian));
        if let Some(second) = second {
            out.extend_from_slice(&second.to_bytes(endian));
        }
    }

    /// The instruction's bytes (8, or 16 for [`Insn::LdImm64`]).
    pub fn to_bytes(&self, endian: Endian) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        self.encode_into(endian, &mut out);
        out
    }

    /// Checks that the instruction is a valid encoding, i.e. that its bytes decode (they then
    /// decode back to `self`).
    pub fn validate(&self) -> Result<(), super::DecodeError> {
        let mut buf = [0u8; 16];
        let (first, second) = self.to_raw();
        buf[..8].copy_from_slice(&first.to_bytes(Endian::Little));
        let len = match second {
            Some(s) => {
                buf[8..].copy_from_slice(&s.to_bytes(Endian::Little));
                16
            }
            None => 8,
        };
        super::decode(&buf[..len], Endian::Little).map(|_| ())
    }
}

#[inline]
const fn swap_imm(s: SwapSize) -> i32 {
    match s {
        SwapSize::S16 => 16,
        SwapSize::S32 => 32,
        SwapSize::S64 => 64,
    }
}

/// Encodes a sequence of instructions into one byte buffer.
pub fn encode_all<'a, I>(insns: I, endian: Endian) -> Vec<u8>
where
    I: IntoIterator<Item = &'a Insn>,
{
    let iter = insns.into_iter();
    let mut out = Vec::with_capacity(iter.size_hint().0 * 8);
    for insn in iter {
        insn.encode_into(endian, &mut out);
    }
    out
}

impl MemSize {
    /// All sizes, smallest first.
    pub const ALL: [MemSize; 4] = [MemSize::B, MemSize::H, MemSize::W, MemSize::DW];
}
