//! The object model and its parser.

use std::ops::Range;

use corebpf_btf::{Btf, BtfExt, Endian, TypeId, TypeKind};
use object::elf;
use object::read::elf::{FileHeader, Rel as _, SectionHeader as _, Sym as _};
use object::{Endianness, SectionIndex};

use crate::maps::{parse_btf_map, parse_legacy_map, MapDef, MapPlace, MapSlot};
use crate::{ObjError, ProgramKind, INSN_SIZE};

const EM_BPF: u16 = 247;
const OPC_CALL: u8 = 0x85;
const OPC_LD_IMM64: u8 = 0x18;
const PSEUDO_CALL: u8 = 1;

/// What a section holds, as far as a BPF loader cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    /// Executable code in a named program section (`SEC("xdp")`).
    Program,
    /// `.text`: subprograms shared by programs.
    Text,
    /// `.maps`: BTF-defined maps.
    Maps,
    /// `maps`: legacy `struct bpf_map_def` records.
    LegacyMaps,
    /// `.data`, `.rodata`, `.bss` and their `.name` variants.
    Data(DataKind),
    License,
    Version,
    Btf,
    BtfExt,
    /// `SHT_REL` relocations for another section.
    Relocations,
    SymbolTable,
    Strings,
    /// `.debug_*` and everything else a loader ignores.
    Other,
}

/// The kind of a global-data section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// `.data*`: writable, initialized.
    Data,
    /// `.rodata*`: read-only after load (`const volatile`).
    Rodata,
    /// `.bss*`: writable, zero-initialized.
    Bss,
}

impl DataKind {
    pub fn name(self) -> &'static str {
        match self {
            DataKind::Data => "data",
            DataKind::Rodata => "rodata",
            DataKind::Bss => "bss",
        }
    }
}

/// One ELF section.
#[derive(Debug, Clone)]
pub struct Section<'a> {
    pub index: usize,
    pub name: &'a str,
    pub kind: SectionKind,
    pub sh_type: u32,
    pub flags: u64,
    /// Size in the file's view (for `.bss`, the size it occupies in memory).
    pub size: u64,
    /// The bytes (empty for `SHT_NOBITS`).
    pub data: &'a [u8],
    /// `sh_info`: for a relocation section, the index of the section it applies to.
    pub info: u32,
}

/// ELF symbol type, as far as BPF objects use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolKind {
    NoType,
    Object,
    Func,
    Section,
    File,
    Other(u8),
}

/// ELF symbol binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolBinding {
    Local,
    Global,
    Weak,
    Other(u8),
}

/// One ELF symbol.
#[derive(Debug, Clone, Copy)]
pub struct Symbol<'a> {
    pub index: usize,
    pub name: &'a str,
    /// The section it is defined in; `None` for undefined (extern) and absolute symbols.
    pub section: Option<usize>,
    pub value: u64,
    pub size: u64,
    pub kind: SymbolKind,
    pub binding: SymbolBinding,
}

impl Symbol<'_> {
    pub fn is_global(&self) -> bool {
        matches!(self.binding, SymbolBinding::Global | SymbolBinding::Weak)
    }
}

/// A function (a `FUNC` symbol) inside an executable section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Function<'a> {
    pub name: &'a str,
    /// Byte offset in its section.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
    /// Global linkage (an entry point, or a global subprogram in `.text`).
    pub global: bool,
    pub symbol: usize,
}

impl Function<'_> {
    /// The instruction slots of this function, as indices into its section.
    pub fn insns(&self) -> Range<usize> {
        let start = (self.offset / INSN_SIZE as u64) as usize;
        start..start + (self.size / INSN_SIZE as u64) as usize
    }
}

/// What a relocation in an instruction section refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelocKind {
    /// `r1 = map[name]`: index into [`Object::maps`].
    Map { map: usize },
    /// `r1 = &var`: index into [`Object::data`] and the byte offset in it.
    Data { data: usize, offset: i64 },
    /// `call name`: a BPF-to-BPF call into section `section`, instruction `insn` of it.
    Call { section: usize, insn: usize },
    /// `r2 = &callback`: a subprogram's address (for `bpf_loop` and friends).
    FuncAddr { section: usize, insn: usize },
    /// An extern: a kconfig value or ksym address (LD imm64), or a kfunc call.
    Extern { ext: usize, call: bool },
}

/// One relocation entry of an instruction section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reloc {
    /// Byte offset in the section.
    pub offset: u64,
    /// Instruction slot index in the section.
    pub insn: usize,
    /// Index into [`Object::symbols`].
    pub symbol: usize,
    /// The ELF relocation type (`R_BPF_64_64` = 1, `R_BPF_64_32` = 10, ...).
    pub r_type: u32,
    pub kind: RelocKind,
}

/// An executable section: a program section or `.text`.
#[derive(Debug, Clone)]
pub struct ProgramSection<'a> {
    /// ELF section index.
    pub section: usize,
    pub name: &'a str,
    /// The instruction bytes.
    pub insns: &'a [u8],
    /// What the section name says (`None` for `.text` and names libbpf does not know).
    pub kind: Option<ProgramKind<'a>>,
    /// `FUNC` symbols in the section, by offset.
    pub functions: Vec<Function<'a>>,
    /// Relocations, by offset.
    pub relocs: Vec<Reloc>,
}

impl ProgramSection<'_> {
    /// Number of 8-byte instruction slots.
    pub fn insn_count(&self) -> usize {
        self.insns.len() / INSN_SIZE
    }

    /// The function containing instruction slot `insn`.
    pub fn function_at(&self, insn: usize) -> Option<&Function<'_>> {
        self.functions.iter().find(|f| f.insns().contains(&insn))
    }

    /// The function starting exactly at instruction slot `insn`.
    pub fn function_starting_at(&self, insn: usize) -> Option<&Function<'_>> {
        self.functions.iter().find(|f| f.insns().start == insn)
    }

    /// The relocation on instruction slot `insn`.
    pub fn reloc_at(&self, insn: usize) -> Option<&Reloc> {
        self.relocs
            .binary_search_by_key(&insn, |r| r.insn)
            .ok()
            .and_then(|i| self.relocs.get(i))
    }

    /// True for `.text` (subprograms only).
    pub fn is_text(&self) -> bool {
        self.name == ".text"
    }
}

/// A program: an entry function of a program section.
#[derive(Debug, Clone, Copy)]
pub struct Program<'o, 'a> {
    pub name: &'a str,
    pub section_name: &'a str,
    /// ELF section index.
    pub section: usize,
    pub kind: Option<ProgramKind<'a>>,
    pub function: &'o Function<'a>,
    /// The instruction bytes of this program's own function (subprograms excluded).
    pub insns: &'a [u8],
}

/// A variable in a global-data section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable<'a> {
    pub name: &'a str,
    pub offset: u64,
    pub size: u64,
    /// The variable's BTF type (from the section's DATASEC), if BTF describes it.
    pub type_id: Option<TypeId>,
    pub global: bool,
}

/// A global-data section (`.data`, `.rodata`, `.bss`, `.data.*`, ...): a map at load time.
#[derive(Debug, Clone)]
pub struct DataSection<'a> {
    pub section: usize,
    pub name: &'a str,
    pub kind: DataKind,
    pub size: u64,
    /// Initial bytes (empty for `.bss`).
    pub data: &'a [u8],
    /// Variables by offset.
    pub variables: Vec<Variable<'a>>,
}

impl DataSection<'_> {
    /// The variable covering byte `offset`.
    pub fn variable_at(&self, offset: u64) -> Option<&Variable<'_>> {
        self.variables
            .iter()
            .find(|v| v.offset <= offset && offset < v.offset.saturating_add(v.size.max(1)))
    }
}

/// What an extern symbol is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternKind {
    /// `extern ... __kconfig`: a Kconfig value or `LINUX_KERNEL_VERSION`.
    Kconfig,
    /// `extern ... __ksym` variable; `typed` when BTF gives it a type (not `void`).
    Ksym { typed: bool },
    /// `extern` function `__ksym`: a kernel function called from BPF.
    Kfunc,
    /// An undefined symbol BTF does not describe.
    Unknown,
}

/// An extern the loader must resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extern<'a> {
    pub name: &'a str,
    pub symbol: usize,
    pub kind: ExternKind,
    pub weak: bool,
    /// The BTF VAR or FUNC describing it.
    pub btf_id: Option<TypeId>,
    /// Its type: the VAR's type or the FUNC's prototype.
    pub type_id: Option<TypeId>,
}

/// A parsed BPF ELF object. Borrows the bytes it was parsed from.
#[derive(Debug)]
pub struct Object<'a> {
    pub endian: Endian,
    pub license: Option<&'a str>,
    pub kernel_version: Option<u32>,
    /// Every ELF section, by index.
    pub sections: Vec<Section<'a>>,
    /// Every ELF symbol, by index.
    pub symbols: Vec<Symbol<'a>>,
    /// Executable sections (program sections and `.text`), in section order.
    pub program_sections: Vec<ProgramSection<'a>>,
    pub maps: Vec<MapDef<'a>>,
    pub data: Vec<DataSection<'a>>,
    pub externs: Vec<Extern<'a>>,
    /// The object's BTF, parsed.
    pub btf: Option<Btf<'a>>,
    pub btf_bytes: Option<&'a [u8]>,
    pub btf_ext_bytes: Option<&'a [u8]>,
}

fn classify(name: &str, sh_type: u32, flags: u64) -> SectionKind {
    let exec = flags & u64::from(elf::SHF_EXECINSTR) != 0;
    let has_pfx = |p: &str| name == p || name.strip_prefix(p).is_some_and(|r| r.starts_with('.'));
    match sh_type {
        elf::SHT_REL => SectionKind::Relocations,
        elf::SHT_SYMTAB => SectionKind::SymbolTable,
        elf::SHT_STRTAB => SectionKind::Strings,
        elf::SHT_PROGBITS if exec && name == ".text" => SectionKind::Text,
        elf::SHT_PROGBITS if exec => SectionKind::Program,
        elf::SHT_PROGBITS if name == ".maps" => SectionKind::Maps,
        elf::SHT_PROGBITS if name == "maps" => SectionKind::LegacyMaps,
        elf::SHT_PROGBITS if name == "license" => SectionKind::License,
        elf::SHT_PROGBITS if name == "version" => SectionKind::Version,
        elf::SHT_PROGBITS if name == ".BTF" => SectionKind::Btf,
        elf::SHT_PROGBITS if name == ".BTF.ext" => SectionKind::BtfExt,
        elf::SHT_PROGBITS if has_pfx(".data") => SectionKind::Data(DataKind::Data),
        elf::SHT_PROGBITS if has_pfx(".rodata") => SectionKind::Data(DataKind::Rodata),
        elf::SHT_NOBITS if has_pfx(".bss") => SectionKind::Data(DataKind::Bss),
        _ => SectionKind::Other,
    }
}

fn read_u32(b: &[u8], off: usize, endian: Endian) -> Option<u32> {
    let a: [u8; 4] = b.get(off..off.checked_add(4)?)?.try_into().ok()?;
    Some(match endian {
        Endian::Little => u32::from_le_bytes(a),
        Endian::Big => u32::from_be_bytes(a),
    })
}

impl<'a> Object<'a> {
    /// Parses a BPF ELF object.
    pub fn parse(data: &'a [u8]) -> Result<Object<'a>, ObjError> {
        let header = elf::FileHeader64::<Endianness>::parse(data).map_err(ObjError::elf)?;
        let e = header.endian().map_err(ObjError::elf)?;
        let machine = header.e_machine(e);
        if machine != EM_BPF {
            return Err(ObjError::NotBpf { machine });
        }
        let e_type = header.e_type(e);
        if e_type != elf::ET_REL {
            return Err(ObjError::NotRelocatable { e_type });
        }
        let endian = match e {
            Endianness::Little => Endian::Little,
            Endianness::Big => Endian::Big,
        };
        let table = header.sections(e, data).map_err(ObjError::elf)?;

        let mut sections = Vec::with_capacity(table.len());
        for (i, sh) in table.iter().enumerate() {
            let name_bytes = table.section_name(e, sh).map_err(ObjError::elf)?;
            let name = std::str::from_utf8(name_bytes).map_err(|_| ObjError::Section {
                index: i,
                name: String::from_utf8_lossy(name_bytes).into_owned(),
                problem: "section name is not UTF-8".into(),
            })?;
            let sh_type = sh.sh_type(e);
            let flags = sh.sh_flags(e);
            let bytes = sh.data(e, data).map_err(|err| ObjError::Section {
                index: i,
                name: name.to_string(),
                problem: format!("section data lies outside the file: {err}"),
            })?;
            let kind = if i == 0 {
                SectionKind::Other
            } else {
                classify(name, sh_type, flags)
            };
            sections.push(Section {
                index: i,
                name,
                kind,
                sh_type,
                flags,
                size: sh.sh_size(e),
                data: bytes,
                info: sh.sh_info(e),
            });
        }
        let section_name = |i: usize| sections.get(i).map_or("?", |s| s.name);

        // Symbols.
        let symtab = table
            .symbols(e, data, elf::SHT_SYMTAB)
            .map_err(ObjError::elf)?;
        let strings = symtab.strings();
        let mut symbols = Vec::with_capacity(symtab.len());
        for (i, sym) in symtab.iter().enumerate() {
            let name_bytes = sym.name(e, strings).map_err(ObjError::elf)?;
            let name = std::str::from_utf8(name_bytes)
                .map_err(|_| ObjError::Elf(format!("symbol {i}: name is not UTF-8")))?;
            let section = match symtab.symbol_section(e, sym, object::SymbolIndex(i)) {
                Ok(Some(SectionIndex(s))) => {
                    if s >= sections.len() {
                        return Err(ObjError::SymbolBadSection {
                            index: i,
                            name: name.to_string(),
                            section: s,
                        });
                    }
                    Some(s)
                }
                Ok(None) => None,
                Err(_) => {
                    return Err(ObjError::SymbolBadSection {
                        index: i,
                        name: name.to_string(),
                        section: usize::from(sym.st_shndx(e)),
                    })
                }
            };
            let kind = match sym.st_type() {
                elf::STT_NOTYPE => SymbolKind::NoType,
                elf::STT_OBJECT => SymbolKind::Object,
                elf::STT_FUNC => SymbolKind::Func,
                elf::STT_SECTION => SymbolKind::Section,
                elf::STT_FILE => SymbolKind::File,
                t => SymbolKind::Other(t),
            };
            let binding = match sym.st_bind() {
                elf::STB_LOCAL => SymbolBinding::Local,
                elf::STB_GLOBAL => SymbolBinding::Global,
                elf::STB_WEAK => SymbolBinding::Weak,
                b => SymbolBinding::Other(b),
            };
            // Section symbols carry no name of their own: name them after their section.
            let name = if kind == SymbolKind::Section && name.is_empty() {
                section.map_or("", |s| section_name(s))
            } else {
                name
            };
            symbols.push(Symbol {
                index: i,
                name,
                section,
                value: sym.st_value(e),
                size: sym.st_size(e),
                kind,
                binding,
            });
        }

        let license = sections
            .iter()
            .find(|s| s.kind == SectionKind::License)
            .map(|s| {
                let end = s.data.iter().position(|&b| b == 0).unwrap_or(s.data.len());
                std::str::from_utf8(s.data.get(..end).unwrap_or_default()).map_err(|_| {
                    ObjError::Section {
                        index: s.index,
                        name: s.name.to_string(),
                        problem: "license string is not UTF-8".into(),
                    }
                })
            });
        let license = license.transpose()?;
        let kernel_version = match sections.iter().find(|s| s.kind == SectionKind::Version) {
            Some(s) => Some(
                read_u32(s.data, 0, endian).ok_or_else(|| ObjError::Section {
                    index: s.index,
                    name: s.name.to_string(),
                    problem: format!("{} bytes, expected a 4-byte version", s.data.len()),
                })?,
            ),
            None => None,
        };

        let btf_bytes = sections
            .iter()
            .find(|s| s.kind == SectionKind::Btf)
            .map(|s| s.data);
        let btf_ext_bytes = sections
            .iter()
            .find(|s| s.kind == SectionKind::BtfExt)
            .map(|s| s.data);
        let btf = match btf_bytes {
            Some(b) => Some(Btf::parse(b).map_err(|source| ObjError::Btf {
                section: ".BTF",
                source,
            })?),
            None => None,
        };

        // Executable sections and their functions.
        let mut program_sections = Vec::new();
        for s in &sections {
            if !matches!(s.kind, SectionKind::Program | SectionKind::Text) || s.size == 0 {
                continue;
            }
            if s.size % INSN_SIZE as u64 != 0 {
                return Err(ObjError::OddInsnSection {
                    section: s.name.to_string(),
                    size: s.size,
                });
            }
            let mut functions: Vec<Function<'a>> = symbols
                .iter()
                .filter(|sym| sym.section == Some(s.index) && sym.kind == SymbolKind::Func)
                .map(|sym| Function {
                    name: sym.name,
                    offset: sym.value,
                    size: sym.size,
                    global: sym.is_global(),
                    symbol: sym.index,
                })
                .collect();
            functions.sort_by_key(|f| f.offset);
            for f in &functions {
                let end = f.offset.checked_add(f.size);
                if f.offset % INSN_SIZE as u64 != 0
                    || f.size % INSN_SIZE as u64 != 0
                    || end.map_or(true, |end| end > s.size)
                {
                    return Err(ObjError::FunctionOutOfBounds {
                        section: s.name.to_string(),
                        name: f.name.to_string(),
                        offset: f.offset,
                        size: f.size,
                        section_size: s.size,
                    });
                }
            }
            program_sections.push(ProgramSection {
                section: s.index,
                name: s.name,
                insns: s.data,
                kind: if s.kind == SectionKind::Program {
                    ProgramKind::from_section_name(s.name)
                } else {
                    None
                },
                functions,
                relocs: Vec::new(),
            });
        }

        // Maps.
        let mut maps = Vec::new();
        if let Some(s) = sections.iter().find(|s| s.kind == SectionKind::Maps) {
            let btf = btf.as_ref().ok_or_else(|| ObjError::Section {
                index: s.index,
                name: s.name.to_string(),
                problem: "BTF-defined maps need a .BTF section".into(),
            })?;
            parse_btf_maps(btf, s, &symbols, &mut maps)?;
        }
        if let Some(s) = sections.iter().find(|s| s.kind == SectionKind::LegacyMaps) {
            let mut syms: Vec<&Symbol<'a>> = symbols
                .iter()
                .filter(|sym| {
                    sym.section == Some(s.index)
                        && matches!(sym.kind, SymbolKind::Object | SymbolKind::NoType)
                        && !sym.name.is_empty()
                })
                .collect();
            syms.sort_by_key(|sym| sym.value);
            if !syms.is_empty() {
                let rec = s.size / syms.len() as u64;
                for sym in syms {
                    let start = usize::try_from(sym.value).unwrap_or(usize::MAX);
                    let end = start.saturating_add(rec as usize);
                    let bytes = s.data.get(start..end).ok_or_else(|| ObjError::Map {
                        section: s.name.to_string(),
                        name: sym.name.to_string(),
                        problem: format!(
                            "record {start:#x}..{end:#x} lies outside the section (size {:#x})",
                            s.size
                        ),
                    })?;
                    maps.push(parse_legacy_map(
                        s.name, sym.name, s.index, sym.value, bytes, endian,
                    )?);
                }
            }
        }

        // Global data.
        let mut data_sections = Vec::new();
        for s in &sections {
            let SectionKind::Data(kind) = s.kind else {
                continue;
            };
            let datasec = btf.as_ref().and_then(|b| datasec_vars(b, s.name));
            let mut variables: Vec<Variable<'a>> = symbols
                .iter()
                .filter(|sym| sym.section == Some(s.index) && sym.kind == SymbolKind::Object)
                .map(|sym| Variable {
                    name: sym.name,
                    offset: sym.value,
                    size: sym.size,
                    type_id: datasec.as_ref().and_then(|vars| {
                        vars.iter().find(|(n, _)| *n == sym.name).map(|(_, t)| *t)
                    }),
                    global: sym.is_global(),
                })
                .collect();
            variables.sort_by_key(|v| v.offset);
            data_sections.push(DataSection {
                section: s.index,
                name: s.name,
                kind,
                size: s.size,
                data: s.data,
                variables,
            });
        }

        // Externs.
        let mut externs = Vec::new();
        for sym in &symbols {
            if sym.section.is_some() || sym.name.is_empty() || !sym.is_global() || sym.index == 0 {
                continue;
            }
            let (kind, btf_id, type_id) = match btf.as_ref() {
                Some(b) => extern_kind(b, sym.name),
                None => (ExternKind::Unknown, None, None),
            };
            externs.push(Extern {
                name: sym.name,
                symbol: sym.index,
                kind,
                weak: sym.binding == SymbolBinding::Weak,
                btf_id,
                type_id,
            });
        }

        let mut obj = Object {
            endian,
            license,
            kernel_version,
            sections,
            symbols,
            program_sections,
            maps,
            data: data_sections,
            externs,
            btf,
            btf_bytes,
            btf_ext_bytes,
        };
        obj.parse_relocations(&table, e, data)?;
        Ok(obj)
    }

    fn parse_relocations(
        &mut self,
        table: &object::read::elf::SectionTable<'a, elf::FileHeader64<Endianness>, &'a [u8]>,
        e: Endianness,
        data: &'a [u8],
    ) -> Result<(), ObjError> {
        for (i, sh) in table.iter().enumerate() {
            let Some((rels, _link)) = sh.rel(e, data).map_err(|err| ObjError::Section {
                index: i,
                name: self.section_name(i).to_string(),
                problem: format!("bad relocation table: {err}"),
            })?
            else {
                continue;
            };
            let target = sh.sh_info(e) as usize;
            let Some(target_sec) = self.sections.get(target) else {
                return Err(ObjError::BadRelocTarget {
                    section: self.section_name(i).to_string(),
                    target,
                });
            };
            match target_sec.kind {
                SectionKind::Program | SectionKind::Text => {
                    let mut relocs = Vec::with_capacity(rels.len());
                    for rel in rels {
                        relocs.push(self.insn_reloc(
                            target,
                            rel.r_offset(e),
                            rel.r_sym(e) as u64,
                            rel.r_type(e),
                        )?);
                    }
                    relocs.sort_by_key(|r| r.offset);
                    if let Some(ps) = self
                        .program_sections
                        .iter_mut()
                        .find(|p| p.section == target)
                    {
                        ps.relocs = relocs;
                    }
                }
                SectionKind::Maps => {
                    for rel in rels {
                        self.map_slot_reloc(target, rel.r_offset(e), rel.r_sym(e) as u64)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn symbol_checked(
        &self,
        section: usize,
        offset: u64,
        sym: u64,
    ) -> Result<&Symbol<'a>, ObjError> {
        usize::try_from(sym)
            .ok()
            .filter(|&s| s != 0)
            .and_then(|s| self.symbols.get(s))
            .ok_or_else(|| ObjError::RelocBadSymbol {
                section: self.section_name(section).to_string(),
                offset,
                symbol: sym,
                count: self.symbols.len(),
            })
    }

    fn insn_reloc(
        &self,
        section: usize,
        offset: u64,
        sym_idx: u64,
        r_type: u32,
    ) -> Result<Reloc, ObjError> {
        let sec = self
            .sections
            .get(section)
            .map(|s| (s.name, s.data))
            .unwrap_or(("?", &[]));
        let (sec_name, bytes) = sec;
        let oob = || ObjError::RelocOutOfBounds {
            section: sec_name.to_string(),
            offset,
            size: bytes.len() as u64,
        };
        let start = usize::try_from(offset).map_err(|_| oob())?;
        if start % INSN_SIZE != 0 {
            return Err(ObjError::Reloc {
                section: sec_name.to_string(),
                offset,
                insn: start / INSN_SIZE,
                symbol: String::new(),
                problem: "offset is not on an instruction boundary".into(),
            });
        }
        let insn_bytes = bytes
            .get(start..start.checked_add(INSN_SIZE).ok_or_else(oob)?)
            .ok_or_else(oob)?;
        let sym = self.symbol_checked(section, offset, sym_idx)?;
        let insn = start / INSN_SIZE;
        let err = |problem: String| ObjError::Reloc {
            section: sec_name.to_string(),
            offset,
            insn,
            symbol: sym.name.to_string(),
            problem,
        };
        let code = insn_bytes.first().copied().unwrap_or(0);
        let regs = insn_bytes.get(1).copied().unwrap_or(0);
        let src_reg = match self.endian {
            Endian::Little => regs >> 4,
            Endian::Big => regs & 0xf,
        };
        let imm = read_u32(insn_bytes, 4, self.endian).unwrap_or(0) as i32;
        let is_call = code == OPC_CALL;
        if !is_call && code != OPC_LD_IMM64 {
            return Err(err(format!("relocated instruction has opcode {code:#04x}, expected a call (0x85) or a 64-bit load (0x18)")));
        }
        if code == OPC_LD_IMM64 && bytes.len() < start + 2 * INSN_SIZE {
            return Err(oob());
        }
        let kind = match sym.section {
            None => {
                let ext = self
                    .externs
                    .iter()
                    .position(|x| x.symbol == sym.index)
                    .ok_or_else(|| err("undefined symbol that is not an extern".into()))?;
                RelocKind::Extern { ext, call: is_call }
            }
            Some(target) => {
                let target_sec = self
                    .sections
                    .get(target)
                    .ok_or_else(|| err(format!("symbol in missing section {target}")))?;
                match target_sec.kind {
                    SectionKind::Program | SectionKind::Text => {
                        let target_insns = (target_sec.size / INSN_SIZE as u64) as i64;
                        let idx = if is_call {
                            if src_reg != PSEUDO_CALL {
                                return Err(err(format!("call to a subprogram has src_reg {src_reg}, expected 1 (BPF_PSEUDO_CALL)")));
                            }
                            (sym.value / INSN_SIZE as u64) as i64 + i64::from(imm) + 1
                        } else {
                            (sym.value as i64).saturating_add(i64::from(imm)) / INSN_SIZE as i64
                        };
                        if idx < 0 || idx >= target_insns {
                            return Err(err(format!("target instruction {idx} lies outside section {} ({target_insns} instructions)", target_sec.name)));
                        }
                        let idx = idx as usize;
                        if is_call {
                            RelocKind::Call {
                                section: target,
                                insn: idx,
                            }
                        } else {
                            RelocKind::FuncAddr {
                                section: target,
                                insn: idx,
                            }
                        }
                    }
                    _ if is_call => {
                        return Err(err(format!(
                            "call target is in section {}, which holds no code",
                            target_sec.name
                        )))
                    }
                    SectionKind::Maps | SectionKind::LegacyMaps => {
                        let off = if sym.kind == SymbolKind::Section {
                            imm as u64
                        } else {
                            sym.value
                        };
                        let map = self
                            .maps
                            .iter()
                            .position(|m| m.section == target && m.offset == off)
                            .ok_or_else(|| {
                                err(format!("no map at {}+{off:#x}", target_sec.name))
                            })?;
                        RelocKind::Map { map }
                    }
                    SectionKind::Data(_) => {
                        let data = self
                            .data
                            .iter()
                            .position(|d| d.section == target)
                            .ok_or_else(|| err("data section not recorded".into()))?;
                        RelocKind::Data {
                            data,
                            offset: (sym.value as i64).saturating_add(i64::from(imm)),
                        }
                    }
                    _ => {
                        return Err(err(format!(
                            "symbol is in section {}, which holds neither code, maps nor data",
                            target_sec.name
                        )))
                    }
                }
            }
        };
        Ok(Reloc {
            offset,
            insn,
            symbol: sym.index,
            r_type,
            kind,
        })
    }

    fn map_slot_reloc(
        &mut self,
        section: usize,
        offset: u64,
        sym_idx: u64,
    ) -> Result<(), ObjError> {
        let sec_name = self.section_name(section).to_string();
        let sec_size = self.sections.get(section).map_or(0, |s| s.size);
        if offset.checked_add(8).map_or(true, |end| end > sec_size) {
            return Err(ObjError::RelocOutOfBounds {
                section: sec_name,
                offset,
                size: sec_size,
            });
        }
        let target = self.symbol_checked(section, offset, sym_idx)?.name;
        let Some(map) = self.maps.iter_mut().find(|m| {
            m.section == section && m.offset <= offset && offset < m.offset.saturating_add(m.size)
        }) else {
            return Err(ObjError::Reloc {
                section: sec_name,
                offset,
                insn: 0,
                symbol: target.to_string(),
                problem: "no map definition covers this offset".into(),
            });
        };
        let Some(values) = map.values_offset else {
            return Err(ObjError::Map {
                section: sec_name,
                name: map.name.to_string(),
                problem: format!("relocation at {offset:#x} but the map has no `values` member"),
            });
        };
        let rel = offset - map.offset;
        if rel < values || (rel - values) % 8 != 0 {
            return Err(ObjError::Map {
                section: sec_name,
                name: map.name.to_string(),
                problem: format!("relocation at {offset:#x} is not on a `values` slot"),
            });
        }
        let index = ((rel - values) / 8) as u32;
        if map.max_entries != 0 && index >= map.max_entries {
            return Err(ObjError::Map {
                section: sec_name,
                name: map.name.to_string(),
                problem: format!(
                    "initial slot {index} is past max_entries {}",
                    map.max_entries
                ),
            });
        }
        map.initial_slots.push(MapSlot { index, target });
        map.initial_slots.sort_by_key(|s| s.index);
        Ok(())
    }

    /// The name of ELF section `index` (`?` if there is no such section).
    pub fn section_name(&self, index: usize) -> &'a str {
        self.sections.get(index).map_or("?", |s| s.name)
    }

    /// Every program: each global function of each recognized program section (libbpf's view),
    /// plus functions of sections whose name libbpf does not know (with `kind: None`).
    pub fn programs(&self) -> impl Iterator<Item = Program<'_, 'a>> + '_ {
        self.program_sections
            .iter()
            .filter(|ps| !ps.is_text())
            .flat_map(|ps| {
                ps.functions
                    .iter()
                    .filter(|f| f.global)
                    .map(move |f| Program {
                        name: f.name,
                        section_name: ps.name,
                        section: ps.section,
                        kind: ps.kind,
                        function: f,
                        insns: ps
                            .insns
                            .get(f.offset as usize..(f.offset + f.size) as usize)
                            .unwrap_or_default(),
                    })
            })
    }

    /// The executable section with ELF index `section`.
    pub fn program_section(&self, section: usize) -> Option<&ProgramSection<'a>> {
        self.program_sections.iter().find(|p| p.section == section)
    }

    /// The map named `name`.
    pub fn map(&self, name: &str) -> Option<&MapDef<'a>> {
        self.maps.iter().find(|m| m.name == name)
    }

    /// The data section named `name` (`.rodata`, `.data.tuning`, ...).
    pub fn data_section(&self, name: &str) -> Option<&DataSection<'a>> {
        self.data.iter().find(|d| d.name == name)
    }

    /// Parses `.BTF.ext` (func_info, line_info, CO-RE relocations), if present.
    pub fn btf_ext(&self) -> Result<Option<BtfExt<'a>>, ObjError> {
        match (self.btf_ext_bytes, self.btf.as_ref()) {
            (Some(bytes), Some(btf)) => {
                BtfExt::parse(bytes, btf)
                    .map(Some)
                    .map_err(|source| ObjError::Btf {
                        section: ".BTF.ext",
                        source,
                    })
            }
            (Some(_), None) => Err(ObjError::MissingBtf {
                section: ".BTF.ext",
            }),
            (None, _) => Ok(None),
        }
    }
}

/// The variables of DATASEC `name`: (name, VAR's type).
fn datasec_vars<'a>(btf: &Btf<'a>, name: &str) -> Option<Vec<(&'a str, TypeId)>> {
    let id = btf.find_by_name_kind(name, corebpf_btf::Kind::Datasec)?;
    let TypeKind::Datasec { vars, .. } = btf.type_by_id(id).ok()?.kind else {
        return None;
    };
    Some(
        vars.iter()
            .filter_map(|v| {
                let var = btf.type_by_id(v.ty).ok()?;
                match var.kind {
                    TypeKind::Var { ty, .. } => Some((var.name, ty)),
                    _ => None,
                }
            })
            .collect(),
    )
}

fn extern_kind(btf: &Btf<'_>, name: &str) -> (ExternKind, Option<TypeId>, Option<TypeId>) {
    for sec in [".kconfig", ".ksyms"] {
        let Some(id) = btf.find_by_name_kind(sec, corebpf_btf::Kind::Datasec) else {
            continue;
        };
        let Ok(ds) = btf.type_by_id(id) else { continue };
        let TypeKind::Datasec { vars, .. } = ds.kind else {
            continue;
        };
        for v in vars.iter() {
            let Ok(t) = btf.type_by_id(v.ty) else {
                continue;
            };
            if t.name != name {
                continue;
            }
            return match (sec, t.kind) {
                (".kconfig", TypeKind::Var { ty, .. }) => {
                    (ExternKind::Kconfig, Some(t.id), Some(ty))
                }
                (_, TypeKind::Var { ty, .. }) => {
                    let typed = btf
                        .skip_mods_and_typedefs(ty)
                        .map(|r| r != 0)
                        .unwrap_or(false);
                    (ExternKind::Ksym { typed }, Some(t.id), Some(ty))
                }
                (_, TypeKind::Func { proto, .. }) => (ExternKind::Kfunc, Some(t.id), Some(proto)),
                _ => (ExternKind::Unknown, Some(t.id), None),
            };
        }
    }
    // Extern functions need not sit in a DATASEC: look for an extern FUNC by name.
    if let Some(id) = btf.find_by_name_kind(name, corebpf_btf::Kind::Func) {
        if let Ok(t) = btf.type_by_id(id) {
            if let TypeKind::Func {
                proto,
                linkage: corebpf_btf::FuncLinkage::Extern,
            } = t.kind
            {
                return (ExternKind::Kfunc, Some(id), Some(proto));
            }
        }
    }
    (ExternKind::Unknown, None, None)
}

fn parse_btf_maps<'a>(
    btf: &Btf<'a>,
    s: &Section<'a>,
    symbols: &[Symbol<'a>],
    maps: &mut Vec<MapDef<'a>>,
) -> Result<(), ObjError> {
    let Some(id) = btf.find_by_name_kind(".maps", corebpf_btf::Kind::Datasec) else {
        return Err(ObjError::Section {
            index: s.index,
            name: s.name.to_string(),
            problem: "no DATASEC `.maps` in BTF".into(),
        });
    };
    let ds = btf.type_by_id(id).map_err(|source| ObjError::Btf {
        section: ".BTF",
        source,
    })?;
    let TypeKind::Datasec { vars, .. } = ds.kind else {
        return Err(ObjError::Section {
            index: s.index,
            name: s.name.to_string(),
            problem: format!("type [{id}] `.maps` is not a DATASEC"),
        });
    };
    for v in vars.iter() {
        let var = btf.type_by_id(v.ty).map_err(|source| ObjError::Btf {
            section: ".BTF",
            source,
        })?;
        let TypeKind::Var { ty, .. } = var.kind else {
            return Err(ObjError::Section {
                index: s.index,
                name: s.name.to_string(),
                problem: format!("DATASEC entry [{}] is not a VAR", v.ty),
            });
        };
        // clang leaves DATASEC offsets to the loader: the symbol gives the real one.
        let sym = symbols
            .iter()
            .find(|sym| sym.section == Some(s.index) && sym.name == var.name);
        let (offset, size) = match sym {
            Some(sym) => (
                sym.value,
                if sym.size != 0 {
                    sym.size
                } else {
                    u64::from(v.size)
                },
            ),
            None => (u64::from(v.offset), u64::from(v.size)),
        };
        if offset.checked_add(size).map_or(true, |end| end > s.size) {
            return Err(ObjError::Map {
                section: s.name.to_string(),
                name: var.name.to_string(),
                problem: format!(
                    "definition {offset:#x}+{size:#x} lies outside the section (size {:#x})",
                    s.size
                ),
            });
        }
        let mut def = parse_btf_map(
            btf,
            s.name,
            var.name,
            ty,
            MapPlace {
                section: s.index,
                offset,
                size,
            },
            true,
        )?;
        def.btf_var = Some(var.id);
        maps.push(def);
    }
    maps.sort_by_key(|m| m.offset);
    Ok(())
}
