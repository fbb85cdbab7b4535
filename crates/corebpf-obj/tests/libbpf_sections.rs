//! Section names mapped to program and attach types, checked against libbpf itself:
//! `libbpf_prog_type_by_name()` from the installed libbpf (libbpf-dev), through a small C
//! program built at test time.

use std::io::Write;
use std::process::{Command, Stdio};

use corebpf_obj::ProgramKind;

const PROBE: &str = r#"
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
static int quiet(enum libbpf_print_level l, const char *f, va_list a) { return 0; }
int main(void) {
    char line[512];
    libbpf_set_print(quiet);
    while (fgets(line, sizeof(line), stdin)) {
        enum bpf_prog_type t; enum bpf_attach_type a;
        line[strcspn(line, "\n")] = 0;
        if (libbpf_prog_type_by_name(line, &t, &a) == 0)
            printf("%d %d\n", (int)t, (int)a);
        else
            printf("- -\n");
    }
    return 0;
}
"#;

/// Section patterns newer than the installed libbpf (1.1): it rejects them, we know them.
const NEWER_THAN_LIBBPF_1_1: &[&str] = &[
    "tc/ingress",
    "tc/egress",
    "tcx/ingress",
    "tcx/egress",
    "netkit/primary",
    "netkit/peer",
    "uprobe.multi",
    "uretprobe.multi",
    "uprobe.multi.s",
    "uretprobe.multi.s",
    "kprobe.session",
    "uprobe.session",
    "uprobe.session.s",
    "cgroup/connect_unix",
    "cgroup/sendmsg_unix",
    "cgroup/recvmsg_unix",
    "cgroup/getpeername_unix",
    "cgroup/getsockname_unix",
    "netfilter",
    "fentry.s",
    "fmod_ret.s",
    "fexit.s",
    "xdp.frags/devmap",
    "xdp.frags/cpumap",
    "usdt.s",
    "sk_skb/verdict",
    "struct_ops.s",
];

const NAMES: &[&str] = &[
    "socket",
    "socket/x",
    "sk_reuseport",
    "sk_reuseport/migrate",
    "kprobe",
    "kprobe/do_sys_open",
    "kretprobe/do_sys_open",
    "uprobe",
    "uprobe//bin/bash:readline",
    "uretprobe/libc.so.6:malloc",
    "uprobe.s/libc.so.6:malloc",
    "uretprobe.s/x:y",
    "kprobe.multi/tcp_*",
    "kretprobe.multi/tcp_*",
    "kprobe.session/x",
    "uprobe.multi/libc.so.6:*",
    "uretprobe.multi/x",
    "uprobe.multi.s/x",
    "ksyscall/openat",
    "kretsyscall/openat",
    "usdt/libc.so.6:libc:setjmp",
    "usdt.s/x:y:z",
    "tc",
    "tc/ingress",
    "tc/egress",
    "tcx/ingress",
    "tcx/egress",
    "netkit/primary",
    "netkit/peer",
    "classifier",
    "classifier/ingress",
    "action",
    "action/x",
    "tracepoint/syscalls/sys_enter_openat",
    "tp/sched/sched_switch",
    "tracepoint",
    "tp",
    "raw_tracepoint/sys_enter",
    "raw_tp/sys_exit",
    "raw_tp",
    "raw_tracepoint.w/x",
    "raw_tp.w/x",
    "tp_btf/sched_wakeup",
    "fentry/do_unlinkat",
    "fmod_ret/security_task_alloc",
    "fexit/do_unlinkat",
    "fentry.s/x",
    "fmod_ret.s/x",
    "fexit.s/x",
    "freplace/handler",
    "lsm/bprm_check_security",
    "lsm.s/file_open",
    "lsm_cgroup/socket_bind",
    "iter/task",
    "iter/bpf_map_elem",
    "iter.s/task_vma",
    "syscall",
    "syscall/x",
    "xdp.frags/devmap",
    "xdp/devmap",
    "xdp.frags/cpumap",
    "xdp/cpumap",
    "xdp.frags",
    "xdp",
    "xdp/foo",
    "xdp_foo",
    "perf_event",
    "perf_event/x",
    "lwt_in",
    "lwt_out",
    "lwt_xmit",
    "lwt_seg6local",
    "sockops",
    "sk_skb/stream_parser",
    "sk_skb/stream_verdict",
    "sk_skb/verdict",
    "sk_skb",
    "sk_msg",
    "lirc_mode2",
    "flow_dissector",
    "cgroup_skb/ingress",
    "cgroup_skb/egress",
    "cgroup/skb",
    "cgroup/sock_create",
    "cgroup/sock_release",
    "cgroup/sock",
    "cgroup/post_bind4",
    "cgroup/post_bind6",
    "cgroup/bind4",
    "cgroup/bind6",
    "cgroup/connect4",
    "cgroup/connect6",
    "cgroup/connect_unix",
    "cgroup/sendmsg4",
    "cgroup/sendmsg6",
    "cgroup/sendmsg_unix",
    "cgroup/recvmsg4",
    "cgroup/recvmsg6",
    "cgroup/recvmsg_unix",
    "cgroup/getpeername4",
    "cgroup/getpeername6",
    "cgroup/getpeername_unix",
    "cgroup/getsockname4",
    "cgroup/getsockname6",
    "cgroup/getsockname_unix",
    "cgroup/sysctl",
    "cgroup/getsockopt",
    "cgroup/setsockopt",
    "cgroup/dev",
    "cgroup/unknown",
    "struct_ops/dctcp_init",
    "struct_ops",
    "struct_ops.s/x",
    "sk_lookup",
    "sk_lookup/x",
    "netfilter",
    ".text",
    "license",
    "maps",
    "",
    "kprobex",
    "tpx/y",
];

#[test]
fn section_names_agree_with_libbpf() {
    let dir = std::env::temp_dir().join(format!("corebpf-secnames-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("probe.c");
    let bin = dir.join("probe");
    std::fs::write(&src, PROBE).unwrap();
    let st = Command::new("clang-19")
        .args(["-O1", "-o"])
        .arg(&bin)
        .arg(&src)
        .arg("-lbpf")
        .status()
        .unwrap_or_else(|e| panic!("cannot run clang-19 ({e}): install clang-19"));
    assert!(
        st.success(),
        "building the libbpf probe failed: install libbpf-dev"
    );
    let mut child = Command::new(&bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all((NAMES.join("\n") + "\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8(out.stdout).unwrap();
    let answers: Vec<&str> = text.lines().collect();
    assert_eq!(answers.len(), NAMES.len());

    let mut agreed = 0;
    let mut problems = Vec::new();
    for (name, answer) in NAMES.iter().zip(answers) {
        let ours = ProgramKind::from_section_name(name);
        match answer.split_once(' ').unwrap() {
            ("-", _) => match ours {
                None => agreed += 1,
                Some(k) if NEWER_THAN_LIBBPF_1_1.contains(&k.pattern) => {}
                Some(k) => problems.push(format!("{name:?}: libbpf rejects it, we say {k:?}")),
            },
            (t, a) => {
                let Some(k) = ours else {
                    problems.push(format!("{name:?}: libbpf accepts it ({t} {a}), we do not"));
                    continue;
                };
                let attach = k.expected_attach_type.map_or(0, |a| a.as_raw());
                if k.prog_type.as_raw().to_string() != t || attach.to_string() != a {
                    problems.push(format!("{name:?}: libbpf {t} {a}, we {k:?}"));
                } else {
                    agreed += 1;
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(agreed > 100, "only {agreed} names agreed");
}
