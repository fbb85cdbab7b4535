//! Disassembly in the kernel verifier's syntax (`kernel/bpf/disasm.c`, as printed by
//! `bpftool prog dump xlated`).

use core::fmt::{self, Write};

use super::helpers::helper_name;
use super::insn::{
    AluOp, AtomicOp, Call, Insn, JmpOp, LdImm64Kind, MemSize, Reg, Source, SwapOp, SwapSize, Width,
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

const R_NAMES: [&str; 11] = [
    "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10",
];
const W_NAMES: [&str; 11] = [
    "w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9", "w10",
];

impl Reg {
    /// The 64-bit name, `r0`–`r10`.
    #[inline]
    pub fn name(self) -> &'static str {
        R_NAMES
            .get(usize::from(self.index()))
            .copied()
            .unwrap_or("r?")
    }

    /// The 32-bit name, `w0`–`w10`.
    #[inline]
    pub fn name32(self) -> &'static str {
        W_NAMES
            .get(usize::from(self.index()))
            .copied()
            .unwrap_or("w?")
    }

    #[inline]
    fn sized(self, width: Width) -> &'static str {
        match width {
            Width::W32 => self.name32(),
            Width::W64 => self.name(),
        }
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Small integer formatting without the `format_args!` machinery: digits are produced into a
/// stack buffer and written with one `write_str`.
struct Num {
    buf: [u8; 24],
    start: usize,
}

impl Num {
    #[inline]
    fn new() -> Num {
        Num {
            buf: [0; 24],
            start: 24,
        }
    }

    #[inline]
    fn push(&mut self, b: u8) {
        // 24 bytes hold a sign, "0x" and 16 hex or 20 decimal digits.
        if self.start > 0 {
            self.start -= 1;
            self.buf[self.start] = b;
        }
    }

    #[inline]
    fn digits(&mut self, mut v: u64, radix: u64) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        loop {
            self.push(HEX[(v % radix) as usize]);
            v /= radix;
            if v == 0 {
                break;
            }
        }
    }

    #[inline]
    fn as_str(&self) -> &str {
        // Only ASCII digits, signs and `x` are ever written.
        core::str::from_utf8(&self.buf[self.start..]).unwrap_or("?")
    }
}

/// Decimal, `-` for negative values (`%d`).
#[inline]
fn dec(f: &mut impl Write, v: i64) -> fmt::Result {
    let mut n = Num::new();
    n.digits(v.unsigned_abs(), 10);
    if v < 0 {
        n.push(b'-');
    }
    f.write_str(n.as_str())
}

/// Decimal with an explicit sign (`%+d`).
#[inline]
fn signed(f: &mut impl Write, v: i64) -> fmt::Result {
    let mut n = Num::new();
    n.digits(v.unsigned_abs(), 10);
    n.push(if v < 0 { b'-' } else { b'+' });
    f.write_str(n.as_str())
}

/// Unsigned decimal (`%u`).
#[inline]
fn udec(f: &mut impl Write, v: u64) -> fmt::Result {
    let mut n = Num::new();
    n.digits(v, 10);
    f.write_str(n.as_str())
}

/// `0x` and lower-case hex (`0x%x`).
#[inline]
fn hex(f: &mut impl Write, v: u64) -> fmt::Result {
    let mut n = Num::new();
    n.digits(v, 16);
    n.push(b'x');
    n.push(b'0');
    f.write_str(n.as_str())
}

/// `(rN +off)`: base register and signed offset as the kernel prints a memory operand.
#[inline]
fn mem(f: &mut impl Write, base: Reg, off: i16) -> fmt::Result {
    f.write_char('(')?;
    f.write_str(base.name())?;
    f.write_char(' ')?;
    signed(f, i64::from(off))?;
    f.write_char(')')
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
    /// Width, fill and alignment flags (`{:<40}`) are honoured.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.width().is_none() && f.precision().is_none() {
            return self.write_to(f);
        }
        let mut buf = StackStr::new();
        match self.write_to(&mut buf) {
            Ok(()) => f.pad(buf.as_str()),
            // Longer than any instruction text: print it unpadded.
            Err(_) => self.write_to(f),
        }
    }
}

/// A fixed-capacity string on the stack, for padding without allocating.
struct StackStr {
    buf: [u8; 128],
    len: usize,
}

impl StackStr {
    fn new() -> StackStr {
        StackStr {
            buf: [0; 128],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in.
        core::str::from_utf8(self.buf.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }
}

impl Write for StackStr {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl Insn {
    /// Writes the disassembly (the [`Display`](fmt::Display) text) into `f` without allocating.
    pub fn write_to<W: Write + ?Sized>(&self, f: &mut W) -> fmt::Result {
        let f = &mut Sink(f);
        match *self {
            Insn::Alu {
                width,
                op,
                dst,
                src,
            } => {
                f.write_str(dst.sized(width))?;
                f.write_char(' ')?;
                f.write_str(op.symbol())?;
                f.write_char(' ')?;
                match src {
                    Source::Reg(r) => f.write_str(r.sized(width)),
                    Source::Imm(i) => dec(f, i64::from(i)),
                }
            }
            Insn::Neg { width, dst } => {
                f.write_str(dst.sized(width))?;
                f.write_str(" = -")?;
                f.write_str(dst.sized(width))
            }
            Insn::MovSx {
                width,
                dst,
                src,
                from,
            } => {
                f.write_str(dst.sized(width))?;
                f.write_str(" = (")?;
                f.write_str(from.signed_name())?;
                f.write_char(')')?;
                f.write_str(src.sized(width))
            }
            Insn::AddrSpaceCast {
                dst,
                src,
                dst_as,
                src_as,
            } => {
                f.write_str(dst.name())?;
                f.write_str(" = addr_space_cast(")?;
                f.write_str(src.name())?;
                f.write_str(", ")?;
                udec(f, u64::from(dst_as))?;
                f.write_str(", ")?;
                udec(f, u64::from(src_as))?;
                f.write_char(')')
            }
            Insn::MovPercpuAddr { dst, src } => {
                f.write_str(dst.name())?;
                f.write_str(" = &(void __percpu *)(")?;
                f.write_str(src.name())?;
                f.write_char(')')
            }
            Insn::Swap { op, size, dst } => {
                f.write_str(dst.name())?;
                f.write_str(match (op, size) {
                    (SwapOp::ToLe, SwapSize::S16) => " = le16 ",
                    (SwapOp::ToLe, SwapSize::S32) => " = le32 ",
                    (SwapOp::ToLe, SwapSize::S64) => " = le64 ",
                    (SwapOp::ToBe, SwapSize::S16) => " = be16 ",
                    (SwapOp::ToBe, SwapSize::S32) => " = be32 ",
                    (SwapOp::ToBe, SwapSize::S64) => " = be64 ",
                    (SwapOp::Swap, SwapSize::S16) => " = bswap16 ",
                    (SwapOp::Swap, SwapSize::S32) => " = bswap32 ",
                    (SwapOp::Swap, SwapSize::S64) => " = bswap64 ",
                })?;
                f.write_str(dst.name())
            }
            Insn::Ja { off } => {
                f.write_str("goto pc")?;
                signed(f, i64::from(off))
            }
            Insn::Gotol { off } => {
                f.write_str("gotol pc")?;
                signed(f, i64::from(off))
            }
            Insn::MayGoto { off } => {
                f.write_str("may_goto pc")?;
                signed(f, i64::from(off))
            }
            Insn::Jmp {
                width,
                op,
                dst,
                src,
                off,
            } => {
                f.write_str("if ")?;
                f.write_str(dst.sized(width))?;
                f.write_char(' ')?;
                f.write_str(op.symbol())?;
                f.write_char(' ')?;
                match src {
                    Source::Reg(r) => f.write_str(r.sized(width))?,
                    Source::Imm(i) => hex(f, u64::from(i as u32))?,
                }
                f.write_str(" goto pc")?;
                signed(f, i64::from(off))
            }
            Insn::Call(call) => match call {
                Call::Helper(id) => {
                    f.write_str("call ")?;
                    f.write_str(helper_name(id).unwrap_or("unknown"))?;
                    f.write_char('#')?;
                    dec(f, i64::from(id))
                }
                Call::Local(imm) => {
                    f.write_str("call pc")?;
                    signed(f, i64::from(imm))
                }
                Call::LocalTranslated { off, .. } => {
                    f.write_str("call pc")?;
                    signed(f, i64::from(off))
                }
                Call::Kfunc { btf_id, .. } => {
                    f.write_str("call kernel-function#")?;
                    dec(f, i64::from(btf_id))
                }
                Call::Reg(r) => {
                    f.write_str("callx ")?;
                    f.write_str(r.name())
                }
            },
            Insn::Exit => f.write_str("exit"),
            Insn::LdImm64 {
                dst,
                kind,
                imm,
                next_imm,
            } => {
                f.write_str(dst.name())?;
                f.write_str(" = ")?;
                let imm_u = u64::from(imm as u32);
                let next_u = u64::from(next_imm as u32);
                match kind {
                    LdImm64Kind::MapFd => {
                        f.write_str("map[id:")?;
                        udec(f, imm_u)?;
                        f.write_char(']')
                    }
                    LdImm64Kind::MapValue => {
                        f.write_str("map[id:")?;
                        udec(f, imm_u)?;
                        f.write_str("][0]+")?;
                        udec(f, next_u)
                    }
                    LdImm64Kind::Func => {
                        f.write_str("subprog[")?;
                        signed(f, i64::from(imm))?;
                        f.write_char(']')
                    }
                    LdImm64Kind::MapIdx => {
                        f.write_str("map[idx:")?;
                        udec(f, imm_u)?;
                        f.write_char(']')
                    }
                    LdImm64Kind::MapIdxValue => {
                        f.write_str("map[idx:")?;
                        udec(f, imm_u)?;
                        f.write_str("]+")?;
                        udec(f, next_u)
                    }
                    LdImm64Kind::BtfId => {
                        f.write_str("btf_id[")?;
                        udec(f, imm_u)?;
                        f.write_char(']')
                    }
                    LdImm64Kind::Imm => hex(f, super::insn::imm64(imm, next_imm)),
                }
            }
            Insn::LdAbs { size, imm } => {
                f.write_str("r0 = *(")?;
                f.write_str(size.unsigned_name())?;
                f.write_str(" *)skb[")?;
                dec(f, i64::from(imm))?;
                f.write_char(']')
            }
            Insn::LdInd { size, src, imm } => {
                f.write_str("r0 = *(")?;
                f.write_str(size.unsigned_name())?;
                f.write_str(" *)skb[")?;
                f.write_str(src.name())?;
                f.write_str(" + ")?;
                dec(f, i64::from(imm))?;
                f.write_char(']')
            }
            Insn::Load {
                size,
                signed: sx,
                dst,
                src,
                off,
            } => {
                f.write_str(dst.name())?;
                f.write_str(" = *(")?;
                f.write_str(if sx {
                    size.signed_name()
                } else {
                    size.unsigned_name()
                })?;
                f.write_str(" *)")?;
                mem(f, src, off)
            }
            Insn::Store {
                size,
                dst,
                off,
                src,
            } => {
                f.write_str("*(")?;
                f.write_str(size.unsigned_name())?;
                f.write_str(" *)")?;
                mem(f, dst, off)?;
                f.write_str(" = ")?;
                match src {
                    Source::Reg(r) => f.write_str(r.name()),
                    Source::Imm(i) => dec(f, i64::from(i)),
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
                        f.write_str("lock *(")?;
                        f.write_str(ty)?;
                        f.write_str(" *)")?;
                        mem(f, dst, off)?;
                        f.write_str(match op {
                            AtomicOp::Add => " += ",
                            AtomicOp::Or => " |= ",
                            AtomicOp::And => " &= ",
                            _ => " ^= ",
                        })?;
                        f.write_str(src.name())
                    }
                    AtomicOp::FetchAdd
                    | AtomicOp::FetchOr
                    | AtomicOp::FetchAnd
                    | AtomicOp::FetchXor
                    | AtomicOp::Xchg => {
                        f.write_str(src.name())?;
                        f.write_str(" = ")?;
                        f.write_str(atomic_prefix(size))?;
                        f.write_str(match op {
                            AtomicOp::Xchg => "_xchg((",
                            _ => "_fetch_",
                        })?;
                        if op != AtomicOp::Xchg {
                            f.write_str(atomic_name(op))?;
                            f.write_str("((")?;
                        }
                        f.write_str(ty)?;
                        f.write_str(" *)")?;
                        mem(f, dst, off)?;
                        f.write_str(", ")?;
                        f.write_str(src.name())?;
                        f.write_char(')')
                    }
                    AtomicOp::CmpXchg => {
                        f.write_str("r0 = ")?;
                        f.write_str(atomic_prefix(size))?;
                        f.write_str("_cmpxchg((")?;
                        f.write_str(ty)?;
                        f.write_str(" *)")?;
                        mem(f, dst, off)?;
                        f.write_str(", r0, ")?;
                        f.write_str(src.name())?;
                        f.write_char(')')
                    }
                    AtomicOp::LoadAcquire => {
                        f.write_str(dst.name())?;
                        f.write_str(" = load_acquire((")?;
                        f.write_str(ty)?;
                        f.write_str(" *)")?;
                        mem(f, src, off)?;
                        f.write_char(')')
                    }
                    AtomicOp::StoreRelease => {
                        f.write_str("store_release((")?;
                        f.write_str(ty)?;
                        f.write_str(" *)")?;
                        mem(f, dst, off)?;
                        f.write_str(", ")?;
                        f.write_str(src.name())?;
                        f.write_char(')')
                    }
                }
            }
            Insn::Nospec => f.write_str("nospec"),
        }
    }
}

/// Adapts any `fmt::Write` (sized or not) to the sized one the helpers take.
struct Sink<'a, W: Write + ?Sized>(&'a mut W);

impl<W: Write + ?Sized> Write for Sink<'_, W> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_str(s)
    }

    #[inline]
    fn write_char(&mut self, c: char) -> fmt::Result {
        self.0.write_char(c)
    }
}
