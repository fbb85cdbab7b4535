//! The in-process counterpart of the libbpf peer `btfbench.c`: per iteration, read and
//! parse a BTF file, find `task_struct`, walk every type and its name, and find the last
//! named type; prints medians (and minima) in milliseconds.
//!
//! `btfbench [ITERS] [PATH]`; `LAZY=1` uses `Btf::parse_lazy` (types walked on first need);
//! `MMAP=1` maps the file instead of reading it.

use std::time::Instant;

use corebpf_btf::{Btf, Kind};

fn ms(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2] * 1e3, v[0] * 1e3)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let iters: usize = args.get(1).map_or(Ok(100), |s| s.parse())?;
    let path = args
        .get(2)
        .map_or("/sys/kernel/btf/vmlinux", |s| s.as_str());
    let lazy = std::env::var_os("LAZY").is_some();
    let mmap = std::env::var_os("MMAP").is_some();
    let (mut tp, mut tf, mut tw, mut tl) = (vec![], vec![], vec![], vec![]);
    let (mut id, mut id2, mut n, mut nstructs) = (None, None, 0, 0);
    let mut last = String::new();
    for _ in 0..iters.max(1) {
        let t0 = Instant::now();
        let file;
        let map;
        let read;
        let data: &[u8] = if mmap {
            file = std::fs::File::open(path)?;
            // SAFETY: a private read-only mapping (the kernel allows only that for its BTF
            // files) of kernel BTF, or of a file nobody modifies while this
            // benchmark runs); the bytes are only read while the mapping is alive.
            map = unsafe {
                memmap2::MmapOptions::new()
                    .populate()
                    .map_copy_read_only(&file)?
            };
            &map
        } else {
            read = std::fs::read(path)?;
            &read
        };
        let btf = if lazy {
            Btf::parse_lazy(data)?
        } else {
            Btf::parse(data)?
        };
        tp.push(t0.elapsed().as_secs_f64());

        let t0 = Instant::now();
        id = btf.find_by_name_kind("task_struct", Kind::Struct);
        tf.push(t0.elapsed().as_secs_f64());

        let t0 = Instant::now();
        n = btf.len();
        nstructs = 0;
        let mut last_t = None;
        for t in btf.types() {
            if !t.name.is_empty() {
                if t.kind_id() == Kind::Struct {
                    nstructs += 1;
                }
                last_t = Some((t.name, t.kind_id()));
            }
        }
        tw.push(t0.elapsed().as_secs_f64());

        let t0 = Instant::now();
        if let Some((name, kind)) = last_t {
            id2 = btf.find_by_name_kind(name, kind);
            last = name.to_owned();
        }
        tl.push(t0.elapsed().as_secs_f64());
        std::hint::black_box((&id, &id2));
    }
    let ((mp, minp), (mf, _), (mw, _), (ml, _)) =
        (ms(&mut tp), ms(&mut tf), ms(&mut tw), ms(&mut tl));
    println!(
        "corebpf{}{} {path}: types={n} named_structs={nstructs} | median(min) ms: parse {mp:.3} ({minp:.3}), find task_struct[id {}] {mf:.4}, find last-named-type '{last}'[id {}] {ml:.3}, walk all types+names {mw:.3}",
        if lazy { " (lazy)" } else { "" },
        if mmap { " (mmap)" } else { "" },
        id.unwrap_or(0),
        id2.unwrap_or(0),
    );
    Ok(())
}
