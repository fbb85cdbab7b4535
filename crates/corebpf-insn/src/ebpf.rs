//! eBPF instructions (cpu v1–v4): typed model, decode, encode, disassembly, parsing and a small
//! assembler.
//!
//! # Layout of an instruction
//!
//! Every instruction occupies one 8-byte slot `{code: u8, dst: 4 bits, src: 4 bits, off: i16,
//! imm: i32}` ([`RawInsn`]); the 64-bit immediate load (`BPF_LD | BPF_IMM | BPF_DW`, opcode
//! `0x18`) occupies two. Byte order is chosen with [`Endian`]: in little-endian objects `dst` is
//! the low nibble of byte 1, in big-endian ones the high nibble, and `off`/`imm` follow the byte
//! order.
//!
//! # Strict decoding
//!
//! [`Insn`] models every field an instruction uses, and decoding is strict: a field the
//! instruction does not use must be zero, as the kernel verifier requires. That includes the
//! reserved `code`, `dst`, `src` and `off` fields of the second slot of a 64-bit immediate load.
//! A non-zero reserved field is reported as a [`DecodeError`] naming the byte offset and the
//! field, so anything that decodes re-encodes to exactly the same bytes.
//!
//! Further choices of the decoder:
//! - registers must be `r0`–`r10`; the kernel-internal `r11` (`BPF_REG_AX`, seen only in the
//!   translated code of hardened JITs) is rejected;
//! - legacy packet loads (`BPF_ABS`/`BPF_IND`) exist in sizes `B`, `H` and `W` only, and take
//!   `r0` as implicit destination (`dst` must be 0);
//! - llvm's indirect call `callx` (`BPF_JMP | BPF_CALL | BPF_X`, register in `dst`) decodes as
//!   [`Call::Reg`], although the kernel does not accept it;
//! - the kernel-internal forms found in `bpftool prog dump xlated` output decode too:
//!   [`Insn::Nospec`], [`Insn::MovPercpuAddr`], and bpf-to-bpf calls whose target the kernel
//!   moved to `off` ([`Call::LocalTranslated`]).
//!
//! # Disassembly
//!
//! [`Insn`] implements [`core::fmt::Display`] with the kernel verifier's syntax (the one
//! `bpftool prog dump xlated` prints, minus the `(code)` prefix, which [`Insn::code`] gives):
//! `r1 = *(u64 *)(r10 -8)`, `if r0 == 0x0 goto pc+3`, `call bpf_map_lookup_elem#1`, …
//! Formatting writes straight into the formatter without allocating. [`parse_insn`] reads that
//! syntax back (also from verifier-log and `bpftool prog dump xlated` lines), and [`asm`]
//! assembles the bpf_conformance test dialect.
//!
//! The 64-bit immediate load prints as bpftool prints it: `r1 = 0x1122334455667788`,
//! `r1 = map[id:5]` (`BPF_PSEUDO_MAP_FD`; in translated code the kernel puts the map id there),
//! `r1 = map[id:5][0]+16` (`BPF_PSEUDO_MAP_VALUE`) and `r1 = subprog[+3]` (`BPF_PSEUDO_FUNC`).
//! The kinds bpftool never meets, because the kernel rewrites them at load time, print as
//! `map[idx:N]`, `map[idx:N]+OFF` and `btf_id[N]`. Kernel-function calls print as the kernel
//! does without symbol information: `call kernel-function#<btf id>`.
//!
//! ```
//! use corebpf_insn::ebpf::{Decoder, Endian, Insn};
//!
//! // r1 = 7; *(u64 *)(r10 -8) = 0; exit
//! let bytes = [
//!     0xb7, 0x01, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,
//!     0x7a, 0x0a, 0xf8, 0xff, 0x00, 0x00, 0x00, 0x00,
//!     0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
//! ];
//! let mut text = String::new();
//! for (slot, insn) in Decoder::new(&bytes, Endian::Little) {
//!     let insn = insn?;
//!     text += &format!("{slot}: ({:02x}) {insn}\n", insn.code());
//! }
//! assert_eq!(text, "0: (b7) r1 = 7\n1: (7a) *(u64 *)(r10 -8) = 0\n2: (95) exit\n");
//! # Ok::<(), corebpf_insn::ebpf::DecodeError>(())
//! ```

pub mod asm;
mod decode;
mod display;
mod encode;
mod helpers;
mod insn;
mod parse;
mod raw;

pub use decode::{decode, decode_all, decode_raw, DecodeError, DecodeErrorKind, Decoder, Field};
pub use encode::encode_all;
pub use helpers::{helper_name, HELPER_COUNT};
pub use insn::{
    AluOp, AtomicOp, Call, Class, Insn, JmpOp, LdImm64Kind, MemSize, Reg, Source, SwapOp, SwapSize,
    Width,
};
pub use parse::{parse_insn, ParseError};
pub use raw::{Endian, RawInsn};

/// Any error of this module: decoding, assembly or parsing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Bytes that are not a valid instruction stream.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Assembly text that does not assemble.
    #[error(transparent)]
    Asm(#[from] asm::AsmError),
    /// Text that is not an instruction in the kernel's syntax.
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// Opcode constants of the instruction encoding (`include/uapi/linux/bpf.h` names).
pub mod opcode {
    /// Instruction class `BPF_LD`.
    pub const LD: u8 = 0x00;
    /// Instruction class `BPF_LDX`.
    pub const LDX: u8 = 0x01;
    /// Instruction class `BPF_ST`.
    pub const ST: u8 = 0x02;
    /// Instruction class `BPF_STX`.
    pub const STX: u8 = 0x03;
    /// Instruction class `BPF_ALU` (32-bit).
    pub const ALU: u8 = 0x04;
    /// Instruction class `BPF_JMP` (64-bit compares).
    pub const JMP: u8 = 0x05;
    /// Instruction class `BPF_JMP32` (32-bit compares).
    pub const JMP32: u8 = 0x06;
    /// Instruction class `BPF_ALU64`.
    pub const ALU64: u8 = 0x07;

    /// Size `BPF_W` (4 bytes).
    pub const W: u8 = 0x00;
    /// Size `BPF_H` (2 bytes).
    pub const H: u8 = 0x08;
    /// Size `BPF_B` (1 byte).
    pub const B: u8 = 0x10;
    /// Size `BPF_DW` (8 bytes).
    pub const DW: u8 = 0x18;

    /// Mode `BPF_IMM`.
    pub const IMM: u8 = 0x00;
    /// Mode `BPF_ABS` (legacy packet load).
    pub const ABS: u8 = 0x20;
    /// Mode `BPF_IND` (legacy packet load).
    pub const IND: u8 = 0x40;
    /// Mode `BPF_MEM`.
    pub const MEM: u8 = 0x60;
    /// Mode `BPF_MEMSX` (sign-extending load).
    pub const MEMSX: u8 = 0x80;
    /// Mode `BPF_ATOMIC`.
    pub const ATOMIC: u8 = 0xc0;

    /// Source `BPF_K` (immediate).
    pub const K: u8 = 0x00;
    /// Source `BPF_X` (register).
    pub const X: u8 = 0x08;

    /// ALU operation `BPF_ADD`.
    pub const ADD: u8 = 0x00;
    /// ALU operation `BPF_SUB`.
    pub const SUB: u8 = 0x10;
    /// ALU operation `BPF_MUL`.
    pub const MUL: u8 = 0x20;
    /// ALU operation `BPF_DIV`.
    pub const DIV: u8 = 0x30;
    /// ALU operation `BPF_OR`.
    pub const OR: u8 = 0x40;
    /// ALU operation `BPF_AND`.
    pub const AND: u8 = 0x50;
    /// ALU operation `BPF_LSH`.
    pub const LSH: u8 = 0x60;
    /// ALU operation `BPF_RSH`.
    pub const RSH: u8 = 0x70;
    /// ALU operation `BPF_NEG`.
    pub const NEG: u8 = 0x80;
    /// ALU operation `BPF_MOD`.
    pub const MOD: u8 = 0x90;
    /// ALU operation `BPF_XOR`.
    pub const XOR: u8 = 0xa0;
    /// ALU operation `BPF_MOV`.
    pub const MOV: u8 = 0xb0;
    /// ALU operation `BPF_ARSH`.
    pub const ARSH: u8 = 0xc0;
    /// ALU operation `BPF_END` (byte swap).
    pub const END: u8 = 0xd0;

    /// Jump operation `BPF_JA`.
    pub const JA: u8 = 0x00;
    /// Jump operation `BPF_JEQ`.
    pub const JEQ: u8 = 0x10;
    /// Jump operation `BPF_JGT`.
    pub const JGT: u8 = 0x20;
    /// Jump operation `BPF_JGE`.
    pub const JGE: u8 = 0x30;
    /// Jump operation `BPF_JSET`.
    pub const JSET: u8 = 0x40;
    /// Jump operation `BPF_JNE`.
    pub const JNE: u8 = 0x50;
    /// Jump operation `BPF_JSGT`.
    pub const JSGT: u8 = 0x60;
    /// Jump operation `BPF_JSGE`.
    pub const JSGE: u8 = 0x70;
    /// Jump operation `BPF_CALL`.
    pub const CALL: u8 = 0x80;
    /// Jump operation `BPF_EXIT`.
    pub const EXIT: u8 = 0x90;
    /// Jump operation `BPF_JLT`.
    pub const JLT: u8 = 0xa0;
    /// Jump operation `BPF_JLE`.
    pub const JLE: u8 = 0xb0;
    /// Jump operation `BPF_JSLT`.
    pub const JSLT: u8 = 0xc0;
    /// Jump operation `BPF_JSLE`.
    pub const JSLE: u8 = 0xd0;
    /// Jump operation `BPF_JCOND` (`may_goto`).
    pub const JCOND: u8 = 0xe0;

    /// The 64-bit immediate load `BPF_LD | BPF_IMM | BPF_DW`.
    pub const LD_IMM64: u8 = LD | IMM | DW;
    /// The kernel-internal speculation barrier `BPF_ST | BPF_NOSPEC`.
    pub const NOSPEC: u8 = ST | 0xc0;

    /// `src` of a call: helper by id.
    pub const PSEUDO_HELPER: u8 = 0;
    /// `src` of a call: bpf-to-bpf call, `imm` is pc-relative (`BPF_PSEUDO_CALL`).
    pub const PSEUDO_CALL: u8 = 1;
    /// `src` of a call: kernel function by BTF id (`BPF_PSEUDO_KFUNC_CALL`).
    pub const PSEUDO_KFUNC_CALL: u8 = 2;

    /// Atomic `imm`: fetch flag `BPF_FETCH`.
    pub const FETCH: i32 = 0x01;
    /// Atomic `imm`: exchange `BPF_XCHG` (includes `BPF_FETCH`).
    pub const XCHG: i32 = 0xe0 | FETCH;
    /// Atomic `imm`: compare-and-exchange `BPF_CMPXCHG` (includes `BPF_FETCH`).
    pub const CMPXCHG: i32 = 0xf0 | FETCH;
    /// Atomic `imm`: load-acquire `BPF_LOAD_ACQ`.
    pub const LOAD_ACQ: i32 = 0x100;
    /// Atomic `imm`: store-release `BPF_STORE_REL`.
    pub const STORE_REL: i32 = 0x110;

    /// ALU64 `mov` `off` marking an address-space cast (`BPF_ADDR_SPACE_CAST`).
    pub const ADDR_SPACE_CAST: i16 = 1;
    /// ALU64 `mov` `off` of the kernel-internal per-CPU address move.
    pub const ADDR_PERCPU: i16 = -1;
}
