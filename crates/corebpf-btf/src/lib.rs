//! BTF and BTF.ext: zero-copy reader, type queries, writer, C header and JSON output.
//!
//! Pure: bytes in, types or errors out.
//!
//! - [`Btf`] borrows the blob (a raw BTF file, a `.BTF` section, or split module BTF on its
//!   base) and keeps one table of record offsets; [`Type`]s are decoded from the bytes when
//!   asked for, in either byte order. [`Btf::parse`] validates everything up front (header,
//!   section bounds, record sizes, kinds, name offsets, type references); malformed input gives
//!   a [`BtfError`] naming the type id or byte offset and the problem. [`Btf::parse_lazy`]
//!   defers the type-section walk to the first query that needs it, which makes opening kernel
//!   BTF to look up one early type nearly free. Queries that follow references (modifiers,
//!   typedefs, arrays, nested structs) stop with an error on reference loops.
//! - [`BtfExt`] reads `.BTF.ext`: func_info, line_info and CO-RE relocation records per
//!   ELF section.
//! - [`BtfBuilder`] writes little-endian BTF, from scratch or from parsed types.
//! - [`dump_raw`] prints types exactly as `bpftool btf dump file FILE format raw` does;
//!   [`c_dump`] and [`json`] write a C header and JSON.
//!
//! ```no_run
//! let data = std::fs::read("/sys/kernel/btf/vmlinux").unwrap();
//! let btf = corebpf_btf::Btf::parse(&data).unwrap();
//! let id = btf.find_by_name_kind("task_struct", corebpf_btf::Kind::Struct).unwrap();
//! println!("{}", btf.size_of(id).unwrap());
//! ```

mod btf;
mod error;
mod ext;
mod strings;
mod types;

pub mod c_dump;
pub mod extract;
#[doc(hidden)]
pub mod fuzzing;
pub mod json;
pub mod raw;
mod writer;

pub use btf::{essential_name, Btf, Header, BTF_MAGIC, HEADER_LEN};
pub use error::{BtfError, ExtProblem, RefSite, TypeProblem};
pub use ext::{
    BtfExt, CoreRelo, CoreReloIter, CoreReloKind, ExtHeader, FuncInfo, FuncInfoIter, LineInfo,
    LineInfoIter, EXT_HEADER_LEN_CORE, EXT_HEADER_LEN_MIN,
};
pub use raw::dump_raw;
pub use types::{
    Endian, Enum64Values, Enum64ValuesIter, EnumValue, EnumValues, EnumValuesIter, FuncLinkage,
    IntEncoding, Kind, Member, Members, MembersIter, Param, Params, ParamsIter, Type, TypeId,
    TypeKind, VarLinkage, VarSecInfo, VarSecInfos, VarSecInfosIter,
};
pub use writer::BtfBuilder;
