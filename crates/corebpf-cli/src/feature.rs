//! `corebpf feature`: what the running kernel supports — program types, map types, helpers per
//! program type and attach types — found by asking the kernel, not by reading its version.
//!
//! * A program type is supported when a two-instruction program (`r0 = 0; exit`) of that type
//!   loads. Types that need a BTF attach target (tracing, lsm, ext, struct_ops) are probed with
//!   target id 1 (not a function): the kernel's refusal message then proves it knows the type.
//! * A map type is supported when a minimal map of that type can be created (sizes and flags
//!   chosen per type; local-storage maps get a small BTF for their key and value).
//! * A helper is available to a program type when a program calling it loads, or is refused
//!   for another reason than the verifier's "unknown func", "invalid func" or "program of this
//!   type cannot use helper" (the wording of kernels since 6.x, which bpftool's probe predates:
//!   bpftool then reports every helper as available).
//! * Attach types are those named by the kernel's `enum bpf_attach_type` (BTF).
//!
//! Results are computed once per process.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::OnceLock;

use anyhow::Result;
use corebpf_btf::{BtfBuilder, IntEncoding, Member};
use corebpf_sys::bpf::{self, attr::MapCreateAttr};
use corebpf_sys::probe_features::{probe_load, ProbeLoad};
use serde_json::{json, Map as JsonMap, Value};

use crate::introspect;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    out: introspect::JsonArgs,
    /// Skip the helper probes (one load per program type and helper).
    #[arg(long)]
    no_helpers: bool,
}

/// Everything probed.
pub struct Features {
    pub prog_types: BTreeMap<String, bool>,
    pub map_types: BTreeMap<String, bool>,
    /// Helper names available per supported program type.
    pub helpers: BTreeMap<String, Vec<String>>,
    pub attach_types: Vec<String>,
    pub system: Vec<(String, Value)>,
}

const ENOTSUPP: i32 = 524;
const BPF_F_SLEEPABLE: u32 = 1 << 4;

/// `r0 = 0; exit`.
const RET0: [u8; 16] = [
    0xb7, 0, 0, 0, 0, 0, 0, 0, //
    0x95, 0, 0, 0, 0, 0, 0, 0,
];

/// Loads a probe program; `Ok(())` if loaded, `Err((errno, verifier log))` otherwise.
fn load(prog_type: u32, insns: &[u8], tweak: impl Fn(&mut ProbeLoad)) -> Result<(), (i32, String)> {
    let mut opts = ProbeLoad {
        prog_type,
        ..Default::default()
    };
    tweak(&mut opts);
    let mut log = [0u8; 4096];
    probe_load(insns, &opts, &mut log).map_err(|errno| (errno, bpf::attr::name_str(&log)))
}

fn expected_attach(name: &str) -> Option<&'static str> {
    Some(match name {
        "cgroup_sock_addr" => "cgroup_inet4_connect",
        "cgroup_sockopt" => "cgroup_getsockopt",
        "sk_lookup" => "sk_lookup",
        "lirc_mode2" => "lirc_mode2",
        "netfilter" => "netfilter",
        _ => return None,
    })
}

/// Probes one program type by name.
fn probe_prog_type(value: u32, name: &str) -> bool {
    let attach = expected_attach(name).and_then(|a| introspect::attach_types().value(a));
    let res = load(value, &RET0, |a| {
        if let Some(at) = attach {
            a.expected_attach_type = at;
        }
        match name {
            "tracing" | "lsm" | "struct_ops" | "ext" => a.attach_btf_id = 1,
            "syscall" => a.prog_flags = BPF_F_SLEEPABLE,
            "kprobe" => a.kern_version = kernel_version(),
            _ => {}
        }
    });
    match (name, res) {
        (_, Ok(())) => true,
        // The verifier names the bad target only for types it knows.
        ("tracing" | "lsm" | "struct_ops", Err((_, log))) => {
            log.contains("attach_btf_id 1 is not a function")
                || log.contains("attach_btf_id 1 is not a supported struct")
        }
        ("ext", Err((_, log))) => log.contains("Cannot replace kernel functions"),
        _ => false,
    }
}

/// `LINUX_VERSION_CODE` of the running kernel (needed by old kernels for kprobe programs).
fn kernel_version() -> u32 {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut it = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse::<u32>().ok());
    let (a, b, c) = (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    );
    (a << 16) | (b << 8) | c.min(255)
}

/// A BTF for local-storage probes: `int`, `struct bpf_spin_lock { int val; }`,
/// `struct val { int cnt; struct bpf_spin_lock l; }`.
fn storage_btf() -> Option<OwnedFd> {
    let mut b = BtfBuilder::new();
    let int = b
        .add_int("int", 4, IntEncoding(IntEncoding::SIGNED), 0, 32)
        .ok()?;
    let lock = b
        .add_struct(
            false,
            "bpf_spin_lock",
            4,
            &[Member {
                name: "val",
                ty: int,
                bit_offset: 0,
                bitfield_size: 0,
            }],
        )
        .ok()?;
    b.add_struct(
        false,
        "val",
        8,
        &[
            Member {
                name: "cnt",
                ty: int,
                bit_offset: 0,
                bitfield_size: 0,
            },
            Member {
                name: "l",
                ty: lock,
                bit_offset: 32,
                bitfield_size: 0,
            },
        ],
    )
    .ok()?;
    let data = b.finish().ok()?;
    bpf::btf_load(&data).ok()
}

fn create_map(a: &MapCreateAttr) -> Result<OwnedFd, i32> {
    bpf::map_create(a).map_err(|e| e.errno().unwrap_or(0))
}

/// Probes one map type by name.
fn probe_map_type(value: u32, name: &str) -> bool {
    let page = 4096;
    let mut a = MapCreateAttr {
        map_type: value,
        key_size: 4,
        value_size: 4,
        max_entries: 1,
        ..Default::default()
    };
    let mut keep: Vec<OwnedFd> = Vec::new();
    let mut expect_err = None;
    match name {
        "lpm_trie" => {
            a.key_size = 8;
            a.value_size = 8;
            a.map_flags = 1; // BPF_F_NO_PREALLOC
        }
        "stack_trace" => a.value_size = 8,
        "array_of_maps" | "hash_of_maps" => {
            let inner = MapCreateAttr {
                map_type: 2,
                key_size: 4,
                value_size: 4,
                max_entries: 1,
                ..Default::default()
            };
            let Ok(fd) = create_map(&inner) else {
                return false;
            };
            a.inner_map_fd = fd.as_raw_fd() as u32;
            keep.push(fd);
        }
        "cgroup_storage" | "percpu_cgroup_storage" => {
            a.key_size = 16; // struct bpf_cgroup_storage_key, padded
            a.max_entries = 0;
        }
        "queue" | "stack" => a.key_size = 0,
        "sk_storage" | "inode_storage" | "task_storage" | "cgrp_storage" => {
            let Some(btf) = storage_btf() else {
                return false;
            };
            a.btf_fd = btf.as_raw_fd() as u32;
            a.btf_key_type_id = 1;
            a.btf_value_type_id = 3;
            a.value_size = 8;
            a.max_entries = 0;
            a.map_flags = 1;
            keep.push(btf);
        }
        "ringbuf" | "user_ringbuf" => {
            a.key_size = 0;
            a.value_size = 0;
            a.max_entries = page;
        }
        "bloom_filter" => a.key_size = 0,
        "arena" => {
            a.key_size = 0;
            a.value_size = 0;
            a.map_flags = 1 << 10; // BPF_F_MMAPABLE
        }
        "struct_ops" => {
            // An invalid vmlinux value type: a kernel that knows the type answers ENOTSUPP.
            a.btf_vmlinux_value_type_id = 1;
            a.value_type_btf_obj_fd = -1;
            expect_err = Some(ENOTSUPP);
        }
        _ => {}
    }
    let res = create_map(&a);
    drop(keep);
    match (expect_err, res) {
        (Some(e), Err(got)) => got == e,
        (Some(_), Ok(_)) => false,
        (None, r) => r.is_ok(),
    }
}

/// Probes whether helper `id` is callable from programs of type `prog_type`.
fn probe_helper(prog_type: u32, prog_name: &str, id: i32) -> bool {
    let mut insns = [0u8; 24];
    insns[0] = 0x85; // call imm
    insns[4..8].copy_from_slice(&id.to_le_bytes());
    insns[8] = 0xb7; // r0 = 0
    insns[16] = 0x95; // exit
    let attach = expected_attach(prog_name).and_then(|a| introspect::attach_types().value(a));
    match load(prog_type, &insns, |a| {
        if let Some(at) = attach {
            a.expected_attach_type = at;
        }
        if prog_name == "syscall" {
            a.prog_flags = BPF_F_SLEEPABLE;
        }
    }) {
        Ok(()) => true,
        Err((_, log)) => {
            // Older kernels say "unknown func"/"invalid func", newer ones "program of this
            // type cannot use helper".
            !(log.contains("invalid func ")
                || log.contains("unknown func ")
                || log.contains("cannot use helper")
                || log.is_empty())
        }
    }
}

fn sysctl(path: &str) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    let t = text.trim();
    Some(t.parse::<i64>().map_or_else(|_| json!(t), |v| json!(v)))
}

/// Probes everything (once per process).
pub fn features(with_helpers: bool) -> &'static Features {
    static ALL: OnceLock<Features> = OnceLock::new();
    static NO_HELPERS: OnceLock<Features> = OnceLock::new();
    let cell = if with_helpers { &ALL } else { &NO_HELPERS };
    cell.get_or_init(|| {
        let mut prog_types = BTreeMap::new();
        for (v, name) in introspect::prog_types().all() {
            if v == 0 {
                continue;
            }
            prog_types.insert(name.to_string(), probe_prog_type(v, name));
        }
        let mut map_types = BTreeMap::new();
        for (v, name) in introspect::map_types().all() {
            if v == 0 {
                continue;
            }
            map_types.insert(name.to_string(), probe_map_type(v, name));
        }
        let mut helpers = BTreeMap::new();
        if with_helpers {
            let ids = introspect::helper_ids().all();
            for (v, name) in introspect::prog_types().all() {
                if prog_types.get(name) != Some(&true) {
                    continue;
                }
                // Types probed through a BTF target cannot load helper probes this way.
                if matches!(name, "tracing" | "lsm" | "struct_ops" | "ext") {
                    continue;
                }
                let list: Vec<String> = ids
                    .iter()
                    .filter(|(id, _)| *id != 0)
                    .filter(|(id, _)| probe_helper(v, name, *id as i32))
                    .map(|(_, h)| format!("bpf_{h}"))
                    .collect();
                helpers.insert(name.to_string(), list);
            }
        }
        let attach_types = introspect::attach_types()
            .all()
            .into_iter()
            .map(|(_, n)| n.to_string())
            .collect();
        let mut system = Vec::new();
        for (key, path) in [
            (
                "unprivileged_bpf_disabled",
                "/proc/sys/kernel/unprivileged_bpf_disabled",
            ),
            ("bpf_jit_enable", "/proc/sys/net/core/bpf_jit_enable"),
            ("bpf_jit_harden", "/proc/sys/net/core/bpf_jit_harden"),
            ("bpf_jit_kallsyms", "/proc/sys/net/core/bpf_jit_kallsyms"),
            ("bpf_jit_limit", "/proc/sys/net/core/bpf_jit_limit"),
        ] {
            if let Some(v) = sysctl(path) {
                system.push((key.to_string(), v));
            }
        }
        if let Ok(lockdown) = std::fs::read_to_string("/sys/kernel/security/lockdown") {
            // "none integrity [confidentiality]": the bracketed word is the mode.
            if let Some(mode) = lockdown
                .split_whitespace()
                .find(|w| w.starts_with('['))
                .map(|w| w.trim_matches(|c| c == '[' || c == ']'))
            {
                system.push(("lockdown".to_string(), json!(mode)));
            }
        }
        Features {
            prog_types,
            map_types,
            helpers,
            attach_types,
            system,
        }
    })
}

pub fn run(args: Args) -> Result<()> {
    // Without the privilege to load programs every probe would fail: say so instead of
    // reporting an empty kernel.
    if let Err((errno, _)) = load(1, &RET0, |_| {}) {
        if errno == 1 || errno == 13 {
            anyhow::bail!(
                "feature probes load programs and create maps: the kernel refused a socket \
                 filter load with {} (needs root, or CAP_BPF with CAP_PERFMON/CAP_NET_ADMIN)",
                std::io::Error::from_raw_os_error(errno)
            );
        }
    }
    let f = features(!args.no_helpers);
    if args.out.wanted() {
        let mut sys = JsonMap::new();
        for (k, v) in &f.system {
            sys.insert(k.clone(), v.clone());
        }
        let progs: JsonMap<String, Value> = f
            .prog_types
            .iter()
            .map(|(n, v)| (format!("have_{n}_prog_type"), json!(v)))
            .collect();
        let maps: JsonMap<String, Value> = f
            .map_types
            .iter()
            .map(|(n, v)| (format!("have_{n}_map_type"), json!(v)))
            .collect();
        let helpers: JsonMap<String, Value> = f
            .helpers
            .iter()
            .map(|(n, v)| (format!("{n}_available_helpers"), json!(v)))
            .collect();
        let v = json!({
            "system_config": sys,
            "syscall_config": {"have_bpf_syscall": true},
            "program_types": progs,
            "map_types": maps,
            "helpers": helpers,
            "attach_types": f.attach_types,
        });
        return introspect::print_json(&v, args.out.pretty);
    }
    let mut out = String::new();
    out.push_str("System configuration:\n");
    for (k, v) in &f.system {
        let _ = writeln!(out, "  {k}: {v}");
    }
    out.push_str("\nProgram types:\n");
    for (n, ok) in &f.prog_types {
        let _ = writeln!(
            out,
            "  {n}: {}",
            if *ok { "available" } else { "NOT available" }
        );
    }
    out.push_str("\nMap types:\n");
    for (n, ok) in &f.map_types {
        let _ = writeln!(
            out,
            "  {n}: {}",
            if *ok { "available" } else { "NOT available" }
        );
    }
    if !f.helpers.is_empty() {
        out.push_str("\nHelpers per program type:\n");
        for (n, list) in &f.helpers {
            let _ = writeln!(out, "  {n} ({}): {}", list.len(), list.join(" "));
        }
    }
    let _ = writeln!(out, "\nAttach types: {}", f.attach_types.join(" "));
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}
