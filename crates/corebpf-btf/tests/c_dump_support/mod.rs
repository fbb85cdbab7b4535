//! Helpers shared by the C header tests: tools, scratch directories, clang, and the layout
//! assertions generated from BTF.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use corebpf_btf::c_dump::{dump_c_with_renames, COptions};
use corebpf_btf::{Btf, Kind, Member, TypeId, TypeKind};

pub const CLANG: &str = "clang-19";
pub const BPFTOOL: &str = "bpftool";
pub const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn corpus(name: &str) -> PathBuf {
    manifest_dir()
        .join("../../../shared/corpora/btf")
        .join(name)
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

pub fn read_gz(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(read(path).as_slice())
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("decompressing {}: {e}", path.display()));
    out
}

/// Fails the test with an actionable message when a tool it needs is not installed.
pub fn require_tool(tool: &str, arg: &str, package: &str) {
    match Command::new(tool).arg(arg).output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "`{tool} {arg}` failed ({}); this test needs {tool} (install {package})",
            o.status
        ),
        Err(e) => panic!("cannot run `{tool}` ({e}); this test needs it (install {package})"),
    }
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("c_dump")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// Compiles `src` for the BPF target the way BPF programs are built; panics with clang's
/// diagnostics if it does not compile.
pub fn compile(dir: &Path, file: &str, src: &str, includes: &[&Path]) -> PathBuf {
    require_tool(CLANG, "--version", "clang-19: `apt-get install clang-19`");
    let c = dir.join(file);
    std::fs::write(&c, src).unwrap_or_else(|e| panic!("writing {}: {e}", c.display()));
    let obj = c.with_extension("o");
    let mut cmd = Command::new(CLANG);
    cmd.args([
        "-g",
        "-O2",
        "-target",
        "bpf",
        "-mcpu=v3",
        "-D__TARGET_ARCH_x86",
    ]);
    cmd.arg("-I").arg(dir);
    for inc in includes {
        cmd.arg("-I").arg(inc);
    }
    cmd.arg("-c").arg(&c).arg("-o").arg(&obj);
    let out = cmd.output().expect("running clang-19");
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let head: Vec<&str> = err.lines().take(60).collect();
        panic!(
            "clang-19 failed on {} ({}):\n{}",
            c.display(),
            out.status,
            head.join("\n")
        );
    }
    obj
}

/// Like [`compile`], and also fails on any compiler warning (`-Wall -Wextra`).
pub fn compile_clean(dir: &Path, file: &str, src: &str) -> PathBuf {
    let obj = compile(dir, file, src, &[]);
    let c = dir.join(file);
    let out = Command::new(CLANG)
        .args(["-fsyntax-only", "-target", "bpf", "-Wall", "-Wextra"])
        .arg("-I")
        .arg(dir)
        .arg(&c)
        .output()
        .expect("running clang-19");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !err.contains("warning:"),
        "clang-19 warns on {}:\n{}",
        c.display(),
        err.lines().take(40).collect::<Vec<_>>().join("\n")
    );
    obj
}

/// The `_Static_assert`s that pin down the layout of every named struct/union (size and the
/// byte offset of every non-bitfield member, through anonymous members), every named enum
/// (size) and every typedef with a size, all taken from the BTF.
pub struct LayoutChecks {
    pub src: String,
    pub records: usize,
    pub members: usize,
    pub others: usize,
}

pub fn c_name<'a>(renames: &'a HashMap<TypeId, String>, id: TypeId, name: &'a str) -> &'a str {
    renames.get(&id).map_or(name, String::as_str)
}

pub fn member_checks<'a>(
    btf: &Btf<'a>,
    out: &mut String,
    record: &str,
    members: impl Iterator<Item = Member<'a>>,
    base_bits: u64,
    count: &mut usize,
) {
    for m in members {
        let off = base_bits + u64::from(m.bit_offset);
        if m.bitfield_size != 0 {
            continue;
        }
        if m.name.is_empty() {
            // An anonymous struct/union: its members are members of the enclosing record.
            let mut id = m.ty;
            let inner = loop {
                let t = btf.type_by_id(id).expect("member type");
                match t.kind {
                    TypeKind::Const { target } | TypeKind::Volatile { target } => id = target,
                    TypeKind::Struct { members, .. } | TypeKind::Union { members, .. }
                        if t.name.is_empty() =>
                    {
                        break Some(members)
                    }
                    _ => break None,
                }
            };
            if let Some(inner) = inner {
                member_checks(btf, out, record, inner.iter(), off, count);
            }
            continue;
        }
        if off % 8 != 0 {
            continue;
        }
        let _ = writeln!(
            out,
            "_Static_assert(__builtin_offsetof({record}, {}) == {}, \"{record}.{}\");",
            m.name,
            off / 8,
            m.name
        );
        *count += 1;
    }
}

pub fn layout_checks(btf: &Btf<'_>, renames: &HashMap<TypeId, String>) -> LayoutChecks {
    let mut c = LayoutChecks {
        src: String::with_capacity(8 << 20),
        records: 0,
        members: 0,
        others: 0,
    };
    for id in 1..btf.len() {
        let t = btf.type_by_id(id).expect("type");
        if t.name.is_empty() {
            continue;
        }
        let name = c_name(renames, id, t.name);
        match t.kind {
            TypeKind::Struct { size, members } | TypeKind::Union { size, members } => {
                let tag = if t.kind_id() == Kind::Struct {
                    "struct"
                } else {
                    "union"
                };
                let record = format!("{tag} {name}");
                let _ = writeln!(
                    c.src,
                    "_Static_assert(sizeof({record}) == {size}, \"sizeof {record}\");"
                );
                c.records += 1;
                member_checks(btf, &mut c.src, &record, members.iter(), 0, &mut c.members);
            }
            TypeKind::Enum { size, values, .. } if !values.is_empty() => {
                let _ = writeln!(
                    c.src,
                    "_Static_assert(sizeof(enum {name}) == {size}, \"sizeof enum {name}\");"
                );
                c.others += 1;
            }
            TypeKind::Enum64 { size, values, .. } if !values.is_empty() => {
                let _ = writeln!(
                    c.src,
                    "_Static_assert(sizeof(enum {name}) == {size}, \"sizeof enum {name}\");"
                );
                c.others += 1;
            }
            TypeKind::Typedef { target } => {
                // The compiler's own type: not redefined by the header.
                if name == "__builtin_va_list" {
                    continue;
                }
                // Typedefs of functions and incomplete types (forward-declared structs and
                // enums) have no size.
                let resolved = btf.skip_mods_and_typedefs(target).expect("typedef target");
                let rt = btf.type_by_id(resolved).expect("type");
                let incomplete = match rt.kind {
                    TypeKind::FuncProto { .. } | TypeKind::Fwd { .. } | TypeKind::Void => true,
                    TypeKind::Enum { values, .. } => values.is_empty(),
                    _ => false,
                };
                if incomplete {
                    continue;
                }
                if let Ok(size) = btf.size_of(id) {
                    let _ = writeln!(
                        c.src,
                        "_Static_assert(sizeof({name}) == {size}, \"sizeof {name}\");"
                    );
                    c.others += 1;
                }
            }
            _ => {}
        }
    }
    c
}

/// Dumps `btf`, compiles the header with the layout checks, and returns the header text and
/// the number of checks.
pub fn check_header_layout(name: &str, btf: &Btf<'_>) -> (String, LayoutChecks) {
    let (header, checks, _) = check_header(name, btf, false);
    (header, checks)
}

/// [`check_header_layout`], then (with `round_trip_too`) the [`round_trip`] comparison.
pub fn check_header(
    name: &str,
    btf: &Btf<'_>,
    round_trip_too: bool,
) -> (String, LayoutChecks, RoundTrip) {
    let mut header = Vec::new();
    let renames = dump_c_with_renames(btf, &mut header, &COptions::default()).expect("C dump");
    let header = String::from_utf8(header).expect("UTF-8 header");
    let renames: HashMap<TypeId, String> = renames.into_iter().collect();
    let checks = layout_checks(btf, &renames);
    let dir = scratch(name);
    std::fs::write(dir.join("vmlinux.h"), &header).expect("writing vmlinux.h");
    let src = format!("#include \"vmlinux.h\"\n\n{}", checks.src);
    compile_clean(&dir, "layout.c", &src);
    let rt = if round_trip_too {
        round_trip(
            &scratch(&format!("{name}_round_trip")),
            btf,
            &header,
            &renames,
        )
    } else {
        RoundTrip::default()
    };
    (header, checks, rt)
}

pub fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

/// The `.BTF` section of an object clang built (extracted with llvm-objcopy-19).
pub fn btf_of_object(obj: &Path) -> Vec<u8> {
    require_tool(
        "llvm-objcopy-19",
        "--version",
        "llvm-19: `apt-get install llvm-19`",
    );
    let out_path = obj.with_extension("btf");
    let out = Command::new("llvm-objcopy-19")
        .arg(format!("--dump-section=.BTF={}", out_path.display()))
        .arg(obj)
        .arg(obj.with_extension("stripped.o"))
        .output()
        .expect("running llvm-objcopy-19");
    assert!(
        out.status.success(),
        "llvm-objcopy-19 could not extract .BTF from {}: {}",
        obj.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    read(&out_path)
}

/// A named member reached from a struct/union, through anonymous members (as C sees it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Leaf {
    pub name: String,
    pub bit_offset: u64,
    pub bitfield_size: u32,
}

pub fn flat_members<'a>(
    btf: &Btf<'a>,
    members: impl Iterator<Item = Member<'a>>,
    base: u64,
    out: &mut Vec<Leaf>,
) {
    for m in members {
        let off = base + u64::from(m.bit_offset);
        if m.name.is_empty() {
            if m.bitfield_size != 0 {
                continue;
            }
            let id = btf.skip_mods_and_typedefs(m.ty).expect("member type");
            if let Some(inner) = btf.type_by_id(id).expect("member type").members() {
                flat_members(btf, inner.iter(), off, out);
            }
            continue;
        }
        out.push(Leaf {
            name: m.name.to_string(),
            bit_offset: off,
            bitfield_size: m.bitfield_size,
        });
    }
}

fn leaves(btf: &Btf<'_>, id: TypeId) -> Vec<Leaf> {
    let mut v = Vec::new();
    if let Some(members) = btf.type_by_id(id).expect("type").members() {
        flat_members(btf, members.iter(), 0, &mut v);
    }
    v.sort();
    v
}

/// What a round trip compared.
#[derive(Debug, Default)]
pub struct RoundTrip {
    pub records: usize,
    pub leaves: usize,
    pub enums: usize,
}

/// Compiles `header` with a global of every named struct, union and enum of `btf` using `-g`,
/// and compares the BTF clang produces from the header with the original: every record has the
/// same size and the same named members at the same bit offsets with the same bitfield widths
/// (bitfields included), every enum the same size and values.
pub fn round_trip(
    dir: &Path,
    btf: &Btf<'_>,
    header: &str,
    renames: &HashMap<TypeId, String>,
) -> RoundTrip {
    std::fs::write(dir.join("vmlinux.h"), header).expect("writing vmlinux.h");
    let mut wanted = Vec::new();
    for id in 1..btf.len() {
        let t = btf.type_by_id(id).expect("type");
        if t.name.is_empty() {
            continue;
        }
        let name = c_name(renames, id, t.name).to_string();
        let tag = match t.kind {
            TypeKind::Struct { .. } => "struct",
            TypeKind::Union { .. } => "union",
            TypeKind::Enum { values, .. } if !values.is_empty() => "enum",
            TypeKind::Enum64 { values, .. } if !values.is_empty() => "enum",
            _ => continue,
        };
        wanted.push((id, name, tag));
    }
    // clang's BTF generation slows down more than linearly with the number of types in one
    // unit: compile the globals in chunks, a few at a time.
    const CHUNK: usize = 700;
    let chunks: Vec<&[(TypeId, String, &str)]> = wanted.chunks(CHUNK).collect();
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut blobs: Vec<Vec<u8>> = Vec::with_capacity(chunks.len());
    for group in chunks.chunks(parallel) {
        let base = blobs.len();
        let done: Vec<Vec<u8>> = std::thread::scope(|scope| {
            let handles: Vec<_> = group
                .iter()
                .enumerate()
                .map(|(i, chunk)| {
                    scope.spawn(move || {
                        let mut src = String::from("#include \"vmlinux.h\"\n");
                        for (id, name, tag) in chunk.iter() {
                            let _ = writeln!(src, "{tag} {name} __rt_{id};");
                        }
                        let obj = compile(dir, &format!("round_trip_{}.c", base + i), &src, &[]);
                        btf_of_object(&obj)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("round-trip compile thread"))
                .collect()
        });
        blobs.extend(done);
    }
    let mut rt = RoundTrip::default();
    for (chunk, data) in chunks.iter().zip(&blobs) {
        let back = Btf::parse(data).expect("parsing clang's BTF of the header");
        compare_chunk(btf, &back, chunk, &mut rt);
    }
    rt
}

fn compare_chunk(
    btf: &Btf<'_>,
    back: &Btf<'_>,
    chunk: &[(TypeId, String, &str)],
    rt: &mut RoundTrip,
) {
    for (id, name, _) in chunk {
        let (id, name) = (*id, name.as_str());
        let t = btf.type_by_id(id).expect("type");
        match t.kind {
            TypeKind::Struct { size, .. } | TypeKind::Union { size, .. } => {
                let kind = t.kind_id();
                let bid = back
                    .find_by_name_kind(name, kind)
                    .unwrap_or_else(|| panic!("{kind} {name} missing from the header's BTF"));
                let bt = back.type_by_id(bid).expect("type");
                let bsize = match bt.kind {
                    TypeKind::Struct { size, .. } | TypeKind::Union { size, .. } => size,
                    _ => unreachable!("looked up by kind"),
                };
                assert_eq!(bsize, size, "size of {kind} {name} [{id}]");
                let want = leaves(btf, id);
                let got = leaves(back, bid);
                assert_eq!(got, want, "members of {kind} {name} [{id}]");
                rt.records += 1;
                rt.leaves += want.len();
            }
            TypeKind::Enum { size, .. } | TypeKind::Enum64 { size, .. } => {
                let bid = back
                    .find_by_name_kind(name, Kind::Enum)
                    .or_else(|| back.find_by_name_kind(name, Kind::Enum64))
                    .unwrap_or_else(|| panic!("enum {name} missing from the header's BTF"));
                let bt = back.type_by_id(bid).expect("type");
                let bsize = match bt.kind {
                    TypeKind::Enum { size, .. } | TypeKind::Enum64 { size, .. } => size,
                    _ => unreachable!("looked up by kind"),
                };
                assert_eq!(bsize, size, "size of enum {name} [{id}]");
                let want = values_of(&t);
                let got = values_of(&bt);
                assert_eq!(got.len(), want.len(), "values of enum {name} [{id}]");
                for ((gn, gv), (wn, wv)) in got.iter().zip(&want) {
                    assert!(
                        gn == wn
                            || gn
                                .strip_prefix(wn.as_str())
                                .is_some_and(|s| s.starts_with("___")),
                        "enum {name}: enumerator {gn} for {wn}"
                    );
                    // Values compare as bit patterns of the enum's size.
                    let mask = if size >= 8 {
                        u64::MAX
                    } else {
                        (1u64 << (size * 8)) - 1
                    };
                    assert_eq!(
                        (*gv as u64) & mask,
                        (*wv as u64) & mask,
                        "enum {name}: {wn}"
                    );
                }
                rt.enums += 1;
            }
            _ => {}
        }
    }
}

fn values_of(t: &corebpf_btf::Type<'_>) -> Vec<(String, i128)> {
    match t.kind {
        TypeKind::Enum { values, .. } => values
            .iter()
            .map(|v| (v.name.to_string(), v.value))
            .collect(),
        TypeKind::Enum64 { values, .. } => values
            .iter()
            .map(|v| (v.name.to_string(), v.value))
            .collect(),
        _ => Vec::new(),
    }
}
