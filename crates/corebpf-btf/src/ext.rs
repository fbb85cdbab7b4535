//! `.BTF.ext`: per-section func_info, line_info and CO-RE relocation records.

use crate::btf::{read_common_header, section_bounds};
use crate::error::{BtfError, ExtProblem};
use crate::strings::StrTab;
use crate::types::{u32_at, Endian, TypeId};
use crate::Btf;

/// Size of the BTF.ext header up to and including the line_info fields.
pub const EXT_HEADER_LEN_MIN: u32 = 24;
/// Size of the BTF.ext header including the core_relo fields.
pub const EXT_HEADER_LEN_CORE: u32 = 32;

const FUNC_INFO_MIN: u32 = 8;
const LINE_INFO_MIN: u32 = 16;
const CORE_RELO_MIN: u32 = 16;

/// The BTF.ext header fields (`core_relo_*` are 0 when the header is too short for them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtHeader {
    pub version: u8,
    pub flags: u8,
    pub hdr_len: u32,
    pub func_info_off: u32,
    pub func_info_len: u32,
    pub line_info_off: u32,
    pub line_info_len: u32,
    pub core_relo_off: u32,
    pub core_relo_len: u32,
}

/// A parsed `.BTF.ext` section. All records and strings are validated by `parse`.
#[derive(Debug, Clone)]
pub struct BtfExt<'a> {
    endian: Endian,
    header: ExtHeader,
    strs: StrTab<'a>,
    func_info: InfoBlock<'a>,
    line_info: InfoBlock<'a>,
    core_relo: InfoBlock<'a>,
}

/// One info block: record size and the validated per-section slices.
#[derive(Debug, Clone, Default)]
struct InfoBlock<'a> {
    rec_size: u32,
    /// (section name, records bytes)
    secs: Vec<(&'a str, &'a [u8])>,
}

/// A `func_info` record: a function's first instruction and its FUNC type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncInfo {
    /// Instruction offset in bytes, as stored in the object file.
    pub insn_off: u32,
    pub type_id: TypeId,
}

/// A `line_info` record: source position of an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineInfo<'a> {
    /// Instruction offset in bytes, as stored in the object file.
    pub insn_off: u32,
    pub file_name: &'a str,
    /// The source line's text.
    pub line: &'a str,
    pub line_num: u32,
    pub col: u32,
    /// Raw string offsets of `file_name` and `line` (what a kernel load passes on).
    pub file_name_off: u32,
    pub line_off: u32,
}

/// CO-RE relocation kinds (`enum bpf_core_relo_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum CoreReloKind {
    FieldByteOffset = 0,
    FieldByteSize = 1,
    FieldExists = 2,
    FieldSigned = 3,
    FieldLshiftU64 = 4,
    FieldRshiftU64 = 5,
    LocalTypeId = 6,
    TargetTypeId = 7,
    TypeExists = 8,
    TypeSize = 9,
    EnumvalExists = 10,
    EnumvalValue = 11,
    TypeMatches = 12,
}

impl CoreReloKind {
    pub fn from_raw(v: u32) -> Option<CoreReloKind> {
        use CoreReloKind::*;
        Some(match v {
            0 => FieldByteOffset,
            1 => FieldByteSize,
            2 => FieldExists,
            3 => FieldSigned,
            4 => FieldLshiftU64,
            5 => FieldRshiftU64,
            6 => LocalTypeId,
            7 => TargetTypeId,
            8 => TypeExists,
            9 => TypeSize,
            10 => EnumvalExists,
            11 => EnumvalValue,
            12 => TypeMatches,
            _ => return None,
        })
    }

    /// The short name libbpf prints (`byte_off`, `exists`, `enumval_value`, ...).
    pub fn name(self) -> &'static str {
        use CoreReloKind::*;
        match self {
            FieldByteOffset => "byte_off",
            FieldByteSize => "byte_sz",
            FieldExists => "field_exists",
            FieldSigned => "signed",
            FieldLshiftU64 => "lshift_u64",
            FieldRshiftU64 => "rshift_u64",
            LocalTypeId => "local_type_id",
            TargetTypeId => "target_type_id",
            TypeExists => "type_exists",
            TypeSize => "type_size",
            EnumvalExists => "enumval_exists",
            EnumvalValue => "enumval_value",
            TypeMatches => "type_matches",
        }
    }

    /// True for the field-based kinds (the access string walks members).
    pub fn is_field(self) -> bool {
        (self as u32) <= 5
    }
    /// True for the type-based kinds.
    pub fn is_type(self) -> bool {
        matches!(
            self,
            CoreReloKind::LocalTypeId
                | CoreReloKind::TargetTypeId
                | CoreReloKind::TypeExists
                | CoreReloKind::TypeSize
                | CoreReloKind::TypeMatches
        )
    }
    /// True for the enum-value kinds.
    pub fn is_enumval(self) -> bool {
        matches!(
            self,
            CoreReloKind::EnumvalExists | CoreReloKind::EnumvalValue
        )
    }
}

/// A CO-RE relocation record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreRelo<'a> {
    /// Instruction offset in bytes, as stored in the object file.
    pub insn_off: u32,
    /// Local (object BTF) type id the access string starts from.
    pub type_id: TypeId,
    /// Access path such as `0:1:2`.
    pub access_str: &'a str,
    pub kind: CoreReloKind,
}

macro_rules! rec_iter {
    ($(#[$m:meta])* $name:ident, $item:ty, |$r:ident, $e:ident, $s:ident| $decode:expr) => {
        $(#[$m])*
        #[derive(Clone)]
        pub struct $name<'a> {
            raw: &'a [u8],
            rec_size: usize,
            endian: Endian,
            strs: StrTab<'a>,
        }

        impl<'a> $name<'a> {
            /// Number of remaining records.
            pub fn len(&self) -> usize {
                self.raw.len() / self.rec_size.max(1)
            }
            /// True if no records remain.
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }
        }

        impl<'a> Iterator for $name<'a> {
            type Item = $item;
            fn next(&mut self) -> Option<$item> {
                if self.rec_size == 0 || self.raw.len() < self.rec_size {
                    return None;
                }
                let ($r, rest) = self.raw.split_at(self.rec_size);
                self.raw = rest;
                let $e = self.endian;
                let $s = self.strs;
                Some($decode)
            }
            fn size_hint(&self) -> (usize, Option<usize>) {
                (self.len(), Some(self.len()))
            }
        }

        impl ExactSizeIterator for $name<'_> {}
    };
}

rec_iter!(
    /// func_info records of one section.
    FuncInfoIter, FuncInfo, |r, e, _s| FuncInfo { insn_off: u32_at(r, 0, e), type_id: u32_at(r, 4, e) }
);
rec_iter!(
    /// line_info records of one section.
    LineInfoIter, LineInfo<'a>, |r, e, s| {
        let lc = u32_at(r, 12, e);
        LineInfo {
            insn_off: u32_at(r, 0, e),
            file_name: s.name(u32_at(r, 4, e)),
            line: s.name(u32_at(r, 8, e)),
            line_num: lc >> 10,
            col: lc & 0x3ff,
            file_name_off: u32_at(r, 4, e),
            line_off: u32_at(r, 8, e),
        }
    }
);
rec_iter!(
    /// CO-RE relocation records of one section.
    CoreReloIter, CoreRelo<'a>, |r, e, s| CoreRelo {
        insn_off: u32_at(r, 0, e),
        type_id: u32_at(r, 4, e),
        access_str: s.name(u32_at(r, 8, e)),
        kind: CoreReloKind::from_raw(u32_at(r, 12, e)).unwrap_or(CoreReloKind::FieldByteOffset),
    }
);

impl<'a> BtfExt<'a> {
    /// Parses `.BTF.ext` bytes; section names and line strings resolve through `btf`'s strings.
    ///
    /// `btf`'s bytes must outlive `data` (they usually come from the same ELF file).
    pub fn parse<'b: 'a>(data: &'a [u8], btf: &Btf<'b>) -> Result<BtfExt<'a>, BtfError> {
        const WHAT: &str = "BTF.ext header";
        let (endian, version, flags, hdr_len) = read_common_header(data, WHAT, EXT_HEADER_LEN_MIN)?;
        let field = |i: usize| u32_at(data, 8 + 4 * i, endian);
        let has_core = hdr_len >= EXT_HEADER_LEN_CORE;
        let header = ExtHeader {
            version,
            flags,
            hdr_len,
            func_info_off: field(0),
            func_info_len: field(1),
            line_info_off: field(2),
            line_info_len: field(3),
            core_relo_off: if has_core { field(4) } else { 0 },
            core_relo_len: if has_core { field(5) } else { 0 },
        };
        let body = data.get(hdr_len as usize..).unwrap_or_default();
        let strs: StrTab<'a> = btf.strtab();
        let block = |section: &'static str, off: u32, len: u32, min: u32| {
            let (a, b) = section_bounds(section, off, len, body.len())?;
            if len != 0 && off % 4 != 0 {
                return Err(BtfError::Misaligned {
                    section,
                    off,
                    align: 4,
                });
            }
            parse_block(
                section,
                body.get(a..b).unwrap_or_default(),
                a,
                min,
                endian,
                strs,
            )
        };
        let func_info = block(
            "func_info",
            header.func_info_off,
            header.func_info_len,
            FUNC_INFO_MIN,
        )?;
        let line_info = block(
            "line_info",
            header.line_info_off,
            header.line_info_len,
            LINE_INFO_MIN,
        )?;
        let core_relo = block(
            "core_relo",
            header.core_relo_off,
            header.core_relo_len,
            CORE_RELO_MIN,
        )?;
        // Validate the strings and kinds inside the records now so iteration cannot fail.
        for (i, (_, recs)) in line_info.secs.iter().enumerate() {
            for (j, r) in recs.chunks_exact(line_info.rec_size as usize).enumerate() {
                for k in [1usize, 2] {
                    let off = u32_at(r, 4 * k, endian);
                    strs.check(off)
                        .map_err(|err| bad_str("line_info", i, Some(j), off, err))?;
                }
            }
        }
        for (i, (_, recs)) in core_relo.secs.iter().enumerate() {
            for (j, r) in recs.chunks_exact(core_relo.rec_size as usize).enumerate() {
                let off = u32_at(r, 8, endian);
                strs.check(off)
                    .map_err(|err| bad_str("core_relo", i, Some(j), off, err))?;
                let kind = u32_at(r, 12, endian);
                if CoreReloKind::from_raw(kind).is_none() {
                    return Err(BtfError::Ext {
                        section: "core_relo",
                        problem: ExtProblem::BadCoreReloKind {
                            sec_index: i,
                            record: j as u32,
                            kind,
                        },
                    });
                }
            }
        }
        Ok(BtfExt {
            endian,
            header,
            strs,
            func_info,
            line_info,
            core_relo,
        })
    }

    /// The header fields.
    pub fn header(&self) -> &ExtHeader {
        &self.header
    }

    /// Byte order of the section.
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// Record sizes as stored (func_info, line_info, core_relo; 0 for an absent block).
    pub fn record_sizes(&self) -> (u32, u32, u32) {
        (
            self.func_info.rec_size,
            self.line_info.rec_size,
            self.core_relo.rec_size,
        )
    }

    /// func_info records, per ELF section name.
    pub fn func_info(&self) -> impl Iterator<Item = (&'a str, FuncInfoIter<'a>)> + '_ {
        let (rs, e, s) = (self.func_info.rec_size as usize, self.endian, self.strs);
        self.func_info.secs.iter().map(move |&(n, raw)| {
            (
                n,
                FuncInfoIter {
                    raw,
                    rec_size: rs,
                    endian: e,
                    strs: s,
                },
            )
        })
    }

    /// line_info records, per ELF section name.
    pub fn line_info(&self) -> impl Iterator<Item = (&'a str, LineInfoIter<'a>)> + '_ {
        let (rs, e, s) = (self.line_info.rec_size as usize, self.endian, self.strs);
        self.line_info.secs.iter().map(move |&(n, raw)| {
            (
                n,
                LineInfoIter {
                    raw,
                    rec_size: rs,
                    endian: e,
                    strs: s,
                },
            )
        })
    }

    /// CO-RE relocation records, per ELF section name.
    pub fn core_relos(&self) -> impl Iterator<Item = (&'a str, CoreReloIter<'a>)> + '_ {
        let (rs, e, s) = (self.core_relo.rec_size as usize, self.endian, self.strs);
        self.core_relo.secs.iter().map(move |&(n, raw)| {
            (
                n,
                CoreReloIter {
                    raw,
                    rec_size: rs,
                    endian: e,
                    strs: s,
                },
            )
        })
    }
}

fn bad_str(
    section: &'static str,
    sec_index: usize,
    record: Option<usize>,
    off: u32,
    err: BtfError,
) -> BtfError {
    BtfError::Ext {
        section,
        problem: ExtProblem::BadString {
            sec_index,
            record: record.map(|r| r as u32),
            off,
            err: err.to_string(),
        },
    }
}

/// Splits one info block into (section name, records) pairs.
fn parse_block<'a>(
    section: &'static str,
    data: &'a [u8],
    base_off: usize,
    min: u32,
    e: Endian,
    strs: StrTab<'a>,
) -> Result<InfoBlock<'a>, BtfError> {
    if data.is_empty() {
        return Ok(InfoBlock::default());
    }
    let err = |problem| BtfError::Ext { section, problem };
    if data.len() < 4 {
        return Err(err(ExtProblem::Truncated {
            offset: base_off,
            need: 4,
            have: data.len(),
        }));
    }
    let rec_size = u32_at(data, 0, e);
    if rec_size < min || rec_size % 4 != 0 {
        return Err(err(ExtProblem::BadRecordSize { rec_size, min }));
    }
    let mut off = 4usize;
    let mut secs = Vec::new();
    while off < data.len() {
        let sec_index = secs.len();
        let have = data.len() - off;
        if have < 8 {
            return Err(err(ExtProblem::Truncated {
                offset: base_off + off,
                need: 8,
                have,
            }));
        }
        let name_off = u32_at(data, off, e);
        let num_info = u32_at(data, off + 4, e);
        if num_info == 0 {
            return Err(err(ExtProblem::EmptySection { sec_index }));
        }
        let name = strs
            .get(name_off)
            .map_err(|e| bad_str(section, sec_index, None, name_off, e))?;
        let bytes = u64::from(num_info) * u64::from(rec_size);
        let start = off + 8;
        if bytes > (data.len() - start) as u64 {
            return Err(err(ExtProblem::RecordsOverflow {
                sec_index,
                num_info,
                rec_size,
                offset: base_off + off,
                have: data.len() - start,
            }));
        }
        let end = start + bytes as usize;
        secs.push((name, data.get(start..end).unwrap_or_default()));
        off = end;
    }
    Ok(InfoBlock { rec_size, secs })
}
