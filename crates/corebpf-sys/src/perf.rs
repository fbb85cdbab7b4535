//! `perf_event_open(2)`: tracepoint, uprobe/kprobe, software and BPF-output events, and the
//! ioctls that attach a BPF program to them.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::{Error, Result};

/// `PERF_TYPE_*`.
pub mod kind {
    pub const HARDWARE: u32 = 0;
    pub const SOFTWARE: u32 = 1;
    pub const TRACEPOINT: u32 = 2;
}

/// `PERF_COUNT_SW_*`.
pub mod sw {
    pub const CPU_CLOCK: u64 = 0;
    pub const TASK_CLOCK: u64 = 1;
    pub const BPF_OUTPUT: u64 = 10;
}

/// `PERF_SAMPLE_RAW`.
pub const SAMPLE_RAW: u64 = 1 << 10;

/// Bits of [`PerfEventAttr::flags`].
pub mod flag {
    pub const DISABLED: u64 = 1 << 0;
    pub const INHERIT: u64 = 1 << 1;
    pub const FREQ: u64 = 1 << 10;
    pub const WATERMARK: u64 = 1 << 14;
}

/// `struct perf_event_attr` (version 8, 136 bytes).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct PerfEventAttr {
    pub type_: u32,
    pub size: u32,
    pub config: u64,
    /// `sample_period` or, with [`flag::FREQ`], `sample_freq`.
    pub sample_period: u64,
    pub sample_type: u64,
    pub read_format: u64,
    pub flags: u64,
    /// `wakeup_events` or, with [`flag::WATERMARK`], `wakeup_watermark`.
    pub wakeup_events: u32,
    pub bp_type: u32,
    /// `config1`: `bp_addr`, `kprobe_func`, `uprobe_path`.
    pub config1: u64,
    /// `config2`: `bp_len`, `kprobe_addr`, `probe_offset`.
    pub config2: u64,
    pub branch_sample_type: u64,
    pub sample_regs_user: u64,
    pub sample_stack_user: u32,
    pub clockid: i32,
    pub sample_regs_intr: u64,
    pub aux_watermark: u32,
    pub sample_max_stack: u16,
    pub _reserved2: u16,
    pub aux_sample_size: u32,
    pub _reserved3: u32,
    pub sig_data: u64,
    pub config3: u64,
}

const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
const IOC_ENABLE: libc::c_ulong = 0x2400;
const IOC_DISABLE: libc::c_ulong = 0x2401;
const IOC_SET_BPF: libc::c_ulong = 0x4004_2408;

/// Opens a perf event for `pid` (-1: all) on `cpu` (-1: any).
pub fn perf_event_open(attr: &PerfEventAttr, pid: i32, cpu: i32) -> Result<OwnedFd> {
    let mut a = *attr;
    a.size = std::mem::size_of::<PerfEventAttr>() as u32;
    // SAFETY: `a` is a live `#[repr(C)]` perf_event_attr whose `size` is its real size; any
    // string address in config1 was set by the callers in this module from a CString that
    // outlives the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &mut a as *mut PerfEventAttr,
            pid as libc::c_long,
            cpu as libc::c_long,
            -1 as libc::c_long,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if ret < 0 {
        return Err(Error::Syscall {
            op: "perf_event_open",
            source: io::Error::last_os_error(),
        });
    }
    // SAFETY: the kernel returned a new file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as i32) })
}

fn ioctl(
    op: &'static str,
    fd: BorrowedFd<'_>,
    req: libc::c_ulong,
    arg: libc::c_ulong,
) -> Result<()> {
    // SAFETY: the perf ioctls used here take an integer argument (or none) and `fd` is open.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), req as _, arg) };
    if ret < 0 {
        Err(Error::Syscall {
            op,
            source: io::Error::last_os_error(),
        })
    } else {
        Ok(())
    }
}

/// Attaches a BPF program to a perf event (`PERF_EVENT_IOC_SET_BPF`).
pub fn set_bpf(event: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> Result<()> {
    ioctl(
        "perf event set bpf",
        event,
        IOC_SET_BPF,
        prog.as_raw_fd() as libc::c_ulong,
    )
}

/// Starts counting/sampling.
pub fn enable(event: BorrowedFd<'_>) -> Result<()> {
    ioctl("perf event enable", event, IOC_ENABLE, 0)
}

/// Stops counting/sampling.
pub fn disable(event: BorrowedFd<'_>) -> Result<()> {
    ioctl("perf event disable", event, IOC_DISABLE, 0)
}

/// A tracepoint event with id `id` (see [`crate::tracefs::tracepoint_id`]).
pub fn tracepoint(id: u32, pid: i32, cpu: i32) -> Result<OwnedFd> {
    let attr = PerfEventAttr {
        type_: kind::TRACEPOINT,
        config: u64::from(id),
        sample_period: 1,
        wakeup_events: 1,
        ..Default::default()
    };
    perf_event_open(&attr, pid, cpu)
}

/// The PMU type number and the `retprobe` config bit of a dynamic probe PMU (`kprobe`,
/// `uprobe`), or an error saying the kernel lacks it.
pub fn probe_pmu(name: &str) -> Result<(u32, Option<u32>)> {
    let dir = std::path::Path::new("/sys/bus/event_source/devices").join(name);
    let ty = match std::fs::read_to_string(dir.join("type")) {
        Ok(t) => t
            .trim()
            .parse::<u32>()
            .map_err(|_| Error::InvalidArgument {
                op: "probe PMU",
                problem: format!("{} does not hold a number", dir.join("type").display()),
            })?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::Unsupported {
                what: format!("{name}s"),
                why: match name {
                    "kprobe" => {
                        "this kernel has no kprobes (CONFIG_KPROBES off); use fentry/fexit".into()
                    }
                    _ => format!("no {} in this kernel", dir.display()),
                },
            })
        }
        Err(source) => {
            return Err(Error::Syscall {
                op: "probe PMU",
                source,
            })
        }
    };
    // "config:0" names the bit that turns a probe into a return probe.
    let bit = std::fs::read_to_string(dir.join("format/retprobe"))
        .ok()
        .and_then(|t| {
            t.trim()
                .strip_prefix("config:")
                .and_then(|b| b.parse().ok())
        });
    Ok((ty, bit))
}

/// A uprobe (or uretprobe) at `offset` in the file `path`, for `pid` (-1: every process).
pub fn uprobe(
    path: &str,
    offset: u64,
    retprobe: bool,
    pid: i32,
    ref_ctr_offset: u64,
) -> Result<OwnedFd> {
    probe("uprobe", path, offset, retprobe, pid, ref_ctr_offset)
}

/// A kprobe (or kretprobe) on `func + offset`.
pub fn kprobe(func: &str, offset: u64, retprobe: bool) -> Result<OwnedFd> {
    probe("kprobe", func, offset, retprobe, -1, 0)
}

fn probe(
    pmu: &str,
    target: &str,
    offset: u64,
    retprobe: bool,
    pid: i32,
    ref_ctr: u64,
) -> Result<OwnedFd> {
    let (ty, bit) = probe_pmu(pmu)?;
    let mut config = 0;
    if retprobe {
        let bit = bit.ok_or_else(|| Error::Unsupported {
            what: format!("{pmu} return probes"),
            why: format!("the {pmu} PMU has no retprobe format bit"),
        })?;
        config |= 1u64 << bit;
    }
    // The uprobe PMU takes the reference-counter (semaphore) offset in config bits 32..63.
    config |= ref_ctr << 32;
    let name = CString::new(target).map_err(|_| Error::InvalidArgument {
        op: "perf_event_open",
        problem: format!("{target:?} contains a NUL byte"),
    })?;
    let attr = PerfEventAttr {
        type_: ty,
        config,
        config1: name.as_ptr() as u64,
        config2: offset,
        sample_period: 1,
        wakeup_events: 1,
        ..Default::default()
    };
    let cpu = if pid == -1 { 0 } else { -1 };
    perf_event_open(&attr, pid, cpu)
}
