//! The BPF instruction sets: eBPF (cpu v1–v4) and classic BPF.
//!
//! Pure: decode, encode and disassemble; no I/O, no kernel.

pub mod cbpf;
pub mod ebpf;
