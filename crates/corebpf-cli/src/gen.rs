//! `corebpf gen`: files generated from objects. `gen min-btf` writes the minimal BTF that
//! relocates given objects exactly as a full kernel BTF does (for kernels without BTF of
//! their own: ship the small file and load with `--target-btf`).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use corebpf_btf::Btf;
use corebpf_obj::min_btf::{MinBtfBuilder, MinBtfError};
use corebpf_obj::Object;

/// Generate files from BPF objects.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Minimal BTF for the CO-RE relocations of OBJ...: only the types, members and
    /// enumerators they need from the full kernel BTF (as `bpftool gen min_core_btf`).
    MinBtf(MinBtfArgs),
}

#[derive(clap::Args)]
pub struct MinBtfArgs {
    /// BPF objects (`clang -target bpf -g -O2 -c` output).
    #[arg(required = true, value_name = "OBJ")]
    pub objects: Vec<PathBuf>,
    /// The full kernel BTF to take types from (raw, .gz, or an ELF file's .BTF section).
    #[arg(long, value_name = "FULL", default_value = "/sys/kernel/btf/vmlinux")]
    pub btf: PathBuf,
    /// Where to write the minimal BTF.
    #[arg(short = 'o', long, value_name = "OUT")]
    pub output: PathBuf,
    /// Print per-object relocation counts and the size of the result.
    #[arg(short, long)]
    pub verbose: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::MinBtf(a) => min_btf(a),
    }
}

fn min_btf(args: MinBtfArgs) -> anyhow::Result<()> {
    // gzip-compressed BTF is inflated; raw BTF or an ELF file's .BTF is used in place (kernel
    // BTF files are mapped, not copied).
    let (unzipped, source);
    let full_bytes: &[u8] = if is_gzip(&args.btf)? {
        unzipped = corebpf::target::read_btf_file(&args.btf)?;
        &unzipped
    } else {
        source = crate::btf::Source::read(&args.btf)?;
        source.btf_bytes()?
    };
    let full =
        Btf::parse(full_bytes).with_context(|| format!("{}: not valid BTF", args.btf.display()))?;
    let mut builder =
        MinBtfBuilder::new(&full).with_context(|| format!("{}", args.btf.display()))?;
    let mut files = Vec::with_capacity(args.objects.len());
    for path in &args.objects {
        files.push(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?);
    }
    let mut objects = Vec::with_capacity(files.len());
    for (path, bytes) in args.objects.iter().zip(&files) {
        objects.push(Object::parse(bytes).with_context(|| format!("{}", path.display()))?);
    }
    let refs: Vec<&Object<'_>> = objects.iter().collect();
    let sums = builder.add_objects(&refs).map_err(|e| match e {
        MinBtfError::InObject { index, source } => {
            let path = args.objects.get(index).map(|p| p.display().to_string());
            anyhow::Error::new(*source).context(path.unwrap_or_default())
        }
        e => e.into(),
    })?;
    let mut lines = Vec::new();
    for (path, sum) in args.objects.iter().zip(&sums) {
        for f in &sum.failures {
            eprintln!(
                "corebpf: warning: {}: section {} CO-RE relocation #{} at insn {} ({}) cannot be computed against {}: {} (the minimal BTF fails it the same way)",
                path.display(),
                f.section,
                f.index,
                f.insn,
                f.kind.name(),
                args.btf.display(),
                f.problem
            );
        }
        if args.verbose {
            lines.push(format!(
                "{}: {} CO-RE relocations: {} resolved, {} without a target, {} local, {} failed",
                path.display(),
                sum.relocations,
                sum.resolved,
                sum.unresolved,
                sum.local,
                sum.failures.len()
            ));
        }
    }
    let min = builder.finish()?;
    std::fs::write(&args.output, &min.bytes)
        .with_context(|| format!("writing {}", args.output.display()))?;
    if args.verbose {
        let mut out = std::io::stdout().lock();
        for l in lines {
            writeln!(out, "{l}")?;
        }
        writeln!(
            out,
            "wrote {}: {} of {} types, {} bytes (full BTF {} bytes)",
            args.output.display(),
            min.type_count(),
            full.len().saturating_sub(1),
            min.bytes.len(),
            full_bytes.len()
        )?;
    }
    Ok(())
}

/// Whether `path` starts with the gzip magic.
fn is_gzip(path: &std::path::Path) -> anyhow::Result<bool> {
    use std::io::Read as _;
    let mut magic = [0u8; 2];
    let mut f =
        std::fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(f.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b])
}
