//! Command-line interface: one module per subcommand; `main.rs` dispatches.

use clap::{Parser, Subcommand};

pub mod index;
pub mod parse;
pub mod replay;
pub mod run;
mod sink;

/// Syslog ingestion for network NAT logs.
#[derive(Debug, Parser)]
#[command(name = "nat-ingest", version, about)]
pub struct Cli {
    /// Log filter for nat-ingest's own logs (tracing EnvFilter syntax), e.g. `info`, `debug`.
    #[arg(long, global = true, env = "NAT_INGEST_LOG", default_value = "info")]
    pub log: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse syslog lines from files or stdin and print one JSON document per line.
    Parse(parse::ParseArgs),
    /// Receive syslog and write documents to the configured sink.
    Run(run::RunArgs),
    /// Validate a config file and print the effective settings.
    CheckConfig(run::CheckConfigArgs),
    /// Consume documents from Kafka and write them to the archive or Elasticsearch.
    Index(index::IndexArgs),
    /// Replay captured logs (text, archive NDJSON, pcap) into the pipeline or another collector.
    Replay(replay::ReplayArgs),
}
