//! `tcpdump -d` style disassembly (the layout of libpcap's `bpf_image`).

use std::fmt::Write as _;

use super::{ancillary_name, AluOp, Insn, JmpOp, Op, RetVal, Size, Src};

/// Mnemonic and operand text of one instruction at index `pc`, as `tcpdump -d` prints them.
/// Opcodes the kernel does not know print as `unimp` with the code as operand.
pub fn mnemonic(pc: usize, insn: Insn) -> (&'static str, String) {
    let k = insn.k;
    let ks = k as i32;
    let Some(op) = insn.op() else {
        return ("unimp", format!("{:#x}", insn.code));
    };
    let ld = |size: Size| match size {
        Size::W => "ld",
        Size::H => "ldh",
        Size::B => "ldb",
    };
    match op {
        Op::LdAbs { size, k } => {
            let operand = match ancillary_name(k) {
                Some(name) => format!("[{name}]"),
                None => format!("[{}]", k as i32),
            };
            (ld(size), operand)
        }
        Op::LdInd { size, k } => (ld(size), format!("[x + {}]", k as i32)),
        Op::LdLen => ("ld", "#pktlen".into()),
        Op::LdxLen => ("ldx", "#pktlen".into()),
        Op::LdImm(k) => ("ld", format!("#{k:#x}")),
        Op::LdxImm(k) => ("ldx", format!("#{k:#x}")),
        Op::LdxMsh(k) => ("ldxb", format!("4*([{}]&0xf)", k as i32)),
        Op::LdMem(k) => ("ld", format!("M[{}]", k as i32)),
        Op::LdxMem(k) => ("ldx", format!("M[{}]", k as i32)),
        Op::St(k) => ("st", format!("M[{}]", k as i32)),
        Op::Stx(k) => ("stx", format!("M[{}]", k as i32)),
        Op::Ja(k) => (
            "ja",
            format!("{}", (pc as u32).wrapping_add(1).wrapping_add(k) as i32),
        ),
        Op::Jmp { op, src, .. } => {
            let operand = match src {
                Src::K(k) => format!("#{k:#x}"),
                Src::X => "x".into(),
            };
            (jmp_name(op), operand)
        }
        Op::Alu { op, src } => {
            let operand = match (op, src) {
                (_, Src::X) => "x".into(),
                (AluOp::And | AluOp::Or | AluOp::Xor, Src::K(k)) => format!("#{k:#x}"),
                (_, Src::K(k)) => format!("#{}", k as i32),
            };
            (op.name(), operand)
        }
        Op::Neg => ("neg", String::new()),
        Op::Ret(RetVal::K(_)) => ("ret", format!("#{ks}")),
        Op::Ret(RetVal::A) => ("ret", String::new()),
        Op::Tax => ("tax", String::new()),
        Op::Txa => ("txa", String::new()),
    }
}

fn jmp_name(op: JmpOp) -> &'static str {
    op.name()
}

/// Append one `tcpdump -d` line (without newline) for the instruction at index `pc`.
pub fn write_insn(out: &mut String, pc: usize, insn: Insn) {
    let (op, operand) = mnemonic(pc, insn);
    // libpcap decides the layout from the class and operation bits alone.
    let cond = insn.class() == super::BPF_JMP && (insn.code & 0xf0) != super::BPF_JA;
    if cond {
        let jt = (pc as i64) + 1 + i64::from(insn.jt);
        let jf = (pc as i64) + 1 + i64::from(insn.jf);
        let _ = write!(out, "({pc:03}) {op:<8} {operand:<16} jt {jt}\tjf {jf}");
    } else {
        let _ = write!(out, "({pc:03}) {op:<8} {operand}");
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
