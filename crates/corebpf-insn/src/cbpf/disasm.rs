//! `tcpdump -d` style disassembly (the layout of libpcap's `bpf_image`).

use std::fmt::Write as _;

use super::{ancillary_name, AluOp, Insn, Op, RetVal, Size, Src};

/// Write the operand of `insn` at index `pc` into `out`; return the mnemonic.
fn write_operand(out: &mut String, pc: usize, insn: Insn) -> &'static str {
    let Some(op) = insn.op() else {
        let _ = write!(out, "{:#x}", insn.code);
        return "unimp";
    };
    let ld = |size: Size| match size {
        Size::W => "ld",
        Size::H => "ldh",
        Size::B => "ldb",
    };
    // libpcap prints most operands with `%d`, i.e. as signed 32-bit values.
    match op {
        Op::LdAbs { size, k } => {
            let _ = match ancillary_name(k) {
                Some(name) => write!(out, "[{name}]"),
                None => write!(out, "[{}]", k as i32),
            };
            ld(size)
        }
        Op::LdInd { size, k } => {
            let _ = write!(out, "[x + {}]", k as i32);
            ld(size)
        }
        Op::LdLen => {
            out.push_str("#pktlen");
            "ld"
        }
        Op::LdxLen => {
            out.push_str("#pktlen");
            "ldx"
        }
        Op::LdImm(k) => {
            let _ = write!(out, "#{k:#x}");
            "ld"
        }
        Op::LdxImm(k) => {
            let _ = write!(out, "#{k:#x}");
            "ldx"
        }
        Op::LdxMsh(k) => {
            let _ = write!(out, "4*([{}]&0xf)", k as i32);
            "ldxb"
        }
        Op::LdMem(k) => {
            let _ = write!(out, "M[{}]", k as i32);
            "ld"
        }
        Op::LdxMem(k) => {
            let _ = write!(out, "M[{}]", k as i32);
            "ldx"
        }
        Op::St(k) => {
            let _ = write!(out, "M[{}]", k as i32);
            "st"
        }
        Op::Stx(k) => {
            let _ = write!(out, "M[{}]", k as i32);
            "stx"
        }
        Op::Ja(k) => {
            let _ = write!(
                out,
                "{}",
                (pc as u32).wrapping_add(1).wrapping_add(k) as i32
            );
            "ja"
        }
        Op::Jmp { op, src, .. } => {
            match src {
                Src::K(k) => {
                    let _ = write!(out, "#{k:#x}");
                }
                Src::X => out.push('x'),
            }
            op.name()
        }
        Op::Alu { op, src } => {
            let _ = match (op, src) {
                (_, Src::X) => write!(out, "x"),
                (AluOp::And | AluOp::Or | AluOp::Xor, Src::K(k)) => write!(out, "#{k:#x}"),
                (_, Src::K(k)) => write!(out, "#{}", k as i32),
            };
            op.name()
        }
        Op::Neg => "neg",
        Op::Ret(RetVal::K(k)) => {
            let _ = write!(out, "#{}", k as i32);
            "ret"
        }
        Op::Ret(RetVal::A) => "ret",
        Op::Tax => "tax",
        Op::Txa => "txa",
    }
}

/// Mnemonic and operand text of one instruction at index `pc`, as `tcpdump -d` prints them.
/// Opcodes the kernel does not know print as `unimp` with the code as operand.
pub fn mnemonic(pc: usize, insn: Insn) -> (&'static str, String) {
    let mut operand = String::new();
    let m = write_operand(&mut operand, pc, insn);
    (m, operand)
}

fn pad_to(out: &mut String, start: usize, width: usize) {
    let used = out.len() - start;
    for _ in used..width {
        out.push(' ');
    }
}

/// Append one `tcpdump -d` line (without newline) for the instruction at index `pc`.
pub fn write_insn(out: &mut String, pc: usize, insn: Insn) {
    let _ = write!(out, "({pc:03}) ");
    // The mnemonic goes first but is only known with the operand: write the operand after
    // an 8-column gap and fill the mnemonic in.
    let m_start = out.len();
    out.push_str("         ");
    let o_start = out.len();
    let m = write_operand(out, pc, insn);
    out.replace_range(m_start..m_start + m.len(), m);
    // libpcap decides the layout from the class and operation bits alone.
    let cond = insn.class() == super::BPF_JMP && (insn.code & 0xf0) != super::BPF_JA;
    if cond {
        pad_to(out, o_start, 16);
        let jt = (pc as i64) + 1 + i64::from(insn.jt);
        let jf = (pc as i64) + 1 + i64::from(insn.jf);
        let _ = write!(out, " jt {jt}\tjf {jf}");
    }
}

/// One `tcpdump -d` line for the instruction at index `pc`.
pub fn disassemble_insn(pc: usize, insn: Insn) -> String {
    let mut s = String::with_capacity(48);
    write_insn(&mut s, pc, insn);
    s
}

/// The whole program as `tcpdump -d` prints it (one line per instruction, each ending in `\n`).
pub fn disassemble(insns: &[Insn]) -> String {
    let mut s = String::with_capacity(insns.len() * 40);
    for (pc, &insn) in insns.iter().enumerate() {
        write_insn(&mut s, pc, insn);
        s.push('\n');
    }
    s
}
