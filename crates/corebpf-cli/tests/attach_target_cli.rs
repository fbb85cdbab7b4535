//! `corebpf load|run --attach-target`: the target forms and their errors, on this host. The
//! extension and fentry loads themselves are refused here (BPF trampolines are forbidden by the
//! host's policy) after the target was resolved; the qemu guest suite attaches them for real
//! (tests/vm/guest-freplace.sh). Needs root and clang-19.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use corebpf::compile::{compile, CompileOptions};

fn corebpf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corebpf"))
        .args(args)
        .output()
        .expect("run corebpf")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Compiles `tests/vm/bpf/NAME.bpf.c` once per test binary, named `NAME.o`.
fn object(name: &str) -> String {
    static LOCK: OnceLock<std::sync::Mutex<()>> = OnceLock::new();
    let _g = LOCK
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../tests/vm/bpf/{name}.bpf.c"));
    let dir = std::env::temp_dir().join(format!("corebpf-cli-freplace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = dir.join(format!("{name}.o"));
    if !out.exists() {
        compile(&src, &out, &CompileOptions::default())
            .unwrap_or_else(|e| panic!("compile {}: {e}", src.display()));
    }
    out.to_str().expect("utf-8").to_string()
}

/// A fresh directory under /sys/fs/bpf, removed on drop.
struct PinDir(PathBuf);

impl PinDir {
    fn new(tag: &str) -> PinDir {
        PinDir(PathBuf::from(format!(
            "/sys/fs/bpf/corebpf-cli-freplace-{}-{tag}",
            std::process::id()
        )))
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().expect("utf-8").to_string()
    }
}

impl Drop for PinDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Expects `out` to fail with exactly `want` on standard error.
fn fails_with(out: &Output, want: &str) {
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert_eq!(text(&out.stderr).trim_end(), want);
}

#[test]
fn malformed_and_missing_targets() {
    let ext = object("freplace");
    fails_with(
        &corebpf(&["load", &ext, "--attach-target", "id:abc"]),
        "corebpf: attach target id:abc: `abc` is not a program id (expected id:N with N a positive integer)",
    );
    fails_with(
        &corebpf(&["load", &ext, "--attach-target", "count_sync"]),
        "corebpf: attach target count_sync: expected id:N, pinned:PATH or an absolute path on bpffs (e.g. /sys/fs/bpf/NAME), not `count_sync`",
    );
    fails_with(
        &corebpf(&["load", &ext, "--attach-target", "pinned:/sys/fs/bpf/corebpf-no-such-pin"]),
        "corebpf: attach target program pinned at /sys/fs/bpf/corebpf-no-such-pin: nothing is pinned there",
    );
    fails_with(
        &corebpf(&["load", &ext]),
        "corebpf: program decide_two (freplace/decide): an extension (freplace) program needs a target program: OpenObject::set_attach_target, or `--attach-target` on the command line",
    );
    // fentry on a function the kernel does not have, and no target program given.
    fails_with(
        &corebpf(&["load", &object("freplace_trace")]),
        "corebpf: program decide_entry (fentry/decide): attach target `decide` not found: the kernel's BTF has no FUNC `decide` (for a function of a loaded BPF program, name that program with OpenObject::set_attach_target or `--attach-target`)",
    );
    fails_with(
        &corebpf(&["load", &object("freplace_target"), "--attach-target", "id:1"]),
        "corebpf: --attach-target id:1: attach target program id 1: object freplace_target has no freplace, fentry, fexit or fmod_ret program to attach to it",
    );
}

#[test]
fn a_pinned_target_resolves_and_the_host_refuses_the_trampoline() {
    let pins = PinDir::new("target");
    let dir = pins.0.to_str().unwrap().to_string();
    let out = corebpf(&["load", &object("freplace_target"), "--pin", &dir]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let target = pins.path("count_sync");

    // A map is not a program.
    fails_with(
        &corebpf(&[
            "load",
            &object("freplace"),
            "--attach-target",
            &pins.path("freplace_bss"),
        ]),
        &format!(
            "corebpf: attach target program pinned at {}: this is a BPF map, not a program",
            pins.path("freplace_bss")
        ),
    );

    for (cmd, file) in [
        (vec!["load"], object("freplace")),
        (vec!["load"], object("freplace_trace")),
        (vec!["run"], object("freplace")),
        (vec!["run"], object("freplace_trace")),
    ] {
        let mut args: Vec<&str> = cmd.clone();
        let t = format!("pinned:{target}");
        args.extend([file.as_str(), "--attach-target", t.as_str()]);
        if cmd == ["run"] {
            args.extend(["--", "true"]);
        }
        let out = corebpf(&args);
        let err = text(&out.stderr);
        if out.status.success() {
            // A host that allows BPF trampolines: the target is named in the listing.
            if cmd == ["load"] {
                assert!(
                    text(&out.stdout).contains("target decide of program count_sync (id "),
                    "{}",
                    text(&out.stdout)
                );
            }
            continue;
        }
        assert!(
            err.contains("the kernel refused to load it: prog load: Operation not permitted")
                && err.contains("freplace")
                && err.contains("trampolines"),
            "{args:?}: {err}"
        );
    }
}
