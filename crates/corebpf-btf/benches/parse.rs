//! In-process BTF benchmarks on this kernel's BTF: the libbpf peer's task (read, parse,
//! find `task_struct`), parsing alone, a walk over every type and name, name lookups and
//! the raw dump. The libbpf side is `bench/btf/run.sh` (peer `btfbench.c`).

use std::hint::black_box;
use std::time::Duration;

use corebpf_btf::{dump_raw, Btf, Kind};
use criterion::{criterion_group, criterion_main, Criterion};

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

fn read() -> Vec<u8> {
    std::fs::read(VMLINUX).unwrap_or_else(|e| panic!("this benchmark needs {VMLINUX}: {e}"))
}

fn vmlinux(c: &mut Criterion) {
    let data = read();
    let mut g = c.benchmark_group("vmlinux");
    g.sample_size(60).measurement_time(Duration::from_secs(4));

    // What btfbench.c times: btf__parse (reads the file) + btf__find_by_name_kind.
    g.bench_function("read+parse+find_task_struct", |b| {
        b.iter(|| {
            let d = read();
            let btf = Btf::parse(&d).expect("kernel BTF");
            black_box(btf.find_by_name_kind("task_struct", Kind::Struct))
        })
    });
    g.bench_function("read+parse_lazy+find_task_struct", |b| {
        b.iter(|| {
            let d = read();
            let btf = Btf::parse_lazy(&d).expect("kernel BTF");
            black_box(btf.find_by_name_kind("task_struct", Kind::Struct))
        })
    });
    g.bench_function("parse_in_memory", |b| {
        b.iter(|| black_box(Btf::parse(black_box(&data)).expect("kernel BTF").len()))
    });

    let btf = Btf::parse(&data).expect("kernel BTF");
    g.bench_function("walk_all_types_and_names", |b| {
        b.iter(|| {
            let mut structs = 0u32;
            let mut last = "";
            for t in btf.types() {
                if !t.name.is_empty() {
                    structs += u32::from(t.kind_id() == Kind::Struct);
                    last = t.name;
                }
            }
            black_box((structs, last))
        })
    });
    g.bench_function("find_by_name_kind_last_type_scan", |b| {
        let fresh = Btf::parse(&data).expect("kernel BTF");
        b.iter(|| black_box(fresh.find_by_name_kind(".data..percpu", Kind::Datasec)))
    });
    btf.build_name_index();
    g.bench_function("find_by_name_indexed", |b| {
        b.iter(|| black_box(btf.find_by_name(black_box("task_struct")).next()))
    });
    g.bench_function("raw_dump", |b| {
        let mut out = Vec::with_capacity(16 << 20);
        b.iter(|| {
            out.clear();
            dump_raw(&btf, &mut out).expect("writing to memory");
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, vmlinux);
criterion_main!(benches);
