//! Kafka between listeners and indexers: `run` ships documents to a topic
//! (`KafkaSink`), `index` consumes them into the archive or Elasticsearch
//! (`index`), so parsing and storing can run on different machines and
//! scale apart, as with a Logstash or Vector shipper → Kafka → indexer setup.
//!
//! Flow: listener → framing → syslog → vendor → document → pipeline →
//! **`KafkaSink`** → topic → **`index`** → archive | bulk.
//!
//! What it promises, end to end: at-least-once. The producer is idempotent
//! with `acks=all` and produces a failed delivery again instead of dropping it;
//! the indexer commits an offset only after its sink made the document durable.
//! A document can thus reach the topic, and the indexer's sink, more than once;
//! Elasticsearch keeps one copy, because the message key is the document's
//! deterministic `_id` (see `key`) and the bulk writer uses `create`. The
//! archive has no ids, so a crash of the indexer can leave duplicates there.
//!
//! Each message is one document: the value is the JSON line (no newline), the
//! key its `_id`, and two headers its `@timestamp` and dataset (`key`), which
//! are all a sink needs, so the indexer never parses the JSON. `chunk` decides
//! when the indexer commits; `client` holds the librdkafka settings both sides
//! share.

mod chunk;
mod client;
pub mod index;
pub mod key;
mod sink;

pub use chunk::{Chunk, ChunkLimits};
pub use index::{index, IndexError, IndexTotals};
pub use sink::{KafkaSink, KafkaSinkError};
