//! C objects that cannot be linked: each gives a named error (map, extern, program, instruction)
//! and never a panic. Built from `tests/bpf/link_errors.bpf.c`, one `-D` case per row.

use std::path::Path;
use std::process::Command;

use corebpf_btf::Btf;
use corebpf_obj::link::{KernelConfig, Target};
use corebpf_obj::Object;

/// (case, what the error must say).
const CASES: &[(&str, &[&str])] = &[
    ("ARRAY_KEY8", &["map bad_array", "key_size 8", "4-byte key"]),
    (
        "RINGBUF_KEY",
        &["map bad_rb", "key_size 4, value_size 4", "ring buffer"],
    ),
    ("PROG_ARRAY_VALUE8", &["map bad_progs", "value_size 8"]),
    (
        "UNDEFINED_FUNC",
        &[
            "program prog (socket)",
            "insn",
            "undefined subprogram 'corebpf_undefined'",
        ],
    ),
    (
        "STRONG_KCONFIG",
        &["CONFIG_COREBPF_NOT_SET", "kconfig", "not set"],
    ),
    (
        "MISSING_KSYM",
        &["corebpf_no_such_variable", "ksym", "not found"],
    ),
    (
        "MISSING_KFUNC",
        &["corebpf_no_such_kfunc", "kfunc", "not found"],
    ),
    (
        "CALL_NOWHERE",
        &[
            "program prog (socket)",
            "insn",
            "call pc+100 lands outside section socket",
        ],
    ),
    (
        "CALLBACK_NO_RELOC",
        &[
            "program prog (socket)",
            "insn",
            "callback address without a relocation",
        ],
    ),
    ("SPLIT_LDIMM64", &["split_load", "second half"]),
];

#[test]
fn unlinkable_objects_give_named_errors() {
    let kernel = std::fs::read("/sys/kernel/btf/vmlinux").expect("/sys/kernel/btf/vmlinux");
    let kernel = Btf::parse(&kernel).expect("kernel BTF");
    let target = Target {
        btfs: vec![&kernel],
        config: KernelConfig::parse("CONFIG_BPF=y\n"),
        ksym_addr: None,
    };
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bpf/link_errors.bpf.c");
    let dir = std::env::temp_dir().join(format!("corebpf-link-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    for (case, want) in CASES {
        let obj_path = dir.join(format!("{case}.o"));
        let out = Command::new("clang-19")
            .args(["-target", "bpfel", "-g", "-O2", "-mcpu=v3", "-I"])
            .arg(format!("/usr/include/{}-linux-gnu", std::env::consts::ARCH))
            .arg(format!("-D{case}"))
            .arg("-c")
            .arg(&src)
            .arg("-o")
            .arg(&obj_path)
            .output()
            .unwrap_or_else(|e| panic!("cannot run clang-19 ({e}): install clang-19"));
        assert!(
            out.status.success(),
            "{case}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&obj_path).unwrap();
        let msg = match Object::parse(&bytes) {
            Err(e) => format!("parse: {e}"),
            Ok(obj) => match obj.link("link_errors", &target) {
                Ok(_) => format!("{case}: linked without error"),
                Err(e) => e.to_string(),
            },
        };
        if !want.iter().all(|w| msg.contains(w)) {
            failures.push(format!("{case}: {msg:?} lacks one of {want:?}"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
