//! Open + link timing, the same job the libbpf oracle times with `-n` (tests/libbpf-oracle):
//! each round reads and links every object once against the running kernel, reading what a
//! loader reads for it (the kernel's BTF for every object, `/proc/config.gz` for objects with
//! `.kconfig` externs, `/proc/kallsyms` for untyped ksyms).
//!
//! usage: linkbench [--shared-btf] ITERS OBJ...
//! `--shared-btf` parses the kernel BTF once for all rounds (a loader that keeps it).

use std::collections::HashMap;
use std::io::Read;
use std::time::Instant;

use corebpf_btf::Btf;
use corebpf_obj::link::{KernelConfig, Target};
use corebpf_obj::{ExternKind, Object};

fn kconfig() -> KernelConfig {
    let mut text = String::new();
    if let Ok(gz) = std::fs::read("/proc/config.gz") {
        let _ = flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text);
    }
    KernelConfig::parse(&text)
}

fn kallsyms(names: &[&str]) -> HashMap<String, u64> {
    let text = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
    let mut out = HashMap::new();
    for line in text.lines() {
        let mut f = line.split_ascii_whitespace();
        if let (Some(a), Some(_), Some(n)) = (f.next(), f.next(), f.next()) {
            if names.contains(&n) {
                out.insert(n.to_string(), u64::from_str_radix(a, 16).unwrap_or(0));
            }
        }
    }
    out
}

fn run_once(path: &str, shared: Option<&Btf<'_>>) -> Result<usize, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let obj = Object::parse(&bytes).map_err(|e| format!("{path}: {e}"))?;
    if !needs_kernel_btf(&obj)? {
        let empty = Btf::parse(EMPTY_BTF).map_err(|e| e.to_string())?;
        return link(path, &obj, &empty);
    }
    match shared {
        Some(kernel) => link(path, &obj, kernel),
        None => {
            let kernel_bytes =
                std::fs::read("/sys/kernel/btf/vmlinux").map_err(|e| e.to_string())?;
            let kernel = Btf::parse(&kernel_bytes).map_err(|e| e.to_string())?;
            link(path, &obj, &kernel)
        }
    }
}

/// A BTF blob with no types: the target of objects that need no kernel types.
const EMPTY_BTF: &[u8] = &[
    0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0,
];

/// Whether linking or loading the object reads kernel types: CO-RE relocations, typed ksyms
/// and kfuncs, or programs attached by BTF id (as libbpf, which reads the kernel BTF only then).
fn needs_kernel_btf(obj: &Object<'_>) -> Result<bool, String> {
    let core = match obj.btf_ext().map_err(|e| e.to_string())? {
        Some(ext) => ext.core_relos().any(|(_, mut r)| r.next().is_some()),
        None => false,
    };
    let externs = obj
        .externs
        .iter()
        .any(|e| matches!(e.kind, ExternKind::Kfunc | ExternKind::Ksym { typed: true }));
    const BY_BTF_ID: &[&str] = &[
        "tp_btf/",
        "fentry/",
        "fexit/",
        "fmod_ret/",
        "lsm/",
        "iter/",
        "fentry.s/",
        "fexit.s/",
        "lsm.s/",
        "iter.s/",
        "struct_ops",
    ];
    let attach = obj
        .program_sections
        .iter()
        .any(|ps| BY_BTF_ID.iter().any(|p| ps.name.starts_with(p)));
    Ok(core || externs || attach)
}

fn link(path: &str, obj: &Object<'_>, kernel: &Btf<'_>) -> Result<usize, String> {
    let config = if obj.externs.iter().any(|e| e.kind == ExternKind::Kconfig) {
        kconfig()
    } else {
        KernelConfig::default()
    };
    let untyped: Vec<&str> = obj
        .externs
        .iter()
        .filter(|e| e.kind == ExternKind::Ksym { typed: false })
        .map(|e| e.name)
        .collect();
    let syms = if untyped.is_empty() {
        HashMap::new()
    } else {
        kallsyms(&untyped)
    };
    let lookup = move |n: &str| syms.get(n).copied();
    let target = Target {
        btfs: vec![kernel],
        config,
        ksym_addr: Some(&lookup),
    };
    let name = std::path::Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split('.').next())
        .unwrap_or("obj");
    let linked = obj
        .link(name, &target)
        .map_err(|e| format!("{path}: {e}"))?;
    Ok(linked.programs.iter().map(|p| p.insn_count()).sum())
}

fn main() -> Result<(), String> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let shared = args.first().is_some_and(|a| a == "--shared-btf");
    if shared {
        args.remove(0);
    }
    let iters: usize = args
        .first()
        .and_then(|a| a.parse().ok())
        .ok_or("usage: linkbench [--shared-btf] ITERS OBJ...")?;
    let objs = &args[1..];
    let kernel_bytes = std::fs::read("/sys/kernel/btf/vmlinux").map_err(|e| e.to_string())?;
    let kernel = Btf::parse(&kernel_bytes).map_err(|e| e.to_string())?;
    if shared {
        // A long-lived loader keeps the kernel BTF with its name index.
        kernel.build_name_index();
    }
    let mut times = Vec::with_capacity(iters);
    let mut insns = 0;
    for _ in 0..iters.max(1) {
        let t0 = Instant::now();
        insns = 0;
        for o in objs {
            insns += run_once(o, shared.then_some(&kernel))?;
        }
        times.push(t0.elapsed().as_nanos());
    }
    times.sort_unstable();
    println!(
        "rounds {} user_ns_min {} user_ns_median {} insns {insns}",
        times.len(),
        times[0],
        times[times.len() / 2]
    );
    Ok(())
}
