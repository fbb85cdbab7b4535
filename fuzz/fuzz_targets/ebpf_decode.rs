//! Fuzzes the eBPF decoder in both byte orders: whatever decodes must re-encode to the same
//! bytes, print without panicking, and its printed form must read back to the same text.
#![no_main]

use corebpf_insn::ebpf::{decode_all, parse_insn, Decoder, Endian};
use libfuzzer_sys::fuzz_target;
use std::fmt::Write;

fuzz_target!(|data: &[u8]| {
    for endian in [Endian::Little, Endian::Big] {
        let mut text = String::new();
        let mut consumed = 0usize;
        for (slot, insn) in Decoder::new(data, endian) {
            let Ok(insn) = insn else { break };
            text.clear();
            let _ = write!(text, "{insn}");
            let bytes = insn.to_bytes(endian);
            let start = slot * 8;
            assert_eq!(
                data.get(start..start + bytes.len()),
                Some(&bytes[..]),
                "slot {slot} does not re-encode to its bytes"
            );
            consumed = start + bytes.len();
            assert!(insn.validate().is_ok(), "decoded insn fails validate");
            let _ = (
                insn.jump_target(slot),
                insn.call_target(slot),
                insn.ld_imm64(),
            );
            // The verifier syntax drops fields of some kernel-internal forms (a translated
            // call prints only its target), so the text is checked to read back to itself.
            if let Ok(back) = parse_insn(&text) {
                assert_eq!(
                    back.to_string(),
                    text,
                    "`{text}` reads back as another insn"
                );
            }
        }
        if let Ok(all) = decode_all(data, endian) {
            assert_eq!(
                consumed,
                data.len(),
                "decode_all accepted a stream the decoder stopped in"
            );
            let _ = all.len();
        }
    }
});
