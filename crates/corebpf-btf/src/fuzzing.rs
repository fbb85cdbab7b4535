//! Entry points shared by the fuzz targets (`fuzz/`) and the stable-toolchain fuzz tests:
//! parse arbitrary bytes and exercise every query. None of this may panic or hang on any
//! input; the only panics are assertions of properties that must hold for every valid blob.

use std::io;

use crate::{essential_name, Btf, BtfBuilder, BtfExt, Kind, TypeKind};

/// Types that get the expensive per-type queries (name lookups, candidate searches).
const DEEP_TYPES: usize = 256;

/// Splits `[u32 LE length][first part][second part]`.
pub fn split_input(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = data.split_first_chunk::<4>()?;
    let n = (u32::from_le_bytes(*len) as usize).min(rest.len());
    Some(rest.split_at(n))
}

/// Joins two parts in the [`split_input`] layout.
pub fn join_input(first: &[u8], second: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + first.len() + second.len());
    out.extend_from_slice(&(first.len() as u32).to_le_bytes());
    out.extend_from_slice(first);
    out.extend_from_slice(second);
    out
}

/// Parses `data` as BTF (eagerly and lazily) and walks everything.
pub fn exercise_btf(data: &[u8]) {
    if let Ok(btf) = Btf::parse(data) {
        walk(&btf);
        round_trip(&btf);
    }
    if let Ok(btf) = Btf::parse_lazy(data) {
        let _ = btf.find_by_name_kind("task_struct", Kind::Struct);
        let _ = btf.find_by_name_kind("int", Kind::Int);
        let eager_ok = btf.validate().is_ok();
        assert_eq!(
            eager_ok,
            Btf::parse(data).is_ok(),
            "lazy and eager parse disagree"
        );
        walk(&btf);
    }
}

/// Parses `[len][base][split]` as a base and split BTF on it, and walks both.
pub fn exercise_split(data: &[u8]) {
    let Some((base, split)) = split_input(data) else {
        return;
    };
    let Ok(base) = Btf::parse(base) else {
        return;
    };
    if let Ok(btf) = Btf::parse_split(split, &base) {
        assert_eq!(btf.first_id(), base.len());
        walk(&btf);
    }
}

/// Parses `[len][BTF][BTF.ext]` and walks every record.
pub fn exercise_ext(data: &[u8]) {
    let Some((btf_bytes, ext_bytes)) = split_input(data) else {
        return;
    };
    let fallback = minimal_btf();
    let btf = match Btf::parse(btf_bytes) {
        Ok(b) => b,
        Err(_) => match Btf::parse(&fallback) {
            Ok(b) => b,
            Err(_) => return,
        },
    };
    let Ok(ext) = BtfExt::parse(ext_bytes, &btf) else {
        return;
    };
    let _ = ext.header();
    let _ = ext.record_sizes();
    for (sec, recs) in ext.func_info() {
        let n = recs.len();
        assert_eq!(recs.count(), n, "func_info count in {sec}");
    }
    for (_, recs) in ext.line_info() {
        for r in recs {
            let _ = (r.file_name.len(), r.line.len(), r.line_num, r.col);
        }
    }
    for (_, recs) in ext.core_relos() {
        for r in recs {
            let _ = (r.kind.name(), r.kind.is_field(), r.access_str.len());
            let _ = btf.type_by_id(r.type_id);
        }
    }
}

/// A small valid BTF with a few strings, for BTF.ext inputs whose BTF part is broken.
fn minimal_btf() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    for s in ["int", ".text", "file.c", "line", "0:1", "prog"] {
        let _ = b.add_str(s);
    }
    let _ = b.add_int("int", 4, crate::IntEncoding(1), 0, 32);
    b.finish().unwrap_or_default()
}

/// Every query on every type (the expensive ones on the first [`DEEP_TYPES`]).
fn walk(btf: &Btf<'_>) {
    let _ = crate::dump_raw(btf, &mut io::sink());
    let len = btf.len();
    for (i, t) in btf.types().enumerate() {
        let _ = (
            t.kind_id(),
            t.kind_flag(),
            t.vlen(),
            t.target(),
            t.members(),
        );
        match t.kind {
            TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => {
                for m in members.iter() {
                    assert!(m.ty < len, "member type out of range after validation");
                }
                let _ = members.get(members.len());
            }
            TypeKind::Enum { values, .. } => {
                std::hint::black_box(values.iter().map(|v| v.name.len()).sum::<usize>());
            }
            TypeKind::Enum64 { values, .. } => {
                std::hint::black_box(values.iter().map(|v| v.value).max());
            }
            TypeKind::FuncProto { params, .. } => {
                for p in params.iter() {
                    assert!(p.ty < len, "parameter type out of range after validation");
                }
            }
            TypeKind::Datasec { vars, .. } => {
                for v in vars.iter() {
                    assert!(v.ty < len, "datasec variable out of range after validation");
                }
            }
            _ => {}
        }
        if let Some(target) = t.target() {
            assert!(
                btf.type_by_id(target).is_ok(),
                "reference out of range after validation"
            );
        }
        if i < DEEP_TYPES {
            let _ = btf.skip_mods_and_typedefs(t.id);
            let _ = btf.resolve(t.id);
            let _ = btf.size_of(t.id);
            let _ = btf.align_of(t.id);
            let _ = btf.raw_type_bytes(t.id);
            if !t.name.is_empty() {
                let ids: Vec<_> = btf.find_by_name(t.name).collect();
                assert!(ids.contains(&t.id), "find_by_name misses [{}]", t.id);
                let first = btf.find_by_name_kind(t.name, t.kind_id());
                assert!(first.is_some_and(|f| f <= t.id));
                let _ = btf.core_candidates(essential_name(t.name), t.kind_id());
            }
        }
    }
    let _ = btf.type_by_id(len);
    let _ = btf.str_at(btf.strings_end());
    let _ = btf.str_at(u32::MAX);
}

/// Re-emits a base BTF through the builder; the result must describe the same types
/// (names compared as strings: offsets may change).
fn round_trip(btf: &Btf<'_>) {
    if btf.base().is_some() {
        return;
    }
    let out = match BtfBuilder::from_btf(btf).and_then(|b| b.finish()) {
        Ok(o) => o,
        Err(e) => panic!("re-emitting valid BTF failed: {e}"),
    };
    let again = match Btf::parse(&out) {
        Ok(b) => b,
        Err(e) => panic!("re-emitted BTF does not parse: {e}"),
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let _ = crate::dump_raw(btf, &mut a);
    let _ = crate::dump_raw(&again, &mut b);
    // An empty name at a non-zero offset is re-emitted at offset 0 ("(anon)" in the dump).
    let norm = |d: &[u8]| String::from_utf8_lossy(d).replace("'(anon)'", "''");
    assert!(norm(&a) == norm(&b), "re-emitted BTF dumps differently");
}
