//! The BPF ELF object model: programs, maps, global data, externs and relocations, read from
//! the bytes of a clang-built `.bpf.o`.
//!
//! Pure: object bytes in, a borrowed data model (or an [`ObjError`] naming the section and
//! offset) out. Applying relocations (maps, global data, subprograms, CO-RE) builds on this model.
//!
//! ```no_run
//! let bytes = std::fs::read("execsnoop.bpf.o").unwrap();
//! let obj = corebpf_obj::Object::parse(&bytes).unwrap();
//! for prog in obj.programs() {
//!     println!("{} in {}: {:?}", prog.name, prog.section_name, prog.kind.map(|k| k.prog_type));
//! }
//! ```

macro_rules! kernel_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $value:literal => $text:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u32)]
        pub enum $name {
            $($variant = $value,)*
        }

        impl $name {
            /// Every value, in kernel order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The kernel's number for this value.
            pub fn as_raw(self) -> u32 {
                self as u32
            }

            /// The value for a kernel number, if this crate knows it.
            pub fn from_raw(v: u32) -> Option<$name> {
                match v {
                    $($value => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// Lower-case name as bpftool prints it.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

pub mod core;
pub mod core_relo;
pub mod ctype;
mod error;
pub mod link;
mod maps;
pub mod min_btf;
mod object;
mod prog;
mod since;
pub mod struct_ops;

pub use corebpf_btf::Endian;
pub use error::ObjError;
pub use maps::{MapDef, MapSlot, MapType, PinningType};
pub use object::{
    DataKind, DataSection, Extern, ExternKind, Function, Object, Program, ProgramSection, Reloc,
    RelocKind, Section, SectionKind, Symbol, SymbolBinding, SymbolKind, Variable,
};
pub use prog::{AttachType, ProgType, ProgramKind};
pub use struct_ops::{StructOpsMap, StructOpsMember};

/// Size of one BPF instruction slot in bytes.
pub const INSN_SIZE: usize = 8;
