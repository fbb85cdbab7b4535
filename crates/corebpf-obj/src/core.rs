//! CO-RE relocation records explained: access strings resolved against the object's BTF to
//! the C-level path they stand for.

use std::fmt::Write as _;

use corebpf_btf::{Btf, CoreReloKind, Type, TypeId, TypeKind};

use crate::ObjError;

/// Describes what a CO-RE relocation refers to, in the form llvm-objdump prints it:
///
/// - field relocations: `struct task_struct::real_parent (0:95)`, with nested members joined
///   by `.`, array subscripts as `[N]`, unnamed members as `<anon N>` and a leading `[N]` when
///   the access starts at an element other than the first;
/// - type relocations: `struct task_struct`, `typedef u32`;
/// - enum value relocations: `enum bpf_map_type::BPF_MAP_TYPE_RINGBUF = 27`.
///
/// Every access step is checked against the BTF: an index past the members of a struct or the
/// length of an array is an error naming the type and the access string.
pub fn describe_access(
    btf: &Btf<'_>,
    type_id: TypeId,
    access: &str,
    kind: CoreReloKind,
) -> Result<String, ObjError> {
    let err = |problem: String| ObjError::Access {
        type_id,
        access: access.to_string(),
        problem,
    };
    let btf_err = |e: corebpf_btf::BtfError| err(e.to_string());
    let root = btf.type_by_id(type_id).map_err(btf_err)?;
    let mut out = type_label(&root);
    if kind.is_type() {
        return Ok(out);
    }
    let mut steps = access.split(':').map(|s| {
        s.parse::<u32>()
            .map_err(|_| err(format!("`{s}` is not an index")))
    });
    let first = steps
        .next()
        .ok_or_else(|| err("empty access string".into()))??;
    if kind.is_enumval() {
        if steps.next().is_some() {
            return Err(err("an enum value access has a single index".into()));
        }
        let resolved = btf
            .type_by_id(btf.skip_mods_and_typedefs(type_id).map_err(btf_err)?)
            .map_err(btf_err)?;
        let (name, value) = match resolved.kind {
            TypeKind::Enum { values, .. } => values.get(first as usize).map(|v| (v.name, v.value)),
            TypeKind::Enum64 { values, .. } => {
                values.get(first as usize).map(|v| (v.name, v.value))
            }
            _ => return Err(err(format!("type is {}, not an enum", resolved.kind_id()))),
        }
        .ok_or_else(|| err(format!("enum has no value #{first}")))?;
        let _ = write!(out, "::{name} = {value}");
        return Ok(out);
    }
    out.push_str("::");
    if first != 0 {
        let _ = write!(out, "[{first}]");
    }
    let mut cur = type_id;
    let mut need_dot = first != 0;
    for step in steps {
        let idx = step?;
        let id = btf.skip_mods_and_typedefs(cur).map_err(btf_err)?;
        let t = btf.type_by_id(id).map_err(btf_err)?;
        match t.kind {
            TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => {
                let m = members.get(idx as usize).ok_or_else(|| {
                    err(format!(
                        "[{id}] {} has {} members, no #{idx}",
                        type_label(&t),
                        members.len()
                    ))
                })?;
                if need_dot {
                    out.push('.');
                }
                if m.name.is_empty() {
                    let _ = write!(out, "<anon {idx}>");
                } else {
                    out.push_str(m.name);
                }
                cur = m.ty;
            }
            TypeKind::Array { elem, len, .. } => {
                // Flexible arrays (len 0) accept any index, as libbpf does.
                if len != 0 && idx >= len {
                    return Err(err(format!(
                        "index {idx} past the end of [{id}] array of {len}"
                    )));
                }
                let _ = write!(out, "[{idx}]");
                cur = elem;
            }
            _ => {
                return Err(err(format!(
                    "step {idx} into [{id}] {}, which has no members or elements",
                    t.kind_id()
                )))
            }
        }
        need_dot = true;
    }
    let _ = write!(out, " ({access})");
    Ok(out)
}

/// The same relocation as C, spelled with the libbpf macro that produces it (for the bitfield
/// kinds, which `BPF_CORE_READ_BITFIELD` emits internally, a name in the same style):
/// `bpf_core_field_offset(struct task_struct, real_parent)`,
/// `bpf_core_field_size(struct bar, f.k[7].b)`, `bpf_core_type_size(struct task_struct)`,
/// `bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF)`. Unnamed members are
/// transparent in C and left out of the path; an access starting at element N of the root
/// (`3:0:0`) is written `[3].f.i`.
pub fn describe_c(
    btf: &Btf<'_>,
    type_id: TypeId,
    access: &str,
    kind: CoreReloKind,
) -> Result<String, ObjError> {
    let err = |problem: String| ObjError::Access {
        type_id,
        access: access.to_string(),
        problem,
    };
    let btf_err = |e: corebpf_btf::BtfError| err(e.to_string());
    let root = btf.type_by_id(type_id).map_err(btf_err)?;
    let ty = type_label(&root);
    let macro_name = match kind {
        CoreReloKind::FieldByteOffset => "bpf_core_field_offset",
        CoreReloKind::FieldByteSize => "bpf_core_field_size",
        CoreReloKind::FieldExists => "bpf_core_field_exists",
        CoreReloKind::FieldSigned => "bpf_core_field_signed",
        CoreReloKind::FieldLshiftU64 => "bpf_core_field_lshift",
        CoreReloKind::FieldRshiftU64 => "bpf_core_field_rshift",
        CoreReloKind::LocalTypeId => "bpf_core_type_id_local",
        CoreReloKind::TargetTypeId => "bpf_core_type_id_kernel",
        CoreReloKind::TypeExists => "bpf_core_type_exists",
        CoreReloKind::TypeSize => "bpf_core_type_size",
        CoreReloKind::TypeMatches => "bpf_core_type_matches",
        CoreReloKind::EnumvalExists => "bpf_core_enum_value_exists",
        CoreReloKind::EnumvalValue => "bpf_core_enum_value",
    };
    if kind.is_type() {
        return Ok(format!("{macro_name}({ty})"));
    }
    // Reuse the checked walk of `describe_access`, then turn its path into C.
    let full = describe_access(btf, type_id, access, kind)?;
    if kind.is_enumval() {
        let name = full
            .rsplit_once("::")
            .and_then(|(_, v)| v.split(" = ").next())
            .unwrap_or_default();
        return Ok(format!("{macro_name}({ty}, {name})"));
    }
    let path = full
        .split_once("::")
        .map(|(_, p)| p)
        .unwrap_or_default()
        .rsplit_once(" (")
        .map_or("", |(p, _)| p);
    let mut c_path = String::with_capacity(path.len());
    let mut rest = path;
    while !rest.is_empty() {
        // Drop `<anon N>` components (and the `.` after them).
        if let Some(after) = rest.strip_prefix("<anon ") {
            let end = after.find('>').map_or(after.len(), |i| i + 1);
            rest = after.get(end..).unwrap_or_default();
            rest = rest.strip_prefix('.').unwrap_or(rest);
            continue;
        }
        let mut chars = rest.char_indices();
        let (_, c) = chars.next().unwrap_or((0, ' '));
        c_path.push(c);
        rest = rest.get(c.len_utf8()..).unwrap_or_default();
    }
    Ok(format!("{macro_name}({ty}, {c_path})"))
}

/// `struct name`, `union name`, `enum name`, `typedef name`, or the bare name for other kinds.
fn type_label(t: &Type<'_>) -> String {
    let prefix = match t.kind {
        TypeKind::Struct { .. } => "struct ",
        TypeKind::Union { .. } => "union ",
        TypeKind::Enum { .. } | TypeKind::Enum64 { .. } => "enum ",
        TypeKind::Typedef { .. } => "typedef ",
        TypeKind::Fwd { union: true } => "union ",
        TypeKind::Fwd { union: false } => "struct ",
        _ => "",
    };
    let name = if t.name.is_empty() { "<anon>" } else { t.name };
    format!("{prefix}{name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use corebpf_btf::Kind;

    fn with_btf(f: impl FnOnce(&Btf<'_>)) {
        let data = corebpf_testdata::bytes("core_fields", corebpf_testdata::Cpu::V3);
        let obj = crate::Object::parse(&data).unwrap();
        f(obj.btf.as_ref().unwrap());
    }

    #[test]
    fn resolves_paths() {
        with_btf(|btf| {
            let task = btf.find_by_name_kind("task_struct", Kind::Struct).unwrap();
            let s = describe_access(btf, task, "0", CoreReloKind::FieldByteOffset).unwrap();
            assert_eq!(s, "struct task_struct:: (0)");
            let s = describe_access(btf, task, "0", CoreReloKind::TypeSize).unwrap();
            assert_eq!(s, "struct task_struct");
            let e = btf.find_by_name_kind("bpf_map_type", Kind::Enum).unwrap();
            let TypeKind::Enum { values, .. } = btf.type_by_id(e).unwrap().kind else {
                panic!()
            };
            let idx = values
                .iter()
                .position(|v| v.name == "BPF_MAP_TYPE_RINGBUF")
                .unwrap();
            let s = describe_access(btf, e, &idx.to_string(), CoreReloKind::EnumvalValue).unwrap();
            assert_eq!(s, "enum bpf_map_type::BPF_MAP_TYPE_RINGBUF = 27");
        });
    }

    #[test]
    fn c_spelling() {
        with_btf(|btf| {
            let task = btf.find_by_name_kind("task_struct", Kind::Struct).unwrap();
            let TypeKind::Struct { members, .. } = btf.type_by_id(task).unwrap().kind else {
                panic!()
            };
            let idx = members
                .iter()
                .position(|m| m.name == "real_parent")
                .unwrap();
            let access = format!("0:{idx}");
            assert_eq!(
                describe_c(btf, task, &access, CoreReloKind::FieldByteOffset).unwrap(),
                "bpf_core_field_offset(struct task_struct, real_parent)"
            );
            assert_eq!(
                describe_c(btf, task, "0", CoreReloKind::TypeSize).unwrap(),
                "bpf_core_type_size(struct task_struct)"
            );
            let e = btf.find_by_name_kind("bpf_map_type", Kind::Enum).unwrap();
            let TypeKind::Enum { values, .. } = btf.type_by_id(e).unwrap().kind else {
                panic!()
            };
            let i = values
                .iter()
                .position(|v| v.name == "BPF_MAP_TYPE_RINGBUF")
                .unwrap();
            assert_eq!(
                describe_c(btf, e, &i.to_string(), CoreReloKind::EnumvalValue).unwrap(),
                "bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF)"
            );
        });
    }

    #[test]
    fn bad_access_strings_are_errors() {
        with_btf(|btf| {
            let task = btf.find_by_name_kind("task_struct", Kind::Struct).unwrap();
            for (access, kind) in [
                ("0:100000", CoreReloKind::FieldByteOffset),
                ("0:x", CoreReloKind::FieldExists),
                ("", CoreReloKind::FieldByteOffset),
                ("0:1:0:0:0", CoreReloKind::FieldByteOffset),
                ("99999", CoreReloKind::EnumvalValue),
            ] {
                let err = describe_access(btf, task, access, kind).unwrap_err();
                assert!(matches!(err, ObjError::Access { .. }), "{access}: {err}");
            }
            let err = describe_access(btf, 0x7fff_ffff, "0", CoreReloKind::TypeSize).unwrap_err();
            assert!(err.to_string().contains("2147483647"), "{err}");
        });
    }
}
