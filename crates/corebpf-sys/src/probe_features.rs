//! Program loads for feature probing: one `BPF_PROG_LOAD` with a caller-sized verifier log,
//! the program closed at once. Cheaper than [`crate::bpf::prog_load`] (no retry, no 16 MiB
//! log) when thousands of probes run, as `corebpf feature` does for helpers.

use std::os::fd::{FromRawFd, OwnedFd};

use crate::bpf::{attr::ProgLoadAttr, sys_bpf, Cmd};

/// What a probe load sets besides the instructions.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProbeLoad {
    pub prog_type: u32,
    pub expected_attach_type: u32,
    pub prog_flags: u32,
    pub kern_version: u32,
    pub attach_btf_id: u32,
}

/// Loads `insns` (license "GPL") with a verifier log in `log`; `Ok(())` if the kernel accepted
/// the program (it is closed again), `Err(errno)` otherwise. The log is NUL-terminated text.
pub fn probe_load(insns: &[u8], opts: &ProbeLoad, log: &mut [u8]) -> Result<(), i32> {
    let license = b"GPL\0";
    if let Some(first) = log.first_mut() {
        *first = 0;
    }
    let mut a = ProgLoadAttr {
        prog_type: opts.prog_type,
        insn_cnt: (insns.len() / 8) as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: u32::from(!log.is_empty()),
        log_size: log.len() as u32,
        log_buf: if log.is_empty() {
            0
        } else {
            log.as_mut_ptr() as u64
        },
        kern_version: opts.kern_version,
        prog_flags: opts.prog_flags,
        expected_attach_type: opts.expected_attach_type,
        attach_btf_id: opts.attach_btf_id,
        ..Default::default()
    };
    match sys_bpf(Cmd::ProgLoad, &mut a) {
        Ok(fd) => {
            // SAFETY: the kernel returned a new descriptor that nothing else owns; it is
            // closed when the OwnedFd drops here.
            drop(unsafe { OwnedFd::from_raw_fd(fd as i32) });
            Ok(())
        }
        Err(e) => Err(e.raw_os_error().unwrap_or(0)),
    }
}
