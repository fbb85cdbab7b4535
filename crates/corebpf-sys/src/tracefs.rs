//! tracefs: where it is mounted, and the ids of tracepoints.

use std::ffi::CString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::{Error, Result};

const CANDIDATES: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/// The tracefs root (the directory holding `events/`), mounting tracefs at
/// `/sys/kernel/tracing` if no mount is found. The answer is cached for the process.
pub fn root() -> Result<&'static Path> {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    if let Some(p) = ROOT.get() {
        return Ok(p);
    }
    let found = find_or_mount()?;
    Ok(ROOT.get_or_init(|| found))
}

fn find_or_mount() -> Result<PathBuf> {
    for c in CANDIDATES {
        if Path::new(c).join("events").is_dir() {
            return Ok(PathBuf::from(c));
        }
    }
    let target = CANDIDATES[0];
    mount_fs("tracefs", target)?;
    if Path::new(target).join("events").is_dir() {
        Ok(PathBuf::from(target))
    } else {
        Err(Error::InvalidArgument {
            op: "find tracefs",
            problem: format!("tracefs mounted at {target} has no events/ directory"),
        })
    }
}

/// Mounts a pseudo filesystem (`tracefs`, `bpf`) of type `fstype` at `target`.
pub fn mount_fs(fstype: &str, target: &str) -> Result<()> {
    let op = "mount";
    let c = |s: &str| {
        CString::new(s).map_err(|_| Error::InvalidArgument {
            op,
            problem: format!("{s:?} contains a NUL byte"),
        })
    };
    let (src, tgt, ty) = (c(fstype)?, c(target)?, c(fstype)?);
    // SAFETY: all three pointers are NUL-terminated strings alive for the call; no data argument.
    let ret = unsafe { libc::mount(src.as_ptr(), tgt.as_ptr(), ty.as_ptr(), 0, std::ptr::null()) };
    if ret == 0 {
        Ok(())
    } else {
        Err(Error::Mount {
            fstype: fstype.to_string(),
            target: target.to_string(),
            source: io::Error::last_os_error(),
        })
    }
}

/// The id of tracepoint `category/name` (for `perf_event_open` with `PERF_TYPE_TRACEPOINT`).
pub fn tracepoint_id(category: &str, name: &str) -> Result<u32> {
    let bad = |problem: String| Error::InvalidArgument {
        op: "tracepoint id",
        problem,
    };
    let ok = |s: &str| !s.is_empty() && !s.contains('/') && s != "." && s != "..";
    if !ok(category) || !ok(name) {
        return Err(bad(format!(
            "{category:?}/{name:?} is not a tracepoint name"
        )));
    }
    let path = root()?.join("events").join(category).join(name).join("id");
    match std::fs::read_to_string(&path) {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| bad(format!("{} does not hold a number", path.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(bad(format!(
            "tracepoint {category}/{name} does not exist in this kernel (no {})",
            path.display()
        ))),
        Err(source) => Err(Error::Syscall {
            op: "tracepoint id",
            source,
        }),
    }
}

/// `f_type` of a bpf filesystem (`BPF_FS_MAGIC`).
pub const BPF_FS_MAGIC: u64 = 0xcafe_4a11;

/// The type (`statfs` `f_type`, a filesystem magic number such as [`BPF_FS_MAGIC`]) of the
/// filesystem holding `path`.
pub fn fs_magic(path: &Path) -> Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| Error::InvalidArgument {
        op: "statfs",
        problem: format!("{} contains a NUL byte", path.display()),
    })?;
    let mut st = std::mem::MaybeUninit::<libc::statfs>::zeroed();
    // SAFETY: `c` is NUL-terminated and alive for the call; `st` is a writable statfs buffer.
    let ret = unsafe { libc::statfs(c.as_ptr(), st.as_mut_ptr()) };
    if ret < 0 {
        return Err(Error::Syscall {
            op: "statfs",
            source: io::Error::last_os_error(),
        });
    }
    // SAFETY: statfs succeeded and filled the buffer (zeroed before anyway).
    let st = unsafe { st.assume_init() };
    // `f_type` is a signed word; magic numbers are 32-bit patterns.
    Ok(st.f_type as u64 & 0xffff_ffff)
}
