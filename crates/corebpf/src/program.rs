//! A program of a loaded object.

// `LoadError` carries a verifier rejection's explanation inline (program, log, source line,
// CO-RE access): a deliberate size for an error returned once per failed load.
#![allow(clippy::result_large_err)]

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use corebpf_obj::{AttachType, ProgType};
use corebpf_sys::bpf::{self, attr::ProgInfo};

use crate::LoadError;

/// A program loaded into the kernel. Unloaded when dropped (unless pinned or attached by a link
/// that outlives it).
#[derive(Debug)]
pub struct Program {
    pub(crate) name: String,
    pub(crate) section: String,
    pub(crate) prog_type: u32,
    pub(crate) expected_attach_type: Option<u32>,
    pub(crate) attach_target: Option<String>,
    pub(crate) attach_btf_id: Option<u32>,
    /// The BPF program it was loaded against (freplace, fentry/fexit on a BPF function).
    pub(crate) target_prog: Option<crate::attach_target::TargetProgram>,
    pub(crate) fd: OwnedFd,
    pub(crate) insn_count: usize,
    pub(crate) log: Option<String>,
    pub(crate) core_relos: Vec<(usize, String)>,
}

impl Program {
    /// The program's function name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its ELF section (`SEC("...")`).
    pub fn section(&self) -> &str {
        &self.section
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The kernel's `enum bpf_prog_type` number.
    pub fn prog_type_raw(&self) -> u32 {
        self.prog_type
    }

    pub fn prog_type(&self) -> Option<ProgType> {
        ProgType::from_raw(self.prog_type)
    }

    /// The expected attach type given at load, if any.
    pub fn expected_attach_type(&self) -> Option<AttachType> {
        self.expected_attach_type.and_then(AttachType::from_raw)
    }

    /// What the section name says to attach to (`syscalls/sys_enter_getpgid`, `task`, ...).
    pub fn attach_target(&self) -> Option<&str> {
        self.attach_target.as_deref()
    }

    /// The kernel BTF id the program was loaded against (tp_btf, fentry, lsm, iter).
    pub fn attach_btf_id(&self) -> Option<u32> {
        self.attach_btf_id
    }

    /// Instructions handed to the kernel (subprograms included).
    pub fn insn_count(&self) -> usize {
        self.insn_count
    }

    /// The verifier log, when the load asked for one (`log_level` > 0).
    pub fn verifier_log(&self) -> Option<&str> {
        self.log.as_deref()
    }

    /// CO-RE relocations applied to this program: (instruction, description).
    pub fn core_relocations(&self) -> &[(usize, String)] {
        &self.core_relos
    }

    /// What the kernel says about this program (id, tag, sizes, map ids, ...).
    pub fn info(&self) -> Result<ProgInfo, LoadError> {
        Ok(bpf::prog_info(self.fd.as_fd())?)
    }

    /// Pins the program at `path` on a bpf filesystem.
    pub fn pin(&self, path: &std::path::Path) -> Result<(), LoadError> {
        crate::pin::pin_fd(self.fd.as_fd(), path)
    }
}
