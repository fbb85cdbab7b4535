//! Times reading + parsing a BTF file and one name lookup: `parsetime FILE NAME ITERS`.
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .map_or("/sys/kernel/btf/vmlinux", |s| s.as_str());
    let name = args.get(2).map_or("task_struct", |s| s.as_str());
    let iters: usize = args.get(3).map_or(Ok(50), |s| s.parse())?;
    let lazy = std::env::var_os("LAZY").is_some();
    let (mut tr, mut tp, mut tf) = (vec![], vec![], vec![]);
    for _ in 0..iters {
        let t0 = Instant::now();
        let data = std::fs::read(path)?;
        let t1 = Instant::now();
        let btf = if lazy {
            corebpf_btf::Btf::parse_lazy(&data)?
        } else {
            corebpf_btf::Btf::parse(&data)?
        };
        let t2 = Instant::now();
        let id = btf.find_by_name_kind(name, corebpf_btf::Kind::Struct);
        let t3 = Instant::now();
        std::hint::black_box(id);
        tr.push((t1 - t0).as_secs_f64() * 1e3);
        tp.push((t2 - t1).as_secs_f64() * 1e3);
        tf.push((t3 - t2).as_secs_f64() * 1e3);
    }
    for v in [&mut tr, &mut tp, &mut tf] {
        v.sort_by(|a, b| a.total_cmp(b));
    }
    let m = iters / 2;
    println!(
        "read {:.3} ms, parse {:.3} ms, find {:.4} ms",
        tr[m], tp[m], tf[m]
    );
    Ok(())
}
