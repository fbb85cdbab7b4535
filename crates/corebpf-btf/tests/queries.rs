//! Type queries checked against clang (sizes, alignments), bpftool's listing (names, ids,
//! reference chains) and libbpf (CO-RE candidates).

mod btf_support;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use btf_support::*;
use corebpf_btf::{essential_name, Btf, Kind, TypeKind};

/// `[id] KIND 'name' ... type_id=N` lines of a bpftool raw dump.
struct Listing {
    /// id -> (kind, name, first `type_id=`)
    types: BTreeMap<u32, (String, String, Option<u32>)>,
}

fn listing(text: &str) -> Listing {
    let mut types = BTreeMap::new();
    for l in text.lines().filter(|l| l.starts_with('[')) {
        let (id, rest) = l[1..].split_once("] ").expect("id");
        let (kind, rest) = rest.split_once(" '").expect("kind");
        let (name, rest) = rest.split_once('\'').expect("name");
        let target = rest
            .split_once(" type_id=")
            .map(|(_, t)| t.split(|c: char| !c.is_ascii_digit()).next().unwrap_or(""))
            .and_then(|t| t.parse().ok());
        let name = if name == "(anon)" { "" } else { name };
        types.insert(
            id.parse().expect("id"),
            (kind.to_owned(), name.to_owned(), target),
        );
    }
    Listing { types }
}

fn kernel() -> &'static Btf<'static> {
    let data = leak(read(Path::new(VMLINUX)));
    leak(Btf::parse(data).expect("kernel BTF"))
}

#[test]
fn find_by_name_matches_bpftool_listing() {
    let btf = kernel();
    let list = listing(&bpftool_raw(Path::new(VMLINUX), None));
    let mut by_name: HashMap<&str, Vec<u32>> = HashMap::new();
    for (id, (_, name, _)) in &list.types {
        if !name.is_empty() {
            by_name.entry(name.as_str()).or_default().push(*id);
        }
    }
    // A spread of names (first lookups scan; later ones go through the index), plus
    // names shared by several types.
    let mut names: Vec<&str> = by_name.keys().copied().step_by(97).collect();
    names.extend([
        "task_struct",
        "sk_buff",
        "pid_t",
        "bpf_map_lookup_elem",
        "int",
    ]);
    names.extend(
        by_name
            .iter()
            .filter(|(_, v)| v.len() > 2)
            .map(|(k, _)| *k)
            .take(20),
    );
    assert!(names.len() > 100);
    for name in &names {
        let ours: Vec<u32> = btf.find_by_name(name).collect();
        assert_eq!(&ours, &by_name[name], "find_by_name({name:?})");
        for id in ours {
            let kind = btf.type_by_id(id).expect("found id").kind_id();
            let first = by_name[name]
                .iter()
                .copied()
                .find(|i| list.types[i].0 == kind.name());
            assert_eq!(btf.find_by_name_kind(name, kind), first, "{name:?} {kind}");
        }
    }
    assert_eq!(btf.find_by_name("no_such_type_corebpf").count(), 0);
    assert_eq!(btf.find_by_name_kind("task_struct", Kind::Union), None);

    // A lazily parsed copy answers the same for by-name-and-kind lookups.
    let data = read(Path::new(VMLINUX));
    let lazy = Btf::parse_lazy(&data).expect("lazy");
    for name in names.iter().take(40) {
        for &id in &by_name[name] {
            let kind = btf.type_by_id(id).expect("id").kind_id();
            assert_eq!(
                lazy.find_by_name_kind(name, kind),
                btf.find_by_name_kind(name, kind),
                "lazy {name:?} {kind}"
            );
        }
    }
}

#[test]
fn skip_mods_and_typedefs_follows_bpftool_chains() {
    let btf = kernel();
    let list = listing(&bpftool_raw(Path::new(VMLINUX), None));
    let is_mod = |k: &str| {
        matches!(
            k,
            "TYPEDEF" | "CONST" | "VOLATILE" | "RESTRICT" | "TYPE_TAG"
        )
    };
    let mut checked = 0;
    for (&id, (kind, _, _)) in &list.types {
        if !is_mod(kind) {
            continue;
        }
        let mut cur = id;
        while let Some((k, _, Some(t))) = list.types.get(&cur) {
            if !is_mod(k) {
                break;
            }
            cur = *t;
        }
        assert_eq!(btf.skip_mods_and_typedefs(id), Ok(cur), "[{id}]");
        checked += 1;
    }
    assert!(checked > 1000);
}

/// Compiles `prelude` plus `_Static_assert`s on the sizes and alignments our queries give;
/// clang-19 is the judge.
///
/// With `align_if_size`, the alignment is checked only where clang lays the type out with
/// the same size (a header generated from BTF does not always reproduce every layout).
fn clang_checks(name: &str, prelude: &str, checks: &[(String, u64, u64)], align_if_size: bool) {
    let mut src = String::from(prelude);
    src.push('\n');
    for (c_type, size, align) in checks {
        if align_if_size {
            writeln!(
                src,
                "_Static_assert(sizeof({c_type}) != {size} || _Alignof({c_type}) == {align}, \"alignment of {c_type}\");"
            )
        } else {
            writeln!(
                src,
                "_Static_assert(sizeof({c_type}) == {size}, \"size of {c_type}\");\n_Static_assert(_Alignof({c_type}) == {align}, \"alignment of {c_type}\");"
            )
        }
        .expect("write to String");
    }
    let dir = scratch(name);
    let file = write(&dir, "checks.c", src.as_bytes());
    require_tool(CLANG, "--version", "apt-get install clang-19");
    let out = Command::new(CLANG)
        .args([
            "-target",
            "bpf",
            "-fsyntax-only",
            "-ferror-limit=0",
            "-w",
            "-D__TARGET_ARCH_x86",
        ])
        .arg(&file)
        .output()
        .expect("running clang-19");
    let errors = String::from_utf8_lossy(&out.stderr);
    let failed: Vec<&str> = errors
        .lines()
        .filter(|l| l.contains("static assertion failed"))
        .take(10)
        .collect();
    assert!(
        out.status.success(),
        "{name}: clang-19 disagrees:\n{}\n{}",
        failed.join("\n"),
        errors.lines().take(5).collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn sizes_and_alignments_of_every_kernel_struct_match_clang() {
    let btf = kernel();
    // C tags share one namespace: count struct, union, enum and forward names together.
    let mut count: HashMap<&str, usize> = HashMap::new();
    for t in btf.types() {
        if let TypeKind::Struct { .. }
        | TypeKind::Union { .. }
        | TypeKind::Enum { .. }
        | TypeKind::Enum64 { .. }
        | TypeKind::Fwd { .. } = t.kind
        {
            *count.entry(t.name).or_default() += 1;
        }
    }
    let mut checks = Vec::new();
    for t in btf.types() {
        let union = match t.kind {
            TypeKind::Struct { .. } => false,
            TypeKind::Union { .. } => true,
            _ => continue,
        };
        // Names used by one type only (the header renames duplicates).
        if t.name.is_empty() || count[t.name] != 1 {
            continue;
        }
        let c = format!("{} {}", if union { "union" } else { "struct" }, t.name);
        let size = btf.size_of(t.id).expect("size");
        let align = btf.align_of(t.id).expect("align");
        checks.push((c, size, align));
    }
    assert!(checks.len() > 1000);
    // The header comes from bpftool, which writes types with their natural layout (no
    // alignment attributes): clang then computes natural alignments, as `align_of` does.
    require_tool("bpftool", "version", "apt-get install bpftool");
    let out = Command::new("bpftool")
        .args(["btf", "dump", "file", VMLINUX, "format", "c"])
        .output()
        .expect("running bpftool");
    assert!(out.status.success(), "bpftool could not write vmlinux.h");
    let dir = scratch("kernel-header");
    let header = write(&dir, "vmlinux.h", &out.stdout);
    clang_checks(
        "kernel-structs",
        &format!("#include \"{}\"", header.display()),
        &checks,
        true,
    );
}

#[test]
fn sizes_and_alignments_of_clang_types_match_clang() {
    let dir = scratch("kinds-sizes");
    let src = data("btf_kinds.bpf.c");
    let obj = compile(&dir, &src, "bpf", &[]);
    let sec = elf_section(&read(&obj), ".BTF").expect(".BTF");
    let btf = Btf::parse(&sec).expect("BTF");
    let mut checks = Vec::new();
    for t in btf.types() {
        let c = match t.kind {
            TypeKind::Struct { .. } => format!("struct {}", t.name),
            TypeKind::Union { .. } => format!("union {}", t.name),
            TypeKind::Enum { .. } | TypeKind::Enum64 { .. } => format!("enum {}", t.name),
            TypeKind::Typedef { .. } | TypeKind::Int { .. } | TypeKind::Float { .. } => {
                t.name.to_owned()
            }
            TypeKind::Var { .. } => format!("__typeof__({})", t.name),
            _ => continue,
        };
        if t.name.is_empty() || t.name == "__ARRAY_SIZE_TYPE__" {
            continue;
        }
        checks.push((
            c,
            btf.size_of(t.id).expect("size"),
            btf.align_of(t.id).expect("align"),
        ));
    }
    assert!(checks.len() > 15, "{checks:?}");
    clang_checks(
        "kinds",
        &format!("#include \"{}\"", src.display()),
        &checks,
        false,
    );
}

#[test]
fn essential_names() {
    for (name, want) in [
        ("task_struct___v1", "task_struct"),
        ("task_struct___old", "task_struct"),
        ("a___b___c", "a___b"),
        ("task_struct", "task_struct"),
        ("foo___", "foo___"),
        ("___foo", "___foo"),
        ("foo____bar", "foo____bar"),
        ("x___y", "x"),
        ("", ""),
    ] {
        assert_eq!(essential_name(name), want, "{name}");
    }
}

#[test]
fn core_candidates_match_libbpf() {
    let btf = kernel();
    let mut compared = 0;
    for o in corebpf_testdata::objects() {
        if o.cpu != corebpf_testdata::Cpu::V3 || !o.uses_vmlinux {
            continue;
        }
        let pin = format!(
            "/sys/fs/bpf/corebpf-btf-cands-{}-{}",
            std::process::id(),
            o.name
        );
        let _by_name = corebpf_testdata::ByNamePins::new(o.name);
        let out = Command::new("bpftool")
            .args(["-d", "prog", "loadall"])
            .arg(o.path())
            .arg(&pin)
            .output()
            .expect("running bpftool");
        let _ = std::fs::remove_dir_all(&pin);
        let log = String::from_utf8_lossy(&out.stderr);
        // "CO-RE relocating [24] struct task_struct___old: found target candidate [114] struct task_struct in [vmlinux]"
        let mut theirs: BTreeMap<(String, String), Vec<u32>> = BTreeMap::new();
        let mut local_names = Vec::new();
        for l in log.lines() {
            let Some(rest) = l.split_once("CO-RE relocating [").map(|(_, r)| r) else {
                continue;
            };
            let Some((_, rest)) = rest.split_once("] ") else {
                continue;
            };
            let Some((local, rest)) = rest.split_once(": ") else {
                continue;
            };
            let (kind, name) = local.split_once(' ').expect("kind and name");
            local_names.push((kind.to_owned(), name.to_owned()));
            let entry = theirs
                .entry((kind.to_owned(), name.to_owned()))
                .or_default();
            if let Some(c) = rest.strip_prefix("found target candidate [") {
                let id: u32 = c
                    .split(']')
                    .next()
                    .and_then(|x| x.parse().ok())
                    .expect("id");
                entry.push(id);
            }
        }
        for ((kind, name), want) in theirs {
            let kind = match kind.as_str() {
                "struct" => Kind::Struct,
                "union" => Kind::Union,
                "enum" => Kind::Enum,
                "typedef" => Kind::Typedef,
                other => panic!("unexpected local kind {other}"),
            };
            let mut got = btf.core_candidates(&name, kind);
            if kind == Kind::Enum {
                // libbpf 1.1 matches ENUM locals with ENUM targets only.
                got.retain(|&id| {
                    btf.type_by_id(id)
                        .map(|t| t.kind_id() == Kind::Enum)
                        .unwrap_or(false)
                });
            }
            assert_eq!(got, want, "{}: candidates for {kind} {name}", o.label());
            compared += 1;
        }
    }
    assert!(
        compared >= 5,
        "compared {compared} candidate lists with libbpf"
    );
}
