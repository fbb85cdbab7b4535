//! The clang driver against clang-19, the running kernel's BTF and bpftool: every example under
//! `examples/` compiles with the generated vmlinux.h and corebpf's headers, and loads.

use std::path::{Path, PathBuf};
use std::process::Command;

use corebpf::compile::{compile, find_clang_in, CompileError, CompileOptions, HEADERS};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn examples() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(workspace().join("examples"))
        .expect("examples directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(".bpf.c")))
        .collect();
    out.sort();
    out
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("corebpf-compile-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn opts(cache: &Path) -> CompileOptions {
    CompileOptions {
        cache_dir: Some(cache.to_path_buf()),
        ..Default::default()
    }
}

#[test]
fn every_example_compiles_and_bpftool_loads_it() {
    let dir = scratch("examples");
    let list = examples();
    assert!(list.len() >= 5, "expected the examples, found {list:?}");
    // bpffs for bpftool's pins.
    let pin_root = Path::new("/sys/fs/bpf");
    if !pin_root.join(".").exists() || !is_bpffs(pin_root) {
        corebpf_sys::tracefs::mount_fs("bpf", "/sys/fs/bpf").expect("mount bpffs at /sys/fs/bpf");
    }
    for src in &list {
        let stem = src.file_name().and_then(|n| n.to_str()).unwrap_or("x");
        let obj = dir.join(stem.replace(".bpf.c", ".bpf.o"));
        let done = compile(src, &obj, &opts(&dir.join("cache")))
            .unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        assert!(
            done.diagnostics.is_empty(),
            "{}: clang warned:\n{}",
            src.display(),
            done.diagnostics
        );
        let bytes = std::fs::read(&obj).expect("object");
        assert_eq!(&bytes[..4], b"\x7fELF", "{} is not ELF", obj.display());
        assert_eq!(bytes.get(18), Some(&247), "e_machine is EM_BPF");

        // Load every program of the object with bpftool (libbpf), then remove the pins.
        let pins = pin_root.join(format!(
            "corebpf-compile-{}-{}",
            std::process::id(),
            stem.replace('.', "_")
        ));
        let out = Command::new("bpftool")
            .args(["prog", "loadall"])
            .arg(&obj)
            .arg(&pins)
            .output()
            .expect("bpftool must be installed (apt-get install bpftool)");
        let _ = std::fs::remove_dir_all(&pins);
        assert!(
            out.status.success(),
            "bpftool prog loadall {} failed:\n{}",
            obj.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

fn is_bpffs(p: &Path) -> bool {
    std::fs::read_to_string("/proc/mounts").is_ok_and(|m| {
        m.lines().any(|l| {
            let mut f = l.split_whitespace();
            let _dev = f.next();
            f.next() == p.to_str() && f.next() == Some("bpf")
        })
    })
}

#[test]
fn vmlinux_h_is_cached_by_content_and_private() {
    let dir = scratch("cache");
    let cache = dir.join("c");
    let a = corebpf::compile::vmlinux_h_dir(Path::new("/sys/kernel/btf/vmlinux"), &cache)
        .expect("vmlinux.h");
    let t1 = std::fs::metadata(a.join("vmlinux.h"))
        .unwrap()
        .modified()
        .unwrap();
    let b = corebpf::compile::vmlinux_h_dir(Path::new("/sys/kernel/btf/vmlinux"), &cache)
        .expect("vmlinux.h again");
    assert_eq!(a, b);
    let t2 = std::fs::metadata(b.join("vmlinux.h"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(t1, t2, "the cached header was regenerated");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    // The header is the one the C dumper makes of the kernel's BTF.
    let expected =
        corebpf::btf::c_dump::vmlinux_header(&std::fs::read("/sys/kernel/btf/vmlinux").unwrap())
            .unwrap();
    assert_eq!(
        std::fs::read_to_string(a.join("vmlinux.h")).unwrap(),
        expected
    );
    // A cache directory writable by others is refused.
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = corebpf::compile::headers_dir(&cache).unwrap_err();
    assert!(
        matches!(err, CompileError::UnsafeCache { mode: 0o777, .. }),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn missing_clang_names_the_debian_package() {
    let dir = scratch("noclang");
    let err = find_clang_in(dir.as_os_str()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "clang not found (looked for clang-19 and clang on PATH): install the Debian package \
         clang-19 (apt-get install clang-19)"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn syntax_errors_come_back_as_clangs_own_text() {
    let dir = scratch("syntax");
    let src = dir.join("broken.bpf.c");
    std::fs::write(
        &src,
        "#include \"vmlinux.h\"\n#include <corebpf/bpf.h>\nSEC(\"xdp\") int f(struct xdp_md *ctx) { return XDP_PASS }\n",
    )
    .unwrap();
    let opts = opts(&dir.join("cache"));
    let err = compile(&src, &dir.join("broken.o"), &opts).unwrap_err();
    let CompileError::Clang { diagnostics, .. } = &err else {
        panic!("expected a clang error, got {err}");
    };
    // What clang itself prints for the same command line.
    let clang = corebpf::compile::find_clang().expect("clang-19 (apt-get install clang-19)");
    let vm = corebpf::compile::vmlinux_h_dir(&opts.kernel_btf, &dir.join("cache")).unwrap();
    let inc = corebpf::compile::headers_dir(&dir.join("cache")).unwrap();
    let direct = Command::new(clang)
        .args([
            "-g",
            "-O2",
            "-target",
            "bpf",
            "-D__TARGET_ARCH_x86",
            "-mcpu=v3",
        ])
        .arg(format!("-I{}", vm.display()))
        .arg(format!("-I{}", inc.display()))
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(dir.join("direct.o"))
        .output()
        .unwrap();
    assert!(!direct.status.success());
    assert_eq!(diagnostics, &String::from_utf8_lossy(&direct.stderr));
    assert!(diagnostics.contains("error: expected ';'"), "{diagnostics}");
    assert!(err.to_string().contains("broken.bpf.c:3:"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn helper_ids_match_the_kernels_enum() {
    // Every COREBPF_HELPER(id, ret, name, ...) line against `enum bpf_func_id` in the kernel BTF.
    let data = std::fs::read("/sys/kernel/btf/vmlinux").expect("kernel BTF");
    let btf = corebpf::btf::Btf::parse(&data).unwrap();
    let id = btf
        .find_by_name_kind("bpf_func_id", corebpf::btf::Kind::Enum)
        .expect("enum bpf_func_id");
    let corebpf::btf::TypeKind::Enum { values, .. } = btf.type_by_id(id).unwrap().kind else {
        panic!("not an enum");
    };
    let kernel: std::collections::HashMap<String, i64> = values
        .iter()
        .map(|v| (v.name.to_string(), v.value as i64))
        .collect();
    let helpers = HEADERS
        .iter()
        .find(|(n, _)| *n == "corebpf/helpers.h")
        .unwrap()
        .1;
    let mut checked = 0;
    for line in helpers.lines().filter(|l| l.starts_with("COREBPF_HELPER(")) {
        let mut parts = line["COREBPF_HELPER(".len()..].split(',').map(str::trim);
        let id: i64 = parts.next().unwrap().parse().unwrap();
        let _ret = parts.next();
        let name = parts.next().unwrap();
        let enumerator = format!("BPF_FUNC_{}", name.trim_start_matches("bpf_"));
        assert_eq!(kernel.get(&enumerator), Some(&id), "{name}");
        assert_eq!(corebpf::insn::ebpf::helper_name(id as i32), Some(name));
        checked += 1;
    }
    assert!(checked > 100, "only {checked} helpers declared");
}

/// Compiles one example and returns its object bytes (kept for the life of the test).
fn example_object(name: &str, dir: &Path) -> &'static [u8] {
    let src = workspace().join("examples").join(format!("{name}.bpf.c"));
    let obj = dir.join(format!("{name}.bpf.o"));
    compile(&src, &obj, &opts(&dir.join("cache"))).unwrap_or_else(|e| panic!("{e}"));
    Box::leak(std::fs::read(&obj).unwrap().into_boxed_slice())
}

/// The type of global variable `var` in the object's BTF.
fn var_type(btf: &corebpf::btf::Btf<'_>, var: &str) -> u32 {
    let id = btf
        .find_by_name_kind(var, corebpf::btf::Kind::Var)
        .unwrap_or_else(|| panic!("no variable {var} in the BTF"));
    match btf.type_by_id(id).unwrap().kind {
        corebpf::btf::TypeKind::Var { ty, .. } => ty,
        _ => unreachable!(),
    }
}

/// The member `name` of the struct `id` (through typedefs).
fn member(btf: &corebpf::btf::Btf<'_>, id: u32, name: &str) -> u32 {
    let t = btf.resolve(id).unwrap();
    let (corebpf::btf::TypeKind::Struct { members, .. }
    | corebpf::btf::TypeKind::Union { members, .. }) = t.kind
    else {
        panic!("type {id} is not a record");
    };
    members
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no member {name}"))
        .ty
}

/// `int (*name)[N]` → N.
fn uint_member(btf: &corebpf::btf::Btf<'_>, id: u32, name: &str) -> u32 {
    let ptr = member(btf, id, name);
    let corebpf::btf::TypeKind::Ptr { target } = btf.type_by_id(ptr).unwrap().kind else {
        panic!("{name} is not a pointer");
    };
    let corebpf::btf::TypeKind::Array { len, .. } = btf.type_by_id(target).unwrap().kind else {
        panic!("{name} does not point to an array");
    };
    len
}

/// The name of what the pointer member `name` points to (typedef names kept).
fn pointee_name(btf: &corebpf::btf::Btf<'_>, ptr: u32) -> String {
    let corebpf::btf::TypeKind::Ptr { target } = btf.type_by_id(ptr).unwrap().kind else {
        panic!("type {ptr} is not a pointer");
    };
    btf.type_by_id(target).unwrap().name.to_string()
}

#[test]
fn runner_markers_are_in_the_btf() {
    let dir = scratch("markers");
    // COREBPF_EVENT(events, struct exec_event)
    let data = example_object("execsnoop", &dir);
    let obj = corebpf::obj::Object::parse(data).unwrap();
    let btf = obj.btf.as_ref().expect("BTF");
    let ev = var_type(btf, "__corebpf_event__events");
    assert_eq!(pointee_name(btf, ev), "exec_event");
    assert!(btf
        .find_by_name_kind(".corebpf.meta", corebpf::btf::Kind::Datasec)
        .is_some());

    // COREBPF_HIST_LOG2(runq_usecs, 26)
    let data = example_object("runqlat", &dir);
    let obj = corebpf::obj::Object::parse(data).unwrap();
    let btf = obj.btf.as_ref().expect("BTF");
    let map = var_type(btf, "runq_usecs");
    assert_eq!(
        pointee_name(btf, member(btf, map, "value")),
        "corebpf_hist_log2_slot"
    );
    assert_eq!(uint_member(btf, map, "max_entries"), 26);
    assert_eq!(uint_member(btf, map, "type"), 2, "BPF_MAP_TYPE_ARRAY");

    // COREBPF_HIST_LINEAR(syscall_ids, 0, 16, 32)
    let data = example_object("syscount", &dir);
    let obj = corebpf::obj::Object::parse(data).unwrap();
    let btf = obj.btf.as_ref().expect("BTF");
    let map = var_type(btf, "syscall_ids");
    assert_eq!(
        pointee_name(btf, member(btf, map, "value")),
        "corebpf_hist_linear_slot"
    );
    let marker = var_type(btf, "__corebpf_hist__syscall_ids");
    assert_eq!(uint_member(btf, marker, "min"), 0);
    assert_eq!(uint_member(btf, marker, "step"), 16);
    assert_eq!(uint_member(btf, marker, "slots"), 32);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn log2_slots_match_integer_logarithms() {
    // An XDP program returning the log2 slot of the packet's first 8 bytes, run with
    // BPF_PROG_TEST_RUN on many values and compared with Rust's ilog2.
    let dir = scratch("log2");
    let src = dir.join("slot.bpf.c");
    std::fs::write(
        &src,
        r#"#include "vmlinux.h"
#include <corebpf/bpf.h>
SEC("xdp") int slot(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u64 v;
	if (data + 16 > end)
		return -1;
	__builtin_memcpy(&v, data, 8);
	return corebpf_hist_log2_slot_of(v, 40);
}
COREBPF_LICENSE("GPL");
"#,
    )
    .unwrap();
    let obj = dir.join("slot.bpf.o");
    compile(&src, &obj, &opts(&dir.join("cache"))).unwrap_or_else(|e| panic!("{e}"));
    if !is_bpffs(Path::new("/sys/fs/bpf")) {
        corebpf_sys::tracefs::mount_fs("bpf", "/sys/fs/bpf").expect("mount bpffs");
    }
    let pins = PathBuf::from(format!("/sys/fs/bpf/corebpf-log2-{}", std::process::id()));
    let out = Command::new("bpftool")
        .args(["prog", "loadall"])
        .arg(&obj)
        .arg(&pins)
        .output()
        .expect("bpftool must be installed (apt-get install bpftool)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let prog = corebpf_sys::bpf::obj_get(pins.join("slot").to_str().unwrap());
    std::fs::remove_dir_all(&pins).ok();
    let prog = prog.expect("open the pinned program");
    use std::os::fd::AsFd;
    let mut values: Vec<u64> = vec![0, 1, 2, 3, 4, 5, 7, 8, 1000, 65535, 65536, 1 << 32];
    values.extend((0..64).map(|b| 1u64 << b));
    values.extend((1..64).map(|b| (1u64 << b) - 1));
    values.push(u64::MAX);
    for v in values {
        let mut pkt = [0u8; 64];
        pkt[..8].copy_from_slice(&v.to_ne_bytes());
        let r = corebpf_sys::bpf::prog_test_run(prog.as_fd(), &pkt, None, 1).unwrap();
        let want = if v == 0 { 0 } else { (v.ilog2() + 1).min(39) };
        assert_eq!(r.retval, want, "slot of {v}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn every_header_macro_compiles_into_the_expected_relocations() {
    // One program using each macro of the shipped headers; clang must accept it without a
    // warning, and each CO-RE query must become the relocation kind it stands for.
    let dir = scratch("macros");
    let src = dir.join("macros.bpf.c");
    std::fs::write(
        &src,
        r#"#include "vmlinux.h"
#include <corebpf/bpf.h>

struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } out SEC(".maps");

static __always_inline void put(__u32 k, __u64 v)
{
	bpf_map_update_elem(&out, &k, &v, BPF_ANY);
}

SEC("kprobe/do_unlinkat")
int BPF_KPROBE(on_unlink, int dfd, struct filename *name)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	char comm[16];
	put(0, BPF_CORE_READ(t, mm, total_vm));
	put(1, bpf_core_field_exists(t->loginuid));
	put(2, bpf_core_field_size(struct task_struct, pid));
	put(3, bpf_core_type_exists(struct task_struct));
	put(4, bpf_core_type_size(struct task_struct));
	put(5, bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF));
	put(6, BPF_CORE_READ_BITFIELD_PROBED(t, in_execve));
	put(7, PT_REGS_PARM2_CORE(ctx) + dfd + bpf_core_type_id_kernel(struct task_struct));
	BPF_CORE_READ_STR_INTO(comm, t, comm);
	bpf_printk("unlink %s %d", comm, dfd);
	return 0;
}

SEC("kretprobe/do_unlinkat")
int BPF_KRETPROBE(on_unlink_ret, long ret)
{
	put(0, ret + bpf_core_enum_value_exists(enum bpf_map_type, BPF_MAP_TYPE_ARENA));
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	put(0, BPF_CORE_READ(next, real_parent, pid) + preempt);
	return 0;
}

COREBPF_LICENSE("GPL");
"#,
    )
    .unwrap();
    let obj = dir.join("macros.bpf.o");
    let done = compile(&src, &obj, &opts(&dir.join("cache"))).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        done.diagnostics.is_empty(),
        "clang warned:\n{}",
        done.diagnostics
    );
    let data: &'static [u8] = Box::leak(std::fs::read(&obj).unwrap().into_boxed_slice());
    let parsed = corebpf::obj::Object::parse(data).unwrap();
    let ext = parsed.btf_ext().unwrap().expect(".BTF.ext");
    let mut kinds = std::collections::BTreeSet::new();
    for (_, relos) in ext.core_relos() {
        for r in relos {
            kinds.insert(r.kind.name());
        }
    }
    for want in [
        "byte_off",
        "byte_sz",
        "field_exists",
        "signed",
        "lshift_u64",
        "rshift_u64",
        "target_type_id",
        "type_exists",
        "type_size",
        "enumval_exists",
        "enumval_value",
    ] {
        assert!(kinds.contains(want), "no {want} relocation in {kinds:?}");
    }
    // The programs have the section names libbpf (and the corebpf loader) expect.
    let names: Vec<String> = parsed.programs().map(|p| p.name.to_string()).collect();
    for p in ["on_unlink", "on_unlink_ret", "on_switch"] {
        assert!(names.iter().any(|n| n == p), "{p} not in {names:?}");
    }
    // And the verifier accepts all three once relocated for this kernel (libbpf via bpftool).
    if !is_bpffs(Path::new("/sys/fs/bpf")) {
        corebpf_sys::tracefs::mount_fs("bpf", "/sys/fs/bpf").expect("mount bpffs");
    }
    let pins = PathBuf::from(format!("/sys/fs/bpf/corebpf-macros-{}", std::process::id()));
    let out = Command::new("bpftool")
        .args(["prog", "loadall"])
        .arg(&obj)
        .arg(&pins)
        .output()
        .expect("bpftool must be installed (apt-get install bpftool)");
    let loaded = std::fs::read_dir(&pins).map_or(0, |d| d.count());
    std::fs::remove_dir_all(&pins).ok();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(loaded, 3);
    std::fs::remove_dir_all(&dir).ok();
}
