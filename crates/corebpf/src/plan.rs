//! Load plans: what to create in the kernel, computed from the linked object (pure).

use corebpf_btf::Btf;

use crate::error::SourceLine;
use crate::{LoadError, LoadOptions};

/// What fills an initial slot of a map-in-map or program array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SlotTarget {
    /// Index into the plan's maps.
    Map(usize),
    /// A program by name.
    Program(String),
}

/// A map to create.
#[derive(Debug, Clone)]
pub(crate) struct MapPlan {
    /// Kernel name (at most 15 bytes are kept by the kernel).
    pub name: String,
    /// The data section an internal map holds (`.rodata`, `.kconfig`, ...).
    pub section: Option<String>,
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub flags: u32,
    pub numa_node: Option<u32>,
    pub map_extra: u64,
    pub btf_key: u32,
    pub btf_value: u32,
    pub inner: Option<Box<MapPlan>>,
    /// Initial value of key 0 (internal maps).
    pub initial: Option<Vec<u8>>,
    pub freeze: bool,
    pub pin_by_name: bool,
    pub slots: Vec<(u32, SlotTarget)>,
    /// `.kconfig`: extern name → byte offset in the value.
    pub layout: Vec<(String, u64)>,
}

/// A map reference inside a program's instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MapRef {
    /// The LD imm64 instruction.
    pub insn: usize,
    /// Index into the plan's maps.
    pub map: usize,
    /// `Some(off)`: the address of byte `off` of the map's value (global data).
    pub value_offset: Option<u32>,
}

/// A `bpf_line_info` record with kernel instruction offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineRec {
    pub insn_off: u32,
    pub file_name_off: u32,
    pub line_off: u32,
    pub line_col: u32,
}

/// A program to load.
#[derive(Debug, Clone)]
pub(crate) struct ProgPlan {
    pub name: String,
    pub section: String,
    pub prog_type: u32,
    pub expected_attach_type: Option<u32>,
    pub attach_target: Option<String>,
    /// The attach target is a kernel BTF type or function (tp_btf, fentry, lsm, iter...).
    pub btf_target: bool,
    pub sleepable: bool,
    pub frags: bool,
    /// Instruction bytes, host order.
    pub insns: Vec<u8>,
    pub map_refs: Vec<MapRef>,
    /// (instruction index, FUNC type id).
    pub func_info: Vec<(u32, u32)>,
    pub line_info: Vec<LineRec>,
    /// (instruction index, file, line number, line text) for explanations.
    pub lines: Vec<(u32, String, u32, String)>,
    pub fd_array: Vec<i32>,
    pub license: String,
    pub kern_version: u32,
    /// (instruction index, description) of each CO-RE relocation.
    pub core_report: Vec<(usize, String)>,
}

impl ProgPlan {
    /// The source line covering instruction `insn`.
    pub fn source_line(&self, insn: usize) -> Option<SourceLine> {
        self.lines
            .iter()
            .filter(|l| l.0 as usize <= insn)
            .max_by_key(|l| l.0)
            .map(|(_, f, n, t)| (f.clone(), *n, t.clone()))
    }

    /// The CO-RE relocation at `insn`, or the closest one in the few instructions before it.
    pub fn core_access_near(&self, insn: usize) -> Option<String> {
        self.core_report
            .iter()
            .filter(|(i, _)| *i <= insn && insn - *i <= 3)
            .max_by_key(|(i, _)| *i)
            .map(|(i, s)| format!("insn {i}: {s}"))
    }
}

/// Relocates `obj` against the target and plans maps and programs.
pub(crate) fn link(
    name: &str,
    obj: &corebpf_obj::Object<'_>,
    target_btf: Option<&Btf<'_>>,
    opts: &LoadOptions,
) -> Result<(Vec<MapPlan>, Vec<ProgPlan>), LoadError> {
    let _ = (obj, target_btf, opts);
    Err(LoadError::Program {
        program: String::new(),
        section: String::new(),
        problem: format!("object {name}: linking is not available yet"),
    })
}
