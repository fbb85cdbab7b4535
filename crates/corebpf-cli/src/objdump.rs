//! `corebpf objdump`.

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`corebpf objdump` is not available in this build yet")
}
