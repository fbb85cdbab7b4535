//! Fuzzes classic BPF: text in every form (tcpdump -d/-dd/-ddd, comma-separated), the raw
//! `struct sock_filter` decoder, validation, disassembly, explanation, expression
//! reconstruction and the interpreter (on the input bytes as a packet).
#![no_main]

use corebpf_insn::cbpf::{self, Form, RunContext};
use libfuzzer_sys::fuzz_target;

fn exercise(insns: &[cbpf::Insn], packet: &[u8]) {
    let _ = cbpf::disassemble(insns);
    let ex = cbpf::explain(insns);
    let _ = (ex.annotated(), ex.summary());
    let _ = cbpf::reconstruct(insns);
    let valid = cbpf::validate(insns).is_ok();
    let ddd = cbpf::format_ddd(insns);
    match cbpf::parse_as(&ddd, Form::Ddd) {
        Ok(back) => assert_eq!(back, insns, "-ddd output does not parse back"),
        Err(e) => assert!(insns.len() > cbpf::MAX_INSNS || insns.is_empty(), "{e}"),
    }
    let _ = (cbpf::format_c_array(insns), cbpf::format_comma(insns));
    if valid {
        let _ = cbpf::run(insns, &RunContext::new(packet));
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(insns) = cbpf::decode(data) {
        exercise(&insns, data);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = cbpf::parse(text) {
        exercise(&p.insns, data);
    }
    for form in [Form::Ddd, Form::CArray, Form::Comma, Form::Disasm] {
        let _ = cbpf::parse_as(text, form);
    }
});
