//! Pinning on the bpf filesystem.
//!
//! Every path is checked before anything is created or pinned: it may not contain `..` (a
//! path that climbs out of the directory it names is a surprise, not a feature), and the
//! directory a pin goes into must be on a bpf filesystem by `statfs` (`f_type` is
//! `BPF_FS_MAGIC`), so a path on another filesystem is refused with a message saying how to
//! mount one, and no directory is made outside bpffs. Names that come from an object (map and
//! program names) become a single path component: `.` and `/` turn into `_`.

// `LoadError` carries a verifier rejection's explanation inline (program, log, source line,
// CO-RE access): a deliberate size for an error returned once per failed load.
#![allow(clippy::result_large_err)]

use std::os::fd::BorrowedFd;
use std::path::{Component, Path, PathBuf};

use corebpf_sys::tracefs::{fs_magic, BPF_FS_MAGIC};

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

fn not_bpffs(path: &Path) -> LoadError {
    pin_err(
        path,
        format!(
            "{} is not on a BPF filesystem (mount one: mount -t bpf bpf {BPFFS})",
            path.display()
        ),
    )
}

/// Refuses a path with a `..` component or no name.
fn check_components(path: &Path) -> Result<(), LoadError> {
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(pin_err(
            path,
            "`..` is not allowed in a pin path: give the directory itself",
        ));
    }
    if path.as_os_str().is_empty() {
        return Err(pin_err(path, "empty path"));
    }
    Ok(())
}

/// Whether `path` (which exists) is on a bpf filesystem.
fn on_bpffs(path: &Path) -> Result<bool, LoadError> {
    fs_magic(path)
        .map(|m| m == BPF_FS_MAGIC)
        .map_err(|e| pin_err(path, e.to_string()))
}

/// The nearest ancestor of `path` (itself included) that exists.
fn existing_ancestor(path: &Path) -> &Path {
    path.ancestors()
        .find(|a| !a.as_os_str().is_empty() && std::fs::symlink_metadata(a).is_ok())
        .unwrap_or(Path::new("."))
}

/// Checks that `dir` lies on a bpf filesystem and creates it if missing; mounts bpffs at
/// `/sys/fs/bpf` first when that is where `dir` lives and nothing is mounted there. Nothing is
/// created when the answer is no.
pub fn ensure_bpffs_dir(dir: &Path) -> Result<(), LoadError> {
    check_components(dir)?;
    let bpffs = Path::new(BPFFS);
    if dir.starts_with(bpffs) && bpffs.is_dir() && !on_bpffs(bpffs)? {
        corebpf_sys::tracefs::mount_fs("bpf", BPFFS)?;
    }
    if !on_bpffs(existing_ancestor(dir))? {
        return Err(not_bpffs(dir));
    }
    std::fs::create_dir_all(dir).map_err(|e| pin_err(dir, e.to_string()))?;
    // A symbolic link on the way may lead elsewhere: check where the directory really is.
    if !on_bpffs(dir)? {
        return Err(not_bpffs(dir));
    }
    Ok(())
}

/// The file name an object is pinned under: bpffs refuses names with `.`, which become `_`
/// (as libbpf does: `core_fie.bss` pins as `core_fie_bss`); `/` becomes `_` too, so a name
/// stays one path component.
pub fn pin_name(name: &str) -> String {
    name.replace(['.', '/'], "_")
}

/// Pins `fd` at `path`, whose directory must be on a bpf filesystem.
pub fn pin_fd(fd: BorrowedFd<'_>, path: &Path) -> Result<(), LoadError> {
    check_components(path)?;
    let s = path
        .to_str()
        .ok_or_else(|| pin_err(path, "path is not UTF-8"))?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match on_bpffs(parent) {
        Ok(true) => {}
        Ok(false) => return Err(not_bpffs(path)),
        Err(_) => {
            return Err(pin_err(
                path,
                format!("directory {} does not exist", parent.display()),
            ))
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_one_component() {
        assert_eq!(pin_name("core_fie.bss"), "core_fie_bss");
        assert_eq!(pin_name("../../etc/passwd"), "______etc_passwd");
        assert_eq!(
            Path::new("/sys/fs/bpf/x").join(pin_name("/etc/x")),
            Path::new("/sys/fs/bpf/x/_etc_x")
        );
    }

    #[test]
    fn paths_off_bpffs_or_with_dotdot_are_refused_before_anything_is_made() {
        let base = std::env::temp_dir().join(format!("corebpf-pin-test-{}", std::process::id()));
        let dir = base.join("a/b");
        let err = ensure_bpffs_dir(&dir).expect_err("not bpffs");
        assert_eq!(
            err.to_string(),
            format!(
                "pin {0}: {0} is not on a BPF filesystem (mount one: mount -t bpf bpf /sys/fs/bpf)",
                dir.display()
            )
        );
        assert!(!base.exists(), "a directory was made outside bpffs");
        let err = ensure_bpffs_dir(Path::new("/sys/fs/bpf/../../../tmp/x")).expect_err("dotdot");
        assert!(err.to_string().contains("`..` is not allowed"), "{err}");
    }

    #[test]
    fn pins_go_to_bpffs_only() {
        use std::os::fd::AsFd;
        let dir = Path::new(BPFFS).join(format!("corebpf-pin-test-{}/sub", std::process::id()));
        ensure_bpffs_dir(&dir).expect("a directory under /sys/fs/bpf (needs root)");
        let map = corebpf_sys::bpf::map_create(&corebpf_sys::bpf::attr::MapCreateAttr {
            map_type: 2, // array
            key_size: 4,
            value_size: 4,
            max_entries: 1,
            ..Default::default()
        })
        .expect("map create (needs root)");
        let pinned = dir.join(pin_name("pin.test"));
        pin_fd(map.as_fd(), &pinned).expect("pin");
        assert!(pinned.exists());
        let elsewhere = std::env::temp_dir().join(format!("corebpf-pin-{}", std::process::id()));
        let err = pin_fd(map.as_fd(), &elsewhere).expect_err("pin outside bpffs");
        assert!(
            err.to_string().ends_with(&format!(
                "{} is not on a BPF filesystem (mount one: mount -t bpf bpf /sys/fs/bpf)",
                elsewhere.display()
            )),
            "{err}"
        );
        assert!(!elsewhere.exists());
        let err = pin_fd(map.as_fd(), &dir.join("../sub/x")).expect_err("dotdot");
        assert!(err.to_string().contains("`..` is not allowed"), "{err}");
        std::fs::remove_file(&pinned).expect("unpin");
        std::fs::remove_dir(&dir).expect("rmdir");
        std::fs::remove_dir(dir.parent().expect("parent")).expect("rmdir");
    }
}
