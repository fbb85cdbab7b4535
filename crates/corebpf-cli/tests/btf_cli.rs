//! `corebpf btf dump` and `corebpf btf find` against bpftool on kernel BTF, split BTF,
//! and clang-built objects.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

fn corebpf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corebpf"))
        .args(args)
        .output()
        .expect("running corebpf")
}

fn stdout_ok(args: &[&str]) -> String {
    let out = corebpf(args);
    assert!(
        out.status.success(),
        "corebpf {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn bpftool_raw(file: &Path, base: Option<&Path>) -> String {
    let mut cmd = Command::new("bpftool");
    if let Some(b) = base {
        cmd.arg("-B").arg(b);
    }
    let out = cmd
        .args(["btf", "dump", "file"])
        .arg(file)
        .args(["format", "raw"])
        .output()
        .unwrap_or_else(|e| panic!("this test needs bpftool (apt-get install bpftool): {e}"));
    assert!(out.status.success(), "bpftool failed on {}", file.display());
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/btf")
        .join(name)
}

fn first_diff(a: &str, b: &str) -> String {
    let i = a
        .lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .unwrap_or(0);
    format!(
        "line {}: ours {:?} / bpftool {:?}",
        i + 1,
        a.lines().nth(i),
        b.lines().nth(i)
    )
}

#[test]
fn btf_dump_defaults_to_kernel_btf_and_matches_bpftool() {
    let ours = stdout_ok(&["btf", "dump"]);
    let theirs = bpftool_raw(Path::new(VMLINUX), None);
    assert!(ours == theirs, "{}", first_diff(&ours, &theirs));
    let explicit = stdout_ok(&["btf", "dump", VMLINUX, "--format", "raw"]);
    assert!(explicit == theirs);
}

#[test]
fn btf_dump_split_btf_with_base_matches_bpftool() {
    let (base, split) = (corpus("btf_testmod.btf.base"), corpus("btf_testmod.btf"));
    let ours = stdout_ok(&[
        "btf",
        "dump",
        split.to_str().expect("path"),
        "--base",
        base.to_str().expect("path"),
    ]);
    let theirs = bpftool_raw(&split, Some(&base));
    assert!(ours == theirs, "{}", first_diff(&ours, &theirs));
}

#[test]
fn btf_dump_of_elf_objects_matches_bpftool() {
    for o in corebpf_testdata::objects() {
        let path = o.path().to_str().expect("path");
        let ours = stdout_ok(&["btf", "dump", path]);
        let theirs = bpftool_raw(o.path(), None);
        assert!(
            ours == theirs,
            "{}: {}",
            o.label(),
            first_diff(&ours, &theirs)
        );
    }
}

/// `[id] KIND 'name' size=N vlen=M` of bpftool's listing.
fn bpftool_header_lines(name: &str) -> Vec<(u32, String, String)> {
    bpftool_raw(Path::new(VMLINUX), None)
        .lines()
        .filter(|l| l.starts_with('[') && l.contains(&format!(" '{name}'")))
        .map(|l| {
            let (id, rest) = l[1..].split_once("] ").expect("id");
            let (kind, rest) = rest.split_once(' ').expect("kind");
            (id.parse().expect("id"), kind.to_owned(), rest.to_owned())
        })
        .collect()
}

#[test]
fn btf_find_prints_each_type_with_the_name() {
    let ours = stdout_ok(&["btf", "find", "task_struct"]);
    let want = bpftool_header_lines("task_struct");
    assert!(!want.is_empty());
    assert_eq!(ours.lines().count(), want.len(), "{ours}");
    for ((id, kind, rest), line) in want.iter().zip(ours.lines()) {
        assert!(
            line.starts_with(&format!("[{id}] {kind} task_struct")),
            "{line}"
        );
        if kind == "STRUCT" {
            // bpftool: "'task_struct' size=3264 vlen=248"
            let size = rest
                .split("size=")
                .nth(1)
                .and_then(|s| s.split(' ').next())
                .expect("size");
            let vlen = rest.split("vlen=").nth(1).expect("vlen");
            assert!(
                line.contains(&format!("(size {size}, {vlen} members)")),
                "{line}"
            );
        }
    }
    // Several types can share a name (a typedef and a struct, say).
    let many = stdout_ok(&["btf", "find", VMLINUX, "pid_t"]);
    let want = bpftool_header_lines("pid_t");
    assert_eq!(many.lines().count(), want.len());
    for ((id, kind, _), line) in want.iter().zip(many.lines()) {
        assert!(line.starts_with(&format!("[{id}] {kind} pid_t")), "{line}");
    }
}

#[test]
fn btf_find_in_an_elf_object() {
    let o = corebpf_testdata::objects()
        .iter()
        .find(|o| o.name == "globals")
        .expect("the globals test program");
    let path = o.path().to_str().expect("path");
    let dump = bpftool_raw(o.path(), None);
    // The first named FUNC of the object, looked up by name.
    let line = dump
        .lines()
        .find(|l| l.contains("] FUNC '"))
        .expect("a FUNC");
    let (id, rest) = line[1..].split_once("] FUNC '").expect("id");
    let name = rest.split('\'').next().expect("name");
    let out = stdout_ok(&["btf", "find", path, name]);
    assert!(out.starts_with(&format!("[{id}] FUNC {name} (")), "{out}");
}

#[test]
fn btf_errors_name_the_file_and_the_problem() {
    let out = corebpf(&["btf", "find", "no_such_type_in_any_kernel"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no type named 'no_such_type_in_any_kernel'")
    );

    let out = corebpf(&["btf", "dump", "/nonexistent/file.btf"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/file.btf: cannot read"), "{err}");

    let dir = std::env::temp_dir().join(format!("corebpf-btf-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let junk = dir.join("junk.bin");
    std::fs::write(&junk, b"definitely not BTF").expect("write");
    let out = corebpf(&["btf", "dump", junk.to_str().expect("path")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("junk.bin: neither raw BTF"), "{err}");

    // A truncated kernel BTF: the error names the file and the section.
    let data = std::fs::read(VMLINUX).expect("kernel BTF");
    let cut = dir.join("cut.btf");
    std::fs::write(&cut, &data[..data.len() / 2]).expect("write");
    let out = corebpf(&["btf", "dump", cut.to_str().expect("path")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("cut.btf: invalid BTF") && err.contains("section"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn btf_find_on_self_referencing_prototypes_finishes() {
    use corebpf_btf::{BtfBuilder, FuncLinkage, IntEncoding, Kind};
    // [1] int, [2] FUNC_PROTO int (p0..p39: [3]), [3] PTR -> [2], [4] FUNC f: [2].
    let mut b = BtfBuilder::new();
    let int = b
        .add_int("int", 4, IntEncoding(IntEncoding::SIGNED), 0, 32)
        .expect("int");
    let names: Vec<String> = (0..40).map(|i| format!("p{i}")).collect();
    let params: Vec<(&str, u32)> = names.iter().map(|n| (n.as_str(), 3)).collect();
    let proto = b.add_func_proto(int, &params).expect("proto");
    b.add_ref(Kind::Ptr, "", proto).expect("ptr");
    b.add_func("f", proto, FuncLinkage::Global).expect("func");
    let blob = b.finish().expect("blob");
    let dir = std::env::temp_dir().join(format!("corebpf-btf-cli-loop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let file = dir.join("loop.btf");
    std::fs::write(&file, blob).expect("write");
    let start = std::time::Instant::now();
    let out = stdout_ok(&["btf", "find", file.to_str().expect("path"), "f"]);
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    assert!(out.starts_with("[4] FUNC f (global, int f("), "{out}");
    assert!(out.contains("/* 24 more */"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
