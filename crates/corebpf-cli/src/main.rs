//! `corebpf`: a BPF compiler collection — objdump, BTF and classic BPF tools, loading and tracing.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod btf;
mod cbpf;
mod cgroup;
mod feature;
mod gen;
mod introspect;
mod introspect_btf;
mod link;
mod load;
mod map;
mod net;
mod objdump;
mod prog;
mod run;
mod run_hist;

#[derive(Parser)]
#[command(
    name = "corebpf",
    version,
    about = "BPF objects, BTF and programs: inspect, load, run"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Disassemble a BPF ELF object: programs, maps, globals, CO-RE sites, source lines.
    Objdump(objdump::Args),
    /// Inspect BTF: dump (raw, C header, JSON) and find types.
    Btf(btf::Args),
    /// Classic BPF: decode, disassemble and explain filters.
    Cbpf(cbpf::Args),
    /// Load a BPF object into the kernel (CO-RE relocated), print and optionally pin it.
    Load(load::Args),
    /// Programs loaded in the kernel: list, show, dump translated or JIT-compiled code.
    Prog(prog::Args),
    /// Maps in the kernel: list, show, dump entries (BTF-formatted).
    Map(map::Args),
    /// BPF links in the kernel: what each program is attached to.
    Link(link::Args),
    /// What this kernel supports: program, map and attach types, helpers per program type.
    Feature(feature::Args),
    /// XDP and tc programs per network interface.
    Net(net::Args),
    /// Programs attached to cgroups.
    Cgroup(cgroup::Args),
    /// Run a BPF program (C source or object) around a command: attach, stream events, print maps.
    Run(run::Args),
    /// Generate files from objects: `min-btf` (the BTF types their CO-RE relocations need).
    Gen(gen::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Commands the kernel refuses without privileges, and the capabilities they need.
    let privileged: Option<(String, &[run::Cap])> = match &cli.command {
        Command::Load(_) => Some(("load".into(), &[run::CAP_BPF, run::CAP_PERFMON])),
        Command::Prog(_) => Some((command_words(2), &[run::CAP_SYS_ADMIN])),
        _ => None,
    };
    let result = match cli.command {
        Command::Objdump(args) => objdump::run(args),
        Command::Btf(args) => btf::run(args),
        Command::Cbpf(args) => cbpf::run(args),
        Command::Prog(args) => prog::run(args),
        Command::Map(args) => map::run(args),
        Command::Link(args) => link::run(args),
        Command::Feature(args) => feature::run(args),
        Command::Net(args) => net::run(args),
        Command::Cgroup(args) => cgroup::run(args),
        Command::Load(args) => load::run(args),
        Command::Run(args) => run::run(args),
        Command::Gen(args) => gen::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A closed stdout (`corebpf objdump x.o | head`) is not an error worth a message.
            if err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            // A refusal for want of privilege is said in one sentence naming what is missing.
            if let Some((command, caps)) = privileged.filter(|_| not_permitted(&err)) {
                let missing = run::missing_caps(caps);
                if !missing.is_empty() {
                    eprintln!("corebpf: {}", run::needs_root(&command, &missing));
                    return ExitCode::FAILURE;
                }
            }
            eprintln!("corebpf: {}", error_text(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes joined with `: `, leaving out a cause whose text already ends the
/// message before it (errors that print their source as part of their own message).
fn error_text(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let msg = cause.to_string();
        if text.ends_with(&msg) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&msg);
    }
    text
}

/// Whether the kernel refused with EPERM somewhere in the error's chain.
fn not_permitted(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.raw_os_error() == Some(1))
            || cause.to_string().contains("Operation not permitted")
    })
}

/// Up to `n` leading words of the command line (`prog list`), for messages.
fn command_words(n: usize) -> String {
    std::env::args()
        .skip(1)
        .take_while(|a| !a.starts_with('-') && a.bytes().all(|b| b.is_ascii_lowercase()))
        .take(n)
        .collect::<Vec<_>>()
        .join(" ")
}
