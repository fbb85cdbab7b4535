//! Object BTF prepared for the kernel: the running kernel accepts it with every feature it
//! has and with every optional kind replaced (as for a kernel without them), and the DATASEC
//! sizes and offsets filled in agree with the ELF sections and symbols clang wrote.

use corebpf::btf::{Btf, TypeKind};
use corebpf::btf_fixup::{prepare, Layout};
use corebpf::obj::Object;
use corebpf_sys::probe::{btf_features, BtfFeatures};
use corebpf_testdata::{objects, Endian};

/// libbpf's `.kconfig` layout: by alignment (largest first), then size, then name.
fn kconfig_layout(btf: &Btf<'_>) -> (Vec<(String, u64)>, u64) {
    let Some(id) = btf.find_by_name_kind(".kconfig", corebpf::btf::Kind::Datasec) else {
        return (Vec::new(), 0);
    };
    let TypeKind::Datasec { vars, .. } = btf.type_by_id(id).expect("datasec").kind else {
        panic!("not a datasec");
    };
    let mut ext: Vec<(String, u64, u64)> = vars
        .iter()
        .map(|v| {
            let var = btf.type_by_id(v.ty).expect("var");
            let TypeKind::Var { ty, .. } = var.kind else {
                panic!("not a var")
            };
            (
                var.name.to_string(),
                btf.size_of(ty).expect("size"),
                btf.align_of(ty).expect("align"),
            )
        })
        .collect();
    ext.sort_by(|a, b| b.2.cmp(&a.2).then(a.1.cmp(&b.1)).then(a.0.cmp(&b.0)));
    let mut off: u64 = 0;
    let mut out = Vec::new();
    for (n, sz, al) in ext {
        off = off.next_multiple_of(al.max(1));
        out.push((n, off));
        off += sz;
    }
    (out, off)
}

fn prepared(obj: &Object<'_>, features: BtfFeatures) -> Vec<u8> {
    let btf = obj.btf.as_ref().expect("test objects carry BTF");
    let (kcfg, kcfg_size) = kconfig_layout(btf);
    let section_size = |s: &str| obj.sections.iter().find(|x| x.name == s).map(|x| x.size);
    let var_offset = |s: &str, v: &str| {
        let idx = obj.sections.iter().position(|x| x.name == s)?;
        obj.symbols
            .iter()
            .find(|y| y.section == Some(idx) && y.name == v)
            .map(|y| y.value)
    };
    let kconfig_offset = |v: &str| kcfg.iter().find(|(n, _)| n == v).map(|&(_, o)| o);
    let layout = Layout {
        section_size: &section_size,
        var_offset: &var_offset,
        kconfig_offset: &kconfig_offset,
        kconfig_size: kcfg_size,
    };
    prepare(btf, &layout, features).expect("prepare")
}

#[test]
fn this_kernel_has_every_btf_feature() {
    // Linux 6.18 knows every kind the probes ask about.
    assert_eq!(btf_features(), BtfFeatures::ALL);
}

#[test]
fn kernel_accepts_prepared_btf_of_every_test_object() {
    for t in objects().iter().filter(|t| t.endian == Endian::Little) {
        let bytes = t.read().expect("read object");
        let obj = Object::parse(&bytes).expect("parse");
        for features in [BtfFeatures::ALL, BtfFeatures::NONE] {
            let blob = prepared(&obj, features);
            if let Err(e) = corebpf_sys::bpf::btf_load(&blob) {
                panic!(
                    "{} with {features:?}: kernel refused: {e}\n{}",
                    t.label(),
                    e.log().unwrap_or("")
                );
            }
            let out = Btf::parse(&blob).expect("prepared BTF parses");
            let src = obj.btf.as_ref().expect("btf");
            assert_eq!(
                out.len(),
                src.len()
                    + u32::from(!src.types().any(|t| matches!(
                        t.kind,
                        TypeKind::Int {
                            size: 4,
                            bits: 32,
                            offset: 0,
                            ..
                        }
                    ))),
                "{}: type ids preserved",
                t.label()
            );
            for ty in out.types() {
                match ty.kind {
                    TypeKind::Datasec { size, vars } => {
                        assert!(
                            features.datasec,
                            "{}: DATASEC left for a kernel without it",
                            t.label()
                        );
                        if let Some(sec) = obj.sections.iter().find(|s| s.name == ty.name) {
                            assert_eq!(
                                u64::from(size),
                                sec.size,
                                "{} {}: size",
                                t.label(),
                                ty.name
                            );
                            let idx = sec.index;
                            for v in vars.iter() {
                                let var = out.type_by_id(v.ty).expect("var");
                                let sym = obj
                                    .symbols
                                    .iter()
                                    .find(|s| s.section == Some(idx) && s.name == var.name);
                                if let Some(sym) = sym {
                                    assert_eq!(
                                        u64::from(v.offset),
                                        sym.value,
                                        "{} {}: {}",
                                        t.label(),
                                        ty.name,
                                        var.name
                                    );
                                }
                            }
                        }
                    }
                    TypeKind::Var { .. }
                    | TypeKind::Func { .. }
                    | TypeKind::FuncProto { .. }
                    | TypeKind::Float { .. }
                    | TypeKind::DeclTag { .. }
                    | TypeKind::TypeTag { .. }
                    | TypeKind::Enum64 { .. } => {
                        assert!(
                            features != BtfFeatures::NONE,
                            "{}: [{}] {:?} kept for a kernel without it",
                            t.label(),
                            ty.id,
                            ty.kind_id()
                        );
                    }
                    _ => {}
                }
            }
        }
    }
}

#[test]
fn kernel_refuses_object_btf_as_clang_wrote_it() {
    // The fixup is needed: DATASECs of size 0 with every variable at offset 0, and extern
    // VARs/FUNCs, are refused as written.
    for name in ["globals", "kconfig_ksym"] {
        let bytes = corebpf_testdata::bytes(name, corebpf_testdata::Cpu::V3);
        let obj = Object::parse(&bytes).expect("parse");
        let raw = obj.btf_bytes.expect("btf");
        let e = corebpf_sys::bpf::btf_load(raw).expect_err("raw object BTF must be refused");
        assert_eq!(e.errno(), Some(libc::EINVAL), "{name}: {e}");
        let prepared = prepared(&obj, btf_features());
        corebpf_sys::bpf::btf_load(&prepared).expect("prepared BTF loads");
    }
}
