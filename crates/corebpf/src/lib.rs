//! corebpf: open BPF objects, load them, attach programs, read maps and event streams.
//!
//! ```no_run
//! let mut open = corebpf::OpenObject::open("core_fields.bpf.o")?;
//! open.set_global("target_tgid", &std::process::id().to_ne_bytes())?;
//! let obj = open.load()?;
//! let results = obj.map("results").expect("declared in the object");
//! let value = results.lookup(&0u32.to_ne_bytes())?;
//! # Ok::<(), corebpf::LoadError>(())
//! ```
//!
//! Loading is a transaction: the object's BTF (rewritten for what this kernel supports), then
//! its maps, then its programs. When anything fails, every kernel object created so far is
//! closed and every pin made removed, and the error names what failed; a verifier rejection
//! comes back as [`LoadError::Verifier`] with the failing instruction, its source line, the
//! CO-RE access there and a hint.

pub use corebpf_btf as btf;
pub use corebpf_insn as insn;
pub use corebpf_obj as obj;

pub mod attach;
pub mod attach_target;
pub mod btf_fixup;
pub mod compile;
mod error;
#[cfg(feature = "tokio")]
mod event_async;
pub mod kprobe;
pub mod link;
mod map;
pub mod maps;
mod object;
pub mod perfbuf;
pub mod pin;
mod plan;
mod program;
pub mod ringbuf;
pub mod struct_ops;
pub mod symbolize;
pub mod target;
pub mod uprobe;
pub mod usdt;
pub mod user_ringbuf;
mod value;
pub mod verifier;

pub use attach_target::AttachTarget;
pub use error::{LoadError, SourceLine, LOG_TAIL_LINES};
pub use link::{AttachError, Link};
pub use map::{possible_cpus, Map, MapKeys};
pub use object::{GlobalVar, LoadOptions, MapSpecInfo, Object, OpenObject, ProgramSpec};
pub use program::Program;
pub use struct_ops::StructOps;
