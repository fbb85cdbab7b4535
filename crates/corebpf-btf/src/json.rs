//! JSON output: every type of a BTF blob as one JSON document, written as a stream.
//!
//! # Schema
//!
//! ```text
//! {
//!   "first_id": 1,            // id of the first type below (split BTF: base.len())
//!   "types": [ TYPE, ... ]    // this blob's own types in id order (not the base's, not void)
//! }
//! ```
//!
//! Every `TYPE` object has `"id"` (number), `"kind"` (the kernel's upper-case kind name:
//! `INT`, `PTR`, `ARRAY`, `STRUCT`, `UNION`, `ENUM`, `FWD`, `TYPEDEF`, `VOLATILE`, `CONST`,
//! `RESTRICT`, `FUNC`, `FUNC_PROTO`, `VAR`, `DATASEC`, `FLOAT`, `DECL_TAG`, `TYPE_TAG`, `ENUM64`)
//! and `"name"` (string, `""` for anonymous types), then the fields of its kind. Type references
//! are ids (`0` is `void`); sizes are in bytes, offsets of members in bits, of DATASEC variables
//! in bytes.
//!
//! | kind | fields |
//! |------|--------|
//! | `INT` | `size`, `bits_offset`, `nr_bits`, `signed`, `char`, `bool` (booleans) |
//! | `PTR`, `TYPEDEF`, `VOLATILE`, `CONST`, `RESTRICT` | `type_id` |
//! | `TYPE_TAG` | `type_id`, `attribute` (kind_flag: the tag is a plain C attribute) |
//! | `ARRAY` | `type_id` (element), `index_type_id`, `nr_elems` |
//! | `STRUCT`, `UNION` | `size`, `members`: `[{name, type_id, bits_offset, bitfield_size}]` (`bitfield_size` 0: not a bitfield) |
//! | `ENUM`, `ENUM64` | `size`, `signed`, `values`: `[{name, value}]` (`value` a signed or unsigned integer as `signed` says) |
//! | `FWD` | `fwd_kind`: `"struct"` or `"union"` |
//! | `FUNC` | `type_id` (the FUNC_PROTO), `linkage`: `"static"`, `"global"` or `"extern"` |
//! | `FUNC_PROTO` | `ret_type_id`, `params`: `[{name, type_id}]` (a last `type_id` 0 is `...`) |
//! | `VAR` | `type_id`, `linkage` |
//! | `DATASEC` | `size`, `vars`: `[{type_id, offset, size}]` |
//! | `FLOAT` | `size` |
//! | `DECL_TAG` | `type_id`, `component_idx` (-1: the type itself, else member/parameter index) |
//!
//! Example: `{"id":2,"kind":"PTR","name":"","type_id":7}`.

use std::io::{self, Write};

use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;

use crate::{Btf, BtfError, Type, TypeKind};

/// What [`dump_json`] writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonOptions {
    /// Indented, one field per line (larger); otherwise compact.
    pub pretty: bool,
}

/// Why a JSON dump failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The BTF itself is malformed.
    #[error(transparent)]
    Btf(#[from] BtfError),
    /// The output writer failed.
    #[error("writing JSON output: {0}")]
    Io(#[from] io::Error),
    /// Serialization failed for another reason.
    #[error("serializing JSON: {0}")]
    Json(String),
}

impl From<serde_json::Error> for JsonError {
    fn from(e: serde_json::Error) -> Self {
        if e.is_io() {
            JsonError::Io(e.into())
        } else {
            JsonError::Json(e.to_string())
        }
    }
}

/// Writes all of `btf`'s own types to `out` as JSON (see the module docs for the schema).
///
/// Types are serialized one at a time as they are decoded; nothing is collected in memory.
/// Wrap `out` in a `BufWriter` when it is unbuffered (a file, stdout).
pub fn dump_json<W: Write>(btf: &Btf<'_>, out: W, opts: &JsonOptions) -> Result<(), JsonError> {
    let doc = Document { btf };
    if opts.pretty {
        let mut ser = serde_json::Serializer::pretty(out);
        doc.serialize(&mut ser)?;
        ser.into_inner().flush()?;
    } else {
        let mut ser = serde_json::Serializer::new(out);
        doc.serialize(&mut ser)?;
        ser.into_inner().flush()?;
    }
    Ok(())
}

/// Returns `btf`'s types as a JSON string.
pub fn to_json_string(btf: &Btf<'_>, opts: &JsonOptions) -> Result<String, JsonError> {
    let mut out = Vec::new();
    dump_json(btf, &mut out, opts)?;
    String::from_utf8(out).map_err(|e| JsonError::Json(e.to_string()))
}

struct Document<'b, 'a> {
    btf: &'b Btf<'a>,
}

impl Serialize for Document<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("first_id", &self.btf.first_id())?;
        m.serialize_entry("types", &Types { btf: self.btf })?;
        m.end()
    }
}

struct Types<'b, 'a> {
    btf: &'b Btf<'a>,
}

impl Serialize for Types<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let types = self.btf.types();
        let mut seq = s.serialize_seq(Some(types.len()))?;
        for t in types {
            seq.serialize_element(&JsonType(t))?;
        }
        seq.end()
    }
}

/// One type as a JSON object.
struct JsonType<'a>(Type<'a>);

/// A list serialized from a cheap, re-iterable view.
struct List<F>(F);

impl<I, F> Serialize for List<F>
where
    F: Fn() -> I,
    I: ExactSizeIterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let it = (self.0)();
        let mut seq = s.serialize_seq(Some(it.len()))?;
        for x in it {
            seq.serialize_element(&x)?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct JsonMember<'a> {
    name: &'a str,
    type_id: u32,
    bits_offset: u32,
    bitfield_size: u32,
}

/// An enumerator value: signed or unsigned 64-bit as the enum says.
#[derive(Serialize)]
#[serde(untagged)]
enum EnumVal {
    Signed(i64),
    Unsigned(u64),
}

#[derive(Serialize)]
struct JsonEnumValue<'a> {
    name: &'a str,
    value: EnumVal,
}

#[derive(Serialize)]
struct JsonParam<'a> {
    name: &'a str,
    type_id: u32,
}

#[derive(Serialize)]
struct JsonSecVar {
    type_id: u32,
    offset: u32,
    size: u32,
}

fn enum_val(v: i128, signed: bool) -> EnumVal {
    // The reader sign- or zero-extends 32/64-bit values, so these conversions are exact; the
    // fallbacks only keep the function total.
    if signed {
        EnumVal::Signed(i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX }))
    } else {
        EnumVal::Unsigned(u64::try_from(v).unwrap_or(if v < 0 { 0 } else { u64::MAX }))
    }
}

impl Serialize for JsonType<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = &self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &t.id)?;
        m.serialize_entry("kind", t.kind_id().name())?;
        m.serialize_entry("name", t.name)?;
        match t.kind {
            TypeKind::Void => {}
            TypeKind::Int {
                size,
                encoding,
                offset,
                bits,
            } => {
                m.serialize_entry("size", &size)?;
                m.serialize_entry("bits_offset", &offset)?;
                m.serialize_entry("nr_bits", &bits)?;
                m.serialize_entry("signed", &encoding.is_signed())?;
                m.serialize_entry("char", &encoding.is_char())?;
                m.serialize_entry("bool", &encoding.is_bool())?;
            }
            TypeKind::Ptr { target }
            | TypeKind::Typedef { target }
            | TypeKind::Volatile { target }
            | TypeKind::Const { target }
            | TypeKind::Restrict { target } => m.serialize_entry("type_id", &target)?,
            TypeKind::TypeTag { target } => {
                m.serialize_entry("type_id", &target)?;
                m.serialize_entry("attribute", &t.kind_flag())?;
            }
            TypeKind::Array { elem, index, len } => {
                m.serialize_entry("type_id", &elem)?;
                m.serialize_entry("index_type_id", &index)?;
                m.serialize_entry("nr_elems", &len)?;
            }
            TypeKind::Struct { size, members } | TypeKind::Union { size, members } => {
                m.serialize_entry("size", &size)?;
                let list = List(|| {
                    members.iter().map(|x| JsonMember {
                        name: x.name,
                        type_id: x.ty,
                        bits_offset: x.bit_offset,
                        bitfield_size: x.bitfield_size,
                    })
                });
                m.serialize_entry("members", &list)?;
            }
            TypeKind::Enum {
                size,
                signed,
                values,
            } => {
                m.serialize_entry("size", &size)?;
                m.serialize_entry("signed", &signed)?;
                let list = List(|| {
                    values.iter().map(|v| JsonEnumValue {
                        name: v.name,
                        value: enum_val(v.value, signed),
                    })
                });
                m.serialize_entry("values", &list)?;
            }
            TypeKind::Enum64 {
                size,
                signed,
                values,
            } => {
                m.serialize_entry("size", &size)?;
                m.serialize_entry("signed", &signed)?;
                let list = List(|| {
                    values.iter().map(|v| JsonEnumValue {
                        name: v.name,
                        value: enum_val(v.value, signed),
                    })
                });
                m.serialize_entry("values", &list)?;
            }
            TypeKind::Fwd { union } => {
                m.serialize_entry("fwd_kind", if union { "union" } else { "struct" })?;
            }
            TypeKind::Func { proto, linkage } => {
                m.serialize_entry("type_id", &proto)?;
                m.serialize_entry("linkage", linkage.name())?;
            }
            TypeKind::FuncProto { ret, params } => {
                m.serialize_entry("ret_type_id", &ret)?;
                let list = List(|| {
                    params.iter().map(|p| JsonParam {
                        name: p.name,
                        type_id: p.ty,
                    })
                });
                m.serialize_entry("params", &list)?;
            }
            TypeKind::Var { ty, linkage } => {
                m.serialize_entry("type_id", &ty)?;
                m.serialize_entry("linkage", linkage.name())?;
            }
            TypeKind::Datasec { size, vars } => {
                m.serialize_entry("size", &size)?;
                let list = List(|| {
                    vars.iter().map(|v| JsonSecVar {
                        type_id: v.ty,
                        offset: v.offset,
                        size: v.size,
                    })
                });
                m.serialize_entry("vars", &list)?;
            }
            TypeKind::Float { size } => m.serialize_entry("size", &size)?,
            TypeKind::DeclTag {
                target,
                component_idx,
            } => {
                m.serialize_entry("type_id", &target)?;
                m.serialize_entry("component_idx", &component_idx)?;
            }
        }
        m.end()
    }
}
