//! eBPF instructions (cpu v1–v4): typed model, decode, encode, disassembly.
