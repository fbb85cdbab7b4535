//! Raw dump: one line per type (plus one per member/value/parameter/variable), in the same
//! format as `bpftool btf dump file FILE format raw`.

use std::io::{self, Write};

use crate::types::{u32_at, Type, TypeKind};
use crate::Btf;

/// Writes every type of `btf` (for split BTF, only its own types, ids continuing from the
/// base) to `out` in bpftool's raw format.
pub fn dump_raw<W: Write + ?Sized>(btf: &Btf<'_>, out: &mut W) -> io::Result<()> {
    let mut buf = Vec::with_capacity(1 << 16);
    for t in btf.types() {
        write_type(btf, &t, &mut buf);
        if buf.len() >= 1 << 16 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)
}

/// Appends the raw-format lines of one type to `buf`.
pub fn write_type(btf: &Btf<'_>, t: &Type<'_>, buf: &mut Vec<u8>) {
    let e = btf.endian();
    buf.push(b'[');
    num(buf, t.id);
    buf.push(b']');
    buf.push(b' ');
    buf.extend_from_slice(t.kind_id().name().as_bytes());
    buf.extend_from_slice(b" '");
    name(btf, t.name_off(), buf);
    buf.push(b'\'');
    let vlen = t.vlen();
    match t.kind {
        TypeKind::Void => {}
        TypeKind::Int {
            size,
            encoding,
            offset,
            bits,
        } => {
            kv(buf, b" size=", size);
            kv(buf, b" bits_offset=", u32::from(offset));
            kv(buf, b" nr_bits=", u32::from(bits));
            buf.extend_from_slice(b" encoding=");
            buf.extend_from_slice(match encoding.0 {
                0 => b"(none)",
                1 => b"SIGNED",
                2 => b"CHAR",
                4 => b"BOOL",
                _ => b"UNKN",
            });
        }
        TypeKind::Ptr { target }
        | TypeKind::Const { target }
        | TypeKind::Volatile { target }
        | TypeKind::Restrict { target }
        | TypeKind::Typedef { target }
        | TypeKind::TypeTag { target } => kv(buf, b" type_id=", target),
        TypeKind::Array { elem, index, len } => {
            kv(buf, b" type_id=", elem);
            kv(buf, b" index_type_id=", index);
            kv(buf, b" nr_elems=", len);
        }
        TypeKind::Struct { size, members } | TypeKind::Union { size, members } => {
            kv(buf, b" size=", size);
            kv(buf, b" vlen=", u32::from(vlen));
            for (r, m) in members.raw.chunks_exact(12).zip(members.iter()) {
                buf.extend_from_slice(b"\n\t'");
                name(btf, u32_at(r, 0, e), buf);
                buf.push(b'\'');
                kv(buf, b" type_id=", m.ty);
                kv(buf, b" bits_offset=", m.bit_offset);
                if m.bitfield_size != 0 {
                    kv(buf, b" bitfield_size=", m.bitfield_size);
                }
            }
        }
        TypeKind::Enum {
            size,
            signed,
            values,
        } => {
            enum_head(buf, signed, size, vlen);
            for (r, v) in values.raw.chunks_exact(8).zip(values.iter()) {
                enum_val(btf, buf, u32_at(r, 0, e), v.value);
            }
        }
        TypeKind::Enum64 {
            size,
            signed,
            values,
        } => {
            enum_head(buf, signed, size, vlen);
            for (r, v) in values.raw.chunks_exact(12).zip(values.iter()) {
                enum_val(btf, buf, u32_at(r, 0, e), v.value);
                buf.extend_from_slice(if signed { b"LL" } else { b"ULL" });
            }
        }
        TypeKind::Fwd { union } => {
            buf.extend_from_slice(if union {
                b" fwd_kind=union"
            } else {
                b" fwd_kind=struct"
            });
        }
        TypeKind::Func { proto, linkage } => {
            kv(buf, b" type_id=", proto);
            buf.extend_from_slice(b" linkage=");
            buf.extend_from_slice(linkage.name().as_bytes());
        }
        TypeKind::FuncProto { ret, params } => {
            kv(buf, b" ret_type_id=", ret);
            kv(buf, b" vlen=", u32::from(vlen));
            for (r, p) in params.raw.chunks_exact(8).zip(params.iter()) {
                buf.extend_from_slice(b"\n\t'");
                name(btf, u32_at(r, 0, e), buf);
                buf.push(b'\'');
                kv(buf, b" type_id=", p.ty);
            }
        }
        TypeKind::Var { ty, linkage } => {
            kv(buf, b" type_id=", ty);
            buf.extend_from_slice(b", linkage=");
            buf.extend_from_slice(linkage.name().as_bytes());
        }
        TypeKind::Datasec { size, vars } => {
            kv(buf, b" size=", size);
            kv(buf, b" vlen=", u32::from(vlen));
            for v in vars.iter() {
                kv(buf, b"\n\ttype_id=", v.ty);
                kv(buf, b" offset=", v.offset);
                kv(buf, b" size=", v.size);
                if let Ok(vt) = btf.type_by_id(v.ty) {
                    buf.extend_from_slice(b" (");
                    buf.extend_from_slice(vt.kind_id().name().as_bytes());
                    buf.extend_from_slice(b" '");
                    name(btf, vt.name_off(), buf);
                    buf.extend_from_slice(b"')");
                }
            }
        }
        TypeKind::Float { size } => kv(buf, b" size=", size),
        TypeKind::DeclTag {
            target,
            component_idx,
        } => {
            kv(buf, b" type_id=", target);
            buf.extend_from_slice(b" component_idx=");
            signed(buf, i128::from(component_idx));
        }
    }
    buf.push(b'\n');
}

fn enum_head(buf: &mut Vec<u8>, signed: bool, size: u32, vlen: u16) {
    buf.extend_from_slice(if signed {
        b" encoding=SIGNED"
    } else {
        b" encoding=UNSIGNED"
    });
    kv(buf, b" size=", size);
    kv(buf, b" vlen=", u32::from(vlen));
}

fn enum_val(btf: &Btf<'_>, buf: &mut Vec<u8>, name_off: u32, value: i128) {
    buf.extend_from_slice(b"\n\t'");
    name(btf, name_off, buf);
    buf.extend_from_slice(b"' val=");
    signed(buf, value);
}

/// bpftool prints `(anon)` for offset 0 and `(invalid)` for an unreadable string.
fn name(btf: &Btf<'_>, off: u32, buf: &mut Vec<u8>) {
    if off == 0 {
        buf.extend_from_slice(b"(anon)");
        return;
    }
    match btf.str_at(off) {
        Ok(s) => buf.extend_from_slice(s.as_bytes()),
        Err(_) => buf.extend_from_slice(b"(invalid)"),
    }
}

#[inline]
fn kv(buf: &mut Vec<u8>, key: &[u8], v: u32) {
    buf.extend_from_slice(key);
    num(buf, v);
}

#[inline]
fn num(buf: &mut Vec<u8>, v: u32) {
    let mut tmp = [0u8; 10];
    let mut i = tmp.len();
    let mut v = v;
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

fn signed(buf: &mut Vec<u8>, v: i128) {
    let mut tmp = [0u8; 40];
    let mut i = tmp.len();
    let neg = v < 0;
    let mut u = v.unsigned_abs();
    loop {
        i -= 1;
        tmp[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if neg {
        i -= 1;
        tmp[i] = b'-';
    }
    buf.extend_from_slice(&tmp[i..]);
}
