//! struct_ops: kernel structs of function pointers (a TCP congestion control,
//! `struct tcp_congestion_ops`) implemented by BPF programs, registered with the kernel.
//!
//! An object declares a variable of the struct type in `SEC(".struct_ops")` or
//! `SEC(".struct_ops.link")` and initialises its function-pointer members with programs of
//! `SEC("struct_ops/NAME")` sections. Loading it:
//!
//! 1. [`plan`] matches the local struct against the running kernel's: the kernel's struct of the
//!    same (essential) name, and its `struct bpf_struct_ops_<name>` wrapper, whose `data` member
//!    holds the struct inside the map value. Members are placed by name (the local struct may
//!    have fewer members, in another order); a non-zero local member the kernel lacks is an
//!    error.
//! 2. Each program is loaded as `BPF_PROG_TYPE_STRUCT_OPS` with the kernel struct as its attach
//!    BTF id and its member's index as expected attach type.
//! 3. A `BPF_MAP_TYPE_STRUCT_OPS` map is created (key `u32`, one entry, the wrapper as value
//!    type; `BPF_F_LINK` for `.struct_ops.link`), and the value — the translated members, with
//!    program fds in the function-pointer slots — is kept ready.
//!
//! [`Object::attach_struct_ops`] registers it: writing the value registers a plain struct_ops
//! map (the [`Link`] deletes it again on drop, which unregisters); a `.struct_ops.link` map is
//! registered by a BPF link, and closing the link unregisters.

// `LoadError` carries a verifier rejection's explanation inline: a deliberate size for an error
// returned once per failed load.
#![allow(clippy::result_large_err)]

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use corebpf_btf::{Btf, Kind, TypeId, TypeKind};
use corebpf_obj::{StructOpsMap, StructOpsMember};
use corebpf_sys::bpf;

use crate::link::{AttachError, Attachment, Link};
use crate::map::Map;
use crate::plan::ProgPlan;
use crate::program::Program;
use crate::{LoadError, Object};

/// `BPF_MAP_TYPE_STRUCT_OPS`.
pub const MAP_TYPE_STRUCT_OPS: u32 = 26;
/// `BPF_PROG_TYPE_STRUCT_OPS`.
const PROG_TYPE_STRUCT_OPS: u32 = 27;
/// `BPF_STRUCT_OPS`: the attach type of a struct_ops link.
const ATTACH_STRUCT_OPS: u32 = 44;
/// `BPF_F_LINK`: a struct_ops map registered through a link.
pub const BPF_F_LINK: u32 = 1 << 13;
const EINVAL: i32 = 22;

/// Where a program's fd goes in a struct_ops value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructOpsSlot {
    pub program: String,
    /// The member's name.
    pub member: String,
    /// The member's index in the kernel's struct: the program's expected attach type.
    pub member_index: u32,
    /// Byte offset of the 8-byte slot in the map value.
    pub value_offset: u32,
}

/// A struct_ops map of an object, matched against a kernel's BTF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructOpsPlan {
    /// The map (variable) name.
    pub name: String,
    /// `.struct_ops` or `.struct_ops.link`.
    pub section: String,
    /// Registered through a BPF link (`.struct_ops.link`).
    pub link: bool,
    /// The kernel struct's name (`tcp_congestion_ops`).
    pub type_name: String,
    /// Its id in the kernel's BTF: the attach BTF id of the programs.
    pub kernel_type_id: TypeId,
    /// `bpf_struct_ops_<type_name>`: the map's value type.
    pub wrapper_type_id: TypeId,
    /// Size of the wrapper: the map's value size.
    pub value_size: u32,
    /// Offset of the struct (the wrapper's `data` member) in the value.
    pub data_offset: u32,
    /// The value to write, program slots left zero.
    pub value: Vec<u8>,
    /// The programs, in kernel member order.
    pub slots: Vec<StructOpsSlot>,
}

fn map_err(map: &str, problem: String) -> LoadError {
    LoadError::Map {
        map: map.to_string(),
        problem,
    }
}

fn btf_problem(map: &str, what: &str) -> impl FnOnce(corebpf_btf::BtfError) -> LoadError {
    let (map, what) = (map.to_string(), what.to_string());
    move |e| map_err(&map, format!("{what}: {e}"))
}

/// Is `ty` a pointer to a function prototype in `btf`?
fn is_func_ptr(btf: &Btf<'_>, ty: TypeId) -> bool {
    match btf.resolve(ty).map(|t| t.kind) {
        Ok(TypeKind::Ptr { target }) => btf
            .resolve(target)
            .is_ok_and(|t| matches!(t.kind, TypeKind::FuncProto { .. })),
        _ => false,
    }
}

/// The BTF kind of `ty` after modifiers and typedefs, for the compatibility check (enum and
/// enum64 count as one).
fn essential_kind(btf: &Btf<'_>, ty: TypeId) -> Option<Kind> {
    let k = btf.resolve(ty).ok()?.kind_id();
    Some(if k == Kind::Enum64 { Kind::Enum } else { k })
}

/// Plans every struct_ops map of `obj` against `kernel` (the running kernel's BTF).
pub fn plan(
    obj: &corebpf_obj::Object<'_>,
    kernel: &Btf<'_>,
) -> Result<Vec<StructOpsPlan>, LoadError> {
    let maps = obj.struct_ops_maps().map_err(|source| LoadError::Parse {
        object: "struct_ops".into(),
        source,
    })?;
    let Some(first) = maps.first() else {
        return Ok(Vec::new());
    };
    let local = obj
        .btf
        .as_ref()
        .ok_or_else(|| map_err(first.name, "the object has no BTF".into()))?;
    maps.iter().map(|m| plan_map(local, m, kernel)).collect()
}

/// Plans one struct_ops map: finds the kernel struct and wrapper, and translates the local
/// members into the kernel's layout.
pub fn plan_map(
    local: &Btf<'_>,
    map: &StructOpsMap<'_>,
    kernel: &Btf<'_>,
) -> Result<StructOpsPlan, LoadError> {
    let name = map.name;
    let tname = map.kernel_type_name();
    let wrapper_name = format!("bpf_struct_ops_{tname}");
    let kernel_type_id = kernel
        .find_by_name_kind(tname, Kind::Struct)
        .ok_or_else(|| {
            map_err(
                name,
                format!("struct {tname} not found in kernel BTF: this kernel has no such struct_ops type"),
            )
        })?;
    let wrapper_type_id = kernel
        .find_by_name_kind(&wrapper_name, Kind::Struct)
        .ok_or_else(|| {
            map_err(
                name,
                format!(
                    "struct {tname} has no {wrapper_name} wrapper in kernel BTF: this kernel cannot \
                     register a {tname} from BPF (no struct_ops support for it, or it belongs to \
                     a module, which is not supported)"
                ),
            )
        })?;
    let wrapper = kernel
        .type_by_id(wrapper_type_id)
        .map_err(btf_problem(name, &wrapper_name))?;
    let TypeKind::Struct {
        size: value_size,
        members: wmembers,
    } = wrapper.kind
    else {
        return Err(map_err(name, format!("{wrapper_name} is not a struct")));
    };
    let data = wmembers
        .iter()
        .find(|m| m.name == "data")
        .ok_or_else(|| map_err(name, format!("{wrapper_name} has no `data` member")))?;
    let data_type = kernel
        .skip_mods_and_typedefs(data.ty)
        .map_err(btf_problem(name, &wrapper_name))?;
    if data_type != kernel_type_id {
        return Err(map_err(
            name,
            format!(
                "{wrapper_name}.data is type [{data_type}], not struct {tname} [{kernel_type_id}]"
            ),
        ));
    }
    let data_offset = data.bit_offset / 8;
    let kstruct = kernel
        .type_by_id(kernel_type_id)
        .map_err(btf_problem(name, tname))?;
    let TypeKind::Struct {
        size: ksize,
        members: kmembers,
    } = kstruct.kind
    else {
        return Err(map_err(name, format!("{tname} is not a struct")));
    };
    if u64::from(data_offset) + u64::from(ksize) > u64::from(value_size) {
        return Err(map_err(
            name,
            format!("{wrapper_name}: data at {data_offset} + {ksize} bytes exceeds its {value_size} bytes"),
        ));
    }

    let mut value = vec![0u8; value_size as usize];
    let mut slots = Vec::new();
    for m in &map.members {
        let bytes = map.member_bytes(m);
        let zero = bytes.iter().all(|&b| b == 0);
        let found = kmembers
            .iter()
            .enumerate()
            .find(|(_, k)| !m.name.is_empty() && k.name == m.name);
        let Some((kindex, k)) = found else {
            if zero && m.program.is_none() {
                continue;
            }
            return Err(map_err(
                name,
                format!(
                    "member `{}` is set in the object, but the kernel's struct {tname} has no member of that name",
                    describe(m)
                ),
            ));
        };
        let koff = data_offset + k.bit_offset / 8;
        let kfunc = k.bitfield_size == 0 && is_func_ptr(kernel, k.ty);
        if let Some(program) = m.program {
            if !kfunc {
                return Err(map_err(
                    name,
                    format!("member `{}` names program {program}, but in the kernel's struct {tname} it is not a function pointer", m.name),
                ));
            }
            slots.push(StructOpsSlot {
                program: program.to_string(),
                member: m.name.to_string(),
                member_index: kindex as u32,
                value_offset: koff,
            });
            continue;
        }
        if zero {
            continue;
        }
        if m.bitfield_size != 0 || k.bitfield_size != 0 {
            return Err(map_err(
                name,
                format!(
                    "member `{}` is a bitfield: bitfield members of struct_ops are not supported",
                    m.name
                ),
            ));
        }
        if m.func_ptr || kfunc {
            return Err(map_err(
                name,
                format!(
                    "member `{}` holds a non-zero function pointer that names no program",
                    m.name
                ),
            ));
        }
        let lkind = essential_kind(local, m.ty);
        let kkind = essential_kind(kernel, k.ty);
        if lkind != kkind {
            return Err(map_err(
                name,
                format!(
                    "member `{}` is a {} in the object but a {} in the kernel's struct {tname}",
                    m.name,
                    lkind.map_or("?", Kind::name),
                    kkind.map_or("?", Kind::name)
                ),
            ));
        }
        let ksize_m = kernel.size_of(k.ty).map_err(btf_problem(name, tname))?;
        if ksize_m != u64::from(m.size) {
            return Err(map_err(
                name,
                format!(
                    "member `{}` is {} bytes in the object but {ksize_m} in the kernel's struct {tname}",
                    m.name, m.size
                ),
            ));
        }
        let dst = value
            .get_mut(koff as usize..koff as usize + bytes.len())
            .ok_or_else(|| map_err(name, format!("member `{}` lies outside the value", m.name)))?;
        dst.copy_from_slice(bytes);
    }
    slots.sort_by_key(|s| s.member_index);
    Ok(StructOpsPlan {
        name: name.to_string(),
        section: map.section.to_string(),
        link: map.link,
        type_name: tname.to_string(),
        kernel_type_id,
        wrapper_type_id,
        value_size,
        data_offset,
        value,
        slots,
    })
}

fn describe(m: &StructOpsMember<'_>) -> String {
    match m.program {
        Some(p) => format!("{} (program {p})", m.name),
        None => m.name.to_string(),
    }
}

/// Plans the struct_ops maps of `obj` against the running kernel (none: no kernel BTF read).
pub(crate) fn plan_object(
    object: &str,
    obj: &corebpf_obj::Object<'_>,
) -> Result<Vec<StructOpsPlan>, LoadError> {
    if !obj.has_struct_ops() {
        return Ok(Vec::new());
    }
    let maps = obj.struct_ops_maps().map_err(|source| LoadError::Parse {
        object: object.to_string(),
        source,
    })?;
    if maps.is_empty() {
        return Ok(Vec::new());
    }
    let kernel = crate::target::vmlinux()?;
    let local = obj.btf.as_ref().ok_or_else(|| LoadError::Parse {
        object: object.to_string(),
        source: corebpf_obj::ObjError::MissingBtf {
            section: ".struct_ops",
        },
    })?;
    maps.iter().map(|m| plan_map(local, m, kernel)).collect()
}

/// Gives every struct_ops program its attach BTF id and member index; a struct_ops program no
/// map names, or one named by members of different index or type, is an error.
pub(crate) fn assign_programs(
    plans: &[StructOpsPlan],
    programs: &mut [ProgPlan],
) -> Result<(), LoadError> {
    for p in programs
        .iter_mut()
        .filter(|p| p.prog_type == PROG_TYPE_STRUCT_OPS)
    {
        let mut found: Option<(&StructOpsPlan, &StructOpsSlot)> = None;
        for plan in plans {
            for slot in plan.slots.iter().filter(|s| s.program == p.name) {
                if let Some((first, fs)) = found {
                    if first.kernel_type_id != plan.kernel_type_id
                        || fs.member_index != slot.member_index
                    {
                        return Err(LoadError::Program {
                            program: p.name.clone(),
                            section: p.section.clone(),
                            problem: format!(
                                "used as {}.{} and as {}.{}: a struct_ops program serves one member of one struct type",
                                first.type_name, fs.member, plan.type_name, slot.member
                            ),
                        });
                    }
                }
                found = Some((plan, slot));
            }
        }
        let Some((plan, slot)) = found else {
            return Err(LoadError::Program {
                program: p.name.clone(),
                section: p.section.clone(),
                problem: "no .struct_ops or .struct_ops.link variable names this program in a function-pointer member, so there is nothing to load it for".into(),
            });
        };
        p.expected_attach_type = Some(slot.member_index);
        p.struct_ops_btf_id = Some(plan.kernel_type_id);
    }
    Ok(())
}

/// Creates the struct_ops map of `plan` (needs the object's BTF loaded in the kernel).
pub(crate) fn create_map(plan: &StructOpsPlan, btf_fd: Option<&OwnedFd>) -> Result<Map, LoadError> {
    let btf_fd = btf_fd.ok_or_else(|| {
        map_err(
            &plan.name,
            "a struct_ops map needs the object's BTF in the kernel, and it is not loaded (refused, or the kernel has no BTF support)".into(),
        )
    })?;
    let flags = if plan.link { BPF_F_LINK } else { 0 };
    let attr = bpf::attr::MapCreateAttr {
        map_type: MAP_TYPE_STRUCT_OPS,
        key_size: 4,
        value_size: plan.value_size,
        max_entries: 1,
        map_flags: flags,
        map_name: bpf::attr::obj_name(&plan.name),
        btf_fd: btf_fd.as_raw_fd() as u32,
        btf_vmlinux_value_type_id: plan.wrapper_type_id,
        ..Default::default()
    };
    let fd = bpf::map_create(&attr).map_err(|e| {
        let hint = match e.errno() {
            Some(EINVAL) if plan.link => {
                " (.struct_ops.link maps, BPF_F_LINK, need Linux 6.4 or later)"
            }
            _ => "",
        };
        map_err(
            &plan.name,
            format!(
                "create struct_ops map of {} (value bpf_struct_ops_{} [{}], {} bytes): {e}{hint}",
                plan.type_name, plan.type_name, plan.wrapper_type_id, plan.value_size
            ),
        )
    })?;
    Ok(Map {
        name: plan.name.clone(),
        fd,
        map_type: MAP_TYPE_STRUCT_OPS,
        key_size: 4,
        value_size: plan.value_size,
        max_entries: 1,
        flags,
        pinned: None,
        section: None,
        object_name: plan.name.clone(),
    })
}

/// A struct_ops map of a loaded object, ready to register with [`Object::attach_struct_ops`].
#[derive(Debug, Clone)]
pub struct StructOps {
    plan: StructOpsPlan,
    /// Index into the object's maps.
    map: usize,
    /// The value with program fds in place.
    value: Vec<u8>,
}

impl StructOps {
    /// The map (variable) name.
    pub fn name(&self) -> &str {
        &self.plan.name
    }

    /// The kernel struct it implements (`tcp_congestion_ops`).
    pub fn type_name(&self) -> &str {
        &self.plan.type_name
    }

    /// Registered through a BPF link (declared in `.struct_ops.link`).
    pub fn is_link(&self) -> bool {
        self.plan.link
    }

    /// How the object's struct was placed in the kernel's layout.
    pub fn plan(&self) -> &StructOpsPlan {
        &self.plan
    }

    /// The value registration writes (program fds in the function-pointer slots).
    pub fn value(&self) -> &[u8] {
        &self.value
    }
}

/// Fills the program fds into each plan's value; `first_map` is the index of the first
/// struct_ops map among the object's maps (created in plan order).
pub(crate) fn prepare(
    plans: Vec<StructOpsPlan>,
    first_map: usize,
    programs: &[Program],
) -> Result<Vec<StructOps>, LoadError> {
    plans
        .into_iter()
        .enumerate()
        .map(|(i, plan)| {
            let mut value = plan.value.clone();
            for slot in &plan.slots {
                let prog = programs
                    .iter()
                    .find(|p| p.name == slot.program)
                    .ok_or_else(|| {
                        map_err(
                            &plan.name,
                            format!(
                                "member `{}` names program {}, which was not loaded",
                                slot.member, slot.program
                            ),
                        )
                    })?;
                let fd = u64::from(prog.fd.as_raw_fd() as u32);
                let at = slot.value_offset as usize;
                value
                    .get_mut(at..at + 8)
                    .ok_or_else(|| {
                        map_err(
                            &plan.name,
                            format!("member `{}` lies outside the value", slot.member),
                        )
                    })?
                    .copy_from_slice(&fd.to_ne_bytes());
            }
            Ok(StructOps {
                plan,
                map: first_map + i,
                value,
            })
        })
        .collect()
}

impl Object {
    /// The struct_ops maps of the object.
    pub fn struct_ops(&self) -> &[StructOps] {
        &self.struct_ops
    }

    /// Registers struct_ops map `name` with the kernel (a TCP congestion control becomes
    /// selectable by its name). The returned [`Link`] unregisters it when dropped: a BPF link
    /// for `.struct_ops.link` maps (pinnable), the map itself for plain `.struct_ops` ones.
    pub fn attach_struct_ops(&self, name: &str) -> Result<Link, AttachError> {
        let ops = self
            .struct_ops
            .iter()
            .find(|s| s.plan.name == name)
            .ok_or_else(|| AttachError::Target {
                what: format!("struct_ops {name}"),
                problem: "no struct_ops map of that name in the object".into(),
            })?;
        let map = self
            .maps()
            .get(ops.map)
            .ok_or_else(|| AttachError::Target {
                what: format!("struct_ops {name}"),
                problem: "its map is missing".into(),
            })?;
        let what = format!("struct_ops {} ({})", ops.plan.name, ops.plan.type_name);
        bpf::map_update_elem(map.fd(), &0u32.to_ne_bytes(), &ops.value, 0)
            .map_err(AttachError::kernel(format!("register {what}")))?;
        if ops.plan.link {
            // BPF_LINK_CREATE takes the struct_ops map in the program fd's place.
            let fd = bpf::link_create(map.fd(), 0, ATTACH_STRUCT_OPS, 0, [0; 6])
                .map_err(AttachError::kernel(format!("link {what}")))?;
            return Ok(Link::bpf(fd, what));
        }
        let map_fd = map
            .fd()
            .try_clone_to_owned()
            .map_err(|e| AttachError::Link(format!("{what}: duplicate the map fd: {e}")))?;
        Ok(Link::new(Attachment::StructOps { map: map_fd }, what))
    }

    /// Registers every struct_ops map of the object; stops at the first failure (the links
    /// made so far are dropped, unregistering them).
    pub fn attach_all_struct_ops(&self) -> Result<Vec<Link>, AttachError> {
        self.struct_ops
            .iter()
            .map(|s| self.attach_struct_ops(&s.plan.name))
            .collect()
    }
}

/// Unregisters a plain struct_ops map (deleting its only element).
pub(crate) fn unregister(map: &OwnedFd) {
    let _ = bpf::map_delete_elem(map.as_fd(), &0u32.to_ne_bytes());
}
