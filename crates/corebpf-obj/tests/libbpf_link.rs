//! The link stage checked instruction by instruction against libbpf (libbpf-dev 1.1), through
//! the oracle of `libbpf_oracle/`: every little-endian test object and the oracle's own programs
//! (CO-RE edge cases, `BPF_KSYSCALL` for x86 and arm64), against this kernel's BTF and against a foreign kernel's BTF (libbpf's
//! `btf_custom_path`). `libbpf_link_61.rs` does the same against Debian's 6.1 kernels.

mod libbpf_oracle;

use std::io::Read;
use std::path::Path;

use corebpf_btf::Btf;
use corebpf_testdata::{objects, Endian};
use libbpf_oracle::{build_oracle, differential, edge_objects, syscall_objects, Item, Setup, ROOT};

fn run(target_path: Option<&Path>, target_bytes: &[u8]) {
    let dir = std::env::temp_dir().join(format!(
        "corebpf-libbpf-link-{}-{}",
        std::process::id(),
        target_path.is_some()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = build_oracle(&dir);
    // libbpf 1.x cannot open the legacy `maps` section, nor a big-endian object here.
    let mut items: Vec<Item> = objects()
        .iter()
        .filter(|o| o.endian == Endian::Little && o.name != "legacy_maps")
        .map(|o| Item {
            label: o.label(),
            name: o.name.to_string(),
            path: o.path().to_path_buf(),
        })
        .collect();
    items.extend(edge_objects(&dir));
    items.extend(syscall_objects(&dir));
    let btf = Btf::parse(target_bytes).expect("target BTF");
    let out = differential(&Setup {
        btf_path: target_path,
        btf: &btf,
        kconfig: None,
        items: &items,
        oracle: &bin,
    });
    let _ = std::fs::remove_dir_all(&dir);
    println!("compared {out}");
    assert!(
        out.differences.is_empty(),
        "{} differences:\n{}",
        out.differences.len(),
        out.differences.join("\n")
    );
    // Every CO-RE relocation kind (0 field byte offset .. 12 type matches) was compared.
    assert_eq!(
        out.kinds.iter().copied().collect::<Vec<_>>(),
        (0..=12).collect::<Vec<u32>>(),
        "CO-RE relocation kinds compared"
    );
    assert!(
        out.programs > 50 && out.insns > 3000 && out.maps > 10,
        "compared only {out}"
    );
}

#[test]
fn linked_programs_match_libbpf_against_this_kernel() {
    let bytes = std::fs::read("/sys/kernel/btf/vmlinux").expect("/sys/kernel/btf/vmlinux");
    run(None, &bytes);
}

#[test]
fn linked_programs_match_libbpf_against_a_foreign_kernel() {
    let path = Path::new(ROOT).join("../shared/corpora/btf/vmlinux.btf.gz");
    let gz = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut raw)
        .expect("gunzip");
    let file = std::env::temp_dir().join(format!("corebpf-foreign-{}.btf", std::process::id()));
    std::fs::write(&file, &raw).unwrap();
    run(Some(&file), &raw);
    let _ = std::fs::remove_file(&file);
}
