//! Differential tests against LLVM's own readers on every compiled test object: relocations
//! against `llvm-readelf-19 -r`, CO-RE descriptions against `llvm-objdump-19 -dr`.

use std::collections::BTreeMap;
use std::process::Command;

use corebpf_obj::core::{describe_access, describe_c};
use corebpf_obj::{Object, SectionKind};
use corebpf_testdata::objects;

fn run(tool: &str, args: &[&str], path: &std::path::Path) -> String {
    let out = Command::new(tool)
        .args(args)
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {tool} ({e}): install llvm-19 (`apt-get install llvm-19`)")
        });
    assert!(
        out.status.success(),
        "{tool} failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn r_type_name(t: u32) -> &'static str {
    match t {
        1 => "R_BPF_64_64",
        2 => "R_BPF_64_ABS64",
        3 => "R_BPF_64_ABS32",
        4 => "R_BPF_64_NODYLD32",
        10 => "R_BPF_64_32",
        _ => "?",
    }
}

/// `llvm-readelf -r`: section name -> [(offset, type, symbol)].
fn readelf_relocs(text: &str) -> BTreeMap<String, Vec<(u64, String, String)>> {
    let mut out: BTreeMap<String, Vec<(u64, String, String)>> = BTreeMap::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Relocation section '") {
            let name = rest.split('\'').next().unwrap_or("");
            cur = name.strip_prefix(".rel").map(str::to_string);
            if let Some(c) = &cur {
                out.entry(c.clone()).or_default();
            }
            continue;
        }
        let Some(sec) = &cur else { continue };
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 5 && f[2].starts_with("R_BPF") {
            if let Ok(off) = u64::from_str_radix(f[0], 16) {
                out.get_mut(sec)
                    .unwrap()
                    .push((off, f[2].to_string(), f[4].to_string()));
            }
        }
    }
    out
}

#[test]
fn relocations_match_llvm_readelf() {
    let mut checked = 0;
    for o in objects() {
        let bytes = o.read().unwrap();
        let obj = Object::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", o.label()));
        let want = readelf_relocs(&run("llvm-readelf-19", &["-r"], o.path()));
        for ps in &obj.program_sections {
            let ours: Vec<(u64, String, String)> = ps
                .relocs
                .iter()
                .map(|r| {
                    (
                        r.offset,
                        r_type_name(r.r_type).to_string(),
                        obj.symbols[r.symbol].name.to_string(),
                    )
                })
                .collect();
            let theirs = want.get(ps.name).cloned().unwrap_or_default();
            assert_eq!(ours, theirs, "{} section {}", o.label(), ps.name);
            checked += ours.len();
        }
    }
    assert!(checked > 100, "only {checked} relocations compared");
}

/// `llvm-objdump -dr`: (section, byte offset) -> "<kind> [id] description".
fn objdump_core(text: &str) -> BTreeMap<(String, u64), String> {
    let mut out = BTreeMap::new();
    let mut sec = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Disassembly of section ") {
            sec = rest.trim_end_matches(':').to_string();
        } else if let Some(pos) = line.find("CO-RE ") {
            let off = line
                .trim()
                .split(':')
                .next()
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .expect("offset");
            out.insert((sec.clone(), off), line[pos + 6..].to_string());
        }
    }
    out
}

#[test]
fn core_descriptions_match_llvm_objdump() {
    let mut checked = 0;
    for o in objects() {
        let bytes = o.read().unwrap();
        let obj = Object::parse(&bytes).unwrap();
        let Some(ext) = obj.btf_ext().unwrap() else {
            continue;
        };
        let btf = obj.btf.as_ref().unwrap();
        let want = objdump_core(&run("llvm-objdump-19", &["-dr"], o.path()));
        let mut ours = BTreeMap::new();
        for (sec, relos) in ext.core_relos() {
            for r in relos {
                let text = describe_access(btf, r.type_id, r.access_str, r.kind)
                    .unwrap_or_else(|e| panic!("{}: {e}", o.label()));
                let c = describe_c(btf, r.type_id, r.access_str, r.kind)
                    .unwrap_or_else(|e| panic!("{}: {e}", o.label()));
                let root = text.split("::").next().unwrap_or_default();
                let root = root.split(" (").next().unwrap_or_default();
                assert!(
                    c.starts_with("bpf_core_") && c.contains(root),
                    "{}: {c} vs {text}",
                    o.label()
                );
                ours.insert(
                    (sec.to_string(), u64::from(r.insn_off)),
                    format!("<{}> [{}] {text}", r.kind.name(), r.type_id),
                );
            }
        }
        assert_eq!(ours, want, "{}", o.label());
        checked += ours.len();
    }
    assert!(checked > 100, "only {checked} CO-RE relocations compared");
}

#[test]
fn sections_and_symbols_match_llvm_readelf() {
    for o in objects() {
        let bytes = o.read().unwrap();
        let obj = Object::parse(&bytes).unwrap();
        let text = run("llvm-readelf-19", &["-S", "-W"], o.path());
        // "  [ 3] socket  PROGBITS  0000000000000000 000040 000238 00  AX  0   0  8"
        let mut names = Vec::new();
        for line in text.lines() {
            let Some(rest) = line.trim_start().strip_prefix('[') else {
                continue;
            };
            let Some((idx, rest)) = rest.split_once(']') else {
                continue;
            };
            let Ok(idx) = idx.trim().parse::<usize>() else {
                continue;
            };
            let f: Vec<&str> = rest.split_whitespace().collect();
            if idx == 0 || f.len() < 5 {
                continue;
            }
            let size = u64::from_str_radix(f[4], 16).unwrap();
            names.push((idx, f[0].to_string(), size));
        }
        let ours: Vec<(usize, String, u64)> = obj
            .sections
            .iter()
            .skip(1)
            .map(|s| (s.index, s.name.to_string(), s.size))
            .collect();
        assert_eq!(ours, names, "{}", o.label());
        assert!(
            obj.sections.iter().any(|s| s.kind == SectionKind::Btf),
            "{}",
            o.label()
        );
    }
}
