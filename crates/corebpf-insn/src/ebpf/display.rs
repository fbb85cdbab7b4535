//! Disassembly in the kernel verifier's syntax (`kernel/bpf/disasm.c`, as printed by
//! `bpftool prog dump xlated`).

use core::fmt::{self, Write};

use super::helpers::helper_name;
use super::insn::{
    AluOp, AtomicOp, Call, Insn, JmpOp, LdImm64Kind, MemSize, Reg, Source, SwapOp, Width,
};

impl AluOp {
    /// The kernel's operator text (`+=`, `s/=`, `=` …).
    pub const fn symbol(self) -> &'static str {
        match self {
            AluOp::Add => "+=",
            AluOp::Sub => "-=",
            AluOp::Mul => "*=",
            AluOp::Div => "/=",
            AluOp::SDiv => "s/=",
            AluOp::Or => "|=",
            AluOp::And => "&=",
            AluOp::Lsh => "<<=",
            AluOp::Rsh => ">>=",
            AluOp::Mod => "%=",
            AluOp::SMod => "s%=",
            AluOp::Xor => "^=",
            AluOp::Mov => "=",
            AluOp::Arsh => "s>>=",
        }
    }
}

impl JmpOp {
    /// The kernel's comparison text (`==`, `s<=`, `&` …).
    pub const fn symbol(self) -> &'static str {
        match self {
            JmpOp::Eq => "==",
            JmpOp::Gt => ">",
            JmpOp::Ge => ">=",
            JmpOp::Set => "&",
            JmpOp::Ne => "!=",
            JmpOp::Sgt => "s>",
            JmpOp::Sge => "s>=",
            JmpOp::Lt => "<",
            JmpOp::Le => "<=",
            JmpOp::Slt => "s<",
            JmpOp::Sle => "s<=",
        }
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.index())
    }
}

/// A register printed with its width prefix (`w` for 32-bit, `r` for 64-bit).
struct WReg(Width, Reg);

impl fmt::Display for WReg {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = match self.0 {
            Width::W32 => 'w',
            Width::W64 => 'r',
        };
        f.write_char(p)?;
        write!(f, "{}", self.1.index())
    }
}

const fn atomic_name(op: AtomicOp) -> &'static str {
    match op {
        AtomicOp::Add | AtomicOp::FetchAdd => "add",
        AtomicOp::Or | AtomicOp::FetchOr => "or",
        AtomicOp::And | AtomicOp::FetchAnd => "and",
        AtomicOp::Xor | AtomicOp::FetchXor => "xor",
        AtomicOp::Xchg => "xchg",
        AtomicOp::CmpXchg => "cmpxchg",
        AtomicOp::LoadAcquire => "load_acquire",
        AtomicOp::StoreRelease => "store_release",
    }
}

/// `atomic` or `atomic64` prefix of the kernel's fetching atomics.
const fn atomic_prefix(size: MemSize) -> &'static str {
    match size {
        MemSize::DW => "atomic64",
        _ => "atomic",
    }
}

impl fmt::Display for Insn {
    /// Formats the instruction as the kernel verifier prints it, jumps as `pc+N` relative text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Insn::Alu {
                width,
                op,
                dst,
                src,
            } => {
                write!(f, "{} {} ", WReg(width, dst), op.symbol())?;
                match src {
                    Source::Reg(r) => write!(f, "{}", WReg(width, r)),
                    Source::Imm(i) => write!(f, "{i}"),
                }
            }
            Insn::Neg { width, dst } => write!(f, "{} = -{}", WReg(width, dst), WReg(width, dst)),
            Insn::MovSx {
                width,
                dst,
                src,
                from,
            } => write!(
                f,
                "{} = ({}){}",
                WReg(width, dst),
                from.signed_name(),
                WReg(width, src)
            ),
            Insn::AddrSpaceCast {
                dst,
                src,
                dst_as,
                src_as,
            } => write!(f, "{dst} = addr_space_cast({src}, {dst_as}, {src_as})"),
            Insn::MovPercpuAddr { dst, src } => write!(f, "{dst} = &(void __percpu *)({src})"),
            Insn::Swap { op, size, dst } => {
                let name = match op {
                    SwapOp::ToLe => "le",
                    SwapOp::ToBe => "be",
                    SwapOp::Swap => "bswap",
                };
                write!(f, "{dst} = {name}{} {dst}", size.bits())
            }
            Insn::Ja { off } => write!(f, "goto pc{off:+}"),
            Insn::Gotol { off } => write!(f, "gotol pc{off:+}"),
            Insn::MayGoto { off } => write!(f, "may_goto pc{off:+}"),
            Insn::Jmp {
                width,
                op,
                dst,
                src,
                off,
            } => {
                write!(f, "if {} {} ", WReg(width, dst), op.symbol())?;
                match src {
                    Source::Reg(r) => write!(f, "{}", WReg(width, r))?,
                    Source::Imm(i) => write!(f, "0x{:x}", i as u32)?,
                }
                write!(f, " goto pc{off:+}")
            }
            Insn::Call(call) => match call {
                Call::Helper(id) => {
                    write!(f, "call {}#{id}", helper_name(id).unwrap_or("unknown"))
                }
                Call::Local(imm) => write!(f, "call pc{imm:+}"),
                Call::Kfunc { btf_id, .. } => write!(f, "call kernel-function#{btf_id}"),
                Call::Reg(r) => write!(f, "callx {r}"),
            },
            Insn::Exit => f.write_str("exit"),
            Insn::LdImm64 {
                dst,
                kind,
                imm,
                next_imm,
            } => {
                write!(f, "{dst} = ")?;
                match kind {
                    LdImm64Kind::MapFd => write!(f, "map[id:{}]", imm as u32),
                    LdImm64Kind::MapValue => {
                        write!(f, "map[id:{}][0]+{}", imm as u32, next_imm as u32)
                    }
                    LdImm64Kind::Func => write!(f, "subprog[{imm:+}]"),
                    LdImm64Kind::MapIdx => write!(f, "map[idx:{}]", imm as u32),
                    LdImm64Kind::MapIdxValue => {
                        write!(f, "map[idx:{}]+{}", imm as u32, next_imm as u32)
                    }
                    LdImm64Kind::BtfId => write!(f, "btf_id[{}]", imm as u32),
                    LdImm64Kind::Imm => {
                        write!(f, "0x{:x}", super::insn::imm64(imm, next_imm))
                    }
                }
            }
            Insn::LdAbs { size, imm } => write!(f, "r0 = *({} *)skb[{imm}]", size.unsigned_name()),
            Insn::LdInd { size, src, imm } => {
                write!(f, "r0 = *({} *)skb[{src} + {imm}]", size.unsigned_name())
            }
            Insn::Load {
                size,
                signed,
                dst,
                src,
                off,
            } => {
                let ty = if signed {
                    size.signed_name()
                } else {
                    size.unsigned_name()
                };
                write!(f, "{dst} = *({ty} *)({src} {off:+})")
            }
            Insn::Store {
                size,
                dst,
                off,
                src,
            } => {
                write!(f, "*({} *)({dst} {off:+}) = ", size.unsigned_name())?;
                match src {
                    Source::Reg(r) => write!(f, "{r}"),
                    Source::Imm(i) => write!(f, "{i}"),
                }
            }
            Insn::Atomic {
                size,
                op,
                dst,
                src,
                off,
            } => {
                let ty = size.unsigned_name();
                match op {
                    AtomicOp::Add | AtomicOp::Or | AtomicOp::And | AtomicOp::Xor => {
                        let sym = match op {
                            AtomicOp::Add => "+=",
                            AtomicOp::Or => "|=",
                            AtomicOp::And => "&=",
                            _ => "^=",
                        };
                        write!(f, "lock *({ty} *)({dst} {off:+}) {sym} {src}")
                    }
                    AtomicOp::FetchAdd
                    | AtomicOp::FetchOr
                    | AtomicOp::FetchAnd
                    | AtomicOp::FetchXor => write!(
                        f,
                        "{src} = {}_fetch_{}(({ty} *)({dst} {off:+}), {src})",
                        atomic_prefix(size),
                        atomic_name(op)
                    ),
                    AtomicOp::Xchg => write!(
                        f,
                        "{src} = {}_xchg(({ty} *)({dst} {off:+}), {src})",
                        atomic_prefix(size)
                    ),
                    AtomicOp::CmpXchg => write!(
                        f,
                        "r0 = {}_cmpxchg(({ty} *)({dst} {off:+}), r0, {src})",
                        atomic_prefix(size)
                    ),
                    AtomicOp::LoadAcquire => {
                        write!(f, "{dst} = load_acquire(({ty} *)({src} {off:+}))")
                    }
                    AtomicOp::StoreRelease => {
                        write!(f, "store_release(({ty} *)({dst} {off:+}), {src})")
                    }
                }
            }
            Insn::Nospec => f.write_str("nospec"),
        }
    }
}

impl Insn {
    /// Writes the disassembly into `out` (no allocation beyond what `out` does).
    #[inline]
    pub fn write_to<W: fmt::Write>(&self, out: &mut W) -> fmt::Result {
        write!(out, "{self}")
    }
}
