//! Encoding a value written as text into the bytes of a BTF type (for `--set NAME=VALUE`).

use corebpf_btf::{Btf, TypeId, TypeKind};

fn parse_int(text: &str) -> Result<i128, String> {
    let t = text.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let v = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i128::from_str_radix(hex, 16)
    } else {
        digits.parse::<i128>()
    }
    .map_err(|_| format!("`{text}` is not an integer"))?;
    Ok(if neg { -v } else { v })
}

fn int_bytes(v: i128, size: u32, signed: bool, text: &str) -> Result<Vec<u8>, String> {
    let bits = size * 8;
    let (min, max) = if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    if v < min || v > max {
        return Err(format!(
            "{text} does not fit a {}{bits}-bit integer ({min}..={max})",
            if signed { "signed " } else { "unsigned " }
        ));
    }
    Ok((v as u128).to_le_bytes()[..size as usize].to_vec())
}

/// The bytes (host order, little-endian hosts) of `text` as a value of type `ty`.
pub fn encode(btf: &Btf<'_>, ty: TypeId, text: &str) -> Result<Vec<u8>, String> {
    let id = btf.skip_mods_and_typedefs(ty).map_err(|e| e.to_string())?;
    let t = btf.type_by_id(id).map_err(|e| e.to_string())?;
    match t.kind {
        TypeKind::Int { size, encoding, .. } => {
            if encoding.is_bool() {
                let v = match text.trim() {
                    "true" | "1" | "y" => 1,
                    "false" | "0" | "n" => 0,
                    other => return Err(format!("`{other}` is not a bool (true/false)")),
                };
                let mut out = vec![0u8; size as usize];
                if let Some(b) = out.first_mut() {
                    *b = v;
                }
                return Ok(out);
            }
            if encoding.is_char()
                && size == 1
                && text.chars().count() == 1
                && parse_int(text).is_err()
            {
                return Ok(vec![text.as_bytes()[0]]);
            }
            int_bytes(parse_int(text)?, size, encoding.is_signed(), text)
        }
        TypeKind::Enum {
            size,
            signed,
            values,
        } => {
            let v = match values.iter().find(|v| v.name == text.trim()) {
                Some(v) => v.value,
                None => parse_int(text)?,
            };
            int_bytes(v, size, signed || v < 0, text)
        }
        TypeKind::Enum64 {
            size,
            signed,
            values,
        } => {
            let v = match values.iter().find(|v| v.name == text.trim()) {
                Some(v) => v.value,
                None => parse_int(text)?,
            };
            int_bytes(v, size, signed || v < 0, text)
        }
        TypeKind::Ptr { .. } => int_bytes(parse_int(text)?, 8, false, text),
        TypeKind::Array { elem, len, .. } => {
            let e = btf
                .skip_mods_and_typedefs(elem)
                .map_err(|e| e.to_string())?;
            match btf.type_by_id(e).map_err(|e| e.to_string())?.kind {
                TypeKind::Int { size: 1, .. } => {
                    let bytes = text.as_bytes();
                    if bytes.len() > len as usize {
                        return Err(format!(
                            "string of {} bytes does not fit char[{len}]",
                            bytes.len()
                        ));
                    }
                    let mut out = bytes.to_vec();
                    out.resize(len as usize, 0);
                    Ok(out)
                }
                _ => Err("only char arrays can be set from text".into()),
            }
        }
        _ => Err(format!(
            "a {} cannot be set from text; set its bytes instead",
            t.kind_id().name()
        )),
    }
}
