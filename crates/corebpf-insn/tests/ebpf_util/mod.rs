//! Shared helpers of the eBPF tests: corpus paths, ELF reading, and the semantic comparison of
//! our decoder against `llvm-objdump-19`.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use corebpf_insn::ebpf::{
    decode, AluOp, AtomicOp, Call, Endian, Insn, LdImm64Kind, MemSize, Source, SwapOp, Width,
};
use object::{Object, ObjectSection, SectionFlags};

/// The shared third-party corpora (`shared/corpora` next to the repository).
pub fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora")
}

/// Reads a corpus file or fails with a message naming it.
pub fn read_corpus(rel: &str) -> Vec<u8> {
    let p = corpora().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read corpus file {}: {e}", p.display()))
}

/// A tool the test needs, or a failure naming it.
pub fn require_tool(name: &str) {
    let ok = Command::new(name)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "this test needs `{name}` (install it with scripts/install-deps.sh), and it is missing"
    );
}

/// The byte order of an ELF object.
pub fn elf_endian(file: &object::File<'_>) -> Endian {
    if file.is_little_endian() {
        Endian::Little
    } else {
        Endian::Big
    }
}

/// The executable sections of an ELF object: `(name, bytes)`.
pub fn exec_sections<'a>(file: &'a object::File<'a>) -> Vec<(String, &'a [u8])> {
    let mut out = Vec::new();
    for s in file.sections() {
        let exec = match s.flags() {
            SectionFlags::Elf { sh_flags } => sh_flags & u64::from(object::elf::SHF_EXECINSTR) != 0,
            _ => false,
        };
        if exec {
            let name = s.name().expect("section name").to_owned();
            let data = s.data().expect("section data");
            out.push((name, data));
        }
    }
    out
}

/// One instruction line of an `llvm-objdump -d` listing.
#[derive(Debug, Clone)]
pub struct LlvmLine {
    /// Section the line belongs to.
    pub section: String,
    /// Slot index within the section.
    pub slot: usize,
    /// Raw bytes shown.
    pub bytes: Vec<u8>,
    /// The instruction text.
    pub text: String,
}

/// Parses an `llvm-objdump -d` listing (with raw bytes, the default).
pub fn parse_llvm_objdump(listing: &str) -> Vec<LlvmLine> {
    let mut out = Vec::new();
    let mut section = String::new();
    for line in listing.lines() {
        if let Some(rest) = line.strip_prefix("Disassembly of section ") {
            section = rest.trim_end_matches(':').to_owned();
            continue;
        }
        let mut parts = line.splitn(3, '\t');
        let (Some(idx), Some(hex), Some(text)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let Some(idx) = idx.trim().strip_suffix(':') else {
            continue;
        };
        let Ok(slot) = idx.parse::<usize>() else {
            continue;
        };
        let bytes: Vec<u8> = hex
            .split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).expect("hex byte in listing"))
            .collect();
        out.push(LlvmLine {
            section: section.clone(),
            slot,
            bytes,
            text: text.trim().to_owned(),
        });
    }
    out
}

/// A token of normalized disassembly text: numbers compare by value, everything else by text.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Num(i128),
    Word(String),
}

/// Splits disassembly into tokens. A sign directly (or after blanks) before a number belongs
/// to the number (`r2 - 0x8` and `r2 -8` both give `r2`, `-8`); a `<sym+off>` annotation is
/// dropped; `0x` and decimal forms are parsed.
pub fn tokens(text: &str) -> Vec<Tok> {
    let text = match text.find(" <") {
        Some(p) => &text[..p],
        None => text,
    };
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() || c == b',' {
            i += 1;
            continue;
        }
        // Signed number?
        let mut j = i;
        let mut neg = false;
        if c == b'+' || c == b'-' {
            neg = c == b'-';
            j += 1;
            while j < b.len() && b[j] == b' ' {
                j += 1;
            }
        }
        if j < b.len() && b[j].is_ascii_digit() {
            // A sign is part of the number unless it is the tail of an operator (`-=` etc.
            // never reach here because `=` follows the sign).
            let start = j;
            let (radix, mut k) = if b[j..].starts_with(b"0x") {
                (16, j + 2)
            } else {
                (10, j)
            };
            let digits_start = k;
            while k < b.len() && (b[k] as char).is_digit(radix) {
                k += 1;
            }
            let digits = &text[digits_start..k];
            let v = i128::from_str_radix(digits, radix)
                .unwrap_or_else(|_| panic!("bad number {:?} in {text:?}", &text[start..k]));
            out.push(Tok::Num(if neg { -v } else { v }));
            i = k;
            continue;
        }
        // Identifier / register.
        if c.is_ascii_alphanumeric() || c == b'_' {
            let mut k = i;
            while k < b.len() && (b[k].is_ascii_alphanumeric() || b[k] == b'_') {
                k += 1;
            }
            out.push(Tok::Word(text[i..k].to_owned()));
            i = k;
            continue;
        }
        // Operator run.
        let mut k = i;
        while k < b.len()
            && !b[k].is_ascii_alphanumeric()
            && !b[k].is_ascii_whitespace()
            && b[k] != b'('
            && b[k] != b')'
            && b[k] != b'['
            && b[k] != b']'
            && b[k] != b','
        {
            k += 1;
        }
        if k == i {
            k = i + 1;
        }
        out.push(Tok::Word(text[i..k].to_owned()));
        i = k;
    }
    out
}

/// Whether two token lists mean the same; numbers are equal modulo 2^64 (llvm prints some 64-bit
/// immediates unsigned).
pub fn same_tokens(a: &[Tok], b: &[Tok]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Tok::Num(p), Tok::Num(q)) => (p - q).rem_euclid(1i128 << 64) == 0,
            (Tok::Word(p), Tok::Word(q)) => p == q,
            _ => false,
        })
}

fn wr(width: Width) -> char {
    match width {
        Width::W32 => 'w',
        Width::W64 => 'r',
    }
}

/// `w` for sub-64-bit memory operands, as llvm prints them.
fn mem_reg(size: MemSize) -> char {
    if size == MemSize::DW {
        'r'
    } else {
        'w'
    }
}

fn mem_operand(out: &mut String, base: u8, off: i16) {
    let sign = if off < 0 { '-' } else { '+' };
    write!(out, "r{base} {sign} {}", i32::from(off).abs()).unwrap();
}

/// Our decoded instruction written in llvm's BPF assembly syntax, built from the decoded
/// fields; [`tokens`] of it must equal [`tokens`] of llvm's text.
pub fn llvm_syntax(insn: &Insn) -> String {
    let mut s = String::new();
    match *insn {
        Insn::Alu {
            width,
            op,
            dst,
            src,
        } => {
            let sym = match op {
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
            };
            write!(s, "{}{} {sym} ", wr(width), dst.index()).unwrap();
            match src {
                Source::Reg(r) => write!(s, "{}{}", wr(width), r.index()).unwrap(),
                Source::Imm(i) => write!(s, "{i}").unwrap(),
            }
        }
        Insn::Neg { width, dst } => {
            let w = wr(width);
            write!(s, "{w}{0} = -{w}{0}", dst.index()).unwrap()
        }
        Insn::MovSx {
            width,
            dst,
            src,
            from,
        } => {
            let w = wr(width);
            write!(
                s,
                "{w}{} = (s{}){w}{}",
                dst.index(),
                from.bits(),
                src.index()
            )
            .unwrap()
        }
        Insn::AddrSpaceCast {
            dst,
            src,
            dst_as,
            src_as,
        } => write!(
            s,
            "r{} = addr_space_cast(r{}, {dst_as}, {src_as})",
            dst.index(),
            src.index()
        )
        .unwrap(),
        Insn::MovPercpuAddr { .. } => s.push_str("<kernel-internal percpu mov>"),
        Insn::Swap { op, size, dst } => {
            let name = match op {
                SwapOp::ToLe => "le",
                SwapOp::ToBe => "be",
                SwapOp::Swap => "bswap",
            };
            write!(s, "r{0} = {name}{1} r{0}", dst.index(), size.bits()).unwrap()
        }
        Insn::Ja { off } => write!(s, "goto {off:+}").unwrap(),
        Insn::Gotol { off } => write!(s, "gotol {off:+}").unwrap(),
        Insn::MayGoto { off } => write!(s, "may_goto {off:+}").unwrap(),
        Insn::Jmp {
            width,
            op,
            dst,
            src,
            off,
        } => {
            write!(s, "if {}{} {} ", wr(width), dst.index(), op.symbol()).unwrap();
            match src {
                Source::Reg(r) => write!(s, "{}{}", wr(width), r.index()).unwrap(),
                Source::Imm(i) => write!(s, "{i}").unwrap(),
            }
            write!(s, " goto {off:+}").unwrap()
        }
        Insn::Call(c) => match c {
            Call::Helper(imm) | Call::Local(imm) | Call::Kfunc { btf_id: imm, .. } => {
                write!(s, "call {imm}").unwrap()
            }
            Call::Reg(r) => write!(s, "callx r{}", r.index()).unwrap(),
            Call::LocalTranslated { .. } => s.push_str("<kernel-translated call>"),
        },
        Insn::Exit => s.push_str("exit"),
        Insn::LdImm64 { dst, kind, .. } => {
            let (_, v) = insn.ld_imm64().unwrap();
            if kind == LdImm64Kind::Imm {
                write!(s, "r{} = {v} ll", dst.index()).unwrap()
            } else {
                write!(s, "r{} = ld_pseudo {} {v}", dst.index(), kind.src()).unwrap()
            }
        }
        Insn::LdAbs { size, imm } => {
            write!(s, "r0 = *({} *)skb[{imm}]", size.unsigned_name()).unwrap()
        }
        Insn::LdInd { size, src, imm } => {
            write!(s, "r0 = *({} *)skb[r{}", size.unsigned_name(), src.index()).unwrap();
            if imm != 0 {
                write!(s, " + {imm}").unwrap();
            }
            s.push(']')
        }
        Insn::Load {
            size,
            signed,
            dst,
            src,
            off,
        } => {
            let (reg, ty) = if signed {
                ('r', size.signed_name())
            } else {
                (mem_reg(size), size.unsigned_name())
            };
            write!(s, "{reg}{} = *({ty} *)(", dst.index()).unwrap();
            mem_operand(&mut s, src.index(), off);
            s.push(')')
        }
        Insn::Store {
            size,
            dst,
            off,
            src,
        } => {
            write!(s, "*({} *)(", size.unsigned_name()).unwrap();
            mem_operand(&mut s, dst.index(), off);
            s.push_str(") = ");
            match src {
                Source::Reg(r) => write!(s, "{}{}", mem_reg(size), r.index()).unwrap(),
                Source::Imm(i) => write!(s, "{i}").unwrap(),
            }
        }
        Insn::Atomic {
            size,
            op,
            dst,
            src,
            off,
        } => {
            let w = mem_reg(size);
            let ty = size.unsigned_name();
            let (d, r) = (dst.index(), src.index());
            let mut m = String::new();
            mem_operand(&mut m, d, off);
            match op {
                AtomicOp::Add | AtomicOp::Or | AtomicOp::And | AtomicOp::Xor => {
                    let sym = match op {
                        AtomicOp::Add => "+=",
                        AtomicOp::Or => "|=",
                        AtomicOp::And => "&=",
                        _ => "^=",
                    };
                    write!(s, "lock *({ty} *)({m}) {sym} {w}{r}").unwrap()
                }
                AtomicOp::FetchAdd
                | AtomicOp::FetchOr
                | AtomicOp::FetchAnd
                | AtomicOp::FetchXor => {
                    let name = match op {
                        AtomicOp::FetchAdd => "add",
                        AtomicOp::FetchOr => "or",
                        AtomicOp::FetchAnd => "and",
                        _ => "xor",
                    };
                    write!(s, "{w}{r} = atomic_fetch_{name}(({ty} *)({m}), {w}{r})").unwrap()
                }
                AtomicOp::Xchg if size == MemSize::DW => {
                    write!(s, "r{r} = xchg_64({m}, r{r})").unwrap()
                }
                AtomicOp::Xchg => write!(s, "w{r} = xchg32_32({m}, w{r})").unwrap(),
                AtomicOp::CmpXchg if size == MemSize::DW => {
                    write!(s, "r0 = cmpxchg_64({m}, r0, r{r})").unwrap()
                }
                AtomicOp::CmpXchg => write!(s, "w0 = cmpxchg32_32({m}, w0, w{r})").unwrap(),
                AtomicOp::LoadAcquire => {
                    write!(s, "{w}{d} = load_acquire(({ty} *)(", d = dst.index()).unwrap();
                    mem_operand(&mut s, src.index(), off);
                    s.push_str("))")
                }
                AtomicOp::StoreRelease => {
                    write!(s, "store_release(({ty} *)({m}), {w}{r})").unwrap()
                }
            }
        }
        Insn::Nospec => s.push_str("<kernel-internal nospec>"),
    }
    s
}

/// Compares our decode of every instruction of a llvm-objdump listing against the listing:
/// the bytes shown must decode (in `endian`) to an instruction whose llvm-syntax rendering means
/// the same as llvm's text, and whose encoding gives the same bytes. Returns the number of
/// instructions compared; panics with every mismatch listed.
pub fn compare_listing(listing: &str, endian: Endian, what: &str) -> usize {
    let lines = parse_llvm_objdump(listing);
    let mut problems = Vec::new();
    for l in &lines {
        match decode(&l.bytes, endian) {
            Err(e) => problems.push(format!(
                "{what} {}:{}: `{}`: our decoder fails: {e}",
                l.section, l.slot, l.text
            )),
            Ok((insn, len)) => {
                if len != l.bytes.len() {
                    problems.push(format!(
                        "{what} {}:{}: `{}`: we use {len} bytes, llvm shows {}",
                        l.section,
                        l.slot,
                        l.text,
                        l.bytes.len()
                    ));
                }
                let ours = llvm_syntax(&insn);
                if !same_tokens(&tokens(&ours), &tokens(&l.text)) {
                    problems.push(format!(
                        "{what} {}:{}: llvm `{}` vs ours `{ours}` ({insn:?})",
                        l.section, l.slot, l.text
                    ));
                }
                if insn.to_bytes(endian) != l.bytes {
                    problems.push(format!(
                        "{what} {}:{}: re-encoding differs from the listed bytes",
                        l.section, l.slot
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} mismatches against llvm-objdump:\n{}",
        problems.len(),
        problems.join("\n")
    );
    lines.len()
}

/// Runs `llvm-objdump-19 -d --mattr=+alu32` on an ELF object and compares every instruction with our decoder
/// ([`compare_listing`]); also checks that the listing covers every slot of every executable
/// section, and that each section decodes and re-encodes byte for byte. Reusable for any
/// clang-built BPF object. Returns the number of instructions compared.
pub fn compare_object_with_llvm_objdump(path: &Path) -> usize {
    require_tool("llvm-objdump-19");
    let out = Command::new("llvm-objdump-19")
        // `+alu32` makes llvm print sub-word memory operands as `w` registers and decode the
        // 32-bit xchg/cmpxchg, as in the corpus listings.
        .args(["-d", "--mattr=+alu32"])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("running llvm-objdump-19 on {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "llvm-objdump-19 -d {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8(out.stdout).expect("utf-8 listing");
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file = object::File::parse(&*data).expect("ELF object");
    let endian = elf_endian(&file);
    let what = path.display().to_string();
    let n = compare_listing(&listing, endian, &what);

    let lines = parse_llvm_objdump(&listing);
    for (name, bytes) in exec_sections(&file) {
        if bytes.is_empty() {
            continue;
        }
        let insns = corebpf_insn::ebpf::decode_all(bytes, endian)
            .unwrap_or_else(|e| panic!("{what} section {name}: {e}"));
        let mut slots = Vec::new();
        let mut pc = 0;
        for i in &insns {
            slots.push(pc);
            pc += i.slots();
        }
        let listed: Vec<usize> = lines
            .iter()
            .filter(|l| l.section == name)
            .map(|l| l.slot)
            .collect();
        assert_eq!(
            listed, slots,
            "{what} section {name}: llvm lists other instruction starts than we decode"
        );
        assert_eq!(
            corebpf_insn::ebpf::encode_all(&insns, endian),
            bytes,
            "{what} section {name}: re-encoding differs"
        );
    }
    n
}
