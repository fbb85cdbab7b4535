//! Decoding: bytes to [`Insn`], strict about reserved fields.

use core::fmt;

use super::insn::{
    AluOp, AtomicOp, Call, Insn, JmpOp, LdImm64Kind, MemSize, Reg, Source, SwapOp, SwapSize, Width,
};
use super::opcode as op;
use super::raw::{Endian, RawInsn};

/// A field of an instruction slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// The opcode byte.
    Code,
    /// The destination register nibble.
    Dst,
    /// The source register nibble.
    Src,
    /// The 16-bit offset.
    Off,
    /// The 32-bit immediate.
    Imm,
}

impl Field {
    /// Field name as in `struct bpf_insn`.
    pub const fn name(self) -> &'static str {
        match self {
            Field::Code => "code",
            Field::Dst => "dst_reg",
            Field::Src => "src_reg",
            Field::Off => "off",
            Field::Imm => "imm",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What is wrong with an instruction's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum DecodeErrorKind {
    /// [`decode`] was given no bytes at all.
    #[error("no bytes, an instruction needs 8")]
    Empty,
    /// The stream ends with `len` bytes (1–7), less than a slot.
    #[error("{len} trailing byte(s), the stream length is not a multiple of 8")]
    Truncated {
        /// Number of trailing bytes.
        len: usize,
    },
    /// A 64-bit immediate load (opcode 0x18) is the last slot: its second half is missing.
    #[error("64-bit immediate load (0x18) is the last slot, its second half is missing")]
    MissingLdImm64Half,
    /// The opcode byte is not an instruction.
    #[error("unknown opcode 0x{code:02x}")]
    UnknownOpcode {
        /// The opcode.
        code: u8,
    },
    /// A register field names r11–r15.
    #[error("opcode 0x{code:02x}: {field} names register r{reg}, only r0-r10 exist")]
    InvalidRegister {
        /// The opcode.
        code: u8,
        /// `Dst` or `Src`.
        field: Field,
        /// The register number.
        reg: u8,
    },
    /// A field the instruction does not use is not zero.
    #[error("opcode 0x{code:02x}: unused field {field} must be 0, is {value}")]
    ReservedField {
        /// The opcode.
        code: u8,
        /// The field.
        field: Field,
        /// Its value.
        value: i32,
    },
    /// The `src` field selects no known kind (of 64-bit immediate, call or conditional jump).
    #[error("opcode 0x{code:02x}: unknown src_reg kind {src}")]
    InvalidSrc {
        /// The opcode.
        code: u8,
        /// The `src` value.
        src: u8,
    },
    /// The `off` field selects no known variant (of `div`/`mod`, `mov`).
    #[error("opcode 0x{code:02x}: invalid off {off}")]
    InvalidOff {
        /// The opcode.
        code: u8,
        /// The `off` value.
        off: i16,
    },
    /// The `imm` field selects no known variant (byte-swap width, atomic operation,
    /// address-space cast).
    #[error("opcode 0x{code:02x}: invalid imm {imm} (0x{imm:x})")]
    InvalidImm {
        /// The opcode.
        code: u8,
        /// The `imm` value.
        imm: i32,
    },
    /// A non-zero field in the second slot of a 64-bit immediate load.
    #[error("second slot of a 64-bit immediate load: {field} must be 0, is {value}")]
    LdImm64Reserved {
        /// The field (`Code`, `Dst`, `Src` or `Off`).
        field: Field,
        /// Its value.
        value: i32,
    },
}

/// An instruction stream that does not decode: where and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error("invalid eBPF instruction at byte offset {offset} (insn {slot}): {kind}", slot = .offset / RawInsn::SIZE)]
pub struct DecodeError {
    /// Byte offset of the offending slot (or trailing bytes) from the start of the stream.
    pub offset: usize,
    /// The problem.
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    /// A new error at byte `offset`.
    #[inline]
    pub const fn new(offset: usize, kind: DecodeErrorKind) -> DecodeError {
        DecodeError { offset, kind }
    }

    /// Index of the 8-byte slot the error is in.
    #[inline]
    pub const fn slot(&self) -> usize {
        self.offset / RawInsn::SIZE
    }
}

/// Field checks against one slot at a known byte offset.
struct Slot {
    raw: RawInsn,
    offset: usize,
}

impl Slot {
    #[inline]
    fn err(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(self.offset, kind)
    }

    #[inline]
    fn unknown(&self) -> DecodeError {
        self.err(DecodeErrorKind::UnknownOpcode {
            code: self.raw.code,
        })
    }

    #[inline]
    fn zero(&self, field: Field) -> Result<(), DecodeError> {
        let value = match field {
            Field::Code => i32::from(self.raw.code),
            Field::Dst => i32::from(self.raw.dst),
            Field::Src => i32::from(self.raw.src),
            Field::Off => i32::from(self.raw.off),
            Field::Imm => self.raw.imm,
        };
        if value == 0 {
            Ok(())
        } else {
            Err(self.err(DecodeErrorKind::ReservedField {
                code: self.raw.code,
                field,
                value,
            }))
        }
    }

    #[inline]
    fn dst(&self) -> Result<Reg, DecodeError> {
        Reg::new(self.raw.dst).ok_or_else(|| {
            self.err(DecodeErrorKind::InvalidRegister {
                code: self.raw.code,
                field: Field::Dst,
                reg: self.raw.dst,
            })
        })
    }

    #[inline]
    fn src(&self) -> Result<Reg, DecodeError> {
        Reg::new(self.raw.src).ok_or_else(|| {
            self.err(DecodeErrorKind::InvalidRegister {
                code: self.raw.code,
                field: Field::Src,
                reg: self.raw.src,
            })
        })
    }

    /// The second operand: `BPF_X` → register in `src`, `imm` must be 0; `BPF_K` → `imm`,
    /// `src` must be 0.
    #[inline]
    fn source(&self) -> Result<Source, DecodeError> {
        if self.raw.code & op::X != 0 {
            self.zero(Field::Imm)?;
            Ok(Source::Reg(self.src()?))
        } else {
            self.zero(Field::Src)?;
            Ok(Source::Imm(self.raw.imm))
        }
    }
}

/// Decodes the instruction at the start of `bytes`; returns it with the number of bytes it
/// occupies (8 or 16). Error offsets are relative to the start of `bytes`.
pub fn decode(bytes: &[u8], endian: Endian) -> Result<(Insn, usize), DecodeError> {
    let Some(first) = RawInsn::read(bytes, endian) else {
        let kind = if bytes.is_empty() {
            DecodeErrorKind::Empty
        } else {
            DecodeErrorKind::Truncated { len: bytes.len() }
        };
        return Err(DecodeError::new(0, kind));
    };
    let insn = decode_slot(first, 0, || RawInsn::read(bytes.get(8..)?, endian))?;
    Ok((insn, insn.slots() * RawInsn::SIZE))
}

/// Decodes an instruction from raw slots: `first`, and `second` when `first` is a 64-bit
/// immediate load. Error offsets are 0 (first slot) or 8 (second slot).
pub fn decode_raw(first: RawInsn, second: Option<RawInsn>) -> Result<Insn, DecodeError> {
    decode_slot(first, 0, || second)
}

/// Decodes a whole stream (must be a multiple of 8 bytes) into instructions, stopping at the
/// first error.
pub fn decode_all(bytes: &[u8], endian: Endian) -> Result<Vec<Insn>, DecodeError> {
    let mut out = Vec::with_capacity(bytes.len() / RawInsn::SIZE);
    for (_, r) in Decoder::new(bytes, endian) {
        out.push(r?);
    }
    Ok(out)
}

/// Iterator over an instruction stream yielding `(slot index, Result<Insn, DecodeError>)`.
///
/// A 64-bit immediate load consumes two slots. After an error decoding resumes at the next slot,
/// so a dumper can show the bad slot and go on; trailing bytes (a stream whose length is not a
/// multiple of 8) and a 64-bit immediate load missing its second half end the iteration with
/// an error.
#[derive(Clone, Debug)]
pub struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
    endian: Endian,
}

impl<'a> Decoder<'a> {
    /// Decodes `bytes` in byte order `endian`.
    #[inline]
    pub fn new(bytes: &'a [u8], endian: Endian) -> Decoder<'a> {
        Decoder {
            bytes,
            pos: 0,
            endian,
        }
    }

    /// The byte offset of the next slot.
    #[inline]
    pub fn offset(&self) -> usize {
        self.pos
    }
}

impl Iterator for Decoder<'_> {
    type Item = (usize, Result<Insn, DecodeError>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.bytes.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let at = self.pos;
        let slot = at / RawInsn::SIZE;
        let Some(first) = RawInsn::read(rest, self.endian) else {
            self.pos = self.bytes.len();
            return Some((
                slot,
                Err(DecodeError::new(
                    at,
                    DecodeErrorKind::Truncated { len: rest.len() },
                )),
            ));
        };
        let endian = self.endian;
        let result = decode_slot(first, at, || RawInsn::read(rest.get(8..)?, endian));
        match &result {
            Ok(insn) => self.pos += insn.slots() * RawInsn::SIZE,
            Err(e) if e.kind == DecodeErrorKind::MissingLdImm64Half => self.pos = self.bytes.len(),
            Err(_) => self.pos += RawInsn::SIZE,
        }
        Some((slot, result))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.bytes.len().saturating_sub(self.pos);
        (left / 16, Some(left.div_ceil(8)))
    }
}

impl core::iter::FusedIterator for Decoder<'_> {}

/// Decodes one instruction whose first slot is `raw` at byte `offset`; `next` reads the following
/// slot (only called for a 64-bit immediate load).
#[inline]
pub(crate) fn decode_slot(
    raw: RawInsn,
    offset: usize,
    next: impl FnOnce() -> Option<RawInsn>,
) -> Result<Insn, DecodeError> {
    let s = Slot { raw, offset };
    let code = raw.code;
    match code & 0x07 {
        op::LD => decode_ld(&s, next),
        op::LDX => {
            let signed = match code & 0xe0 {
                op::MEM => false,
                op::MEMSX if code & 0x18 != op::DW => true,
                _ => return Err(s.unknown()),
            };
            s.zero(Field::Imm)?;
            Ok(Insn::Load {
                size: MemSize::from_code(code),
                signed,
                dst: s.dst()?,
                src: s.src()?,
                off: raw.off,
            })
        }
        op::ST => {
            if code == op::NOSPEC {
                for f in [Field::Dst, Field::Src, Field::Off, Field::Imm] {
                    s.zero(f)?;
                }
                return Ok(Insn::Nospec);
            }
            if code & 0xe0 != op::MEM {
                return Err(s.unknown());
            }
            s.zero(Field::Src)?;
            Ok(Insn::Store {
                size: MemSize::from_code(code),
                dst: s.dst()?,
                off: raw.off,
                src: Source::Imm(raw.imm),
            })
        }
        op::STX => decode_stx(&s),
        op::ALU => decode_alu(&s, Width::W32),
        op::ALU64 => decode_alu(&s, Width::W64),
        op::JMP => decode_jmp(&s, Width::W64),
        _ => decode_jmp(&s, Width::W32),
    }
}

fn decode_ld(s: &Slot, next: impl FnOnce() -> Option<RawInsn>) -> Result<Insn, DecodeError> {
    let code = s.raw.code;
    match code & 0xe0 {
        op::IMM if code == op::LD_IMM64 => {
            s.zero(Field::Off)?;
            let kind = LdImm64Kind::from_src(s.raw.src).ok_or_else(|| {
                s.err(DecodeErrorKind::InvalidSrc {
                    code,
                    src: s.raw.src,
                })
            })?;
            let dst = s.dst()?;
            let Some(second) = next() else {
                return Err(s.err(DecodeErrorKind::MissingLdImm64Half));
            };
            let second_off = s.offset + RawInsn::SIZE;
            let reserved = [
                (Field::Code, i32::from(second.code)),
                (Field::Dst, i32::from(second.dst)),
                (Field::Src, i32::from(second.src)),
                (Field::Off, i32::from(second.off)),
            ];
            for (field, value) in reserved {
                if value != 0 {
                    return Err(DecodeError::new(
                        second_off,
                        DecodeErrorKind::LdImm64Reserved { field, value },
                    ));
                }
            }
            Ok(Insn::LdImm64 {
                dst,
                kind,
                imm: s.raw.imm,
                next_imm: second.imm,
            })
        }
        op::ABS | op::IND if code & 0x18 != op::DW => {
            s.zero(Field::Dst)?;
            s.zero(Field::Off)?;
            let size = MemSize::from_code(code);
            if code & 0xe0 == op::ABS {
                s.zero(Field::Src)?;
                Ok(Insn::LdAbs {
                    size,
                    imm: s.raw.imm,
                })
            } else {
                Ok(Insn::LdInd {
                    size,
                    src: s.src()?,
                    imm: s.raw.imm,
                })
            }
        }
        _ => Err(s.unknown()),
    }
}

fn decode_stx(s: &Slot) -> Result<Insn, DecodeError> {
    let code = s.raw.code;
    let size = MemSize::from_code(code);
    match code & 0xe0 {
        op::MEM => {
            s.zero(Field::Imm)?;
            Ok(Insn::Store {
                size,
                dst: s.dst()?,
                off: s.raw.off,
                src: Source::Reg(s.src()?),
            })
        }
        op::ATOMIC => {
            let aop = AtomicOp::from_imm(s.raw.imm)
                .filter(|a| !a.is_rmw() || matches!(size, MemSize::W | MemSize::DW))
                .ok_or_else(|| {
                    s.err(DecodeErrorKind::InvalidImm {
                        code,
                        imm: s.raw.imm,
                    })
                })?;
            Ok(Insn::Atomic {
                size,
                op: aop,
                dst: s.dst()?,
                src: s.src()?,
                off: s.raw.off,
            })
        }
        _ => Err(s.unknown()),
    }
}

fn decode_alu(s: &Slot, width: Width) -> Result<Insn, DecodeError> {
    let raw = s.raw;
    let code = raw.code;
    let is_x = code & op::X != 0;
    let aop = match code & 0xf0 {
        op::NEG => {
            if is_x {
                return Err(s.unknown());
            }
            for f in [Field::Src, Field::Off, Field::Imm] {
                s.zero(f)?;
            }
            return Ok(Insn::Neg {
                width,
                dst: s.dst()?,
            });
        }
        op::END => {
            let sop = match (width, is_x) {
                (Width::W32, false) => SwapOp::ToLe,
                (Width::W32, true) => SwapOp::ToBe,
                (Width::W64, false) => SwapOp::Swap,
                (Width::W64, true) => return Err(s.unknown()),
            };
            s.zero(Field::Src)?;
            s.zero(Field::Off)?;
            let size = match raw.imm {
                16 => SwapSize::S16,
                32 => SwapSize::S32,
                64 => SwapSize::S64,
                imm => return Err(s.err(DecodeErrorKind::InvalidImm { code, imm })),
            };
            return Ok(Insn::Swap {
                op: sop,
                size,
                dst: s.dst()?,
            });
        }
        op::MOV if is_x && raw.off != 0 => {
            let from = match (raw.off, width) {
                (8, _) => MemSize::B,
                (16, _) => MemSize::H,
                (32, Width::W64) => MemSize::W,
                (op::ADDR_SPACE_CAST, Width::W64) => {
                    // The kernel converts between address spaces 0 and 1 only; with imm 0 the
                    // off is simply a stray value in a plain `mov`.
                    match raw.imm {
                        0 => s.zero(Field::Off)?,
                        1 | 0x1_0000 => {}
                        imm => return Err(s.err(DecodeErrorKind::InvalidImm { code, imm })),
                    }
                    let imm = raw.imm as u32;
                    return Ok(Insn::AddrSpaceCast {
                        dst: s.dst()?,
                        src: s.src()?,
                        dst_as: (imm >> 16) as u16,
                        src_as: imm as u16,
                    });
                }
                (op::ADDR_PERCPU, Width::W64) => {
                    s.zero(Field::Imm)?;
                    return Ok(Insn::MovPercpuAddr {
                        dst: s.dst()?,
                        src: s.src()?,
                    });
                }
                (off, _) => return Err(s.err(DecodeErrorKind::InvalidOff { code, off })),
            };
            s.zero(Field::Imm)?;
            return Ok(Insn::MovSx {
                width,
                dst: s.dst()?,
                src: s.src()?,
                from,
            });
        }
        op::DIV | op::MOD => {
            let signed = match raw.off {
                0 => false,
                1 => true,
                off => return Err(s.err(DecodeErrorKind::InvalidOff { code, off })),
            };
            match (code & 0xf0 == op::DIV, signed) {
                (true, false) => AluOp::Div,
                (true, true) => AluOp::SDiv,
                (false, false) => AluOp::Mod,
                (false, true) => AluOp::SMod,
            }
        }
        other => {
            let aop = match other {
                op::ADD => AluOp::Add,
                op::SUB => AluOp::Sub,
                op::MUL => AluOp::Mul,
                op::OR => AluOp::Or,
                op::AND => AluOp::And,
                op::LSH => AluOp::Lsh,
                op::RSH => AluOp::Rsh,
                op::XOR => AluOp::Xor,
                op::MOV => AluOp::Mov,
                op::ARSH => AluOp::Arsh,
                _ => return Err(s.unknown()),
            };
            s.zero(Field::Off)?;
            aop
        }
    };
    Ok(Insn::Alu {
        width,
        op: aop,
        dst: s.dst()?,
        src: s.source()?,
    })
}

fn decode_jmp(s: &Slot, width: Width) -> Result<Insn, DecodeError> {
    let raw = s.raw;
    let code = raw.code;
    let is_x = code & op::X != 0;
    let jop = match code & 0xf0 {
        op::JA => {
            if is_x {
                return Err(s.unknown());
            }
            s.zero(Field::Dst)?;
            s.zero(Field::Src)?;
            return match width {
                Width::W64 => {
                    s.zero(Field::Imm)?;
                    Ok(Insn::Ja { off: raw.off })
                }
                Width::W32 => {
                    s.zero(Field::Off)?;
                    Ok(Insn::Gotol { off: raw.imm })
                }
            };
        }
        op::CALL if width == Width::W64 => {
            if is_x {
                for f in [Field::Src, Field::Off, Field::Imm] {
                    s.zero(f)?;
                }
                return Ok(Insn::Call(Call::Reg(s.dst()?)));
            }
            s.zero(Field::Dst)?;
            let call = match raw.src {
                op::PSEUDO_HELPER => {
                    s.zero(Field::Off)?;
                    Call::Helper(raw.imm)
                }
                op::PSEUDO_CALL if raw.off == 0 => Call::Local(raw.imm),
                op::PSEUDO_CALL => Call::LocalTranslated {
                    off: raw.off,
                    subprog: raw.imm,
                },
                op::PSEUDO_KFUNC_CALL => Call::Kfunc {
                    btf_id: raw.imm,
                    off: raw.off,
                },
                src => return Err(s.err(DecodeErrorKind::InvalidSrc { code, src })),
            };
            return Ok(Insn::Call(call));
        }
        op::EXIT if width == Width::W64 && !is_x => {
            for f in [Field::Dst, Field::Src, Field::Off, Field::Imm] {
                s.zero(f)?;
            }
            return Ok(Insn::Exit);
        }
        op::JCOND if width == Width::W64 && !is_x => {
            if raw.src != 0 {
                return Err(s.err(DecodeErrorKind::InvalidSrc { code, src: raw.src }));
            }
            s.zero(Field::Dst)?;
            s.zero(Field::Imm)?;
            return Ok(Insn::MayGoto { off: raw.off });
        }
        op::JEQ => JmpOp::Eq,
        op::JGT => JmpOp::Gt,
        op::JGE => JmpOp::Ge,
        op::JSET => JmpOp::Set,
        op::JNE => JmpOp::Ne,
        op::JSGT => JmpOp::Sgt,
        op::JSGE => JmpOp::Sge,
        op::JLT => JmpOp::Lt,
        op::JLE => JmpOp::Le,
        op::JSLT => JmpOp::Slt,
        op::JSLE => JmpOp::Sle,
        _ => return Err(s.unknown()),
    };
    Ok(Insn::Jmp {
        width,
        op: jop,
        dst: s.dst()?,
        src: s.source()?,
        off: raw.off,
    })
}
