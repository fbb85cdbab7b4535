//! Soak: many load/attach/detach cycles of a small object (a tracepoint program that counts
//! into a hash map), each checked to count, with nothing accumulating: the process's open
//! descriptors, the kernel's programs, maps and links of the object (by bpf(2) ids and by
//! `bpftool -j prog/map show`), and the resident memory.
//!
//! `COREBPF_SOAK_CYCLES` sets the number of cycles: 300 by default (about 20 s), 10,000 for
//! the documented run (docs/RELIABILITY.md, "Soak"). Needs root, clang-19 and bpftool.

use std::collections::BTreeSet;
use std::os::fd::AsFd;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use corebpf::OpenObject;
use corebpf_sys::bpf::{self, ObjKind};
use serde_json::Value;

/// Names no other test uses.
const SOURCE: &str = r#"
#include "vmlinux.h"
#include <corebpf/bpf.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} soak_counts SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int soak_getppid(void *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 one = 1, *n;

	n = bpf_map_lookup_elem(&soak_counts, &tid);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&soak_counts, &tid, &one, BPF_ANY);
	return 0;
}

COREBPF_LICENSE("GPL");
"#;

const PROG: &str = "soak_getppid";
const MAP: &str = "soak_counts";
/// Cycles of the normal test run. Closing a tracepoint link waits for the kernel's RCU grace
/// periods (about 60 ms here), so the documented 10,000-cycle run takes about ten minutes and
/// is run with `COREBPF_SOAK_CYCLES=10000`.
const DEFAULT_CYCLES: u64 = 300;

fn cycles() -> u64 {
    match std::env::var("COREBPF_SOAK_CYCLES") {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("COREBPF_SOAK_CYCLES={v}: expected a number")),
        Err(_) => DEFAULT_CYCLES,
    }
}

/// Open descriptors of this process.
fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .expect("status")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Ids of the kernel's programs or maps named `name` (bpf(2)).
fn ids_named(kind: ObjKind, name: &str) -> BTreeSet<u32> {
    bpf::ids(kind)
        .expect("list ids (needs root)")
        .into_iter()
        .filter(|&id| {
            let Ok(fd) = bpf::fd_by_id(kind, id) else {
                return false;
            };
            let n = match kind {
                ObjKind::Map => bpf::map_info(fd.as_fd()).map(|i| bpf::attr::name_str(&i.name)),
                _ => bpf::prog_info(fd.as_fd()).map(|i| bpf::attr::name_str(&i.name)),
            };
            n.is_ok_and(|n| n == name)
        })
        .collect()
}

/// Ids of links whose program is one of `progs` (bpftool).
fn links_of(progs: &BTreeSet<u64>) -> BTreeSet<u64> {
    bpftool("link")
        .iter()
        .filter(|o| o["prog_id"].as_u64().is_some_and(|p| progs.contains(&p)))
        .filter_map(|o| o["id"].as_u64())
        .collect()
}

fn bpftool(kind: &str) -> Vec<Value> {
    let out = Command::new("bpftool")
        .args(["-j", kind, "show"])
        .output()
        .expect("bpftool must be installed (apt-get install bpftool)");
    assert!(out.status.success(), "bpftool {kind} show");
    match serde_json::from_slice(&out.stdout).expect("bpftool JSON") {
        Value::Array(a) => a,
        _ => Vec::new(),
    }
}

/// (programs named PROG, maps named MAP, their links, all programs) as bpftool lists them.
fn bpftool_counts() -> (usize, usize, usize, usize) {
    let progs = bpftool("prog");
    let ours: BTreeSet<u64> = progs
        .iter()
        .filter(|o| o["name"] == PROG)
        .filter_map(|o| o["id"].as_u64())
        .collect();
    let maps = bpftool("map").iter().filter(|o| o["name"] == MAP).count();
    (ours.len(), maps, links_of(&ours).len(), progs.len())
}

fn compile() -> Vec<u8> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("soak");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let src = dir.join("soak.bpf.c");
    std::fs::write(&src, SOURCE).expect("write");
    let obj = dir.join("soak.bpf.o");
    corebpf::compile::compile(&src, &obj, &Default::default())
        .unwrap_or_else(|e| panic!("compiling the soak program: {e}"));
    std::fs::read(&obj).expect("read object")
}

fn getppid() {
    // SAFETY: getppid has no arguments and cannot fail.
    unsafe { libc::getppid() };
}

fn gettid() -> u32 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::gettid() as u32 }
}

/// Waits until the kernel's programs and maps named like the soak object's are `progs` and
/// `maps` again and bpftool lists none of them (the kernel frees programs and maps from a work
/// queue once their last fd is closed); returns what was there last.
fn settle(
    progs: &BTreeSet<u32>,
    maps: &BTreeSet<u32>,
) -> (BTreeSet<u32>, BTreeSet<u32>, (usize, usize, usize, usize)) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let p = ids_named(ObjKind::Prog, PROG);
        let m = ids_named(ObjKind::Map, MAP);
        let b = bpftool_counts();
        let settled = &p == progs && &m == maps && (b.0, b.1, b.2) == (0, 0, 0);
        if settled || Instant::now() >= deadline {
            return (p, m, b);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn load_attach_detach_cycles_leave_nothing_behind() {
    let n = cycles();
    let bytes = compile();
    let progs_before = ids_named(ObjKind::Prog, PROG);
    let maps_before = ids_named(ObjKind::Map, MAP);
    let bpftool_before = bpftool_counts();
    assert!(
        progs_before.is_empty() && maps_before.is_empty(),
        "soak objects already in the kernel: {progs_before:?} {maps_before:?}"
    );

    // One cycle; returns how long closing the link took.
    let cycle = |i: u64| -> Duration {
        let obj = OpenObject::open_bytes("soak", bytes.clone())
            .expect("open")
            .load()
            .unwrap_or_else(|e| panic!("cycle {i}: load: {e}"));
        let prog = obj.program(PROG).expect("program");
        let link = prog
            .attach()
            .unwrap_or_else(|e| panic!("cycle {i}: attach: {e}"));
        getppid();
        let count = obj
            .map(MAP)
            .expect("map")
            .lookup(&gettid().to_ne_bytes())
            .unwrap_or_else(|e| panic!("cycle {i}: lookup: {e}"))
            .and_then(|v| v.get(..8).and_then(|b| b.try_into().ok()))
            .map(u64::from_ne_bytes);
        assert_eq!(count, Some(1), "cycle {i}: the attached program counted");
        let t = Instant::now();
        drop(link);
        let detach = t.elapsed();
        drop(obj);
        detach
    };
    // One warm-up cycle: descriptors the library opens once per process (tracefs, caches)
    // stay open after it and are not leaks.
    cycle(0);
    settle(&progs_before, &maps_before);
    let fds_before = fd_count();
    let rss_before = rss_kib();
    let mut detach = Duration::ZERO;

    let start = Instant::now();
    for i in 1..=n {
        detach += cycle(i);
    }
    let took = start.elapsed();
    let fds_after = fd_count();
    let rss_after = rss_kib();
    let (progs_after, maps_after, bpftool_after) = settle(&progs_before, &maps_before);
    eprintln!(
        "soak: {n} cycles in {:.1} s ({:.2} ms each, of which {:.2} ms closing the link); \
         fds {fds_before} -> {fds_after}; VmRSS {rss_before} -> {rss_after} KiB; bpftool \
         (progs named {PROG}, maps named {MAP}, their links, all progs) {bpftool_before:?} -> \
         {bpftool_after:?}",
        took.as_secs_f64(),
        took.as_secs_f64() * 1000.0 / n.max(1) as f64,
        detach.as_secs_f64() * 1000.0 / n.max(1) as f64,
    );
    assert_eq!(fds_after, fds_before, "descriptors leaked over {n} cycles");
    assert_eq!(progs_after, progs_before, "programs left in the kernel");
    assert_eq!(maps_after, maps_before, "maps left in the kernel");
    assert_eq!(
        (bpftool_after.0, bpftool_after.1, bpftool_after.2),
        (bpftool_before.0, bpftool_before.1, bpftool_before.2),
        "bpftool's listing of the soak objects changed"
    );
    // The allocator may keep some pages; a leak per cycle would show as megabytes.
    assert!(
        rss_after < rss_before + 16 * 1024,
        "resident memory grew from {rss_before} to {rss_after} KiB over {n} cycles"
    );
}
