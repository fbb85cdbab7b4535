//! `corebpf cbpf`.

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`corebpf cbpf` is not available in this build yet")
}
