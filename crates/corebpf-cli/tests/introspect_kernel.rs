//! `corebpf prog|map|link|btf list|feature|net|cgroup` against bpftool on the running kernel.
//!
//! Each test compiles a small BPF object with `corebpf::compile`, loads it with
//! `bpftool prog loadall` into a private bpffs directory, compares corebpf's view of the kernel
//! objects with bpftool's, and removes every pin, link, namespace and cgroup it made.
//! These tests need root (CAP_SYS_ADMIN, CAP_NET_ADMIN); without it they fail with the
//! kernel's refusal.

use std::collections::HashMap;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

const FIXTURE: &str = r#"
#include "vmlinux.h"
#include <corebpf/bpf.h>

struct task_key { __u32 pid; char comm[16]; };

struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } counts SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, struct task_key); __type(value, __u64); } by_task SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, __u64); } per_cpu SEC(".maps");

struct span { __u32 lo, hi; };
__u64 sock_calls = 0;
struct span seen = {};
const volatile __u32 len_limit = 1500;
const volatile char label[8] = "fixture";

SEC("socket") int sock_len(struct __sk_buff *skb)
{
	__u32 k = skb->protocol & 3;
	__u64 *c = bpf_map_lookup_elem(&counts, &k);
	if (c)
		__sync_fetch_and_add(c, skb->len);
	__sync_fetch_and_add(&sock_calls, 1);
	seen.hi = skb->len;
	return skb->len > len_limit + label[0] ? 0 : skb->mark;
}

SEC("classifier") int tc_mark(struct __sk_buff *skb)
{
	return skb->ifindex == 7 ? 2 : 0;
}

SEC("xdp") int xdp_len(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	return end - data > 1500 ? XDP_DROP : XDP_PASS;
}

SEC("cgroup_skb/ingress") int cg_in(struct __sk_buff *skb)
{
	return 1;
}

static __noinline __u32 fold(__u64 v)
{
	return (__u32)(v ^ (v >> 32));
}

SEC("raw_tp/sys_enter") int on_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_key k = {};
	__u64 one = 1, *n;
	__u32 i = fold(ctx->args[1]) & 1;
	__u64 *p;

	k.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(k.comm, sizeof(k.comm));
	n = bpf_map_lookup_elem(&by_task, &k);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&by_task, &k, &one, BPF_NOEXIST);
	p = bpf_map_lookup_elem(&per_cpu, &i);
	if (p)
		*p += 1;
	return 0;
}

COREBPF_LICENSE("GPL");
"#;

fn corebpf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_corebpf"))
}

fn run_json(cmd: &mut Command) -> Value {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed (needs root and bpftool: apt-get install bpftool):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{cmd:?}: not JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn bpftool(args: &[&str]) -> Value {
    let mut c = Command::new("bpftool");
    c.arg("-j").args(args);
    run_json(&mut c)
}

fn ours(args: &[&str]) -> Value {
    let mut c = corebpf();
    c.args(args);
    run_json(&mut c)
}

fn ensure_bpffs() {
    let mounted = std::fs::read_to_string("/proc/mounts").is_ok_and(|m| {
        m.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(1) == Some(&"/sys/fs/bpf") && f.get(2) == Some(&"bpf")
        })
    });
    if !mounted {
        corebpf_sys::tracefs::mount_fs("bpf", "/sys/fs/bpf")
            .expect("mounting bpffs at /sys/fs/bpf (needs root)");
    }
}

/// The fixture loaded with bpftool; unpinned (and so unloaded) on drop.
struct Loaded {
    dir: PathBuf,
    progs: HashMap<String, u32>,
    scratch: PathBuf,
}

impl Drop for Loaded {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

fn load(tag: &str) -> Loaded {
    ensure_bpffs();
    let scratch =
        std::env::temp_dir().join(format!("corebpf-introspect-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let dir = PathBuf::from(format!(
        "/sys/fs/bpf/corebpf-introspect-{}-{tag}",
        std::process::id()
    ));
    // Cleans up from here on, whatever fails.
    let mut loaded = Loaded {
        dir: dir.clone(),
        progs: HashMap::new(),
        scratch: scratch.clone(),
    };
    let src = scratch.join("fixture.bpf.c");
    std::fs::write(&src, FIXTURE).unwrap();
    let obj = scratch.join("fixture.bpf.o");
    let opts = corebpf::compile::CompileOptions {
        // One vmlinux.h for all runs: the cache keeps one header per kernel BTF.
        cache_dir: Some(std::env::temp_dir().join("corebpf-introspect-cache")),
        ..Default::default()
    };
    corebpf::compile::compile(&src, &obj, &opts).unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new("bpftool")
        .args(["prog", "loadall"])
        .arg(&obj)
        .arg(&dir)
        .output()
        .expect("bpftool must be installed (apt-get install bpftool)");
    assert!(
        out.status.success(),
        "bpftool prog loadall: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let pin = dir.join(&name);
        let info = bpftool(&["prog", "show", "pinned", pin.to_str().unwrap()]);
        loaded
            .progs
            .insert(name, info["id"].as_u64().unwrap() as u32);
    }
    assert_eq!(loaded.progs.len(), 5, "{:?}", loaded.progs);
    loaded
}

fn by_id(list: &Value) -> HashMap<u64, &Value> {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .map(|v| (v["id"].as_u64().unwrap(), v))
        .collect()
}

fn map_ids_of(l: &Loaded) -> Vec<u64> {
    let mut ids = Vec::new();
    for id in l.progs.values() {
        let p = bpftool(&["prog", "show", "id", &id.to_string()]);
        for m in p["map_ids"].as_array().into_iter().flatten() {
            ids.push(m.as_u64().unwrap());
        }
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[test]
fn xlated_dump_lists_bpftools_instructions() {
    let l = load("xlated");
    for (name, id) in &l.progs {
        let id = id.to_string();
        let theirs = bpftool(&["prog", "dump", "xlated", "id", &id, "opcodes"]);
        let mine = ours(&["prog", "dump", "xlated", &id, "--json"]);
        let (t, m) = (theirs.as_array().unwrap(), mine.as_array().unwrap());
        assert_eq!(t.len(), m.len(), "{name}: instruction count");
        for (i, (t, m)) in t.iter().zip(m).enumerate() {
            // Opcode, registers, offset and immediate of every instruction.
            assert_eq!(t["opcodes"], m["opcodes"], "{name} insn {i}");
            // The same text, except the per-CPU address move this bpftool prints as `rX = rX`.
            let (td, md) = (t["disasm"].as_str().unwrap(), m["disasm"].as_str().unwrap());
            if !md.contains("__percpu") {
                assert_eq!(td, md, "{name} insn {i}");
            }
            // A function starts where bpftool starts one (the C spelling may differ).
            assert_eq!(
                t.get("proto").is_some(),
                m.get("proto").is_some(),
                "{name} insn {i}: function start"
            );
            assert_eq!(t.get("src"), m.get("src"), "{name} insn {i}: source line");
        }
    }
}

/// Compares `corebpf prog dump xlated` with bpftool for every program pinned under `dir`.
fn compare_xlated_under(dir: &std::path::Path, label: &str) -> usize {
    let mut checked = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let pin = e.unwrap().path();
        let info = bpftool(&["prog", "show", "pinned", pin.to_str().unwrap()]);
        let id = info["id"].as_u64().unwrap().to_string();
        let theirs = bpftool(&["prog", "dump", "xlated", "id", &id, "opcodes"]);
        let mine = ours(&["prog", "dump", "xlated", &id, "--json"]);
        let (t, m) = (theirs.as_array().unwrap(), mine.as_array().unwrap());
        assert_eq!(t.len(), m.len(), "{label} {pin:?}: instruction count");
        for (i, (t, m)) in t.iter().zip(m).enumerate() {
            assert_eq!(t["opcodes"], m["opcodes"], "{label} {pin:?} insn {i}");
            let (td, md) = (t["disasm"].as_str().unwrap(), m["disasm"].as_str().unwrap());
            if !md.contains("__percpu") {
                assert_eq!(td, md, "{label} {pin:?} insn {i}");
            }
            // bpftool 7.1's JSON writer turns a backslash of the source into a newline
            // (`\n` in C comes out as newline + `n`); undo that before comparing.
            let tsrc = t["src"].as_str().map(|s| s.replace('\n', "\\"));
            assert_eq!(
                tsrc.as_deref(),
                m["src"].as_str(),
                "{label} {pin:?} insn {i}"
            );
        }
        checked += 1;
    }
    checked
}

#[test]
fn xlated_dump_of_the_test_objects_matches_bpftool() {
    // The shared test programs: CO-RE reads, subprograms and callbacks, global data, kconfig
    // externs, iterators, XDP, every common map type. bpftool 7.1 (libbpf 1.1) cannot load the
    // fentry, legacy-map and tcx objects; all others are compared program by program.
    ensure_bpffs();
    let mut programs = 0;
    for name in [
        "bashreadline",
        "core_fields",
        "execsnoop",
        "globals",
        "iter_task",
        "kconfig_ksym",
        "maps",
        "opensnoop",
        "runqlat",
        "subprogs",
        "xdp_redirect",
    ] {
        let obj = corebpf_testdata::find(name, corebpf_testdata::Cpu::V3)
            .unwrap_or_else(|| panic!("test object {name}"));
        let dir = PathBuf::from(format!(
            "/sys/fs/bpf/corebpf-introspect-{}-obj-{name}",
            std::process::id()
        ));
        let guard = Loaded {
            dir: dir.clone(),
            progs: HashMap::new(),
            scratch: std::env::temp_dir().join(format!("corebpf-introspect-none-{name}")),
        };
        let _by_name = corebpf_testdata::ByNamePins::new(name);
        let out = Command::new("bpftool")
            .args(["prog", "loadall"])
            .arg(obj.path())
            .arg(&dir)
            .output()
            .expect("bpftool must be installed (apt-get install bpftool)");
        assert!(
            out.status.success(),
            "bpftool prog loadall {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        programs += compare_xlated_under(&dir, name);
        drop(guard);
    }
    assert!(programs >= 25, "only {programs} programs compared");
}

/// Offsets of struct members from pahole (reading the kernel BTF independently).
fn pahole_offsets(st: &str) -> HashMap<String, u64> {
    let out = Command::new("pahole")
        .args(["-C", st])
        .output()
        .expect("pahole must be installed (apt-get install pahole)");
    assert!(out.status.success(), "pahole -C {st} failed");
    let mut m = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // `	unsigned int               len;                  /*   112     4 */`
        let Some((decl, comment)) = line.split_once(";") else {
            continue;
        };
        let Some(name) = decl.split_whitespace().last() else {
            continue;
        };
        let name = name.trim_start_matches('*');
        let nums: Vec<u64> = comment
            .trim()
            .trim_start_matches("/*")
            .split_whitespace()
            .filter_map(|w| w.split(':').next().and_then(|n| n.parse().ok()))
            .collect();
        if let Some(&off) = nums.first() {
            m.entry(name.to_string()).or_insert(off);
        }
    }
    m
}

#[test]
fn context_loads_name_the_kernel_field() {
    let l = load("ctx");
    let skb = pahole_offsets("sk_buff");
    let xdp = pahole_offsets("xdp_buff");
    for (prog, st, offsets, want) in [
        (
            "sock_len",
            "sk_buff",
            &skb,
            &["len", "protocol", "mark"][..],
        ),
        ("xdp_len", "xdp_buff", &xdp, &["data", "data_end"][..]),
    ] {
        let id = l.progs[prog].to_string();
        let mine = ours(&["prog", "dump", "xlated", &id, "--json"]);
        let mut seen = Vec::new();
        for insn in mine.as_array().unwrap() {
            let Some(a) = insn["annotation"].as_str() else {
                continue;
            };
            let Some(field) = a.strip_prefix(&format!("{st}->")) else {
                continue;
            };
            // `rX = *(uNN *)(rY +OFF)`: the offset is the field's.
            let disasm = insn["disasm"].as_str().unwrap();
            let off: u64 = disasm
                .rsplit_once('+')
                .and_then(|(_, o)| o.trim_end_matches(')').parse().ok())
                .unwrap_or_else(|| panic!("no offset in {disasm}"));
            assert_eq!(
                offsets.get(field),
                Some(&off),
                "{prog}: {disasm} annotated {a}"
            );
            seen.push(field.to_string());
        }
        for w in want {
            assert!(
                seen.iter().any(|s| s == w),
                "{prog}: no {st}->{w} in {seen:?}"
            );
        }
    }
}

#[test]
fn prog_list_agrees_with_bpftool() {
    let l = load("proglist");
    let theirs = bpftool(&["prog", "list"]);
    let mine = ours(&["prog", "list", "--json"]);
    let (t, m) = (by_id(&theirs), by_id(&mine));
    for id in l.progs.values() {
        let id = u64::from(*id);
        let (t, m) = (t[&id], m[&id]);
        for key in [
            "type",
            "name",
            "tag",
            "gpl_compatible",
            "uid",
            "bytes_xlated",
            "jited",
            "bytes_jited",
            "bytes_memlock",
            "map_ids",
            "btf_id",
        ] {
            assert_eq!(t.get(key), m.get(key), "prog {id}: {key}");
        }
        let (ta, ma) = (
            t["loaded_at"].as_i64().unwrap(),
            m["loaded_at"].as_i64().unwrap(),
        );
        assert!((ta - ma).abs() <= 1, "prog {id}: loaded_at {ta} vs {ma}");
    }
    // Every program bpftool sees, corebpf sees, with the same type, name and tag.
    for (id, tp) in &t {
        if let Some(mp) = m.get(id) {
            for key in ["type", "name", "tag"] {
                assert_eq!(tp.get(key), mp.get(key), "prog {id}: {key}");
            }
        }
    }
}

#[test]
fn map_list_and_dump_agree_with_bpftool() {
    let l = load("maplist");
    let ids = map_ids_of(&l);
    // counts, by_task, per_cpu, and the global data in .bss and .rodata.
    assert_eq!(ids.len(), 5, "{ids:?}");
    let theirs = bpftool(&["map", "list"]);
    let mine = ours(&["map", "list", "--json"]);
    let (t, m) = (by_id(&theirs), by_id(&mine));
    for id in &ids {
        for key in [
            "type",
            "name",
            "flags",
            "bytes_key",
            "bytes_value",
            "max_entries",
            "bytes_memlock",
            "frozen",
            "btf_id",
        ] {
            assert_eq!(t[id].get(key), m[id].get(key), "map {id}: {key}");
        }
    }
    // Put values in through bpftool, read them back both ways.
    let name_of = |id: &u64| m[id]["name"].as_str().unwrap().to_string();
    for id in &ids {
        let ids = id.to_string();
        match name_of(id).as_str() {
            "counts" => {
                let out = Command::new("bpftool")
                    .args(["map", "update", "id", &ids, "key", "2", "0", "0", "0"])
                    .args(["value", "0x39", "0x30", "0", "0", "0", "0", "0", "0x01"])
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            "by_task" => {
                let mut args = vec!["map", "update", "id", &ids, "key", "7", "0", "0", "0"];
                args.extend(["0x62", "0x61", "0x73", "0x68"]);
                args.extend(["0"; 12]);
                args.extend(["value", "5", "0", "0", "0", "0", "0", "0", "0"]);
                let out = Command::new("bpftool").args(&args).output().unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            _ => {}
        }
        let theirs = bpftool(&["map", "dump", "id", &ids]);
        let mine = ours(&["map", "dump", &ids, "--json"]);
        let (ta, ma) = (theirs.as_array().unwrap(), mine.as_array().unwrap());
        assert_eq!(ta.len(), ma.len(), "map {id}: entries");
        // bpftool prints entries in the kernel's key order, as corebpf does.
        for (te, me) in ta.iter().zip(ma) {
            for key in ["key", "value", "values", "formatted"] {
                assert_eq!(te.get(key), me.get(key), "map {id}: {key}");
            }
        }
        if name_of(id) == "by_task" {
            let e = ma
                .iter()
                .find(|e| e["formatted"]["key"]["pid"] == 7)
                .expect("the entry bpftool stored");
            assert_eq!(e["formatted"]["key"]["comm"], "bash");
            assert_eq!(e["formatted"]["value"], 5);
        }
        // Global data is formatted variable by variable, as bpftool does.
        if name_of(id).ends_with(".rodata") {
            let vars = &ma[0]["formatted"]["value"][".rodata"];
            assert_eq!(vars[0]["len_limit"], 1500, "{vars}");
            assert_eq!(vars[1]["label"], "fixture", "{vars}");
        }
        if name_of(id).ends_with(".bss") {
            let vars = &ma[0]["formatted"]["value"][".bss"];
            assert!(vars[0].get("sock_calls").is_some(), "{vars}");
            assert!(vars[1]["seen"].get("hi").is_some(), "{vars}");
        }
    }
}

#[test]
fn jited_dump_has_every_function_of_the_image() {
    // bpftool here is built without libbfd and cannot print JIT code; the kernel's own numbers
    // are the oracle: the image length, and the functions' kallsyms names.
    let l = load("jited");
    let id = l.progs["on_enter"].to_string();
    let show = bpftool(&["prog", "show", "id", &id]);
    let mine = ours(&["prog", "dump", "jited", &id, "--json"]);
    let funcs = mine.as_array().unwrap();
    // The main program and the `fold` subprogram.
    assert_eq!(funcs.len(), 2, "{mine}");
    let total: u64 = funcs.iter().map(|f| f["bytes"].as_u64().unwrap()).sum();
    assert_eq!(Some(total), show["bytes_jited"].as_u64());
    let hex_len: usize = funcs.iter().map(|f| f["hex"].as_str().unwrap().len()).sum();
    assert_eq!(hex_len as u64, total * 2);
    let tag = show["tag"].as_str().unwrap();
    assert_eq!(funcs[0]["name"], format!("bpf_prog_{tag}_on_enter"));
    assert!(
        funcs[1]["name"].as_str().unwrap().ends_with("_fold"),
        "{mine}"
    );
    // Source lines placed by the kernel's jited_line_info: each function's code starts with
    // the source line bpftool shows at that function's first translated instruction, and
    // every line lies inside its function.
    let xlated = bpftool(&["prog", "dump", "xlated", "id", &id]);
    let starts: Vec<&str> = xlated
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i.get("proto").is_some())
        .map(|i| i["src"].as_str().unwrap())
        .collect();
    assert_eq!(starts.len(), funcs.len());
    for (f, want) in funcs.iter().zip(starts) {
        let lines = f["lines"].as_array().unwrap();
        assert_eq!(lines[0]["offset"], 0, "{f}");
        assert_eq!(lines[0]["src"], want, "{f}");
        for l in lines {
            assert!(l["offset"].as_u64().unwrap() < f["bytes"].as_u64().unwrap());
        }
    }
    let kallsyms = std::fs::read_to_string("/proc/kallsyms").unwrap();
    for f in funcs {
        let addr = f["address"].as_str().unwrap().trim_start_matches("0x");
        let line = format!("{addr:0>16} t {}", f["name"].as_str().unwrap());
        assert!(
            kallsyms.lines().any(|l| l.starts_with(&line)),
            "{line} is not in /proc/kallsyms"
        );
    }
}

#[test]
fn btf_list_agrees_with_bpftool() {
    let l = load("btflist");
    let theirs = bpftool(&["btf", "list"]);
    let mine = ours(&["btf", "list", "--json"]);
    let (t, m) = (by_id(&theirs), by_id(&mine));
    let ours_btf = bpftool(&["prog", "show", "id", &l.progs["sock_len"].to_string()])["btf_id"]
        .as_u64()
        .unwrap();
    for id in [1, ours_btf] {
        for key in ["size", "kernel", "name"] {
            assert_eq!(t[&id].get(key), m[&id].get(key), "btf {id}: {key}");
        }
        // bpftool lists users in hash-table order.
        for key in ["prog_ids", "map_ids"] {
            let sorted = |v: &Value| {
                let mut ids: Vec<u64> = v[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(Value::as_u64)
                    .collect();
                ids.sort_unstable();
                ids
            };
            assert_eq!(sorted(t[&id]), sorted(m[&id]), "btf {id}: {key}");
        }
    }
    assert_eq!(m[&1]["name"], "vmlinux");
}

#[test]
fn link_list_shows_a_raw_tracepoint_link() {
    let l = load("link");
    let prog = corebpf_sys::bpf::fd_by_id(corebpf_sys::bpf::ObjKind::Prog, l.progs["on_enter"])
        .expect("open the loaded program");
    let link = corebpf_sys::bpf::raw_tracepoint_open(prog.as_fd(), Some("sys_enter"))
        .expect("attach raw_tp/sys_enter");
    let info = corebpf_sys::bpf::link_info(link.as_fd()).unwrap();
    let theirs = bpftool(&["link", "list"]);
    let mine = ours(&["link", "list", "--json"]);
    let id = u64::from(info.id);
    let (t, m) = (by_id(&theirs)[&id], by_id(&mine)[&id]);
    for key in ["type", "prog_id", "tp_name"] {
        assert_eq!(t.get(key), m.get(key), "link {id}: {key}");
    }
    assert_eq!(m["tp_name"], "sys_enter");
    drop(link);
}

#[test]
fn feature_probe_agrees_with_bpftool_on_program_and_map_types() {
    let theirs = bpftool(&["feature", "probe", "kernel"]);
    let mine = ours(&["feature", "--json", "--no-helpers"]);
    for section in ["program_types", "map_types"] {
        let t = theirs[section].as_object().unwrap();
        let m = mine[section].as_object().unwrap();
        assert!(t.len() >= 30, "{section}: bpftool probed {}", t.len());
        for (k, v) in t {
            assert_eq!(Some(v), m.get(k), "{section}: {k}");
        }
    }
    // Everything bpftool probes is here, plus what this kernel has that bpftool 7.1 predates.
    assert!(mine["attach_types"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "cgroup_inet_ingress"));
}

fn sh(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e} (apt-get install iproute2 util-linux)",
                args[0]
            )
        });
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn net_list_agrees_with_bpftool() {
    let l = load("net");
    let ns = Netns(format!("corebpf-net-{}", std::process::id()));
    sh(&["ip", "netns", "add", &ns.0]);
    sh(&[
        "ip", "-n", &ns.0, "link", "add", "cbt0", "type", "veth", "peer", "name", "cbt1",
    ]);
    sh(&["ip", "-n", &ns.0, "link", "set", "cbt0", "up"]);
    let netarg = format!("--net=/run/netns/{}", ns.0);
    let inns = |cmd: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec!["nsenter".into(), netarg.clone()];
        v.extend(cmd.iter().map(|s| s.to_string()));
        v
    };
    let run = |v: Vec<String>| {
        let r: Vec<&str> = v.iter().map(String::as_str).collect();
        sh(&r);
    };
    let xdp = l.progs["xdp_len"].to_string();
    run(inns(&[
        "bpftool",
        "net",
        "attach",
        "xdpgeneric",
        "id",
        &xdp,
        "dev",
        "cbt0",
    ]));
    run(inns(&["tc", "qdisc", "add", "dev", "cbt0", "clsact"]));
    let pin = l.dir.join("tc_mark");
    run(inns(&[
        "tc",
        "filter",
        "add",
        "dev",
        "cbt0",
        "ingress",
        "bpf",
        "da",
        "pinned",
        pin.to_str().unwrap(),
    ]));
    let mut theirs = Command::new("nsenter");
    theirs.args([netarg.as_str(), "bpftool", "-j", "net", "list"]);
    let mut mine = Command::new("nsenter");
    mine.args([
        netarg.as_str(),
        env!("CARGO_BIN_EXE_corebpf"),
        "net",
        "list",
        "--json",
    ]);
    let (t, m) = (run_json(&mut theirs), run_json(&mut mine));
    let (t, m) = (&t[0], &m[0]);
    assert_eq!(t["xdp"].as_array().unwrap().len(), 1, "{t}");
    assert_eq!(t["tc"].as_array().unwrap().len(), 1, "{t}");
    for section in ["xdp", "tc"] {
        let (ta, ma) = (
            t[section].as_array().unwrap(),
            m[section].as_array().unwrap(),
        );
        assert_eq!(ta.len(), ma.len(), "{section}: {t} vs {m}");
        for (te, me) in ta.iter().zip(ma) {
            for (k, v) in te.as_object().unwrap() {
                assert_eq!(Some(v), me.get(k), "{section}: {k}");
            }
        }
    }
    assert_eq!(m["tc"][0]["direct_action"], true);
    assert_eq!(m["xdp"][0]["name"], "xdp_len");
}

struct Cgroup(PathBuf, Vec<(String, String)>);

impl Drop for Cgroup {
    fn drop(&mut self) {
        for (at, pin) in &self.1 {
            let _ = Command::new("bpftool")
                .args(["cgroup", "detach"])
                .arg(&self.0)
                .args([at.as_str(), "pinned", pin.as_str()])
                .status();
        }
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn cgroup_tree_agrees_with_bpftool() {
    let l = load("cgroup");
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    let root = mounts
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(2) == Some(&"cgroup2")).then(|| PathBuf::from(f[1]))
        })
        .expect("no cgroup2 filesystem mounted");
    let root = root.as_path();
    let dir = root.join(format!("corebpf-test-{}", std::process::id()));
    std::fs::create_dir(&dir).expect("creating a test cgroup (needs root)");
    let pin = l.dir.join("cg_in").to_string_lossy().into_owned();
    let mut cg = Cgroup(dir.clone(), Vec::new());
    sh(&[
        "bpftool",
        "cgroup",
        "attach",
        dir.to_str().unwrap(),
        "ingress",
        "pinned",
        &pin,
        "multi",
    ]);
    cg.1.push(("ingress".into(), pin.clone()));
    let theirs = bpftool(&["cgroup", "tree", dir.to_str().unwrap()]);
    let mine = ours(&["cgroup", "tree", dir.to_str().unwrap(), "--json"]);
    let ta = theirs.as_array().unwrap();
    let ma = mine.as_array().unwrap();
    assert_eq!(ta.len(), 1, "{theirs}");
    assert_eq!(ma.len(), 1, "{mine}");
    assert_eq!(ta[0]["cgroup"], ma[0]["cgroup"]);
    let (tp, mp) = (
        ta[0]["programs"].as_array().unwrap(),
        ma[0]["programs"].as_array().unwrap(),
    );
    assert_eq!(tp.len(), mp.len());
    for (t, m) in tp.iter().zip(mp) {
        for key in ["id", "attach_type", "attach_flags", "name"] {
            assert_eq!(t.get(key), m.get(key), "{key}");
        }
    }
    assert_eq!(mp[0]["attach_type"], "cgroup_inet_ingress");
    drop(cg);
}

#[test]
fn without_privilege_each_listing_says_why() {
    // Run as nobody: the kernel refuses, and corebpf must say so rather than print nothing.
    for args in [
        &["prog", "list"][..],
        &["map", "list"],
        &["link", "list"],
        &["btf", "list"],
        &["feature", "--no-helpers"],
        &["cgroup", "tree"],
    ] {
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_corebpf"))
            .args(args)
            .output()
            .expect("setpriv (util-linux) must be installed");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{args:?} succeeded without privilege"
        );
        assert!(out.stdout.is_empty(), "{args:?} printed a listing");
        assert!(err.contains("needs root"), "{args:?}: {err}");
    }
}
