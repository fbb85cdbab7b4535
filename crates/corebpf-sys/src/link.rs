//! `BPF_LINK_CREATE` for each attach family, link update, and socket-level attach
//! (`SO_ATTACH_BPF`).
//!
//! The attach-type specific tail of the `BPF_LINK_CREATE` attribute is a union; each function
//! here fills the layout its family uses (`include/uapi/linux/bpf.h`).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use crate::bpf::{
    self,
    attr::{KprobeMultiLinkAttr, LinkUpdateAttr},
    Cmd,
};
use crate::{Error, Result};

/// `BPF_PERF_EVENT`.
pub const ATTACH_PERF_EVENT: u32 = 41;
/// `BPF_TRACE_ITER`.
pub const ATTACH_TRACE_ITER: u32 = 28;
/// `BPF_XDP`.
pub const ATTACH_XDP: u32 = 37;
/// `BPF_TCX_INGRESS`.
pub const ATTACH_TCX_INGRESS: u32 = 46;
/// `BPF_TCX_EGRESS`.
pub const ATTACH_TCX_EGRESS: u32 = 47;
/// `BPF_TRACE_UPROBE_MULTI`.
pub const ATTACH_TRACE_UPROBE_MULTI: u32 = 48;
/// `BPF_TRACE_KPROBE_MULTI`.
pub const ATTACH_TRACE_KPROBE_MULTI: u32 = 42;
/// `BPF_TRACE_KPROBE_SESSION` (Linux 6.10): one program at entry and return.
pub const ATTACH_TRACE_KPROBE_SESSION: u32 = 56;
/// `BPF_F_KPROBE_MULTI_RETURN`: the kprobe_multi link's probes are return probes.
pub const KPROBE_MULTI_RETURN: u32 = 1 << 0;
/// `BPF_SK_LOOKUP`.
pub const ATTACH_SK_LOOKUP: u32 = 36;

/// `XDP_FLAGS_*` for XDP attach.
pub mod xdp_flags {
    pub const UPDATE_IF_NOEXIST: u32 = 1 << 0;
    pub const SKB_MODE: u32 = 1 << 1;
    pub const DRV_MODE: u32 = 1 << 2;
    pub const HW_MODE: u32 = 1 << 3;
    pub const REPLACE: u32 = 1 << 4;
}

/// `BPF_F_BEFORE` / `BPF_F_AFTER` ordering flags of tcx and multi-program cgroup attach.
pub mod mprog_flags {
    pub const BEFORE: u32 = 1 << 3;
    pub const AFTER: u32 = 1 << 4;
    pub const ID: u32 = 1 << 5;
}

/// `BPF_F_ALLOW_OVERRIDE` / `BPF_F_ALLOW_MULTI` of legacy cgroup attach.
pub mod cgroup_flags {
    pub const ALLOW_OVERRIDE: u32 = 1 << 0;
    pub const ALLOW_MULTI: u32 = 1 << 1;
    pub const REPLACE: u32 = 1 << 2;
}

fn raw(fd: BorrowedFd<'_>) -> u32 {
    fd.as_raw_fd() as u32
}

/// A link from a program to a perf event (tracepoint, kprobe, uprobe, software event), with
/// an optional BPF cookie (`bpf_get_attach_cookie`).
pub fn perf_event(prog: BorrowedFd<'_>, event: BorrowedFd<'_>, cookie: u64) -> Result<OwnedFd> {
    bpf::link_create(
        prog,
        raw(event),
        ATTACH_PERF_EVENT,
        0,
        [cookie, 0, 0, 0, 0, 0],
    )
}

/// A link to a hook identified by a target fd (cgroup directory, network namespace) and
/// `attach_type`, with no type-specific data.
pub fn fd_target(
    prog: BorrowedFd<'_>,
    target: BorrowedFd<'_>,
    attach_type: u32,
    flags: u32,
) -> Result<OwnedFd> {
    bpf::link_create(prog, raw(target), attach_type, flags, [0; 6])
}

/// A link for a BTF-targeted tracing program (tp_btf, fentry, fexit, fmod_ret, lsm) or an
/// extension program (`target` = the program it replaces a function of, `btf_id` = that
/// function's BTF id; both 0 for tracing programs whose target was fixed at load).
pub fn tracing(
    prog: BorrowedFd<'_>,
    target: Option<BorrowedFd<'_>>,
    attach_type: u32,
    btf_id: u32,
    cookie: u64,
) -> Result<OwnedFd> {
    bpf::link_create(
        prog,
        target.map_or(0, raw),
        attach_type,
        0,
        [u64::from(btf_id), cookie, 0, 0, 0, 0],
    )
}

/// An iterator link (`BPF_TRACE_ITER`); `iter_info` is the raw `union bpf_iter_link_info`
/// (empty for iterators without parameters, such as `task` over every task).
pub fn iter(prog: BorrowedFd<'_>, iter_info: &[u8]) -> Result<OwnedFd> {
    let (ptr, len) = if iter_info.is_empty() {
        (0, 0)
    } else {
        (iter_info.as_ptr() as u64, iter_info.len() as u64)
    };
    bpf::link_create(prog, 0, ATTACH_TRACE_ITER, 0, [ptr, len, 0, 0, 0, 0])
}

/// An XDP link on interface `ifindex` (`flags`: one of the [`xdp_flags`] modes or 0 for the
/// kernel's choice).
pub fn xdp(prog: BorrowedFd<'_>, ifindex: u32, flags: u32) -> Result<OwnedFd> {
    bpf::link_create(prog, ifindex, ATTACH_XDP, flags, [0; 6])
}

/// A tcx link on interface `ifindex`, ingress or egress, appended after the programs already
/// there.
pub fn tcx(prog: BorrowedFd<'_>, ifindex: u32, egress: bool) -> Result<OwnedFd> {
    let ty = if egress {
        ATTACH_TCX_EGRESS
    } else {
        ATTACH_TCX_INGRESS
    };
    bpf::link_create(prog, ifindex, ty, 0, [0; 6])
}

/// One uprobe_multi link: `offsets` (file offsets) in `path`, each with its reference counter
/// offset (or none) and cookie (or none); `pid` 0 for every process; `retprobe` for return
/// probes.
pub fn uprobe_multi(
    prog: BorrowedFd<'_>,
    path: &str,
    offsets: &[u64],
    ref_ctr_offsets: Option<&[u64]>,
    cookies: Option<&[u64]>,
    pid: u32,
    retprobe: bool,
) -> Result<OwnedFd> {
    const OP: &str = "uprobe_multi link";
    let n = offsets.len();
    if n == 0
        || ref_ctr_offsets.is_some_and(|r| r.len() != n)
        || cookies.is_some_and(|c| c.len() != n)
    {
        return Err(Error::InvalidArgument {
            op: OP,
            problem: format!(
                "{n} offsets need as many reference counter offsets and cookies (and at least one)"
            ),
        });
    }
    let p = CString::new(path).map_err(|_| Error::InvalidArgument {
        op: OP,
        problem: format!("{path:?} contains a NUL byte"),
    })?;
    let addr = |s: Option<&[u64]>| s.map_or(0, |s| s.as_ptr() as u64);
    let flags = u64::from(retprobe); // BPF_F_UPROBE_MULTI_RETURN
    bpf::link_create(
        prog,
        0,
        ATTACH_TRACE_UPROBE_MULTI,
        0,
        [
            p.as_ptr() as u64,
            offsets.as_ptr() as u64,
            addr(ref_ctr_offsets),
            addr(cookies),
            (n as u64) | (flags << 32),
            u64::from(pid),
        ],
    )
}

/// Where the probes of a kprobe_multi link go: kernel function names (resolved by the kernel
/// through kallsyms) or addresses.
#[derive(Debug, Clone, Copy)]
pub enum KprobeMultiTargets<'a> {
    Symbols(&'a [&'a str]),
    Addresses(&'a [u64]),
}

/// One kprobe_multi link (fprobe, Linux 6.0+ with `CONFIG_FPROBE`) over every target, each with
/// its cookie when `cookies` is given. `attach_type` is [`ATTACH_TRACE_KPROBE_MULTI`] (the
/// program's expected attach type) or [`ATTACH_TRACE_KPROBE_SESSION`]; `flags` is
/// [`KPROBE_MULTI_RETURN`] for return probes or 0.
pub fn kprobe_multi(
    prog: BorrowedFd<'_>,
    targets: KprobeMultiTargets<'_>,
    cookies: Option<&[u64]>,
    attach_type: u32,
    flags: u32,
) -> Result<OwnedFd> {
    const OP: &str = "kprobe_multi link";
    let n = match targets {
        KprobeMultiTargets::Symbols(s) => s.len(),
        KprobeMultiTargets::Addresses(a) => a.len(),
    };
    if n == 0 || cookies.is_some_and(|c| c.len() != n) {
        return Err(Error::InvalidArgument {
            op: OP,
            problem: format!("{n} targets need as many cookies (and at least one target)"),
        });
    }
    let cnt = u32::try_from(n).map_err(|_| Error::InvalidArgument {
        op: OP,
        problem: format!("{n} targets are too many for one link"),
    })?;
    // The names as C strings and the array of their addresses the kernel reads.
    let names = match targets {
        KprobeMultiTargets::Symbols(s) => s
            .iter()
            .map(|n| {
                CString::new(*n).map_err(|_| Error::InvalidArgument {
                    op: OP,
                    problem: format!("{n:?} contains a NUL byte"),
                })
            })
            .collect::<Result<Vec<_>>>()?,
        KprobeMultiTargets::Addresses(_) => Vec::new(),
    };
    let name_ptrs: Vec<u64> = names.iter().map(|c| c.as_ptr() as u64).collect();
    let mut a = KprobeMultiLinkAttr {
        prog_fd: raw(prog),
        attach_type,
        flags,
        cnt,
        cookies: cookies.map_or(0, |c| c.as_ptr() as u64),
        ..Default::default()
    };
    match targets {
        KprobeMultiTargets::Symbols(_) => a.syms = name_ptrs.as_ptr() as u64,
        KprobeMultiTargets::Addresses(addrs) => a.addrs = addrs.as_ptr() as u64,
    }
    bpf::link_create_kprobe_multi(&mut a)
}

/// Replaces the program of a link (`old` given: only if it is still that program).
pub fn update(
    link: BorrowedFd<'_>,
    new_prog: BorrowedFd<'_>,
    old: Option<BorrowedFd<'_>>,
) -> Result<()> {
    let mut a = LinkUpdateAttr {
        link_fd: raw(link),
        new_prog_fd: raw(new_prog),
        flags: if old.is_some() { 1 << 2 } else { 0 }, // BPF_F_REPLACE
        old_prog_fd: old.map_or(0, raw),
    };
    bpf::sys_bpf(Cmd::LinkUpdate, &mut a)
        .map(drop)
        .map_err(|source| Error::Syscall {
            op: "link update",
            source,
        })
}

const SO_ATTACH_BPF: libc::c_int = 50;
const SO_DETACH_BPF: libc::c_int = 27;

/// Attaches a socket filter program to a socket (`SO_ATTACH_BPF`).
pub fn socket_attach(socket: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> Result<()> {
    let fd: libc::c_int = prog.as_raw_fd();
    setsockopt("SO_ATTACH_BPF", socket, SO_ATTACH_BPF, Some(&fd))
}

/// Removes the socket filter of a socket (`SO_DETACH_BPF`).
pub fn socket_detach(socket: BorrowedFd<'_>) -> Result<()> {
    setsockopt("SO_DETACH_BPF", socket, SO_DETACH_BPF, None)
}

fn setsockopt(
    op: &'static str,
    socket: BorrowedFd<'_>,
    name: libc::c_int,
    value: Option<&libc::c_int>,
) -> Result<()> {
    let zero: libc::c_int = 0;
    let v = value.unwrap_or(&zero);
    // SAFETY: `v` points at a live c_int for the duration of the call and its size is passed.
    let ret = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            name,
            (v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if ret < 0 {
        Err(Error::Syscall {
            op,
            source: io::Error::last_os_error(),
        })
    } else {
        Ok(())
    }
}
