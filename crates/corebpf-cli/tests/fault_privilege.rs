//! Without privilege, `corebpf load`, `run` and `prog list` fail with one sentence naming the
//! capability that is missing, exit 1, run nothing and leave nothing in the kernel. The built
//! binary runs as `nobody` (uid 65534) through util-linux's `setpriv`, with no capability or
//! with CAP_BPF alone.
//!
//! Needs root (to drop privileges), setpriv, clang-19 and bpftool.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// Names no other test uses: what appears in the kernel under them came from here.
const SOURCE: &str = r#"
#include "vmlinux.h"
#include <corebpf/bpf.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} fpriv_map SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int fpriv_prog(void *ctx)
{
	__u32 k = 0;
	__u64 one = 1;
	bpf_map_update_elem(&fpriv_map, &k, &one, BPF_ANY);
	return 0;
}

COREBPF_LICENSE("GPL");
"#;

fn corebpf() -> &'static str {
    env!("CARGO_BIN_EXE_corebpf")
}

/// A directory `nobody` can read, holding the source and its object.
fn world_readable_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("corebpf-fault-priv-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

fn build(dir: &Path) -> (PathBuf, PathBuf) {
    let src = dir.join("fpriv.bpf.c");
    std::fs::write(&src, SOURCE).expect("write");
    let obj = dir.join("fpriv.bpf.o");
    corebpf::compile::compile(&src, &obj, &Default::default())
        .unwrap_or_else(|e| panic!("compiling the test program: {e}"));
    for f in [&src, &obj] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    (src, obj)
}

/// `corebpf ARGS` as uid/gid 65534 with only the capabilities in `caps` (setpriv names,
/// e.g. `bpf`), in `dir`.
fn as_nobody(dir: &Path, caps: &[&str], args: &[&str]) -> Output {
    let caps: String = caps.iter().map(|c| format!(",+{c}")).collect();
    Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            &format!("--inh-caps=-all{caps}"),
            &format!("--ambient-caps=-all{caps}"),
        ])
        .arg(corebpf())
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .output()
        .expect("setpriv (util-linux) must be installed")
}

/// Names of every program and map in the kernel (bpftool).
fn kernel_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for kind in ["prog", "map"] {
        let out = Command::new("bpftool")
            .args(["-j", kind, "show"])
            .output()
            .expect("bpftool must be installed (apt-get install bpftool)");
        assert!(out.status.success(), "bpftool {kind} show");
        let v: Value = serde_json::from_slice(&out.stdout).expect("bpftool JSON");
        names.extend(
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| o.get("name")?.as_str().map(str::to_string)),
        );
    }
    names
}

fn assert_refused(out: &Output, message: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err, format!("corebpf: {message}\n"));
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn unprivileged_commands_name_the_missing_capability() {
    let dir = world_readable_dir();
    let (src, obj) = build(&dir);
    let (src, obj) = (src.to_str().expect("utf-8"), obj.to_str().expect("utf-8"));
    let marker = dir.join("the-command-ran");
    let marker = marker.to_str().expect("utf-8");

    // No capability at all.
    assert_refused(
        &as_nobody(&dir, &[], &["load", obj]),
        "corebpf load needs root (CAP_BPF and CAP_PERFMON)",
    );
    assert_refused(
        &as_nobody(&dir, &[], &["run", obj, "--", "touch", marker]),
        "corebpf run needs root (CAP_BPF and CAP_PERFMON)",
    );
    assert_refused(
        &as_nobody(&dir, &[], &["run", src, "--", "touch", marker]),
        "corebpf run needs root (CAP_BPF and CAP_PERFMON)",
    );
    assert_refused(
        &as_nobody(&dir, &[], &["prog", "list"]),
        "corebpf prog list needs root (CAP_SYS_ADMIN)",
    );

    // CAP_BPF alone: maps can be made, a tracing program cannot be loaded.
    assert_refused(
        &as_nobody(&dir, &["bpf"], &["load", obj]),
        "corebpf load needs root (CAP_PERFMON)",
    );
    assert_refused(
        &as_nobody(&dir, &["bpf"], &["run", obj, "--", "touch", marker]),
        "corebpf run needs root (CAP_PERFMON)",
    );
    assert_refused(
        &as_nobody(&dir, &["bpf"], &["prog", "list"]),
        "corebpf prog list needs root (CAP_SYS_ADMIN)",
    );

    assert!(!Path::new(marker).exists(), "a refused run ran its command");
    // A map the CAP_BPF load made before its program was refused goes with its last fd.
    for _ in 0..50 {
        let names = kernel_names();
        if !names.contains("fpriv_prog") && !names.contains("fpriv_map") {
            std::fs::remove_dir_all(&dir).ok();
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("fpriv_prog or fpriv_map left in the kernel");
}
