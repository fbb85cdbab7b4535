//! Pinning on the bpf filesystem.

// `LoadError` carries a verifier rejection's explanation inline (program, log, source line,
// CO-RE access): a deliberate size for an error returned once per failed load.
#![allow(clippy::result_large_err)]

use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use crate::LoadError;

/// Where libbpf and bpftool expect the bpf filesystem.
pub const BPFFS: &str = "/sys/fs/bpf";

fn pin_err(path: &Path, problem: impl Into<String>) -> LoadError {
    LoadError::Pin {
        path: path.to_path_buf(),
        problem: problem.into(),
    }
}

/// The filesystem type of the mount holding `path` (from `/proc/self/mountinfo`).
pub fn fs_type(path: &Path) -> Result<String, LoadError> {
    let canon = path
        .canonicalize()
        .map_err(|e| pin_err(path, e.to_string()))?;
    let info = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| pin_err(path, format!("/proc/self/mountinfo: {e}")))?;
    let mut best: Option<(usize, String)> = None;
    for line in info.lines() {
        // id parent major:minor root mount-point options [optional...] - fstype source super
        let mut fields = line.split(' ');
        let Some(mount_point) = fields.nth(4) else {
            continue;
        };
        let mount_point = unescape(mount_point);
        let Some(fstype) = line.split(" - ").nth(1).and_then(|r| r.split(' ').next()) else {
            continue;
        };
        if canon.starts_with(&mount_point) {
            let len = mount_point.len();
            // Later lines of the same mount point shadow earlier ones.
            if best.as_ref().map_or(true, |(l, _)| len >= *l) {
                best = Some((len, fstype.to_string()));
            }
        }
    }
    best.map(|(_, t)| t)
        .ok_or_else(|| pin_err(path, "no mount holds this path"))
}

fn unescape(s: &str) -> String {
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if let Some(v) = s
                .get(i + 1..i + 4)
                .and_then(|o| u8::from_str_radix(o, 8).ok())
            {
                out.push(v as char);
                i += 4;
                continue;
            }
        }
        out.push(b[i] as char);
        i += 1;
    }
    out
}

/// Checks that `dir` exists (creating it if missing) and lies on a bpf filesystem; mounts one at
/// `/sys/fs/bpf` first when that is where `dir` lives and nothing is mounted there.
pub fn ensure_bpffs_dir(dir: &Path) -> Result<(), LoadError> {
    let bpffs = Path::new(BPFFS);
    if dir.starts_with(bpffs) && fs_type(bpffs).ok().as_deref() != Some("bpf") {
        corebpf_sys::tracefs::mount_fs("bpf", BPFFS)?;
    }
    std::fs::create_dir_all(dir).map_err(|e| pin_err(dir, e.to_string()))?;
    let t = fs_type(dir)?;
    if t != "bpf" {
        return Err(pin_err(
            dir,
            format!("not on a bpf filesystem (it is on {t}); use a directory under {BPFFS}"),
        ));
    }
    Ok(())
}

/// The file name an object is pinned under: bpffs refuses names with `.`, which become `_`
/// (as libbpf does: `core_fie.bss` pins as `core_fie_bss`).
pub fn pin_name(name: &str) -> String {
    name.replace('.', "_")
}

/// Pins `fd` at `path`.
pub fn pin_fd(fd: BorrowedFd<'_>, path: &Path) -> Result<(), LoadError> {
    let s = path
        .to_str()
        .ok_or_else(|| pin_err(path, "path is not UTF-8"))?;
    corebpf_sys::bpf::obj_pin(fd, s).map_err(|e| pin_err(path, e.to_string()))
}

/// Removes the pins it holds when dropped, unless [`keep`](Self::keep) was called: a failed
/// load leaves no pin behind.
#[derive(Debug, Default)]
pub(crate) struct PinGuard {
    paths: Vec<PathBuf>,
}

impl PinGuard {
    pub fn push(&mut self, p: PathBuf) {
        self.paths.push(p);
    }

    pub fn keep(mut self) -> Vec<PathBuf> {
        std::mem::take(&mut self.paths)
    }
}

impl Drop for PinGuard {
    fn drop(&mut self) {
        for p in self.paths.drain(..) {
            let _ = std::fs::remove_file(&p);
        }
    }
}
