//! The Elasticsearch bulk writer: the sink that turns document batches into
//! `_bulk` requests against Elasticsearch 7–9 or OpenSearch 1–2.
//!
//! It is the last stage of the flow (listener → framing → syslog → vendor →
//! document → pipeline → **bulk**). What it promises:
//!
//! - Every document ends in exactly one of: indexed, duplicate (the server had
//!   it: 409 on `create` with a deterministic `_id`), the dead-letter file
//!   (rejected for good), or a counted and logged drop (only at shutdown with the
//!   server unreachable, or when the dead-letter file cannot be written).
//! - Retries resend exactly what failed: whole requests after connection errors,
//!   429 and 5xx; only the 429/5xx items of a partly failed request. Ids make
//!   both idempotent.
//! - While the server is slow, down or refusing the credentials, the sink holds
//!   its documents and stops taking more, so the queues fill up to the listeners.
//!
//! The pieces, in the order a document meets them: `index` picks the target
//! from the dataset and `@timestamp`; `batch` decides when a request closes;
//! `request` writes the body; `sink` hands it to a task in `deliver`, which
//! sends it through `service`, reads `response` and applies `retry`; `setup`
//! runs once before the first request; `dead_letter` keeps the rejects.

mod batch;
mod dead_letter;
mod deliver;
mod index;
mod request;
mod response;
mod retry;
mod service;
mod setup;
mod sink;

use std::path::PathBuf;
use std::time::Duration;

pub use batch::{BatchLimits, BodyPool, OpenBatch};
pub use dead_letter::DeadLetterFile;
pub use index::{IndexPattern, IndexPatternError, IndexRouter};
pub use request::{document_id, gzip, BulkBody, DOCUMENT_ID_LEN};
pub use response::{parse as parse_response, ItemResult, ResponseError};
pub use retry::{item_verdict, request_verdict, Backoff, ItemVerdict, RequestVerdict};
pub use setup::{mappings, parse_root, ServerInfo, ServerKind, SetupError};
pub use sink::ElasticsearchSink;

/// Why the bulk writer cannot start or go on.
#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    #[error("invalid elasticsearch settings: {0}")]
    Config(String),
    #[error("invalid index name")]
    Pattern(#[from] IndexPatternError),
    #[error("cannot read {0}")]
    File(PathBuf, #[source] std::io::Error),
    #[error("TLS settings: {0}")]
    Tls(String),
    #[error("cannot start the bulk writer's runtime")]
    Runtime(#[source] std::io::Error),
    #[error("cannot set up elasticsearch")]
    Setup(#[from] SetupError),
    /// The server refuses the credentials; nothing is sent until it accepts them.
    #[error("stopped: {0}")]
    Stopped(String),
    #[error("{documents} documents still unwritten after waiting {waited:?}")]
    FlushTimedOut { documents: u64, waited: Duration },
}
