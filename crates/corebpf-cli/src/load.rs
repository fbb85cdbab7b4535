//! `corebpf load`: load an object into the kernel (relocated against this kernel's BTF or a
//! given one), print what was created, and optionally pin it.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use corebpf::{LoadOptions, OpenObject};

/// Load a BPF object into the kernel.
#[derive(clap::Args)]
pub struct Args {
    /// The object file (`clang -target bpf -g -O2 -c` output).
    pub file: PathBuf,
    /// Pin every program and map by name under DIR (a directory on bpffs, e.g.
    /// /sys/fs/bpf/myobj; bpffs is mounted at /sys/fs/bpf if needed).
    #[arg(long, value_name = "DIR")]
    pub pin: Option<PathBuf>,
    /// Relocate against this BTF file (raw or .gz) instead of /sys/kernel/btf/vmlinux.
    #[arg(long, value_name = "FILE")]
    pub target_btf: Option<PathBuf>,
    /// Read Kconfig values from FILE instead of /proc/config.gz.
    #[arg(long, value_name = "FILE")]
    pub kconfig: Option<PathBuf>,
    /// Set a global variable before loading (typed by BTF: integers, bools, enum names,
    /// strings for char arrays). Repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// The loaded BPF program that freplace programs (and fentry/fexit/fmod_ret programs whose
    /// function is not the kernel's) attach to: `id:N`, `pinned:PATH` or a path on bpffs.
    #[arg(long, value_name = "TARGET")]
    pub attach_target: Option<String>,
    /// Also print every CO-RE relocation applied and keep the verifier's log statistics.
    #[arg(long, short)]
    pub verbose: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut open = OpenObject::open(&args.file)?;
    for s in &args.set {
        let (name, value) = s
            .split_once('=')
            .with_context(|| format!("--set {s}: expected NAME=VALUE"))?;
        open.set_global_str(name.trim(), value)?;
    }
    if let Some(t) = &args.attach_target {
        open.set_default_attach_target(corebpf::AttachTarget::parse(t)?)
            .with_context(|| format!("--attach-target {t}"))?;
    }
    let opts = LoadOptions {
        target_btf: args.target_btf.clone(),
        kconfig: args.kconfig.clone(),
        log_level: 0,
        pin_root: None,
        ..Default::default()
    };
    let obj = open.load_with(&opts)?;

    for w in obj.warnings() {
        eprintln!("corebpf: warning: {w}");
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    writeln!(
        out,
        "loaded {} ({}): {} program{}, {} map{}",
        obj.name(),
        args.file.display(),
        obj.programs().len(),
        if obj.programs().len() == 1 { "" } else { "s" },
        obj.maps().len(),
        if obj.maps().len() == 1 { "" } else { "s" },
    )?;
    for p in obj.programs() {
        let info = p.info()?;
        let kind = p
            .prog_type()
            .map_or_else(|| p.prog_type_raw().to_string(), |t| t.name().to_string());
        let tag: String = info.tag.iter().map(|b| format!("{b:02x}")).collect();
        write!(
            out,
            "prog {:>5}  {:<16} {:<14} section {}  tag {tag}  insns {}  xlated {}B  jited {}B",
            info.id,
            p.name(),
            kind,
            p.section(),
            p.insn_count(),
            info.xlated_prog_len,
            info.jited_prog_len,
        )?;
        if let Some(id) = p.attach_btf_id() {
            write!(out, "  attach_btf_id {id}")?;
        }
        if let Some(t) = p.target_program() {
            write!(out, "  target {t}")?;
        }
        writeln!(out)?;
        if args.verbose {
            for (insn, r) in p.core_relocations() {
                writeln!(out, "      CO-RE insn {insn}: {r}")?;
            }
        }
    }
    for m in obj.maps() {
        let info = m.info()?;
        let kind = m
            .map_type()
            .map_or_else(|| m.map_type_raw().to_string(), |t| t.name().to_string());
        write!(
            out,
            "map  {:>5}  {:<16} {:<14} key {}B  value {}B  max_entries {}  flags {:#x}",
            info.id,
            m.name(),
            kind,
            m.key_size(),
            m.value_size(),
            m.max_entries(),
            m.flags()
        )?;
        if let Some(p) = m.pinned() {
            write!(out, "  pinned {}", p.display())?;
        }
        writeln!(out)?;
    }
    match &args.pin {
        Some(dir) => {
            let paths = obj.pin_all(dir)?;
            for p in &paths {
                writeln!(out, "pinned {}", p.display())?;
            }
        }
        None => writeln!(
            out,
            "not pinned: the programs and maps are released when corebpf exits (use --pin DIR to keep them)"
        )?,
    }
    Ok(())
}
