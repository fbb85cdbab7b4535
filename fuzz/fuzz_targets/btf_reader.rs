//! Fuzzes the BTF reader: every input is tried as a stand-alone blob, and as
//! `[u32 length][base][split]` for split BTF. Parsing, every query and the raw dump must
//! never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    corebpf_btf::fuzzing::exercise_btf(data);
    corebpf_btf::fuzzing::exercise_split(data);
});
