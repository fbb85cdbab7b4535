//! cgroup v2 directories as attach targets.

use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Where the unified (v2) cgroup hierarchy is mounted, from `/proc/self/mounts`.
pub fn cgroup2_root() -> Result<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").map_err(|source| Error::Syscall {
        op: "read /proc/self/mounts",
        source,
    })?;
    mounts
        .lines()
        .find_map(|l| {
            let mut f = l.split_whitespace();
            let (_, dir, ty) = (f.next()?, f.next()?, f.next()?);
            (ty == "cgroup2").then(|| PathBuf::from(dir))
        })
        .ok_or_else(|| Error::Unsupported {
            what: "cgroup v2 attach targets".into(),
            why: "no cgroup2 filesystem is mounted".into(),
        })
}

/// Opens a cgroup directory for `BPF_LINK_CREATE` / `BPF_PROG_ATTACH`.
pub fn open(dir: &Path) -> Result<OwnedFd> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .map(OwnedFd::from)
        .map_err(|source| Error::Syscall {
            op: "open cgroup directory",
            source,
        })
}
