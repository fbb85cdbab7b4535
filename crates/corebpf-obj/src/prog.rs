//! Program section names (`SEC("...")`) mapped to program type, expected attach type and attach
//! target, following libbpf's conventions.

kernel_enum! {
    /// `enum bpf_prog_type`.
    ProgType {
        Unspec = 0 => "unspec",
        SocketFilter = 1 => "socket_filter",
        Kprobe = 2 => "kprobe",
        SchedCls = 3 => "sched_cls",
        SchedAct = 4 => "sched_act",
        Tracepoint = 5 => "tracepoint",
        Xdp = 6 => "xdp",
        PerfEvent = 7 => "perf_event",
        CgroupSkb = 8 => "cgroup_skb",
        CgroupSock = 9 => "cgroup_sock",
        LwtIn = 10 => "lwt_in",
        LwtOut = 11 => "lwt_out",
        LwtXmit = 12 => "lwt_xmit",
        SockOps = 13 => "sock_ops",
        SkSkb = 14 => "sk_skb",
        CgroupDevice = 15 => "cgroup_device",
        SkMsg = 16 => "sk_msg",
        RawTracepoint = 17 => "raw_tracepoint",
        CgroupSockAddr = 18 => "cgroup_sock_addr",
        LwtSeg6local = 19 => "lwt_seg6local",
        LircMode2 = 20 => "lirc_mode2",
        SkReuseport = 21 => "sk_reuseport",
        FlowDissector = 22 => "flow_dissector",
        CgroupSysctl = 23 => "cgroup_sysctl",
        RawTracepointWritable = 24 => "raw_tracepoint_writable",
        CgroupSockopt = 25 => "cgroup_sockopt",
        Tracing = 26 => "tracing",
        StructOps = 27 => "struct_ops",
        Ext = 28 => "ext",
        Lsm = 29 => "lsm",
        SkLookup = 30 => "sk_lookup",
        Syscall = 31 => "syscall",
        Netfilter = 32 => "netfilter",
    }
}

kernel_enum! {
    /// `enum bpf_attach_type`.
    AttachType {
        CgroupInetIngress = 0 => "cgroup_inet_ingress",
        CgroupInetEgress = 1 => "cgroup_inet_egress",
        CgroupInetSockCreate = 2 => "cgroup_inet_sock_create",
        CgroupSockOps = 3 => "cgroup_sock_ops",
        SkSkbStreamParser = 4 => "sk_skb_stream_parser",
        SkSkbStreamVerdict = 5 => "sk_skb_stream_verdict",
        CgroupDevice = 6 => "cgroup_device",
        SkMsgVerdict = 7 => "sk_msg_verdict",
        CgroupInet4Bind = 8 => "cgroup_inet4_bind",
        CgroupInet6Bind = 9 => "cgroup_inet6_bind",
        CgroupInet4Connect = 10 => "cgroup_inet4_connect",
        CgroupInet6Connect = 11 => "cgroup_inet6_connect",
        CgroupInet4PostBind = 12 => "cgroup_inet4_post_bind",
        CgroupInet6PostBind = 13 => "cgroup_inet6_post_bind",
        CgroupUdp4Sendmsg = 14 => "cgroup_udp4_sendmsg",
        CgroupUdp6Sendmsg = 15 => "cgroup_udp6_sendmsg",
        LircMode2 = 16 => "lirc_mode2",
        FlowDissector = 17 => "flow_dissector",
        CgroupSysctl = 18 => "cgroup_sysctl",
        CgroupUdp4Recvmsg = 19 => "cgroup_udp4_recvmsg",
        CgroupUdp6Recvmsg = 20 => "cgroup_udp6_recvmsg",
        CgroupGetsockopt = 21 => "cgroup_getsockopt",
        CgroupSetsockopt = 22 => "cgroup_setsockopt",
        TraceRawTp = 23 => "trace_raw_tp",
        TraceFentry = 24 => "trace_fentry",
        TraceFexit = 25 => "trace_fexit",
        ModifyReturn = 26 => "modify_return",
        LsmMac = 27 => "lsm_mac",
        TraceIter = 28 => "trace_iter",
        CgroupInet4Getpeername = 29 => "cgroup_inet4_getpeername",
        CgroupInet6Getpeername = 30 => "cgroup_inet6_getpeername",
        CgroupInet4Getsockname = 31 => "cgroup_inet4_getsockname",
        CgroupInet6Getsockname = 32 => "cgroup_inet6_getsockname",
        XdpDevmap = 33 => "xdp_devmap",
        CgroupInetSockRelease = 34 => "cgroup_inet_sock_release",
        XdpCpumap = 35 => "xdp_cpumap",
        SkLookup = 36 => "sk_lookup",
        Xdp = 37 => "xdp",
        SkSkbVerdict = 38 => "sk_skb_verdict",
        SkReuseportSelect = 39 => "sk_reuseport_select",
        SkReuseportSelectOrMigrate = 40 => "sk_reuseport_select_or_migrate",
        PerfEvent = 41 => "perf_event",
        TraceKprobeMulti = 42 => "trace_kprobe_multi",
        LsmCgroup = 43 => "lsm_cgroup",
        StructOps = 44 => "struct_ops",
        Netfilter = 45 => "netfilter",
        TcxIngress = 46 => "tcx_ingress",
        TcxEgress = 47 => "tcx_egress",
        TraceUprobeMulti = 48 => "trace_uprobe_multi",
        CgroupUnixConnect = 49 => "cgroup_unix_connect",
        CgroupUnixSendmsg = 50 => "cgroup_unix_sendmsg",
        CgroupUnixRecvmsg = 51 => "cgroup_unix_recvmsg",
        CgroupUnixGetpeername = 52 => "cgroup_unix_getpeername",
        CgroupUnixGetsockname = 53 => "cgroup_unix_getsockname",
        NetkitPrimary = 54 => "netkit_primary",
        NetkitPeer = 55 => "netkit_peer",
        TraceKprobeSession = 56 => "trace_kprobe_session",
        TraceUprobeSession = 57 => "trace_uprobe_session",
    }
}

/// How a section-definition pattern matches a section name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    /// The whole name, exactly.
    Exact,
    /// The name itself, or the name followed by `/` and an attach target.
    Prefix,
}

/// Flags of a section definition.
const SLEEPABLE: u8 = 1;
const FRAGS: u8 = 2;
const BTF_TARGET: u8 = 4;

struct SecDef {
    pattern: &'static str,
    how: Match,
    prog_type: ProgType,
    attach: Option<AttachType>,
    flags: u8,
}

const fn def(
    pattern: &'static str,
    how: Match,
    prog_type: ProgType,
    attach: Option<AttachType>,
    flags: u8,
) -> SecDef {
    SecDef {
        pattern,
        how,
        prog_type,
        attach,
        flags,
    }
}

use AttachType as A;
use Match::{Exact as E, Prefix as P};
use ProgType as T;

/// The section definitions, tried in order: the first match wins, so longer patterns come
/// before their prefixes (`sk_reuseport/migrate` before `sk_reuseport`).
#[rustfmt::skip]
static SECTION_DEFS: &[SecDef] = &[
    def("socket", E, T::SocketFilter, None, 0),
    def("sk_reuseport/migrate", E, T::SkReuseport, Some(A::SkReuseportSelectOrMigrate), 0),
    def("sk_reuseport", E, T::SkReuseport, Some(A::SkReuseportSelect), 0),
    def("kprobe", P, T::Kprobe, None, 0),
    def("uprobe", P, T::Kprobe, None, 0),
    def("uprobe.s", P, T::Kprobe, None, SLEEPABLE),
    def("kretprobe", P, T::Kprobe, None, 0),
    def("uretprobe", P, T::Kprobe, None, 0),
    def("uretprobe.s", P, T::Kprobe, None, SLEEPABLE),
    def("kprobe.multi", P, T::Kprobe, Some(A::TraceKprobeMulti), 0),
    def("kretprobe.multi", P, T::Kprobe, Some(A::TraceKprobeMulti), 0),
    def("kprobe.session", P, T::Kprobe, Some(A::TraceKprobeSession), 0),
    def("uprobe.multi", P, T::Kprobe, Some(A::TraceUprobeMulti), 0),
    def("uretprobe.multi", P, T::Kprobe, Some(A::TraceUprobeMulti), 0),
    def("uprobe.multi.s", P, T::Kprobe, Some(A::TraceUprobeMulti), SLEEPABLE),
    def("uretprobe.multi.s", P, T::Kprobe, Some(A::TraceUprobeMulti), SLEEPABLE),
    def("uprobe.session", P, T::Kprobe, Some(A::TraceUprobeSession), 0),
    def("uprobe.session.s", P, T::Kprobe, Some(A::TraceUprobeSession), SLEEPABLE),
    def("ksyscall", P, T::Kprobe, None, 0),
    def("kretsyscall", P, T::Kprobe, None, 0),
    def("usdt", P, T::Kprobe, None, 0),
    def("usdt.s", P, T::Kprobe, None, SLEEPABLE),
    def("tc/ingress", E, T::SchedCls, Some(A::TcxIngress), 0),
    def("tc/egress", E, T::SchedCls, Some(A::TcxEgress), 0),
    def("tcx/ingress", E, T::SchedCls, Some(A::TcxIngress), 0),
    def("tcx/egress", E, T::SchedCls, Some(A::TcxEgress), 0),
    def("netkit/primary", E, T::SchedCls, Some(A::NetkitPrimary), 0),
    def("netkit/peer", E, T::SchedCls, Some(A::NetkitPeer), 0),
    def("tc", E, T::SchedCls, None, 0),
    def("classifier", E, T::SchedCls, None, 0),
    def("action", E, T::SchedAct, None, 0),
    def("tracepoint", P, T::Tracepoint, None, 0),
    def("tp", P, T::Tracepoint, None, 0),
    def("raw_tracepoint", P, T::RawTracepoint, None, 0),
    def("raw_tp", P, T::RawTracepoint, None, 0),
    def("raw_tracepoint.w", P, T::RawTracepointWritable, None, 0),
    def("raw_tp.w", P, T::RawTracepointWritable, None, 0),
    def("tp_btf", P, T::Tracing, Some(A::TraceRawTp), BTF_TARGET),
    def("fentry", P, T::Tracing, Some(A::TraceFentry), BTF_TARGET),
    def("fmod_ret", P, T::Tracing, Some(A::ModifyReturn), BTF_TARGET),
    def("fexit", P, T::Tracing, Some(A::TraceFexit), BTF_TARGET),
    def("fentry.s", P, T::Tracing, Some(A::TraceFentry), BTF_TARGET | SLEEPABLE),
    def("fmod_ret.s", P, T::Tracing, Some(A::ModifyReturn), BTF_TARGET | SLEEPABLE),
    def("fexit.s", P, T::Tracing, Some(A::TraceFexit), BTF_TARGET | SLEEPABLE),
    def("freplace", P, T::Ext, None, BTF_TARGET),
    def("lsm", P, T::Lsm, Some(A::LsmMac), BTF_TARGET),
    def("lsm.s", P, T::Lsm, Some(A::LsmMac), BTF_TARGET | SLEEPABLE),
    def("lsm_cgroup", P, T::Lsm, Some(A::LsmCgroup), BTF_TARGET),
    def("iter", P, T::Tracing, Some(A::TraceIter), BTF_TARGET),
    def("iter.s", P, T::Tracing, Some(A::TraceIter), BTF_TARGET | SLEEPABLE),
    def("syscall", E, T::Syscall, None, SLEEPABLE),
    def("xdp.frags/devmap", E, T::Xdp, Some(A::XdpDevmap), FRAGS),
    def("xdp/devmap", E, T::Xdp, Some(A::XdpDevmap), 0),
    def("xdp.frags/cpumap", E, T::Xdp, Some(A::XdpCpumap), FRAGS),
    def("xdp/cpumap", E, T::Xdp, Some(A::XdpCpumap), 0),
    def("xdp.frags", E, T::Xdp, Some(A::Xdp), FRAGS),
    def("xdp", E, T::Xdp, Some(A::Xdp), 0),
    def("perf_event", E, T::PerfEvent, None, 0),
    def("lwt_in", E, T::LwtIn, None, 0),
    def("lwt_out", E, T::LwtOut, None, 0),
    def("lwt_xmit", E, T::LwtXmit, None, 0),
    def("lwt_seg6local", E, T::LwtSeg6local, None, 0),
    def("sockops", E, T::SockOps, Some(A::CgroupSockOps), 0),
    def("sk_skb/stream_parser", E, T::SkSkb, Some(A::SkSkbStreamParser), 0),
    def("sk_skb/stream_verdict", E, T::SkSkb, Some(A::SkSkbStreamVerdict), 0),
    def("sk_skb/verdict", E, T::SkSkb, Some(A::SkSkbVerdict), 0),
    def("sk_skb", E, T::SkSkb, None, 0),
    def("sk_msg", E, T::SkMsg, Some(A::SkMsgVerdict), 0),
    def("lirc_mode2", E, T::LircMode2, Some(A::LircMode2), 0),
    def("flow_dissector", E, T::FlowDissector, Some(A::FlowDissector), 0),
    def("cgroup_skb/ingress", E, T::CgroupSkb, Some(A::CgroupInetIngress), 0),
    def("cgroup_skb/egress", E, T::CgroupSkb, Some(A::CgroupInetEgress), 0),
    def("cgroup/skb", E, T::CgroupSkb, None, 0),
    def("cgroup/sock_create", E, T::CgroupSock, Some(A::CgroupInetSockCreate), 0),
    def("cgroup/sock_release", E, T::CgroupSock, Some(A::CgroupInetSockRelease), 0),
    def("cgroup/sock", E, T::CgroupSock, Some(A::CgroupInetSockCreate), 0),
    def("cgroup/post_bind4", E, T::CgroupSock, Some(A::CgroupInet4PostBind), 0),
    def("cgroup/post_bind6", E, T::CgroupSock, Some(A::CgroupInet6PostBind), 0),
    def("cgroup/bind4", E, T::CgroupSockAddr, Some(A::CgroupInet4Bind), 0),
    def("cgroup/bind6", E, T::CgroupSockAddr, Some(A::CgroupInet6Bind), 0),
    def("cgroup/connect4", E, T::CgroupSockAddr, Some(A::CgroupInet4Connect), 0),
    def("cgroup/connect6", E, T::CgroupSockAddr, Some(A::CgroupInet6Connect), 0),
    def("cgroup/connect_unix", E, T::CgroupSockAddr, Some(A::CgroupUnixConnect), 0),
    def("cgroup/sendmsg4", E, T::CgroupSockAddr, Some(A::CgroupUdp4Sendmsg), 0),
    def("cgroup/sendmsg6", E, T::CgroupSockAddr, Some(A::CgroupUdp6Sendmsg), 0),
    def("cgroup/sendmsg_unix", E, T::CgroupSockAddr, Some(A::CgroupUnixSendmsg), 0),
    def("cgroup/recvmsg4", E, T::CgroupSockAddr, Some(A::CgroupUdp4Recvmsg), 0),
    def("cgroup/recvmsg6", E, T::CgroupSockAddr, Some(A::CgroupUdp6Recvmsg), 0),
    def("cgroup/recvmsg_unix", E, T::CgroupSockAddr, Some(A::CgroupUnixRecvmsg), 0),
    def("cgroup/getpeername4", E, T::CgroupSockAddr, Some(A::CgroupInet4Getpeername), 0),
    def("cgroup/getpeername6", E, T::CgroupSockAddr, Some(A::CgroupInet6Getpeername), 0),
    def("cgroup/getpeername_unix", E, T::CgroupSockAddr, Some(A::CgroupUnixGetpeername), 0),
    def("cgroup/getsockname4", E, T::CgroupSockAddr, Some(A::CgroupInet4Getsockname), 0),
    def("cgroup/getsockname6", E, T::CgroupSockAddr, Some(A::CgroupInet6Getsockname), 0),
    def("cgroup/getsockname_unix", E, T::CgroupSockAddr, Some(A::CgroupUnixGetsockname), 0),
    def("cgroup/sysctl", E, T::CgroupSysctl, Some(A::CgroupSysctl), 0),
    def("cgroup/getsockopt", E, T::CgroupSockopt, Some(A::CgroupGetsockopt), 0),
    def("cgroup/setsockopt", E, T::CgroupSockopt, Some(A::CgroupSetsockopt), 0),
    def("cgroup/dev", E, T::CgroupDevice, Some(A::CgroupDevice), 0),
    def("struct_ops", P, T::StructOps, None, 0),
    def("struct_ops.s", P, T::StructOps, None, SLEEPABLE),
    def("sk_lookup", E, T::SkLookup, Some(A::SkLookup), 0),
    def("netfilter", E, T::Netfilter, Some(A::Netfilter), 0),
];

/// What a program section's name says about its programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgramKind<'a> {
    pub prog_type: ProgType,
    /// The `expected_attach_type` the kernel wants at load time, if any.
    pub expected_attach_type: Option<AttachType>,
    /// What follows the section prefix: `syscalls/sys_enter_execve`, `do_unlinkat`,
    /// `/bin/bash:readline`, `task`. Empty when the name has none.
    pub attach_target: &'a str,
    /// The program may sleep (`.s` sections, `syscall`).
    pub sleepable: bool,
    /// XDP multi-buffer (`xdp.frags`).
    pub frags: bool,
    /// The attach target names a kernel BTF function or type (fentry, tp_btf, lsm, iter, ...).
    pub btf_target: bool,
    /// The matched section pattern (`tp`, `uprobe.s`, `cgroup_skb/ingress`).
    pub pattern: &'static str,
}

impl<'a> ProgramKind<'a> {
    /// The kind for a section name, or `None` when libbpf would not recognize it.
    pub fn from_section_name(name: &'a str) -> Option<ProgramKind<'a>> {
        SECTION_DEFS.iter().find_map(|d| {
            let target = match d.how {
                Match::Exact => (name == d.pattern).then_some("")?,
                Match::Prefix => {
                    let rest = name.strip_prefix(d.pattern)?;
                    if rest.is_empty() {
                        ""
                    } else {
                        rest.strip_prefix('/')?
                    }
                }
            };
            Some(ProgramKind {
                prog_type: d.prog_type,
                expected_attach_type: d.attach,
                attach_target: target,
                sleepable: d.flags & SLEEPABLE != 0,
                frags: d.flags & FRAGS != 0,
                btf_target: d.flags & BTF_TARGET != 0,
                pattern: d.pattern,
            })
        })
    }

    /// True for kretprobe/uretprobe-style sections (the program runs at function return).
    pub fn is_return_probe(&self) -> bool {
        matches!(
            self.pattern,
            "kretprobe"
                | "uretprobe"
                | "uretprobe.s"
                | "kretprobe.multi"
                | "uretprobe.multi"
                | "uretprobe.multi.s"
                | "kretsyscall"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str) -> ProgramKind<'_> {
        ProgramKind::from_section_name(name).unwrap_or_else(|| panic!("{name} not recognized"))
    }

    #[test]
    fn tracing_sections() {
        let k = kind("tracepoint/syscalls/sys_enter_execve");
        assert_eq!(k.prog_type, ProgType::Tracepoint);
        assert_eq!(k.attach_target, "syscalls/sys_enter_execve");
        assert_eq!(k.expected_attach_type, None);
        assert_eq!(
            kind("tp/sched/sched_switch").attach_target,
            "sched/sched_switch"
        );
        assert_eq!(kind("raw_tp/sys_enter").prog_type, ProgType::RawTracepoint);
        assert_eq!(kind("raw_tracepoint/sys_exit").attach_target, "sys_exit");
        assert_eq!(
            kind("raw_tp.w/foo").prog_type,
            ProgType::RawTracepointWritable
        );
        let k = kind("tp_btf/sched_wakeup");
        assert_eq!(
            (k.prog_type, k.expected_attach_type),
            (ProgType::Tracing, Some(AttachType::TraceRawTp))
        );
        assert!(k.btf_target);
        let k = kind("fentry/do_unlinkat");
        assert_eq!(k.expected_attach_type, Some(AttachType::TraceFentry));
        assert!(!k.sleepable);
        let k = kind("fentry.s/__x64_sys_getpgid");
        assert_eq!(
            (k.expected_attach_type, k.sleepable),
            (Some(AttachType::TraceFentry), true)
        );
        assert_eq!(
            kind("fexit/do_unlinkat").expected_attach_type,
            Some(AttachType::TraceFexit)
        );
        assert_eq!(
            kind("fmod_ret/x").expected_attach_type,
            Some(AttachType::ModifyReturn)
        );
        let k = kind("lsm.s/bprm_check_security");
        assert_eq!((k.prog_type, k.sleepable), (ProgType::Lsm, true));
        assert_eq!(
            kind("lsm/file_open").expected_attach_type,
            Some(AttachType::LsmMac)
        );
        let k = kind("iter/task");
        assert_eq!(
            (k.prog_type, k.expected_attach_type, k.attach_target),
            (ProgType::Tracing, Some(AttachType::TraceIter), "task")
        );
        assert!(kind("iter.s/task_vma").sleepable);
        assert_eq!(kind("freplace/handler").prog_type, ProgType::Ext);
    }

    #[test]
    fn probe_sections() {
        let k = kind("kprobe/do_nanosleep");
        assert_eq!(
            (k.prog_type, k.attach_target, k.is_return_probe()),
            (ProgType::Kprobe, "do_nanosleep", false)
        );
        assert!(kind("kretprobe/do_nanosleep").is_return_probe());
        let k = kind("uretprobe//bin/bash:readline");
        assert_eq!(
            (k.attach_target, k.is_return_probe()),
            ("/bin/bash:readline", true)
        );
        assert_eq!(
            kind("uprobe/libc.so.6:malloc").attach_target,
            "libc.so.6:malloc"
        );
        assert_eq!(kind("uprobe").attach_target, "");
        assert_eq!(
            kind("kprobe.multi/tcp_*").expected_attach_type,
            Some(AttachType::TraceKprobeMulti)
        );
        assert_eq!(
            kind("uprobe.multi/libc.so.6:*").expected_attach_type,
            Some(AttachType::TraceUprobeMulti)
        );
        assert!(kind("uprobe.s/x:y").sleepable);
        assert_eq!(
            kind("usdt/libc.so.6:libc:setjmp").prog_type,
            ProgType::Kprobe
        );
        assert_eq!(kind("ksyscall/openat").attach_target, "openat");
    }

    #[test]
    fn networking_sections() {
        assert_eq!(kind("xdp").expected_attach_type, Some(AttachType::Xdp));
        let k = kind("xdp.frags");
        assert_eq!((k.prog_type, k.frags), (ProgType::Xdp, true));
        assert_eq!(
            kind("xdp/cpumap").expected_attach_type,
            Some(AttachType::XdpCpumap)
        );
        assert_eq!(
            kind("xdp/devmap").expected_attach_type,
            Some(AttachType::XdpDevmap)
        );
        let k = kind("xdp.frags/cpumap");
        assert_eq!(
            (k.expected_attach_type, k.frags),
            (Some(AttachType::XdpCpumap), true)
        );
        assert_eq!(kind("tc").prog_type, ProgType::SchedCls);
        assert_eq!(kind("tc").expected_attach_type, None);
        assert_eq!(
            kind("tc/ingress").expected_attach_type,
            Some(AttachType::TcxIngress)
        );
        assert_eq!(
            kind("tcx/egress").expected_attach_type,
            Some(AttachType::TcxEgress)
        );
        assert_eq!(kind("classifier").prog_type, ProgType::SchedCls);
        assert_eq!(kind("action").prog_type, ProgType::SchedAct);
        assert_eq!(kind("socket").prog_type, ProgType::SocketFilter);
        assert_eq!(
            kind("sk_skb/stream_parser").expected_attach_type,
            Some(AttachType::SkSkbStreamParser)
        );
        assert_eq!(kind("sk_skb").expected_attach_type, None);
        assert_eq!(
            kind("sk_msg").expected_attach_type,
            Some(AttachType::SkMsgVerdict)
        );
        assert_eq!(kind("sk_lookup").prog_type, ProgType::SkLookup);
        assert_eq!(
            kind("sk_reuseport").expected_attach_type,
            Some(AttachType::SkReuseportSelect)
        );
        assert_eq!(
            kind("sk_reuseport/migrate").expected_attach_type,
            Some(AttachType::SkReuseportSelectOrMigrate)
        );
        assert_eq!(kind("flow_dissector").prog_type, ProgType::FlowDissector);
        assert_eq!(kind("lwt_xmit").prog_type, ProgType::LwtXmit);
        assert_eq!(kind("netfilter").prog_type, ProgType::Netfilter);
        assert_eq!(
            kind("sockops").expected_attach_type,
            Some(AttachType::CgroupSockOps)
        );
    }

    #[test]
    fn cgroup_sections() {
        let k = kind("cgroup_skb/ingress");
        assert_eq!(
            (k.prog_type, k.expected_attach_type),
            (ProgType::CgroupSkb, Some(AttachType::CgroupInetIngress))
        );
        assert_eq!(
            kind("cgroup_skb/egress").expected_attach_type,
            Some(AttachType::CgroupInetEgress)
        );
        assert_eq!(kind("cgroup/skb").expected_attach_type, None);
        assert_eq!(kind("cgroup/sock_create").prog_type, ProgType::CgroupSock);
        assert_eq!(
            kind("cgroup/sock").expected_attach_type,
            Some(AttachType::CgroupInetSockCreate)
        );
        assert_eq!(
            kind("cgroup/connect4").expected_attach_type,
            Some(AttachType::CgroupInet4Connect)
        );
        assert_eq!(kind("cgroup/connect6").prog_type, ProgType::CgroupSockAddr);
        assert_eq!(
            kind("cgroup/sendmsg4").expected_attach_type,
            Some(AttachType::CgroupUdp4Sendmsg)
        );
        assert_eq!(
            kind("cgroup/recvmsg6").expected_attach_type,
            Some(AttachType::CgroupUdp6Recvmsg)
        );
        assert_eq!(kind("cgroup/sysctl").prog_type, ProgType::CgroupSysctl);
        assert_eq!(
            kind("cgroup/getsockopt").expected_attach_type,
            Some(AttachType::CgroupGetsockopt)
        );
        assert_eq!(kind("cgroup/setsockopt").prog_type, ProgType::CgroupSockopt);
        assert_eq!(kind("cgroup/dev").prog_type, ProgType::CgroupDevice);
        assert_eq!(kind("perf_event").prog_type, ProgType::PerfEvent);
        let k = kind("syscall");
        assert_eq!((k.prog_type, k.sleepable), (ProgType::Syscall, true));
        assert_eq!(kind("struct_ops/dctcp_init").prog_type, ProgType::StructOps);
        assert!(kind("struct_ops.s/x").sleepable);
    }

    #[test]
    fn names_libbpf_rejects() {
        // Exact patterns do not accept suffixes, prefix patterns need a `/` separator.
        for name in [
            "xdp_prog",
            "xdp/foo",
            "socket1",
            "tcx",
            "tracepointx/a",
            "kprobex",
            "cgroup/unknown",
            ".text",
            "",
            "license",
            "classifier/ingress",
        ] {
            assert_eq!(ProgramKind::from_section_name(name), None, "{name}");
        }
    }

    #[test]
    fn raw_numbers_round_trip() {
        for t in ProgType::ALL {
            assert_eq!(ProgType::from_raw(t.as_raw()), Some(*t));
        }
        for t in AttachType::ALL {
            assert_eq!(AttachType::from_raw(t.as_raw()), Some(*t));
        }
        assert_eq!(ProgType::from_raw(1000), None);
    }
}
