//! nat-ingest: syslog ingestion for network NAT logs.
//!
//! (crate doc to be written with the parsing core)

pub mod document;

pub use document::{Dataset, Encoded, Encoder, EncoderSettings, Received};
