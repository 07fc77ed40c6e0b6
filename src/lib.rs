//! nat-ingest: syslog ingestion for network NAT logs.
//!
//! (crate doc to be written with the parsing core)

pub mod cli;
pub mod document;
pub mod listener;
pub mod telemetry;

pub use document::{Dataset, Encoded, Encoder, EncoderSettings, Received};
