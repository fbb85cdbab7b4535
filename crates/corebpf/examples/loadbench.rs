//! Object open + load + close benchmark, the counterpart of libbpf's `loadbench`
//! (/work/shared/peers/loadbench.c): per-iteration open / load / close times; iteration 1 is
//! "cold" (the kernel BTF is read and feature probes run once per process).
//!
//! usage: loadbench OBJ [iters] [pin-root]

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: loadbench OBJ [iters] [pin-root]")?;
    let iters: usize = args.next().map_or(Ok(1), |s| s.parse())?;
    let pin_root = args.next().map(std::path::PathBuf::from);
    let opts = corebpf::LoadOptions {
        pin_root,
        ..Default::default()
    };
    let (mut to, mut tl, mut tc) = (Vec::new(), Vec::new(), Vec::new());
    let (mut progs, mut maps, mut xlated) = (0, 0, 0u64);
    for i in 0..iters {
        let t0 = Instant::now();
        let open = corebpf::OpenObject::open(&path)?;
        let t1 = Instant::now();
        let obj = open.load_with(&opts)?;
        let t2 = Instant::now();
        if i == 0 {
            progs = obj.programs().len();
            maps = obj.maps().len();
            for p in obj.programs() {
                xlated += u64::from(p.info()?.xlated_prog_len / 8);
            }
        }
        drop(obj);
        let t3 = Instant::now();
        to.push((t1 - t0).as_secs_f64() * 1e3);
        tl.push((t2 - t1).as_secs_f64() * 1e3);
        tc.push((t3 - t2).as_secs_f64() * 1e3);
    }
    print!(
        "{path} corebpf: progs={progs} maps={maps} xlated_insns={xlated} | cold: open {:.3} load {:.3} close {:.3} ms",
        to[0], tl[0], tc[0]
    );
    if iters > 2 {
        let med = |v: &mut Vec<f64>| {
            let w = &mut v[1..];
            w.sort_by(|a, b| a.total_cmp(b));
            w[(w.len() - 1) / 2]
        };
        print!(
            " | warm median(n={}): open {:.3} load {:.3} close {:.3} ms",
            iters - 1,
            med(&mut to),
            med(&mut tl),
            med(&mut tc)
        );
    }
    println!();
    Ok(())
}
