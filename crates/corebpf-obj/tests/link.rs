//! Linking every test object against this kernel's BTF and a foreign kernel's: the streams
//! decode, calls land on function starts, references point at real maps, BTF.ext info is
//! sorted and starts at the entry.

use std::io::Read;

use corebpf_btf::Btf;
use corebpf_insn::ebpf::{decode_all, Endian as InsnEndian, Insn};
use corebpf_obj::link::{internal_map_name, KernelConfig, Linked, MapOrigin, Target};
use corebpf_obj::Object;
use corebpf_testdata::Endian;

fn config() -> KernelConfig {
    let mut c = KernelConfig::parse("CONFIG_BPF=y\nCONFIG_BPF_SYSCALL=y\nCONFIG_HZ=250\n# CONFIG_FOO is not set\nCONFIG_DEFAULT_HOSTNAME=\"(none)\"\nCONFIG_BPF_JIT=y\n");
    c.kernel_version = (6 << 16) | (18 << 8);
    c.has_bpf_cookie = true;
    c.has_syscall_wrapper = true;
    c
}

fn check(name: &str, obj: &Object<'_>, linked: &Linked<'_>) {
    let endian = match obj.endian {
        corebpf_btf::Endian::Little => InsnEndian::Little,
        corebpf_btf::Endian::Big => InsnEndian::Big,
    };
    assert!(!linked.programs.is_empty(), "{name}: no programs");
    for p in &linked.programs {
        let what = format!("{name}: {} ({})", p.name, p.section);
        let insns = decode_all(&p.insns, endian).unwrap_or_else(|e| panic!("{what}: {e}"));
        let starts: Vec<usize> = p.functions.iter().map(|f| f.0).collect();
        assert_eq!(starts.first(), Some(&0), "{what}: entry first");
        let mut slot = 0usize;
        for insn in &insns {
            if insn.is_local_call() {
                let t = insn.call_target(slot).unwrap_or(-1);
                assert!(
                    starts.contains(&(t as usize)),
                    "{what}: call at {slot} to {t}, not a function start {starts:?}"
                );
            }
            slot += if matches!(insn, Insn::LdImm64 { .. }) {
                2
            } else {
                1
            };
        }
        for r in &p.map_refs {
            assert!(r.map < linked.maps.len(), "{what}: map ref {r:?}");
            let m = &linked.maps[r.map];
            if let Some(off) = r.value_offset {
                assert!(
                    off <= m.value_size,
                    "{what}: value offset {off} past {} ({})",
                    m.value_size,
                    m.name
                );
            }
        }
        if !p.func_info.is_empty() {
            assert_eq!(p.func_info[0].0, 0, "{what}: func_info starts at the entry");
            assert!(
                p.func_info.windows(2).all(|w| w[0].0 < w[1].0),
                "{what}: func_info sorted"
            );
            assert_eq!(
                p.func_info.len(),
                p.functions.len(),
                "{what}: one func_info per function"
            );
        }
        assert!(
            p.line_info
                .windows(2)
                .all(|w| w[0].insn_off <= w[1].insn_off),
            "{what}: line_info sorted"
        );
        assert!(
            p.line_info
                .iter()
                .all(|l| (l.insn_off as usize) < p.insn_count()),
            "{what}: line_info in range"
        );
    }
    for m in &linked.maps {
        assert!(
            m.name.len() <= 15 && !m.name.is_empty(),
            "{name}: map name {:?}",
            m.name
        );
        if let MapOrigin::Data(_) | MapOrigin::Kconfig = m.origin {
            assert_eq!(
                m.initial.as_ref().map(Vec::len),
                Some(m.value_size as usize)
            );
        }
    }
}

fn link_all(target_bytes: &[u8]) {
    let target_btf = Btf::parse(target_bytes).expect("target BTF");
    let addr = |name: &str| (name == "bpf_prog_active").then_some(0xffff_ffff_8100_0000u64);
    let target = Target {
        btfs: vec![&target_btf],
        config: config(),
        ksym_addr: Some(&addr),
    };
    let mut linked_any = 0;
    for o in corebpf_testdata::objects() {
        let bytes = o.read().expect("read object");
        let obj = Object::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", o.label()));
        let linked = obj
            .link(o.name, &target)
            .unwrap_or_else(|e| panic!("{}: {e}", o.label()));
        check(&o.label(), &obj, &linked);
        if o.endian == Endian::Little {
            linked_any += 1;
        }
    }
    assert!(linked_any >= 20, "linked only {linked_any} objects");
}

#[test]
fn every_test_object_links_against_this_kernel() {
    let bytes = std::fs::read("/sys/kernel/btf/vmlinux").expect("/sys/kernel/btf/vmlinux");
    link_all(&bytes);
}

#[test]
fn every_test_object_links_against_a_foreign_kernel() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpora/btf/vmlinux.btf.gz"
    );
    let gz = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut raw)
        .expect("gunzip");
    link_all(&raw);
}

#[test]
fn internal_map_names_follow_the_common_convention() {
    assert_eq!(
        internal_map_name("core_fields", ".rodata"),
        "core_fie.rodata"
    );
    assert_eq!(internal_map_name("x", ".bss"), "x.bss");
    assert_eq!(
        internal_map_name("maps", ".data.counters"),
        ".data.counters"
    );
    assert_eq!(
        internal_map_name("verylongobjectname", ".kconfig"),
        "verylon.kconfig"
    );
    assert_eq!(internal_map_name("a-b", ".data"), "a_b.data");
}
