//! Decode + disassemble throughput over every instruction of the llvm ISA corpus.

use std::fmt::Write as _;
use std::path::Path;

use corebpf_insn::ebpf::{Decoder, Endian};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use object::{Object, ObjectSection};

fn isa_text() -> Vec<u8> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/llvm-isa/isa_all.o");
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file = object::File::parse(&*data).expect("ELF");
    let text = file.section_by_name(".text").expect(".text");
    text.data().expect("data").to_vec()
}

fn bench(c: &mut Criterion) {
    let text = isa_text();
    let count = Decoder::new(&text, Endian::Little).count() as u64;
    let mut g = c.benchmark_group("ebpf");
    g.throughput(Throughput::Elements(count));
    g.bench_function("decode_disassemble_isa_all", |b| {
        b.iter_batched_ref(
            || String::with_capacity(16 * 1024),
            |out| {
                out.clear();
                for (_, r) in Decoder::new(&text, Endian::Little) {
                    let insn = r.expect("valid corpus");
                    writeln!(out, "{insn}").expect("write to String");
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("decode_only_isa_all", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for (_, r) in Decoder::new(std::hint::black_box(&text), Endian::Little) {
                n += r.map(|i| i.slots()).unwrap_or(0);
            }
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
