//! The C header output on BTF built for the purpose: clang compiles `tests/data/c_dump_edge.c`
//! (every awkward declaration this crate knows of) to BTF; the header generated from that BTF
//! must compile warning-free, reproduce every size and offset, and compile back to the same BTF.

use std::collections::HashMap;

use corebpf_btf::Btf;

mod c_dump_support;
use c_dump_support::*;

fn edge_btf(dir: &std::path::Path) -> Vec<u8> {
    let src_path = manifest_dir().join("tests/data/c_dump_edge.c");
    let src = std::fs::read_to_string(&src_path).expect("reading c_dump_edge.c");
    let obj = compile(dir, "c_dump_edge.c", &src, &[]);
    btf_of_object(&obj)
}

#[test]
fn edge_cases_compile_with_clang_layout_and_round_trip() {
    let dir = scratch("edge");
    let data = edge_btf(&dir);
    let btf = Btf::parse(&data).expect("parsing clang's BTF");
    let (header, checks) = check_header_layout("edge_layout", &btf);
    assert_eq!(checks.records, 20, "named structs/unions in c_dump_edge.c");
    let rt_dir = scratch("edge_round_trip");
    let rt = round_trip(&rt_dir, &btf, &header, &HashMap::new());
    assert_eq!(rt.records, checks.records);
    assert_eq!(rt.enums, 5);
    eprintln!("{header}");
}
