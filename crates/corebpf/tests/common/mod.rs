//! Helpers shared by the kernel integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use corebpf::btf::{Btf, Kind, TypeKind};

/// A private directory on bpffs, removed (with everything pinned in it) when dropped.
pub struct PinDir(pub PathBuf);

impl PinDir {
    pub fn new(tag: &str) -> PinDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = PathBuf::from(format!(
            "/sys/fs/bpf/corebpf-test-{}-{tag}-{n}",
            std::process::id()
        ));
        corebpf::pin::ensure_bpffs_dir(&dir)
            .unwrap_or_else(|e| panic!("bpffs at /sys/fs/bpf (these tests need root): {e}"));
        PinDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for PinDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Options that keep by-name pins of a test in its own directory.
pub fn opts(pins: &PinDir) -> corebpf::LoadOptions {
    corebpf::LoadOptions {
        pin_root: Some(pins.path().to_path_buf()),
        ..Default::default()
    }
}

/// Byte offset of `member` in struct `name` of `btf` (the object's or the kernel's).
pub fn member_offset(btf: &Btf<'_>, name: &str, member: &str) -> usize {
    let id = btf
        .find_by_name_kind(name, Kind::Struct)
        .unwrap_or_else(|| panic!("struct {name} in BTF"));
    let TypeKind::Struct { members, .. } = btf.type_by_id(id).expect("type").kind else {
        panic!("{name} is not a struct")
    };
    let m = members
        .iter()
        .find(|m| m.name == member)
        .unwrap_or_else(|| panic!("{name}.{member} in BTF"));
    (m.bit_offset / 8) as usize
}

pub fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}

pub fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_ne_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

/// The value of enumerator `value` of `enum name` in `btf`.
pub fn enum_value(btf: &Btf<'_>, name: &str, value: &str) -> Option<i128> {
    let id = btf.find_by_name_kind(name, Kind::Enum)?;
    match btf.type_by_id(id).ok()?.kind {
        TypeKind::Enum { values, .. } => values.iter().find(|v| v.name == value).map(|v| v.value),
        _ => None,
    }
}

/// Runs `python3 -c script` and returns its handle; the script reads a line from stdin before
/// acting, so the caller can attach first.
pub fn python(script: &str) -> std::process::Child {
    std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 is needed to trigger system calls from a child: {e}"))
}

/// Releases a child started by [`python`] and waits for it.
pub fn go(mut child: std::process::Child) -> String {
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"go\n")
        .expect("write to child");
    let out = child.wait_with_output().expect("child");
    assert!(out.status.success(), "child failed: {:?}", out.status);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Attaches `prog` to tracepoint `category/name` for process `pid`.
pub fn attach_tracepoint(
    prog: &corebpf::Program,
    category: &str,
    name: &str,
    pid: i32,
) -> std::os::fd::OwnedFd {
    use std::os::fd::AsFd;
    let id = corebpf_sys::tracefs::tracepoint_id(category, name).expect("tracepoint id");
    let ev = corebpf_sys::perf::tracepoint(id, pid, -1).expect("perf_event_open tracepoint");
    corebpf_sys::perf::set_bpf(ev.as_fd(), prog.fd()).expect("attach program");
    corebpf_sys::perf::enable(ev.as_fd()).expect("enable");
    ev
}
