//! The one-pass candidate search gives exactly what the per-type search gives, for every
//! local type of every test object's CO-RE relocations (and every named local type), against
//! this kernel's BTF, a foreign kernel's, and a module BTF split on its base.

use std::io::Read;

use corebpf_btf::Btf;
use corebpf_obj::core_relo::{find_candidates, find_candidates_batch};
use corebpf_obj::Object;
use corebpf_testdata::objects;

fn check(targets: &[&Btf<'_>]) -> usize {
    let mut compared = 0;
    for o in objects() {
        let bytes = o.read().unwrap();
        let obj = Object::parse(&bytes).unwrap();
        let Some(local) = obj.btf.as_ref() else {
            continue;
        };
        let ids: Vec<u32> = (1..local.len()).collect();
        let batch = find_candidates_batch(local, &ids, targets).expect("batch search");
        for id in ids {
            let one = find_candidates(local, id, targets).expect("search");
            let a: Vec<(u32, u32)> = one.iter().map(|c| (c.btf.first_id(), c.id)).collect();
            let b: Vec<(u32, u32)> = batch[&id]
                .iter()
                .map(|c| (c.btf.first_id(), c.id))
                .collect();
            assert_eq!(a, b, "{}: local type [{id}]", o.label());
            compared += usize::from(!a.is_empty());
        }
    }
    compared
}

#[test]
fn batch_search_agrees_with_per_type_search() {
    let kernel = std::fs::read("/sys/kernel/btf/vmlinux").expect("/sys/kernel/btf/vmlinux");
    let kernel = Btf::parse(&kernel).unwrap();
    assert!(check(&[&kernel]) > 100);

    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpora/btf/");
    let gz = std::fs::read(format!("{dir}vmlinux.btf.gz")).expect("foreign BTF");
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut raw)
        .unwrap();
    let foreign = Btf::parse(&raw).unwrap();
    assert!(check(&[&foreign]) > 100);

    let base = std::fs::read(format!("{dir}btf_testmod.btf.base")).unwrap();
    let base = Btf::parse(&base).unwrap();
    let module = std::fs::read(format!("{dir}btf_testmod.btf")).unwrap();
    let module = Btf::parse_split(&module, &base).unwrap();
    check(&[&base, &module]);
    check(&[&kernel, &module]);
}
