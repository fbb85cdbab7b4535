//! The raw dump must be byte-for-byte what `bpftool btf dump file X format raw` prints.

mod btf_support;

use btf_support::*;
use corebpf_btf::{Btf, Endian};

#[test]
fn vmlinux_matches_bpftool() {
    let data = read(std::path::Path::new(VMLINUX));
    let btf = Btf::parse(&data).expect("kernel BTF parses");
    assert!(btf.len() > 10_000, "kernel BTF has many types");
    let theirs = bpftool_raw(std::path::Path::new(VMLINUX), None);
    assert_same_dump("vmlinux", &our_raw(&btf), &theirs);
}

#[test]
fn foreign_vmlinux_matches_bpftool() {
    let data = read_gz(&corpus("vmlinux.btf.gz"));
    let dir = scratch("foreign-vmlinux");
    let file = write(&dir, "vmlinux.btf", &data);
    let btf = Btf::parse(&data).expect("foreign kernel BTF parses");
    assert_same_dump("vmlinux.btf.gz", &our_raw(&btf), &bpftool_raw(&file, None));
}

#[test]
fn split_module_btf_matches_bpftool() {
    let base_path = corpus("btf_testmod.btf.base");
    let split_path = corpus("btf_testmod.btf");
    let base_data = read(&base_path);
    let split_data = read(&split_path);
    let base = Btf::parse(&base_data).expect("base parses");
    let split = Btf::parse_split(&split_data, &base).expect("split parses");
    assert_eq!(split.first_id(), base.len());
    assert!(split.len() > split.first_id());
    let theirs = bpftool_raw(&split_path, Some(&base_path));
    assert_same_dump("btf_testmod", &our_raw(&split), &theirs);
    // The base alone, too.
    assert_same_dump(
        "btf_testmod.btf.base",
        &our_raw(&base),
        &bpftool_raw(&base_path, None),
    );
}

#[test]
fn clang_object_with_every_kind_matches_bpftool() {
    let dir = scratch("kinds");
    let src = data("btf_kinds.bpf.c");
    let obj = compile(&dir, &src, "bpf", &[]);
    let elf = read(&obj);
    let sec = elf_section(&elf, ".BTF").expect("clang emits .BTF");
    let btf = Btf::parse(&sec).expect(".BTF parses");
    assert_eq!(btf.endian(), Endian::Little);
    let mut kinds: Vec<_> = btf.types().map(|t| t.kind_id()).collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds.len(), 19, "every kind but void appears: {kinds:?}");
    assert_same_dump("btf_kinds.bpf.o", &our_raw(&btf), &bpftool_raw(&obj, None));

    // The big-endian build: bpftool reads it too, and it describes the same types.
    let obj_eb = compile(&dir, &src, "bpfeb", &[]);
    let elf_eb = read(&obj_eb);
    let sec_eb = elf_section(&elf_eb, ".BTF").expect("clang emits .BTF");
    let btf_eb = Btf::parse(&sec_eb).expect("big-endian .BTF parses");
    assert_eq!(btf_eb.endian(), Endian::Big);
    let eb_dump = our_raw(&btf_eb);
    assert_same_dump("btf_kinds (bpfeb)", &eb_dump, &bpftool_raw(&obj_eb, None));
    assert_same_dump("btf_kinds bpfeb vs bpfel", &eb_dump, &our_raw(&btf));
}

#[test]
fn every_test_program_matches_bpftool() {
    let objects = corebpf_testdata::objects();
    assert!(!objects.is_empty());
    for o in objects {
        let elf = o.read().expect("test object readable");
        let Some(sec) = elf_section(&elf, ".BTF") else {
            panic!("{} has no .BTF section", o.label());
        };
        let btf = Btf::parse(&sec).unwrap_or_else(|e| panic!("{}: {e}", o.label()));
        let want = match o.endian {
            corebpf_testdata::Endian::Little => Endian::Little,
            corebpf_testdata::Endian::Big => Endian::Big,
        };
        assert_eq!(btf.endian(), want, "{}", o.label());
        assert_same_dump(&o.label(), &our_raw(&btf), &bpftool_raw(o.path(), None));
    }
}

#[test]
fn big_endian_test_programs_match_their_little_endian_builds() {
    let mut compared = 0;
    for o in corebpf_testdata::objects() {
        if o.endian != corebpf_testdata::Endian::Big {
            continue;
        }
        let le = corebpf_testdata::find(o.name, o.cpu).expect("a little-endian build exists");
        let eb = elf_section(&o.read().expect("readable"), ".BTF").expect(".BTF");
        let el = elf_section(&le.read().expect("readable"), ".BTF").expect(".BTF");
        let (eb, el) = (
            Btf::parse(&eb).expect("parses"),
            Btf::parse(&el).expect("parses"),
        );
        assert_same_dump(&o.label(), &our_raw(&eb), &our_raw(&el));
        compared += 1;
    }
    assert!(compared > 0, "the test data has big-endian builds");
}
