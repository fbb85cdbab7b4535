//! `corebpf cbpf`: classic BPF filters — decode the forms people paste (`tcpdump -d`, `-dd`,
//! `-ddd`, `ss -0 -b`, raw `struct sock_filter` bytes), disassemble like `tcpdump -d`, explain
//! each instruction in packet terms, reconstruct a pcap filter expression.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::Context;
use corebpf::insn::cbpf::{self, Insn};
use serde_json::json;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Decode a classic BPF program: disassembly with explanations and the filter expression.
    Decode(DecodeArgs),
}

#[derive(clap::Args)]
struct DecodeArgs {
    /// The program text, a file (text or raw 8-byte `struct sock_filter` records), or `-`
    /// (the default) for standard input.
    input: Option<String>,
    /// Print JSON: instructions, notes, accepting paths and the expression.
    #[arg(long)]
    json: bool,
    /// Also list every accepting path with its conditions.
    #[arg(long)]
    explain: bool,
    /// Print only the reconstructed filter expression.
    #[arg(long, conflicts_with_all = ["raw", "explain"])]
    expr: bool,
    /// Print only the `tcpdump -d` disassembly.
    #[arg(long)]
    raw: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Decode(a) => decode(a),
    }
}

/// Read the input: argument text, a file, or stdin; binary files are instruction records.
fn read_input(input: Option<&str>) -> anyhow::Result<(Vec<Insn>, &'static str)> {
    let bytes = match input {
        None | Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("reading standard input")?;
            buf
        }
        Some(s) if !s.contains('\n') && Path::new(s).is_file() => {
            std::fs::read(s).with_context(|| format!("reading {s}"))?
        }
        // One word with a `/` is no classic BPF text: a path that is missing or not a file.
        Some(s) if s.contains('/') && !s.contains(char::is_whitespace) => {
            match std::fs::metadata(s) {
                Ok(_) => anyhow::bail!("reading {s}: not a regular file"),
                Err(e) => return Err(e).with_context(|| format!("reading {s}")),
            }
        }
        Some(s) => s.as_bytes().to_vec(),
    };
    match std::str::from_utf8(&bytes) {
        Ok(text) if !text.contains('\0') => {
            let parsed = cbpf::parse(text).context("parsing the classic BPF program")?;
            Ok((parsed.insns, parsed.form.name()))
        }
        _ => {
            let insns = cbpf::decode(&bytes).context("decoding struct sock_filter records")?;
            Ok((insns, "binary struct sock_filter"))
        }
    }
}

fn decode(a: DecodeArgs) -> anyhow::Result<()> {
    let (insns, form) = read_input(a.input.as_deref())?;
    cbpf::validate(&insns).context("the kernel would reject this program")?;
    let mut out = std::io::stdout().lock();
    if a.raw && !a.json {
        out.write_all(cbpf::disassemble(&insns).as_bytes())?;
        return Ok(());
    }
    let rec = cbpf::reconstruct(&insns);
    if a.expr && !a.json {
        let r = rec.context("reconstructing the filter expression")?;
        writeln!(out, "{}", r.expr)?;
        return Ok(());
    }
    let ex = cbpf::explain(&insns);
    if a.json {
        let v = json!({
            "form": form,
            "count": insns.len(),
            "insns": insns.iter().zip(&ex.insns).map(|(i, n)| json!({
                "pc": n.pc,
                "code": i.code,
                "jt": i.jt,
                "jf": i.jf,
                "k": i.k,
                "text": n.line,
                "notes": n.notes,
            })).collect::<Vec<_>>(),
            "accept_paths": ex.accept_paths.iter().map(|p| json!({
                "conditions": p.conditions,
                "ret_pc": p.ret_pc,
                "snap": p.snap,
            })).collect::<Vec<_>>(),
            "complete": ex.complete,
            "expression": rec.as_ref().ok().map(|r| r.expr.clone()),
            "expression_error": rec.as_ref().err().map(|e| e.to_string()),
            "snap": rec.as_ref().ok().and_then(|r| r.snap),
        });
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "# {} instructions ({form})", insns.len())?;
    out.write_all(ex.annotated().as_bytes())?;
    if a.explain {
        writeln!(out, "\naccepting paths:")?;
        for line in ex.summary().lines() {
            writeln!(out, "  {line}")?;
        }
    }
    match &rec {
        Ok(r) if r.expr.is_empty() => writeln!(out, "\nexpression: (empty: accepts everything)")?,
        Ok(r) => writeln!(out, "\nexpression: {}", r.expr)?,
        Err(e) => writeln!(out, "\nexpression: none ({e})")?,
    }
    Ok(())
}
