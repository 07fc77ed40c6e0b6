//! `[kafka]`: the broker, the topic, and the producer and consumer knobs.
//!
//! The section (or `--kafka BROKERS`) does two things depending on the command:
//! `run` produces every document to the topic instead of writing the archive or
//! Elasticsearch, and `index` consumes the topic and writes to the archive or
//! Elasticsearch. See `crate::kafka` for the message layout and what each side
//! promises.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Topic used unless `topic` is set.
pub const DEFAULT_TOPIC: &str = "nat-ingest";
/// Consumer group of `index` unless `group` is set.
pub const DEFAULT_GROUP: &str = "nat-ingest-indexer";

/// Compression codecs librdkafka accepts for `compression.type`.
const CODECS: &[&str] = &["none", "gzip", "snappy", "lz4", "zstd"];

/// librdkafka properties the sink and the indexer set themselves; `options`
/// may not change them, or the delivery guarantees would silently change.
const RESERVED_OPTIONS: &[&str] = &[
    "bootstrap.servers",
    "enable.idempotence",
    "acks",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "group.id",
];

/// The `[kafka]` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap brokers, `host:port` each, e.g. `["kafka1:9092", "kafka2:9092"]`.
    /// Required.
    pub brokers: Vec<String>,

    /// Topic the documents go through. Create it beforehand with as many
    /// partitions as indexers you want to run in parallel; a broker that
    /// auto-creates topics gives it its default partition count. Default
    /// `nat-ingest`.
    pub topic: String,

    /// `client.id` the broker sees, in its logs and quotas. Default `nat-ingest`.
    pub client_id: String,

    /// Producer: compression of each batch, `none`, `gzip`, `snappy`, `lz4` or
    /// `zstd`.
    ///
    /// NAT documents are repetitive JSON; zstd shrinks them about tenfold at little
    /// CPU cost. Default `zstd`.
    pub compression: String,

    /// Producer: longest a document waits for its batch to fill, in
    /// milliseconds (`linger.ms`).
    ///
    /// Bigger batches compress better and cost the broker fewer requests; this is
    /// also the latency it adds. Default 20.
    pub linger_ms: u64,

    /// Producer: largest batch per partition, in bytes (`batch.size`), before
    /// compression. librdkafka caps it at `message.max.bytes` (1000000 unless
    /// set in `options`). Default 1000000.
    pub batch_bytes: usize,

    /// Producer: documents handed to the client and not yet acknowledged by the
    /// broker, at most (`queue.buffering.max.messages`).
    ///
    /// When reached, the sink stops taking documents and the pipeline's queues
    /// fill up to the listeners (back-pressure), instead of memory growing while
    /// the broker is slow or down. Default 100000.
    pub max_outstanding_documents: usize,

    /// Producer: bytes of documents not yet acknowledged, at most
    /// (`queue.buffering.max.kbytes`, rounded up to KiB). Bounds the memory the
    /// client holds. Default 67108864 (64 MiB).
    pub max_outstanding_bytes: usize,

    /// Producer: how long the client keeps retrying one document before it
    /// reports the delivery failed, in milliseconds (`message.timeout.ms`).
    ///
    /// A failed delivery is not dropped: the sink produces the document again (and
    /// counts it in `kafka_documents_retried_total`), so this only sets how often
    /// an outage is reported. Default 30000.
    pub delivery_timeout_ms: u64,

    /// Producer: longest a flush (SIGHUP, shutdown) waits for every outstanding
    /// document to be acknowledged, in seconds. A flush that runs out of time
    /// fails and is tried again; at shutdown, a few times. Default 30.
    pub flush_timeout_secs: u64,

    /// Indexer: consumer group. Indexers in one group share the partitions;
    /// offsets are committed in it. Default `nat-ingest-indexer`.
    pub group: String,

    /// Indexer: documents consumed before the chunk is made durable in the sink
    /// and its offsets committed. Default 20000.
    pub chunk_documents: usize,

    /// Indexer: bytes of documents consumed before the chunk is made durable and
    /// committed. Default 16777216 (16 MiB).
    pub chunk_bytes: usize,

    /// Indexer: longest a consumed document waits before its chunk is made
    /// durable and committed, in milliseconds.
    ///
    /// This is how much an indexer that dies has to read again. Default 1000.
    pub chunk_age_ms: u64,

    /// Extra librdkafka properties for both sides, e.g.
    /// `{ "security.protocol" = "ssl", "ssl.ca.location" = "/etc/kafka/ca.pem" }`.
    ///
    /// Applied after the settings above, so they may override them, except the
    /// ones the guarantees rest on (brokers, idempotence, acks, commits, group).
    /// Default empty.
    pub options: BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> KafkaConfig {
        KafkaConfig {
            brokers: Vec::new(),
            topic: DEFAULT_TOPIC.to_owned(),
            client_id: "nat-ingest".to_owned(),
            compression: "zstd".to_owned(),
            linger_ms: 20,
            batch_bytes: 1_000_000,
            max_outstanding_documents: 100_000,
            max_outstanding_bytes: 64 * 1024 * 1024,
            delivery_timeout_ms: 30_000,
            flush_timeout_secs: 30,
            group: DEFAULT_GROUP.to_owned(),
            chunk_documents: 20_000,
            chunk_bytes: 16 * 1024 * 1024,
            chunk_age_ms: 1000,
            options: BTreeMap::new(),
        }
    }
}

impl KafkaConfig {
    /// Refuses values that cannot work, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.brokers.is_empty() || self.brokers.iter().any(|b| b.trim().is_empty()) {
            return Err("kafka.brokers must list at least one host:port".into());
        }
        if self.topic.is_empty() {
            return Err("kafka.topic must not be empty".into());
        }
        if self.group.is_empty() {
            return Err("kafka.group must not be empty".into());
        }
        if !CODECS.contains(&self.compression.as_str()) {
            return Err(format!(
                "kafka.compression {:?} is not one of {}",
                self.compression,
                CODECS.join(", ")
            ));
        }
        let positive = [
            ("batch_bytes", self.batch_bytes as u64),
            (
                "max_outstanding_documents",
                self.max_outstanding_documents as u64,
            ),
            ("max_outstanding_bytes", self.max_outstanding_bytes as u64),
            ("delivery_timeout_ms", self.delivery_timeout_ms),
            ("flush_timeout_secs", self.flush_timeout_secs),
            ("chunk_documents", self.chunk_documents as u64),
            ("chunk_bytes", self.chunk_bytes as u64),
            ("chunk_age_ms", self.chunk_age_ms),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(format!("kafka.{key} must be above 0"));
        }
        if let Some(key) = self
            .options
            .keys()
            .find(|k| RESERVED_OPTIONS.contains(&k.as_str()))
        {
            return Err(format!(
                "kafka.options may not set {key:?}: nat-ingest sets it itself"
            ));
        }
        Ok(())
    }

    /// `bootstrap.servers`: the brokers joined by commas.
    pub fn bootstrap_servers(&self) -> String {
        self.brokers.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> KafkaConfig {
        KafkaConfig {
            brokers: vec!["127.0.0.1:9092".into()],
            ..KafkaConfig::default()
        }
    }

    #[test]
    fn defaults_need_only_brokers() {
        assert!(KafkaConfig::default().validate().is_err());
        valid().validate().unwrap();
    }

    #[test]
    fn refuses_bad_values_naming_the_key() {
        let codec = KafkaConfig {
            compression: "brotli".into(),
            ..valid()
        };
        assert!(codec.validate().unwrap_err().contains("kafka.compression"));
        let zero = KafkaConfig {
            chunk_documents: 0,
            ..valid()
        };
        assert!(zero
            .validate()
            .unwrap_err()
            .contains("kafka.chunk_documents"));
        let mut reserved = valid();
        reserved.options.insert("acks".into(), "1".into());
        assert!(reserved.validate().unwrap_err().contains("acks"));
    }
}
