//! Prints a BTF file in bpftool's raw format: `rawdump FILE [BASE]`.
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).ok_or("usage: rawdump FILE [BASE]")?;
    let data = std::fs::read(path)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.get(2) {
        Some(b) => {
            let bdata = std::fs::read(b)?;
            let base = corebpf_btf::Btf::parse(&bdata)?;
            let btf = corebpf_btf::Btf::parse_split(&data, &base)?;
            corebpf_btf::dump_raw(&btf, &mut out)?;
        }
        None => {
            let btf = corebpf_btf::Btf::parse(&data)?;
            corebpf_btf::dump_raw(&btf, &mut out)?;
        }
    }
    out.flush()?;
    Ok(())
}
