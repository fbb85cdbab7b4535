//! The error type of this crate: every variant names where in the object the problem is.

use corebpf_btf::{BtfError, TypeId};

/// An error reading a BPF ELF object.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObjError {
    /// The ELF structure itself is broken (header, section table, string or symbol table).
    #[error("malformed ELF: {0}")]
    Elf(String),
    #[error("not a BPF object: e_machine is {machine}, expected 247 (EM_BPF)")]
    NotBpf { machine: u16 },
    #[error("not a relocatable object: e_type is {e_type}, expected 1 (ET_REL)")]
    NotRelocatable { e_type: u16 },
    #[error("section {index} ({name}): {problem}")]
    Section {
        index: usize,
        name: String,
        problem: String,
    },
    #[error("section {section}: size {size} is not a multiple of the 8-byte instruction size")]
    OddInsnSection { section: String, size: u64 },
    #[error("section {section}: a relocation section points at section index {target}, which does not exist")]
    BadRelocTarget { section: String, target: usize },
    #[error(
        "section {section}+{offset:#x}: relocation past the end of the section (size {size:#x})"
    )]
    RelocOutOfBounds {
        section: String,
        offset: u64,
        size: u64,
    },
    #[error("section {section}+{offset:#x}: relocation names symbol {symbol}, but the symbol table has {count} entries")]
    RelocBadSymbol {
        section: String,
        offset: u64,
        symbol: u64,
        count: usize,
    },
    #[error(
        "section {section}+{offset:#x} (insn {insn}): relocation against `{symbol}`: {problem}"
    )]
    Reloc {
        section: String,
        offset: u64,
        insn: usize,
        symbol: String,
        problem: String,
    },
    #[error("symbol {index} ({name}): section index {section} does not exist")]
    SymbolBadSection {
        index: usize,
        name: String,
        section: usize,
    },
    #[error("section {section}: function `{name}` at {offset:#x}+{size:#x} lies outside the section (size {section_size:#x})")]
    FunctionOutOfBounds {
        section: String,
        name: String,
        offset: u64,
        size: u64,
        section_size: u64,
    },
    #[error("map `{name}` in section {section}: {problem}")]
    Map {
        section: String,
        name: String,
        problem: String,
    },
    #[error("section {section}: {source}")]
    Btf {
        section: &'static str,
        #[source]
        source: BtfError,
    },
    #[error("section {section} needs a .BTF section, and the object has none")]
    MissingBtf { section: &'static str },
    #[error("type [{type_id}] access `{access}`: {problem}")]
    Access {
        type_id: TypeId,
        access: String,
        problem: String,
    },
}

impl ObjError {
    pub(crate) fn elf(e: object::read::Error) -> ObjError {
        ObjError::Elf(e.to_string())
    }
}
