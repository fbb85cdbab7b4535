//! C header and JSON output of the running kernel's BTF (the `vmlinux.h` a BPF build generates),
//! and the header for one type with its dependencies. Parsing is outside the measured loop.

use criterion::{criterion_group, criterion_main, Criterion};

use corebpf_btf::c_dump::{dump_c, COptions};
use corebpf_btf::json::{dump_json, JsonOptions};
use corebpf_btf::{Btf, Kind};

const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

fn bench(c: &mut Criterion) {
    let data = std::fs::read(KERNEL_BTF)
        .unwrap_or_else(|e| panic!("this benchmark needs {KERNEL_BTF}: {e}"));
    let btf = Btf::parse(&data).expect("kernel BTF");
    let mut out = Vec::with_capacity(8 << 20);

    let mut g = c.benchmark_group("btf_c_dump");
    g.sample_size(20);
    g.bench_function("vmlinux_h", |b| {
        b.iter(|| {
            out.clear();
            dump_c(&btf, &mut out, &COptions::default()).expect("C dump");
            out.len()
        })
    });
    let task = btf
        .find_by_name_kind("task_struct", Kind::Struct)
        .expect("task_struct");
    let only = COptions {
        only: Some(vec![task]),
        ..COptions::default()
    };
    g.bench_function("task_struct_only", |b| {
        b.iter(|| {
            out.clear();
            dump_c(&btf, &mut out, &only).expect("C dump");
            out.len()
        })
    });
    g.bench_function("json", |b| {
        b.iter(|| {
            out.clear();
            dump_json(&btf, &mut out, &JsonOptions::default()).expect("JSON dump");
            out.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
