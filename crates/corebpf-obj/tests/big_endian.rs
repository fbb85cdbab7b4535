//! Big-endian objects (`-target bpfeb`) link offline to the same program as their
//! little-endian builds (whose output is checked against libbpf in `libbpf_link.rs`): same
//! instructions field by field, same references, same BTF.ext records; only the byte order of
//! the encoding differs. Includes CO-RE (the oracle's edge-case program built both ways);
//! bitfield shift relocations are the one place where byte order changes values.

use std::path::{Path, PathBuf};
use std::process::Command;

use corebpf_btf::{Btf, CoreReloKind, Endian};
use corebpf_obj::link::{KernelConfig, Linked, Target};
use corebpf_obj::Object;
use corebpf_testdata::{find_big_endian, objects, Cpu};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// (code, dst, src, off, imm) of slot `i`, read by the instruction crate.
fn fields(b: &[u8], i: usize, e: Endian) -> (u8, u8, u8, i16, i32) {
    let e = match e {
        Endian::Little => corebpf_insn::ebpf::Endian::Little,
        Endian::Big => corebpf_insn::ebpf::Endian::Big,
    };
    let r = corebpf_insn::ebpf::RawInsn::read(&b[i * 8..], e).expect("a whole instruction slot");
    (r.code, r.dst, r.src, r.off, r.imm)
}

fn compare(what: &str, le: &Linked<'_>, be: &Linked<'_>) -> usize {
    assert_eq!(le.programs.len(), be.programs.len(), "{what}: programs");
    let mut n = 0;
    for (l, b) in le.programs.iter().zip(&be.programs) {
        let what = format!("{what} {}", l.name);
        assert_eq!((l.name, l.section), (b.name, b.section), "{what}");
        assert_eq!(l.insn_count(), b.insn_count(), "{what}: length");
        assert_eq!(l.functions, b.functions, "{what}: functions");
        assert_eq!(l.map_refs, b.map_refs, "{what}: map references");
        assert_eq!(l.btf_refs, b.btf_refs, "{what}: BTF references");
        assert_eq!(l.func_info, b.func_info, "{what}: func_info");
        assert_eq!(l.line_info.len(), b.line_info.len(), "{what}: line_info");
        for (x, y) in l.line_info.iter().zip(&b.line_info) {
            assert_eq!(
                (x.insn_off, x.line_col),
                (y.insn_off, y.line_col),
                "{what}: line_info"
            );
        }
        let shifts: Vec<usize> = l
            .core
            .iter()
            .filter(|r| {
                matches!(
                    r.kind,
                    CoreReloKind::FieldLshiftU64 | CoreReloKind::FieldRshiftU64
                )
            })
            .map(|r| r.insn)
            .collect();
        assert_eq!(l.core.len(), b.core.len(), "{what}: CO-RE relocations");
        for (x, y) in l.core.iter().zip(&b.core) {
            assert_eq!(
                (x.insn, x.kind, x.poisoned),
                (y.insn, y.kind, y.poisoned),
                "{what}"
            );
        }
        for i in 0..l.insn_count() {
            let (x, y) = (
                fields(&l.insns, i, Endian::Little),
                fields(&b.insns, i, Endian::Big),
            );
            if shifts.contains(&i) {
                assert_eq!(
                    (x.0, x.1, x.2, x.3),
                    (y.0, y.1, y.2, y.3),
                    "{what}: insn {i}"
                );
            } else {
                assert_eq!(x, y, "{what}: insn {i}");
            }
            n += 1;
        }
    }
    n
}

fn compile_edges(dir: &Path, target: &str) -> PathBuf {
    let src = Path::new(ROOT).join("tests/libbpf-oracle/core_edges.bpf.c");
    let path = dir.join(format!("core_edges.{target}.o"));
    let out = Command::new("clang-19")
        .args(["-target", target, "-g", "-O2", "-mcpu=v3", "-I"])
        .arg(format!("/usr/include/{}-linux-gnu", std::env::consts::ARCH))
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run clang-19 ({e}): install clang-19"));
    assert!(
        out.status.success(),
        "compiling {}: {}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

#[test]
fn big_endian_objects_link_like_their_little_endian_builds() {
    let kernel = std::fs::read("/sys/kernel/btf/vmlinux").expect("/sys/kernel/btf/vmlinux");
    let kernel = Btf::parse(&kernel).expect("kernel BTF");
    let mut config = KernelConfig::parse("CONFIG_BPF=y\n");
    config.kernel_version = (6 << 16) | (18 << 8);
    let target = Target {
        btfs: vec![&kernel],
        config,
        ksym_addr: None,
    };
    let mut pairs: Vec<(String, Vec<u8>, Vec<u8>)> = Vec::new();
    for o in objects() {
        let Some(be) = find_big_endian(o.name) else {
            continue;
        };
        if o.cpu != Cpu::V3 || o.endian != corebpf_testdata::Endian::Little {
            continue;
        }
        pairs.push((o.name.to_string(), o.read().unwrap(), be.read().unwrap()));
    }
    assert!(pairs.len() >= 3, "big-endian test objects: {}", pairs.len());
    let dir = std::env::temp_dir().join(format!("corebpf-obj-be-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let le = std::fs::read(compile_edges(&dir, "bpfel")).unwrap();
    let be = std::fs::read(compile_edges(&dir, "bpfeb")).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    pairs.push(("core_edges".into(), le, be));

    let mut total = 0;
    let mut core = 0;
    let mut compared = Vec::new();
    for (name, le, be) in &pairs {
        let lo = Object::parse(le).unwrap_or_else(|e| panic!("{name} (le): {e}"));
        let bo = Object::parse(be).unwrap_or_else(|e| panic!("{name} (be): {e}"));
        assert_eq!((lo.endian, bo.endian), (Endian::Little, Endian::Big));
        let mut shift_slots = Vec::new();
        if let Some(ext) = lo.btf_ext().expect("BTF.ext") {
            for (sec, relos) in ext.core_relos() {
                for r in relos {
                    if matches!(
                        r.kind,
                        CoreReloKind::FieldLshiftU64 | CoreReloKind::FieldRshiftU64
                    ) {
                        shift_slots.push((sec, r.insn_off as usize / 8));
                    }
                }
            }
        }
        // clang generates different code for some sources (a byte swap that is a no-op on
        // big-endian): those are compared only when the compiled sections agree field by field.
        let same_code = lo.program_sections.len() == bo.program_sections.len()
            && lo
                .program_sections
                .iter()
                .zip(&bo.program_sections)
                .all(|(a, b)| {
                    a.insns.len() == b.insns.len()
                        && (0..a.insns.len() / 8).all(|i| {
                            let (x, y) = (
                                fields(a.insns, i, Endian::Little),
                                fields(b.insns, i, Endian::Big),
                            );
                            // Bitfield shifts: clang's pre-relocation value depends on byte order.
                            x == y
                                || (shift_slots.contains(&(a.name, i))
                                    && (x.0, x.1, x.2, x.3) == (y.0, y.1, y.2, y.3))
                        })
                });
        let bl = bo
            .link(name, &target)
            .unwrap_or_else(|e| panic!("{name} (be): {e}"));
        if !same_code {
            assert_ne!(name, "core_edges", "clang output differs");
            continue;
        }
        compared.push(name.clone());
        let ll = lo.link(name, &target).expect("link le");
        total += compare(name, &ll, &bl);
        core += bl.programs.iter().map(|p| p.core.len()).sum::<usize>();
        // Global data: same maps, same sizes.
        let shape = |l: &Linked<'_>| {
            l.maps
                .iter()
                .map(|m| (m.name.clone(), m.map_type, m.value_size, m.map_flags))
                .collect::<Vec<_>>()
        };
        assert_eq!(shape(&ll), shape(&bl), "{name}: maps");
    }
    println!("compared {compared:?}: {total} instructions, {core} CO-RE relocations");
    assert!(
        total > 150 && core > 10,
        "compared {total} instructions, {core} CO-RE"
    );
}
