//! `corebpf load` against the running kernel, checked with bpftool (pins, BTF-formatted map
//! contents, libbpf's own CO-RE log) and the C sources of the refused test programs. Needs root.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use corebpf_testdata::Cpu;

fn corebpf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corebpf"))
        .args(args)
        .output()
        .expect("run corebpf")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn bpftool(args: &[&str]) -> String {
    let out = Command::new("bpftool")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("bpftool is needed: {e}"));
    assert!(
        out.status.success(),
        "bpftool {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// A fresh directory under /sys/fs/bpf, removed on drop.
struct PinDir(PathBuf);

impl PinDir {
    fn new(tag: &str) -> PinDir {
        PinDir(PathBuf::from(format!(
            "/sys/fs/bpf/corebpf-cli-{}-{tag}",
            std::process::id()
        )))
    }
    fn s(&self) -> &str {
        self.0.to_str().expect("utf-8")
    }
}

impl Drop for PinDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn obj(name: &str) -> &'static str {
    corebpf_testdata::object(name, Cpu::V3)
        .to_str()
        .expect("utf-8 path")
}

fn compile_bad(name: &str) -> PathBuf {
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../tests/bpf/bad/{name}.bpf.c"));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}.bpf.o"));
    let status = Command::new("clang-19")
        .args([
            "-g",
            "-O2",
            "-target",
            "bpf",
            "-I/usr/include/x86_64-linux-gnu",
            "-c",
        ])
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("clang-19 is needed (apt-get install clang-19): {e}"));
    assert!(status.success(), "clang-19 {}", src.display());
    out
}

fn fail_line(name: &str) -> (usize, String) {
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../tests/bpf/bad/{name}.bpf.c"));
    let t = std::fs::read_to_string(src).expect("source");
    t.lines()
        .enumerate()
        .find(|(_, l)| l.contains("/* FAIL */"))
        .map(|(i, l)| (i + 1, l.trim().to_string()))
        .expect("FAIL marker")
}

#[test]
fn load_pin_and_set_globals() {
    let dir = PinDir::new("pin");
    let out = corebpf(&[
        "load",
        obj("core_fields"),
        "--pin",
        dir.s(),
        "--set",
        "target_tgid=4242",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}{}", stdout, text(&out.stderr));
    assert!(
        stdout.contains("core_probe") && stdout.contains("tracepoint"),
        "{stdout}"
    );
    for name in ["core_probe", "results", "core_fie_bss"] {
        assert!(dir.0.join(name).exists(), "pinned {name}:\n{stdout}");
    }
    let prog = bpftool(&[
        "-j",
        "prog",
        "show",
        "pinned",
        &format!("{}/core_probe", dir.s()),
    ]);
    assert!(
        prog.contains("\"name\":\"core_probe\"") && prog.contains("\"type\":\"tracepoint\""),
        "{prog}"
    );
    // bpftool formats the .bss value with the object's BTF: the variable has the value set.
    let bss = bpftool(&[
        "-j",
        "map",
        "dump",
        "pinned",
        &format!("{}/core_fie_bss", dir.s()),
    ]);
    assert!(bss.contains("\"target_tgid\":4242"), "{bss}");
}

#[test]
fn without_pin_everything_is_released() {
    let out = corebpf(&["load", obj("globals")]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("not pinned"), "{stdout}");
    assert!(
        stdout.contains("globals.rodata"),
        "libbpf's internal map name: {stdout}"
    );
}

#[test]
fn pin_dir_must_be_on_bpffs() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("not-bpffs");
    let out = corebpf(&[
        "load",
        obj("globals"),
        "--pin",
        dir.to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains(&format!(
            "{} is not on a BPF filesystem (mount one: mount -t bpf bpf /sys/fs/bpf)",
            dir.display()
        )),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn verbose_lists_every_core_relocation_as_libbpf_does() {
    let out = corebpf(&["load", obj("core_fields"), "--verbose"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ours = text(&out.stdout)
        .lines()
        .filter(|l| l.trim_start().starts_with("CO-RE"))
        .count();
    // libbpf's debug log names each relocation it applies as `relo #N:`.
    let dir = PinDir::new("verbose");
    let log = Command::new("bpftool")
        .args(["-d", "prog", "loadall", obj("core_fields"), dir.s()])
        .output()
        .expect("bpftool");
    assert!(log.status.success(), "{}", text(&log.stderr));
    let mut relos: Vec<String> = text(&log.stderr)
        .lines()
        .filter(|l| l.contains("prog '"))
        .filter_map(|l| l.split("relo #").nth(1))
        .filter_map(|r| r.split(':').next())
        .map(str::to_string)
        .collect();
    relos.sort();
    relos.dedup();
    assert!(ours > 0);
    assert_eq!(ours, relos.len(), "CO-RE relocations: ours vs libbpf's");
}

#[test]
fn tracing_programs_refused_by_this_host_say_why() {
    let out = corebpf(&["load", obj("fentry")]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("Operation not permitted") && err.contains("trampolines"),
        "{err}"
    );
}

#[test]
fn verifier_rejection_is_explained() {
    let o = compile_bad("null_check");
    let out = corebpf(&["load", o.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    let (line, src) = fail_line("null_check");
    for part in [
        "missing_null_check",
        "R0 invalid mem access 'map_value_or_null'",
        &format!("null_check.bpf.c:{line}"),
        &src,
        "hint: missing NULL check",
        "verifier log",
    ] {
        assert!(err.contains(part), "lacks {part:?}:\n{err}");
    }
}

#[test]
fn uninitialized_stack_read_without_perfmon() {
    // With CAP_PERFMON the verifier allows reading uninitialized stack; without it (and without
    // CAP_SYS_ADMIN), it refuses.
    let o = compile_bad("uninit_stack");
    let out = Command::new("setpriv")
        .args(["--bounding-set=-perfmon,-sys_admin", "--"])
        .arg(env!("CARGO_BIN_EXE_corebpf"))
        .arg("load")
        .arg(&o)
        .output()
        .unwrap_or_else(|e| panic!("setpriv (util-linux) is needed: {e}"));
    assert!(!out.status.success(), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    let (line, src) = fail_line("uninit_stack");
    for part in [
        "invalid read from stack",
        &format!("uninit_stack.bpf.c:{line}"),
        &src,
        "hint: reading uninitialized stack memory",
    ] {
        assert!(err.contains(part), "lacks {part:?}:\n{err}");
    }
}

#[test]
fn unknown_global_is_an_error() {
    let out = corebpf(&["load", obj("globals"), "--set", "no_such_var=1"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("no_such_var") && err.contains("no such global"),
        "{err}"
    );
}
