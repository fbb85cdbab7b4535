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
    eprintln!(
        "{total} instructions of {} objects agree with llvm-objdump-19",
        objects.len()
    );
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

/// A C program exercising cpu v4 instructions (signed division, sign-extending loads and moves,
/// byte swaps, atomics of both widths, bpf-to-bpf calls, loops), compiled here with clang-19
/// for both byte orders and compared with llvm-objdump-19.
const ISA_C: &str = r#"typedef unsigned long long u64; typedef long long s64; typedef unsigned int u32; typedef int s32;
typedef unsigned short u16; typedef short s16; typedef signed char s8; typedef unsigned char u8;
#define SEC(n) __attribute__((section(n), used))
u64 g64; u32 g32; s64 sg; s8 gs8; s16 gs16; s32 gs32;
static __attribute__((noinline)) s64 sub(s64 a, s64 b) { return a / b + a % b; }
SEC("socket") int prog(void *ctx) {
  s64 a = sg, b = (s64)g64 | 1;
  s32 c = gs32, d = (s32)g32 | 1;
  u64 r = 0;
  r += a / b; r += a % b; r += c / d; r += c % d;
  r += (u64)a / (u64)b; r += (u32)c % (u32)d;
  r += gs8; r += gs16; r += gs32;            /* sign-extending loads */
  r += (s8)a; r += (s16)c; r += (s32)a;       /* movsx */
  r += __builtin_bswap16((u16)a) + __builtin_bswap32((u32)a) + __builtin_bswap64(a);
  __sync_fetch_and_add(&g64, 3); __sync_fetch_and_or(&g64, 1); __sync_fetch_and_and(&g64, 7); __sync_fetch_and_xor(&g64, 5);
  r += __sync_fetch_and_add(&g32, 3); r += __sync_fetch_and_or(&g32, 4);
  r += __sync_lock_test_and_set(&g64, 9); r += __sync_val_compare_and_swap(&g64, 9, 10);
  r += __sync_val_compare_and_swap(&g32, 9, 10);
  r += __atomic_exchange_n(&g32, 4, __ATOMIC_SEQ_CST);
  r += sub(a, b);
  for (int i = 0; i < (int)(g32 & 15); i++) r = r * 31 + (r >> 7) - (r << 3) + (r ^ i);
  if ((s64)r < -5) r = -r;
  if ((u32)r > 77) r = r >> 3; else r = (s64)r >> 2;
  return (int)r;
}
char LICENSE[] SEC("license") = "GPL";
"#;

#[test]
fn clang_v4_program_matches_llvm_objdump() {
    require_tool("clang-19");
    let dir = std::env::temp_dir().join(format!("corebpf-insn-ebpf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let src = dir.join("isa.c");
    std::fs::write(&src, ISA_C).expect("write source");
    for target in ["bpfel", "bpfeb"] {
        let obj = dir.join(format!("isa-{target}.o"));
        let out = std::process::Command::new("clang-19")
            .args(["-O2", "-g", "-target", target, "-mcpu=v4", "-c"])
            .arg(&src)
            .arg("-o")
            .arg(&obj)
            .output()
            .expect("running clang-19");
        assert!(
            out.status.success(),
            "clang-19 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let n = compare_object_with_llvm_objdump(&obj);
        assert!(n > 50, "{target}: only {n} instructions");
    }
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
}

/// Instructions newer than the llvm-isa corpus (may_goto, address-space casts) and forms clang
/// rarely emits, assembled here with llvm-mc-19 for both byte orders.
const EXTRA_S: &str = "\
may_goto +1
gotol +2
r1 = addr_space_cast(r2, 0, 1)
r1 = addr_space_cast(r2, 1, 0)
r0 = *(u32 *)skb[r1]
r0 = *(u8 *)skb[7]
r1 = *(s32 *)(r10 - 8)
w1 = (s16)w9
r9 = bswap32 r9
r1 = -1 ll
call -1
exit
";

#[test]
fn llvm_mc_extra_instructions_match_llvm_objdump() {
    require_tool("llvm-mc-19");
    let dir = std::env::temp_dir().join(format!("corebpf-insn-ebpf-mc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let src = dir.join("extra.s");
    std::fs::write(&src, EXTRA_S).expect("write source");
    for triple in ["bpfel", "bpfeb"] {
        let obj = dir.join(format!("extra-{triple}.o"));
        let out = std::process::Command::new("llvm-mc-19")
            .args(["-triple", triple, "-mcpu=v4", "-filetype=obj"])
            .arg(&src)
            .arg("-o")
            .arg(&obj)
            .output()
            .expect("running llvm-mc-19");
        assert!(
            out.status.success(),
            "llvm-mc-19 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let n = compare_object_with_llvm_objdump(&obj);
        assert_eq!(n, EXTRA_S.lines().count(), "{triple}");
    }
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
}
