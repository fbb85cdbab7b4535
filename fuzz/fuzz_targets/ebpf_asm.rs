//! Fuzzes the eBPF assembler and the verifier-syntax line parser with arbitrary text.
//! Assembled programs must encode, decode back to themselves and print.
#![no_main]

use corebpf_insn::ebpf::{asm::assemble, decode_all, encode_all, parse_insn, Endian};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(insns) = assemble(text) {
        let bytes = encode_all(&insns, Endian::Little);
        match decode_all(&bytes, Endian::Little) {
            Ok(back) => assert_eq!(back, insns, "assembled program does not decode to itself"),
            Err(e) => panic!("assembled program does not decode: {e}"),
        }
        for i in &insns {
            let _ = i.to_string();
        }
    }
    for line in text.lines().take(64) {
        if let Ok(insn) = parse_insn(line) {
            let _ = insn.to_string();
            let _ = insn.to_bytes(Endian::Big);
        }
    }
});
