//! Turns one received frame into one JSON document (SCHEMA.md).
//!
//! PLACEHOLDER API while the parsing core is written: the signatures below are the
//! contract the pipeline codes against; the body only emits the raw line.

use std::net::IpAddr;

/// Everything the pipeline knows about a message besides its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    /// When nat-ingest received the message (`event.created`).
    pub at: jiff::Timestamp,
    /// The address the datagram or connection came from (`observer.ip` fallback).
    pub peer: Option<IpAddr>,
    /// The framer cut this frame at the size limit; the document is tagged.
    pub truncated: bool,
}

/// Which kind of document a message became (`event.dataset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dataset {
    HuaweiSession,
    HuaweiLog,
    Syslog,
}

/// What `Encoder::encode` learned about the message, for routing and counting.
#[derive(Debug, Clone, Copy)]
pub struct Encoded {
    /// The document's `@timestamp`.
    pub timestamp: jiff::Timestamp,
    pub dataset: Dataset,
    /// The failure tag, e.g. `_nat_parse_failure`, when a stage failed.
    pub failure: Option<&'static str>,
}

/// Settings the encoder needs (time zone, reference time, grammars, ...).
#[derive(Debug, Clone, Default)]
pub struct EncoderSettings {}

/// Parses frames and writes documents. `Send + Sync`: share one behind an `Arc`.
#[derive(Debug)]
pub struct Encoder {}

impl Encoder {
    pub fn new(_settings: EncoderSettings) -> Encoder {
        Encoder {}
    }

    /// Parses `frame` and appends exactly one JSON object (no trailing newline) to `out`.
    pub fn encode(&self, frame: &[u8], received: &Received, out: &mut Vec<u8>) -> Encoded {
        out.extend_from_slice(b"{\"event\":{\"original\":");
        serde_json::to_writer(&mut *out, &String::from_utf8_lossy(frame)).unwrap();
        out.extend_from_slice(b"}}");
        Encoded { timestamp: received.at, dataset: Dataset::Syslog, failure: None }
    }
}
