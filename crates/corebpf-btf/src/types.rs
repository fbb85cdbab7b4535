//! Type records as typed, zero-copy views over the raw BTF bytes.

use std::fmt;

use crate::strings::StrTab;

/// A BTF type id. Id 0 is `void`.
pub type TypeId = u32;

/// Byte order of a BTF blob (told by how the 0xEB9F magic reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    Little,
    Big,
}

impl Endian {
    /// The byte order of the machine running this code.
    pub const NATIVE: Endian = if cfg!(target_endian = "big") {
        Endian::Big
    } else {
        Endian::Little
    };

    #[inline]
    pub(crate) fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }
}

/// Reads a u32 at `off`; `None` past the end.
#[inline]
pub(crate) fn read_u32(data: &[u8], off: usize, e: Endian) -> Option<u32> {
    let b = data.get(off..off.checked_add(4)?)?;
    let mut a = [0u8; 4];
    a.copy_from_slice(b);
    Some(e.u32(a))
}

/// Reads a u32 that validation already proved in bounds (0 if it is not, never panics).
#[inline]
pub(crate) fn u32_at(data: &[u8], off: usize, e: Endian) -> u32 {
    read_u32(data, off, e).unwrap_or(0)
}

/// The kind of a BTF type, as stored in bits 24..29 of `info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Kind {
    Void = 0,
    Int,
    Ptr,
    Array,
    Struct,
    Union,
    Enum,
    Fwd,
    Typedef,
    Volatile,
    Const,
    Restrict,
    Func,
    FuncProto,
    Var,
    Datasec,
    Float,
    DeclTag,
    TypeTag,
    Enum64,
}

impl Kind {
    /// The largest kind value this reader knows.
    pub const MAX: u8 = 19;

    /// The kind for a raw kind value, if known.
    pub fn from_u8(v: u8) -> Option<Kind> {
        Some(match v {
            0 => Kind::Void,
            1 => Kind::Int,
            2 => Kind::Ptr,
            3 => Kind::Array,
            4 => Kind::Struct,
            5 => Kind::Union,
            6 => Kind::Enum,
            7 => Kind::Fwd,
            8 => Kind::Typedef,
            9 => Kind::Volatile,
            10 => Kind::Const,
            11 => Kind::Restrict,
            12 => Kind::Func,
            13 => Kind::FuncProto,
            14 => Kind::Var,
            15 => Kind::Datasec,
            16 => Kind::Float,
            17 => Kind::DeclTag,
            18 => Kind::TypeTag,
            19 => Kind::Enum64,
            _ => return None,
        })
    }

    /// Upper-case name as bpftool and the kernel print it (`STRUCT`, `FUNC_PROTO`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Void => "UNKN",
            Kind::Int => "INT",
            Kind::Ptr => "PTR",
            Kind::Array => "ARRAY",
            Kind::Struct => "STRUCT",
            Kind::Union => "UNION",
            Kind::Enum => "ENUM",
            Kind::Fwd => "FWD",
            Kind::Typedef => "TYPEDEF",
            Kind::Volatile => "VOLATILE",
            Kind::Const => "CONST",
            Kind::Restrict => "RESTRICT",
            Kind::Func => "FUNC",
            Kind::FuncProto => "FUNC_PROTO",
            Kind::Var => "VAR",
            Kind::Datasec => "DATASEC",
            Kind::Float => "FLOAT",
            Kind::DeclTag => "DECL_TAG",
            Kind::TypeTag => "TYPE_TAG",
            Kind::Enum64 => "ENUM64",
        }
    }

    /// Size of the kind-specific data following the 12-byte common header, for `vlen` entries.
    pub(crate) fn extra_size(self, vlen: usize) -> usize {
        match self {
            Kind::Int | Kind::Var | Kind::DeclTag => 4,
            Kind::Array => 12,
            Kind::Struct | Kind::Union | Kind::Datasec | Kind::Enum64 => 12 * vlen,
            Kind::Enum | Kind::FuncProto => 8 * vlen,
            _ => 0,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// INT encoding bits (`BTF_INT_SIGNED`, `BTF_INT_CHAR`, `BTF_INT_BOOL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct IntEncoding(pub u8);

impl IntEncoding {
    pub const SIGNED: u8 = 1;
    pub const CHAR: u8 = 2;
    pub const BOOL: u8 = 4;

    pub fn is_signed(self) -> bool {
        self.0 & Self::SIGNED != 0
    }
    pub fn is_char(self) -> bool {
        self.0 & Self::CHAR != 0
    }
    pub fn is_bool(self) -> bool {
        self.0 & Self::BOOL != 0
    }
}

/// Linkage of a FUNC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FuncLinkage {
    Static,
    Global,
    Extern,
}

impl FuncLinkage {
    pub fn from_raw(v: u32) -> Option<FuncLinkage> {
        match v {
            0 => Some(FuncLinkage::Static),
            1 => Some(FuncLinkage::Global),
            2 => Some(FuncLinkage::Extern),
            _ => None,
        }
    }
    pub fn as_raw(self) -> u32 {
        self as u32
    }
    /// Lower-case name (`static`, `global`, `extern`).
    pub fn name(self) -> &'static str {
        match self {
            FuncLinkage::Static => "static",
            FuncLinkage::Global => "global",
            FuncLinkage::Extern => "extern",
        }
    }
}

/// Linkage of a VAR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VarLinkage {
    Static,
    Global,
    Extern,
}

impl VarLinkage {
    pub fn from_raw(v: u32) -> Option<VarLinkage> {
        match v {
            0 => Some(VarLinkage::Static),
            1 => Some(VarLinkage::Global),
            2 => Some(VarLinkage::Extern),
            _ => None,
        }
    }
    pub fn as_raw(self) -> u32 {
        self as u32
    }
    /// Lower-case name (`static`, `global`, `extern`).
    pub fn name(self) -> &'static str {
        match self {
            VarLinkage::Static => "static",
            VarLinkage::Global => "global",
            VarLinkage::Extern => "extern",
        }
    }
}

/// One decoded BTF type. Cheap to copy; borrows the BTF bytes.
#[derive(Debug, Clone, Copy)]
pub struct Type<'a> {
    pub id: crate::TypeId,
    /// The name (empty for anonymous types).
    pub name: &'a str,
    pub kind: TypeKind<'a>,
    pub(crate) name_off: u32,
    pub(crate) info: u32,
    pub(crate) size_or_type: u32,
}

/// Kind-specific contents of a [`Type`].
#[derive(Debug, Clone, Copy)]
pub enum TypeKind<'a> {
    Void,
    Int {
        size: u32,
        encoding: IntEncoding,
        offset: u8,
        bits: u8,
    },
    Ptr {
        target: TypeId,
    },
    Array {
        elem: TypeId,
        index: TypeId,
        len: u32,
    },
    Struct {
        size: u32,
        members: Members<'a>,
    },
    Union {
        size: u32,
        members: Members<'a>,
    },
    Enum {
        size: u32,
        signed: bool,
        values: EnumValues<'a>,
    },
    Enum64 {
        size: u32,
        signed: bool,
        values: Enum64Values<'a>,
    },
    Fwd {
        union: bool,
    },
    Typedef {
        target: TypeId,
    },
    Volatile {
        target: TypeId,
    },
    Const {
        target: TypeId,
    },
    Restrict {
        target: TypeId,
    },
    Func {
        proto: TypeId,
        linkage: FuncLinkage,
    },
    FuncProto {
        ret: TypeId,
        params: Params<'a>,
    },
    Var {
        ty: TypeId,
        linkage: VarLinkage,
    },
    Datasec {
        size: u32,
        vars: VarSecInfos<'a>,
    },
    Float {
        size: u32,
    },
    DeclTag {
        target: TypeId,
        component_idx: i32,
    },
    TypeTag {
        target: TypeId,
    },
}

impl<'a> Type<'a> {
    /// The `void` type (id 0).
    pub const VOID: Type<'static> = Type {
        id: 0,
        name: "",
        kind: TypeKind::Void,
        name_off: 0,
        info: 0,
        size_or_type: 0,
    };

    /// The kind as a plain enum.
    pub fn kind_id(&self) -> Kind {
        match self.kind {
            TypeKind::Void => Kind::Void,
            TypeKind::Int { .. } => Kind::Int,
            TypeKind::Ptr { .. } => Kind::Ptr,
            TypeKind::Array { .. } => Kind::Array,
            TypeKind::Struct { .. } => Kind::Struct,
            TypeKind::Union { .. } => Kind::Union,
            TypeKind::Enum { .. } => Kind::Enum,
            TypeKind::Enum64 { .. } => Kind::Enum64,
            TypeKind::Fwd { .. } => Kind::Fwd,
            TypeKind::Typedef { .. } => Kind::Typedef,
            TypeKind::Volatile { .. } => Kind::Volatile,
            TypeKind::Const { .. } => Kind::Const,
            TypeKind::Restrict { .. } => Kind::Restrict,
            TypeKind::Func { .. } => Kind::Func,
            TypeKind::FuncProto { .. } => Kind::FuncProto,
            TypeKind::Var { .. } => Kind::Var,
            TypeKind::Datasec { .. } => Kind::Datasec,
            TypeKind::Float { .. } => Kind::Float,
            TypeKind::DeclTag { .. } => Kind::DeclTag,
            TypeKind::TypeTag { .. } => Kind::TypeTag,
        }
    }

    /// The `kind_flag` bit (bitfield members, enum signedness, union forward, attribute tag).
    pub fn kind_flag(&self) -> bool {
        self.info >> 31 != 0
    }

    /// The `vlen` field (number of members/values/params/vars, or FUNC linkage).
    pub fn vlen(&self) -> u16 {
        (self.info & 0xffff) as u16
    }

    /// Raw `name_off`.
    pub fn name_off(&self) -> u32 {
        self.name_off
    }

    /// Raw `info` word.
    pub fn info(&self) -> u32 {
        self.info
    }

    /// Raw `size`/`type` union word.
    pub fn size_or_type(&self) -> u32 {
        self.size_or_type
    }

    /// The single type this type refers to, for PTR, TYPEDEF, modifiers, FUNC, VAR, tags.
    pub fn target(&self) -> Option<TypeId> {
        match self.kind {
            TypeKind::Ptr { target }
            | TypeKind::Typedef { target }
            | TypeKind::Volatile { target }
            | TypeKind::Const { target }
            | TypeKind::Restrict { target }
            | TypeKind::TypeTag { target }
            | TypeKind::DeclTag { target, .. } => Some(target),
            TypeKind::Func { proto, .. } => Some(proto),
            TypeKind::Var { ty, .. } => Some(ty),
            TypeKind::Array { elem, .. } => Some(elem),
            _ => None,
        }
    }

    /// STRUCT/UNION members, if this is one.
    pub fn members(&self) -> Option<Members<'a>> {
        match self.kind {
            TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => Some(members),
            _ => None,
        }
    }

    /// True for typedef, const, volatile, restrict and type_tag.
    pub fn is_mod_or_typedef(&self) -> bool {
        matches!(
            self.kind,
            TypeKind::Typedef { .. }
                | TypeKind::Const { .. }
                | TypeKind::Volatile { .. }
                | TypeKind::Restrict { .. }
                | TypeKind::TypeTag { .. }
        )
    }
}

/// A STRUCT/UNION member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member<'a> {
    pub name: &'a str,
    pub ty: TypeId,
    /// Offset from the start of the struct in bits.
    pub bit_offset: u32,
    /// Bitfield width from the member record (kind_flag set); 0 otherwise.
    pub bitfield_size: u32,
}

/// An ENUM or ENUM64 enumerator. `value` is sign- or zero-extended as the enum's signedness says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnumValue<'a> {
    pub name: &'a str,
    pub value: i128,
}

/// A FUNC_PROTO parameter (`ty == 0` with an empty name marks `...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    pub name: &'a str,
    pub ty: TypeId,
}

/// A DATASEC entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarSecInfo {
    pub ty: TypeId,
    pub offset: u32,
    pub size: u32,
}

macro_rules! view {
    ($(#[$m:meta])* $name:ident, $item:ty, $rec:expr, $iter:ident, |$s:ident, $r:ident| $decode:expr) => {
        $(#[$m])*
        #[derive(Clone, Copy)]
        pub struct $name<'a> {
            pub(crate) raw: &'a [u8],
            #[allow(dead_code)]
            pub(crate) strs: StrTab<'a>,
            pub(crate) endian: Endian,
            #[allow(dead_code)]
            pub(crate) flag: bool,
        }

        impl<'a> $name<'a> {
            const REC: usize = $rec;

            /// Number of entries.
            pub fn len(&self) -> usize {
                self.raw.len() / Self::REC
            }

            /// True if there are no entries.
            pub fn is_empty(&self) -> bool {
                self.raw.len() < Self::REC
            }

            /// Entry `i`, if in range.
            pub fn get(&self, i: usize) -> Option<$item> {
                let start = i.checked_mul(Self::REC)?;
                let $r = self.raw.get(start..start.checked_add(Self::REC)?)?;
                let $s = self;
                Some($decode)
            }

            /// Iterates over the entries in order.
            pub fn iter(&self) -> $iter<'a> {
                $iter { view: *self, next: 0 }
            }
        }

        impl fmt::Debug for $name<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.iter()).finish()
            }
        }

        /// Iterator over a view's entries.
        #[derive(Clone)]
        pub struct $iter<'a> {
            view: $name<'a>,
            next: usize,
        }

        impl<'a> Iterator for $iter<'a> {
            type Item = $item;
            #[inline]
            fn next(&mut self) -> Option<$item> {
                let item = self.view.get(self.next)?;
                self.next += 1;
                Some(item)
            }
            fn size_hint(&self) -> (usize, Option<usize>) {
                let n = self.view.len().saturating_sub(self.next);
                (n, Some(n))
            }
        }

        impl ExactSizeIterator for $iter<'_> {}

        impl<'a> IntoIterator for $name<'a> {
            type Item = $item;
            type IntoIter = $iter<'a>;
            fn into_iter(self) -> $iter<'a> {
                self.iter()
            }
        }
    };
}

#[inline]
fn w(r: &[u8], i: usize, e: Endian) -> u32 {
    u32_at(r, i * 4, e)
}

view!(
    /// STRUCT/UNION members.
    Members, Member<'a>, 12, MembersIter, |s, r| {
        let off = w(r, 2, s.endian);
        let (bit_offset, bitfield_size) = if s.flag { (off & 0x00ff_ffff, off >> 24) } else { (off, 0) };
        Member { name: s.strs.name(w(r, 0, s.endian)), ty: w(r, 1, s.endian), bit_offset, bitfield_size }
    }
);

view!(
    /// ENUM enumerators (32-bit values).
    EnumValues, EnumValue<'a>, 8, EnumValuesIter, |s, r| {
        let v = w(r, 1, s.endian);
        let value = if s.flag { i128::from(v as i32) } else { i128::from(v) };
        EnumValue { name: s.strs.name(w(r, 0, s.endian)), value }
    }
);

view!(
    /// ENUM64 enumerators.
    Enum64Values, EnumValue<'a>, 12, Enum64ValuesIter, |s, r| {
        let v = (u64::from(w(r, 2, s.endian)) << 32) | u64::from(w(r, 1, s.endian));
        let value = if s.flag { i128::from(v as i64) } else { i128::from(v) };
        EnumValue { name: s.strs.name(w(r, 0, s.endian)), value }
    }
);

view!(
    /// FUNC_PROTO parameters.
    Params, Param<'a>, 8, ParamsIter, |s, r| {
        Param { name: s.strs.name(w(r, 0, s.endian)), ty: w(r, 1, s.endian) }
    }
);

view!(
    /// DATASEC variables.
    VarSecInfos, VarSecInfo, 12, VarSecInfosIter, |s, r| {
        VarSecInfo { ty: w(r, 0, s.endian), offset: w(r, 1, s.endian), size: w(r, 2, s.endian) }
    }
);

impl<'a> Members<'a> {
    /// Raw `name_off` of member `i` (for writers that re-intern strings).
    pub fn name_off(&self, i: usize) -> Option<u32> {
        read_u32(self.raw, i.checked_mul(12)?, self.endian)
    }
}
