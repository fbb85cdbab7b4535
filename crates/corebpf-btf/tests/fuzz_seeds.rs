//! The fuzz targets' logic on the stable toolchain: every real blob (the fuzz seeds), then
//! random mutations of small real blobs (proptest). Nothing may panic.

mod btf_support;

use std::path::Path;

use btf_support::*;
use corebpf_btf::fuzzing::{exercise_btf, exercise_ext, exercise_split, join_input};
use proptest::prelude::*;

/// (.BTF, .BTF.ext) of every test object plus the all-kinds program.
fn object_sections() -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    for o in corebpf_testdata::objects() {
        let elf = o.read().expect("readable");
        out.push((
            elf_section(&elf, ".BTF").expect(".BTF"),
            elf_section(&elf, ".BTF.ext"),
        ));
    }
    let dir = scratch("fuzz-kinds");
    for target in ["bpf", "bpfeb"] {
        let elf = read(&compile(&dir, &data("btf_kinds.bpf.c"), target, &[]));
        out.push((
            elf_section(&elf, ".BTF").expect(".BTF"),
            elf_section(&elf, ".BTF.ext"),
        ));
    }
    out
}

#[test]
fn seeds_run_clean() {
    exercise_btf(&read(Path::new(VMLINUX)));
    exercise_btf(&read_gz(&corpus("vmlinux.btf.gz")));
    let base = read(&corpus("btf_testmod.btf.base"));
    exercise_btf(&base);
    exercise_split(&join_input(&base, &read(&corpus("btf_testmod.btf"))));
    let mut with_ext = 0;
    for (btf, ext) in object_sections() {
        exercise_btf(&btf);
        if let Some(ext) = ext {
            exercise_ext(&join_input(&btf, &ext));
            with_ext += 1;
        }
    }
    assert!(with_ext > 5);
}

/// Small real inputs to mutate: test-program BTF, BTF+BTF.ext pairs, split BTF on its base.
type Inputs = (Vec<Vec<u8>>, Vec<Vec<u8>>, Vec<u8>);

fn small_inputs() -> &'static Inputs {
    static INPUTS: std::sync::OnceLock<Inputs> = std::sync::OnceLock::new();
    INPUTS.get_or_init(|| {
        let mut btfs = Vec::new();
        let mut exts = Vec::new();
        for (btf, ext) in object_sections() {
            if btf.len() < 64 * 1024 {
                if let Some(ext) = ext {
                    exts.push(join_input(&btf, &ext));
                }
                btfs.push(btf);
            }
        }
        let split = join_input(
            &read(&corpus("btf_testmod.btf.base")),
            &read(&corpus("btf_testmod.btf")),
        );
        (btfs, exts, split)
    })
}

/// A mutation: overwrite, insert, delete or truncate at a position.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    SetWord(usize, u32),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn apply(data: &mut Vec<u8>, edits: &[Edit]) {
    for e in edits {
        let n = data.len().max(1);
        match e {
            Edit::Set(i, b) => {
                if let Some(x) = data.get_mut(i % n) {
                    *x = *b;
                }
            }
            Edit::SetWord(i, w) => {
                let i = i % n;
                for (k, b) in w.to_le_bytes().into_iter().enumerate() {
                    if let Some(x) = data.get_mut(i + k) {
                        *x = b;
                    }
                }
            }
            Edit::Insert(i, bytes) => {
                let i = i % n;
                data.splice(i..i, bytes.iter().copied());
            }
            Edit::Delete(i, len) => {
                let i = i % n;
                let end = (i + len).min(data.len());
                data.drain(i..end);
            }
            Edit::Truncate(i) => data.truncate(i % n),
        }
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    // Words that stress bounds: 0, small, around type counts, huge.
    let word = prop_oneof![
        Just(0u32),
        Just(u32::MAX),
        Just(0xffff),
        Just(0x1fff_ffff),
        0u32..64,
        any::<u32>()
    ];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), word).prop_map(|(i, w)| Edit::SetWord(i, w)),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(i, v)| Edit::Insert(i, v)),
        (any::<usize>(), 1usize..64).prop_map(|(i, l)| Edit::Delete(i, l)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn mutated_btf_never_panics(pick in any::<usize>(), edits in proptest::collection::vec(edit(), 1..8)) {
        let (btfs, _, _) = small_inputs();
        let mut data = btfs[pick % btfs.len()].clone();
        apply(&mut data, &edits);
        exercise_btf(&data);
    }

    #[test]
    fn mutated_btf_ext_never_panics(pick in any::<usize>(), edits in proptest::collection::vec(edit(), 1..8)) {
        let (_, exts, _) = small_inputs();
        let mut data = exts[pick % exts.len()].clone();
        // Mutate mostly the BTF.ext part (after the length word and the BTF).
        let btf_len = u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as usize;
        let mut ext = data.split_off(4 + btf_len);
        apply(&mut ext, &edits);
        data.extend_from_slice(&ext);
        exercise_ext(&data);
    }

    #[test]
    fn mutated_split_btf_never_panics(edits in proptest::collection::vec(edit(), 1..8)) {
        let (_, _, split) = small_inputs();
        let mut data = split.clone();
        apply(&mut data, &edits);
        exercise_split(&data);
    }
}
