//! Load plans: what to create in the kernel, computed from the linked object (pure).

// `LoadError` carries a verifier rejection's explanation inline (program, log, source line,
// CO-RE access): a deliberate size for an error returned once per failed load.
#![allow(clippy::result_large_err)]

use corebpf_btf::{Btf, Kind, TypeKind};
use corebpf_obj::link::{KernelConfig, LinkedMap, MapOrigin, SlotTarget as LinkSlot, Target};
use corebpf_obj::{ExternKind, PinningType};

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
    /// The name in the object (`results`, `.rodata`).
    pub object_name: String,
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
    /// struct_ops programs: the kernel struct's BTF id (the member index is the expected
    /// attach type).
    pub struct_ops_btf_id: Option<u32>,
    pub sleepable: bool,
    pub frags: bool,
    /// Instruction bytes, host order.
    pub insns: Vec<u8>,
    pub map_refs: Vec<MapRef>,
    /// (instruction, is a kfunc call, module name) of references into module BTFs.
    pub module_refs: Vec<(usize, bool, String)>,
    /// Modules whose BTF fds go into the fd array, at index 1, 2, ...
    pub fd_modules: Vec<String>,
    /// (instruction index, FUNC type id).
    pub func_info: Vec<(u32, u32)>,
    pub line_info: Vec<LineRec>,
    /// (instruction index, file, line number, line text) for explanations.
    pub lines: Vec<(u32, String, u32, String)>,
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
            .map(|(_, s)| s.clone())
    }
}

/// Does linking `obj` need the kernel's BTF (CO-RE relocations, typed ksyms, kfuncs, BTF attach
/// targets)?
fn needs_kernel_btf(obj: &corebpf_obj::Object<'_>) -> bool {
    let core = obj
        .btf_ext()
        .ok()
        .flatten()
        .is_some_and(|e| e.core_relos().any(|(_, r)| !r.is_empty()));
    core || obj
        .externs
        .iter()
        .any(|e| matches!(e.kind, ExternKind::Ksym { typed: true } | ExternKind::Kfunc))
}

/// Kernel facts for `LINUX_*` externs: has the kernel `bpf_get_attach_cookie`, and are syscalls
/// entered through arch wrappers (`__x64_sys_*`)?
fn kernel_facts(vmlinux: Option<&Btf<'_>>) -> (bool, bool) {
    let Some(btf) = vmlinux else {
        return (false, false);
    };
    let cookie = btf
        .find_by_name_kind("bpf_func_id", Kind::Enum)
        .and_then(|id| btf.type_by_id(id).ok())
        .is_some_and(|t| match t.kind {
            TypeKind::Enum { values, .. } => values
                .iter()
                .any(|v| v.name == "BPF_FUNC_get_attach_cookie"),
            _ => false,
        });
    let prefix = match std::env::consts::ARCH {
        "x86_64" => "__x64_sys_bpf",
        "aarch64" => "__arm64_sys_bpf",
        "s390x" => "__s390x_sys_bpf",
        "riscv64" => "__riscv_sys_bpf",
        _ => "",
    };
    let wrapper = !prefix.is_empty() && btf.find_by_name_kind(prefix, Kind::Func).is_some();
    (cookie, wrapper)
}

/// Relocates `obj` against the target and plans maps and programs.
pub(crate) fn link(
    name: &str,
    obj: &corebpf_obj::Object<'_>,
    target_btf: Option<&Btf<'_>>,
    opts: &LoadOptions,
) -> Result<(Vec<MapPlan>, Vec<ProgPlan>), LoadError> {
    let needs_btf = needs_kernel_btf(obj);
    let has_kconfig = obj.externs.iter().any(|e| e.kind == ExternKind::Kconfig);
    let kernel = if needs_btf || has_kconfig {
        Some(crate::target::vmlinux()?)
    } else {
        None
    };
    let mut config = KernelConfig::default();
    if has_kconfig {
        if obj
            .externs
            .iter()
            .any(|e| e.kind == ExternKind::Kconfig && e.name.starts_with("CONFIG_"))
        {
            config =
                KernelConfig::parse(&crate::target::read_kconfig_text(opts.kconfig.as_deref())?);
        }
        config.kernel_version = crate::target::kernel_version();
        let (cookie, wrapper) = kernel_facts(kernel);
        config.has_bpf_cookie = cookie;
        config.has_syscall_wrapper = wrapper;
    }
    let needs_kallsyms = obj
        .externs
        .iter()
        .any(|e| e.kind == (ExternKind::Ksym { typed: false }));
    if needs_kallsyms {
        crate::target::kallsyms()?;
    }
    fn lookup(n: &str) -> Option<u64> {
        crate::target::ksym_address(n)
    }
    let ksym_addr: Option<&corebpf_obj::link::KsymLookup> =
        if needs_kallsyms { Some(&lookup) } else { None };
    // Target BTFs: the given file, or the kernel's (and its modules') when needed. A given
    // file only relocates CO-RE; typed ksyms and kfuncs name objects of the running kernel, so
    // they are resolved against its BTF.
    let has_btf_externs = obj
        .externs
        .iter()
        .any(|e| matches!(e.kind, ExternKind::Ksym { typed: true } | ExternKind::Kfunc));
    let linked = match (target_btf, kernel) {
        (Some(t), Some(k)) if has_btf_externs => {
            let mut btfs = vec![k];
            btfs.extend(crate::target::modules()?.iter().map(|(_, m)| m));
            obj.link_with_core_btfs(
                name,
                &Target {
                    btfs,
                    config,
                    ksym_addr,
                },
                &[t],
            )
        }
        (Some(t), _) => obj.link(
            name,
            &Target {
                btfs: vec![t],
                config,
                ksym_addr,
            },
        ),
        (None, Some(k)) if needs_btf => {
            let mut btfs = vec![k];
            btfs.extend(crate::target::modules()?.iter().map(|(_, m)| m));
            obj.link(
                name,
                &Target {
                    btfs,
                    config,
                    ksym_addr,
                },
            )
        }
        _ => obj.link(
            name,
            &Target {
                btfs: Vec::new(),
                config,
                ksym_addr,
            },
        ),
    }
    .map_err(|source| LoadError::Link {
        object: name.to_string(),
        source,
    })?;

    let maps = linked
        .maps
        .iter()
        .map(|m| map_plan(m, &linked.kconfig_layout))
        .collect();

    // Module BTFs referenced by typed ksyms and kfuncs.
    let module_names: Vec<String> = if linked
        .programs
        .iter()
        .any(|p| p.btf_refs.iter().any(|r| r.btf > 0))
    {
        crate::target::modules()?
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    } else {
        Vec::new()
    };
    let btf = obj.btf.as_ref();
    let mut programs = Vec::with_capacity(linked.programs.len());
    for p in linked.programs {
        let Some(kind) = p.kind else {
            return Err(LoadError::Program {
                program: p.name.to_string(),
                section: p.section.to_string(),
                problem: "the section name does not say what kind of program this is (e.g. SEC(\"xdp\"), SEC(\"tp/syscalls/sys_enter_openat\"))".into(),
            });
        };
        let lines = match btf {
            Some(b) => p
                .line_info
                .iter()
                .map(|l| {
                    (
                        l.insn_off,
                        b.str_at(l.file_name_off).unwrap_or("?").to_string(),
                        l.line_col >> 10,
                        b.str_at(l.line_off).unwrap_or("").to_string(),
                    )
                })
                .collect(),
            None => Vec::new(),
        };
        let core_report = p
            .core
            .iter()
            .map(|r| {
                let to = match (&r.target, r.poisoned) {
                    (_, true) => "poisoned (no match in the target BTF)".to_string(),
                    (Some(t), false) => t.clone(),
                    (None, false) => "absent in target".to_string(),
                };
                (
                    r.insn,
                    format!(
                        "{} {} => {} ({} -> {})",
                        r.kind.name(),
                        r.local,
                        to,
                        r.orig_val,
                        r.new_val
                    ),
                )
            })
            .collect();
        let mut insns = p.insns;
        let mut fd_modules: Vec<String> = Vec::new();
        for r in &p.btf_refs {
            if r.btf == 0 {
                continue;
            }
            let module = module_names.get(r.btf - 1).cloned().unwrap_or_default();
            let idx = match fd_modules.iter().position(|m| *m == module) {
                Some(i) => i + 1,
                None => {
                    fd_modules.push(module);
                    fd_modules.len()
                }
            };
            if r.call {
                if let Some(b) = insns.get_mut(r.insn * 8 + 2..r.insn * 8 + 4) {
                    b.copy_from_slice(&(idx as i16).to_le_bytes());
                }
            }
        }
        programs.push(ProgPlan {
            name: p.name.to_string(),
            section: p.section.to_string(),
            prog_type: kind.prog_type.as_raw(),
            expected_attach_type: kind.expected_attach_type.map(|a| a.as_raw()),
            attach_target: (!kind.attach_target.is_empty()).then(|| kind.attach_target.to_string()),
            btf_target: kind.btf_target,
            struct_ops_btf_id: None,
            sleepable: kind.sleepable,
            frags: kind.frags,
            insns: std::mem::take(&mut insns),
            map_refs: p
                .map_refs
                .iter()
                .map(|r| MapRef {
                    insn: r.insn,
                    map: r.map,
                    value_offset: r.value_offset,
                })
                .collect(),
            module_refs: p
                .btf_refs
                .iter()
                .filter(|r| r.btf > 0)
                .map(|r| {
                    (
                        r.insn,
                        r.call,
                        module_names.get(r.btf - 1).cloned().unwrap_or_default(),
                    )
                })
                .collect(),
            fd_modules,
            func_info: p.func_info.clone(),
            line_info: p
                .line_info
                .iter()
                .map(|l| LineRec {
                    insn_off: l.insn_off,
                    file_name_off: l.file_name_off,
                    line_off: l.line_off,
                    line_col: l.line_col,
                })
                .collect(),
            lines,
            license: p.license.to_string(),
            kern_version: if p.kern_version != 0 {
                p.kern_version
            } else {
                crate::target::kernel_version()
            },
            core_report,
        });
    }
    Ok((maps, programs))
}

fn map_plan(m: &LinkedMap, kconfig_layout: &[(String, u32)]) -> MapPlan {
    MapPlan {
        name: m.name.clone(),
        section: match m.origin {
            MapOrigin::Defined(_) => None,
            MapOrigin::Data(_) | MapOrigin::Kconfig => Some(m.object_name.clone()),
        },
        map_type: m.map_type,
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: m.max_entries,
        flags: m.map_flags,
        numa_node: m.numa_node,
        map_extra: m.map_extra,
        btf_key: m.btf_key_type_id,
        btf_value: m.btf_value_type_id,
        inner: m.inner.as_deref().map(|i| Box::new(map_plan(i, &[]))),
        initial: m.initial.clone(),
        freeze: m.freeze,
        pin_by_name: m.pinning == PinningType::ByName.as_raw(),
        slots: m
            .slots
            .iter()
            .map(|(i, t)| {
                (
                    *i,
                    match t {
                        LinkSlot::Map(x) => SlotTarget::Map(*x),
                        LinkSlot::Program(n) => SlotTarget::Program(n.clone()),
                    },
                )
            })
            .collect(),
        layout: if m.origin == MapOrigin::Kconfig {
            kconfig_layout
                .iter()
                .map(|(n, o)| (n.clone(), u64::from(*o)))
                .collect()
        } else {
            Vec::new()
        },
        object_name: m.object_name.clone(),
    }
}
