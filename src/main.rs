//! The `nat-ingest` binary: parse arguments, install the tracing subscriber, run the subcommand.

use clap::Parser;
use nat_ingest::cli::{Cli, Command};
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&cli.log).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();

    match cli.command {
        Command::Parse(args) => nat_ingest::cli::parse::parse(args),
        Command::Run(args) => nat_ingest::cli::run::run(args),
        Command::CheckConfig(args) => nat_ingest::cli::run::check_config(args),
        Command::Index(args) => nat_ingest::cli::index::index(args),
        Command::Replay(args) => nat_ingest::cli::replay::replay(args),
    }
}
