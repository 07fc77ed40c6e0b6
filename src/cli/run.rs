//! `nat-ingest run` and `check-config`.
//!
//! SEED: arguments and entry points are filled in with the pipeline.

use clap::Args;

#[derive(Debug, Args)]
pub struct RunArgs {}

#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// The TOML config file to check.
    pub file: std::path::PathBuf,
}

pub fn run(_args: RunArgs) -> anyhow::Result<()> {
    anyhow::bail!("`run` is not built yet")
}

pub fn check_config(_args: CheckConfigArgs) -> anyhow::Result<()> {
    anyhow::bail!("`check-config` is not built yet")
}
