//! corebpf: open BPF objects, load them, attach programs, read maps and event streams.

pub use corebpf_btf as btf;
pub use corebpf_insn as insn;
pub use corebpf_obj as obj;
