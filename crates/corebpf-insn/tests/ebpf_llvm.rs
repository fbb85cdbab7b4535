//! Differential tests of the eBPF decoder/encoder against llvm: byte-exact round trips over
//! every instruction llvm-mc-19 encodes, and semantic agreement with llvm-objdump-19's listings.

mod ebpf_util;

use corebpf_insn::ebpf::{decode_all, encode_all, Decoder, Endian, Insn};
use object::{Object, ObjectSection};

use ebpf_util::*;

/// The `.text` of a corpus object and its byte order.
fn text_of(rel: &str) -> (Vec<u8>, Endian) {
    let data = read_corpus(rel);
    let file = object::File::parse(&*data).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let text = file
        .section_by_name(".text")
        .unwrap_or_else(|| panic!("{rel}: no .text"));
    (text.data().expect(".text data").to_vec(), elf_endian(&file))
}

/// Number of instructions in the assembler source the objects were built from.
fn source_count() -> usize {
    let src = String::from_utf8(read_corpus("llvm-isa/isa_all.s")).unwrap();
    src.lines().filter(|l| !l.trim().is_empty()).count()
}

fn round_trip(rel: &str, expect: Endian) -> Vec<Insn> {
    let (text, endian) = text_of(rel);
    assert_eq!(endian, expect, "{rel}: byte order");
    assert!(!text.is_empty(), "{rel}: empty .text");
    let insns = decode_all(&text, endian).unwrap_or_else(|e| panic!("{rel}: {e}"));
    assert_eq!(
        encode_all(&insns, endian),
        text,
        "{rel}: re-encoding differs"
    );
    // The iterator agrees with decode_all and reports slot indices.
    let mut pc = 0;
    for ((slot, r), insn) in Decoder::new(&text, endian).zip(&insns) {
        assert_eq!(slot, pc);
        assert_eq!(r.as_ref(), Ok(insn));
        pc += insn.slots();
    }
    assert_eq!(pc * 8, text.len());
    insns
}

#[test]
fn isa_all_little_endian_round_trips() {
    let insns = round_trip("llvm-isa/isa_all.o", Endian::Little);
    assert_eq!(insns.len(), source_count());
}

#[test]
fn isa_all_big_endian_round_trips() {
    let le = round_trip("llvm-isa/isa_all.o", Endian::Little);
    let be = round_trip("llvm-isa/isa_all-eb.o", Endian::Big);
    assert_eq!(le, be, "the same source decodes to the same instructions");
}

#[test]
fn isa_all_matches_llvm_objdump_listing() {
    let listing = String::from_utf8(read_corpus("llvm-isa/isa_all.objdump.txt")).unwrap();
    let n = compare_listing(&listing, Endian::Little, "isa_all.o");
    assert_eq!(n, source_count());
}

#[test]
fn isa_all_eb_matches_llvm_objdump_listing() {
    let listing = String::from_utf8(read_corpus("llvm-isa/isa_all-eb.objdump.txt")).unwrap();
    let n = compare_listing(&listing, Endian::Big, "isa_all-eb.o");
    assert_eq!(n, source_count());
}

/// `--show-encoding` output: `<text>  # encoding: [0x..,..]` per instruction.
#[test]
fn isa_all_matches_llvm_mc_show_encoding() {
    let listing = String::from_utf8(read_corpus("llvm-isa/isa_all.show-encoding.txt")).unwrap();
    let mut n = 0;
    for line in listing.lines() {
        let Some((text, enc)) = line.split_once("# encoding: [") else {
            continue;
        };
        let bytes: Vec<u8> = enc
            .trim_end_matches(']')
            .split(',')
            .map(|b| u8::from_str_radix(b.trim().trim_start_matches("0x"), 16).unwrap())
            .collect();
        let (insn, len) = corebpf_insn::ebpf::decode(&bytes, Endian::Little)
            .unwrap_or_else(|e| panic!("`{}`: {e}", text.trim()));
        assert_eq!(len, bytes.len(), "`{}`", text.trim());
        let ours = llvm_syntax(&insn);
        // The assembler input uses `r` registers for sub-word memory operands and decimal
        // numbers; compare with registers folded to one spelling.
        let fold = |t: Vec<Tok>| -> Vec<Tok> {
            t.into_iter()
                .map(|t| match t {
                    Tok::Word(w)
                        if w.len() >= 2 && w.starts_with('w') && w[1..].parse::<u8>().is_ok() =>
                    {
                        Tok::Word(format!("r{}", &w[1..]))
                    }
                    other => other,
                })
                .collect()
        };
        let a = fold(tokens(&ours));
        let b = fold(tokens(text.trim()));
        assert!(
            same_tokens(&a, &b),
            "`{}` vs ours `{ours}` ({insn:?})",
            text.trim()
        );
        assert_eq!(insn.to_bytes(Endian::Little), bytes);
        n += 1;
    }
    assert_eq!(n, source_count());
}

#[test]
fn isa_all_objects_match_live_llvm_objdump() {
    let n = compare_object_with_llvm_objdump(&corpora().join("llvm-isa/isa_all.o"));
    assert_eq!(n, source_count());
    let n = compare_object_with_llvm_objdump(&corpora().join("llvm-isa/isa_all-eb.o"));
    assert_eq!(n, source_count());
}

/// Every object compiled from `tests/bpf` (cpu v3, v4, little- and big-endian) decodes,
/// re-encodes byte for byte and means what llvm-objdump-19 says it means.
#[test]
fn compiled_test_objects_match_llvm_objdump() {
    let objects = corebpf_testdata::objects();
    assert!(!objects.is_empty(), "corebpf-testdata compiled no objects");
    let mut total = 0;
    for o in objects {
        let n = compare_object_with_llvm_objdump(o.path());
        assert!(n > 0, "{}: no instructions compared", o.label());
        total += n;
    }
    assert!(total > 1000, "only {total} instructions compared");
}

/// The comparison is not vacuous: the normalizer keeps registers, operators and values apart.
#[test]
fn normalizer_distinguishes_meaning() {
    assert!(same_tokens(
        &tokens("r1 = *(u64 *)(r2 - 0x8)"),
        &tokens("r1 = *(u64 *)(r2 -8)")
    ));
    assert!(same_tokens(
        &tokens("if r1 == 0x5 goto +0x1 <.text+0x358>"),
        &tokens("if r1 == 5 goto +1")
    ));
    for (a, b) in [
        ("r1 += r2", "r1 += r3"),
        ("r1 += r2", "r1 -= r2"),
        ("w1 += w2", "r1 += r2"),
        ("r1 = *(u64 *)(r2 - 0x8)", "r1 = *(u64 *)(r2 + 0x8)"),
        ("r1 s>>= -0x7", "r1 s>>= 0x7"),
        ("goto +0x1", "goto +0x2"),
    ] {
        assert!(!same_tokens(&tokens(a), &tokens(b)), "{a} vs {b}");
    }
}
