//! The helper-name table against two oracles: this kernel's BTF (`enum bpf_func_id`, dumped by
//! bpftool) and libbpf's generated `bpf_helper_defs.h`.

use std::process::Command;

use corebpf_insn::ebpf::{helper_name, HELPER_COUNT};

/// `BPF_FUNC_<name> = <id>` pairs of the running kernel, from its BTF.
fn kernel_helpers() -> Vec<(i32, String)> {
    let out = Command::new("bpftool")
        .args([
            "btf",
            "dump",
            "file",
            "/sys/kernel/btf/vmlinux",
            "format",
            "raw",
        ])
        .output()
        .unwrap_or_else(|e| panic!("this test needs bpftool: {e}"));
    assert!(
        out.status.success(),
        "bpftool btf dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut in_enum = false;
    let mut v = Vec::new();
    for line in text.lines() {
        if line.starts_with('[') {
            in_enum = line.contains("ENUM 'bpf_func_id'");
            continue;
        }
        if !in_enum {
            continue;
        }
        // `\t'BPF_FUNC_map_lookup_elem' val=1`
        let line = line.trim();
        let Some(rest) = line.strip_prefix("'BPF_FUNC_") else {
            continue;
        };
        let (name, val) = rest.split_once("' val=").expect("enum value line");
        v.push((val.parse().expect("value"), format!("bpf_{name}")));
    }
    assert!(!v.is_empty(), "no enum bpf_func_id in this kernel's BTF");
    v
}

#[test]
fn table_matches_running_kernel_btf() {
    let kernel = kernel_helpers();
    // The enum also holds __BPF_FUNC_MAX_ID, which has no BPF_FUNC_ prefix.
    assert_eq!(
        kernel.len(),
        HELPER_COUNT,
        "helper count differs from this kernel"
    );
    for (id, name) in &kernel {
        assert_eq!(helper_name(*id), Some(name.as_str()), "helper #{id}");
    }
    assert_eq!(helper_name(HELPER_COUNT as i32), None);
    assert_eq!(helper_name(-1), None);
    assert_eq!(helper_name(i32::MAX), None);
}

#[test]
fn table_matches_libbpf_helper_defs() {
    let path = "/usr/include/bpf/bpf_helper_defs.h";
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("this test needs libbpf-dev ({path}): {e}"));
    let mut n = 0;
    for line in text.lines() {
        // `static void *(* const bpf_map_lookup_elem)(void *map, const void *key) = (void *) 1;`
        let Some((decl, id)) = line.split_once("= (void *) ") else {
            continue;
        };
        let id: i32 = id.trim_end_matches(';').trim().parse().expect("helper id");
        let name = decl
            .split("(*")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .map(|s| s.trim().trim_start_matches("const").trim())
            .expect("helper name");
        assert_eq!(helper_name(id), Some(name), "helper #{id}");
        n += 1;
    }
    // libbpf's list starts at 1 (no bpf_unspec).
    assert_eq!(n, HELPER_COUNT - 1);
}
