//! Malformed BTF and BTF.ext: every case gives its named error, never a panic or a hang.

use corebpf_btf::{
    Btf, BtfError, BtfExt, ExtProblem, Kind, RefSite, TypeProblem, BTF_MAGIC, HEADER_LEN,
};

/// Kind/vlen/kind_flag packed into `info`.
fn info(kind: Kind, vlen: u32, kflag: bool) -> u32 {
    (u32::from(kflag) << 31) | (u32::from(kind as u8) << 24) | vlen
}

/// A little-endian BTF blob from raw type words and string bytes.
fn blob(types: &[u32], strs: &[u8]) -> Vec<u8> {
    let type_len = (types.len() * 4) as u32;
    let mut out = Vec::new();
    out.extend_from_slice(&BTF_MAGIC.to_le_bytes());
    out.extend_from_slice(&[1, 0]);
    for v in [HEADER_LEN, 0, type_len, type_len, strs.len() as u32] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for w in types {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.extend_from_slice(strs);
    out
}

const STRS: &[u8] = b"\0int\0foo\0a\0b\0c\0d\0";
// Offsets in STRS.
const INT: u32 = 1;
const FOO: u32 = 5;
const A: u32 = 9;

/// [1] INT 'int' size=4 bits=32 signed.
fn int_type() -> Vec<u32> {
    vec![INT, info(Kind::Int, 0, false), 4, (1 << 24) | 32]
}

/// [1] int, [2] STRUCT 'foo' with four int members, the last one referring to `last_ty`.
fn struct_blob(last_ty: u32, last_name: u32) -> Vec<u8> {
    let mut t = int_type();
    t.extend([FOO, info(Kind::Struct, 4, false), 16]);
    t.extend([A, 1, 0, A + 2, 1, 32, A + 4, 1, 64, last_name, last_ty, 96]);
    blob(&t, STRS)
}

fn type_problem(err: BtfError) -> (u32, &'static str, String, TypeProblem) {
    match err {
        BtfError::Type {
            id,
            kind,
            name,
            problem,
        } => (id, kind, name, problem),
        other => panic!("expected a type error, got {other:?}"),
    }
}

#[test]
fn a_valid_blob_parses() {
    let data = struct_blob(1, A + 6);
    let btf = Btf::parse(&data).expect("valid");
    assert_eq!(btf.len(), 3);
    assert_eq!(btf.size_of(2), Ok(16));
}

#[test]
fn truncated_header_at_every_boundary() {
    let data = struct_blob(1, A + 6);
    for n in 0..HEADER_LEN as usize {
        let err = Btf::parse(&data[..n]).expect_err("truncated header");
        assert!(
            matches!(err, BtfError::Truncated { offset: 0, have, .. } if have == n),
            "{n} bytes: {err:?}"
        );
    }
}

#[test]
fn truncated_blob_at_every_length_is_an_error() {
    let data = struct_blob(1, A + 6);
    for n in HEADER_LEN as usize..data.len() {
        let err = Btf::parse(&data[..n]).expect_err("truncated sections");
        assert!(
            matches!(err, BtfError::SectionOutOfBounds { .. }),
            "{n} bytes: {err:?}"
        );
    }
}

#[test]
fn bad_magic() {
    let mut data = struct_blob(1, A + 6);
    data[0] = 0x12;
    data[1] = 0x34;
    assert_eq!(
        Btf::parse(&data).unwrap_err(),
        BtfError::BadMagic {
            what: "BTF header",
            found: 0x3412
        }
    );
}

#[test]
fn bad_version() {
    let mut data = struct_blob(1, A + 6);
    data[2] = 2;
    assert!(matches!(
        Btf::parse(&data),
        Err(BtfError::BadVersion { found: 2, .. })
    ));
}

#[test]
fn bad_hdr_len() {
    for hdr_len in [0u32, 8, 23, 10_000] {
        let mut data = struct_blob(1, A + 6);
        data[4..8].copy_from_slice(&hdr_len.to_le_bytes());
        let err = Btf::parse(&data).unwrap_err();
        assert!(
            matches!(err, BtfError::BadHeaderLen { hdr_len: h, min: 24, .. } if h == hdr_len),
            "{hdr_len}: {err:?}"
        );
    }
}

#[test]
fn misaligned_and_overlapping_sections() {
    let mut data = struct_blob(1, A + 6);
    // type_off = 2
    data[8..12].copy_from_slice(&2u32.to_le_bytes());
    data[12..16].copy_from_slice(&4u32.to_le_bytes());
    assert!(matches!(
        Btf::parse(&data),
        Err(BtfError::Misaligned {
            section: "type",
            off: 2,
            ..
        })
    ));
    let mut data = struct_blob(1, A + 6);
    // str_off = 0: strings overlap the types
    data[16..20].copy_from_slice(&0u32.to_le_bytes());
    assert!(matches!(
        Btf::parse(&data),
        Err(BtfError::SectionsOverlap { .. })
    ));
}

#[test]
fn string_section_problems() {
    let t = int_type();
    assert_eq!(
        Btf::parse(&blob(&t, b"\0int")).unwrap_err(),
        BtfError::BadStringSection {
            problem: "not NUL-terminated"
        }
    );
    assert_eq!(
        Btf::parse(&blob(&t, b"xint\0")).unwrap_err(),
        BtfError::BadStringSection {
            problem: "first string is not empty"
        }
    );
    assert_eq!(
        Btf::parse(&blob(&t, b"")).unwrap_err(),
        BtfError::BadStringSection { problem: "empty" }
    );
}

#[test]
fn type_name_offset_out_of_range() {
    let mut t = int_type();
    t[0] = 5000;
    let (id, kind, _, problem) = type_problem(Btf::parse(&blob(&t, STRS)).unwrap_err());
    assert_eq!((id, kind), (1, "INT"));
    assert!(matches!(
        problem,
        TypeProblem::BadName {
            site: RefSite::This,
            off: 5000,
            ..
        }
    ));
}

#[test]
fn member_name_offset_out_of_range() {
    let err = Btf::parse(&struct_blob(1, 7777)).unwrap_err();
    let msg = err.to_string();
    let (id, kind, name, problem) = type_problem(err);
    assert_eq!((id, kind, name.as_str()), (2, "STRUCT", "foo"));
    assert!(
        matches!(
            problem,
            TypeProblem::BadName {
                site: RefSite::Member(3),
                off: 7777,
                ..
            }
        ),
        "{problem:?}"
    );
    assert!(msg.contains("member 3 name offset 7777"), "{msg}");
}

#[test]
fn non_utf8_name() {
    let mut strs = STRS.to_vec();
    strs.extend_from_slice(b"\xff\xfe\0");
    let mut t = int_type();
    t[0] = STRS.len() as u32;
    let (_, _, _, problem) = type_problem(Btf::parse(&blob(&t, &strs)).unwrap_err());
    assert!(
        matches!(problem, TypeProblem::BadName { .. }),
        "{problem:?}"
    );
}

#[test]
fn member_type_id_out_of_range() {
    let err = Btf::parse(&struct_blob(99999, A + 6)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "type [2] STRUCT 'foo': member 3 refers to type 99999 (only 3 types)"
    );
    let (_, _, _, problem) = type_problem(err);
    assert_eq!(
        problem,
        TypeProblem::RefOutOfRange {
            site: RefSite::Member(3),
            target: 99999,
            len: 3
        }
    );
}

#[test]
fn reference_loops_terminate() {
    // [1] TYPEDEF a -> 2, [2] CONST -> 1, [3] ARRAY of itself, [4] STRUCT containing itself.
    let t = vec![
        A,
        info(Kind::Typedef, 0, false),
        2,
        0,
        info(Kind::Const, 0, false),
        1,
        0,
        info(Kind::Array, 0, false),
        0,
        3,
        3,
        4,
        FOO,
        info(Kind::Struct, 1, false),
        8,
        A,
        4,
        0,
    ];
    let data = blob(&t, STRS);
    let btf = Btf::parse(&data).expect("loops are legal to parse, caught by walks");
    for id in [1, 2] {
        let (_, _, _, p) = type_problem(btf.skip_mods_and_typedefs(id).unwrap_err());
        assert_eq!(p, TypeProblem::Loop, "skip_mods {id}");
        let (_, _, _, p) = type_problem(btf.size_of(id).unwrap_err());
        assert_eq!(p, TypeProblem::Loop, "size_of {id}");
    }
    let (_, _, _, p) = type_problem(btf.size_of(3).unwrap_err());
    assert!(
        matches!(p, TypeProblem::Loop | TypeProblem::SizeOverflow),
        "{p:?}"
    );
    let (_, _, _, p) = type_problem(btf.align_of(4).unwrap_err());
    assert_eq!(p, TypeProblem::TooDeep);
    let mut sink = Vec::new();
    corebpf_btf::dump_raw(&btf, &mut sink).expect("dumping never follows references");
}

#[test]
fn huge_vlen_with_tiny_section() {
    let t = vec![FOO, info(Kind::Struct, 0xffff, false), 4, A, 0, 0];
    let err = Btf::parse(&blob(&t, STRS)).unwrap_err();
    assert_eq!(
        err,
        BtfError::TypeTruncated {
            id: 1,
            offset: 0,
            kind: "STRUCT",
            need: 12 + 12 * 0xffff,
            have: 24
        }
    );
}

#[test]
fn bad_kinds() {
    for k in [0u32, 20, 31] {
        let t = vec![A, k << 24, 0];
        assert_eq!(
            Btf::parse(&blob(&t, STRS)).unwrap_err(),
            BtfError::BadKind {
                id: 1,
                offset: 0,
                kind: k as u8
            }
        );
    }
}

#[test]
fn bad_int_and_linkage() {
    let t = vec![INT, info(Kind::Int, 0, false), 4, 200];
    let (_, _, _, p) = type_problem(Btf::parse(&blob(&t, STRS)).unwrap_err());
    assert!(matches!(p, TypeProblem::BadInt { bits: 200, .. }));
    let mut t = int_type();
    t.extend([
        0,
        info(Kind::FuncProto, 0, false),
        1,
        A,
        info(Kind::Func, 7, false),
        2,
    ]);
    let (id, kind, _, p) = type_problem(Btf::parse(&blob(&t, STRS)).unwrap_err());
    assert_eq!(
        (id, kind, p),
        (3, "FUNC", TypeProblem::BadLinkage { linkage: 7 })
    );
}

#[test]
fn type_id_out_of_range_query() {
    let data = struct_blob(1, A + 6);
    let btf = Btf::parse(&data).expect("valid");
    assert_eq!(
        btf.type_by_id(3).unwrap_err(),
        BtfError::IdOutOfRange { id: 3, len: 3 }
    );
    assert!(btf.str_at(10_000).is_err());
}

#[test]
fn lazy_parse_reports_type_errors_on_validate() {
    let data = struct_blob(99999, A + 6);
    // Before validation, a by-name search walks only as far as its match.
    let btf = Btf::parse_lazy(&data).expect("header and sections are fine");
    assert_eq!(btf.find_by_name_kind("foo", Kind::Struct), Some(2));
    assert_eq!(btf.find_by_name_kind("int", Kind::Int), Some(1));
    assert_eq!(btf.find_by_name_kind("foo", Kind::Union), None);
    // Validation then names the problem, and an invalid blob shows no types.
    let (_, _, _, p) = type_problem(btf.validate().unwrap_err());
    assert!(matches!(
        p,
        TypeProblem::RefOutOfRange { target: 99999, .. }
    ));
    assert!(btf.type_by_id(1).is_err());
    assert_eq!(btf.types().count(), 0);
    assert_eq!(btf.len(), btf.first_id());
    assert_eq!(btf.find_by_name_kind("foo", Kind::Struct), None);
}

// ---- BTF.ext ----

/// A BTF.ext blob with the given func_info, line_info and core_relo blocks.
fn ext_blob(func: &[u32], line: &[u32], core: &[u32]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut offs = Vec::new();
    for b in [func, line, core] {
        offs.push((body.len() as u32, (b.len() * 4) as u32));
        for w in b {
            body.extend_from_slice(&w.to_le_bytes());
        }
    }
    let mut out = Vec::new();
    out.extend_from_slice(&BTF_MAGIC.to_le_bytes());
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&32u32.to_le_bytes());
    for (o, l) in offs {
        out.extend_from_slice(&o.to_le_bytes());
        out.extend_from_slice(&l.to_le_bytes());
    }
    out.extend_from_slice(&body);
    out
}

fn ext_err(data: &[u8], btf: &Btf<'_>) -> (&'static str, ExtProblem) {
    match BtfExt::parse(data, btf) {
        Err(BtfError::Ext { section, problem }) => (section, problem),
        other => panic!("expected a BTF.ext error, got {other:?}"),
    }
}

#[test]
fn ext_valid_and_malformed() {
    let data = struct_blob(1, A + 6);
    let btf = Btf::parse(&data).expect("valid");
    // func_info: rec 8, section 'a' with 1 record; line_info: rec 16, 1 record;
    // core_relo: rec 16, one record (insn 8, type 2, access "a", kind 0).
    let func = [8, A, 1, 0, 2];
    let line = [16, A, 1, 0, FOO, A + 2, (7 << 10) | 3];
    let core = [16, A, 1, 8, 2, A + 4, 0];
    let good = ext_blob(&func, &line, &core);
    let ext = BtfExt::parse(&good, &btf).expect("valid BTF.ext");
    let fi: Vec<_> = ext
        .func_info()
        .flat_map(|(s, it)| it.map(move |r| (s, r)))
        .collect();
    assert_eq!(fi.len(), 1);
    assert_eq!(fi[0].0, "a");
    assert_eq!((fi[0].1.insn_off, fi[0].1.type_id), (0, 2));
    let li: Vec<_> = ext.line_info().flat_map(|(_, it)| it).collect();
    assert_eq!(
        (li[0].file_name, li[0].line, li[0].line_num, li[0].col),
        ("foo", "b", 7, 3)
    );
    let cr: Vec<_> = ext.core_relos().flat_map(|(_, it)| it).collect();
    assert_eq!(
        (cr[0].insn_off, cr[0].type_id, cr[0].access_str),
        (8, 2, "c")
    );

    // Record size below the known size.
    let (s, p) = ext_err(&ext_blob(&[4, A, 1, 0], &line, &core), &btf);
    assert_eq!(
        (s, p),
        (
            "func_info",
            ExtProblem::BadRecordSize {
                rec_size: 4,
                min: 8
            }
        )
    );
    // Larger records are allowed and the extra bytes skipped.
    let bigger = ext_blob(&[12, A, 1, 0, 2, 99], &line, &core);
    let ext = BtfExt::parse(&bigger, &btf).expect("ok");
    let fi: Vec<_> = ext.func_info().flat_map(|(_, it)| it).collect();
    assert_eq!((fi.len(), fi[0].type_id), (1, 2));
    // Section record count overflowing the block.
    let (s, p) = ext_err(&ext_blob(&[8, A, 0xffff_ffff, 0, 2], &line, &core), &btf);
    assert_eq!(s, "func_info");
    assert!(
        matches!(
            p,
            ExtProblem::RecordsOverflow {
                num_info: 0xffff_ffff,
                ..
            }
        ),
        "{p:?}"
    );
    // Empty section, bad section name, bad line string, bad CO-RE kind.
    let (_, p) = ext_err(&ext_blob(&[8, A, 0], &line, &core), &btf);
    assert_eq!(p, ExtProblem::EmptySection { sec_index: 0 });
    let (_, p) = ext_err(&ext_blob(&[8, 4000, 1, 0, 2], &line, &core), &btf);
    assert!(
        matches!(
            p,
            ExtProblem::BadString {
                off: 4000,
                record: None,
                ..
            }
        ),
        "{p:?}"
    );
    let (s, p) = ext_err(&ext_blob(&func, &[16, A, 1, 0, 9999, A, 0], &core), &btf);
    assert_eq!(s, "line_info");
    assert!(
        matches!(
            p,
            ExtProblem::BadString {
                off: 9999,
                record: Some(0),
                ..
            }
        ),
        "{p:?}"
    );
    let (s, p) = ext_err(&ext_blob(&func, &line, &[16, A, 1, 8, 2, A, 13]), &btf);
    assert_eq!(
        (s, p),
        (
            "core_relo",
            ExtProblem::BadCoreReloKind {
                sec_index: 0,
                record: 0,
                kind: 13
            }
        )
    );
    // A truncated section header.
    let (_, p) = ext_err(&ext_blob(&[8, A], &line, &core), &btf);
    assert!(matches!(p, ExtProblem::Truncated { need: 8, .. }), "{p:?}");
    // Truncated header at every boundary, and blocks past the end.
    for n in 0..24 {
        assert!(BtfExt::parse(&good[..n], &btf).is_err(), "{n}");
    }
    for n in 24..good.len() {
        assert!(BtfExt::parse(&good[..n], &btf).is_err(), "{n}");
    }
}
