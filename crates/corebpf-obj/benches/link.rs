//! In-process open + link benchmarks (no kernel): every test object parsed and linked against
//! this kernel's BTF, which is parsed (and name-indexed) once outside the loop here (bench/obj/run.sh measures the
//! whole job, kernel BTF read included, against libbpf). Also the kernel BTF read + parse + link
//! of the CO-RE-heaviest object, the part a one-shot loader pays per object.

use std::hint::black_box;
use std::time::Duration;

use corebpf_btf::Btf;
use corebpf_obj::link::{KernelConfig, Target};
use corebpf_obj::Object;
use corebpf_testdata::{objects, Cpu, Endian};
use criterion::{criterion_group, criterion_main, Criterion};

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

fn config() -> KernelConfig {
    let mut c = KernelConfig::parse("CONFIG_BPF_SYSCALL=y\nCONFIG_HZ=250\nCONFIG_BPF_JIT=y\n");
    c.kernel_version = (6 << 16) | (18 << 8);
    c
}

fn link(c: &mut Criterion) {
    let kernel_bytes =
        std::fs::read(VMLINUX).unwrap_or_else(|e| panic!("this benchmark needs {VMLINUX}: {e}"));
    let kernel = Btf::parse(&kernel_bytes).expect("kernel BTF");
    kernel.build_name_index();
    let addr = |_: &str| Some(0xffff_ffff_8100_0000u64);
    let target = Target {
        btfs: vec![&kernel],
        config: config(),
        ksym_addr: Some(&addr),
    };
    let objs: Vec<(&str, Vec<u8>)> = objects()
        .iter()
        .filter(|o| o.cpu == Cpu::V3 && o.endian == Endian::Little)
        .map(|o| (o.name, o.read().expect("test object")))
        .collect();

    let mut g = c.benchmark_group("open+link");
    g.sample_size(50).measurement_time(Duration::from_secs(4));
    g.bench_function("all_v3_objects", |b| {
        b.iter(|| {
            let mut n = 0;
            for (name, bytes) in &objs {
                let obj = Object::parse(black_box(bytes)).expect("parse");
                n += obj.link(name, &target).expect("link").programs.len();
            }
            black_box(n)
        })
    });
    for (name, bytes) in &objs {
        if matches!(*name, "core_fields" | "runqlat" | "subprogs" | "maps") {
            g.bench_function(*name, |b| {
                b.iter(|| {
                    let obj = Object::parse(black_box(bytes)).expect("parse");
                    black_box(obj.link(name, &target).expect("link").programs.len())
                })
            });
        }
    }
    if let Some((name, bytes)) = objs.iter().find(|o| o.0 == "core_fields") {
        g.sample_size(20);
        g.bench_function("core_fields_with_kernel_btf_read_and_parse", |b| {
            b.iter(|| {
                let kb = std::fs::read(VMLINUX).expect("kernel BTF");
                let kernel = Btf::parse(&kb).expect("kernel BTF");
                let target = Target {
                    btfs: vec![&kernel],
                    config: config(),
                    ksym_addr: None,
                };
                let obj = Object::parse(black_box(bytes)).expect("parse");
                black_box(obj.link(name, &target).expect("link").programs.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, link);
criterion_main!(benches);
