//! Fuzzes the BTF.ext reader with `[u32 length][BTF][BTF.ext]` inputs (a small built-in
//! BTF stands in when the BTF part does not parse).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    corebpf_btf::fuzzing::exercise_ext(data);
});
