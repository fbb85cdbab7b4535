//! Helpers shared by the BTF integration tests: oracles (bpftool, clang-19, llvm tools),
//! test data and scratch directories.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use corebpf_btf::Btf;

pub const CLANG: &str = "clang-19";
pub const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// `/work/shared/corpora/btf/<name>` (via the repository-relative path).
pub fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/btf")
        .join(name)
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

pub fn read_gz(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(read(path).as_slice())
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("decompressing {}: {e}", path.display()));
    out
}

/// Fails the test with an install hint when `tool` cannot run.
pub fn require_tool(tool: &str, arg: &str, hint: &str) {
    let ok = Command::new(tool)
        .arg(arg)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(ok, "this test needs `{tool}`, which is missing: {hint}");
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("corebpf-btf-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a scratch directory");
    dir
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", p.display()));
    p
}

/// Compiles `src` (a path) with `clang-19 -g -O2 -target <target>` into `dir`.
pub fn compile(dir: &Path, src: &Path, target: &str, extra: &[&str]) -> PathBuf {
    require_tool(CLANG, "--version", "apt-get install clang-19");
    let stem = src
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or("prog")
        .trim_end_matches(".c");
    let out = dir.join(format!("{stem}.{target}.o"));
    let res = Command::new(CLANG)
        .args(["-g", "-O2", "-target", target])
        .args(extra)
        .arg("-c")
        .arg(src)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("running clang-19");
    assert!(
        res.status.success(),
        "clang-19 failed on {}:\n{}",
        src.display(),
        String::from_utf8_lossy(&res.stderr)
    );
    out
}

/// A file in this crate's `tests/data`.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The bytes of an ELF section, if present.
pub fn elf_section(elf: &[u8], name: &str) -> Option<Vec<u8>> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(elf).expect("a readable ELF object");
    let sec = file.section_by_name(name)?;
    Some(sec.data().expect("readable section data").to_vec())
}

/// `bpftool btf dump file FILE format raw` (with `-B BASE` for split BTF).
pub fn bpftool_raw(file: &Path, base: Option<&Path>) -> String {
    require_tool("bpftool", "version", "apt-get install bpftool");
    let mut cmd = Command::new("bpftool");
    if let Some(b) = base {
        cmd.arg("-B").arg(b);
    }
    let out = cmd
        .args(["btf", "dump", "file"])
        .arg(file)
        .args(["format", "raw"])
        .output()
        .expect("running bpftool");
    assert!(
        out.status.success(),
        "bpftool failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("bpftool prints UTF-8")
}

/// Our raw dump as a string.
pub fn our_raw(btf: &Btf<'_>) -> String {
    let mut out = Vec::new();
    corebpf_btf::dump_raw(btf, &mut out).expect("writing to a Vec");
    String::from_utf8(out).expect("raw dump is UTF-8")
}

/// Asserts two dumps are identical, showing the first differing line.
pub fn assert_same_dump(what: &str, ours: &str, theirs: &str) {
    if ours == theirs {
        return;
    }
    let (a, b): (Vec<_>, Vec<_>) = (ours.lines().collect(), theirs.lines().collect());
    let i = a
        .iter()
        .zip(&b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    panic!(
        "{what}: raw dump differs from bpftool at line {} (ours {} lines, bpftool {}):\n  ours:    {:?}\n  bpftool: {:?}",
        i + 1,
        a.len(),
        b.len(),
        a.get(i),
        b.get(i)
    );
}

/// Leaks a value so borrowed BTF can refer to it for the rest of the test.
pub fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}
