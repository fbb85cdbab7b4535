//! BTF and BTF.ext: zero-copy reader, type queries, writer, C header and JSON output.
//!
//! Pure: bytes in, types or errors out.
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
