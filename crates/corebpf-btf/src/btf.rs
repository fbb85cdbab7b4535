//! The BTF reader: header and section validation, the id → record table, queries.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use crate::error::{BtfError, RefSite, TypeProblem};
use crate::strings::StrTab;
use crate::types::{
    read_u32, u32_at, Endian, Enum64Values, EnumValues, FuncLinkage, IntEncoding, Kind, Members,
    Params, Type, TypeId, TypeKind, VarLinkage, VarSecInfos,
};

/// BTF magic as read in the blob's own byte order.
pub const BTF_MAGIC: u16 = 0xeb9f;
/// Size of the fixed BTF header.
pub const HEADER_LEN: u32 = 24;
/// Largest string offset the format allows.
const MAX_STR_OFFSET: u64 = 0x7fff_ffff;
/// Name lookups that scan before the hash index is built.
const SCANS_BEFORE_INDEX: u32 = 4;
/// Nesting limit for recursive queries (alignment of nested structs).
const MAX_NESTING: u32 = 64;

/// Byte order as a type parameter, so the validation walk compiles once per order.
trait Order {
    fn u32(b: [u8; 4]) -> u32;
}
struct Le;
struct Be;
impl Order for Le {
    #[inline(always)]
    fn u32(b: [u8; 4]) -> u32 {
        u32::from_le_bytes(b)
    }
}
impl Order for Be {
    #[inline(always)]
    fn u32(b: [u8; 4]) -> u32 {
        u32::from_be_bytes(b)
    }
}

#[inline(always)]
fn rd<O: Order>(s: &[u8], i: usize) -> u32 {
    match s.get(i..i + 4) {
        Some(&[a, b, c, d]) => O::u32([a, b, c, d]),
        _ => 0,
    }
}

/// Kinds 1..=19 (void, 0, never appears as a record).
const VALID_KINDS: u32 = ((1 << 20) - 1) & !1;
/// Bytes after the common header that do not depend on vlen, per raw kind.
const FIXED_EXTRA: [u8; 32] = {
    let mut t = [0u8; 32];
    t[Kind::Int as usize] = 4;
    t[Kind::Array as usize] = 12;
    t[Kind::Var as usize] = 4;
    t[Kind::DeclTag as usize] = 4;
    t
};
/// Bytes per vlen entry, per raw kind.
const PER_VLEN: [u8; 32] = {
    let mut t = [0u8; 32];
    t[Kind::Struct as usize] = 12;
    t[Kind::Union as usize] = 12;
    t[Kind::Enum as usize] = 8;
    t[Kind::FuncProto as usize] = 8;
    t[Kind::Datasec as usize] = 12;
    t[Kind::Enum64 as usize] = 12;
    t
};

/// What the validation walk saw.
struct WalkSummary {
    max_ref: u32,
    max_name: u32,
}

/// The validation walk over a type section (see [`Btf::index_and_validate`]).
fn walk<O: Order>(
    types: &[u8],
    first_id: TypeId,
    strs: StrTab<'_>,
) -> Result<(Vec<u32>, WalkSummary), BtfError> {
    // A local vector: its length and capacity stay in registers in the loop.
    let mut offsets = Vec::with_capacity(types.len() / 24 + 16);
    let mut off = 0usize;
    let mut max_ref = 0u32;
    let mut max_name = 0u32;
    let mut id = first_id;
    while off < types.len() {
        let have = types.len() - off;
        let Some(head) = types.get(off..off + 12) else {
            return Err(BtfError::TypeTruncated {
                id,
                offset: off,
                kind: "type",
                need: 12,
                have,
            });
        };
        let name_off = rd::<O>(head, 0);
        let info = rd::<O>(head, 4);
        let st = rd::<O>(head, 8);
        let raw_kind = ((info >> 24) & 0x1f) as u8;
        // One table lookup gives validity and record size (no per-kind branches here).
        let k = usize::from(raw_kind);
        if VALID_KINDS & (1 << k) == 0 {
            return Err(BtfError::BadKind {
                id,
                offset: off,
                kind: raw_kind,
            });
        }
        let kind = Kind::from_u8(raw_kind).unwrap_or(Kind::Void);
        let vlen = (info & 0xffff) as usize;
        let need = 12 + usize::from(FIXED_EXTRA[k]) + usize::from(PER_VLEN[k]) * vlen;
        let Some(extra) = types.get(off + 12..off + need) else {
            return Err(BtfError::TypeTruncated {
                id,
                offset: off,
                kind: kind.name(),
                need,
                have,
            });
        };
        let bad = |problem: TypeProblem| BtfError::Type {
            id,
            kind: kind.name(),
            name: strs.get(name_off).unwrap_or("(invalid)").to_owned(),
            problem,
        };
        max_name = max_name.max(name_off);
        match kind {
            Kind::Int => {
                let v = rd::<O>(extra, 0);
                let (ioff, bits) = (((v >> 16) & 0xff) as u8, (v & 0xff) as u8);
                if bits > 128 || u64::from(ioff) + u64::from(bits) > u64::from(st) * 8 {
                    return Err(bad(TypeProblem::BadInt {
                        size: st,
                        offset: ioff,
                        bits,
                    }));
                }
            }
            Kind::Ptr
            | Kind::Typedef
            | Kind::Volatile
            | Kind::Const
            | Kind::Restrict
            | Kind::TypeTag
            | Kind::DeclTag => max_ref = max_ref.max(st),
            Kind::Func => {
                if vlen > 2 {
                    return Err(bad(TypeProblem::BadLinkage {
                        linkage: vlen as u32,
                    }));
                }
                max_ref = max_ref.max(st);
            }
            Kind::Var => {
                let l = rd::<O>(extra, 0);
                if l > 2 {
                    return Err(bad(TypeProblem::BadLinkage { linkage: l }));
                }
                max_ref = max_ref.max(st);
            }
            Kind::Array => max_ref = max_ref.max(rd::<O>(extra, 0)).max(rd::<O>(extra, 4)),
            Kind::Struct | Kind::Union => {
                for m in extra.chunks_exact(12) {
                    max_name = max_name.max(rd::<O>(m, 0));
                    max_ref = max_ref.max(rd::<O>(m, 4));
                }
            }
            Kind::Enum => {
                for v in extra.chunks_exact(8) {
                    max_name = max_name.max(rd::<O>(v, 0));
                }
            }
            Kind::Enum64 => {
                for v in extra.chunks_exact(12) {
                    max_name = max_name.max(rd::<O>(v, 0));
                }
            }
            Kind::FuncProto => {
                max_ref = max_ref.max(st);
                for p in extra.chunks_exact(8) {
                    max_name = max_name.max(rd::<O>(p, 0));
                    max_ref = max_ref.max(rd::<O>(p, 4));
                }
            }
            Kind::Datasec => {
                for v in extra.chunks_exact(12) {
                    max_ref = max_ref.max(rd::<O>(v, 0));
                }
            }
            Kind::Fwd | Kind::Float | Kind::Void => {}
        }
        offsets.push(off as u32);
        off += need;
        id = id.checked_add(1).ok_or(BtfError::Split {
            problem: "type id space exhausted",
        })?;
    }
    Ok((offsets, WalkSummary { max_ref, max_name }))
}

/// The fixed BTF header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub magic: u16,
    pub version: u8,
    pub flags: u8,
    pub hdr_len: u32,
    pub type_off: u32,
    pub type_len: u32,
    pub str_off: u32,
    pub str_len: u32,
}

/// A parsed BTF blob borrowing its bytes.
///
/// `parse` checks the header, the section bounds, every type record's size and kind, every
/// name offset and every type reference, and builds one table of record offsets. Types are
/// decoded from the bytes when asked for. Reference loops are detected by the queries that
/// follow references (they stop with [`TypeProblem::Loop`]).
pub struct Btf<'a> {
    data: &'a [u8],
    endian: Endian,
    header: Header,
    types: &'a [u8],
    strs: StrTab<'a>,
    /// Offset in `types` of each of this blob's own types, in id order from `first_id`;
    /// built (and the types validated) on first need, or by `parse` right away.
    offsets: OnceLock<Result<Vec<u32>, BtfError>>,
    first_id: TypeId,
    base: Option<&'a Btf<'a>>,
    index: OnceLock<NameIndex<'a>>,
    scans: AtomicU32,
}

impl std::fmt::Debug for Btf<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Btf")
            .field("endian", &self.endian)
            .field("first_id", &self.first_id)
            .field("len", &self.len())
            .field("split", &self.base.is_some())
            .finish()
    }
}

fn truncated(what: &'static str, offset: usize, need: usize, have: usize) -> BtfError {
    BtfError::Truncated {
        what,
        offset,
        need,
        have,
    }
}

/// Reads the magic and returns the byte order it implies.
pub(crate) fn read_magic(data: &[u8], what: &'static str) -> Result<Endian, BtfError> {
    let b = data
        .get(..2)
        .ok_or_else(|| truncated(what, 0, 2, data.len()))?;
    let m = u16::from_le_bytes([b[0], b[1]]);
    if m == BTF_MAGIC {
        Ok(Endian::Little)
    } else if m == BTF_MAGIC.swap_bytes() {
        Ok(Endian::Big)
    } else {
        Err(BtfError::BadMagic { what, found: m })
    }
}

/// Checks the common header prefix (magic, version, hdr_len). Header fields beyond the ones
/// this reader knows are ignored, as libbpf does (newer writers append fields).
pub(crate) fn read_common_header(
    data: &[u8],
    what: &'static str,
    min: u32,
) -> Result<(Endian, u8, u8, u32), BtfError> {
    let endian = read_magic(data, what)?;
    if data.len() < 8 {
        return Err(truncated(what, 0, 8, data.len()));
    }
    let version = data[2];
    let flags = data[3];
    if version != 1 {
        return Err(BtfError::BadVersion {
            what,
            found: version,
        });
    }
    let hdr_len = u32_at(data, 4, endian);
    if hdr_len < min || hdr_len as usize > data.len() {
        if hdr_len >= min && (data.len() as u64) < u64::from(min) {
            return Err(truncated(what, 0, min as usize, data.len()));
        }
        return Err(BtfError::BadHeaderLen {
            what,
            hdr_len,
            min,
            data_len: data.len(),
        });
    }
    Ok((endian, version, flags, hdr_len))
}

/// Checks that `[off, off+len)` fits in `avail` bytes.
pub(crate) fn section_bounds(
    section: &'static str,
    off: u32,
    len: u32,
    avail: usize,
) -> Result<(usize, usize), BtfError> {
    let end = u64::from(off) + u64::from(len);
    if end > avail as u64 {
        return Err(BtfError::SectionOutOfBounds {
            section,
            off,
            len,
            avail,
        });
    }
    Ok((off as usize, end as usize))
}

impl<'a> Btf<'a> {
    /// Parses a base (non-split) BTF blob: a raw BTF file or a `.BTF` section.
    pub fn parse(data: &'a [u8]) -> Result<Btf<'a>, BtfError> {
        let btf = Self::parse_inner(data, None)?;
        btf.table()?;
        Ok(btf)
    }

    /// Checks only the header and the section bounds; the type section is walked and
    /// validated on the first query that needs it (`type_by_id`, `types`, `len`, ...).
    ///
    /// [`find_by_name_kind`](Self::find_by_name_kind) does not need the whole walk: it scans
    /// records in id order and stops at the first match, so finding an early type in a large
    /// blob (`task_struct` in vmlinux) touches only a prefix of it. Call
    /// [`validate`](Self::validate) to get type-section errors; until it succeeds, an invalid
    /// type section shows as no types at all (`len() == first_id()`).
    pub fn parse_lazy(data: &'a [u8]) -> Result<Btf<'a>, BtfError> {
        Self::parse_inner(data, None)
    }

    /// Walks and validates the whole type section now (a no-op after `parse`).
    pub fn validate(&self) -> Result<(), BtfError> {
        self.table().map(|_| ())
    }

    /// Parses split BTF (a kernel module's) on top of its `base`: ids and string offsets
    /// continue from the base's.
    pub fn parse_split(data: &'a [u8], base: &'a Btf<'a>) -> Result<Btf<'a>, BtfError> {
        base.validate()?;
        let btf = Self::parse_inner(data, Some(base))?;
        btf.table()?;
        Ok(btf)
    }

    fn parse_inner(data: &'a [u8], base: Option<&'a Btf<'a>>) -> Result<Btf<'a>, BtfError> {
        const WHAT: &str = "BTF header";
        let (endian, version, flags, hdr_len) = read_common_header(data, WHAT, HEADER_LEN)?;
        let field = |i: usize| u32_at(data, 8 + 4 * i, endian);
        let header = Header {
            magic: BTF_MAGIC,
            version,
            flags,
            hdr_len,
            type_off: field(0),
            type_len: field(1),
            str_off: field(2),
            str_len: field(3),
        };
        let body = data.get(hdr_len as usize..).unwrap_or_default();
        let (t0, t1) = section_bounds("type", header.type_off, header.type_len, body.len())?;
        let (s0, s1) = section_bounds("string", header.str_off, header.str_len, body.len())?;
        if header.type_off % 4 != 0 {
            return Err(BtfError::Misaligned {
                section: "type",
                off: header.type_off,
                align: 4,
            });
        }
        if t0 < s1 && s0 < t1 {
            return Err(BtfError::SectionsOverlap {
                type_off: header.type_off,
                type_end: t1 as u64,
                str_off: header.str_off,
                str_end: s1 as u64,
            });
        }
        let types = body.get(t0..t1).unwrap_or_default();
        let str_bytes = body.get(s0..s1).unwrap_or_default();

        let (start, first_id) = match base {
            Some(b) => (b.strs.end(), b.len()),
            None => (0, 1),
        };
        if base.is_none() || !str_bytes.is_empty() {
            match str_bytes.last() {
                None => {
                    return Err(BtfError::BadStringSection { problem: "empty" });
                }
                Some(&last) if last != 0 => {
                    return Err(BtfError::BadStringSection {
                        problem: "not NUL-terminated",
                    });
                }
                _ => {}
            }
            if base.is_none() && str_bytes.first() != Some(&0) {
                return Err(BtfError::BadStringSection {
                    problem: "first string is not empty",
                });
            }
            if u64::from(start) + str_bytes.len() as u64 - 1 > MAX_STR_OFFSET {
                return Err(BtfError::BadStringSection {
                    problem: "larger than the largest string offset",
                });
            }
        }
        let ascii = str_bytes.is_ascii();
        let strs = StrTab {
            bytes: str_bytes,
            text: std::str::from_utf8(str_bytes).ok(),
            ascii: ascii && base.map_or(true, |b| b.strs.ascii),
            start,
            base: base.map(|b| &b.strs),
        };

        Ok(Btf {
            data,
            endian,
            header,
            types,
            strs,
            offsets: OnceLock::new(),
            first_id,
            base,
            index: OnceLock::new(),
            scans: AtomicU32::new(0),
        })
    }

    /// The offset table, building it on first use.
    fn table(&self) -> Result<&[u32], BtfError> {
        match self.offsets.get_or_init(|| self.build_table()) {
            Ok(v) => Ok(v),
            Err(e) => Err(e.clone()),
        }
    }

    /// The offset table, or an empty one if the type section is invalid.
    #[inline]
    fn own(&self) -> &[u32] {
        self.table().unwrap_or(&[])
    }

    /// Walks the type section once (record sizes, kinds, per-kind checks, the offset table),
    /// then checks the largest type reference and name offset seen against the final counts.
    /// Names get a per-name check only when a string section has non-ASCII bytes or an
    /// offset is out of range (then the offending type is named).
    fn build_table(&self) -> Result<Vec<u32>, BtfError> {
        let (offsets, sum) = match self.endian {
            Endian::Little => walk::<Le>(self.types, self.first_id, self.strs)?,
            Endian::Big => walk::<Be>(self.types, self.first_id, self.strs)?,
        };
        let len = self.first_id + offsets.len() as u32;
        if sum.max_ref >= len {
            return Err(self.find_bad_ref(&offsets, len));
        }
        if sum.max_name >= self.strs.end() || !self.strs.ascii {
            self.check_names(&offsets)?;
        }
        Ok(offsets)
    }

    /// Decodes the types at `offsets` (for use before the table is installed).
    fn decode_all<'s>(&'s self, offsets: &'s [u32]) -> impl Iterator<Item = Type<'a>> + 's {
        let first = self.first_id;
        offsets
            .iter()
            .enumerate()
            .map(move |(i, &off)| self.decode(first + i as u32, off as usize))
    }

    /// Slow path: checks every name offset of every type, naming the first bad one.
    fn check_names(&self, offsets: &[u32]) -> Result<(), BtfError> {
        let e = self.endian;
        for t in self.decode_all(offsets) {
            let check = |site: RefSite, off: u32| {
                self.strs.check(off).map_err(|err| {
                    type_error(
                        &t,
                        TypeProblem::BadName {
                            site,
                            off,
                            err: err.to_string(),
                        },
                    )
                })
            };
            check(RefSite::This, t.name_off)?;
            let (raw, rec, site): (&[u8], usize, fn(u16) -> RefSite) = match t.kind {
                TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => {
                    (members.raw, 12, RefSite::Member)
                }
                TypeKind::Enum { values, .. } => (values.raw, 8, RefSite::EnumValue),
                TypeKind::Enum64 { values, .. } => (values.raw, 12, RefSite::EnumValue),
                TypeKind::FuncProto { params, .. } => (params.raw, 8, RefSite::Param),
                _ => continue,
            };
            for (i, r) in raw.chunks_exact(rec).enumerate() {
                check(site(i as u16), u32_at(r, 0, e))?;
            }
        }
        Ok(())
    }

    /// Slow path after validation saw an out-of-range reference: name the first one.
    fn find_bad_ref(&self, offsets: &[u32], len: u32) -> BtfError {
        for t in self.decode_all(offsets) {
            let mut refs: Vec<(RefSite, u32)> = Vec::new();
            match t.kind {
                TypeKind::Array { elem, index, .. } => {
                    refs.push((RefSite::ArrayElem, elem));
                    refs.push((RefSite::ArrayIndex, index));
                }
                TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => {
                    for (i, m) in members.iter().enumerate() {
                        refs.push((RefSite::Member(i as u16), m.ty));
                    }
                }
                TypeKind::FuncProto { ret, params } => {
                    refs.push((RefSite::This, ret));
                    for (i, p) in params.iter().enumerate() {
                        refs.push((RefSite::Param(i as u16), p.ty));
                    }
                }
                TypeKind::Datasec { vars, .. } => {
                    for (i, v) in vars.iter().enumerate() {
                        refs.push((RefSite::SecVar(i as u16), v.ty));
                    }
                }
                _ => {
                    if let Some(target) = t.target() {
                        refs.push((RefSite::This, target));
                    }
                }
            }
            if let Some(&(site, target)) = refs.iter().find(|(_, r)| *r >= len) {
                return type_error(&t, TypeProblem::RefOutOfRange { site, target, len });
            }
        }
        BtfError::Split {
            problem: "inconsistent type references",
        }
    }

    /// The base this split BTF sits on.
    pub fn base(&self) -> Option<&'a Btf<'a>> {
        self.base
    }

    /// Byte order of the blob.
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// The header fields.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The whole blob.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The raw type section.
    pub fn type_section(&self) -> &'a [u8] {
        self.types
    }

    /// This blob's raw string section.
    pub fn string_section(&self) -> &'a [u8] {
        self.strs.bytes
    }

    /// First string offset belonging to this blob (0 unless split).
    pub fn string_start(&self) -> u32 {
        self.strs.start
    }

    /// Id of this blob's first type: 1 for base BTF, `base.len()` for split BTF.
    pub fn first_id(&self) -> TypeId {
        self.first_id
    }

    /// One past the largest valid id (ids `0..len`; 0 is void).
    pub fn len(&self) -> u32 {
        self.first_id + self.own().len() as u32
    }

    /// True if this blob defines no types of its own.
    pub fn is_empty(&self) -> bool {
        self.own().is_empty()
    }

    /// The type with this id (looking into the base for ids below `first_id`).
    pub fn type_by_id(&self, id: TypeId) -> Result<Type<'a>, BtfError> {
        if id < self.first_id {
            return match self.base {
                Some(b) => b.type_by_id(id),
                None => Ok(Type::VOID),
            };
        }
        match self.table()?.get((id - self.first_id) as usize) {
            Some(&off) => Ok(self.decode(id, off as usize)),
            None => Err(BtfError::IdOutOfRange {
                id,
                len: self.len(),
            }),
        }
    }

    /// This blob's own types in id order (not the base's, not void).
    pub fn types(&self) -> impl ExactSizeIterator<Item = Type<'a>> + '_ {
        let first = self.first_id;
        self.own()
            .iter()
            .enumerate()
            .map(move |(i, &off)| self.decode(first + i as u32, off as usize))
    }

    /// The NUL-terminated string at `off` (split BTF: offsets below `string_start` are the base's).
    pub fn str_at(&self, off: u32) -> Result<&'a str, BtfError> {
        self.strs.get(off)
    }

    /// One past the largest string offset (base strings included).
    pub fn strings_end(&self) -> u32 {
        self.strs.end()
    }

    pub(crate) fn strtab(&self) -> StrTab<'a> {
        self.strs
    }

    /// Decodes the validated record at `off`.
    #[inline]
    fn decode(&self, id: TypeId, off: usize) -> Type<'a> {
        let e = self.endian;
        let t = self.types;
        let name_off = u32_at(t, off, e);
        let info = u32_at(t, off + 4, e);
        let st = u32_at(t, off + 8, e);
        let x = off + 12;
        let flag = info >> 31 != 0;
        let vlen = (info & 0xffff) as usize;
        let kind = Kind::from_u8(((info >> 24) & 0x1f) as u8).unwrap_or(Kind::Void);
        let k = kind as usize;
        let extra = usize::from(FIXED_EXTRA[k]) + usize::from(PER_VLEN[k]) * vlen;
        let raw = t.get(x..x + extra).unwrap_or_default();
        let strs = self.strs;
        let word = |i: usize| u32_at(raw, 4 * i, e);
        let kind = match kind {
            Kind::Void => TypeKind::Void,
            Kind::Int => {
                let v = word(0);
                TypeKind::Int {
                    size: st,
                    encoding: IntEncoding(((v >> 24) & 0x0f) as u8),
                    offset: ((v >> 16) & 0xff) as u8,
                    bits: (v & 0xff) as u8,
                }
            }
            Kind::Ptr => TypeKind::Ptr { target: st },
            Kind::Array => TypeKind::Array {
                elem: word(0),
                index: word(1),
                len: word(2),
            },
            Kind::Struct => TypeKind::Struct {
                size: st,
                members: Members {
                    raw,
                    strs,
                    endian: e,
                    flag,
                },
            },
            Kind::Union => TypeKind::Union {
                size: st,
                members: Members {
                    raw,
                    strs,
                    endian: e,
                    flag,
                },
            },
            Kind::Enum => TypeKind::Enum {
                size: st,
                signed: flag,
                values: EnumValues {
                    raw,
                    strs,
                    endian: e,
                    flag,
                },
            },
            Kind::Enum64 => TypeKind::Enum64 {
                size: st,
                signed: flag,
                values: Enum64Values {
                    raw,
                    strs,
                    endian: e,
                    flag,
                },
            },
            Kind::Fwd => TypeKind::Fwd { union: flag },
            Kind::Typedef => TypeKind::Typedef { target: st },
            Kind::Volatile => TypeKind::Volatile { target: st },
            Kind::Const => TypeKind::Const { target: st },
            Kind::Restrict => TypeKind::Restrict { target: st },
            Kind::Func => TypeKind::Func {
                proto: st,
                linkage: FuncLinkage::from_raw(vlen as u32).unwrap_or(FuncLinkage::Static),
            },
            Kind::FuncProto => TypeKind::FuncProto {
                ret: st,
                params: Params {
                    raw,
                    strs,
                    endian: e,
                    flag,
                },
            },
            Kind::Var => TypeKind::Var {
                ty: st,
                linkage: VarLinkage::from_raw(word(0)).unwrap_or(VarLinkage::Static),
            },
            Kind::Datasec => TypeKind::Datasec {
                size: st,
                vars: VarSecInfos {
                    raw,
                    strs,
                    endian: e,
                    flag,
                },
            },
            Kind::Float => TypeKind::Float { size: st },
            Kind::DeclTag => TypeKind::DeclTag {
                target: st,
                component_idx: word(0) as i32,
            },
            Kind::TypeTag => TypeKind::TypeTag { target: st },
        };
        Type {
            id,
            name: strs.name(name_off),
            kind,
            name_off,
            info,
            size_or_type: st,
        }
    }

    /// The raw bytes of a type record (common header plus kind-specific data) of this blob.
    pub fn raw_type_bytes(&self, id: TypeId) -> Option<&'a [u8]> {
        let idx = id.checked_sub(self.first_id)? as usize;
        let table = self.own();
        let off = *table.get(idx)? as usize;
        let end = table.get(idx + 1).map_or(self.types.len(), |&o| o as usize);
        self.types.get(off..end)
    }

    /// Ids of all types named `name` (base types first), in increasing order.
    ///
    /// The first few lookups scan (a substring search over the string section, then an
    /// integer compare per type); after that a hash index over all names is built once.
    pub fn find_by_name(&self, name: &str) -> std::vec::IntoIter<TypeId> {
        let mut out = Vec::new();
        self.find_by_name_into(name, &mut out);
        out.into_iter()
    }

    fn find_by_name_into(&self, name: &str, out: &mut Vec<TypeId>) {
        if let Some(b) = self.base {
            b.find_by_name_into(name, out);
        }
        if name.is_empty() {
            out.extend(self.types().filter(|t| t.name.is_empty()).map(|t| t.id));
            return;
        }
        if let Some(ix) = self.index.get() {
            ix.lookup(name, self.first_id, out);
            return;
        }
        if self.scans.fetch_add(1, Ordering::Relaxed) >= SCANS_BEFORE_INDEX {
            self.name_index().lookup(name, self.first_id, out);
            return;
        }
        let mut cands = Vec::new();
        self.strs.find_all(name, &mut cands);
        match cands.as_slice() {
            [] => {}
            &[c] => self.scan_name_off(|n| n == c, out),
            cs => self.scan_name_off(|n| cs.contains(&n), out),
        }
    }

    #[inline]
    fn scan_name_off(&self, matches: impl Fn(u32) -> bool, out: &mut Vec<TypeId>) {
        let t = self.types;
        let e = self.endian;
        for (i, &off) in self.own().iter().enumerate() {
            if matches(u32_at(t, off as usize, e)) {
                out.push(self.first_id + i as u32);
            }
        }
    }

    /// Builds (once) and returns the name index of this blob's own types.
    fn name_index(&self) -> &NameIndex<'a> {
        self.index.get_or_init(|| NameIndex::build(self))
    }

    /// Builds the name hash index now instead of after the first few lookups.
    pub fn build_name_index(&self) {
        self.name_index();
    }

    /// Whether this blob's name hash index exists already (name lookups are then hash probes).
    pub fn has_name_index(&self) -> bool {
        self.index.get().is_some()
    }

    /// The first type (lowest id, base first) named `name` of kind `kind`.
    ///
    /// Uses the name index when it exists; otherwise compares names in id order and stops
    /// at the first match (without walking the rest of a lazily parsed blob).
    pub fn find_by_name_kind(&self, name: &str, kind: Kind) -> Option<TypeId> {
        if let Some(b) = self.base {
            if let Some(id) = b.find_by_name_kind(name, kind) {
                return Some(id);
            }
        }
        if name.is_empty() || self.index.get().is_some() {
            return self.find_by_name(name).find(|&id| {
                self.type_by_id(id)
                    .map(|t| t.kind_id() == kind)
                    .unwrap_or(false)
            });
        }
        let mut needle = Vec::with_capacity(name.len() + 1);
        needle.extend_from_slice(name.as_bytes());
        needle.push(0);
        let want = u32::from(kind as u8);
        let (t, e) = (self.types, self.endian);
        let matches = |off: usize| {
            let info = u32_at(t, off + 4, e);
            (info >> 24) & 0x1f == want && self.strs.eq_at(u32_at(t, off, e), &needle)
        };
        match self.offsets.get() {
            Some(Ok(table)) => table
                .iter()
                .position(|&off| matches(off as usize))
                .map(|i| self.first_id + i as u32),
            Some(Err(_)) => None,
            None => {
                // Lazy: walk record sizes only as far as the first match.
                let mut off = 0usize;
                let mut id = self.first_id;
                while let Some(info) = read_u32(t, off + 4, e) {
                    let k = Kind::from_u8(((info >> 24) & 0x1f) as u8)?;
                    let need = 12 + k.extra_size((info & 0xffff) as usize);
                    if k == Kind::Void || off + need > t.len() {
                        return None;
                    }
                    if matches(off) {
                        return Some(id);
                    }
                    off += need;
                    id += 1;
                }
                None
            }
        }
    }

    /// Follows typedef, const, volatile, restrict and type_tag references to the first other type.
    pub fn skip_mods_and_typedefs(&self, id: TypeId) -> Result<TypeId, BtfError> {
        let mut cur = id;
        for _ in 0..=self.len() {
            let t = self.type_by_id(cur)?;
            match t.kind {
                TypeKind::Typedef { target }
                | TypeKind::Const { target }
                | TypeKind::Volatile { target }
                | TypeKind::Restrict { target }
                | TypeKind::TypeTag { target } => cur = target,
                _ => return Ok(cur),
            }
        }
        Err(type_error(&self.type_by_id(id)?, TypeProblem::Loop))
    }

    /// Follows modifiers and typedefs, returning the resolved type.
    pub fn resolve(&self, id: TypeId) -> Result<Type<'a>, BtfError> {
        self.type_by_id(self.skip_mods_and_typedefs(id)?)
    }

    /// Size in bytes of a value of type `id` (pointers are 8 bytes).
    pub fn size_of(&self, id: TypeId) -> Result<u64, BtfError> {
        let mut cur = id;
        let mut mult: u64 = 1;
        let overflow = || -> Result<BtfError, BtfError> {
            Ok(type_error(&self.type_by_id(id)?, TypeProblem::SizeOverflow))
        };
        for _ in 0..=self.len() {
            let t = self.type_by_id(cur)?;
            let size = match t.kind {
                TypeKind::Int { size, .. }
                | TypeKind::Struct { size, .. }
                | TypeKind::Union { size, .. }
                | TypeKind::Enum { size, .. }
                | TypeKind::Enum64 { size, .. }
                | TypeKind::Float { size }
                | TypeKind::Datasec { size, .. } => u64::from(size),
                TypeKind::Ptr { .. } => 8,
                TypeKind::Typedef { target }
                | TypeKind::Const { target }
                | TypeKind::Volatile { target }
                | TypeKind::Restrict { target }
                | TypeKind::TypeTag { target }
                | TypeKind::Var { ty: target, .. } => {
                    cur = target;
                    continue;
                }
                TypeKind::Array { elem, len, .. } => {
                    mult = match mult.checked_mul(u64::from(len)) {
                        Some(m) => m,
                        None => return Err(overflow()?),
                    };
                    cur = elem;
                    continue;
                }
                _ => return Err(type_error(&t, TypeProblem::NoSize)),
            };
            return match size.checked_mul(mult) {
                Some(s) => Ok(s),
                None => Err(overflow()?),
            };
        }
        Err(type_error(&self.type_by_id(id)?, TypeProblem::Loop))
    }

    /// Natural alignment in bytes of type `id`, as clang lays out BPF and x86-64 types:
    /// scalars align to their size (`__int128` to 16), pointers to 8, arrays to their
    /// element, structs and unions to their most aligned member, or 1 when a member sits
    /// at an offset its type's alignment does not allow or the size is not a multiple of
    /// it (a packed struct). BTF does not record alignment attributes, so a type the
    /// source declared `__attribute__((aligned(64)))` reports its natural alignment here.
    pub fn align_of(&self, id: TypeId) -> Result<u64, BtfError> {
        let mut budget: u32 = 1 << 16;
        self.align_rec(id, 0, &mut budget)
    }

    fn align_rec(&self, id: TypeId, depth: u32, budget: &mut u32) -> Result<u64, BtfError> {
        if depth > MAX_NESTING || *budget == 0 {
            return Err(type_error(&self.type_by_id(id)?, TypeProblem::TooDeep));
        }
        *budget -= 1;
        let mut cur = id;
        for _ in 0..=self.len() {
            let t = self.type_by_id(cur)?;
            return match t.kind {
                TypeKind::Int { size, .. }
                | TypeKind::Enum { size, .. }
                | TypeKind::Enum64 { size, .. }
                | TypeKind::Float { size } => Ok(u64::from(size.clamp(1, 16))),
                TypeKind::Ptr { .. } => Ok(8),
                TypeKind::Typedef { target }
                | TypeKind::Const { target }
                | TypeKind::Volatile { target }
                | TypeKind::Restrict { target }
                | TypeKind::TypeTag { target }
                | TypeKind::Var { ty: target, .. }
                | TypeKind::Array { elem: target, .. } => {
                    cur = target;
                    continue;
                }
                TypeKind::Struct { size, members } | TypeKind::Union { size, members } => {
                    let mut max = 1u64;
                    for m in members.iter() {
                        let a = self.align_rec(m.ty, depth + 1, budget)?;
                        max = max.max(a);
                        if m.bitfield_size == 0 && u64::from(m.bit_offset) % (8 * a) != 0 {
                            return Ok(1);
                        }
                    }
                    Ok(if u64::from(size) % max != 0 { 1 } else { max })
                }
                _ => Err(type_error(&t, TypeProblem::NoSize)),
            };
        }
        Err(type_error(&self.type_by_id(id)?, TypeProblem::Loop))
    }

    /// All types (base included) of the same kind as `kind` whose CO-RE essential name
    /// equals `local_name`'s (ENUM and ENUM64 are treated as the same kind).
    pub fn core_candidates(&self, local_name: &str, kind: Kind) -> Vec<TypeId> {
        let want = essential_name(local_name);
        let compat = |k: Kind| match kind {
            Kind::Enum | Kind::Enum64 => matches!(k, Kind::Enum | Kind::Enum64),
            _ => k == kind,
        };
        let mut out = Vec::new();
        let mut blob = Some(self);
        let mut chain = Vec::new();
        while let Some(b) = blob {
            chain.push(b);
            blob = b.base;
        }
        for b in chain.into_iter().rev() {
            // The name index answers exact names; flavored names (`name___flavor`) are kept
            // aside by their essential name. Both are built once per blob.
            let ix = b.name_index();
            let start = out.len();
            ix.lookup(want, b.first_id, &mut out);
            let lo = ix.flavored.partition_point(|&(n, _)| n < want);
            out.extend(
                ix.flavored[lo..]
                    .iter()
                    .take_while(|&&(n, _)| n == want)
                    .map(|&(_, id)| id),
            );
            let mut own = out.split_off(start);
            own.retain(|&id| {
                b.type_by_id(id)
                    .map(|t| compat(t.kind_id()))
                    .unwrap_or(false)
            });
            own.sort_unstable();
            out.extend(own);
        }
        out
    }
}

/// Builds a [`BtfError::Type`] naming a decoded type.
pub(crate) fn type_error(t: &Type<'_>, problem: TypeProblem) -> BtfError {
    BtfError::Type {
        id: t.id,
        kind: t.kind_id().name(),
        name: t.name.to_owned(),
        problem,
    }
}

/// The CO-RE "essential" name: `name` without a `___flavor` suffix
/// (`task_struct___v1` → `task_struct`). The separator is the last `___` that has a
/// non-underscore character on both sides.
pub fn essential_name(name: &str) -> &str {
    let b = name.as_bytes();
    let mut i = b.len().saturating_sub(4);
    while i > 0 {
        if b.get(i..i + 3) == Some(b"___")
            && b.get(i - 1).is_some_and(|&c| c != b'_')
            && b.get(i + 3).is_some_and(|&c| c != b'_')
        {
            return name.get(..i).unwrap_or(name);
        }
        i -= 1;
    }
    name
}

/// A small multiplicative hasher for string keys (the index is built from trusted-size data
/// and never exposed, so collision resistance is not needed).
#[derive(Default)]
struct NameHasher(u64);

impl Hasher for NameHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            h = (h.rotate_left(23) ^ u64::from_le_bytes(a)).wrapping_mul(K);
        }
        let mut tail = 0u64;
        for (i, &x) in chunks.remainder().iter().enumerate() {
            tail |= u64::from(x) << (8 * i);
        }
        self.0 = (h.rotate_left(23) ^ tail ^ bytes.len() as u64).wrapping_mul(K);
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(23) ^ u64::from(i)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

/// Name → ids index of one blob's own types: the first id per name plus a "next id with the
/// same name" chain.
struct NameIndex<'a> {
    heads: HashMap<&'a str, TypeId, BuildHasherDefault<NameHasher>>,
    next: Vec<TypeId>,
    /// Types whose name has a CO-RE flavor (`___`), as (essential name, id), sorted.
    flavored: Vec<(&'a str, TypeId)>,
}

impl<'a> NameIndex<'a> {
    fn build(btf: &Btf<'a>) -> NameIndex<'a> {
        let table = btf.own();
        let n = table.len();
        let mut heads: HashMap<&'a str, TypeId, BuildHasherDefault<NameHasher>> =
            HashMap::with_capacity_and_hasher(n / 2, Default::default());
        let mut next = vec![0; n];
        let mut flavored = Vec::new();
        let e = btf.endian;
        for i in (0..n).rev() {
            let off = table.get(i).copied().unwrap_or(0) as usize;
            let name_off = u32_at(btf.types, off, e);
            if name_off == 0 {
                continue;
            }
            let name = btf.strs.name(name_off);
            if name.is_empty() {
                continue;
            }
            let id = btf.first_id + i as u32;
            let essential = essential_name(name);
            if essential.len() != name.len() {
                flavored.push((essential, id));
            }
            if let Some(prev) = heads.insert(name, id) {
                if let Some(slot) = next.get_mut(i) {
                    *slot = prev;
                }
            }
        }
        flavored.sort_unstable();
        NameIndex {
            heads,
            next,
            flavored,
        }
    }

    fn lookup(&self, name: &str, first_id: TypeId, out: &mut Vec<TypeId>) {
        let mut cur = self.heads.get(name).copied().unwrap_or(0);
        while cur != 0 {
            out.push(cur);
            cur = self
                .next
                .get((cur - first_id) as usize)
                .copied()
                .unwrap_or(0);
        }
    }
}
