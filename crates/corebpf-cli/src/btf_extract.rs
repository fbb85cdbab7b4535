//! `corebpf btf extract`: carve the kernel's BTF out of a kernel image.
//!
//! Accepts an ELF vmlinux, an x86 bzImage (gzip, xz, lzma, zstd or lz4 payload), an arm64 or
//! RISC-V `Image`, those compressed as a whole (`Image.gz`), and EFI zboot images. The output
//! is the raw BTF blob, byte for byte what that kernel shows as `/sys/kernel/btf/vmlinux`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

#[derive(clap::Args)]
pub struct ExtractArgs {
    /// Kernel image: vmlinux, bzImage/vmlinuz, Image, Image.gz, zboot vmlinuz.efi.
    image: PathBuf,
    /// Write the BTF to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print where the BTF was found to standard error.
    #[arg(long, short = 'v')]
    verbose: bool,
}

pub fn run(a: ExtractArgs) -> Result<()> {
    let name = a.image.display();
    let data = std::fs::read(&a.image).with_context(|| format!("{name}: cannot read"))?;
    let found =
        corebpf_btf::extract::extract(&data).with_context(|| format!("{name}: no kernel BTF"))?;
    if a.verbose {
        eprintln!(
            "{name}: {} bytes of BTF at offset {} of {}",
            found.bytes().len(),
            found.offset,
            found.describe()
        );
    }
    match &a.output {
        Some(path) => std::fs::write(path, found.bytes())
            .with_context(|| format!("{}: cannot write", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            if std::io::IsTerminal::is_terminal(&out) {
                bail!("refusing to write binary BTF to a terminal: use -o FILE or a redirection");
            }
            out.write_all(found.bytes())?;
            out.flush()?;
        }
    }
    Ok(())
}
