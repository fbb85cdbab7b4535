//! The kprobe family on this host, whose kernel has no kprobes (CONFIG_KPROBES off) and no
//! fprobe (CONFIG_FPROBE off): every kind (kprobe, kretprobe, kprobe at an offset, ksyscall,
//! kretsyscall, kprobe.multi, kretprobe.multi, the manual kprobe_multi API) is refused with an
//! exact, named reason and leaves no program, link or descriptor behind. Syscall entry points
//! are checked against /proc/kallsyms and bpftool's view of the kernel BTF, and kprobe.multi
//! patterns against Python's fnmatch over the kernel's function names. The same programs run
//! for real in the Debian 6.1 guest (tests/vm/guest-kprobe.sh).

use std::collections::BTreeSet;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Command;

use corebpf::kprobe::{self, KprobeMultiTarget};
use corebpf::link::AttachError;
use corebpf_sys::bpf::{self, attr::name_str, ObjKind};

const NO_KPROBES: &str = "this kernel has no kprobes (CONFIG_KPROBES off); use fentry/fexit";
const NO_FPROBE: &str = "this kernel has no kprobe_multi links (fprobe): they need Linux 5.18 \
                         or later built with CONFIG_FPROBE";

const PROG_NAMES: [&str; 8] = [
    "unlink_entry",
    "unlink_exit",
    "unlink_offset",
    "kill_entry",
    "kill_exit",
    "unlink_multi_en", // names are cut to 15 bytes
    "unlink_multi_ex",
    "unlink_session",
];

/// The tests count this process's descriptors: one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn compile(name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/vm/bpf")
        .join(format!("{name}.bpf.c"));
    let out = std::env::temp_dir().join(format!(
        "corebpf-kprobe-test-{}-{name}.o",
        std::process::id()
    ));
    corebpf::compile::compile(&src, &out, &Default::default())
        .unwrap_or_else(|e| panic!("compile {}: {e}", src.display()));
    out
}

fn load(name: &str) -> corebpf::Object {
    let path = compile(name);
    let open =
        corebpf::OpenObject::open(&path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let obj = open
        .load()
        .unwrap_or_else(|e| panic!("load {name} (these tests need root): {e}"));
    std::fs::remove_file(&path).ok();
    obj
}

fn ours(kind: ObjKind) -> BTreeSet<u32> {
    bpf::ids(kind)
        .expect("list kernel objects")
        .into_iter()
        .filter(|&id| {
            let Ok(fd) = bpf::fd_by_id(kind, id) else {
                return false;
            };
            let prog_id = match kind {
                ObjKind::Link => match bpf::link_info(fd.as_fd()) {
                    Ok(i) => i.prog_id,
                    Err(_) => return false,
                },
                _ => id,
            };
            bpf::fd_by_id(ObjKind::Prog, prog_id)
                .and_then(|p| bpf::prog_info(p.as_fd()))
                .is_ok_and(|i| PROG_NAMES.contains(&name_str(&i.name).as_str()))
        })
        .collect()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

fn attach_error(obj: &corebpf::Object, prog: &str) -> String {
    match obj
        .program(prog)
        .unwrap_or_else(|| panic!("program {prog}"))
        .attach()
    {
        Ok(l) => panic!("{prog} attached ({l:?}) on a kernel without kprobes"),
        Err(e) => e.to_string(),
    }
}

/// The running kernel's syscall wrapper prefix, as /proc/kallsyms shows it for `bpf`.
fn wrapper_prefix() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "__x64_sys_",
        "aarch64" => "__arm64_sys_",
        arch => panic!("no expected syscall wrapper prefix for {arch} in this test"),
    }
}

#[test]
fn every_kprobe_kind_is_refused_by_name_and_leaves_nothing() {
    let _serial = serial();
    let before = (ours(ObjKind::Prog), ours(ObjKind::Link));
    assert!(
        before.0.is_empty() && before.1.is_empty(),
        "programs of this test already loaded: {before:?}"
    );
    let fds = open_fds();
    {
        let kp = load("kprobes");
        let multi = load("kprobe_multi");
        let w = wrapper_prefix();
        let expect = [
            (
                &kp,
                "unlink_entry",
                format!("kprobe do_unlinkat: {NO_KPROBES}"),
            ),
            (
                &kp,
                "unlink_exit",
                format!("kretprobe do_unlinkat: {NO_KPROBES}"),
            ),
            (
                &kp,
                "unlink_offset",
                format!("kprobe do_unlinkat+0x5: {NO_KPROBES}"),
            ),
            (
                &kp,
                "kill_entry",
                format!("ksyscall kill ({w}kill): {NO_KPROBES}"),
            ),
            (
                &kp,
                "kill_exit",
                format!("kretsyscall kill ({w}kill): {NO_KPROBES}"),
            ),
            (
                &multi,
                "unlink_multi_entry",
                format!("kprobe.multi do_unlinka?: {NO_FPROBE}"),
            ),
            (
                &multi,
                "unlink_multi_exit",
                format!("kretprobe.multi do_*unlinkat: {NO_FPROBE}"),
            ),
            (
                &multi,
                "unlink_session",
                "kprobe.session do_unlinkat: this kernel has no kprobe session links: they \
                 need Linux 6.10 or later built with CONFIG_FPROBE"
                    .to_string(),
            ),
        ];
        for (obj, prog, want) in &expect {
            assert_eq!(&attach_error(obj, prog), want, "program {prog}");
        }
        assert_eq!(ours(ObjKind::Prog).len(), 8, "both objects are loaded");

        // The manual kprobe_multi API: by names (with cookies), by address, by pattern.
        let p = multi.program("unlink_multi_entry").unwrap();
        let e = p
            .attach_kprobe_multi(
                KprobeMultiTarget::Symbols(&["do_unlinkat", "do_rmdir"]),
                false,
                Some(&[1, 2]),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("kprobe.multi do_unlinkat,do_rmdir: {NO_FPROBE}")
        );
        let e = p
            .attach_kprobe_multi(KprobeMultiTarget::Addresses(&[0x1000]), true, None)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("kretprobe.multi 1 addresses: {NO_FPROBE}")
        );
        let e = p
            .attach_kprobe_multi(KprobeMultiTarget::Pattern("vfs_*"), false, None)
            .unwrap_err();
        assert_eq!(e.to_string(), format!("kprobe.multi vfs_*: {NO_FPROBE}"));
        // Cookies must match the functions, checked before the kernel is asked.
        let e = p
            .attach_kprobe_multi(
                KprobeMultiTarget::Symbols(&["do_unlinkat"]),
                false,
                Some(&[]),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "kprobe.multi do_unlinkat: 0 cookies for 1 functions"
        );
        // A program not loaded for kprobe_multi cannot make such a link.
        let e = kp
            .program("unlink_entry")
            .unwrap()
            .attach_kprobe_multi(KprobeMultiTarget::Symbols(&["do_unlinkat"]), false, None)
            .unwrap_err();
        assert!(
            matches!(e, AttachError::Target { .. })
                && e.to_string().contains(
                    "a kprobe_multi link needs a program loaded with the trace_kprobe_multi \
                     expected attach type"
                ),
            "{e}"
        );
        assert!(ours(ObjKind::Link).is_empty(), "no link was created");
    }
    assert!(ours(ObjKind::Prog).is_empty(), "programs left behind");
    assert!(ours(ObjKind::Link).is_empty(), "links left behind");
    assert_eq!(open_fds(), fds, "descriptors left open");
}

#[test]
fn bad_kprobe_targets_are_named_before_the_kernel_is_asked() {
    let _serial = serial();
    let obj = load("kprobe_errors");
    let w = wrapper_prefix();
    assert_eq!(
        attach_error(&obj, "return_offset"),
        "kretprobe do_unlinkat+5: a kretprobe cannot have an offset"
    );
    assert_eq!(
        attach_error(&obj, "no_such_syscall"),
        format!(
            "ksyscall corebpf_no_such_syscall: the kernel has no function \
             {w}corebpf_no_such_syscall or sys_corebpf_no_such_syscall (looked in \
             /sys/kernel/btf/vmlinux and /proc/kallsyms)"
        )
    );
    // Without kprobes the kernel is not asked about the function itself.
    assert_eq!(
        attach_error(&obj, "no_such_function"),
        format!("kprobe corebpf_no_such_function: {NO_KPROBES}")
    );
    assert_eq!(
        attach_error(&obj, "mid_instruction"),
        format!("kprobe do_unlinkat+0x1: {NO_KPROBES}")
    );
}

fn kallsyms_functions() -> BTreeSet<String> {
    std::fs::read_to_string("/proc/kallsyms")
        .expect("/proc/kallsyms")
        .lines()
        .filter_map(|l| {
            let mut it = l.split_ascii_whitespace();
            let (_, ty, name) = (it.next()?, it.next()?, it.next()?);
            matches!(ty, "t" | "T").then(|| name.to_string())
        })
        .collect()
}

#[test]
fn ksyscall_resolves_the_architecture_wrapper_the_kernel_has() {
    let _serial = serial();
    let funcs = kallsyms_functions();
    let bpftool = Command::new("bpftool")
        .args(["btf", "dump", "file", "/sys/kernel/btf/vmlinux"])
        .output()
        .expect("bpftool is needed for this test (apt-get install bpftool)");
    assert!(bpftool.status.success(), "bpftool btf dump failed");
    let btf_text = String::from_utf8_lossy(&bpftool.stdout);
    let w = wrapper_prefix();
    for sys in ["kill", "unlinkat", "getpgid", "openat", "bpf", "execve"] {
        let want = format!("{w}{sys}");
        assert_eq!(
            kprobe::syscall_function(sys).unwrap(),
            want,
            "ksyscall/{sys}"
        );
        assert!(funcs.contains(&want), "{want} not in /proc/kallsyms");
        assert!(
            btf_text.contains(&format!("] FUNC '{want}' ")),
            "{want} not a FUNC in bpftool's dump of the kernel BTF"
        );
    }
    let e = kprobe::syscall_function("no_such_syscall").unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "ksyscall no_such_syscall: the kernel has no function {w}no_such_syscall or \
             sys_no_such_syscall (looked in /sys/kernel/btf/vmlinux and /proc/kallsyms)"
        )
    );
    assert!(!funcs.contains(&format!("{w}no_such_syscall")));
    let e = kprobe::syscall_function("").unwrap_err();
    assert_eq!(e.to_string(), "ksyscall : no syscall named (ksyscall/NAME)");
}

#[test]
fn kprobe_multi_patterns_match_as_fnmatch_does_over_kernel_functions() {
    let _serial = serial();
    // available_filter_functions lines are `NAME` or `NAME [MODULE]`; the kernel's function
    // symbols in that form (this host's tracefs refuses the file itself under lockdown).
    let text: String = std::fs::read_to_string("/proc/kallsyms")
        .expect("/proc/kallsyms")
        .lines()
        .filter_map(|l| {
            let mut it = l.split_ascii_whitespace();
            let (_, ty, name) = (it.next()?, it.next()?, it.next()?);
            matches!(ty, "t" | "T").then(|| match it.next() {
                Some(module) => format!("{name} {module}\n"),
                None => format!("{name}\n"),
            })
        })
        .chain(["__ftrace_invalid_address___123\n".to_string()])
        .collect();
    let patterns = [
        "do_unlinkat",
        "do_unlink*",
        "*_sys_kill",
        "vfs_?ead*",
        "tcp_v4_*",
        "*ftrace_invalid*",
        "*rcu*read*",
        "?",
        "bpf_*_*_*",
    ];
    let dir = std::env::temp_dir().join(format!("corebpf-kprobe-glob-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let names = dir.join("names");
    std::fs::write(&names, &text).unwrap();
    // The oracle: Python's fnmatchcase over the same names, each once, sorted by bytes.
    let script = r#"
import fnmatch, sys
names = set()
for line in open(sys.argv[1]):
    parts = line.split()
    if parts and not parts[0].startswith("__ftrace_invalid_address__"):
        names.add(parts[0])
for pat in sys.argv[2:]:
    hits = sorted((n for n in names if fnmatch.fnmatchcase(n, pat)), key=lambda s: s.encode())
    print(pat + "\t" + " ".join(hits))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&names)
        .args(patterns)
        .output()
        .expect("python3 is needed for this test");
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let oracle = String::from_utf8(out.stdout).unwrap();
    let mut nonempty = 0;
    for (line, pat) in oracle.lines().zip(patterns) {
        let (p, hits) = line.split_once('\t').unwrap();
        assert_eq!(p, pat);
        let want: Vec<&str> = hits.split_ascii_whitespace().collect();
        let got = kprobe::match_filter_functions(&text, pat);
        assert_eq!(got, want, "pattern {pat}");
        if !want.is_empty() {
            nonempty += 1;
            assert_eq!(kprobe::functions_matching_in(&text, pat).unwrap(), want);
        }
    }
    assert!(nonempty >= 6, "the patterns should match kernel functions");
    assert_eq!(
        kprobe::match_filter_functions(&text, "do_unlinkat"),
        ["do_unlinkat"]
    );
    let e = kprobe::functions_matching_in(&text, "corebpf_no_such_*").unwrap_err();
    assert_eq!(
        e.to_string(),
        "kprobe.multi corebpf_no_such_*: no kernel function matches corebpf_no_such_*"
    );
}

/// The kprobe_multi link attributes as strace (an independent decoder of `union bpf_attr`)
/// reads them: names and cookies, addresses and the return flag. The test runs itself again
/// under strace in the child role (`COREBPF_KPROBE_STRACE_CHILD` names the object to load);
/// this kernel refuses the links (no fprobe), after reading the attribute.
#[test]
fn kprobe_multi_link_attributes_as_strace_decodes_them() {
    const TEST: &str = "kprobe_multi_link_attributes_as_strace_decodes_them";
    const CHILD: &str = "COREBPF_KPROBE_STRACE_CHILD";
    if let Some(obj) = std::env::var_os(CHILD) {
        let obj = corebpf::OpenObject::open(&obj)
            .expect("open")
            .load()
            .expect("load");
        let p = obj.program("unlink_multi_entry").unwrap();
        let e = p
            .attach_kprobe_multi(
                KprobeMultiTarget::Symbols(&["do_unlinkat", "do_rmdir"]),
                false,
                Some(&[7, 0x1234_5678_9abc]),
            )
            .unwrap_err();
        assert!(e.to_string().ends_with(NO_FPROBE), "{e}");
        let e = p
            .attach_kprobe_multi(
                KprobeMultiTarget::Addresses(&[0xffff_ffff_8100_0000, 0xffff_ffff_8100_0040]),
                true,
                None,
            )
            .unwrap_err();
        assert!(e.to_string().ends_with(NO_FPROBE), "{e}");
        return;
    }
    let _serial = serial();
    let obj = compile("kprobe_multi");
    let log = std::env::temp_dir().join(format!("corebpf-kprobe-strace-{}", std::process::id()));
    let status = Command::new("strace")
        .args([
            "-f",
            "-e",
            "trace=bpf",
            "-e",
            "signal=none",
            "-s",
            "64",
            "-o",
        ])
        .arg(&log)
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--test-threads=1"])
        .env(CHILD, &obj)
        .status()
        .expect("strace is needed for this test (apt-get install strace)");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    std::fs::remove_file(&log).ok();
    std::fs::remove_file(&obj).ok();
    assert!(status.success(), "the child under strace failed:\n{text}");
    let creates: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("bpf(BPF_LINK_CREATE") && l.contains("kprobe_multi="))
        .collect();
    assert_eq!(creates.len(), 2, "two kprobe_multi link creates:\n{text}");
    let want = [
        "attach_type=BPF_TRACE_KPROBE_MULTI, flags=0, kprobe_multi={flags=0, cnt=2, \
         syms=[\"do_unlinkat\", \"do_rmdir\"], addrs=NULL, cookies=[0x7, 0x123456789abc]}}}",
        "attach_type=BPF_TRACE_KPROBE_MULTI, flags=0, kprobe_multi={flags=\
         BPF_F_KPROBE_MULTI_RETURN, cnt=2, syms=NULL, addrs=[0xffffffff81000000, \
         0xffffffff81000040], cookies=NULL}}}",
    ];
    for (line, want) in creates.iter().zip(want) {
        assert!(
            line.contains(want),
            "strace decoded\n{line}\nexpected\n{want}"
        );
        assert!(
            line.ends_with("= -1 EOPNOTSUPP (Operation not supported)"),
            "{line}"
        );
    }
}
