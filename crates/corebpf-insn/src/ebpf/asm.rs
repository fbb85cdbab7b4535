//! An assembler for the text dialect of the bpf_conformance test suite (the ubpf dialect):
//!
//! ```text
//! # comment
//! mov32 %r0, 0            # ALU: add sub mul div sdiv or and lsh rsh mod smod xor mov arsh,
//! add %r0, %r1            #      64-bit by default or with a `64` suffix, 32-bit with `32`
//! neg %r0                 # neg / neg32 / neg64
//! movsx832 %r0, %r1       # movsx{8,16}32, movsx{8,16,32}64
//! be16 %r0                # le16..le64, be16..be64 (BPF_ALU | BPF_END), swap16/bswap16.. (ALU64)
//! lddw %r0, 0x1122334455667788
//! ldxw %r0, [%r1+4]       # ldxb ldxh ldxw ldxdw, sign-extending ldxsb ldxsh ldxsw
//! stw [%r10-4], 7         # stb sth stw stdw (immediate), stxb stxh stxw stxdw (register)
//! jne %r0, 0x10, exit     # jeq jgt jge jset jne jsgt jsge jlt jle jslt jsle (+ `32` suffix)
//! ja +1                   # targets are labels or +N/-N slot offsets; `ja32` is gotol
//! call 5                  # helper by id; `call %r2` indirect; `call local f`; `call runtime N`
//! lock fetch add [%r10-8], %r1   # lock [fetch] add|and|or|xor|xchg|cmpxchg[32]
//! exit                    # the first `exit` is also a label named `exit`
//! label:
//! ```
//!
//! Decimal 32-bit immediates must fit `i32`; hexadecimal ones may be written as their unsigned
//! 32-bit pattern (`0xffffffff` is -1). Offsets follow the same rule with 16 bits.

use core::fmt;

use super::insn::{
    AluOp, AtomicOp, Call, Insn, JmpOp, MemSize, Reg, Source, SwapOp, SwapSize, Width,
};

/// What is wrong with a line of assembly.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AsmErrorKind {
    /// The text holds no instruction.
    #[error("no instructions")]
    Empty,
    /// The mnemonic is not an instruction of the dialect.
    #[error("invalid mnemonic `{0}`")]
    UnknownMnemonic(String),
    /// Wrong number of operands.
    #[error("invalid number of operands for `{mnemonic}`: expected {expected}, found {found}")]
    OperandCount {
        /// The mnemonic.
        mnemonic: String,
        /// Operands expected.
        expected: usize,
        /// Operands found.
        found: usize,
    },
    /// `lock` without a valid operation and operands.
    #[error("invalid number of operands for lock: `{0}`")]
    InvalidLock(String),
    /// Not a register `%r0`–`%r10`.
    #[error("invalid register `{0}`")]
    InvalidRegister(String),
    /// Not a number.
    #[error("invalid number `{0}`")]
    InvalidNumber(String),
    /// A number that does not fit its field.
    #[error("`{text}` is out of {bits}-bit range")]
    OutOfRange {
        /// The number as written.
        text: String,
        /// The field's width in bits.
        bits: u32,
    },
    /// Not a memory operand `[%rN]`, `[%rN+off]` or `[%rN-off]`.
    #[error("invalid memory operand `{0}` (expected [%rN+off])")]
    InvalidMemoryOperand(String),
    /// A jump or call to a label never defined.
    #[error("invalid label `{0}`")]
    UnknownLabel(String),
    /// A label defined twice.
    #[error("duplicate label `{0}`")]
    DuplicateLabel(String),
    /// A jump whose distance does not fit its offset field.
    #[error("jump to `{0}` is out of range")]
    JumpOutOfRange(String),
    /// `call` with an unknown mode.
    #[error("invalid call mode `{0}`")]
    InvalidCallMode(String),
}

/// An assembly error: the 1-based line and the problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct AsmError {
    /// 1-based line number (0 for [`AsmErrorKind::Empty`]).
    pub line: usize,
    /// The problem.
    pub kind: AsmErrorKind,
}

impl fmt::Display for AsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: ", self.line)?;
        }
        fmt::Display::fmt(&self.kind, f)
    }
}

/// A jump or call whose target is a label, fixed up after all lines are read.
struct Fixup {
    index: usize,
    slot: usize,
    line: usize,
    label: String,
}

/// Where a parsed target goes.
enum Target {
    Rel(i64),
    Label(String),
}

/// Assembles dialect text into instructions.
pub fn assemble(text: &str) -> Result<Vec<Insn>, AsmError> {
    let mut insns: Vec<Insn> = Vec::new();
    let mut slots = 0usize;
    let mut labels: Vec<(String, usize)> = Vec::new();
    let mut first_exit: Option<usize> = None;
    let mut fixups: Vec<Fixup> = Vec::new();

    for (i, raw_line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw_line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let err = |kind| AsmError {
            line: line_no,
            kind,
        };
        if let Some(label) = line.strip_suffix(':') {
            let label = label.trim();
            if label.is_empty() || label.contains(char::is_whitespace) {
                return Err(err(AsmErrorKind::UnknownMnemonic(line.to_owned())));
            }
            if labels.iter().any(|(l, _)| l == label) {
                return Err(err(AsmErrorKind::DuplicateLabel(label.to_owned())));
            }
            labels.push((label.to_owned(), slots));
            continue;
        }
        let (mnemonic, operands) = split_line(line);
        let (insn, target) = parse_insn(mnemonic, &operands).map_err(err)?;
        if matches!(insn, Insn::Exit) && first_exit.is_none() {
            first_exit = Some(slots);
        }
        match target {
            Some(Target::Label(label)) => fixups.push(Fixup {
                index: insns.len(),
                slot: slots,
                line: line_no,
                label,
            }),
            Some(Target::Rel(_)) | None => {}
        }
        slots += insn.slots();
        insns.push(insn);
    }
    if insns.is_empty() {
        return Err(AsmError {
            line: 0,
            kind: AsmErrorKind::Empty,
        });
    }
    for fx in fixups {
        let target = labels
            .iter()
            .find(|(l, _)| *l == fx.label)
            .map(|&(_, s)| s)
            .or(if fx.label == "exit" { first_exit } else { None })
            .ok_or_else(|| AsmError {
                line: fx.line,
                kind: AsmErrorKind::UnknownLabel(fx.label.clone()),
            })?;
        let rel = target as i64 - fx.slot as i64 - 1;
        let out_of_range = || AsmError {
            line: fx.line,
            kind: AsmErrorKind::JumpOutOfRange(fx.label.clone()),
        };
        if let Some(insn) = insns.get_mut(fx.index) {
            set_target(insn, rel).ok_or_else(out_of_range)?;
        }
    }
    Ok(insns)
}

/// Stores a resolved relative target into a jump or call; `None` when it does not fit.
fn set_target(insn: &mut Insn, rel: i64) -> Option<()> {
    match insn {
        Insn::Ja { off } | Insn::Jmp { off, .. } | Insn::MayGoto { off } => {
            *off = i16::try_from(rel).ok()?
        }
        Insn::Gotol { off } | Insn::Call(Call::Local(off)) => *off = i32::try_from(rel).ok()?,
        _ => return None,
    }
    Some(())
}

/// Splits a line into its mnemonic and operands (comma or blank separated; a bracketed memory
/// operand may contain blanks).
fn split_line(line: &str) -> (&str, Vec<String>) {
    let line = line.trim();
    let (mnemonic, rest) = match line.find(char::is_whitespace) {
        Some(p) => (&line[..p], &line[p..]),
        None => (line, ""),
    };
    let mut ops: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut depth = 0u32;
    for c in rest.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            ',' if depth == 0 => {
                if !cur.is_empty() {
                    ops.push(core::mem::take(&mut cur));
                }
            }
            c if c.is_whitespace() => {
                if depth == 0 && !cur.is_empty() {
                    ops.push(core::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        ops.push(cur);
    }
    (mnemonic, ops)
}

fn count(mnemonic: &str, ops: &[String], n: usize) -> Result<(), AsmErrorKind> {
    if ops.len() == n {
        Ok(())
    } else {
        Err(AsmErrorKind::OperandCount {
            mnemonic: mnemonic.to_owned(),
            expected: n,
            found: ops.len(),
        })
    }
}

fn reg(t: &str) -> Result<Reg, AsmErrorKind> {
    t.strip_prefix("%r")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && n.len() <= 2)
        .and_then(|n| n.parse::<u8>().ok())
        .and_then(Reg::new)
        .ok_or_else(|| AsmErrorKind::InvalidRegister(t.to_owned()))
}

/// Parses an integer: optional sign, decimal or `0x` hexadecimal. Returns the value and whether
/// it was hexadecimal.
fn number(t: &str) -> Result<(i128, bool), AsmErrorKind> {
    let bad = || AsmErrorKind::InvalidNumber(t.to_owned());
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (hex, digits) = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        Some(h) => (true, h),
        None => (false, body),
    };
    if digits.is_empty() || digits.len() > 32 {
        return Err(bad());
    }
    let v = if hex {
        u128::from_str_radix(digits, 16)
    } else if digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse::<u128>()
    } else {
        return Err(bad());
    }
    .map_err(|_| bad())?;
    let v = i128::try_from(v).map_err(|_| bad())?;
    Ok((if neg { -v } else { v }, hex))
}

/// A number for a signed field of `bits` bits: in the signed range, or written in hexadecimal
/// within the unsigned range (then reinterpreted).
fn signed_field(t: &str, bits: u32) -> Result<i64, AsmErrorKind> {
    let (v, hex) = number(t)?;
    let min = -(1i128 << (bits - 1));
    let smax = (1i128 << (bits - 1)) - 1;
    let umax = (1i128 << bits) - 1;
    let out = || AsmErrorKind::OutOfRange {
        text: t.to_owned(),
        bits,
    };
    if v >= min && v <= smax {
        Ok(v as i64)
    } else if hex && v > smax && v <= umax {
        Ok((v - (1i128 << bits)) as i64)
    } else {
        Err(out())
    }
}

fn imm32(t: &str) -> Result<i32, AsmErrorKind> {
    signed_field(t, 32).map(|v| v as i32)
}

fn imm64(t: &str) -> Result<u64, AsmErrorKind> {
    let (v, _) = number(t)?;
    if v >= i128::from(i64::MIN) && v <= i128::from(u64::MAX) {
        Ok(v as u64)
    } else {
        Err(AsmErrorKind::OutOfRange {
            text: t.to_owned(),
            bits: 64,
        })
    }
}

fn source(t: &str) -> Result<Source, AsmErrorKind> {
    if t.starts_with('%') {
        reg(t).map(Source::Reg)
    } else {
        imm32(t).map(Source::Imm)
    }
}

/// `[%rN]`, `[%rN+off]`, `[%rN-off]`.
fn mem(t: &str) -> Result<(Reg, i16), AsmErrorKind> {
    let bad = || AsmErrorKind::InvalidMemoryOperand(t.to_owned());
    let inner: String = t
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or_else(bad)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let split = inner.find(['+', '-']);
    let (r, off) = match split {
        Some(p) => (&inner[..p], &inner[p..]),
        None => (inner.as_str(), ""),
    };
    let base = reg(r)?;
    let off = if off.is_empty() {
        0
    } else {
        signed_field(off, 16)? as i16
    };
    Ok((base, off))
}

fn target(t: &str) -> Result<Target, AsmErrorKind> {
    if t.starts_with('+') || t.starts_with('-') {
        let (v, _) = number(t)?;
        i64::try_from(v)
            .map(Target::Rel)
            .map_err(|_| AsmErrorKind::InvalidNumber(t.to_owned()))
    } else if t.is_empty() || t.starts_with('%') || t.starts_with('[') {
        Err(AsmErrorKind::UnknownLabel(t.to_owned()))
    } else {
        Ok(Target::Label(t.to_owned()))
    }
}

fn rel16(t: &Target, text: &str) -> Result<i16, AsmErrorKind> {
    match t {
        Target::Rel(v) => i16::try_from(*v).map_err(|_| AsmErrorKind::OutOfRange {
            text: text.to_owned(),
            bits: 16,
        }),
        Target::Label(_) => Ok(0),
    }
}

fn rel32(t: &Target, text: &str) -> Result<i32, AsmErrorKind> {
    match t {
        Target::Rel(v) => i32::try_from(*v).map_err(|_| AsmErrorKind::OutOfRange {
            text: text.to_owned(),
            bits: 32,
        }),
        Target::Label(_) => Ok(0),
    }
}

/// Splits a width suffix: `add32` → (`add`, W32), `add64`/`add` → (`add`, W64).
fn width_suffix(m: &str) -> (&str, Width) {
    if let Some(b) = m.strip_suffix("32") {
        (b, Width::W32)
    } else if let Some(b) = m.strip_suffix("64") {
        (b, Width::W64)
    } else {
        (m, Width::W64)
    }
}

fn alu_op(base: &str) -> Option<AluOp> {
    Some(match base {
        "add" => AluOp::Add,
        "sub" => AluOp::Sub,
        "mul" => AluOp::Mul,
        "div" => AluOp::Div,
        "sdiv" => AluOp::SDiv,
        "or" => AluOp::Or,
        "and" => AluOp::And,
        "lsh" => AluOp::Lsh,
        "rsh" => AluOp::Rsh,
        "mod" => AluOp::Mod,
        "smod" => AluOp::SMod,
        "xor" => AluOp::Xor,
        "mov" => AluOp::Mov,
        "arsh" => AluOp::Arsh,
        _ => return None,
    })
}

fn jmp_op(base: &str) -> Option<JmpOp> {
    Some(match base {
        "jeq" => JmpOp::Eq,
        "jgt" => JmpOp::Gt,
        "jge" => JmpOp::Ge,
        "jset" => JmpOp::Set,
        "jne" => JmpOp::Ne,
        "jsgt" => JmpOp::Sgt,
        "jsge" => JmpOp::Sge,
        "jlt" => JmpOp::Lt,
        "jle" => JmpOp::Le,
        "jslt" => JmpOp::Slt,
        "jsle" => JmpOp::Sle,
        _ => return None,
    })
}

fn size_suffix(s: &str) -> Option<MemSize> {
    Some(match s {
        "b" => MemSize::B,
        "h" => MemSize::H,
        "w" => MemSize::W,
        "dw" => MemSize::DW,
        _ => return None,
    })
}

fn swap_size(s: &str) -> Option<SwapSize> {
    Some(match s {
        "16" => SwapSize::S16,
        "32" => SwapSize::S32,
        "64" => SwapSize::S64,
        _ => return None,
    })
}

type Parsed = (Insn, Option<Target>);

fn parse_insn(m: &str, ops: &[String]) -> Result<Parsed, AsmErrorKind> {
    let op = |i: usize| ops.get(i).map(String::as_str).unwrap_or("");
    let unknown = || AsmErrorKind::UnknownMnemonic(m.to_owned());

    match m {
        "exit" => {
            count(m, ops, 0)?;
            return Ok((Insn::Exit, None));
        }
        "lddw" => {
            count(m, ops, 2)?;
            return Ok((Insn::ld_imm64_value(reg(op(0))?, imm64(op(1))?), None));
        }
        "ja" => {
            count(m, ops, 1)?;
            let t = target(op(0))?;
            let off = rel16(&t, op(0))?;
            return Ok((Insn::Ja { off }, Some(t)));
        }
        "ja32" | "gotol" => {
            count(m, ops, 1)?;
            let t = target(op(0))?;
            let off = rel32(&t, op(0))?;
            return Ok((Insn::Gotol { off }, Some(t)));
        }
        "call" => return parse_call(ops),
        "lock" => return parse_lock(ops),
        _ => {}
    }

    // Byte swaps.
    for (prefix, sop) in [
        ("le", SwapOp::ToLe),
        ("be", SwapOp::ToBe),
        ("bswap", SwapOp::Swap),
        ("swap", SwapOp::Swap),
    ] {
        if let Some(size) = m.strip_prefix(prefix).and_then(swap_size) {
            count(m, ops, 1)?;
            return Ok((
                Insn::Swap {
                    op: sop,
                    size,
                    dst: reg(op(0))?,
                },
                None,
            ));
        }
    }

    // Sign-extending moves: movsx{8,16,32}{32,64}.
    if let Some(rest) = m.strip_prefix("movsx") {
        let (from, width) = match rest {
            "832" => (MemSize::B, Width::W32),
            "1632" => (MemSize::H, Width::W32),
            "864" => (MemSize::B, Width::W64),
            "1664" => (MemSize::H, Width::W64),
            "3264" => (MemSize::W, Width::W64),
            _ => return Err(unknown()),
        };
        count(m, ops, 2)?;
        return Ok((
            Insn::MovSx {
                width,
                dst: reg(op(0))?,
                src: reg(op(1))?,
                from,
            },
            None,
        ));
    }

    // Loads.
    if let Some(rest) = m.strip_prefix("ldx") {
        let (signed, sz) = match rest.strip_prefix('s') {
            Some(s) if !s.is_empty() && s != "dw" => (true, s),
            _ => (false, rest),
        };
        let size = size_suffix(sz).ok_or_else(unknown)?;
        count(m, ops, 2)?;
        let dst = reg(op(0))?;
        let (src, off) = mem(op(1))?;
        return Ok((
            Insn::Load {
                size,
                signed,
                dst,
                src,
                off,
            },
            None,
        ));
    }
    // Stores.
    if let Some(rest) = m.strip_prefix("st") {
        let (is_x, sz) = match rest.strip_prefix('x') {
            Some(s) => (true, s),
            None => (false, rest),
        };
        if let Some(size) = size_suffix(sz) {
            count(m, ops, 2)?;
            let (dst, off) = mem(op(0))?;
            let src = if is_x {
                Source::Reg(reg(op(1))?)
            } else {
                Source::Imm(imm32(op(1))?)
            };
            return Ok((
                Insn::Store {
                    size,
                    dst,
                    off,
                    src,
                },
                None,
            ));
        }
    }

    let (base, width) = width_suffix(m);
    if base == "neg" {
        count(m, ops, 1)?;
        return Ok((
            Insn::Neg {
                width,
                dst: reg(op(0))?,
            },
            None,
        ));
    }
    if let Some(aop) = alu_op(base) {
        count(m, ops, 2)?;
        return Ok((
            Insn::Alu {
                width,
                op: aop,
                dst: reg(op(0))?,
                src: source(op(1))?,
            },
            None,
        ));
    }
    if let Some(jop) = jmp_op(base) {
        if m.ends_with("64") {
            return Err(unknown());
        }
        count(m, ops, 3)?;
        let t = target(op(2))?;
        let off = rel16(&t, op(2))?;
        return Ok((
            Insn::Jmp {
                width,
                op: jop,
                dst: reg(op(0))?,
                src: source(op(1))?,
                off,
            },
            Some(t),
        ));
    }
    Err(unknown())
}

fn parse_call(ops: &[String]) -> Result<Parsed, AsmErrorKind> {
    let (mode, t) = match ops {
        [t] => ("helper", t.as_str()),
        [mode, t] => (mode.as_str(), t.as_str()),
        _ => {
            return Err(AsmErrorKind::OperandCount {
                mnemonic: "call".to_owned(),
                expected: 1,
                found: ops.len(),
            })
        }
    };
    match mode {
        "helper" if t.starts_with('%') => Ok((Insn::Call(Call::Reg(reg(t)?)), None)),
        "helper" => Ok((Insn::Call(Call::Helper(imm32(t)?)), None)),
        "local" => {
            let tg = target(t)?;
            let off = rel32(&tg, t)?;
            Ok((Insn::Call(Call::Local(off)), Some(tg)))
        }
        "runtime" => Ok((
            Insn::Call(Call::Kfunc {
                btf_id: imm32(t)?,
                off: 0,
            }),
            None,
        )),
        other => Err(AsmErrorKind::InvalidCallMode(other.to_owned())),
    }
}

fn parse_lock(ops: &[String]) -> Result<Parsed, AsmErrorKind> {
    let bad = || AsmErrorKind::InvalidLock(ops.join(" "));
    let (fetch, rest) = match ops.first().map(String::as_str) {
        Some("fetch") => (true, ops.get(1..).unwrap_or(&[])),
        _ => (false, ops),
    };
    let [name, dst, src] = rest else {
        return Err(bad());
    };
    let (base, width) = width_suffix(name);
    let size = match width {
        Width::W32 => MemSize::W,
        Width::W64 => MemSize::DW,
    };
    let aop = match (base, fetch) {
        ("add", false) => AtomicOp::Add,
        ("or", false) => AtomicOp::Or,
        ("and", false) => AtomicOp::And,
        ("xor", false) => AtomicOp::Xor,
        ("add", true) => AtomicOp::FetchAdd,
        ("or", true) => AtomicOp::FetchOr,
        ("and", true) => AtomicOp::FetchAnd,
        ("xor", true) => AtomicOp::FetchXor,
        ("xchg", _) => AtomicOp::Xchg,
        ("cmpxchg", _) => AtomicOp::CmpXchg,
        _ => return Err(bad()),
    };
    let (dst, off) = mem(dst)?;
    Ok((
        Insn::Atomic {
            size,
            op: aop,
            dst,
            src: reg(src)?,
            off,
        },
        None,
    ))
}
