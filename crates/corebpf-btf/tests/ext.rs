//! `.BTF.ext` records checked against independent views of the same object:
//! line_info against the DWARF line table (`llvm-dwarfdump-19`) and the C source,
//! func_info against the ELF symbol table, CO-RE records against libbpf's own
//! relocation log (`bpftool -d prog loadall`).

mod btf_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use btf_support::*;
use corebpf_btf::{Btf, BtfExt, TypeKind};

/// (address, line, column) rows of every sequence in the DWARF line table.
fn dwarf_rows(obj: &Path) -> BTreeSet<(u32, u32, u32)> {
    require_tool("llvm-dwarfdump-19", "--version", "apt-get install llvm-19");
    let out = Command::new("llvm-dwarfdump-19")
        .arg("--debug-line")
        .arg(obj)
        .output()
        .expect("running llvm-dwarfdump-19");
    assert!(out.status.success(), "llvm-dwarfdump-19 failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut rows = BTreeSet::new();
    for l in text.lines().filter(|l| l.starts_with("0x")) {
        let f: Vec<&str> = l.split_whitespace().collect();
        let addr = u32::from_str_radix(f[0].trim_start_matches("0x"), 16).expect("address");
        rows.insert((
            addr,
            f[1].parse().expect("line"),
            f[2].parse().expect("column"),
        ));
    }
    rows
}

fn check_line_and_func_info(label: &str, obj: &Path, source: &Path) {
    let elf = read(obj);
    let btf_bytes = elf_section(&elf, ".BTF").expect(".BTF");
    let ext_bytes = elf_section(&elf, ".BTF.ext").expect(".BTF.ext");
    let btf = Btf::parse(&btf_bytes).expect("BTF parses");
    let ext = BtfExt::parse(&ext_bytes, &btf).expect("BTF.ext parses");
    let src = std::fs::read_to_string(source).expect("source readable");
    let src_lines: Vec<&str> = src.lines().collect();
    let src_name = source
        .file_name()
        .and_then(|n| n.to_str())
        .expect("file name");

    let mut funcs = BTreeMap::new();
    for (sec, recs) in ext.func_info() {
        for r in recs {
            let t = btf.type_by_id(r.type_id).expect("func_info type");
            funcs.insert((sec.to_owned(), u64::from(r.insn_off)), t.name.to_owned());
        }
    }
    let rows = dwarf_rows(obj);
    let mut n = 0;
    for (sec, recs) in ext.line_info() {
        for r in recs {
            if r.col == 0 {
                // A function's first record points at its declaration line.
                let func = funcs.get(&(sec.to_owned(), u64::from(r.insn_off)));
                let func = func.unwrap_or_else(|| {
                    panic!(
                        "{label}: column 0 record at {sec}+{} is not a function start",
                        r.insn_off
                    )
                });
                assert!(
                    r.line.contains(func.as_str()),
                    "{label}: {func} declared on {:?}",
                    r.line
                );
            } else {
                assert!(
                    rows.contains(&(r.insn_off, r.line_num, r.col)),
                    "{label}: line_info {sec}+{} line {} col {} has no DWARF row",
                    r.insn_off,
                    r.line_num,
                    r.col
                );
            }
            assert!(
                r.file_name.ends_with(src_name) || r.file_name.ends_with(".h"),
                "{label}: {}",
                r.file_name
            );
            if r.file_name.ends_with(src_name) {
                let want = src_lines
                    .get(r.line_num as usize - 1)
                    .copied()
                    .unwrap_or("");
                assert_eq!(r.line, want, "{label}: text of line {}", r.line_num);
            }
            n += 1;
        }
    }
    assert!(n > 0, "{label}: no line_info records");

    // func_info: every record is a function symbol at that offset in that section, whose
    // name is the FUNC's; and every function symbol in a code section has a record.
    use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
    let file = object::File::parse(elf.as_slice()).expect("ELF");
    let mut syms: BTreeMap<(String, u64), String> = BTreeMap::new();
    for s in file.symbols() {
        if s.kind() != SymbolKind::Text {
            continue;
        }
        let Some(idx) = s.section_index() else {
            continue;
        };
        let sec = file.section_by_index(idx).expect("section");
        syms.insert(
            (sec.name().expect("name").to_owned(), s.address()),
            s.name().expect("symbol name").to_owned(),
        );
    }
    let mut ours = BTreeMap::new();
    for (sec, recs) in ext.func_info() {
        for r in recs {
            let t = btf.type_by_id(r.type_id).expect("func_info type");
            assert!(
                matches!(t.kind, TypeKind::Func { .. }),
                "{label}: func_info type [{}] is {:?}",
                r.type_id,
                t.kind_id()
            );
            ours.insert((sec.to_owned(), u64::from(r.insn_off)), t.name.to_owned());
        }
    }
    assert_eq!(ours, syms, "{label}: func_info vs ELF function symbols");
}

#[test]
fn line_and_func_info_match_dwarf_symbols_and_source() {
    let dir = scratch("ext-kinds");
    let src = data("btf_kinds.bpf.c");
    for target in ["bpf", "bpfeb"] {
        let obj = compile(&dir, &src, target, &[]);
        check_line_and_func_info(&format!("btf_kinds ({target})"), &obj, &src);
    }
    for o in corebpf_testdata::objects() {
        check_line_and_func_info(&o.label(), o.path(), o.source());
    }
}

/// One CO-RE record as libbpf logs it: section/program, kind name, local type id, and the
/// access string for field relocations.
type Relo = (String, u32, Option<String>);

/// libbpf's CO-RE log for an object: relocation count per section and the records.
fn libbpf_core_log(obj: &Path, tag: &str) -> Option<(BTreeMap<String, usize>, BTreeSet<Relo>)> {
    require_tool("bpftool", "version", "apt-get install bpftool");
    let pin = format!("/sys/fs/bpf/corebpf-btf-test-{}-{tag}", std::process::id());
    let _ = std::fs::remove_dir_all(&pin);
    let out = Command::new("bpftool")
        .args(["-d", "prog", "loadall"])
        .arg(obj)
        .arg(&pin)
        .output()
        .expect("running bpftool");
    let _ = std::fs::remove_dir_all(&pin);
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    let mut counts = BTreeMap::new();
    let mut relos = BTreeSet::new();
    for l in log.lines() {
        if let Some(rest) = l.strip_prefix("libbpf: sec '") {
            if let Some((sec, tail)) = rest.split_once("': found ") {
                if let Some(n) = tail.strip_suffix(" CO-RE relocations") {
                    counts.insert(sec.to_owned(), n.parse().expect("count"));
                }
            }
            continue;
        }
        let Some(i) = l.find(": relo #") else {
            continue;
        };
        let tail = &l[i + 8..];
        let Some((_, spec)) = tail.split_once(": <") else {
            continue;
        };
        let Some((kind, rest)) = spec.split_once("> [") else {
            continue;
        };
        let Some((id, desc)) = rest.split_once(']') else {
            continue;
        };
        let access = desc
            .rfind(" (")
            .and_then(|p| desc[p + 2..].split_once(" @"))
            .map(|(a, _)| a.to_owned());
        relos.insert((kind.to_owned(), id.parse().expect("type id"), access));
    }
    if counts.is_empty() {
        // libbpf 1.1 stops before CO-RE on what it does not know (some ksym forms, tcx
        // section names); then there is nothing to compare for this object.
        assert!(
            !out.status.success(),
            "libbpf loaded {} but printed no CO-RE log:\n{log}",
            obj.display()
        );
        return None;
    }
    Some((counts, relos))
}

#[test]
fn core_relocations_match_libbpf() {
    let mut total = 0;
    let mut compared = 0;
    let mut skipped = Vec::new();
    for o in corebpf_testdata::objects() {
        if o.cpu != corebpf_testdata::Cpu::V3 || o.endian != corebpf_testdata::Endian::Little {
            continue;
        }
        let elf = o.read().expect("readable");
        let Some(ext_bytes) = elf_section(&elf, ".BTF.ext") else {
            continue;
        };
        let btf_bytes = elf_section(&elf, ".BTF").expect(".BTF");
        let btf = Btf::parse(&btf_bytes).expect("BTF");
        let ext = BtfExt::parse(&ext_bytes, &btf).expect("BTF.ext");
        let mut counts = BTreeMap::new();
        let mut ours = BTreeSet::new();
        for (sec, recs) in ext.core_relos() {
            counts.insert(sec.to_owned(), recs.len());
            for r in recs {
                let access = r.kind.is_field().then(|| r.access_str.to_owned());
                ours.insert((r.kind.name().to_owned(), r.type_id, access));
                // The access string starts at the local type: its first index is valid.
                assert!(
                    r.access_str.split(':').all(|p| p.parse::<u32>().is_ok()),
                    "{}",
                    r.access_str
                );
                assert!(btf.type_by_id(r.type_id).is_ok());
            }
        }
        if counts.is_empty() {
            continue;
        }
        let Some((their_counts, theirs)) = libbpf_core_log(o.path(), o.name) else {
            skipped.push(o.label());
            continue;
        };
        assert_eq!(
            counts,
            their_counts,
            "{}: CO-RE records per section",
            o.label()
        );
        // libbpf logs only the relocations of programs it gets to (all of them here).
        assert_eq!(ours, theirs, "{}: CO-RE records", o.label());
        total += ours.len();
        compared += 1;
    }
    eprintln!(
        "compared {compared} objects, {total} CO-RE records; libbpf could not load {skipped:?}"
    );
    assert!(
        compared >= 3 && total > 20,
        "compared {compared} objects / {total} records with libbpf (libbpf could not load: {skipped:?})"
    );
}
