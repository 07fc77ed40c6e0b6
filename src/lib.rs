//! nat-ingest: syslog ingestion for network NAT logs.
//!
//! (crate doc to be written with the parsing core)

pub mod archive;
pub mod cli;
pub mod config;
pub mod document;
pub mod framing;
pub mod listener;
pub mod pipeline;
pub mod telemetry;

pub mod syslog;
pub mod time;
pub mod vendor;

pub use document::{Dataset, Encoded, Encoder, EncoderSettings, Received};
