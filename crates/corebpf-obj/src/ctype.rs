//! C spelling of BTF types for listings: `const volatile int`, `struct exec_event`,
//! `char[16]`, `u64 *`, `int (*)(struct __sk_buff *)`.

use corebpf_btf::{Btf, TypeId, TypeKind};

/// Deepest chain of modifiers, pointers and arrays followed before giving up (`...`): bounds
/// the work on malformed, cyclic BTF.
const MAX_DEPTH: usize = 32;

/// The C spelling of type `id` (`<bad type N>` for an id the BTF does not have).
pub fn type_name(btf: &Btf<'_>, id: TypeId) -> String {
    let mut out = String::new();
    write_decl(btf, id, "", &mut out, 0);
    out
}

/// Writes type `id` declaring `inner` (a declarator such as `*`, `[4]`, or empty).
fn write_decl(btf: &Btf<'_>, id: TypeId, inner: &str, out: &mut String, depth: usize) {
    if depth > MAX_DEPTH {
        out.push_str("...");
        return;
    }
    let Ok(t) = btf.type_by_id(id) else {
        out.push_str(&format!("<bad type {id}>"));
        append_inner(out, inner);
        return;
    };
    match t.kind {
        TypeKind::Void => {
            out.push_str("void");
            append_inner(out, inner);
        }
        TypeKind::Int { .. } | TypeKind::Float { .. } | TypeKind::Typedef { .. } => {
            out.push_str(t.name);
            append_inner(out, inner);
        }
        TypeKind::Struct { .. }
        | TypeKind::Union { .. }
        | TypeKind::Enum { .. }
        | TypeKind::Enum64 { .. }
        | TypeKind::Fwd { .. } => {
            let tag = match t.kind {
                TypeKind::Struct { .. } | TypeKind::Fwd { union: false } => "struct",
                TypeKind::Union { .. } | TypeKind::Fwd { union: true } => "union",
                _ => "enum",
            };
            out.push_str(tag);
            out.push(' ');
            out.push_str(if t.name.is_empty() { "{...}" } else { t.name });
            append_inner(out, inner);
        }
        TypeKind::Const { target }
        | TypeKind::Volatile { target }
        | TypeKind::Restrict { target } => {
            let q = match t.kind {
                TypeKind::Const { .. } => "const",
                TypeKind::Volatile { .. } => "volatile",
                _ => "restrict",
            };
            // Qualifiers of a pointer follow the `*`; others lead.
            let is_ptr = matches!(
                btf.type_by_id(target).map(|t| t.kind),
                Ok(TypeKind::Ptr { .. })
            );
            if is_ptr {
                write_decl(
                    btf,
                    target,
                    &format!(" {q}{}", spaced(inner)),
                    out,
                    depth + 1,
                );
            } else {
                out.push_str(q);
                out.push(' ');
                write_decl(btf, target, inner, out, depth + 1);
            }
        }
        TypeKind::TypeTag { target } => write_decl(btf, target, inner, out, depth + 1),
        TypeKind::Ptr { target } => {
            let pointee_is_fn_or_array = matches!(
                btf.type_by_id(target).map(|t| t.kind),
                Ok(TypeKind::FuncProto { .. } | TypeKind::Array { .. })
            );
            let decl = if pointee_is_fn_or_array {
                format!("(*{inner})")
            } else {
                format!("*{inner}")
            };
            write_decl(btf, target, &decl, out, depth + 1);
        }
        TypeKind::Array { elem, len, .. } => {
            write_decl(btf, elem, &format!("{inner}[{len}]"), out, depth + 1)
        }
        TypeKind::FuncProto { ret, params } => {
            let mut args = String::new();
            for (i, p) in params.iter().enumerate() {
                if i > 0 {
                    args.push_str(", ");
                }
                if p.ty == 0 && p.name.is_empty() {
                    args.push_str("...");
                } else {
                    write_decl(btf, p.ty, "", &mut args, depth + 1);
                }
            }
            if params.is_empty() {
                args.push_str("void");
            }
            write_decl(btf, ret, &format!("{inner}({args})"), out, depth + 1);
        }
        TypeKind::Func { proto, .. } => {
            write_decl(btf, proto, &format!("{}{inner}", t.name), out, depth + 1)
        }
        TypeKind::Var { ty, .. } => write_decl(btf, ty, inner, out, depth + 1),
        TypeKind::Datasec { .. } => {
            out.push_str("SEC(\"");
            out.push_str(t.name);
            out.push_str("\")");
        }
        TypeKind::DeclTag { target, .. } => write_decl(btf, target, inner, out, depth + 1),
    }
}

fn spaced(inner: &str) -> String {
    if inner.is_empty() || inner.starts_with('[') || inner.starts_with('(') {
        inner.to_string()
    } else {
        format!(" {inner}")
    }
}

fn append_inner(out: &mut String, inner: &str) {
    if inner.is_empty() {
        return;
    }
    if !inner.starts_with('[') && !inner.starts_with('(') {
        out.push(' ');
    }
    out.push_str(inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spells_test_program_types() {
        let data = corebpf_testdata::bytes("globals", corebpf_testdata::Cpu::V3);
        let obj = crate::Object::parse(&data).unwrap();
        let btf = obj.btf.as_ref().unwrap();
        let ty = |var: &str| {
            let v = obj
                .data
                .iter()
                .flat_map(|d| d.variables.iter())
                .find(|v| v.name == var)
                .unwrap();
            type_name(btf, v.type_id.unwrap())
        };
        assert_eq!(ty("snap_len"), "const volatile __u32");
        assert_eq!(ty("greeting"), "const volatile char[16]");
        assert_eq!(ty("checksum"), "__u64");
        assert_eq!(ty("len_range"), "struct {...}");
        assert_eq!(ty("lookup_table"), "const volatile __u32[8]");

        let data = corebpf_testdata::bytes("maps", corebpf_testdata::Cpu::V3);
        let obj = crate::Object::parse(&data).unwrap();
        let btf = obj.btf.as_ref().unwrap();
        let flows = obj.map("flows").unwrap();
        assert_eq!(type_name(btf, flows.key_type.unwrap()), "struct flow_key");
        let func = btf
            .find_by_name_kind("tail_a", corebpf_btf::Kind::Func)
            .unwrap();
        assert_eq!(type_name(btf, func), "int tail_a(struct __sk_buff *)");
        let jt = btf
            .type_by_id(obj.map("jump_table").unwrap().btf_var.unwrap())
            .unwrap();
        let TypeKind::Var { ty, .. } = jt.kind else {
            panic!()
        };
        let s = type_name(btf, ty);
        assert!(s.starts_with("struct {...}"), "{s}");
    }
}
