//! The C header output checked against its real consumers: clang compiles the header for the BPF
//! target together with `_Static_assert`s of every struct/union size and member offset that the
//! BTF records (so the compiler proves the layouts identical), BPF programs built against it load
//! into the running kernel, and the set of named definitions matches bpftool's `format c`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use corebpf_btf::c_dump::{dump_c, header_string, vmlinux_header, COptions};
use corebpf_btf::{Btf, Kind, TypeKind};

mod c_dump_support;
use c_dump_support::*;

fn kernel_btf() -> &'static Btf<'static> {
    let data: &'static [u8] = leak(read(Path::new(KERNEL_BTF)));
    leak(Btf::parse(data).expect("parsing kernel BTF"))
}

fn count_kind(btf: &Btf<'_>, kinds: &[Kind]) -> usize {
    (1..btf.len())
        .filter(|&id| {
            let t = btf.type_by_id(id).expect("type");
            !t.name.is_empty() && kinds.contains(&t.kind_id())
        })
        .count()
}

/// Named enums with values (a named enum without values is a forward declaration).
fn count_enums(btf: &Btf<'_>) -> usize {
    (1..btf.len())
        .filter(|&id| {
            let t = btf.type_by_id(id).expect("type");
            match t.kind {
                TypeKind::Enum { values, .. } => !t.name.is_empty() && !values.is_empty(),
                TypeKind::Enum64 { values, .. } => !t.name.is_empty() && !values.is_empty(),
                _ => false,
            }
        })
        .count()
}

#[test]
fn kernel_header_compiles_with_btf_layout() {
    let btf = kernel_btf();
    let (header, checks, rt) = check_header("kernel", btf, true);
    assert!(header.starts_with("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n"));
    assert!(header.contains(
        "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)"
    ));
    assert!(header.contains("#pragma clang attribute pop"));
    assert!(header.ends_with("#endif /* __VMLINUX_H__ */\n"));
    // Every named struct/union was checked, and their members.
    assert_eq!(
        checks.records,
        count_kind(btf, &[Kind::Struct, Kind::Union])
    );
    assert!(
        checks.members > 10 * checks.records / 2,
        "{} members",
        checks.members
    );
    assert!(
        checks.others > 1000,
        "{} enum/typedef checks",
        checks.others
    );
    // Compiled back to BTF, every record and enum is what it was (bitfields included).
    assert_eq!(rt.records, checks.records);
    assert_eq!(rt.enums, count_enums(btf));
    eprintln!(
        "kernel: {} structs/unions, {} member offsets, {} enums/typedefs verified by clang; \
         {} members and {} enums identical after a round trip",
        checks.records, checks.members, checks.others, rt.leaves, rt.enums
    );
}

#[test]
fn foreign_kernel_header_compiles_with_btf_layout() {
    let data: &'static [u8] = leak(read_gz(&corpus("vmlinux.btf.gz")));
    let btf = leak(Btf::parse(data).expect("parsing foreign vmlinux BTF"));
    let (_, checks, rt) = check_header("foreign", btf, true);
    assert_eq!(
        checks.records,
        count_kind(btf, &[Kind::Struct, Kind::Union])
    );
    assert!(checks.records > 1000);
    assert_eq!(rt.records, checks.records);
    assert_eq!(rt.enums, count_enums(btf));
    eprintln!(
        "foreign kernel: {} structs/unions, {} member offsets, {} enums/typedefs verified; \
         {} members and {} enums identical after a round trip",
        checks.records, checks.members, checks.others, rt.leaves, rt.enums
    );
}

#[test]
fn split_module_header_compiles_with_btf_layout() {
    let base_data: &'static [u8] = leak(read(&corpus("btf_testmod.btf.base")));
    let base = leak(Btf::parse(base_data).expect("parsing base BTF"));
    let data: &'static [u8] = leak(read(&corpus("btf_testmod.btf")));
    let btf = leak(Btf::parse_split(data, base).expect("parsing split BTF"));
    let (header, checks, rt) = check_header("split", btf, true);
    assert_eq!(
        checks.records,
        count_kind(btf, &[Kind::Struct, Kind::Union])
    );
    assert_eq!(rt.records, checks.records);
    assert_eq!(rt.enums, count_enums(btf));
    // The module's own named structs are defined in the header.
    let mut own = 0;
    for t in btf.types() {
        if t.kind_id() == Kind::Struct && !t.name.is_empty() {
            own += 1;
            assert!(
                header.contains(&format!("struct {} {{", t.name))
                    || header.contains(&format!("struct {}___", t.name)),
                "module struct {} missing",
                t.name
            );
        }
    }
    assert!(own > 0, "the module BTF defines structs");
}

/// Named top-level struct/union/enum definitions (`struct foo {` at column 0).
fn top_level_definitions(header: &str) -> BTreeSet<String> {
    header
        .lines()
        .filter(|l| {
            (l.starts_with("struct ") || l.starts_with("union ") || l.starts_with("enum "))
                && l.ends_with(" {")
        })
        .map(|l| l.trim_end_matches(" {").to_string())
        .collect()
}

#[test]
fn kernel_header_defines_what_bpftool_defines() {
    require_tool(BPFTOOL, "version", "bpftool: `apt-get install bpftool`");
    let out = Command::new(BPFTOOL)
        .args(["btf", "dump", "file", KERNEL_BTF, "format", "c"])
        .output()
        .expect("running bpftool");
    assert!(out.status.success(), "bpftool btf dump failed");
    let theirs = top_level_definitions(&String::from_utf8_lossy(&out.stdout));
    let ours = top_level_definitions(&vmlinux_header(&read(Path::new(KERNEL_BTF))).expect("dump"));
    let missing: Vec<_> = theirs.difference(&ours).take(20).collect();
    let extra: Vec<_> = ours.difference(&theirs).take(20).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "definitions differ from bpftool's: missing {missing:?}, extra {extra:?}"
    );
    assert!(ours.len() > 5000, "{} definitions", ours.len());
}

#[test]
fn only_option_dumps_a_type_and_its_dependencies() {
    let btf = kernel_btf();
    let full = header_string(btf, &COptions::default()).expect("full dump");
    let task = btf
        .find_by_name_kind("task_struct", Kind::Struct)
        .expect("task_struct in kernel BTF");
    let sock = btf
        .find_by_name_kind("sk_buff", Kind::Struct)
        .expect("sk_buff in kernel BTF");
    let opts = COptions {
        preserve_access_index: false,
        only: Some(vec![task, sock]),
    };
    let mut out = Vec::new();
    dump_c(btf, &mut out, &opts).expect("dump");
    let header = String::from_utf8(out).expect("UTF-8");
    assert!(!header.contains("preserve_access_index"));
    assert!(header.len() < full.len() / 2, "{} bytes", header.len());
    let defs = top_level_definitions(&header);
    assert!(defs.contains("struct task_struct") && defs.contains("struct sk_buff"));
    // Everything it defines is defined (the same way) in the full header.
    let all = top_level_definitions(&full);
    assert!(defs.is_subset(&all));

    let dir = scratch("only");
    std::fs::write(dir.join("vmlinux.h"), &header).expect("write");
    let mut src = String::from("#include \"vmlinux.h\"\n");
    for (id, tag) in [(task, "struct task_struct"), (sock, "struct sk_buff")] {
        let t = btf.type_by_id(id).expect("type");
        let (TypeKind::Struct { size, members } | TypeKind::Union { size, members }) = t.kind
        else {
            unreachable!("looked up as a struct")
        };
        let _ = writeln!(src, "_Static_assert(sizeof({tag}) == {size}, \"size\");");
        let mut n = 0;
        member_checks(btf, &mut src, tag, members.iter(), 0, &mut n);
        assert!(n > 20);
    }
    compile(&dir, "only.c", &src, &[]);
    assert_eq!(
        dump_c(
            btf,
            &mut Vec::new(),
            &COptions {
                only: Some(vec![btf.len()]),
                ..COptions::default()
            }
        )
        .map_err(|e| e.to_string())
        .unwrap_err(),
        format!(
            "type id {} out of range (only {} types)",
            btf.len(),
            btf.len()
        )
    );
}

/// Loads every program of an object with bpftool (which pins them under a fresh bpffs
/// directory), then removes the pins.
fn bpftool_load(obj: &Path, tag: &str) -> Vec<String> {
    require_tool(BPFTOOL, "version", "bpftool: `apt-get install bpftool`");
    let pin = PathBuf::from(format!(
        "/sys/fs/bpf/corebpf_c_dump_{tag}_{}",
        std::process::id()
    ));
    let out = Command::new(BPFTOOL)
        .arg("prog")
        .arg("loadall")
        .arg(obj)
        .arg(&pin)
        .output()
        .expect("running bpftool");
    let pinned: Vec<String> = std::fs::read_dir(&pin)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let _ = std::fs::remove_dir_all(&pin);
    assert!(
        out.status.success(),
        "bpftool prog loadall {} failed:\n{}",
        obj.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    pinned
}

#[test]
fn bpf_programs_built_on_the_header_load_into_the_kernel() {
    let header = vmlinux_header(&read(Path::new(KERNEL_BTF))).expect("dump");
    let dir = scratch("programs");
    std::fs::write(dir.join("vmlinux.h"), header).expect("write");

    // A program of this crate's own: tracepoint context, task_struct walk with CO-RE reads,
    // bitfields and a ring buffer.
    let own = manifest_dir().join("tests/data/c_dump_probe.bpf.c");
    let src = std::fs::read_to_string(&own).expect("reading c_dump_probe.bpf.c");
    let obj = compile(&dir, "c_dump_probe.bpf.c", &src, &[]);
    let progs = bpftool_load(&obj, "probe");
    assert_eq!(progs, vec!["handle_exec".to_string()]);

    // The workspace's CO-RE test programs, built against this header instead of bpftool's.
    let bpf_dir = manifest_dir().join("../../tests/bpf");
    for name in ["execsnoop", "core_fields", "runqlat"] {
        let path = bpf_dir.join(format!("{name}.bpf.c"));
        let src = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let obj = compile(&dir, &format!("{name}.bpf.c"), &src, &[&bpf_dir]);
        let progs = bpftool_load(&obj, name);
        assert!(!progs.is_empty(), "{name}: no programs loaded");
    }
}
