//! `BtfBuilder`: build little-endian BTF from scratch or from parsed types.

use std::collections::HashMap;

use crate::error::BtfError;
use crate::types::{FuncLinkage, IntEncoding, Kind, Member, Type, TypeId, TypeKind, VarLinkage};
use crate::{Btf, HEADER_LEN};

/// Builds a BTF blob type by type. Strings are interned (each distinct string stored once).
///
/// Ids are assigned in the order types are added, starting at 1. References to ids that
/// have not been added yet are allowed (BTF permits forward references); [`finish`](Self::finish)
/// checks that every reference is in range.
#[derive(Debug, Clone)]
pub struct BtfBuilder {
    types: Vec<u8>,
    strs: Vec<u8>,
    interned: HashMap<String, u32>,
    count: u32,
    max_ref: u32,
}

impl Default for BtfBuilder {
    fn default() -> Self {
        Self::new()
    }
}

fn werr(problem: impl Into<String>) -> BtfError {
    BtfError::Writer {
        problem: problem.into(),
    }
}

/// Converts enumerator values up front, so a value that does not fit leaves the builder as it was.
fn enum_values<'v>(
    name: &str,
    kind: &str,
    values: &[(&'v str, i128)],
    conv: impl Fn(i128) -> Option<u64>,
) -> Result<Vec<(&'v str, u64)>, BtfError> {
    values
        .iter()
        .map(|&(n, v)| {
            conv(v)
                .map(|raw| (n, raw))
                .ok_or_else(|| werr(format!("{kind} '{name}': value {n}={v} does not fit")))
        })
        .collect()
}

impl BtfBuilder {
    /// An empty builder (only the empty string at offset 0).
    pub fn new() -> BtfBuilder {
        let mut interned = HashMap::new();
        interned.insert(String::new(), 0);
        BtfBuilder {
            types: Vec::new(),
            strs: vec![0],
            interned,
            count: 0,
            max_ref: 0,
        }
    }

    /// A builder whose string table starts as a copy of `btf`'s (so re-adding `btf`'s types
    /// keeps every name offset) and that holds no types yet. Base BTF only.
    pub fn with_strings_of(btf: &Btf<'_>) -> Result<BtfBuilder, BtfError> {
        if btf.base().is_some() {
            return Err(werr("split BTF cannot seed a stand-alone string table"));
        }
        let bytes = btf.string_section();
        let mut b = BtfBuilder::new();
        b.strs = bytes.to_vec();
        b.interned.clear();
        let mut off = 0usize;
        for s in bytes.split(|&c| c == 0) {
            if off >= bytes.len() {
                break;
            }
            if let Ok(s) = std::str::from_utf8(s) {
                b.interned.entry(s.to_owned()).or_insert(off as u32);
            }
            off += s.len() + 1;
        }
        Ok(b)
    }

    /// A builder holding a copy of every type of `btf` (base BTF only), ready for more.
    pub fn from_btf(btf: &Btf<'_>) -> Result<BtfBuilder, BtfError> {
        let mut b = Self::with_strings_of(btf)?;
        for t in btf.types() {
            b.add_type(&t)?;
        }
        Ok(b)
    }

    /// Number of types added (the next id is `len() + 1`).
    pub fn len(&self) -> u32 {
        self.count
    }

    /// True if no type was added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Interns `s` and returns its offset.
    pub fn add_str(&mut self, s: &str) -> Result<u32, BtfError> {
        if let Some(&off) = self.interned.get(s) {
            return Ok(off);
        }
        if s.as_bytes().contains(&0) {
            return Err(werr(format!("string {s:?} contains a NUL byte")));
        }
        let off = u32::try_from(self.strs.len())
            .ok()
            .filter(|&o| o <= 0x7fff_ffff)
            .ok_or_else(|| werr("string section exceeds the largest string offset"))?;
        self.strs.extend_from_slice(s.as_bytes());
        self.strs.push(0);
        self.interned.insert(s.to_owned(), off);
        Ok(off)
    }

    fn push_u32(&mut self, v: u32) {
        self.types.extend_from_slice(&v.to_le_bytes());
    }

    fn refer(&mut self, id: TypeId) -> u32 {
        self.max_ref = self.max_ref.max(id);
        id
    }

    fn head(
        &mut self,
        name: &str,
        kind: Kind,
        vlen: usize,
        kflag: bool,
        size_or_type: u32,
    ) -> Result<TypeId, BtfError> {
        let vlen = u16::try_from(vlen)
            .map_err(|_| werr(format!("{kind} '{name}': {vlen} entries exceed 65535")))?;
        let name_off = self.add_str(name)?;
        let info = (u32::from(kflag) << 31) | (u32::from(kind as u8) << 24) | u32::from(vlen);
        self.push_u32(name_off);
        self.push_u32(info);
        self.push_u32(size_or_type);
        self.count = self
            .count
            .checked_add(1)
            .ok_or_else(|| werr("too many types"))?;
        Ok(self.count)
    }

    /// INT. `bits` must fit in `size` bytes after `offset`.
    pub fn add_int(
        &mut self,
        name: &str,
        size: u32,
        encoding: IntEncoding,
        offset: u8,
        bits: u8,
    ) -> Result<TypeId, BtfError> {
        if bits > 128 || u64::from(offset) + u64::from(bits) > u64::from(size) * 8 {
            return Err(werr(format!(
                "INT '{name}': {bits} bits at offset {offset} do not fit in {size} bytes"
            )));
        }
        let id = self.head(name, Kind::Int, 0, false, size)?;
        self.push_u32(
            (u32::from(encoding.0 & 0x0f) << 24) | (u32::from(offset) << 16) | u32::from(bits),
        );
        Ok(id)
    }

    /// PTR, TYPEDEF, VOLATILE, CONST, RESTRICT or TYPE_TAG: a single reference.
    pub fn add_ref(&mut self, kind: Kind, name: &str, target: TypeId) -> Result<TypeId, BtfError> {
        if !matches!(
            kind,
            Kind::Ptr
                | Kind::Typedef
                | Kind::Volatile
                | Kind::Const
                | Kind::Restrict
                | Kind::TypeTag
        ) {
            return Err(werr(format!("{kind} is not a reference kind")));
        }
        let t = self.refer(target);
        self.head(name, kind, 0, false, t)
    }

    /// ARRAY of `len` elements of `elem`, indexed by `index`.
    pub fn add_array(&mut self, elem: TypeId, index: TypeId, len: u32) -> Result<TypeId, BtfError> {
        let id = self.head("", Kind::Array, 0, false, 0)?;
        let (e, i) = (self.refer(elem), self.refer(index));
        self.push_u32(e);
        self.push_u32(i);
        self.push_u32(len);
        Ok(id)
    }

    /// STRUCT (or UNION with `union = true`). `kind_flag` is set when any member is a bitfield.
    pub fn add_struct(
        &mut self,
        union: bool,
        name: &str,
        size: u32,
        members: &[Member<'_>],
    ) -> Result<TypeId, BtfError> {
        let kflag = members.iter().any(|m| m.bitfield_size != 0);
        self.composite(union, name, size, members.iter().copied(), kflag)
    }

    fn composite<'m>(
        &mut self,
        union: bool,
        name: &str,
        size: u32,
        members: impl ExactSizeIterator<Item = Member<'m>>,
        kflag: bool,
    ) -> Result<TypeId, BtfError> {
        let kind = if union { Kind::Union } else { Kind::Struct };
        // Encode first so a bad member leaves the builder unchanged.
        let mut recs = Vec::with_capacity(members.len() * 3);
        for m in members {
            let off = if kflag {
                if m.bitfield_size > 0xff || m.bit_offset > 0x00ff_ffff {
                    return Err(werr(format!(
                        "{kind} '{name}': member '{}' bitfield {}@{} does not fit the encoding",
                        m.name, m.bitfield_size, m.bit_offset
                    )));
                }
                (m.bitfield_size << 24) | m.bit_offset
            } else if m.bitfield_size != 0 {
                return Err(werr(format!(
                    "{kind} '{name}': bitfield member '{}' needs kind_flag",
                    m.name
                )));
            } else {
                m.bit_offset
            };
            recs.push((m.name, m.ty, off));
        }
        let id = self.head(name, kind, recs.len(), kflag, size)?;
        for (n, ty, off) in recs {
            let n = self.add_str(n)?;
            let t = self.refer(ty);
            self.push_u32(n);
            self.push_u32(t);
            self.push_u32(off);
        }
        Ok(id)
    }

    /// ENUM with 32-bit values (`signed` sets kind_flag). Values must fit 32 bits.
    pub fn add_enum(
        &mut self,
        name: &str,
        size: u32,
        signed: bool,
        values: &[(&str, i128)],
    ) -> Result<TypeId, BtfError> {
        let raws = enum_values(name, "ENUM", values, |v| {
            if signed {
                i32::try_from(v).map(|x| u64::from(x as u32)).ok()
            } else {
                u32::try_from(v).map(u64::from).ok()
            }
        })?;
        let id = self.head(name, Kind::Enum, raws.len(), signed, size)?;
        for (n, raw) in raws {
            let no = self.add_str(n)?;
            self.push_u32(no);
            self.push_u32(raw as u32);
        }
        Ok(id)
    }

    /// ENUM64 (`signed` sets kind_flag).
    pub fn add_enum64(
        &mut self,
        name: &str,
        size: u32,
        signed: bool,
        values: &[(&str, i128)],
    ) -> Result<TypeId, BtfError> {
        let raws = enum_values(name, "ENUM64", values, |v| {
            if signed {
                i64::try_from(v).map(|x| x as u64).ok()
            } else {
                u64::try_from(v).ok()
            }
        })?;
        let id = self.head(name, Kind::Enum64, raws.len(), signed, size)?;
        for (n, raw) in raws {
            let no = self.add_str(n)?;
            self.push_u32(no);
            self.push_u32(raw as u32);
            self.push_u32((raw >> 32) as u32);
        }
        Ok(id)
    }

    /// FWD declaration of a struct or union.
    pub fn add_fwd(&mut self, name: &str, union: bool) -> Result<TypeId, BtfError> {
        self.head(name, Kind::Fwd, 0, union, 0)
    }

    /// FUNC with prototype `proto`.
    pub fn add_func(
        &mut self,
        name: &str,
        proto: TypeId,
        linkage: FuncLinkage,
    ) -> Result<TypeId, BtfError> {
        let p = self.refer(proto);
        self.head(name, Kind::Func, linkage.as_raw() as usize, false, p)
    }

    /// FUNC_PROTO returning `ret` with `params` (`(name, type)`; type 0 with no name is `...`).
    pub fn add_func_proto(
        &mut self,
        ret: TypeId,
        params: &[(&str, TypeId)],
    ) -> Result<TypeId, BtfError> {
        let r = self.refer(ret);
        let id = self.head("", Kind::FuncProto, params.len(), false, r)?;
        for &(n, t) in params {
            let no = self.add_str(n)?;
            let t = self.refer(t);
            self.push_u32(no);
            self.push_u32(t);
        }
        Ok(id)
    }

    /// VAR of type `ty`.
    pub fn add_var(
        &mut self,
        name: &str,
        ty: TypeId,
        linkage: VarLinkage,
    ) -> Result<TypeId, BtfError> {
        let t = self.refer(ty);
        let id = self.head(name, Kind::Var, 0, false, t)?;
        self.push_u32(linkage.as_raw());
        Ok(id)
    }

    /// DATASEC of `size` bytes with `(var type, offset, size)` entries.
    pub fn add_datasec(
        &mut self,
        name: &str,
        size: u32,
        vars: &[(TypeId, u32, u32)],
    ) -> Result<TypeId, BtfError> {
        let id = self.head(name, Kind::Datasec, vars.len(), false, size)?;
        for &(t, o, s) in vars {
            let t = self.refer(t);
            self.push_u32(t);
            self.push_u32(o);
            self.push_u32(s);
        }
        Ok(id)
    }

    /// FLOAT of `size` bytes.
    pub fn add_float(&mut self, name: &str, size: u32) -> Result<TypeId, BtfError> {
        self.head(name, Kind::Float, 0, false, size)
    }

    /// DECL_TAG `name` on `target` (component -1 for the type itself); `attr` sets kind_flag.
    pub fn add_decl_tag(
        &mut self,
        name: &str,
        target: TypeId,
        component_idx: i32,
        attr: bool,
    ) -> Result<TypeId, BtfError> {
        let t = self.refer(target);
        let id = self.head(name, Kind::DeclTag, 0, attr, t)?;
        self.push_u32(component_idx as u32);
        Ok(id)
    }

    /// Appends a copy of a parsed type (names re-interned, kind_flag and raw fields kept).
    pub fn add_type(&mut self, t: &Type<'_>) -> Result<TypeId, BtfError> {
        let kflag = t.kind_flag();
        match t.kind {
            TypeKind::Void => Err(werr("void (id 0) cannot be added")),
            TypeKind::Int {
                size,
                encoding,
                offset,
                bits,
            } => self.add_int(t.name, size, encoding, offset, bits),
            TypeKind::Ptr { target } => self.add_ref(Kind::Ptr, t.name, target),
            TypeKind::Typedef { target } => self.add_ref(Kind::Typedef, t.name, target),
            TypeKind::Volatile { target } => self.add_ref(Kind::Volatile, t.name, target),
            TypeKind::Const { target } => self.add_ref(Kind::Const, t.name, target),
            TypeKind::Restrict { target } => self.add_ref(Kind::Restrict, t.name, target),
            TypeKind::TypeTag { target } => {
                let tt = self.refer(target);
                self.head(t.name, Kind::TypeTag, 0, kflag, tt)
            }
            TypeKind::Array { elem, index, len } => {
                let id = self.head(t.name, Kind::Array, 0, kflag, t.size_or_type())?;
                let (e, i) = (self.refer(elem), self.refer(index));
                self.push_u32(e);
                self.push_u32(i);
                self.push_u32(len);
                Ok(id)
            }
            TypeKind::Struct { size, members } => {
                self.composite(false, t.name, size, members.iter(), kflag)
            }
            TypeKind::Union { size, members } => {
                self.composite(true, t.name, size, members.iter(), kflag)
            }
            TypeKind::Enum {
                size,
                signed,
                values,
            } => {
                let v: Vec<(&str, i128)> = values.iter().map(|v| (v.name, v.value)).collect();
                self.add_enum(t.name, size, signed, &v)
            }
            TypeKind::Enum64 {
                size,
                signed,
                values,
            } => {
                let v: Vec<(&str, i128)> = values.iter().map(|v| (v.name, v.value)).collect();
                self.add_enum64(t.name, size, signed, &v)
            }
            TypeKind::Fwd { union } => self.add_fwd(t.name, union),
            TypeKind::Func { proto, linkage } => self.add_func(t.name, proto, linkage),
            TypeKind::FuncProto { ret, params } => {
                let p: Vec<(&str, TypeId)> = params.iter().map(|p| (p.name, p.ty)).collect();
                let r = self.refer(ret);
                let id = self.head(t.name, Kind::FuncProto, p.len(), kflag, r)?;
                for (n, ty) in p {
                    let no = self.add_str(n)?;
                    let ty = self.refer(ty);
                    self.push_u32(no);
                    self.push_u32(ty);
                }
                Ok(id)
            }
            TypeKind::Var { ty, linkage } => self.add_var(t.name, ty, linkage),
            TypeKind::Datasec { size, vars } => {
                let v: Vec<(TypeId, u32, u32)> =
                    vars.iter().map(|v| (v.ty, v.offset, v.size)).collect();
                self.add_datasec(t.name, size, &v)
            }
            TypeKind::Float { size } => self.add_float(t.name, size),
            TypeKind::DeclTag {
                target,
                component_idx,
            } => self.add_decl_tag(t.name, target, component_idx, kflag),
        }
    }

    /// The finished blob: a 24-byte header, the type section, then the string section.
    pub fn finish(&self) -> Result<Vec<u8>, BtfError> {
        if self.max_ref > self.count {
            return Err(werr(format!(
                "a type refers to id {} but only {} types were added",
                self.max_ref, self.count
            )));
        }
        let type_len =
            u32::try_from(self.types.len()).map_err(|_| werr("type section too large"))?;
        let str_len =
            u32::try_from(self.strs.len()).map_err(|_| werr("string section too large"))?;
        let mut out = Vec::with_capacity(HEADER_LEN as usize + self.types.len() + self.strs.len());
        out.extend_from_slice(&crate::BTF_MAGIC.to_le_bytes());
        out.push(1);
        out.push(0);
        for v in [HEADER_LEN, 0, type_len, type_len, str_len] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strs);
        Ok(out)
    }
}
