//! struct_ops maps: variables of a kernel struct type (`struct tcp_congestion_ops`, ...) placed
//! in `SEC(".struct_ops")` or `SEC(".struct_ops.link")`, whose function-pointer members are
//! initialised with programs of `SEC("struct_ops/NAME")` sections.
//!
//! The object says which program goes into which member through the ELF relocations of the
//! data section (`.rel.struct_ops`): each one names a program symbol at the byte offset of a
//! function-pointer member. [`Object::struct_ops_maps`] reads the variables from the section's
//! BTF DATASEC, their initial bytes, and resolves those relocations; matching the local struct
//! against the kernel's is the loader's business.

use corebpf_btf::{essential_name, Btf, Kind, TypeId, TypeKind};

use crate::object::{Object, Section, SectionKind, SymbolKind};
use crate::{Endian, ObjError, INSN_SIZE};

/// The plain struct_ops section: updating the map registers the struct.
pub const STRUCT_OPS_SECTION: &str = ".struct_ops";
/// The link section: the map is created with `BPF_F_LINK` and registered by a BPF link.
pub const STRUCT_OPS_LINK_SECTION: &str = ".struct_ops.link";

/// `R_BPF_64_ABS64`: a 64-bit absolute address in data.
const R_BPF_64_ABS64: u32 = 2;
/// Size of an `Elf64_Rel` record.
const REL_SIZE: usize = 16;

/// One member of a struct_ops variable's (local) struct type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StructOpsMember<'a> {
    /// Index among the struct's members.
    pub index: u32,
    pub name: &'a str,
    /// The member's type as written (modifiers and typedefs not skipped).
    pub ty: TypeId,
    /// Offset in bits from the start of the struct.
    pub bit_offset: u32,
    /// Bitfield width, 0 for an ordinary member.
    pub bitfield_size: u32,
    /// Size in bytes of the member's type.
    pub size: u32,
    /// A pointer to a function prototype.
    pub func_ptr: bool,
    /// The program whose address initialises this member.
    pub program: Option<&'a str>,
}

impl StructOpsMember<'_> {
    /// Byte offset from the start of the struct (bitfields: of the byte holding the first bit).
    pub fn offset(&self) -> u32 {
        self.bit_offset / 8
    }
}

/// A struct_ops map declared in the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructOpsMap<'a> {
    /// The variable's name (the map's name).
    pub name: &'a str,
    /// `.struct_ops` or `.struct_ops.link`.
    pub section: &'a str,
    /// ELF index of that section.
    pub section_index: usize,
    /// Declared in `.struct_ops.link`: registered through a BPF link.
    pub link: bool,
    /// Byte offset of the variable in its section.
    pub offset: u64,
    /// The local struct type (modifiers and typedefs skipped).
    pub type_id: TypeId,
    /// The local struct's name as written (`tcp_congestion_ops`, `tcp_congestion_ops___v2`).
    pub type_name: &'a str,
    /// Size of the local struct.
    pub size: u32,
    /// The variable's initial bytes (`size` of them).
    pub data: &'a [u8],
    /// Every member of the local struct, in declaration order.
    pub members: Vec<StructOpsMember<'a>>,
}

impl<'a> StructOpsMap<'a> {
    /// The name of the kernel struct this stands for: the local name without a `___flavor`
    /// suffix, as CO-RE matches names.
    pub fn kernel_type_name(&self) -> &'a str {
        essential_name(self.type_name)
    }

    /// The initial bytes of member `m` (empty for members past the data, which cannot happen
    /// for a map this module built).
    pub fn member_bytes(&self, m: &StructOpsMember<'_>) -> &'a [u8] {
        let start = m.offset() as usize;
        self.data
            .get(start..start.saturating_add(m.size as usize))
            .unwrap_or_default()
    }

    /// (member, program) for every member a program initialises.
    pub fn programs(&self) -> impl Iterator<Item = (&StructOpsMember<'a>, &'a str)> + '_ {
        self.members
            .iter()
            .filter_map(|m| m.program.map(|p| (m, p)))
    }
}

/// Is `name` a struct_ops data section, and a link one?
fn struct_ops_section(name: &str) -> Option<bool> {
    match name {
        STRUCT_OPS_SECTION => Some(false),
        STRUCT_OPS_LINK_SECTION => Some(true),
        _ => None,
    }
}

fn read_u64(b: &[u8], off: usize, endian: Endian) -> Option<u64> {
    let a: [u8; 8] = b.get(off..off.checked_add(8)?)?.try_into().ok()?;
    Some(match endian {
        Endian::Little => u64::from_le_bytes(a),
        Endian::Big => u64::from_be_bytes(a),
    })
}

fn btf_err(source: corebpf_btf::BtfError) -> ObjError {
    ObjError::Btf {
        section: ".BTF",
        source,
    }
}

/// True when `ty` is a pointer to a function prototype.
fn is_func_ptr(btf: &Btf<'_>, ty: TypeId) -> bool {
    let Ok(t) = btf.resolve(ty) else {
        return false;
    };
    let TypeKind::Ptr { target } = t.kind else {
        return false;
    };
    btf.resolve(target)
        .is_ok_and(|t| matches!(t.kind, TypeKind::FuncProto { .. }))
}

impl<'a> Object<'a> {
    /// True when the object has a `.struct_ops` or `.struct_ops.link` section.
    pub fn has_struct_ops(&self) -> bool {
        self.sections
            .iter()
            .any(|s| struct_ops_section(s.name).is_some())
    }

    /// The struct_ops maps of `.struct_ops` and `.struct_ops.link`, in section then offset
    /// order, with the program each function-pointer member names.
    pub fn struct_ops_maps(&self) -> Result<Vec<StructOpsMap<'a>>, ObjError> {
        let mut out = Vec::new();
        for s in &self.sections {
            let Some(link) = struct_ops_section(s.name) else {
                continue;
            };
            let first = out.len();
            self.section_struct_ops(s, link, &mut out)?;
            if let Some(maps) = out.get_mut(first..) {
                maps.sort_by_key(|m| m.offset);
            }
            self.struct_ops_relocs(s, out.get_mut(first..).unwrap_or_default())?;
        }
        Ok(out)
    }

    /// The variables of struct_ops section `s`, from its DATASEC.
    fn section_struct_ops(
        &self,
        s: &Section<'a>,
        link: bool,
        out: &mut Vec<StructOpsMap<'a>>,
    ) -> Result<(), ObjError> {
        let sec_err = |problem: String| ObjError::Section {
            index: s.index,
            name: s.name.to_string(),
            problem,
        };
        let btf = self
            .btf
            .as_ref()
            .ok_or_else(|| sec_err("struct_ops maps need the object's BTF (.BTF)".into()))?;
        let id = btf
            .find_by_name_kind(s.name, Kind::Datasec)
            .ok_or_else(|| sec_err(format!("no DATASEC `{}` in BTF", s.name)))?;
        let TypeKind::Datasec { vars, .. } = btf.type_by_id(id).map_err(btf_err)?.kind else {
            return Err(sec_err(format!("type [{id}] is not a DATASEC")));
        };
        for v in vars.iter() {
            let var = btf.type_by_id(v.ty).map_err(btf_err)?;
            let TypeKind::Var { ty, .. } = var.kind else {
                return Err(sec_err(format!("DATASEC entry [{}] is not a VAR", v.ty)));
            };
            let map_err = |problem: String| ObjError::Map {
                section: s.name.to_string(),
                name: var.name.to_string(),
                problem,
            };
            let st = btf.resolve(ty).map_err(btf_err)?;
            let TypeKind::Struct { size, members } = st.kind else {
                return Err(map_err(format!(
                    "type [{}] is a {}, a struct_ops variable must be a struct",
                    st.id,
                    st.kind_id().name()
                )));
            };
            if st.name.is_empty() {
                return Err(map_err(
                    "the struct has no name to find the kernel's type by".into(),
                ));
            }
            // clang leaves DATASEC offsets to the loader: the symbol gives the real one.
            let offset = self
                .symbols
                .iter()
                .find(|sym| sym.section == Some(s.index) && sym.name == var.name)
                .map_or(u64::from(v.offset), |sym| sym.value);
            let end = offset.checked_add(u64::from(size));
            let data = end
                .filter(|&end| end <= s.size)
                .and_then(|end| {
                    s.data
                        .get(usize::try_from(offset).ok()?..usize::try_from(end).ok()?)
                })
                .ok_or_else(|| {
                    map_err(format!(
                        "struct of {size} bytes at {offset:#x} lies outside the section (size {:#x}{})",
                        s.size,
                        if s.data.is_empty() { ", no data" } else { "" }
                    ))
                })?;
            let mut list = Vec::with_capacity(members.len());
            for (i, m) in members.iter().enumerate() {
                let msize = if m.bitfield_size != 0 {
                    m.bitfield_size.div_ceil(8)
                } else {
                    u32::try_from(btf.size_of(m.ty).map_err(btf_err)?).unwrap_or(u32::MAX)
                };
                let in_bounds = u64::from(m.bit_offset / 8)
                    .checked_add(u64::from(msize))
                    .is_some_and(|e| e <= u64::from(size));
                if !in_bounds {
                    return Err(map_err(format!(
                        "member `{}` at bit {} ({msize} bytes) lies past the struct's {size} bytes",
                        m.name, m.bit_offset
                    )));
                }
                list.push(StructOpsMember {
                    index: i as u32,
                    name: m.name,
                    ty: m.ty,
                    bit_offset: m.bit_offset,
                    bitfield_size: m.bitfield_size,
                    size: msize,
                    func_ptr: m.bitfield_size == 0 && is_func_ptr(btf, m.ty),
                    program: None,
                });
            }
            out.push(StructOpsMap {
                name: var.name,
                section: s.name,
                section_index: s.index,
                link,
                offset,
                type_id: st.id,
                type_name: st.name,
                size,
                data,
                members: list,
            });
        }
        Ok(())
    }

    /// Resolves the relocations of struct_ops section `s` to programs in members of `maps`.
    fn struct_ops_relocs(
        &self,
        s: &Section<'a>,
        maps: &mut [StructOpsMap<'a>],
    ) -> Result<(), ObjError> {
        let Some(rel) = self
            .sections
            .iter()
            .find(|r| r.kind == SectionKind::Relocations && usize::try_from(r.info) == Ok(s.index))
        else {
            return Ok(());
        };
        if rel.data.len() % REL_SIZE != 0 {
            return Err(ObjError::Section {
                index: rel.index,
                name: rel.name.to_string(),
                problem: format!(
                    "{} bytes is not a whole number of {REL_SIZE}-byte relocations",
                    rel.data.len()
                ),
            });
        }
        for rec in rel.data.chunks_exact(REL_SIZE) {
            let offset = read_u64(rec, 0, self.endian).unwrap_or(0);
            let info = read_u64(rec, 8, self.endian).unwrap_or(0);
            self.struct_ops_reloc(s, maps, offset, info >> 32, (info & 0xffff_ffff) as u32)?;
        }
        Ok(())
    }

    fn struct_ops_reloc(
        &self,
        s: &Section<'a>,
        maps: &mut [StructOpsMap<'a>],
        offset: u64,
        sym_idx: u64,
        r_type: u32,
    ) -> Result<(), ObjError> {
        let sym = usize::try_from(sym_idx)
            .ok()
            .filter(|&i| i != 0)
            .and_then(|i| self.symbols.get(i))
            .ok_or_else(|| ObjError::RelocBadSymbol {
                section: s.name.to_string(),
                offset,
                symbol: sym_idx,
                count: self.symbols.len(),
            })?;
        let err = |problem: String| ObjError::Reloc {
            section: s.name.to_string(),
            offset,
            insn: 0,
            symbol: sym.name.to_string(),
            problem,
        };
        if r_type != R_BPF_64_ABS64 {
            return Err(err(format!(
                "relocation type {r_type}, expected R_BPF_64_ABS64 (2) for a function pointer"
            )));
        }
        let Some(map) = maps
            .iter_mut()
            .find(|m| m.offset <= offset && offset < m.offset.saturating_add(u64::from(m.size)))
        else {
            return Err(err("no struct_ops variable covers this offset".into()));
        };
        let rel = offset - map.offset;
        let Some(member) = map
            .members
            .iter_mut()
            .find(|m| m.bitfield_size == 0 && u64::from(m.offset()) == rel)
        else {
            return Err(err(format!(
                "offset {rel:#x} in `{}` is not the start of a member",
                map.name
            )));
        };
        if !member.func_ptr {
            return Err(err(format!(
                "member `{}` of `{}` is not a function pointer",
                member.name, map.name
            )));
        }
        let target = sym
            .section
            .and_then(|t| self.sections.get(t))
            .filter(|t| t.kind == SectionKind::Program)
            .ok_or_else(|| {
                err(format!(
                    "member `{}` points into section {}, which is not a program section",
                    member.name,
                    sym.section.map_or("(undefined)", |t| self.section_name(t))
                ))
            })?;
        // A section symbol leaves the function's offset in the data (REL has no addend field).
        let func_off = if sym.kind == SymbolKind::Section {
            let at = usize::try_from(offset).unwrap_or(usize::MAX);
            read_u64(s.data, at, self.endian)
                .ok_or_else(|| err("the addend lies outside the section".into()))?
        } else {
            sym.value
        };
        let ps = self
            .program_section(target.index)
            .ok_or_else(|| err(format!("section {} holds no code", target.name)))?;
        let insn = usize::try_from(func_off / INSN_SIZE as u64).unwrap_or(usize::MAX);
        let func = ps
            .functions
            .iter()
            .find(|f| f.insns().start == insn)
            .filter(|f| func_off % INSN_SIZE as u64 == 0 && f.global)
            .ok_or_else(|| {
                err(format!(
                    "no program starts at {}+{func_off:#x}",
                    target.name
                ))
            })?;
        if member.program.is_some_and(|p| p != func.name) {
            return Err(err(format!(
                "member `{}` of `{}` is relocated twice",
                member.name, map.name
            )));
        }
        member.program = Some(func.name);
        Ok(())
    }
}
