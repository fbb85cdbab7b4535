//! Parsing the textual forms classic BPF programs are pasted in, and producing them.
//!
//! Accepted forms (detected automatically by [`parse`]):
//! - [`Form::Ddd`]: `tcpdump -ddd`: a count line, then one `code jt jf k` decimal line each;
//! - [`Form::CArray`]: `tcpdump -dd`: `{ 0x28, 0, 0, 0x0000000c },` lines (any C around them);
//! - [`Form::Comma`]: `ss -0 -b`: `0x28 0 0 12, 0x15 0 8 2048, …` with an optional
//!   `bpf filter (11):` prefix, and the `11,40 0 0 12,…` form iptables' bpf match takes;
//! - [`Form::Disasm`]: `tcpdump -d` text.
//!
//! Numbers may be decimal or `0x` hexadecimal in every form.

use std::fmt::Write as _;

use super::{
    ancillary_offset, AluOp, Insn, JmpOp, Op, ParseError, ParseProblem, RetVal, Size, Src,
};

/// The textual form a program was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    Ddd,
    CArray,
    Comma,
    Disasm,
}

impl Form {
    pub const fn name(self) -> &'static str {
        match self {
            Form::Ddd => "tcpdump -ddd",
            Form::CArray => "tcpdump -dd",
            Form::Comma => "comma-separated (ss -b)",
            Form::Disasm => "tcpdump -d",
        }
    }
}

/// A parsed program and the form it was recognized as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub insns: Vec<Insn>,
    pub form: Form,
}

/// Parse a program, detecting its form.
pub fn parse(text: &str) -> Result<Parsed, ParseError> {
    let form = detect(text);
    let insns = parse_as(text, form)?;
    Ok(Parsed { insns, form })
}

fn detect(text: &str) -> Form {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if first.starts_with('(') {
        Form::Disasm
    } else if text.contains('{') {
        Form::CArray
    } else if text.contains(',') {
        Form::Comma
    } else if first
        .split_whitespace()
        .next()
        .is_some_and(|w| w.chars().all(|c| c.is_ascii_alphabetic()))
        && !first.starts_with("0x")
    {
        // Bare mnemonics without `(NNN)` labels.
        Form::Disasm
    } else {
        Form::Ddd
    }
}

/// Parse a program written in a given form.
pub fn parse_as(text: &str, form: Form) -> Result<Vec<Insn>, ParseError> {
    let insns = match form {
        Form::Ddd => parse_ddd(text)?,
        Form::CArray => parse_c_array(text)?,
        Form::Comma => parse_comma(text)?,
        Form::Disasm => parse_disasm(text)?,
    };
    if insns.is_empty() {
        return Err(err_at(text, text.len(), ParseProblem::Empty));
    }
    Ok(insns)
}

/// 1-based line and column of byte offset `at` in `text`.
fn position(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

fn err_at(text: &str, at: usize, problem: ParseProblem) -> ParseError {
    let (line, column) = position(text, at);
    ParseError {
        line,
        column,
        problem,
    }
}

/// Byte offset of `sub` (a slice of `text`) within `text`.
fn offset_of(text: &str, sub: &str) -> usize {
    (sub.as_ptr() as usize).saturating_sub(text.as_ptr() as usize)
}

/// Whitespace-separated tokens of `s`, each with its byte offset in `text`.
fn tokens<'a>(text: &'a str, s: &'a str) -> impl Iterator<Item = (usize, &'a str)> + 'a {
    s.split_whitespace().map(move |t| (offset_of(text, t), t))
}

/// Parse an unsigned number, decimal or `0x` hex; with `signed`, a leading `-` wraps to u32.
fn number(tok: &str, signed: bool) -> Option<u64> {
    let (neg, digits) = match tok.strip_prefix('-') {
        Some(rest) if signed => (true, rest),
        _ => (false, tok),
    };
    let v = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        u64::from_str_radix(hex, 16).ok()?
    } else {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<u64>().ok()?
    };
    if neg {
        if v > 0x8000_0000 {
            return None;
        }
        Some(u64::from((v as u32).wrapping_neg()))
    } else {
        Some(v)
    }
}

fn field(
    text: &str,
    at: usize,
    tok: &str,
    name: &'static str,
    max: u64,
) -> Result<u64, ParseError> {
    let signed = name == "k";
    match number(tok, signed) {
        Some(v) if v <= max => Ok(v),
        _ => Err(err_at(
            text,
            at,
            ParseProblem::BadNumber {
                token: tok.to_string(),
                field: name,
            },
        )),
    }
}

/// Up to five `(offset, token)` fields of one record, without allocating; `len` counts all
/// fields seen (more than five are counted, not stored).
struct Fields<'a> {
    f: [(usize, &'a str); 5],
    len: usize,
}

impl<'a> Fields<'a> {
    fn collect(it: impl Iterator<Item = (usize, &'a str)>) -> Self {
        let mut out = Fields {
            f: [(0, ""); 5],
            len: 0,
        };
        for x in it {
            if let Some(slot) = out.f.get_mut(out.len) {
                *slot = x;
            }
            out.len += 1;
        }
        out
    }
    fn as_slice(&self) -> &[(usize, &'a str)] {
        self.f.get(..self.len).unwrap_or(&self.f)
    }
}

/// Build an instruction from four `(offset, token)` fields.
fn record(text: &str, f: &Fields<'_>, end: usize) -> Result<Insn, ParseError> {
    let (count, f) = (f.len, f.as_slice());
    let [(oc, c), (ot, t), (of, fl), (ok, k)] = f else {
        let at = f.first().map_or(end, |x| x.0);
        return Err(err_at(
            text,
            at,
            ParseProblem::FieldCount {
                found: count,
                expected: 4,
            },
        ));
    };
    Ok(Insn {
        code: field(text, *oc, c, "code", 0xffff)? as u16,
        jt: field(text, *ot, t, "jt", 0xff)? as u8,
        jf: field(text, *of, fl, "jf", 0xff)? as u8,
        k: field(text, *ok, k, "k", 0xffff_ffff)? as u32,
    })
}

fn check_count(text: &str, count: Option<(usize, u64)>, insns: &[Insn]) -> Result<(), ParseError> {
    match count {
        Some((at, declared)) if declared != insns.len() as u64 => Err(err_at(
            text,
            at,
            ParseProblem::CountMismatch {
                declared,
                found: insns.len(),
            },
        )),
        _ => Ok(()),
    }
}

fn parse_ddd(text: &str) -> Result<Vec<Insn>, ParseError> {
    let mut insns = Vec::new();
    let mut count = None;
    let mut first = true;
    for line in text.lines() {
        let f = Fields::collect(tokens(text, line));
        if f.len == 0 {
            continue;
        }
        if first && f.len == 1 {
            let (at, tok) = f.f[0];
            count = Some((
                at,
                field(text, at, tok, "instruction count", u64::from(u32::MAX))?,
            ));
            first = false;
            continue;
        }
        first = false;
        insns.push(record(text, &f, offset_of(text, line) + line.len())?);
    }
    check_count(text, count, &insns)?;
    Ok(insns)
}

fn parse_comma(text: &str) -> Result<Vec<Insn>, ParseError> {
    // Skip a `bpf filter (11):` style prefix.
    let body_start = text.find(':').map_or(0, |i| i + 1);
    let body = text.get(body_start..).unwrap_or("");
    let mut insns = Vec::new();
    let mut count = None;
    let mut first = true;
    for piece in body.split(',') {
        let f = Fields::collect(tokens(text, piece));
        if f.len == 0 {
            continue;
        }
        if first && f.len == 1 {
            let (at, tok) = f.f[0];
            count = Some((
                at,
                field(text, at, tok, "instruction count", u64::from(u32::MAX))?,
            ));
            first = false;
            continue;
        }
        first = false;
        insns.push(record(text, &f, offset_of(text, piece) + piece.len())?);
    }
    check_count(text, count, &insns)?;
    Ok(insns)
}

fn parse_c_array(text: &str) -> Result<Vec<Insn>, ParseError> {
    let mut insns = Vec::new();
    let mut open: Option<usize> = None;
    for (i, ch) in text.char_indices() {
        match ch {
            '{' => open = Some(i + 1),
            '}' => {
                if let Some(start) = open.take() {
                    let inner = text.get(start..i).unwrap_or("");
                    let f = Fields::collect(
                        inner
                            .split(',')
                            .map(|p| (offset_of(text, p.trim_start()), p.trim()))
                            .filter(|(_, p)| !p.is_empty()),
                    );
                    insns.push(record(text, &f, i)?);
                }
            }
            _ => {}
        }
    }
    if let Some(start) = open {
        return Err(err_at(
            text,
            start.saturating_sub(1),
            ParseProblem::Unexpected {
                found: "{".into(),
                expected: "a closing `}`",
            },
        ));
    }
    Ok(insns)
}

fn parse_disasm(text: &str) -> Result<Vec<Insn>, ParseError> {
    let mut insns = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let pc = insns.len();
        let mut rest = trimmed;
        if let Some(after) = rest.strip_prefix('(') {
            let close = after.find(')').ok_or_else(|| {
                err_at(
                    text,
                    offset_of(text, rest),
                    ParseProblem::Unexpected {
                        found: rest.chars().take(8).collect(),
                        expected: "an `(NNN)` label",
                    },
                )
            })?;
            let label = after.get(..close).unwrap_or("");
            if label.trim().parse::<usize>().ok() != Some(pc) {
                return Err(err_at(
                    text,
                    offset_of(text, rest),
                    ParseProblem::BadLabel {
                        expected: pc,
                        found: format!("({label})"),
                    },
                ));
            }
            rest = after.get(close + 1..).unwrap_or("").trim_start();
        }
        insns.push(disasm_line(text, rest, pc)?);
    }
    Ok(insns)
}

/// One `tcpdump -d` instruction (after its label).
fn disasm_line(text: &str, s: &str, pc: usize) -> Result<Insn, ParseError> {
    let (mn, rest) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
    let rest = rest.trim();
    let mn_at = offset_of(text, s);
    let bad_operand = |operand: &str| {
        err_at(
            text,
            if operand.is_empty() {
                mn_at
            } else {
                offset_of(text, operand)
            },
            ParseProblem::BadOperand {
                mnemonic: mn.to_string(),
                operand: operand.to_string(),
            },
        )
    };
    let num = |tok: &str, signed: bool| -> Result<u32, ParseError> {
        match number(tok.trim(), signed) {
            Some(v) if v <= u64::from(u32::MAX) => Ok(v as u32),
            _ => Err(err_at(
                text,
                offset_of(text, tok),
                ParseProblem::BadNumber {
                    token: tok.trim().to_string(),
                    field: "operand",
                },
            )),
        }
    };
    let no_operand = |op: Op| {
        if rest.is_empty() {
            Ok(op.to_insn())
        } else {
            Err(bad_operand(rest))
        }
    };
    let size = match mn {
        "ld" => Some(Size::W),
        "ldh" => Some(Size::H),
        "ldb" => Some(Size::B),
        _ => None,
    };
    if let Some(size) = size {
        if let Some(inner) = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            let inner_t = inner.trim();
            if let Some(off) = inner_t.strip_prefix('x').map(str::trim_start) {
                let off = off.strip_prefix('+').ok_or_else(|| bad_operand(rest))?;
                return Ok(Op::LdInd {
                    size,
                    k: num(off, true)?,
                }
                .to_insn());
            }
            if let Some(k) = ancillary_offset(inner_t) {
                return Ok(Op::LdAbs { size, k }.to_insn());
            }
            return Ok(Op::LdAbs {
                size,
                k: num(inner, true)?,
            }
            .to_insn());
        }
        if size == Size::W {
            if rest == "#pktlen" || rest == "len" || rest == "#len" {
                return Ok(Op::LdLen.to_insn());
            }
            if let Some(imm) = rest.strip_prefix('#') {
                return Ok(Op::LdImm(num(imm, true)?).to_insn());
            }
            if let Some(m) = rest.strip_prefix("M[").and_then(|r| r.strip_suffix(']')) {
                return Ok(Op::LdMem(num(m, true)?).to_insn());
            }
        }
        return Err(bad_operand(rest));
    }
    match mn {
        "ldx" => {
            if rest == "#pktlen" || rest == "len" || rest == "#len" {
                Ok(Op::LdxLen.to_insn())
            } else if let Some(imm) = rest.strip_prefix('#') {
                Ok(Op::LdxImm(num(imm, true)?).to_insn())
            } else if let Some(m) = rest.strip_prefix("M[").and_then(|r| r.strip_suffix(']')) {
                Ok(Op::LdxMem(num(m, true)?).to_insn())
            } else {
                Err(bad_operand(rest))
            }
        }
        "ldxb" => {
            let inner = rest
                .strip_prefix("4*([")
                .and_then(|r| r.strip_suffix("]&0xf)"))
                .ok_or_else(|| bad_operand(rest))?;
            Ok(Op::LdxMsh(num(inner, true)?).to_insn())
        }
        "st" | "stx" => {
            let m = rest
                .strip_prefix("M[")
                .and_then(|r| r.strip_suffix(']'))
                .ok_or_else(|| bad_operand(rest))?;
            let k = num(m, true)?;
            Ok(if mn == "st" { Op::St(k) } else { Op::Stx(k) }.to_insn())
        }
        "ja" => {
            let target = u64::from(num(rest, false)?);
            let k = target
                .checked_sub(pc as u64 + 1)
                .filter(|k| *k <= u64::from(u32::MAX))
                .ok_or_else(|| {
                    err_at(
                        text,
                        offset_of(text, rest),
                        ParseProblem::BadJumpTarget { pc, target },
                    )
                })?;
            Ok(Op::Ja(k as u32).to_insn())
        }
        "jeq" | "jgt" | "jge" | "jset" => {
            let op = match mn {
                "jeq" => JmpOp::Jeq,
                "jgt" => JmpOp::Jgt,
                "jge" => JmpOp::Jge,
                _ => JmpOp::Jset,
            };
            let (operand, targets) = rest.split_once("jt").ok_or_else(|| bad_operand(rest))?;
            let (jt_s, jf_s) = targets.split_once("jf").ok_or_else(|| bad_operand(rest))?;
            let operand = operand.trim();
            let src = if operand == "x" {
                Src::X
            } else {
                let imm = operand
                    .strip_prefix('#')
                    .ok_or_else(|| bad_operand(operand))?;
                Src::K(num(imm, true)?)
            };
            let rel = |s: &str| -> Result<u8, ParseError> {
                let target = u64::from(num(s, false)?);
                target
                    .checked_sub(pc as u64 + 1)
                    .filter(|d| *d <= 0xff)
                    .map(|d| d as u8)
                    .ok_or_else(|| {
                        err_at(
                            text,
                            offset_of(text, s.trim_start()),
                            ParseProblem::BadJumpTarget { pc, target },
                        )
                    })
            };
            let jt = rel(jt_s)?;
            let jf = rel(jf_s)?;
            Ok(Op::Jmp { op, src, jt, jf }.to_insn())
        }
        "add" | "sub" | "mul" | "div" | "mod" | "and" | "or" | "xor" | "lsh" | "rsh" => {
            let op = match mn {
                "add" => AluOp::Add,
                "sub" => AluOp::Sub,
                "mul" => AluOp::Mul,
                "div" => AluOp::Div,
                "mod" => AluOp::Mod,
                "and" => AluOp::And,
                "or" => AluOp::Or,
                "xor" => AluOp::Xor,
                "lsh" => AluOp::Lsh,
                _ => AluOp::Rsh,
            };
            let src = if rest == "x" {
                Src::X
            } else {
                let imm = rest.strip_prefix('#').ok_or_else(|| bad_operand(rest))?;
                Src::K(num(imm, true)?)
            };
            Ok(Op::Alu { op, src }.to_insn())
        }
        "neg" => no_operand(Op::Neg),
        "tax" => no_operand(Op::Tax),
        "txa" => no_operand(Op::Txa),
        "ret" => {
            if rest.is_empty() || rest == "a" || rest == "A" {
                Ok(Op::Ret(RetVal::A).to_insn())
            } else {
                let imm = rest.strip_prefix('#').ok_or_else(|| bad_operand(rest))?;
                Ok(Op::Ret(RetVal::K(num(imm, true)?)).to_insn())
            }
        }
        "unimp" => {
            let code = num(rest, false)?;
            let code = u16::try_from(code).map_err(|_| bad_operand(rest))?;
            Ok(Insn::stmt(code, 0))
        }
        _ => Err(err_at(
            text,
            mn_at,
            ParseProblem::UnknownMnemonic(mn.to_string()),
        )),
    }
}

/// `tcpdump -ddd` text: the count, then `code jt jf k` in decimal, one line each.
pub fn format_ddd(insns: &[Insn]) -> String {
    let mut s = String::with_capacity(4 + insns.len() * 16);
    let _ = writeln!(s, "{}", insns.len());
    for i in insns {
        let _ = writeln!(s, "{} {} {} {}", i.code, i.jt, i.jf, i.k);
    }
    s
}

/// `tcpdump -dd` text: one C initializer per line.
pub fn format_c_array(insns: &[Insn]) -> String {
    let mut s = String::with_capacity(insns.len() * 32);
    for i in insns {
        let _ = writeln!(s, "{{ {:#x}, {}, {}, 0x{:08x} }},", i.code, i.jt, i.jf, i.k);
    }
    s
}

/// The one-line comma form `ss -0 -b` prints after `bpf filter (N):`.
pub fn format_comma(insns: &[Insn]) -> String {
    let mut s = String::with_capacity(insns.len() * 16);
    for (n, i) in insns.iter().enumerate() {
        if n > 0 {
            s.push(' ');
        }
        let _ = write!(s, "0x{:02x} {} {} {},", i.code, i.jt, i.jf, i.k);
    }
    s
}
