//! Turns an object's BTF into BTF the running kernel accepts.
//!
//! Two jobs, both on a copy of the raw type records (type ids never change, so map and program
//! references into the object's BTF stay valid):
//!
//! - Fill in what the compiler leaves to the loader: `DATASEC` sizes and variable offsets (from
//!   the ELF section sizes and symbols), the `.kconfig` layout, `.ksyms` entries (extern
//!   variables become 4-byte allocated ints, extern functions leave the section), and the
//!   linkage of extern variables and functions, which the kernel refuses as such.
//! - Sanitize for an older kernel: kinds it lacks are replaced by kinds it knows, record by
//!   record and size for size (`VAR` → `INT`, `DATASEC` → `STRUCT`, `FUNC` → `TYPEDEF`,
//!   `FUNC_PROTO` → `ENUM`, `FLOAT` → an empty `STRUCT` of the same size, `DECL_TAG` → `INT`,
//!   `TYPE_TAG` → `CONST`, `ENUM64` → a `UNION` of 8-byte ints), the way libbpf does.

use corebpf_btf::{Btf, FuncLinkage, Kind, TypeId, TypeKind, HEADER_LEN};
use corebpf_sys::probe::BtfFeatures;

const KIND_INT: u32 = 1;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_TYPEDEF: u32 = 8;
const KIND_CONST: u32 = 10;

const VAR_GLOBAL_ALLOCATED: u32 = 1;

/// What the loader knows about where things live, for filling in `DATASEC`s.
pub struct Layout<'x> {
    /// Size of the ELF section `name`.
    pub section_size: &'x dyn Fn(&str) -> Option<u64>,
    /// Offset of variable `var` in ELF section `section` (from the symbol table).
    pub var_offset: &'x dyn Fn(&str, &str) -> Option<u64>,
    /// Offset of the Kconfig extern `name` in the `.kconfig` map, and that map's size.
    pub kconfig_offset: &'x dyn Fn(&str) -> Option<u64>,
    pub kconfig_size: u64,
}

/// Why object BTF could not be prepared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("type [{type_id}] {name}: {problem}")]
pub struct FixupError {
    pub type_id: TypeId,
    pub name: String,
    pub problem: String,
}

fn rd(b: &[u8], off: usize) -> u32 {
    b.get(off..off + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

fn put(out: &mut Vec<u8>, w: u32) {
    out.extend_from_slice(&w.to_le_bytes());
}

fn info(kind: u32, vlen: usize, kflag: bool) -> u32 {
    (kind << 24) | (vlen as u32 & 0xffff) | (u32::from(kflag) << 31)
}

/// Returns the kernel-ready BTF blob for `btf` (a little-endian base BTF).
pub fn prepare(
    btf: &Btf<'_>,
    layout: &Layout<'_>,
    features: BtfFeatures,
) -> Result<Vec<u8>, FixupError> {
    let err = |id: TypeId, name: &str, problem: String| FixupError {
        type_id: id,
        name: name.to_string(),
        problem,
    };
    let mut strings = btf.string_section().to_vec();
    let mut types = Vec::with_capacity(btf.type_section().len() + 64);
    let mut next_id = btf.len();
    let mut appended = Vec::new();

    // A 4-byte int for `.ksyms` variables, and an 8-byte one for ENUM64 replacements.
    let mut add_int = |name: &str, size: u32, strings: &mut Vec<u8>, appended: &mut Vec<u8>| {
        let off = strings.len() as u32;
        strings.extend_from_slice(name.as_bytes());
        strings.push(0);
        put(appended, off);
        put(appended, info(KIND_INT, 0, false));
        put(appended, size);
        put(appended, size * 8);
        next_id += 1;
        next_id - 1
    };
    let existing_int4 = btf.types().find_map(|t| match t.kind {
        TypeKind::Int {
            size: 4,
            bits: 32,
            offset: 0,
            ..
        } => Some(t.id),
        _ => None,
    });
    let ksym_int = match existing_int4 {
        Some(id) => id,
        None => add_int("int", 4, &mut strings, &mut appended),
    };
    let has_enum64 = btf
        .types()
        .any(|t| matches!(t.kind, TypeKind::Enum64 { .. }));
    let enum64_placeholder = if !features.enum64 && has_enum64 {
        add_int("enum64_placeholder", 8, &mut strings, &mut appended)
    } else {
        0
    };

    // ENUM entries standing in for unnamed parameters need a name of some kind.
    let anon_param = if features.func {
        0
    } else {
        let off = strings.len() as u32;
        strings.extend_from_slice(b"param\0");
        off
    };

    // Prototypes of extern functions: the kernel wants every parameter named.
    let mut extern_protos: Vec<(TypeId, u32)> = Vec::new();
    for t in btf.types() {
        if let TypeKind::Func {
            proto,
            linkage: FuncLinkage::Extern,
        } = t.kind
        {
            extern_protos.push((proto, t.name_off()));
        }
    }

    let ksyms = ksyms_vars(btf);
    for t in btf.types() {
        let raw = btf
            .raw_type_bytes(t.id)
            .ok_or_else(|| err(t.id, t.name, "record missing".into()))?;
        let name_off = rd(raw, 0);
        let word2 = rd(raw, 8);
        match t.kind {
            TypeKind::Var { ty, linkage } => {
                let linkage = linkage.as_raw();
                let in_ksyms = ksyms.contains(&t.id);
                let (ty, linkage) = if in_ksyms || linkage > VAR_GLOBAL_ALLOCATED {
                    (if in_ksyms { ksym_int } else { ty }, VAR_GLOBAL_ALLOCATED)
                } else {
                    (ty, linkage)
                };
                if features.datasec {
                    put(&mut types, name_off);
                    put(&mut types, rd(raw, 4));
                    put(&mut types, ty);
                    put(&mut types, linkage);
                } else {
                    // A 1-byte int of the same record size, keeping the name.
                    put(&mut types, name_off);
                    put(&mut types, info(KIND_INT, 0, false));
                    put(&mut types, 1);
                    put(&mut types, 8);
                }
            }
            TypeKind::Datasec { size, vars } => {
                let sec = t.name;
                let mut entries: Vec<(u32, u32, u32)> = Vec::with_capacity(vars.len());
                let mut ksym_off = 0u32;
                for v in vars.iter() {
                    let var = btf
                        .type_by_id(v.ty)
                        .map_err(|e| err(t.id, sec, format!("entry [{}]: {e}", v.ty)))?;
                    match sec {
                        ".ksyms" => {
                            if matches!(var.kind, TypeKind::Var { .. }) {
                                entries.push((v.ty, ksym_off, 4));
                                ksym_off += 4;
                            }
                            // Extern functions are described by their FUNC alone.
                        }
                        ".kconfig" => {
                            let off = (layout.kconfig_offset)(var.name).ok_or_else(|| {
                                err(
                                    t.id,
                                    sec,
                                    format!("no .kconfig slot for extern `{}`", var.name),
                                )
                            })?;
                            entries.push((v.ty, off as u32, v.size));
                        }
                        _ => {
                            let off = if size == 0 {
                                (layout.var_offset)(sec, var.name).unwrap_or(u64::from(v.offset))
                            } else {
                                u64::from(v.offset)
                            };
                            entries.push((v.ty, off as u32, v.size));
                        }
                    }
                }
                let size = match sec {
                    // Only kfuncs: no variable is left, but the kernel refuses a DATASEC of
                    // size 0.
                    ".ksyms" if ksym_off == 0 => 4,
                    ".ksyms" => ksym_off,
                    ".kconfig" => layout.kconfig_size as u32,
                    _ if size == 0 => (layout.section_size)(sec).unwrap_or(0) as u32,
                    _ => size,
                };
                entries.sort_by_key(|e| e.1);
                if features.datasec {
                    put(&mut types, name_off);
                    put(&mut types, info(Kind::Datasec as u32, entries.len(), false));
                    put(&mut types, size);
                    for (ty, off, sz) in &entries {
                        put(&mut types, *ty);
                        put(&mut types, *off);
                        put(&mut types, *sz);
                    }
                } else {
                    // A struct with one member per variable; section names become identifiers.
                    sanitize_name(&mut strings, name_off);
                    put(&mut types, name_off);
                    put(&mut types, info(KIND_STRUCT, entries.len(), false));
                    put(&mut types, size);
                    for (ty, off, _) in &entries {
                        let var_name = btf.raw_type_bytes(*ty).map_or(0, |r| rd(r, 0));
                        put(&mut types, var_name);
                        put(&mut types, *ty);
                        put(&mut types, off * 8);
                    }
                }
            }
            TypeKind::Func { linkage, .. } => {
                let mut linkage = linkage.as_raw();
                if linkage == FuncLinkage::Extern.as_raw() {
                    linkage = FuncLinkage::Global.as_raw();
                }
                if !features.func_global && linkage == FuncLinkage::Global.as_raw() {
                    linkage = FuncLinkage::Static.as_raw();
                }
                put(&mut types, name_off);
                if features.func {
                    put(&mut types, info(Kind::Func as u32, linkage as usize, false));
                } else {
                    put(&mut types, info(KIND_TYPEDEF, 0, false));
                }
                put(&mut types, word2);
            }
            TypeKind::FuncProto { params, .. } => {
                let fill = extern_protos
                    .iter()
                    .find(|(p, _)| *p == t.id)
                    .map(|&(_, n)| n);
                put(&mut types, name_off);
                if features.func {
                    put(&mut types, rd(raw, 4));
                    put(&mut types, word2);
                } else {
                    put(&mut types, info(KIND_ENUM, params.len(), false));
                    put(&mut types, 4);
                }
                for (i, p) in params.iter().enumerate() {
                    let mut pname = rd(raw, 12 + i * 8);
                    if pname == 0 && p.ty != 0 {
                        if let Some(n) = fill {
                            pname = n;
                        }
                    }
                    if pname == 0 && !features.func {
                        pname = anon_param;
                    }
                    put(&mut types, pname);
                    put(&mut types, p.ty);
                }
            }
            TypeKind::Float { size } if !features.float => {
                put(&mut types, 0);
                put(&mut types, info(KIND_STRUCT, 0, false));
                put(&mut types, size);
            }
            TypeKind::DeclTag { .. } if !features.decl_tag => {
                put(&mut types, 0);
                put(&mut types, info(KIND_INT, 0, false));
                put(&mut types, 1);
                put(&mut types, 8);
            }
            TypeKind::TypeTag { target } if !features.type_tag => {
                put(&mut types, 0);
                put(&mut types, info(KIND_CONST, 0, false));
                put(&mut types, target);
            }
            TypeKind::Enum { values, .. } if !features.enum64 => {
                // Older kernels refuse the signedness flag, which came with ENUM64.
                put(&mut types, name_off);
                put(&mut types, info(KIND_ENUM, values.len(), false));
                types.extend_from_slice(raw.get(8..).unwrap_or_default());
            }
            TypeKind::Enum64 { size, values, .. } if !features.enum64 => {
                put(&mut types, name_off);
                put(&mut types, info(KIND_UNION, values.len(), false));
                put(&mut types, size);
                for i in 0..values.len() {
                    put(&mut types, rd(raw, 12 + i * 12));
                    put(&mut types, enum64_placeholder);
                    put(&mut types, 0);
                }
            }
            _ => types.extend_from_slice(raw),
        }
    }
    types.extend_from_slice(&appended);

    let hdr = HEADER_LEN;
    let mut out = Vec::with_capacity(HEADER_LEN as usize + types.len() + strings.len());
    out.extend_from_slice(&corebpf_btf::BTF_MAGIC.to_le_bytes());
    out.push(1);
    out.push(0);
    put(&mut out, hdr);
    put(&mut out, 0);
    put(&mut out, types.len() as u32);
    put(&mut out, types.len() as u32);
    put(&mut out, strings.len() as u32);
    out.extend_from_slice(&types);
    out.extend_from_slice(&strings);
    Ok(out)
}

/// Ids of the VARs listed in the `.ksyms` DATASEC.
fn ksyms_vars(btf: &Btf<'_>) -> Vec<TypeId> {
    let Some(id) = btf.find_by_name_kind(".ksyms", Kind::Datasec) else {
        return Vec::new();
    };
    match btf.type_by_id(id).map(|t| t.kind) {
        Ok(TypeKind::Datasec { vars, .. }) => vars.iter().map(|v| v.ty).collect(),
        _ => Vec::new(),
    }
}

/// Replaces characters a C identifier cannot hold in the string at `off` (`.bss` → `_bss`).
fn sanitize_name(strings: &mut [u8], off: u32) {
    for b in strings.iter_mut().skip(off as usize) {
        match *b {
            0 => break,
            b'.' => *b = b'_',
            _ => {}
        }
    }
}
