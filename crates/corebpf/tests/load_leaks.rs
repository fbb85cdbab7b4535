//! Failed loads leave nothing behind: no map, program, BTF or link fd in this process, no map or
//! program of the object's in the kernel, no pin. One test, so nothing else in this process
//! opens BPF objects meanwhile.

mod common;

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use common::*;
use corebpf::{LoadError, OpenObject};
use corebpf_sys::bpf::{self, ObjKind};
use corebpf_testdata::Cpu;

/// BPF objects this process holds open (`/proc/self/fd` links to `anon_inode:bpf-*`/`btf`).
fn bpf_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter(|t| {
            let t = t.to_string_lossy();
            t.starts_with("anon_inode:bpf-") || t.starts_with("anon_inode:btf")
        })
        .count()
}

/// Names of maps and programs now in the kernel.
fn kernel_names(kind: ObjKind) -> Vec<String> {
    bpf::ids(kind)
        .expect("ids")
        .into_iter()
        .filter_map(|id| bpf::fd_by_id(kind, id).ok())
        .filter_map(|fd| match kind {
            ObjKind::Map => bpf::map_info(fd.as_fd())
                .ok()
                .map(|i| bpf::attr::name_str(&i.name)),
            _ => bpf::prog_info(fd.as_fd())
                .ok()
                .map(|i| bpf::attr::name_str(&i.name)),
        })
        .collect()
}

fn compile_bad(name: &str) -> PathBuf {
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../tests/bpf/bad/{name}.bpf.c"));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("leak-{name}.bpf.o"));
    let status = std::process::Command::new("clang-19")
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

fn assert_clean(case: &str, before: usize, names: &[&str]) {
    assert_eq!(bpf_fds(), before, "{case}: BPF fds left open");
    // The kernel frees a map or program from a work queue after its last reference goes: give
    // it a moment before calling anything left over a leak.
    let mut left = Vec::new();
    for _ in 0..50 {
        let maps = kernel_names(ObjKind::Map);
        let progs = kernel_names(ObjKind::Prog);
        left = names
            .iter()
            .filter(|n| maps.iter().chain(&progs).any(|m| m == *n))
            .collect::<Vec<_>>();
        if left.is_empty() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{case}: {left:?} left in the kernel");
}

#[test]
fn failed_loads_leave_nothing_behind() {
    let before = bpf_fds();

    // A map the kernel refuses (E2BIG), created after another map.
    let err = OpenObject::open(compile_bad("huge_map"))
        .expect("open")
        .load()
        .expect_err("refused");
    assert!(
        matches!(&err, LoadError::Map { map, .. } if map == "leak_huge"),
        "{err}"
    );
    assert!(err.to_string().contains("Argument list too long"), "{err}");
    assert_clean(
        "huge map",
        before,
        &["leak_small", "leak_huge", "uses_both"],
    );

    // A verifier rejection after the maps were created.
    let err = OpenObject::open(compile_bad("null_check"))
        .expect("open")
        .load()
        .expect_err("refused");
    assert!(matches!(err, LoadError::Verifier { .. }), "{err}");
    assert_clean("verifier", before, &["nc_counts", "missing_null_ch"]);

    // Tracing programs the host refuses (EPERM) after BTF, maps and .kconfig were set up.
    let err = OpenObject::open(corebpf_testdata::object("fentry", Cpu::V3))
        .expect("open")
        .load()
        .expect_err("refused");
    assert!(matches!(err, LoadError::ProgramRefused { .. }), "{err}");
    assert_clean("fentry", before, &["unlink_start", "unlink_entry"]);

    // An incompatible pinned map, met after another map was created and pinned: the earlier pin
    // is removed, the foreign one stays.
    let pins = PinDir::new("leak");
    let foreign = bpf::map_create(&bpf::attr::MapCreateAttr {
        map_type: 1,
        key_size: 8,
        value_size: 8,
        max_entries: 4,
        map_name: bpf::attr::obj_name("outer_hash"),
        ..Default::default()
    })
    .expect("map create");
    let foreign_path = pins.path().join("outer_hash");
    bpf::obj_pin(foreign.as_fd(), &foreign_path.to_string_lossy()).expect("pin");
    drop(foreign);
    let fds = bpf_fds();
    let err = OpenObject::open(corebpf_testdata::object("maps", Cpu::V3))
        .expect("open")
        .load_with(&opts(&pins))
        .expect_err("incompatible pinned map");
    let text = err.to_string();
    assert!(
        text.contains("outer_hash") && text.contains("incompatible") && text.contains("type 1"),
        "{text}"
    );
    assert!(
        !pins.path().join("flows").exists(),
        "pin made by the failed load removed"
    );
    assert!(foreign_path.exists(), "the foreign pin is untouched");
    assert_eq!(bpf_fds(), fds, "incompatible pin: BPF fds left open");
    drop(pins);

    // Malformed and foreign-endian objects: refused before touching the kernel.
    let good = std::fs::read(corebpf_testdata::object("globals", Cpu::V3)).expect("object");
    let err = OpenObject::open_bytes("truncated", &good[..good.len() / 3]).expect_err("truncated");
    assert!(matches!(err, LoadError::Parse { .. }), "{err}");
    let be = corebpf_testdata::find_big_endian("globals").expect("big-endian build");
    let err = OpenObject::open(be.path())
        .expect("open")
        .load()
        .expect_err("big-endian");
    assert!(matches!(err, LoadError::BigEndian { .. }), "{err}");
    assert_eq!(bpf_fds(), before, "after malformed objects");
}
