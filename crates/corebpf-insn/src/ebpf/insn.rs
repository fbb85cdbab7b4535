//! The typed instruction model.

use super::opcode as op;
use super::raw::RawInsn;

/// A register `r0`–`r10` (`r10` is the read-only frame pointer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reg(u8);

impl Reg {
    /// Return value, scratch.
    pub const R0: Reg = Reg(0);
    /// First argument, scratch.
    pub const R1: Reg = Reg(1);
    /// Second argument, scratch.
    pub const R2: Reg = Reg(2);
    /// Third argument, scratch.
    pub const R3: Reg = Reg(3);
    /// Fourth argument, scratch.
    pub const R4: Reg = Reg(4);
    /// Fifth argument, scratch.
    pub const R5: Reg = Reg(5);
    /// Callee-saved.
    pub const R6: Reg = Reg(6);
    /// Callee-saved.
    pub const R7: Reg = Reg(7);
    /// Callee-saved.
    pub const R8: Reg = Reg(8);
    /// Callee-saved.
    pub const R9: Reg = Reg(9);
    /// Frame pointer (read-only).
    pub const R10: Reg = Reg(10);
    /// Number of registers.
    pub const COUNT: u8 = 11;

    /// Register `n`, or `None` when `n > 10`.
    #[inline]
    pub const fn new(n: u8) -> Option<Reg> {
        if n < Self::COUNT {
            Some(Reg(n))
        } else {
            None
        }
    }

    /// The register number, 0–10.
    #[inline]
    pub const fn index(self) -> u8 {
        self.0
    }
}

/// Operand width of an ALU or jump instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Width {
    /// 32-bit: class `BPF_ALU` / `BPF_JMP32`, registers printed as `w0`–`w10`.
    W32,
    /// 64-bit: class `BPF_ALU64` / `BPF_JMP`, registers printed as `r0`–`r10`.
    W64,
}

/// Second operand of an ALU, jump or store instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// A register (`BPF_X`).
    Reg(Reg),
    /// The 32-bit immediate (`BPF_K`).
    Imm(i32),
}

/// A two-operand ALU operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AluOp {
    /// `+=`
    Add,
    /// `-=`
    Sub,
    /// `*=`
    Mul,
    /// `/=` (unsigned)
    Div,
    /// `s/=` (signed, cpu v4: `BPF_DIV` with `off = 1`)
    SDiv,
    /// `|=`
    Or,
    /// `&=`
    And,
    /// `<<=`
    Lsh,
    /// `>>=` (logical)
    Rsh,
    /// `%=` (unsigned)
    Mod,
    /// `s%=` (signed, cpu v4: `BPF_MOD` with `off = 1`)
    SMod,
    /// `^=`
    Xor,
    /// `=`
    Mov,
    /// `s>>=` (arithmetic)
    Arsh,
}

/// Size of a memory access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MemSize {
    /// 1 byte (`BPF_B`).
    B,
    /// 2 bytes (`BPF_H`).
    H,
    /// 4 bytes (`BPF_W`).
    W,
    /// 8 bytes (`BPF_DW`).
    DW,
}

impl MemSize {
    /// Size in bytes.
    #[inline]
    pub const fn bytes(self) -> u32 {
        match self {
            MemSize::B => 1,
            MemSize::H => 2,
            MemSize::W => 4,
            MemSize::DW => 8,
        }
    }

    /// Size in bits.
    #[inline]
    pub const fn bits(self) -> u32 {
        self.bytes() * 8
    }

    /// The size bits of the opcode (`BPF_SIZE`).
    #[inline]
    pub const fn code(self) -> u8 {
        match self {
            MemSize::B => op::B,
            MemSize::H => op::H,
            MemSize::W => op::W,
            MemSize::DW => op::DW,
        }
    }

    #[inline]
    pub(crate) const fn from_code(code: u8) -> MemSize {
        match code & 0x18 {
            op::B => MemSize::B,
            op::H => MemSize::H,
            op::W => MemSize::W,
            _ => MemSize::DW,
        }
    }

    /// The C type name the kernel prints for an unsigned access (`u8` … `u64`).
    #[inline]
    pub const fn unsigned_name(self) -> &'static str {
        match self {
            MemSize::B => "u8",
            MemSize::H => "u16",
            MemSize::W => "u32",
            MemSize::DW => "u64",
        }
    }

    /// The C type name the kernel prints for a sign-extending access (`s8` … `s64`).
    #[inline]
    pub const fn signed_name(self) -> &'static str {
        match self {
            MemSize::B => "s8",
            MemSize::H => "s16",
            MemSize::W => "s32",
            MemSize::DW => "s64",
        }
    }
}

/// A conditional jump comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JmpOp {
    /// `==`
    Eq,
    /// `>` (unsigned)
    Gt,
    /// `>=` (unsigned)
    Ge,
    /// `&` (jump if any bit set)
    Set,
    /// `!=`
    Ne,
    /// `s>`
    Sgt,
    /// `s>=`
    Sge,
    /// `<` (unsigned)
    Lt,
    /// `<=` (unsigned)
    Le,
    /// `s<`
    Slt,
    /// `s<=`
    Sle,
}

/// Kind of a byte-swap instruction (`BPF_END`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SwapOp {
    /// Convert to little endian: `BPF_ALU | BPF_END | BPF_TO_LE` (`le16`/`le32`/`le64`).
    ToLe,
    /// Convert to big endian: `BPF_ALU | BPF_END | BPF_TO_BE` (`be16`/`be32`/`be64`).
    ToBe,
    /// Unconditional byte swap: `BPF_ALU64 | BPF_END` (`bswap16`/`bswap32`/`bswap64`, cpu v4).
    Swap,
}

/// Width of a byte swap (the `imm` of `BPF_END`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SwapSize {
    /// 16 bits.
    S16,
    /// 32 bits.
    S32,
    /// 64 bits.
    S64,
}

impl SwapSize {
    /// Width in bits (16, 32 or 64).
    #[inline]
    pub const fn bits(self) -> u32 {
        match self {
            SwapSize::S16 => 16,
            SwapSize::S32 => 32,
            SwapSize::S64 => 64,
        }
    }
}

/// An atomic memory operation (`BPF_STX | BPF_ATOMIC`, selected by `imm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtomicOp {
    /// `lock *(size *)(dst + off) += src`
    Add,
    /// `lock *(size *)(dst + off) |= src`
    Or,
    /// `lock *(size *)(dst + off) &= src`
    And,
    /// `lock *(size *)(dst + off) ^= src`
    Xor,
    /// `src = atomic_fetch_add(dst + off, src)`
    FetchAdd,
    /// `src = atomic_fetch_or(dst + off, src)`
    FetchOr,
    /// `src = atomic_fetch_and(dst + off, src)`
    FetchAnd,
    /// `src = atomic_fetch_xor(dst + off, src)`
    FetchXor,
    /// `src = xchg(dst + off, src)`
    Xchg,
    /// `r0 = cmpxchg(dst + off, r0, src)`
    CmpXchg,
    /// `dst = load_acquire(src + off)` (`BPF_LOAD_ACQ`; note the roles of `dst`/`src`).
    LoadAcquire,
    /// `store_release(dst + off, src)` (`BPF_STORE_REL`).
    StoreRelease,
}

impl AtomicOp {
    /// The `imm` value selecting this operation.
    #[inline]
    pub const fn imm(self) -> i32 {
        match self {
            AtomicOp::Add => op::ADD as i32,
            AtomicOp::Or => op::OR as i32,
            AtomicOp::And => op::AND as i32,
            AtomicOp::Xor => op::XOR as i32,
            AtomicOp::FetchAdd => op::ADD as i32 | op::FETCH,
            AtomicOp::FetchOr => op::OR as i32 | op::FETCH,
            AtomicOp::FetchAnd => op::AND as i32 | op::FETCH,
            AtomicOp::FetchXor => op::XOR as i32 | op::FETCH,
            AtomicOp::Xchg => op::XCHG,
            AtomicOp::CmpXchg => op::CMPXCHG,
            AtomicOp::LoadAcquire => op::LOAD_ACQ,
            AtomicOp::StoreRelease => op::STORE_REL,
        }
    }

    /// The operation selected by `imm`, if any.
    #[inline]
    pub const fn from_imm(imm: i32) -> Option<AtomicOp> {
        Some(match imm {
            0x00 => AtomicOp::Add,
            0x40 => AtomicOp::Or,
            0x50 => AtomicOp::And,
            0xa0 => AtomicOp::Xor,
            0x01 => AtomicOp::FetchAdd,
            0x41 => AtomicOp::FetchOr,
            0x51 => AtomicOp::FetchAnd,
            0xa1 => AtomicOp::FetchXor,
            op::XCHG => AtomicOp::Xchg,
            op::CMPXCHG => AtomicOp::CmpXchg,
            op::LOAD_ACQ => AtomicOp::LoadAcquire,
            op::STORE_REL => AtomicOp::StoreRelease,
            _ => return None,
        })
    }

    /// Whether this is a read-modify-write operation (only 32- and 64-bit sizes are valid).
    #[inline]
    pub const fn is_rmw(self) -> bool {
        !matches!(self, AtomicOp::LoadAcquire | AtomicOp::StoreRelease)
    }
}

/// What the 64-bit immediate of `BPF_LD | BPF_IMM | BPF_DW` means (its `src` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LdImm64Kind {
    /// 0: a plain 64-bit constant.
    Imm,
    /// 1 (`BPF_PSEUDO_MAP_FD`): `imm` is a map file descriptor.
    MapFd,
    /// 2 (`BPF_PSEUDO_MAP_VALUE`): `imm` is a map fd, the second `imm` an offset into its value.
    MapValue,
    /// 3 (`BPF_PSEUDO_BTF_ID`): `imm` is a kernel BTF id of a variable, the second `imm` a BTF fd.
    BtfId,
    /// 4 (`BPF_PSEUDO_FUNC`): `imm` is a pc-relative offset to a subprogram.
    Func,
    /// 5 (`BPF_PSEUDO_MAP_IDX`): `imm` is an index into the load's fd array.
    MapIdx,
    /// 6 (`BPF_PSEUDO_MAP_IDX_VALUE`): like `MapIdx`, the second `imm` an offset into the value.
    MapIdxValue,
}

impl LdImm64Kind {
    /// The `src` field value.
    #[inline]
    pub const fn src(self) -> u8 {
        match self {
            LdImm64Kind::Imm => 0,
            LdImm64Kind::MapFd => 1,
            LdImm64Kind::MapValue => 2,
            LdImm64Kind::BtfId => 3,
            LdImm64Kind::Func => 4,
            LdImm64Kind::MapIdx => 5,
            LdImm64Kind::MapIdxValue => 6,
        }
    }

    /// The kind for a `src` field value.
    #[inline]
    pub const fn from_src(src: u8) -> Option<LdImm64Kind> {
        Some(match src {
            0 => LdImm64Kind::Imm,
            1 => LdImm64Kind::MapFd,
            2 => LdImm64Kind::MapValue,
            3 => LdImm64Kind::BtfId,
            4 => LdImm64Kind::Func,
            5 => LdImm64Kind::MapIdx,
            6 => LdImm64Kind::MapIdxValue,
            _ => return None,
        })
    }
}

/// The target of a call instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Call {
    /// A helper by id (`src = 0`): `call bpf_map_lookup_elem#1`.
    Helper(i32),
    /// A bpf-to-bpf call (`src = 1`, `BPF_PSEUDO_CALL`); the callee is at `pc + 1 + offset`.
    Local(i32),
    /// A bpf-to-bpf call as the kernel reports it in a translated (JIT-compiled) program:
    /// `src = 1` with the pc-relative offset moved to `off` and `imm` holding the callee's
    /// subprogram index. Decoded whenever `off` is not 0 (a program as loaded has `off = 0`).
    LocalTranslated {
        /// Offset of the callee from the next instruction (`off`).
        off: i16,
        /// Index of the callee among the program's subprograms (`imm`).
        subprog: i32,
    },
    /// A kernel function (`src = 2`, `BPF_PSEUDO_KFUNC_CALL`) by BTF id; `off` selects the BTF
    /// (0: vmlinux, otherwise an index into the load's fd array for a module BTF).
    Kfunc {
        /// BTF id of the function (`imm`).
        btf_id: i32,
        /// BTF selector (`off`).
        off: i16,
    },
    /// An indirect call through a register (`BPF_JMP | BPF_CALL | BPF_X`, llvm's `callx`; the
    /// register is in `dst`). The kernel does not accept it.
    Reg(Reg),
}

/// An instruction class (the low three bits of the opcode).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// `BPF_LD`
    Ld,
    /// `BPF_LDX`
    Ldx,
    /// `BPF_ST`
    St,
    /// `BPF_STX`
    Stx,
    /// `BPF_ALU`
    Alu,
    /// `BPF_JMP`
    Jmp,
    /// `BPF_JMP32`
    Jmp32,
    /// `BPF_ALU64`
    Alu64,
}

impl Class {
    /// The class of an opcode byte.
    #[inline]
    pub const fn of(code: u8) -> Class {
        match code & 0x07 {
            0 => Class::Ld,
            1 => Class::Ldx,
            2 => Class::St,
            3 => Class::Stx,
            4 => Class::Alu,
            5 => Class::Jmp,
            6 => Class::Jmp32,
            _ => Class::Alu64,
        }
    }

    /// The kernel's short name (`ld`, `ldx`, `st`, `stx`, `alu`, `jmp`, `jmp32`, `alu64`).
    #[inline]
    pub const fn name(self) -> &'static str {
        match self {
            Class::Ld => "ld",
            Class::Ldx => "ldx",
            Class::St => "st",
            Class::Stx => "stx",
            Class::Alu => "alu",
            Class::Jmp => "jmp",
            Class::Jmp32 => "jmp32",
            Class::Alu64 => "alu64",
        }
    }
}

/// One eBPF instruction (cpu v1–v4 plus the few kernel-internal forms found in translated
/// programs).
///
/// Register fields hold what the encoding holds: for [`Insn::Atomic`] `dst` is the pointer
/// register and `src` the value register, except for [`AtomicOp::LoadAcquire`], where `dst`
/// receives the value and `src` is the pointer.
///
/// Encoding is total: every value encodes. A few values combine fields in ways the instruction
/// set forbids (a sign-extending 64-bit load, a 32-bit `movsx` from 32 bits, a byte-sized
/// read-modify-write atomic, a `BPF_DW` legacy packet load, an address-space cast other than
/// between spaces 0 and 1); those encode to bytes that
/// [`decode`](super::decode) rejects. Use [`Insn::validate`] to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Insn {
    /// `dst op= src` (`BPF_ALU`/`BPF_ALU64` with `BPF_K`/`BPF_X`).
    Alu {
        /// 32 or 64 bit.
        width: Width,
        /// The operation.
        op: AluOp,
        /// Destination (and first operand).
        dst: Reg,
        /// Second operand.
        src: Source,
    },
    /// `dst = -dst` (`BPF_NEG`).
    Neg {
        /// 32 or 64 bit.
        width: Width,
        /// The register negated.
        dst: Reg,
    },
    /// `dst = (s8|s16|s32) src` (cpu v4 `BPF_MOV | BPF_X` with `off` 8/16/32).
    MovSx {
        /// 32 or 64 bit destination.
        width: Width,
        /// Destination.
        dst: Reg,
        /// Source.
        src: Reg,
        /// Width of the sign-extended source value (`B`, `H` or, for 64-bit, `W`).
        from: MemSize,
    },
    /// `dst = addr_space_cast(src, dst_as, src_as)` (`BPF_ALU64 | BPF_MOV | BPF_X`, `off = 1`,
    /// `imm = dst_as << 16 | src_as`). Only casts between address spaces 0 and 1 decode, as the
    /// kernel accepts no others.
    AddrSpaceCast {
        /// Destination.
        dst: Reg,
        /// Source.
        src: Reg,
        /// Destination address space (`imm >> 16`).
        dst_as: u16,
        /// Source address space (`imm & 0xffff`).
        src_as: u16,
    },
    /// Kernel-internal `dst = &(void __percpu *)(src)` (`BPF_ALU64 | BPF_MOV | BPF_X`, `off = -1`).
    MovPercpuAddr {
        /// Destination.
        dst: Reg,
        /// Source.
        src: Reg,
    },
    /// Byte swap of `dst` (`BPF_END`).
    Swap {
        /// Conversion kind.
        op: SwapOp,
        /// Width in bits.
        size: SwapSize,
        /// The register swapped in place.
        dst: Reg,
    },
    /// `goto pc+off` (`BPF_JMP | BPF_JA`).
    Ja {
        /// Offset in slots from the next instruction.
        off: i16,
    },
    /// `gotol pc+imm` (`BPF_JMP32 | BPF_JA`, cpu v4 long jump).
    Gotol {
        /// Offset in slots from the next instruction.
        off: i32,
    },
    /// `may_goto pc+off` (`BPF_JMP | BPF_JCOND`, `src = BPF_MAY_GOTO`).
    MayGoto {
        /// Offset in slots from the next instruction.
        off: i16,
    },
    /// `if dst op src goto pc+off`.
    Jmp {
        /// 64-bit (`BPF_JMP`) or 32-bit (`BPF_JMP32`) compare.
        width: Width,
        /// The comparison.
        op: JmpOp,
        /// First operand.
        dst: Reg,
        /// Second operand.
        src: Source,
        /// Offset in slots from the next instruction.
        off: i16,
    },
    /// A call (`BPF_JMP | BPF_CALL`).
    Call(Call),
    /// `exit` (`BPF_JMP | BPF_EXIT`).
    Exit,
    /// `dst = imm64` (`BPF_LD | BPF_IMM | BPF_DW`, two slots).
    LdImm64 {
        /// Destination.
        dst: Reg,
        /// Meaning of the immediate (`src` field).
        kind: LdImm64Kind,
        /// `imm` of the first slot (low 32 bits of the constant).
        imm: i32,
        /// `imm` of the second slot (high 32 bits of the constant).
        next_imm: i32,
    },
    /// Legacy packet load `r0 = *(size *)skb[imm]` (`BPF_LD | BPF_ABS`).
    LdAbs {
        /// Access size (`B`, `H` or `W`).
        size: MemSize,
        /// Packet offset.
        imm: i32,
    },
    /// Legacy packet load `r0 = *(size *)skb[src + imm]` (`BPF_LD | BPF_IND`).
    LdInd {
        /// Access size (`B`, `H` or `W`).
        size: MemSize,
        /// Register holding the base offset.
        src: Reg,
        /// Constant offset.
        imm: i32,
    },
    /// `dst = *(size *)(src + off)` (`BPF_LDX | BPF_MEM`, or `BPF_MEMSX` when `signed`).
    Load {
        /// Access size.
        size: MemSize,
        /// Sign-extending load (cpu v4 `BPF_MEMSX`; sizes `B`, `H`, `W`).
        signed: bool,
        /// Destination.
        dst: Reg,
        /// Base pointer.
        src: Reg,
        /// Offset from the base.
        off: i16,
    },
    /// `*(size *)(dst + off) = src` (`BPF_ST | BPF_MEM` for an immediate, `BPF_STX | BPF_MEM` for
    /// a register).
    Store {
        /// Access size.
        size: MemSize,
        /// Base pointer.
        dst: Reg,
        /// Offset from the base.
        off: i16,
        /// Value stored.
        src: Source,
    },
    /// An atomic operation (`BPF_STX | BPF_ATOMIC`).
    Atomic {
        /// Access size (`W` or `DW` for read-modify-write operations).
        size: MemSize,
        /// The operation.
        op: AtomicOp,
        /// `dst` field (see the type documentation).
        dst: Reg,
        /// `src` field (see the type documentation).
        src: Reg,
        /// Offset from the base pointer.
        off: i16,
    },
    /// Kernel-internal speculation barrier `nospec` (`BPF_ST | BPF_NOSPEC`).
    Nospec,
}

impl Insn {
    /// What makes this a cpu v4 instruction (one the kernel accepts from Linux 6.6), if it is
    /// one: sign-extending moves and loads, signed division and modulo, unconditional byte
    /// swaps and long jumps.
    pub fn cpu_v4_feature(&self) -> Option<&'static str> {
        match self {
            Insn::MovSx { .. } => Some("sign-extending move"),
            Insn::Load { signed: true, .. } => Some("sign-extending load"),
            Insn::Alu {
                op: AluOp::SDiv, ..
            } => Some("signed division"),
            Insn::Alu {
                op: AluOp::SMod, ..
            } => Some("signed modulo"),
            Insn::Swap {
                op: SwapOp::Swap, ..
            } => Some("unconditional byte swap"),
            Insn::Gotol { .. } => Some("long jump (gotol)"),
            _ => None,
        }
    }

    /// Number of 8-byte slots the instruction occupies (2 for [`Insn::LdImm64`], else 1).
    #[inline]
    pub const fn slots(&self) -> usize {
        match self {
            Insn::LdImm64 { .. } => 2,
            _ => 1,
        }
    }

    /// The first slot as encoded.
    #[inline]
    pub fn raw(&self) -> RawInsn {
        self.to_raw().0
    }

    /// The opcode byte.
    #[inline]
    pub fn code(&self) -> u8 {
        self.raw().code
    }

    /// The instruction class.
    #[inline]
    pub fn class(&self) -> Class {
        Class::of(self.code())
    }

    /// The `dst` field of the first slot as encoded (0 when unused).
    #[inline]
    pub fn dst(&self) -> u8 {
        self.raw().dst
    }

    /// The `src` field of the first slot as encoded (0 when unused; a pseudo kind for
    /// [`Insn::LdImm64`] and calls).
    #[inline]
    pub fn src(&self) -> u8 {
        self.raw().src
    }

    /// The `off` field of the first slot as encoded.
    #[inline]
    pub fn off(&self) -> i16 {
        self.raw().off
    }

    /// The `imm` field of the first slot as encoded.
    #[inline]
    pub fn imm(&self) -> i32 {
        self.raw().imm
    }

    /// The destination register, for instructions that name one in `dst` as a register.
    pub fn dst_reg(&self) -> Option<Reg> {
        match *self {
            Insn::Alu { dst, .. }
            | Insn::Neg { dst, .. }
            | Insn::MovSx { dst, .. }
            | Insn::AddrSpaceCast { dst, .. }
            | Insn::MovPercpuAddr { dst, .. }
            | Insn::Swap { dst, .. }
            | Insn::Jmp { dst, .. }
            | Insn::LdImm64 { dst, .. }
            | Insn::Load { dst, .. }
            | Insn::Store { dst, .. }
            | Insn::Atomic { dst, .. } => Some(dst),
            Insn::Call(Call::Reg(r)) => Some(r),
            Insn::LdAbs { .. } | Insn::LdInd { .. } => Some(Reg::R0),
            _ => None,
        }
    }

    /// The source register, for instructions that name one in `src` as a register.
    pub fn src_reg(&self) -> Option<Reg> {
        match *self {
            Insn::Alu {
                src: Source::Reg(r),
                ..
            }
            | Insn::Jmp {
                src: Source::Reg(r),
                ..
            }
            | Insn::Store {
                src: Source::Reg(r),
                ..
            } => Some(r),
            Insn::MovSx { src, .. }
            | Insn::AddrSpaceCast { src, .. }
            | Insn::MovPercpuAddr { src, .. }
            | Insn::LdInd { src, .. }
            | Insn::Load { src, .. }
            | Insn::Atomic { src, .. } => Some(src),
            _ => None,
        }
    }

    /// For a jump (`goto`, `gotol`, `may_goto`, conditional jumps), the slot index it jumps to
    /// when the jump is at slot `pc`: `pc + 1 + offset`. `None` for other instructions.
    #[inline]
    pub fn jump_target(&self, pc: usize) -> Option<i64> {
        let rel = match *self {
            Insn::Ja { off } | Insn::MayGoto { off } | Insn::Jmp { off, .. } => i64::from(off),
            Insn::Gotol { off } => i64::from(off),
            _ => return None,
        };
        Some(pc as i64 + 1 + rel)
    }

    /// For a bpf-to-bpf call ([`Call::Local`], [`Call::LocalTranslated`]) or a subprogram
    /// address load ([`LdImm64Kind::Func`]) at slot `pc`, the slot index of the callee:
    /// `pc + 1 + offset`.
    #[inline]
    pub fn call_target(&self, pc: usize) -> Option<i64> {
        match *self {
            Insn::Call(Call::LocalTranslated { off, .. }) => Some(pc as i64 + 1 + i64::from(off)),
            Insn::Call(Call::Local(imm))
            | Insn::LdImm64 {
                kind: LdImm64Kind::Func,
                imm,
                ..
            } => Some(pc as i64 + 1 + i64::from(imm)),
            _ => None,
        }
    }

    /// Whether the instruction is any jump with a pc-relative target.
    #[inline]
    pub fn is_jump(&self) -> bool {
        matches!(
            self,
            Insn::Ja { .. } | Insn::Gotol { .. } | Insn::MayGoto { .. } | Insn::Jmp { .. }
        )
    }

    /// The call target, for a call instruction.
    #[inline]
    pub fn call(&self) -> Option<Call> {
        match *self {
            Insn::Call(c) => Some(c),
            _ => None,
        }
    }

    /// The helper id, for a helper call.
    #[inline]
    pub fn helper_id(&self) -> Option<i32> {
        match *self {
            Insn::Call(Call::Helper(id)) => Some(id),
            _ => None,
        }
    }

    /// Whether this is a bpf-to-bpf call.
    #[inline]
    pub fn is_local_call(&self) -> bool {
        matches!(
            self,
            Insn::Call(Call::Local(_) | Call::LocalTranslated { .. })
        )
    }

    /// Whether this is a kernel-function call.
    #[inline]
    pub fn is_kfunc_call(&self) -> bool {
        matches!(self, Insn::Call(Call::Kfunc { .. }))
    }

    /// Whether this is `exit`.
    #[inline]
    pub fn is_exit(&self) -> bool {
        matches!(self, Insn::Exit)
    }

    /// For a 64-bit immediate load, its kind and the 64-bit value `(next_imm << 32) | imm`.
    #[inline]
    pub fn ld_imm64(&self) -> Option<(LdImm64Kind, u64)> {
        match *self {
            Insn::LdImm64 {
                kind,
                imm,
                next_imm,
                ..
            } => Some((kind, imm64(imm, next_imm))),
            _ => None,
        }
    }

    /// The size of the memory access, for loads, stores, atomics and legacy packet loads.
    #[inline]
    pub fn mem_size(&self) -> Option<MemSize> {
        match *self {
            Insn::Load { size, .. }
            | Insn::Store { size, .. }
            | Insn::Atomic { size, .. }
            | Insn::LdAbs { size, .. }
            | Insn::LdInd { size, .. } => Some(size),
            _ => None,
        }
    }

    /// A 64-bit constant load: `dst = value`.
    #[inline]
    pub const fn ld_imm64_value(dst: Reg, value: u64) -> Insn {
        Insn::LdImm64 {
            dst,
            kind: LdImm64Kind::Imm,
            imm: value as u32 as i32,
            next_imm: (value >> 32) as u32 as i32,
        }
    }
}

/// The 64-bit value of a two-slot immediate.
#[inline]
pub(crate) const fn imm64(imm: i32, next_imm: i32) -> u64 {
    ((next_imm as u32 as u64) << 32) | imm as u32 as u64
}

#[cfg(test)]
mod cpu_v4_tests {
    use crate::ebpf::parse_insn;

    #[test]
    fn cpu_v4_instructions_are_named() {
        for (text, feature) in [
            ("r1 = (s8)r2", Some("sign-extending move")),
            ("w1 = (s16)w2", Some("sign-extending move")),
            ("r1 = *(s32 *)(r2 +8)", Some("sign-extending load")),
            ("r1 s/= r2", Some("signed division")),
            ("w1 s%= 3", Some("signed modulo")),
            ("r1 = bswap64 r1", Some("unconditional byte swap")),
            ("gotol pc+3", Some("long jump (gotol)")),
            ("r1 = r2", None),
            ("r1 /= r2", None),
            ("r1 = *(u32 *)(r2 +8)", None),
            ("r1 = be16 r1", None),
            ("goto pc+3", None),
        ] {
            let insn = parse_insn(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(insn.cpu_v4_feature(), feature, "{text}");
        }
    }
}
