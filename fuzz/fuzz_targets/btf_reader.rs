//! Fuzzes the BTF reader: every input is tried as a stand-alone blob, and as
//! `[u32 length][base][split]` for split BTF. Parsing, every query and the raw, C and JSON
//! dumps must never panic or hang.
#![no_main]

use corebpf_btf::{c_dump, json, Btf};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    corebpf_btf::fuzzing::exercise_btf(data);
    corebpf_btf::fuzzing::exercise_split(data);
    // Large blobs (whole kernels) only get the cheap walk above.
    if data.len() > 256 * 1024 {
        return;
    }
    if let Ok(btf) = Btf::parse(data) {
        let _ = c_dump::dump_c(&btf, &mut std::io::sink(), &c_dump::COptions::default());
        let opts = c_dump::COptions {
            preserve_access_index: true,
            only: Some(vec![btf.len().saturating_sub(1), btf.len()]),
        };
        let _ = c_dump::dump_c(&btf, &mut std::io::sink(), &opts);
        let _ = json::dump_json(&btf, std::io::sink(), &json::JsonOptions { pretty: true });
    }
});
