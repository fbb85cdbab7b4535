//! The BPF ELF object model and its relocations, CO-RE included.
//!
//! Pure: object bytes (plus a target BTF) in, load-ready programs out.
