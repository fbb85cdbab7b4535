//! Attaching programs to every hook this library knows, from a program fd; and
//! [`Program::attach`], which reads the hook from the program's section name as libbpf does.
//!
//! Each function prefers a BPF link (detached when the [`Link`] drops, pinnable) and falls back
//! to the older mechanism (perf ioctl, netlink, `BPF_PROG_ATTACH`) on kernels without one.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use corebpf_obj::{AttachType, ProgType};
use corebpf_sys::bpf;
use corebpf_sys::link::{self as sys_link, xdp_flags};
use corebpf_sys::{cgroup, netlink, perf, tracefs};

use crate::link::{AttachError, Attachment, Link};
use crate::uprobe::UprobeTarget;
use crate::Program;

const EPERM: i32 = 1;
const EINVAL: i32 = 22;
const EOPNOTSUPP: i32 = 95;
/// The kernel-internal ENOTSUPP some attach paths return.
const ENOTSUPP: i32 = 524;

fn kernel(what: impl Into<String>) -> impl FnOnce(corebpf_sys::Error) -> AttachError {
    AttachError::kernel(what)
}

fn is_fallback_errno(e: &corebpf_sys::Error) -> bool {
    matches!(e.errno(), Some(EINVAL | EOPNOTSUPP | ENOTSUPP))
}

/// Attaches `prog` to a perf event: a BPF link when the kernel has perf-event links, else the
/// `PERF_EVENT_IOC_SET_BPF` ioctl.
pub fn perf_event_fd(
    prog: BorrowedFd<'_>,
    event: std::os::fd::OwnedFd,
    cookie: u64,
    description: String,
) -> Result<Link, AttachError> {
    match sys_link::perf_event(prog, event.as_fd(), cookie) {
        Ok(link) => Ok(Link::new(
            Attachment::Bpf {
                link,
                event: Some(event),
            },
            description,
        )),
        Err(e) if is_fallback_errno(&e) && cookie == 0 => {
            perf::set_bpf(event.as_fd(), prog).map_err(kernel(description.clone()))?;
            perf::enable(event.as_fd()).map_err(kernel(description.clone()))?;
            Ok(Link::new(Attachment::PerfEvent { event }, description))
        }
        Err(e) => Err(AttachError::Kernel {
            what: description,
            source: e,
        }),
    }
}

/// A tracepoint program on `category/name` (`syscalls`, `sys_enter_getppid`).
pub fn tracepoint(prog: BorrowedFd<'_>, category: &str, name: &str) -> Result<Link, AttachError> {
    let what = format!("tracepoint {category}/{name}");
    let id = tracefs::tracepoint_id(category, name).map_err(kernel(what.clone()))?;
    let event = perf::tracepoint(id, -1, 0).map_err(kernel(what.clone()))?;
    perf_event_fd(prog, event, 0, what)
}

/// A raw tracepoint program on tracepoint `name` (`sched_switch`).
pub fn raw_tracepoint(prog: BorrowedFd<'_>, name: &str) -> Result<Link, AttachError> {
    let what = format!("raw tracepoint {name}");
    let fd = bpf::raw_tracepoint_open(prog, Some(name)).map_err(kernel(what.clone()))?;
    Ok(Link::bpf(fd, what))
}

/// A BTF-typed tracing program (tp_btf, fentry, fexit, fmod_ret, lsm) at the target it was
/// loaded for.
pub fn tracing(prog: BorrowedFd<'_>, what: &str) -> Result<Link, AttachError> {
    let what = what.to_string();
    match bpf::raw_tracepoint_open(prog, None) {
        Ok(fd) => Ok(Link::bpf(fd, what)),
        Err(e) if e.errno() == Some(EPERM) => Err(AttachError::Unsupported {
            what,
            why:
                "the kernel refused the trampoline (EPERM): this host's policy (lockdown) forbids \
                  fentry/fexit/fmod_ret/lsm programs"
                    .into(),
        }),
        Err(e) => Err(AttachError::Kernel { what, source: e }),
    }
}

/// An extension (freplace) program in place of function `btf_id` of program `target`.
pub fn freplace(
    prog: BorrowedFd<'_>,
    target: BorrowedFd<'_>,
    btf_id: u32,
) -> Result<Link, AttachError> {
    let what = format!("freplace of BTF function {btf_id}");
    let fd = sys_link::tracing(prog, Some(target), 0, btf_id, 0).map_err(kernel(what.clone()))?;
    Ok(Link::bpf(fd, what))
}

/// An iterator program; run it with [`Link::read_iter`].
pub fn iter(prog: BorrowedFd<'_>, what: &str) -> Result<Link, AttachError> {
    let what = format!("iterator {what}");
    let fd = sys_link::iter(prog, &[]).map_err(kernel(what.clone()))?;
    Ok(Link::bpf(fd, what))
}

/// A uprobe or uretprobe (one perf event, linked).
pub fn uprobe(prog: BorrowedFd<'_>, target: &UprobeTarget) -> Result<Link, AttachError> {
    let (path, offset) = target.resolve()?;
    let kind = if target.retprobe {
        "uretprobe"
    } else {
        "uprobe"
    };
    let what = format!(
        "{kind} {}:{}{}",
        path.display(),
        target.symbol.as_deref().unwrap_or(""),
        if target.symbol.is_some() && target.offset == 0 {
            String::new()
        } else {
            format!("+{:#x}", target.offset)
        }
    );
    let p = path.to_str().ok_or_else(|| AttachError::Target {
        what: what.clone(),
        problem: "the path is not UTF-8".into(),
    })?;
    let event = perf::uprobe(
        p,
        offset,
        target.retprobe,
        target.pid.unwrap_or(-1),
        target.ref_ctr_offset,
    )
    .map_err(kernel(what.clone()))?;
    perf_event_fd(prog, event, 0, what)
}

/// Several uprobes of one program in one binary through one uprobe_multi link (the program
/// must have been loaded with the `trace_uprobe_multi` expected attach type).
pub fn uprobe_multi(
    prog: BorrowedFd<'_>,
    binary: &str,
    symbols: &[&str],
    pid: Option<i32>,
    retprobe: bool,
) -> Result<Link, AttachError> {
    let path = crate::uprobe::find_binary(binary)?;
    let offsets = symbols
        .iter()
        .map(|s| crate::uprobe::resolve_symbol(&path, s).map(|r| r.file_offset))
        .collect::<Result<Vec<_>, _>>()?;
    let what = format!("uprobe_multi {}:{}", path.display(), symbols.join(","));
    let p = path.to_str().ok_or_else(|| AttachError::Target {
        what: what.clone(),
        problem: "the path is not UTF-8".into(),
    })?;
    let fd = sys_link::uprobe_multi(
        prog,
        p,
        &offsets,
        None,
        None,
        pid.map_or(0, |p| p as u32),
        retprobe,
    )
    .map_err(kernel(what.clone()))?;
    Ok(Link::bpf(fd, what))
}

/// Every site of USDT probe `provider:name` in `binary` (uprobes with the semaphore as
/// reference counter, so the kernel enables the probe while attached).
pub fn usdt(
    prog: BorrowedFd<'_>,
    binary: &str,
    provider: &str,
    name: &str,
    pid: Option<i32>,
) -> Result<Link, AttachError> {
    let path = crate::uprobe::find_binary(binary)?;
    let (path, sites) = crate::usdt::find(&path, provider, name)?;
    let mut links = Vec::with_capacity(sites.len());
    for s in &sites {
        let t = UprobeTarget {
            binary: path.to_string_lossy().into_owned(),
            symbol: None,
            offset: s.file_offset,
            pid,
            retprobe: false,
            ref_ctr_offset: s.semaphore_offset,
        };
        links.push(uprobe(prog, &t)?);
    }
    Ok(Link::new(
        Attachment::Group(links),
        format!("usdt {}:{provider}:{name}", path.display()),
    ))
}

/// kprobes through the perf `kprobe` PMU; kernels without kprobes give a clear error.
pub fn kprobe(
    prog: BorrowedFd<'_>,
    func: &str,
    offset: u64,
    retprobe: bool,
) -> Result<Link, AttachError> {
    let what = format!(
        "{} {func}{}",
        if retprobe { "kretprobe" } else { "kprobe" },
        if offset == 0 {
            String::new()
        } else {
            format!("+{offset:#x}")
        }
    );
    let event = match perf::kprobe(func, offset, retprobe) {
        Ok(e) => e,
        Err(corebpf_sys::Error::Unsupported { why, .. }) => {
            return Err(AttachError::Unsupported { what, why })
        }
        Err(e) => {
            return Err(match crate::kprobe::kprobe_refusal(func, offset, &e) {
                Some(problem) => AttachError::Target { what, problem },
                None => AttachError::Kernel { what, source: e },
            })
        }
    };
    perf_event_fd(prog, event, 0, what)
}

/// The CPUs perf events can be opened on (`/sys/devices/system/cpu/online`).
pub fn online_cpus() -> Result<Vec<u32>, AttachError> {
    let path = "/sys/devices/system/cpu/online";
    let text = std::fs::read_to_string(path).map_err(|e| AttachError::File {
        path: path.into(),
        problem: e.to_string(),
    })?;
    parse_cpu_ranges(text.trim()).ok_or_else(|| AttachError::File {
        path: path.into(),
        problem: format!("cannot parse CPU list {text:?}"),
    })
}

pub(crate) fn parse_cpu_ranges(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                out.extend(a.trim().parse::<u32>().ok()?..=b.trim().parse::<u32>().ok()?)
            }
            None => out.push(part.trim().parse().ok()?),
        }
    }
    Some(out)
}

/// A perf_event program sampling every online CPU with the software CPU clock at `freq` Hz:
/// one perf event and link per CPU, grouped.
pub fn perf_event_sampling(prog: BorrowedFd<'_>, freq: u64) -> Result<Link, AttachError> {
    let mut links = Vec::new();
    for cpu in online_cpus()? {
        let attr = perf::PerfEventAttr {
            type_: perf::kind::SOFTWARE,
            config: perf::sw::CPU_CLOCK,
            sample_period: freq,
            flags: perf::flag::FREQ,
            ..Default::default()
        };
        let what = format!("perf event cpu-clock {freq} Hz on CPU {cpu}");
        let event = perf::perf_event_open(&attr, -1, cpu as i32).map_err(kernel(what.clone()))?;
        links.push(perf_event_fd(prog, event, 0, what)?);
    }
    Ok(Link::new(
        Attachment::Group(links),
        format!("perf event cpu-clock sampling at {freq} Hz"),
    ))
}

/// XDP attach modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XdpMode {
    /// The kernel's choice (driver mode when the driver supports it).
    #[default]
    Auto,
    /// Generic (skb) mode: works on every interface.
    Skb,
    /// Native driver mode.
    Drv,
    /// Offloaded to the NIC.
    Hw,
}

impl XdpMode {
    fn flags(self) -> u32 {
        match self {
            XdpMode::Auto => 0,
            XdpMode::Skb => xdp_flags::SKB_MODE,
            XdpMode::Drv => xdp_flags::DRV_MODE,
            XdpMode::Hw => xdp_flags::HW_MODE,
        }
    }
}

/// The index of interface `name`.
pub fn ifindex(name: &str) -> Result<u32, AttachError> {
    let p = format!("/sys/class/net/{name}/ifindex");
    std::fs::read_to_string(&p)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| AttachError::Target {
            what: format!("interface {name:?}"),
            problem: format!("no such interface in this network namespace ({p})"),
        })
}

/// An XDP program on interface `ifindex`: a BPF link, or netlink on kernels without XDP links.
pub fn xdp(prog: BorrowedFd<'_>, ifindex: u32, mode: XdpMode) -> Result<Link, AttachError> {
    let what = format!("xdp on ifindex {ifindex} ({mode:?} mode)");
    match sys_link::xdp(prog, ifindex, mode.flags()) {
        Ok(fd) => Ok(Link::bpf(fd, what)),
        Err(e) if is_fallback_errno(&e) => xdp_netlink(prog, ifindex, mode),
        Err(e) => Err(AttachError::Kernel { what, source: e }),
    }
}

/// An XDP program set over netlink (removed again on drop); fails if one is already there.
pub fn xdp_netlink(prog: BorrowedFd<'_>, ifindex: u32, mode: XdpMode) -> Result<Link, AttachError> {
    let what = format!("xdp (netlink) on ifindex {ifindex} ({mode:?} mode)");
    let flags = mode.flags();
    netlink::xdp_set(ifindex, Some(prog), flags | xdp_flags::UPDATE_IF_NOEXIST)
        .map_err(kernel(what.clone()))?;
    Ok(Link::new(Attachment::NetlinkXdp { ifindex, flags }, what))
}

/// A tc program at the ingress or egress of `ifindex`: a tcx link, or a clsact + cls_bpf
/// direct-action filter on kernels without tcx.
pub fn tc(prog: BorrowedFd<'_>, ifindex: u32, egress: bool) -> Result<Link, AttachError> {
    let dir = if egress { "egress" } else { "ingress" };
    let what = format!("tcx {dir} on ifindex {ifindex}");
    match sys_link::tcx(prog, ifindex, egress) {
        Ok(fd) => Ok(Link::bpf(fd, what)),
        Err(e) if is_fallback_errno(&e) => tc_cls_bpf(prog, ifindex, egress, "corebpf", 1, 1),
        Err(e) => Err(AttachError::Kernel { what, source: e }),
    }
}

/// A cls_bpf direct-action filter under the clsact qdisc (created if missing and then removed
/// with the filter).
pub fn tc_cls_bpf(
    prog: BorrowedFd<'_>,
    ifindex: u32,
    egress: bool,
    name: &str,
    priority: u16,
    handle: u32,
) -> Result<Link, AttachError> {
    let dir = if egress { "egress" } else { "ingress" };
    let what = format!("cls_bpf {dir} on ifindex {ifindex} (prio {priority} handle {handle})");
    let qdisc_created = netlink::clsact_add(ifindex).map_err(kernel(what.clone()))?;
    if let Err(e) = netlink::cls_bpf_add(ifindex, egress, prog, name, priority, handle) {
        if qdisc_created {
            let _ = netlink::clsact_del(ifindex);
        }
        return Err(AttachError::Kernel { what, source: e });
    }
    Ok(Link::new(
        Attachment::ClsBpf {
            ifindex,
            egress,
            priority,
            handle,
            qdisc_created,
        },
        what,
    ))
}

/// A cgroup program on cgroup directory `dir` at `attach_type`: a link, or `BPF_PROG_ATTACH`
/// with `BPF_F_ALLOW_MULTI` on kernels without cgroup links.
pub fn cgroup(
    prog: BorrowedFd<'_>,
    dir: &Path,
    attach_type: AttachType,
) -> Result<Link, AttachError> {
    let what = format!("cgroup {} at {}", attach_type.name(), dir.display());
    let cg = cgroup::open(dir).map_err(kernel(what.clone()))?;
    match sys_link::fd_target(prog, cg.as_fd(), attach_type as u32, 0) {
        Ok(fd) => Ok(Link::bpf(fd, what)),
        Err(e) if is_fallback_errno(&e) => {
            bpf::prog_attach(
                prog,
                cg.as_fd(),
                attach_type as u32,
                sys_link::cgroup_flags::ALLOW_MULTI,
            )
            .map_err(kernel(what.clone()))?;
            let prog = prog
                .try_clone_to_owned()
                .map_err(|e| AttachError::Link(format!("{what}: dup program fd: {e}")))?;
            Ok(Link::new(
                Attachment::Legacy {
                    prog,
                    target: cg,
                    attach_type: attach_type as u32,
                },
                what,
            ))
        }
        Err(e) => Err(AttachError::Kernel { what, source: e }),
    }
}

/// A socket filter program on a socket (`SO_ATTACH_BPF`); removed from the socket on drop.
pub fn socket_filter(prog: BorrowedFd<'_>, socket: BorrowedFd<'_>) -> Result<Link, AttachError> {
    let what = "socket filter".to_string();
    sys_link::socket_attach(socket, prog).map_err(kernel(what.clone()))?;
    let socket = socket
        .try_clone_to_owned()
        .map_err(|e| AttachError::Link(format!("{what}: dup socket fd: {e}")))?;
    Ok(Link::new(Attachment::Socket { socket }, what))
}

/// An sk_lookup program on the network namespace at `netns` (`/proc/self/ns/net`).
pub fn sk_lookup(prog: BorrowedFd<'_>, netns: &Path) -> Result<Link, AttachError> {
    let what = format!("sk_lookup on {}", netns.display());
    let ns = std::fs::File::open(netns).map_err(|e| AttachError::File {
        path: netns.to_path_buf(),
        problem: e.to_string(),
    })?;
    let fd = sys_link::fd_target(prog, ns.as_fd(), sys_link::ATTACH_SK_LOOKUP, 0)
        .map_err(kernel(what.clone()))?;
    Ok(Link::bpf(fd, what))
}

/// An sk_skb / sk_msg program on a sockmap or sockhash (`BPF_PROG_ATTACH`).
pub fn sockmap(
    prog: BorrowedFd<'_>,
    map: BorrowedFd<'_>,
    attach_type: AttachType,
) -> Result<Link, AttachError> {
    let what = format!("{} on a sockmap", attach_type.name());
    bpf::prog_attach(prog, map, attach_type as u32, 0).map_err(kernel(what.clone()))?;
    let dup = |fd: BorrowedFd<'_>| {
        fd.try_clone_to_owned()
            .map_err(|e| AttachError::Link(format!("{what}: dup fd: {e}")))
    };
    Ok(Link::new(
        Attachment::Legacy {
            prog: dup(prog)?,
            target: dup(map)?,
            attach_type: attach_type as u32,
        },
        what.clone(),
    ))
}

/// How a program kind is attached from its section name alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoAttach {
    /// `tracepoint/CATEGORY/NAME`, `tp/...`.
    Tracepoint,
    /// `raw_tp/NAME`, `raw_tracepoint/NAME`.
    RawTracepoint,
    /// tp_btf, fentry, fexit, fmod_ret, lsm: at the BTF target given at load.
    Tracing,
    /// `iter/NAME`.
    Iter,
    /// `uprobe/BINARY:FUNC`, `uretprobe/...`.
    Uprobe,
    /// `kprobe/FUNC[+OFF]`, `kretprobe/FUNC`, `ksyscall/NAME`, `kprobe.multi/GLOB`, ...
    Kprobe,
    /// The hook needs a target only the caller knows (interface, cgroup, socket, map, rate).
    NeedsTarget(&'static str),
}

/// The auto-attach table: how programs of `prog_type` with `attach` type attach.
pub fn auto_attach_kind(prog_type: ProgType, attach: Option<AttachType>) -> AutoAttach {
    use AttachType as A;
    match prog_type {
        ProgType::Tracepoint => AutoAttach::Tracepoint,
        ProgType::RawTracepoint | ProgType::RawTracepointWritable => AutoAttach::RawTracepoint,
        ProgType::Tracing => match attach {
            Some(A::TraceIter) => AutoAttach::Iter,
            _ => AutoAttach::Tracing,
        },
        ProgType::Lsm => AutoAttach::Tracing,
        ProgType::Kprobe => match attach {
            Some(A::TraceUprobeMulti) => {
                AutoAttach::NeedsTarget("uprobe_multi (use attach::uprobe_multi)")
            }
            Some(A::TraceKprobeMulti | A::TraceKprobeSession) => AutoAttach::Kprobe,
            _ => AutoAttach::Uprobe, // refined by the section pattern (kprobe vs uprobe)
        },
        ProgType::Xdp => AutoAttach::NeedsTarget("an interface (attach::xdp)"),
        ProgType::SchedCls | ProgType::SchedAct => {
            AutoAttach::NeedsTarget("an interface (attach::tc)")
        }
        ProgType::CgroupSkb
        | ProgType::CgroupSock
        | ProgType::CgroupSockAddr
        | ProgType::CgroupSysctl
        | ProgType::CgroupSockopt
        | ProgType::CgroupDevice
        | ProgType::SockOps => AutoAttach::NeedsTarget("a cgroup directory (attach::cgroup)"),
        ProgType::SocketFilter => AutoAttach::NeedsTarget("a socket (attach::socket_filter)"),
        ProgType::PerfEvent => {
            AutoAttach::NeedsTarget("a sampling rate (attach::perf_event_sampling)")
        }
        ProgType::SkLookup => AutoAttach::NeedsTarget("a network namespace (attach::sk_lookup)"),
        ProgType::SkSkb | ProgType::SkMsg => AutoAttach::NeedsTarget("a sockmap (attach::sockmap)"),
        ProgType::StructOps => {
            AutoAttach::NeedsTarget("its struct_ops map (Object::attach_struct_ops)")
        }
        ProgType::Ext => AutoAttach::NeedsTarget(
            "a target program (OpenObject::set_attach_target before load, or attach::freplace)",
        ),
        _ => AutoAttach::NeedsTarget("an explicit attach call"),
    }
}

impl Program {
    /// Attaches the program where its section name says (`tracepoint/syscalls/sys_enter_x`,
    /// `raw_tp/sched_switch`, `tp_btf/...`, `iter/task`, `uprobe//bin/bash:readline`,
    /// `kprobe/func`), like libbpf's auto-attach. Kinds that need a target only the caller
    /// knows (XDP, tc, cgroup, sockets, perf events) give an error naming the function to use.
    pub fn attach(&self) -> Result<Link, AttachError> {
        let prog_type = self.prog_type().ok_or_else(|| AttachError::Target {
            what: format!("program {}", self.name()),
            problem: format!("unknown program type {}", self.prog_type_raw()),
        })?;
        let target = self.attach_target().unwrap_or("");
        let section = self.section();
        let fd = self.fd();
        let what = || format!("program {} (section {section})", self.name());
        let kind = corebpf_obj::ProgramKind::from_section_name(section);
        let retprobe = kind.is_some_and(|k| k.is_return_probe());
        let pattern = kind.map_or("", |k| k.pattern);
        if prog_type == ProgType::Ext {
            return crate::attach_target::attach_ext(self);
        }
        match auto_attach_kind(prog_type, self.expected_attach_type()) {
            AutoAttach::Tracepoint => {
                let (cat, name) = target.split_once('/').ok_or_else(|| AttachError::Target {
                    what: what(),
                    problem: format!("tracepoint target {target:?} is not CATEGORY/NAME"),
                })?;
                tracepoint(fd, cat, name)
            }
            AutoAttach::RawTracepoint => {
                if target.is_empty() {
                    return Err(AttachError::Target {
                        what: what(),
                        problem: "the section names no raw tracepoint".into(),
                    });
                }
                raw_tracepoint(fd, target)
            }
            AutoAttach::Tracing => tracing(
                fd,
                &crate::attach_target::trace_description(self, pattern)
                    .unwrap_or_else(|| format!("{pattern} {target}")),
            ),
            AutoAttach::Iter => iter(fd, target),
            AutoAttach::Uprobe | AutoAttach::Kprobe if pattern.starts_with('k') => {
                crate::kprobe::auto_attach(fd, pattern, target, retprobe)
            }
            AutoAttach::Uprobe => {
                let t = UprobeTarget::from_section_target(target, retprobe)?;
                uprobe(fd, &t)
            }
            AutoAttach::Kprobe => crate::kprobe::auto_attach(fd, pattern, target, retprobe),
            AutoAttach::NeedsTarget(need) => Err(AttachError::Target {
                what: what(),
                problem: format!("{} programs attach to {need}", prog_type.name()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ranges() {
        assert_eq!(parse_cpu_ranges("0-1"), Some(vec![0, 1]));
        assert_eq!(parse_cpu_ranges("0,2-3"), Some(vec![0, 2, 3]));
        assert_eq!(parse_cpu_ranges("x"), None);
    }

    #[test]
    fn table() {
        assert_eq!(
            auto_attach_kind(ProgType::Tracing, Some(AttachType::TraceIter)),
            AutoAttach::Iter
        );
        assert_eq!(
            auto_attach_kind(ProgType::Tracing, Some(AttachType::TraceFentry)),
            AutoAttach::Tracing
        );
        assert!(matches!(
            auto_attach_kind(ProgType::Xdp, None),
            AutoAttach::NeedsTarget(_)
        ));
    }
}
