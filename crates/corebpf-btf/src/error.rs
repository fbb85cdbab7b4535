//! Errors of the BTF reader and writer.

use std::fmt;

use crate::TypeId;

/// What went wrong while reading or querying BTF / BTF.ext bytes.
///
/// Every variant names where the problem is (byte offset, section, type id) and what it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BtfError {
    /// Fewer bytes than a fixed-size structure needs.
    #[error("truncated {what}: need {need} bytes at offset {offset}, only {have} available")]
    Truncated {
        what: &'static str,
        offset: usize,
        need: usize,
        have: usize,
    },
    /// The first two bytes are not 0xEB9F in either byte order.
    #[error("bad {what} magic 0x{found:04x} (expected 0xeb9f)")]
    BadMagic { what: &'static str, found: u16 },
    /// Unsupported format version.
    #[error("unsupported {what} version {found} (expected 1)")]
    BadVersion { what: &'static str, found: u8 },
    /// `hdr_len` is smaller than the fixed header or larger than the data.
    #[error("bad {what} header length {hdr_len} (minimum {min}, data is {data_len} bytes)")]
    BadHeaderLen {
        what: &'static str,
        hdr_len: u32,
        min: u32,
        data_len: usize,
    },
    /// A section described by the header does not fit in the data.
    #[error("{section} section (offset {off}, length {len} after the header) exceeds the {avail} bytes of data")]
    SectionOutOfBounds {
        section: &'static str,
        off: u32,
        len: u32,
        avail: usize,
    },
    /// A section offset is not aligned as the format requires.
    #[error("{section} section offset {off} is not {align}-byte aligned")]
    Misaligned {
        section: &'static str,
        off: u32,
        align: u32,
    },
    /// The type and string sections overlap.
    #[error(
        "type section [{type_off}, {type_end}) and string section [{str_off}, {str_end}) overlap"
    )]
    SectionsOverlap {
        type_off: u32,
        type_end: u64,
        str_off: u32,
        str_end: u64,
    },
    /// The string section is malformed as a whole.
    #[error("string section: {problem}")]
    BadStringSection { problem: &'static str },
    /// A string offset points outside the string section(s).
    #[error("string offset {off} out of range (strings end at {end})")]
    StrOffset { off: u32, end: u32 },
    /// The string at an offset is not valid UTF-8 (or starts inside a character).
    #[error("string at offset {off} is not valid UTF-8")]
    StrUtf8 { off: u32 },
    /// A type record runs past the end of the type section.
    #[error("type [{id}] at type-section offset {offset}: {kind} record needs {need} bytes, only {have} left")]
    TypeTruncated {
        id: TypeId,
        offset: usize,
        kind: &'static str,
        need: usize,
        have: usize,
    },
    /// A type record has a kind this reader does not know.
    #[error("type [{id}] at type-section offset {offset}: unknown kind {kind}")]
    BadKind { id: TypeId, offset: usize, kind: u8 },
    /// A type is malformed or a query on it cannot be answered.
    #[error("type [{id}] {kind} '{name}': {problem}")]
    Type {
        id: TypeId,
        kind: &'static str,
        name: String,
        problem: TypeProblem,
    },
    /// A type id outside `0..len`.
    #[error("type id {id} out of range (only {len} types)")]
    IdOutOfRange { id: TypeId, len: u32 },
    /// The split BTF's base is missing or inconsistent.
    #[error("split BTF: {problem}")]
    Split { problem: &'static str },
    /// A BTF.ext info block is malformed.
    #[error("BTF.ext {section}: {problem}")]
    Ext {
        section: &'static str,
        problem: ExtProblem,
    },
    /// The writer was asked for something BTF cannot represent.
    #[error("BTF writer: {problem}")]
    Writer { problem: String },
}

/// What is wrong with a particular type (see [`BtfError::Type`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TypeProblem {
    /// A reference to a type id that does not exist.
    RefOutOfRange {
        site: RefSite,
        target: TypeId,
        len: u32,
    },
    /// A name offset outside the string section(s) or not at a valid UTF-8 string.
    BadName {
        site: RefSite,
        off: u32,
        err: String,
    },
    /// Function or variable linkage value the format does not define.
    BadLinkage { linkage: u32 },
    /// INT with an impossible size/offset/bits combination.
    BadInt { size: u32, offset: u8, bits: u8 },
    /// A non-zero vlen for a kind that has none, or bad kind_flag use.
    Unexpected { what: &'static str, value: u32 },
    /// Following typedef/modifier/pointer/array references revisits a type.
    Loop,
    /// Structure nesting too deep to resolve.
    TooDeep,
    /// The type has no size (void, function, forward declaration...).
    NoSize,
    /// A size computation overflows 64 bits.
    SizeOverflow,
}

/// Which reference inside a type a [`TypeProblem`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefSite {
    /// The type's own name or its `type` field.
    This,
    /// ARRAY element type.
    ArrayElem,
    /// ARRAY index type.
    ArrayIndex,
    /// STRUCT/UNION member `n` (0-based).
    Member(u16),
    /// ENUM/ENUM64 value `n`.
    EnumValue(u16),
    /// FUNC_PROTO parameter `n`.
    Param(u16),
    /// DATASEC variable `n`.
    SecVar(u16),
}

impl fmt::Display for RefSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefSite::This => f.write_str("type"),
            RefSite::ArrayElem => f.write_str("array element"),
            RefSite::ArrayIndex => f.write_str("array index"),
            RefSite::Member(i) => write!(f, "member {i}"),
            RefSite::EnumValue(i) => write!(f, "enum value {i}"),
            RefSite::Param(i) => write!(f, "parameter {i}"),
            RefSite::SecVar(i) => write!(f, "datasec variable {i}"),
        }
    }
}

impl fmt::Display for TypeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeProblem::RefOutOfRange { site, target, len } => {
                write!(f, "{site} refers to type {target} (only {len} types)")
            }
            TypeProblem::BadName { site, off, err } => {
                write!(f, "{site} name offset {off}: {err}")
            }
            TypeProblem::BadLinkage { linkage } => write!(f, "unknown linkage {linkage}"),
            TypeProblem::BadInt { size, offset, bits } => {
                write!(
                    f,
                    "invalid INT size={size} bits_offset={offset} nr_bits={bits}"
                )
            }
            TypeProblem::Unexpected { what, value } => write!(f, "unexpected {what} {value}"),
            TypeProblem::Loop => f.write_str("reference loop (a type refers back to itself)"),
            TypeProblem::TooDeep => f.write_str("type nesting too deep to resolve"),
            TypeProblem::NoSize => f.write_str("type has no size"),
            TypeProblem::SizeOverflow => f.write_str("size overflows 64 bits"),
        }
    }
}

/// What is wrong with a BTF.ext info block (see [`BtfError::Ext`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtProblem {
    /// The record size is smaller than the known record, or not a multiple of 4.
    BadRecordSize { rec_size: u32, min: u32 },
    /// The block is too short for its record-size word or a section header.
    Truncated {
        offset: usize,
        need: usize,
        have: usize,
    },
    /// A section's records run past the end of the block.
    RecordsOverflow {
        sec_index: usize,
        num_info: u32,
        rec_size: u32,
        offset: usize,
        have: usize,
    },
    /// A section with zero records (not allowed by the format).
    EmptySection { sec_index: usize },
    /// A string offset in the block is bad.
    BadString {
        sec_index: usize,
        record: Option<u32>,
        off: u32,
        err: String,
    },
    /// A CO-RE relocation kind the format does not define.
    BadCoreReloKind {
        sec_index: usize,
        record: u32,
        kind: u32,
    },
}

impl fmt::Display for ExtProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtProblem::BadRecordSize { rec_size, min } => {
                write!(f, "record size {rec_size} is invalid (minimum {min}, multiple of 4)")
            }
            ExtProblem::Truncated { offset, need, have } => {
                write!(f, "truncated at block offset {offset}: need {need} bytes, only {have} left")
            }
            ExtProblem::RecordsOverflow {
                sec_index,
                num_info,
                rec_size,
                offset,
                have,
            } => write!(
                f,
                "section {sec_index} at block offset {offset}: {num_info} records of {rec_size} bytes exceed the {have} bytes left"
            ),
            ExtProblem::EmptySection { sec_index } => {
                write!(f, "section {sec_index} has no records")
            }
            ExtProblem::BadString {
                sec_index,
                record,
                off,
                err,
            } => match record {
                Some(r) => write!(f, "section {sec_index} record {r}: string offset {off}: {err}"),
                None => write!(f, "section {sec_index} name offset {off}: {err}"),
            },
            ExtProblem::BadCoreReloKind {
                sec_index,
                record,
                kind,
            } => write!(f, "section {sec_index} record {record}: unknown CO-RE relocation kind {kind}"),
        }
    }
}
