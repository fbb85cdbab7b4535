//! Classic BPF: decode, encode, tcpdump-style disassembly, parsing of pasted forms, explanation.
