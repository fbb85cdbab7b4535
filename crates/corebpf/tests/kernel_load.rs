//! Loading the test programs into the running kernel and checking, at run time, the values
//! relocations produced. Needs root; refusals for privilege fail with the kernel's answer.

mod common;

use std::os::fd::AsFd;

use common::*;
use corebpf::btf::{Btf, Kind};
use corebpf::{LoadError, OpenObject};
use corebpf_testdata::{objects, Cpu, Endian};

fn vmlinux_bytes() -> Vec<u8> {
    std::fs::read("/sys/kernel/btf/vmlinux").expect("/sys/kernel/btf/vmlinux")
}

#[test]
fn every_test_object_loads_or_gives_a_clear_refusal() {
    for t in objects() {
        let pins = PinDir::new("all");
        let open = OpenObject::open(t.path()).unwrap_or_else(|e| panic!("{}: {e}", t.label()));
        let declared = open.programs().len();
        let result = open.load_with(&opts(&pins));
        match (t.endian, t.name) {
            (Endian::Big, _) => match result {
                Err(e @ LoadError::BigEndian { .. }) => {
                    assert!(
                        e.to_string()
                            .contains("is big-endian, this kernel is little-endian"),
                        "{e}"
                    )
                }
                other => panic!(
                    "{}: expected a big-endian refusal, got {other:?}",
                    t.label()
                ),
            },
            (_, "fentry") => match result {
                // fentry/fexit/fmod_ret/lsm: this host's policy refuses trampolines.
                Err(e @ LoadError::ProgramRefused { .. }) => {
                    let LoadError::ProgramRefused { errno, .. } = &e else {
                        unreachable!()
                    };
                    assert_eq!(*errno, Some(libc::EPERM), "{}: {e}", t.label());
                    let text = e.to_string();
                    assert!(
                        text.contains("(fentry/") && text.contains("trampolines"),
                        "{text}"
                    );
                }
                other => panic!(
                    "{}: expected EPERM for tracing programs, got {other:?}",
                    t.label()
                ),
            },
            _ => {
                let obj = result.unwrap_or_else(|e| panic!("{}: {e}", t.label()));
                assert_eq!(obj.programs().len(), declared, "{}", t.label());
                for p in obj.programs() {
                    let info = p.info().expect("prog info");
                    assert_eq!(
                        info.prog_type,
                        p.prog_type_raw(),
                        "{} {}",
                        t.label(),
                        p.name()
                    );
                    assert_eq!(
                        corebpf_sys::bpf::attr::name_str(&info.name),
                        p.name().chars().take(15).collect::<String>()
                    );
                    assert!(info.xlated_prog_len > 0);
                }
                for m in obj.maps() {
                    let info = m.info().expect("map info");
                    assert_eq!(info.map_type, m.map_type_raw());
                    assert_eq!(
                        info.value_size,
                        m.value_size(),
                        "{} {}",
                        t.label(),
                        m.name()
                    );
                }
            }
        }
    }
}

#[test]
fn core_relocations_give_this_kernels_values_at_run_time() {
    let vmlinux_raw = vmlinux_bytes();
    let vmlinux = Btf::parse(&vmlinux_raw).expect("vmlinux BTF");
    for cpu in [Cpu::V3, Cpu::V4] {
        let path = corebpf_testdata::object("core_fields", cpu);
        let obj_bytes = std::fs::read(path).expect("object");
        let parsed = corebpf::obj::Object::parse(&obj_bytes).expect("parse");
        let local = parsed.btf.as_ref().expect("object BTF");
        let off = |m: &str| member_offset(local, "core_result", m);

        // The child makes itself a subreaper (a bitfield of signal_struct), waits, then calls
        // getpgid() once.
        let child = python(
            "import ctypes, os, sys\n\
             ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)\n\
             sys.stdin.readline()\n\
             os.getpgid(0)\n",
        );
        let child_pid = child.id();
        let mut open = OpenObject::open(path).expect("open");
        open.set_global("target_tgid", &(child_pid as i32).to_ne_bytes())
            .expect("set target_tgid");
        let obj = open
            .load()
            .unwrap_or_else(|e| panic!("load core_fields: {e}"));
        let prog = obj.program("core_probe").expect("program");
        let _ev = attach_tracepoint(prog, "syscalls", "sys_enter_getpgid", child_pid as i32);
        go(child);

        let results = obj.map("results").expect("results map");
        let v = results
            .lookup(&0u32.to_ne_bytes())
            .expect("lookup")
            .expect("slot 0");
        let task_size = vmlinux
            .size_of(
                vmlinux
                    .find_by_name_kind("task_struct", Kind::Struct)
                    .expect("task_struct"),
            )
            .expect("size");
        let comm = member_offset(&vmlinux, "task_struct", "comm");
        let _ = comm;
        let comm_size = {
            let id = vmlinux
                .find_by_name_kind("task_struct", Kind::Struct)
                .expect("task_struct");
            let corebpf::btf::TypeKind::Struct { members, .. } =
                vmlinux.type_by_id(id).expect("t").kind
            else {
                panic!()
            };
            let m = members.iter().find(|m| m.name == "comm").expect("comm");
            vmlinux.size_of(m.ty).expect("comm size")
        };
        let has_state_field = {
            let id = vmlinux
                .find_by_name_kind("task_struct", Kind::Struct)
                .expect("task_struct");
            let corebpf::btf::TypeKind::Struct { members, .. } =
                vmlinux.type_by_id(id).expect("t").kind
            else {
                panic!()
            };
            let found = members.iter().any(|m| m.name == "state");
            found
        };
        let label = format!("core_fields {cpu:?}");
        assert_eq!(u32_at(&v, off("tgid")), child_pid, "{label}: tgid");
        assert_eq!(u32_at(&v, off("ppid")), std::process::id(), "{label}: ppid");
        assert_eq!(u64_at(&v, off("state")), 0, "{label}: running task state");
        assert_eq!(u32_at(&v, off("frozen")), 0, "{label}: frozen bitfield");
        assert_eq!(
            u32_at(&v, off("is_child_subreaper")),
            1,
            "{label}: subreaper bitfield"
        );
        assert_eq!(
            u32_at(&v, off("has_old_state")),
            u32::from(has_state_field),
            "{label}"
        );
        assert_eq!(u32_at(&v, off("has_missing_type")), 0, "{label}");
        assert_eq!(
            u64::from(u32_at(&v, off("task_size"))),
            task_size,
            "{label}: task_struct size"
        );
        let ringbuf = enum_value(&vmlinux, "bpf_map_type", "BPF_MAP_TYPE_RINGBUF").expect("enum");
        assert_eq!(
            i128::from(u64_at(&v, off("ringbuf_type")) as i64),
            ringbuf,
            "{label}"
        );
        let has_loop = enum_value(&vmlinux, "bpf_func_id", "BPF_FUNC_loop").is_some();
        assert_eq!(
            u32_at(&v, off("has_loop_helper")),
            u32::from(has_loop),
            "{label}"
        );
        // libbpf 1.1 resolves this TYPE_MATCHES relocation of the same object to 0 as well (the
        // x86 pt_regs of the generated vmlinux.h does not match member for member); the
        // differential test compares the instruction itself with libbpf's.
        assert_eq!(
            u32_at(&v, off("pt_regs_matches")),
            0,
            "{label}: pt_regs match"
        );
        assert_eq!(u32_at(&v, off("mm_exists")), 1, "{label}");
        assert_eq!(
            u64::from(u32_at(&v, off("comm_size"))),
            comm_size,
            "{label}"
        );
    }
}

fn kconfig_value(name: &str) -> Option<String> {
    let out = std::process::Command::new("zcat")
        .arg("/proc/config.gz")
        .output()
        .expect("zcat /proc/config.gz");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")).map(str::to_string))
}

#[test]
fn kconfig_and_ksym_externs_have_this_kernels_values() {
    let path = corebpf_testdata::object("kconfig_ksym", Cpu::V3);
    let bytes = std::fs::read(path).expect("object");
    let parsed = corebpf::obj::Object::parse(&bytes).expect("parse");
    let local = parsed.btf.as_ref().expect("BTF");
    let off = |m: &str| member_offset(local, "kinfo", m);
    let obj = OpenObject::open(path)
        .expect("open")
        .load()
        .unwrap_or_else(|e| panic!("{e}"));
    let prog = obj.program("task_newtask").expect("program");
    let _link = corebpf_sys::bpf::raw_tracepoint_open(prog.fd(), None).expect("attach tp_btf");
    let status = std::process::Command::new("true").status().expect("fork");
    assert!(status.success());
    let bss = obj.map(".bss").expect(".bss map");
    let v = bss
        .lookup(&0u32.to_ne_bytes())
        .expect("lookup")
        .expect("value");

    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("osrelease");
    let nums: Vec<u32> = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|p| p.parse().expect("number"))
        .collect();
    let version = (nums[0] << 16) | (nums[1] << 8) | nums[2].min(255);
    assert_eq!(u32_at(&v, off("version")), version, "LINUX_KERNEL_VERSION");
    let hz: u32 = kconfig_value("CONFIG_HZ")
        .expect("CONFIG_HZ")
        .parse()
        .expect("hz");
    assert_eq!(u32_at(&v, off("hz")), hz, "CONFIG_HZ");
    let on = kconfig_value("CONFIG_BPF_SYSCALL").as_deref() == Some("y");
    assert_eq!(
        u32_at(&v, off("syscall_on")),
        u32::from(on),
        "CONFIG_BPF_SYSCALL"
    );
    assert_eq!(u32_at(&v, off("fake_option")), 0, "missing weak option");
    let jit = match kconfig_value("CONFIG_BPF_JIT").as_deref() {
        Some("y") => 1,
        Some("m") => 2,
        _ => 0,
    };
    assert_eq!(u32_at(&v, off("jit")), jit, "CONFIG_BPF_JIT tristate");
    assert_eq!(u32_at(&v, off("has_missing_ksym")), 0, "missing weak ksym");
    let kallsyms = std::fs::read_to_string("/proc/kallsyms").expect("kallsyms");
    let addr = kallsyms
        .lines()
        .find_map(|l| {
            let mut it = l.split_whitespace();
            let a = it.next()?;
            let _ = it.next()?;
            (it.next()? == "bpf_prog_active").then(|| u64::from_str_radix(a, 16).ok())?
        })
        .unwrap_or(0);
    assert_eq!(
        u64_at(&v, off("prog_active_addr")),
        addr,
        "typeless ksym address"
    );
    let acquired = u32_at(&v, off("acquired"));
    let vmlinux_raw = vmlinux_bytes();
    let vmlinux = Btf::parse(&vmlinux_raw).expect("vmlinux");
    let has_cgroup_acquire = vmlinux
        .find_by_name_kind("bpf_cgroup_acquire", Kind::Func)
        .is_some();
    assert!(acquired > 0, "bpf_task_acquire kfunc ran");
    if has_cgroup_acquire {
        assert_eq!(
            acquired % 101,
            0,
            "weak kfunc present: +100 per new task ({acquired})"
        );
    } else {
        assert!(acquired < 100, "weak kfunc absent ({acquired})");
    }
}

#[test]
fn global_data_is_initialized_set_and_read_back() {
    let path = corebpf_testdata::object("globals", Cpu::V3);
    let bytes = std::fs::read(path).expect("object");
    let parsed = corebpf::obj::Object::parse(&bytes).expect("parse");
    let var = |name: &str| {
        parsed
            .data
            .iter()
            .find_map(|d| {
                d.variables
                    .iter()
                    .find(|v| v.name == name)
                    .map(|v| (d.name, *v))
            })
            .unwrap_or_else(|| panic!("variable {name}"))
    };
    let mut open = OpenObject::open(path).expect("open");
    open.set_global("snap_len", &64u32.to_ne_bytes())
        .expect("snap_len");
    open.set_global_str("greeting", "hello").expect("greeting");
    let e = open
        .set_global("snap_len", &[1, 2])
        .expect_err("wrong size");
    assert!(
        e.to_string().contains("2 bytes, the variable is 4 bytes"),
        "{e}"
    );
    assert!(
        open.set_global_str("match_proto", "70000").is_err(),
        "u16 range"
    );
    let obj = open.load().unwrap_or_else(|e| panic!("{e}"));

    let rodata = obj.map(".rodata").expect(".rodata");
    let ro = rodata
        .lookup(&0u32.to_ne_bytes())
        .expect("lookup")
        .expect("value");
    let (_, snap) = var("snap_len");
    assert_eq!(u32_at(&ro, snap.offset as usize), 64);
    let (sec, greet) = var("greeting");
    assert_eq!(sec, ".rodata");
    assert_eq!(
        &ro[greet.offset as usize..greet.offset as usize + 6],
        b"hello\0"
    );
    // The rest of .rodata keeps the object's initial bytes.
    let (_, proto) = var("match_proto");
    let elf_rodata = parsed.data_section(".rodata").expect("rodata").data;
    assert_eq!(
        &ro[proto.offset as usize..proto.offset as usize + 2],
        &elf_rodata[proto.offset as usize..proto.offset as usize + 2]
    );
    // Frozen: user space may not write .rodata any more.
    assert!(
        rodata.update(&0u32.to_ne_bytes(), &ro, 0).is_err(),
        ".rodata is frozen"
    );

    let table = obj.map(".rodata.table").expect(".rodata.table");
    let tv = table
        .lookup(&0u32.to_ne_bytes())
        .expect("lookup")
        .expect("value");
    assert_eq!(
        tv,
        parsed.data_section(".rodata.table").expect("table").data
    );

    // Run the filter on one 100-byte IPv4 frame.
    let prog = obj.program("filter_globals").expect("program");
    let mut pkt = vec![0u8; 100];
    pkt[12] = 0x08;
    pkt[13] = 0x00;
    let run = corebpf_sys::bpf::prog_test_run(prog.fd().as_fd(), &pkt, None, 1).expect("test run");
    assert_eq!(run.retval, 64, "min(86, snap_len) with snap_len set to 64");
    let bss = obj.map(".bss").expect(".bss");
    let b = bss
        .lookup(&0u32.to_ne_bytes())
        .expect("lookup")
        .expect("value");
    let (_, seen) = var("packets_seen");
    let (_, bytes_seen) = var("bytes_seen");
    assert_eq!(u64_at(&b, seen.offset as usize), 1);
    // A socket filter sees the frame from the network header: 100 - ETH_HLEN bytes.
    assert_eq!(u64_at(&b, bytes_seen.offset as usize), 86);
    let tuning = obj.map(".data.tuning").expect(".data.tuning");
    let t = tuning
        .lookup(&0u32.to_ne_bytes())
        .expect("lookup")
        .expect("value");
    let (_, rate) = var("sample_rate");
    let (_, budget) = var("drop_budget");
    assert_eq!(u32_at(&t, rate.offset as usize), 100);
    assert_eq!(
        u32_at(&t, budget.offset as usize),
        5,
        "IPv4 frame: budget untouched"
    );
}

#[test]
fn two_programs_on_one_tracepoint_both_run() {
    let child = python(
        "import os, sys\n\
         sys.stdin.readline()\n\
         for _ in range(3):\n    os.close(os.open('/proc/self/stat', os.O_RDONLY))\n",
    );
    let pid = child.id();
    let mut open = OpenObject::open(corebpf_testdata::object("opensnoop", Cpu::V3)).expect("open");
    open.set_global("target_pid", &(pid as i32).to_ne_bytes())
        .expect("target_pid");
    let obj = open.load().unwrap_or_else(|e| panic!("{e}"));
    let a = obj
        .program("tracepoint__syscalls__sys_enter_openat")
        .expect("a");
    let b = obj.program("count_openat").expect("b");
    let _ea = attach_tracepoint(a, "syscalls", "sys_enter_openat", pid as i32);
    let _eb = attach_tracepoint(b, "syscalls", "sys_enter_openat", pid as i32);
    go(child);
    let counts = obj.map("open_calls").expect("open_calls");
    let per_cpu = counts
        .lookup(&0u32.to_ne_bytes())
        .expect("lookup")
        .expect("value");
    let total: u64 = per_cpu.chunks(8).map(|c| u64_at(c, 0)).sum();
    // Programs on a tracepoint run for every task (the perf event's pid does not filter them).
    assert!(
        total >= 3,
        "count_openat saw at least the child's three openat calls ({total})"
    );
    let start = obj.map("start").expect("start");
    let keys: Vec<Vec<u8>> = start.keys().collect::<Result<_, _>>().expect("keys");
    assert_eq!(
        keys,
        vec![pid.to_ne_bytes().to_vec()],
        "the other program recorded the child"
    );
}

/// The C `fold()` of subprogs.bpf.c.
fn fold(mut v: u64) -> u32 {
    let mut h: u32 = 0;
    for _ in 0..8 {
        h = (h << 5) ^ (h >> 27) ^ (v & 0xff) as u32;
        v >>= 8;
    }
    h
}

#[test]
fn subprograms_callbacks_and_bounded_loops_run() {
    let path = corebpf_testdata::object("subprogs", Cpu::V3);
    let bytes = std::fs::read(path).expect("object");
    let parsed = corebpf::obj::Object::parse(&bytes).expect("parse");
    let var = |name: &str| {
        parsed
            .data
            .iter()
            .find_map(|d| d.variables.iter().find(|v| v.name == name).copied())
            .unwrap_or_else(|| panic!("variable {name}"))
    };
    let obj = OpenObject::open(path)
        .expect("open")
        .load()
        .unwrap_or_else(|e| panic!("{e}"));
    let enter = obj.program("fold_syscall").expect("fold_syscall");
    let _l = corebpf_sys::bpf::raw_tracepoint_open(enter.fd(), Some("sys_enter")).expect("attach");
    for _ in 0..10 {
        let _ = std::fs::metadata("/proc/self");
    }
    drop(_l);
    let bss = obj.map(".bss").expect(".bss");
    let b = bss
        .lookup(&0u32.to_ne_bytes())
        .expect("lookup")
        .expect("value");
    let fr = var("fold_result");
    let fold_result = u32_at(&b, fr.offset as usize);
    assert!(
        (0..1024u64).any(|id| fold(id) == fold_result),
        "fold_result {fold_result:#x} is fold(syscall number)"
    );
    let ls = var("loop_sum");
    assert!(u64_at(&b, ls.offset as usize) > 0, "bpf_loop callback ran");
    let buckets = obj.map("buckets").expect("buckets");
    let mut total = 0;
    for k in 0..buckets.max_entries() {
        let v = buckets
            .lookup(&k.to_ne_bytes())
            .expect("lookup")
            .expect("array slot");
        total += u64_at(&v, 0);
    }
    assert!(total >= 10, "global subprogram picked buckets ({total})");
    let ms = var("map_sum");
    let map_sum = u64_at(&b, ms.offset as usize);
    assert!(
        map_sum > 0 && map_sum <= total,
        "bpf_for_each_map_elem callback summed {map_sum}"
    );
}

#[test]
fn initial_slots_hold_the_maps_and_programs_the_object_names() {
    // maps.bpf.c: outer_array = { [0] = &inner_a, [2] = &inner_b }, jump_table = { [1] = &tail_a }.
    let pins = PinDir::new("slots");
    let obj = OpenObject::open(corebpf_testdata::object("maps", Cpu::V3))
        .expect("open")
        .load_with(&opts(&pins))
        .unwrap_or_else(|e| panic!("{e}"));
    let id_of_map = |n: &str| obj.map(n).expect(n).info().expect("info").id;
    let slot = |map: &str, i: u32| {
        obj.map(map)
            .expect(map)
            .lookup(&i.to_ne_bytes())
            .expect("lookup")
            .map(|v| u32_at(&v, 0))
    };
    // User-space lookups of fd maps answer with the id of what the slot holds.
    assert_eq!(slot("outer_array", 0), Some(id_of_map("inner_a")));
    assert_eq!(slot("outer_array", 1), None);
    assert_eq!(slot("outer_array", 2), Some(id_of_map("inner_b")));
    let tail = obj
        .program("tail_a")
        .expect("tail_a")
        .info()
        .expect("info")
        .id;
    assert_eq!(slot("jump_table", 1), Some(tail));
    assert_eq!(slot("jump_table", 0), None);
}

/// `task_struct`'s size and `BPF_MAP_TYPE_RINGBUF`'s value in a BTF file, as bpftool reads it.
fn bpftool_facts(btf_file: &std::path::Path) -> (u64, i64) {
    let out = std::process::Command::new("bpftool")
        .args(["btf", "dump", "file"])
        .arg(btf_file)
        .output()
        .unwrap_or_else(|e| panic!("bpftool is needed: {e}"));
    assert!(out.status.success(), "bpftool btf dump");
    let text = String::from_utf8_lossy(&out.stdout);
    let size = text
        .lines()
        .find_map(|l| {
            l.split_once("] STRUCT 'task_struct' size=").map(|(_, r)| {
                r.split_whitespace()
                    .next()
                    .expect("size")
                    .parse()
                    .expect("number")
            })
        })
        .expect("task_struct in BTF");
    let ringbuf = text
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("'BPF_MAP_TYPE_RINGBUF' val=")
                .map(|v| v.parse().expect("number"))
        })
        .expect("BPF_MAP_TYPE_RINGBUF in BTF");
    (size, ringbuf)
}

#[test]
fn target_btf_relocates_against_another_kernel() {
    let gz = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/btf/vmlinux.btf.gz");
    assert!(gz.exists(), "foreign BTF corpus missing: {}", gz.display());
    // bpftool reads only raw BTF: decompress a copy for it.
    let raw = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("foreign-vmlinux.btf");
    let out = std::process::Command::new("zcat")
        .arg(&gz)
        .output()
        .expect("zcat");
    std::fs::write(&raw, &out.stdout).expect("write");
    let (foreign_size, foreign_ringbuf) = bpftool_facts(&raw);
    let (local_size, _) = bpftool_facts(std::path::Path::new("/sys/kernel/btf/vmlinux"));
    assert_ne!(
        foreign_size, local_size,
        "the corpus kernel must differ from this one"
    );

    let path = corebpf_testdata::object("core_fields", Cpu::V3);
    let obj_bytes = std::fs::read(path).expect("object");
    let parsed = corebpf::obj::Object::parse(&obj_bytes).expect("parse");
    let local = parsed.btf.as_ref().expect("object BTF");
    let off = |m: &str| member_offset(local, "core_result", m);
    let child = python("import os, sys\nsys.stdin.readline()\nos.getpgid(0)\n");
    let pid = child.id();
    let mut open = OpenObject::open(path).expect("open");
    open.set_global("target_tgid", &(pid as i32).to_ne_bytes())
        .expect("set");
    let opts = corebpf::LoadOptions {
        target_btf: Some(gz.clone()),
        ..Default::default()
    };
    let obj = open.load_with(&opts).unwrap_or_else(|e| panic!("{e}"));
    let _ev = attach_tracepoint(
        obj.program("core_probe").expect("prog"),
        "syscalls",
        "sys_enter_getpgid",
        pid as i32,
    );
    go(child);
    let v = obj
        .map("results")
        .expect("results")
        .lookup(&0u32.to_ne_bytes())
        .expect("lookup")
        .expect("value");
    assert_eq!(
        u64::from(u32_at(&v, off("task_size"))),
        foreign_size,
        "foreign task_struct size"
    );
    assert_eq!(
        u64_at(&v, off("ringbuf_type")) as i64,
        foreign_ringbuf,
        "foreign enum value"
    );
}

#[test]
fn log_level_keeps_the_verifier_log_of_each_program() {
    let opts = corebpf::LoadOptions {
        log_level: 2,
        ..Default::default()
    };
    let obj = OpenObject::open(corebpf_testdata::object("globals", Cpu::V3))
        .expect("open")
        .load_with(&opts)
        .unwrap_or_else(|e| panic!("{e}"));
    let p = obj.program("filter_globals").expect("program");
    let log = p.verifier_log().expect("log kept");
    let verified = p.info().expect("info").verified_insns;
    // The log's closing statistics agree with what the kernel reports for the program.
    assert!(
        log.contains(&format!("processed {verified} insns")),
        "{verified} insns:\n{log}"
    );
}

#[test]
fn pinned_by_name_maps_are_reused_by_the_next_load() {
    let pins = PinDir::new("reuse");
    let path = corebpf_testdata::object("maps", Cpu::V3);
    let first = OpenObject::open(path)
        .expect("open")
        .load_with(&opts(&pins))
        .unwrap_or_else(|e| panic!("{e}"));
    let flows = first.map("flows").expect("flows");
    assert_eq!(flows.pinned(), Some(pins.path().join("flows").as_path()));
    flows
        .update(&[7u8; 16], &[9u8; 16], 0)
        .expect("update through the first load");
    let second = OpenObject::open(path)
        .expect("open")
        .load_with(&opts(&pins))
        .unwrap_or_else(|e| panic!("{e}"));
    let again = second.map("flows").expect("flows");
    assert_eq!(
        again.info().expect("info").id,
        flows.info().expect("info").id,
        "same kernel map"
    );
    assert_eq!(
        again.lookup(&[7u8; 16]).expect("lookup"),
        Some(vec![9u8; 16])
    );
    // Maps without pinning are the second load's own.
    assert_ne!(
        second.map("counters").expect("c").info().expect("info").id,
        first.map("counters").expect("c").info().expect("info").id
    );
}
