//! The CO-RE engine on a real clang object (against this kernel's BTF and a foreign kernel's)
//! and on synthetic BTF pairs built with the BTF writer.

use std::io::Read;

use corebpf_btf::{Btf, BtfBuilder, BtfExt, CoreReloKind, IntEncoding, Kind, Member, TypeId};
use corebpf_obj::core_relo::{
    find_candidates, patch_insn, relocate, CoreError, ReloResult, POISON_HELPER,
};
use corebpf_testdata::{Cpu, Endian};
use object::{Object as _, ObjectSection as _};

struct Applied {
    kind: CoreReloKind,
    access: String,
    local_type: String,
    insn: usize,
    res: ReloResult,
}

fn core_fields_object() -> Vec<u8> {
    corebpf_testdata::objects()
        .iter()
        .find(|o| o.name == "core_fields" && o.cpu == Cpu::V3 && o.endian == Endian::Little)
        .expect("core_fields test object")
        .read()
        .expect("read core_fields object")
}

/// Relocates every CO-RE record of `core_fields` against `target`, patching a copy of the
/// program section; returns the results and the patched instructions.
fn relocate_all(target: &Btf<'_>) -> (Vec<Applied>, Vec<u8>, Vec<u8>) {
    let data = core_fields_object();
    let elf = object::File::parse(&*data).expect("ELF");
    let btf_bytes = elf
        .section_by_name(".BTF")
        .and_then(|s| s.data().ok())
        .expect(".BTF");
    let ext_bytes = elf
        .section_by_name(".BTF.ext")
        .and_then(|s| s.data().ok())
        .expect(".BTF.ext");
    let local = Btf::parse(btf_bytes).expect("local BTF");
    let ext = BtfExt::parse(ext_bytes, &local).expect("BTF.ext");
    let mut out = Vec::new();
    let mut original = Vec::new();
    let mut patched = Vec::new();
    for (sec, relos) in ext.core_relos() {
        let insns = elf
            .section_by_name(sec)
            .and_then(|s| s.data().ok())
            .expect("program section");
        original = insns.to_vec();
        patched = insns.to_vec();
        for r in relos {
            let cands = find_candidates(&local, r.type_id, &[target]).expect("candidates");
            let res = relocate(&local, r.type_id, r.access_str, r.kind, &cands, false)
                .unwrap_or_else(|e| panic!("{} {}: {e}", r.kind.name(), r.access_str));
            let insn = r.insn_off as usize / 8;
            patch_insn(&mut patched, insn, &res, false)
                .unwrap_or_else(|e| panic!("patch {} at {insn}: {e}", r.kind.name()));
            out.push(Applied {
                kind: r.kind,
                access: r.access_str.to_string(),
                local_type: local.type_by_id(r.type_id).expect("type").name.to_string(),
                insn,
                res,
            });
        }
    }
    (out, original, patched)
}

fn find<'x>(applied: &'x [Applied], kind: CoreReloKind, local_type: &str) -> Vec<&'x Applied> {
    applied
        .iter()
        .filter(|a| a.kind == kind && a.local_type == local_type)
        .collect()
}

/// Byte offset of `path` (named members, descending through anonymous ones) in struct `root`.
fn member_bits(btf: &Btf<'_>, root: &str, member: &str) -> (u64, u32) {
    fn walk(btf: &Btf<'_>, id: TypeId, member: &str) -> Option<(u64, u32)> {
        let t = btf.type_by_id(btf.skip_mods_and_typedefs(id).ok()?).ok()?;
        for m in t.members()?.iter() {
            if m.name == member {
                return Some((u64::from(m.bit_offset), m.bitfield_size));
            }
            if m.name.is_empty() {
                if let Some((off, sz)) = walk(btf, m.ty, member) {
                    return Some((u64::from(m.bit_offset) + off, sz));
                }
            }
        }
        None
    }
    let id = btf
        .find_by_name_kind(root, Kind::Struct)
        .expect("root struct");
    walk(btf, id, member).unwrap_or_else(|| panic!("{root}.{member} not found"))
}

fn vmlinux() -> Vec<u8> {
    std::fs::read("/sys/kernel/btf/vmlinux").expect("/sys/kernel/btf/vmlinux")
}

fn foreign() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpora/btf/vmlinux.btf.gz"
    );
    let gz = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut raw)
        .expect("gunzip");
    raw
}

#[test]
fn against_the_btf_it_was_compiled_for_nothing_moves() {
    let bytes = vmlinux();
    let target = Btf::parse(&bytes).expect("vmlinux");
    let (applied, original, patched) = relocate_all(&target);
    assert!(applied.len() > 20, "only {} relocations", applied.len());
    for a in &applied {
        let stays = match (a.kind, a.local_type.as_str()) {
            // The flavor for older kernels: its field is absent here.
            (CoreReloKind::FieldByteOffset, "task_struct___old") => false,
            (CoreReloKind::FieldExists, "task_struct___old") => false,
            (CoreReloKind::TypeExists, "corebpf_missing_type") => false,
            // Type matching is strict about integer names: the object spells `unsigned long`,
            // the kernel `long unsigned int`.
            (CoreReloKind::TypeMatches, _) => false,
            _ => true,
        };
        if stays {
            assert!(!a.res.poison, "{} {} poisoned", a.kind.name(), a.access);
            assert_eq!(
                a.res.new_val,
                a.res.orig_val,
                "{} {} on {}",
                a.kind.name(),
                a.access,
                a.local_type
            );
        }
    }
    let old = find(&applied, CoreReloKind::FieldByteOffset, "task_struct___old");
    assert_eq!(old.len(), 1);
    assert!(old[0].res.poison);
    let at = old[0].insn * 8;
    assert_eq!(patched[at], 0x85, "poisoned into a call");
    assert_eq!(
        i32::from_le_bytes(patched[at + 4..at + 8].try_into().expect("imm")),
        POISON_HELPER
    );
    assert_eq!(
        find(&applied, CoreReloKind::FieldExists, "task_struct___old")[0]
            .res
            .new_val,
        0
    );
    assert_eq!(
        find(&applied, CoreReloKind::TypeExists, "corebpf_missing_type")[0]
            .res
            .new_val,
        0
    );
    // Only the relocated instructions changed.
    let touched: std::collections::BTreeSet<usize> = applied.iter().map(|a| a.insn).collect();
    for i in 0..original.len() / 8 {
        if !touched.contains(&i) {
            assert_eq!(
                original[i * 8..i * 8 + 8],
                patched[i * 8..i * 8 + 8],
                "insn {i} changed"
            );
        }
    }
}

#[test]
fn against_a_foreign_kernel_offsets_follow_its_btf() {
    let bytes = foreign();
    let target = Btf::parse(&bytes).expect("foreign BTF");
    let (applied, _, patched) = relocate_all(&target);
    let offset_of = |ty: &str, field: &str| member_bits(&target, ty, field).0 / 8;
    let tgid = applied
        .iter()
        .find(|a| {
            a.kind == CoreReloKind::FieldByteOffset
                && a.res.target.as_deref().is_some_and(|t| t.contains(".tgid"))
        })
        .expect("tgid offset relocation");
    assert_eq!(tgid.res.new_val, offset_of("task_struct", "tgid"));
    let at = tgid.insn * 8;
    let class = patched[at] & 7;
    let got = if class == 1 || class == 2 || class == 3 {
        i16::from_le_bytes([patched[at + 2], patched[at + 3]]) as u64
    } else {
        i32::from_le_bytes(patched[at + 4..at + 8].try_into().expect("imm")) as u64
    };
    assert_eq!(
        got, tgid.res.new_val,
        "patched instruction carries the new offset"
    );

    let size = find(&applied, CoreReloKind::TypeSize, "task_struct");
    let ts = target
        .find_by_name_kind("task_struct", Kind::Struct)
        .expect("task_struct");
    assert_eq!(size[0].res.new_val, target.size_of(ts).expect("size"));

    // The `frozen` bitfield: recompute the loader's load window from the target's layout.
    let (bit_off, bit_sz) = member_bits(&target, "task_struct", "frozen");
    assert!(bit_sz > 0);
    let mut byte_sz = 4u64;
    let mut byte_off = bit_off / 8 / byte_sz * byte_sz;
    while bit_off + u64::from(bit_sz) - byte_off * 8 > byte_sz * 8 {
        byte_sz *= 2;
        byte_off = bit_off / 8 / byte_sz * byte_sz;
    }
    let frozen = |k| {
        applied
            .iter()
            .find(|a| {
                a.kind == k
                    && a.res
                        .target
                        .as_deref()
                        .is_some_and(|t| t.contains(".frozen"))
            })
            .map(|a| a.res.new_val)
            .expect("frozen relocation")
    };
    assert_eq!(frozen(CoreReloKind::FieldByteOffset), byte_off);
    assert_eq!(frozen(CoreReloKind::FieldByteSize), byte_sz);
    assert_eq!(
        frozen(CoreReloKind::FieldLshiftU64),
        64 - (bit_off + u64::from(bit_sz) - byte_off * 8)
    );
    assert_eq!(frozen(CoreReloKind::FieldRshiftU64), 64 - u64::from(bit_sz));

    let ringbuf = find(&applied, CoreReloKind::EnumvalValue, "bpf_map_type");
    assert_eq!(ringbuf[0].res.new_val, 27);
}

// ---- synthetic BTF pairs ----

struct Pair {
    local: Vec<u8>,
    target: Vec<u8>,
}

fn int(b: &mut BtfBuilder, name: &str, size: u32, signed: bool) -> TypeId {
    let enc = IntEncoding(if signed { 1 } else { 0 });
    b.add_int(name, size, enc, 0, (size * 8) as u8)
        .expect("int")
}

fn m(name: &str, ty: TypeId, bit_offset: u32) -> Member<'_> {
    Member {
        name,
        ty,
        bit_offset,
        bitfield_size: 0,
    }
}

fn bf(name: &str, ty: TypeId, bit_offset: u32, bits: u32) -> Member<'_> {
    Member {
        name,
        ty,
        bit_offset,
        bitfield_size: bits,
    }
}

/// Local `struct s { int a; int b; unsigned int c:3; long d; }` (ids: int=1, uint=2, long=3, s=4).
fn local_s() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let i = int(&mut b, "int", 4, true);
    let u = int(&mut b, "unsigned int", 4, false);
    let l = int(&mut b, "long", 8, true);
    b.add_struct(
        false,
        "s",
        24,
        &[
            m("a", i, 0),
            m("b", i, 32),
            bf("c", u, 64, 3),
            m("d", l, 128),
        ],
    )
    .expect("s");
    b.finish().expect("local")
}

fn run(pair: &Pair, kind: CoreReloKind, root: &str, access: &str) -> Result<ReloResult, CoreError> {
    let local = Btf::parse(&pair.local).expect("local");
    let target = Btf::parse(&pair.target).expect("target");
    let id = local.find_by_name(root).next().expect("root type");
    let cands = find_candidates(&local, id, &[&target])?;
    relocate(&local, id, access, kind, &cands, false)
}

#[test]
fn field_moved_vanished_and_bitfield_shifted() {
    let mut b = BtfBuilder::new();
    let i = int(&mut b, "int", 4, true);
    let u = int(&mut b, "unsigned int", 4, false);
    let l = int(&mut b, "long", 8, true);
    // b moved to 96, a vanished, c shifted to bit 37 of the second word, d moved.
    b.add_struct(
        false,
        "s",
        40,
        &[
            m("x", i, 0),
            bf("c", u, 69, 3),
            m("b", i, 96),
            m("d", l, 256),
        ],
    )
    .expect("s");
    let pair = Pair {
        local: local_s(),
        target: b.finish().expect("target"),
    };
    let r = run(&pair, CoreReloKind::FieldByteOffset, "s", "0:1").expect("b");
    assert_eq!((r.orig_val, r.new_val, r.poison), (4, 12, false));
    let r = run(&pair, CoreReloKind::FieldByteOffset, "s", "0:0").expect("a");
    assert!(r.poison, "a vanished: {r:?}");
    assert_eq!(
        run(&pair, CoreReloKind::FieldExists, "s", "0:0")
            .expect("a exists")
            .new_val,
        0
    );
    assert_eq!(
        run(&pair, CoreReloKind::FieldExists, "s", "0:1")
            .expect("b exists")
            .new_val,
        1
    );
    let r = run(&pair, CoreReloKind::FieldByteOffset, "s", "0:2").expect("c off");
    assert_eq!(r.new_val, 8);
    assert_eq!(
        run(&pair, CoreReloKind::FieldLshiftU64, "s", "0:2")
            .expect("c lshift")
            .new_val,
        64 - (69 + 3 - 64)
    );
    assert_eq!(
        run(&pair, CoreReloKind::FieldRshiftU64, "s", "0:2")
            .expect("c rshift")
            .new_val,
        61
    );
    assert_eq!(
        run(&pair, CoreReloKind::FieldSigned, "s", "0:2")
            .expect("c signed")
            .new_val,
        0
    );
    assert_eq!(
        run(&pair, CoreReloKind::FieldByteOffset, "s", "0:3")
            .expect("d")
            .new_val,
        32
    );
    assert_eq!(
        run(&pair, CoreReloKind::TypeSize, "s", "0")
            .expect("size")
            .new_val,
        40
    );
}

#[test]
fn big_endian_bitfield_shift() {
    let mut b = BtfBuilder::new();
    let u = int(&mut b, "unsigned int", 4, false);
    b.add_struct(false, "s", 8, &[bf("c", u, 37, 3)])
        .expect("s");
    let target_bytes = b.finish().expect("target");
    let mut lb = BtfBuilder::new();
    let lu = int(&mut lb, "unsigned int", 4, false);
    lb.add_struct(false, "s", 8, &[bf("c", lu, 5, 3)])
        .expect("s");
    let local_bytes = lb.finish().expect("local");
    let local = Btf::parse(&local_bytes).expect("local");
    let target = Btf::parse(&target_bytes).expect("target");
    let cands = find_candidates(&local, 2, &[&target]).expect("cands");
    let le = relocate(
        &local,
        2,
        "0:0",
        CoreReloKind::FieldLshiftU64,
        &cands,
        false,
    )
    .expect("le");
    let be = relocate(&local, 2, "0:0", CoreReloKind::FieldLshiftU64, &cands, true).expect("be");
    // Load window: 4 bytes at offset 4; the field starts 5 bits into it.
    assert_eq!(le.new_val, 64 - (37 + 3 - 32));
    assert_eq!(be.new_val, (8 - 4) * 8 + (37 - 32));
}

#[test]
fn enum_values_flavors_and_ambiguity() {
    let mut lb = BtfBuilder::new();
    lb.add_enum("e", 4, false, &[("A", 0), ("B", 1), ("C___new", 2)])
        .expect("local e");
    let mut tb = BtfBuilder::new();
    tb.add_enum("e", 4, false, &[("B", 7), ("A", 9)])
        .expect("target e");
    let pair = Pair {
        local: lb.finish().expect("local"),
        target: tb.finish().expect("target"),
    };
    assert_eq!(
        run(&pair, CoreReloKind::EnumvalValue, "e", "1")
            .expect("B")
            .new_val,
        7
    );
    assert_eq!(
        run(&pair, CoreReloKind::EnumvalExists, "e", "2")
            .expect("C")
            .new_val,
        0
    );
    assert!(
        run(&pair, CoreReloKind::EnumvalValue, "e", "2")
            .expect("C value")
            .poison
    );

    // A flavored local type finds the plain target; two targets disagreeing is an error.
    let mut lb = BtfBuilder::new();
    let i = int(&mut lb, "int", 4, true);
    lb.add_struct(false, "s___v2", 8, &[m("a", i, 0), m("b", i, 32)])
        .expect("s___v2");
    let mut tb = BtfBuilder::new();
    let ti = int(&mut tb, "int", 4, true);
    tb.add_struct(false, "s", 8, &[m("b", ti, 0)]).expect("s");
    tb.add_struct(false, "s___x", 8, &[m("b", ti, 32)])
        .expect("s___x");
    let pair = Pair {
        local: lb.finish().expect("local"),
        target: tb.finish().expect("target"),
    };
    let err = run(&pair, CoreReloKind::FieldByteOffset, "s___v2", "0:1").expect_err("ambiguous");
    assert!(matches!(err, CoreError::Ambiguous { .. }), "{err}");
    assert!(err.to_string().contains("candidates disagree"), "{err}");
    // Both candidates lack `a`: no match at all, so the access is poisoned.
    assert!(
        run(&pair, CoreReloKind::FieldByteOffset, "s___v2", "0:0")
            .expect("a")
            .poison
    );
}

#[test]
fn anonymous_members_arrays_and_width_changes() {
    // local: struct s { union { int a; }; int arr[4]; unsigned int w; int sw; }
    let mut lb = BtfBuilder::new();
    let i = int(&mut lb, "int", 4, true);
    let u = int(&mut lb, "unsigned int", 4, false);
    let anon = lb.add_struct(true, "", 4, &[m("a", i, 0)]).expect("anon");
    let arr = lb.add_array(i, i, 4).expect("arr");
    lb.add_struct(
        false,
        "s",
        32,
        &[
            m("", anon, 0),
            m("arr", arr, 32),
            m("w", u, 160),
            m("sw", i, 192),
        ],
    )
    .expect("s");
    // target: a inside a nested anonymous struct at 64; arr of 2 at 128; w and sw 8 bytes wide.
    let mut tb = BtfBuilder::new();
    let ti = int(&mut tb, "int", 4, true);
    let tl = int(&mut tb, "long", 8, true);
    let tu = int(&mut tb, "unsigned long", 8, false);
    let inner = tb
        .add_struct(false, "", 4, &[m("a", ti, 0)])
        .expect("inner");
    let tarr = tb.add_array(ti, ti, 2).expect("arr");
    tb.add_struct(
        false,
        "s",
        48,
        &[
            m("", inner, 64),
            m("arr", tarr, 128),
            m("w", tu, 256),
            m("sw", tl, 320),
        ],
    )
    .expect("s");
    let pair = Pair {
        local: lb.finish().expect("local"),
        target: tb.finish().expect("target"),
    };
    assert_eq!(
        run(&pair, CoreReloKind::FieldByteOffset, "s", "0:0:0")
            .expect("a")
            .new_val,
        8
    );
    assert_eq!(
        run(&pair, CoreReloKind::FieldByteOffset, "s", "0:1:1")
            .expect("arr[1]")
            .new_val,
        20
    );
    // arr[3] is past the target's two elements.
    assert!(
        run(&pair, CoreReloKind::FieldByteOffset, "s", "0:1:3")
            .expect("arr[3]")
            .poison
    );

    // Unsigned field widened: offset patched and the load widened to 8 bytes.
    let w = run(&pair, CoreReloKind::FieldByteOffset, "s", "0:2").expect("w");
    assert_eq!(
        (w.new_val, w.orig_sz, w.new_sz, w.fail_memsz_adjust),
        (32, 4, 8, false)
    );
    let mut insn = vec![0x61, 0x21, 20, 0, 0, 0, 0, 0]; // r1 = *(u32 *)(r2 +20)
    patch_insn(&mut insn, 0, &w, false).expect("patch w");
    assert_eq!(
        insn,
        vec![0x79, 0x21, 32, 0, 0, 0, 0, 0],
        "r1 = *(u64 *)(r2 +32)"
    );
    // Signed field widened: reading it at another width is wrong, so the load is poisoned.
    let sw = run(&pair, CoreReloKind::FieldByteOffset, "s", "0:3").expect("sw");
    assert!(sw.fail_memsz_adjust);
    let mut insn = vec![0x61, 0x21, 24, 0, 0, 0, 0, 0];
    patch_insn(&mut insn, 0, &sw, false).expect("patch sw");
    assert_eq!(insn[0], 0x85);
}

#[test]
fn type_relocations() {
    let mut lb = BtfBuilder::new();
    let i = int(&mut lb, "int", 4, true);
    let s = lb.add_struct(false, "s", 4, &[m("a", i, 0)]).expect("s");
    lb.add_ref(Kind::Ptr, "", s).expect("ptr");
    lb.add_struct(false, "gone", 4, &[m("a", i, 0)])
        .expect("gone");
    let mut tb = BtfBuilder::new();
    let ti = int(&mut tb, "int", 4, true);
    tb.add_struct(false, "other", 4, &[m("z", ti, 0)])
        .expect("other");
    tb.add_struct(false, "s", 16, &[m("b", ti, 0), m("a", ti, 64)])
        .expect("s");
    let pair = Pair {
        local: lb.finish().expect("local"),
        target: tb.finish().expect("target"),
    };
    assert_eq!(
        run(&pair, CoreReloKind::TargetTypeId, "s", "0")
            .expect("id")
            .new_val,
        3
    );
    assert_eq!(
        run(&pair, CoreReloKind::LocalTypeId, "s", "0")
            .expect("local id")
            .new_val,
        2
    );
    assert_eq!(
        run(&pair, CoreReloKind::TypeExists, "s", "0")
            .expect("exists")
            .new_val,
        1
    );
    assert_eq!(
        run(&pair, CoreReloKind::TypeSize, "s", "0")
            .expect("size")
            .new_val,
        16
    );
    assert_eq!(
        run(&pair, CoreReloKind::TypeMatches, "s", "0")
            .expect("matches")
            .new_val,
        1
    );
    assert_eq!(
        run(&pair, CoreReloKind::TypeExists, "gone", "0")
            .expect("gone")
            .new_val,
        0
    );
    assert_eq!(
        run(&pair, CoreReloKind::TargetTypeId, "gone", "0")
            .expect("gone id")
            .new_val,
        0
    );
    let err =
        run(&pair, CoreReloKind::TypeSize, "s", "0:1").expect_err("type relocation with a path");
    assert!(
        err.to_string().contains("takes access string \"0\""),
        "{err}"
    );
}

#[test]
fn patching_checks_the_compiled_value_and_form() {
    let res = ReloResult {
        orig_val: 4,
        new_val: 12,
        validate: true,
        ..Default::default()
    };
    // ALU immediate.
    let mut alu = vec![0xb7, 0x01, 0, 0, 4, 0, 0, 0];
    patch_insn(&mut alu, 0, &res, false).expect("alu");
    assert_eq!(alu, vec![0xb7, 0x01, 0, 0, 12, 0, 0, 0]);
    // A mismatching compiled value is refused, naming the instruction.
    let mut wrong = vec![0xb7, 0x01, 0, 0, 5, 0, 0, 0];
    let err = patch_insn(&mut wrong, 0, &res, false).expect_err("mismatch");
    assert!(
        err.to_string()
            .starts_with("instruction #0: immediate is 5, expected 4"),
        "{err}"
    );
    // Big-endian load offset.
    let mut be = vec![0x61, 0x12, 0, 4, 0, 0, 0, 0];
    patch_insn(&mut be, 0, &res, true).expect("be");
    assert_eq!(be, vec![0x61, 0x12, 0, 12, 0, 0, 0, 0]);
    // 64-bit immediate carries the value across both halves.
    let big = ReloResult {
        orig_val: 1,
        new_val: 0x1_0000_0002,
        validate: true,
        ..Default::default()
    };
    let mut ld = vec![0x18, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    patch_insn(&mut ld, 0, &big, false).expect("ldimm64");
    assert_eq!(
        ld,
        vec![0x18, 0x01, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]
    );
    // Poisoning a 64-bit load covers both slots; a jump cannot carry a value.
    let poison = ReloResult {
        poison: true,
        ..Default::default()
    };
    let mut ld = vec![0x18, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    patch_insn(&mut ld, 0, &poison, false).expect("poison");
    assert_eq!((ld[0], ld[8]), (0x85, 0x85));
    let mut jmp = vec![0x05, 0, 1, 0, 0, 0, 0, 0];
    assert!(patch_insn(&mut jmp, 0, &res, false).is_err());
    assert!(patch_insn(&mut jmp, 3, &res, false)
        .expect_err("past end")
        .to_string()
        .contains("past the end"));
}

#[test]
fn malformed_access_strings_are_named() {
    let pair = Pair {
        local: local_s(),
        target: local_s(),
    };
    for (access, want) in [
        ("", "empty access string"),
        ("0:x", "\"x\" is not an index"),
        ("0:9", "member 9"),
        ("0:0:1", "has no members or elements"),
    ] {
        let err = run(&pair, CoreReloKind::FieldByteOffset, "s", access).expect_err(access);
        assert!(err.to_string().contains(want), "{access}: {err}");
    }
    let deep = vec!["0"; 70].join(":");
    let err = run(&pair, CoreReloKind::FieldByteOffset, "s", &deep).expect_err("too deep");
    assert!(err.to_string().contains("more than 64"), "{err}");
}
