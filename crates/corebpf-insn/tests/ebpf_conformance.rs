//! The bpf_conformance suite (`shared/corpora/isa-conformance`): every positive case assembles,
//! its instructions encode and decode back identically and disassemble sanely; negative cases
//! that are assembler- or encoding-level errors are rejected with a clear message.

mod ebpf_util;

use std::path::{Path, PathBuf};

use corebpf_insn::ebpf::asm::{assemble, AsmErrorKind};
use corebpf_insn::ebpf::{decode_all, encode_all, DecodeErrorKind, Decoder, Endian, Field, Insn};

use ebpf_util::corpora;

/// The sections of a `.data` file.
#[derive(Default, Debug)]
struct Case {
    asm: Option<String>,
    raw: Option<Vec<u8>>,
    error: Option<String>,
    result: Option<String>,
    /// Section names that are not part of the format.
    unknown_sections: Vec<String>,
}

const KNOWN: [&str; 7] = [
    "asm",
    "mem",
    "result",
    "raw",
    "error",
    "c",
    "no register offset",
];

fn parse_case(text: &str) -> Case {
    let mut case = Case::default();
    let mut current: Option<String> = None;
    let mut body = String::new();
    let flush = |name: Option<String>, body: &mut String, case: &mut Case| {
        if let Some(name) = name {
            let b = std::mem::take(body);
            match name.as_str() {
                "asm" => case.asm = Some(b),
                "raw" => case.raw = Some(parse_raw(&b)),
                "error" => case.error = Some(b.trim().to_owned()),
                "result" => case.result = Some(b.trim().to_owned()),
                _ => {}
            }
        }
        body.clear();
    };
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("-- ") {
            flush(current.take(), &mut body, &mut case);
            let name = name.trim().to_owned();
            if !KNOWN.contains(&name.as_str()) {
                case.unknown_sections.push(name.clone());
            }
            current = Some(name);
        } else if current.is_some() {
            body.push_str(line);
            body.push('\n');
        }
    }
    flush(current, &mut body, &mut case);
    case
}

/// `-- raw` holds either byte lists (`07 00 01 00 ...`) or 64-bit little-endian words
/// (`0x5566778800000018`), one slot per line.
fn parse_raw(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(hex) = line.strip_prefix("0x") {
            let v = u64::from_str_radix(hex, 16).expect("raw word");
            out.extend_from_slice(&v.to_le_bytes());
        } else {
            for b in line.split_whitespace() {
                out.push(u8::from_str_radix(b, 16).expect("raw byte"));
            }
        }
    }
    out
}

fn data_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "data"))
        .collect();
    v.sort();
    v
}

/// Disassembly sanity: non-empty, no placeholder text, register names in range.
fn check_disassembly(name: &str, insns: &[Insn]) {
    for (i, insn) in insns.iter().enumerate() {
        let text = insn.to_string();
        assert!(!text.is_empty(), "{name}: insn {i} prints nothing");
        assert!(
            !text.contains("unknown") || insn.helper_id().is_some(),
            "{name}: insn {i} prints `{text}`"
        );
        if let Some(d) = insn.dst_reg() {
            assert!(text.contains(&d.index().to_string()), "{name}: `{text}`");
        }
    }
}

#[test]
fn positive_cases_assemble_and_round_trip() {
    let files = data_files(&corpora().join("isa-conformance/tests"));
    assert!(files.len() >= 300, "found only {} cases", files.len());
    let mut slots_total = 0;
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let case = parse_case(&std::fs::read_to_string(f).unwrap());
        let asm = case
            .asm
            .as_deref()
            .unwrap_or_else(|| panic!("{name}: no asm section"));
        let insns = assemble(asm).unwrap_or_else(|e| panic!("{name}: {e}"));
        check_disassembly(&name, &insns);
        for e in [Endian::Little, Endian::Big] {
            let bytes = encode_all(&insns, e);
            let back = decode_all(&bytes, e).unwrap_or_else(|err| panic!("{name}: {err}"));
            assert_eq!(back, insns, "{name}: decode(encode) differs ({e:?})");
            assert_eq!(encode_all(&back, e), bytes, "{name}: bytes differ");
            for insn in &insns {
                insn.validate()
                    .unwrap_or_else(|err| panic!("{name}: {insn:?}: {err}"));
            }
        }
        // Every jump lands inside the program, on an instruction start.
        let mut starts = Vec::new();
        let mut pc = 0usize;
        for insn in &insns {
            starts.push(pc);
            pc += insn.slots();
        }
        for (insn, &at) in insns.iter().zip(&starts) {
            for t in [insn.jump_target(at), insn.call_target(at)]
                .into_iter()
                .flatten()
            {
                let t = usize::try_from(t).unwrap_or_else(|_| panic!("{name}: target {t}"));
                assert!(starts.contains(&t), "{name}: `{insn}` at {at} targets {t}");
            }
        }
        slots_total += pc;
        // A `-- raw` section (positive cases carry one) must be exactly our encoding.
        if let Some(raw) = &case.raw {
            assert_eq!(
                &encode_all(&insns, Endian::Little),
                raw,
                "{name}: raw bytes"
            );
        }
        assert!(case.result.is_some(), "{name}: no result section");
    }
    assert!(slots_total > 2000, "{slots_total}");
}

/// How a negative case is expected to fail.
#[derive(Debug, PartialEq)]
enum Expect {
    /// The assembler rejects it with a message containing this text (lower-cased).
    Asm(&'static str),
    /// The raw bytes do not decode: a reserved field is set.
    Decode,
    /// The file has no program, or has an unknown section.
    Format,
    /// A runtime failure (wrong result, verifier rejection of a valid encoding): out of scope
    /// for an instruction codec; the program must still assemble.
    Runtime,
}

fn expectation(name: &str) -> Expect {
    match name {
        "empty.data" | "empty_instructions.data" | "invalid_unknown_directive.data" => {
            Expect::Format
        }
        // `or %r0, %r10` is a valid instruction; the suite expects the runtime to refuse it.
        "error.data" => Expect::Runtime,
        // A valid program whose listed result is deliberately wrong.
        "incorrect_return_value_high_bits.data" => Expect::Runtime,
        "invalid_imm32_dec_range.data" | "invalid_imm32_hex_range.data" => {
            Expect::Asm("out of 32-bit range")
        }
        "invalid_label.data" => Expect::Asm("invalid label"),
        "invalid_lock.data" | "invalid_lock2.data" => Expect::Asm("invalid number of operands"),
        "invalid_mnemonic.data" => Expect::Asm("invalid mnemonic"),
        "invalid_offset.data" => Expect::Asm("invalid memory operand"),
        "invalid_offset_range.data" => Expect::Asm("out of 16-bit range"),
        "invalid_operand_count.data" => Expect::Asm("invalid number of operands"),
        "invalid_register.data" => Expect::Asm("invalid register"),
        n if n.starts_with("unused-") => Expect::Decode,
        other => panic!("negative case {other} is not classified"),
    }
}

#[test]
fn negative_cases_are_rejected() {
    let files = data_files(&corpora().join("isa-conformance/negative"));
    assert!(
        files.len() >= 55,
        "found only {} negative cases",
        files.len()
    );
    let mut counts = [0usize; 4];
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let case = parse_case(&std::fs::read_to_string(f).unwrap());
        match expectation(&name) {
            Expect::Format => {
                counts[0] += 1;
                let no_program = case.raw.is_none()
                    && case.asm.as_deref().map_or(true, |a| {
                        matches!(
                            assemble(a),
                            Err(e) if e.kind == AsmErrorKind::Empty
                        )
                    });
                assert!(
                    no_program || !case.unknown_sections.is_empty(),
                    "{name}: expected a format error"
                );
            }
            Expect::Runtime => {
                counts[1] += 1;
                let asm = case.asm.as_deref().expect("asm section");
                assemble(asm).unwrap_or_else(|e| panic!("{name}: valid program rejected: {e}"));
            }
            Expect::Asm(msg) => {
                counts[2] += 1;
                let asm = case.asm.as_deref().expect("asm section");
                let err = assemble(asm).expect_err(&name);
                let text = err.to_string().to_lowercase();
                assert!(text.contains(msg), "{name}: message `{text}` lacks `{msg}`");
                assert!(text.starts_with("line "), "{name}: `{text}` names no line");
                // The suite's own expected message, when it states one, is matched loosely.
                if let Some(expected) = &case.error {
                    let first = expected
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_lowercase();
                    assert!(
                        text.contains(&first),
                        "{name}: `{text}` vs suite `{expected}`"
                    );
                }
            }
            Expect::Decode => {
                counts[3] += 1;
                let raw = case.raw.as_deref().expect("raw section");
                let mut it = Decoder::new(raw, Endian::Little);
                let (slot, first) = it.next().expect("one slot");
                assert_eq!(slot, 0);
                let err = first.expect_err(&name);
                assert_eq!(err.offset, 0, "{name}");
                // The file name says which field is set: unused-<insn>-<field>.data.
                let field = name
                    .trim_end_matches(".data")
                    .rsplit('-')
                    .next()
                    .unwrap_or_default();
                let field = match field {
                    "offset" => Field::Off,
                    "dst" => Field::Dst,
                    "src" => Field::Src,
                    "imm" => Field::Imm,
                    f => panic!("{name}: unexpected field {f}"),
                };
                // Either the field is unused (must be 0) or, for `off` of div/mod/mov, it
                // selects no variant.
                let named = match err.kind {
                    DecodeErrorKind::ReservedField { field: f, .. } => f == field,
                    DecodeErrorKind::InvalidOff { .. } => field == Field::Off,
                    _ => false,
                };
                assert!(named, "{name}: {:?}", err.kind);
                let text = err.to_string();
                assert!(text.contains(field.name()), "{name}: `{text}`");
                // The rest of the stream (an exit) still decodes.
                assert_eq!(it.next().map(|(_, r)| r), Some(Ok(Insn::Exit)), "{name}");
            }
        }
    }
    // Format, runtime, assembler, decoder.
    assert_eq!(counts, [3, 2, 10, 45], "classification counts");
}

#[test]
fn assembler_errors_are_specific() {
    let cases: [(&str, &str); 10] = [
        (
            "mov32 %r0, 2147483648\nexit",
            "line 1: `2147483648` is out of 32-bit range",
        ),
        ("exit\nmov %r11, 1", "line 2: invalid register `%r11`"),
        ("ja nowhere\nexit", "line 1: invalid label `nowhere`"),
        (
            "ldxb %r0, [%r1+0x10000]\nexit",
            "line 1: `+0x10000` is out of 16-bit range",
        ),
        (
            "lddw %r0\nexit",
            "line 1: invalid number of operands for `lddw`: expected 2, found 1",
        ),
        ("x:\nx:\nexit", "line 2: duplicate label `x`"),
        ("add %r0, 1x\nexit", "line 1: invalid number `1x`"),
        ("", "no instructions"),
        ("call weird 3\nexit", "line 1: invalid call mode `weird`"),
        (
            "stxw %r1, %r2\nexit",
            "line 1: invalid memory operand `%r1` (expected [%rN+off])",
        ),
    ];
    for (src, msg) in cases {
        let err = assemble(src).expect_err(src);
        assert_eq!(err.to_string(), msg, "{src:?}");
    }
}

proptest::proptest! {
    /// Arbitrary text never makes the assembler panic; errors name a line within the text.
    #[test]
    fn assembler_never_panics(text in "(\\PC{0,40}\n){0,6}") {
        if let Err(e) = assemble(&text) {
            let lines = text.lines().count();
            proptest::prop_assert!(e.line <= lines, "{e} for {lines} lines");
        }
    }

    /// Dialect-shaped lines with random operands: still no panic.
    #[test]
    fn assembler_handles_dialect_noise(
        m in proptest::sample::select(vec![
            "mov", "mov32", "add64", "lddw", "ldxb", "stxdw", "stw", "jne", "jeq32", "ja", "ja32",
            "call", "lock", "neg", "be16", "swap64", "movsx1664", "ldxsw", "exit",
        ]),
        ops in "[%r0-9xa-f\\[\\]+\\-, a-z]{0,30}",
    ) {
        let _ = assemble(&format!("{m} {ops}\nexit"));
    }
}
