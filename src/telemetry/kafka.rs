//! Events of the Kafka sink (`run` producing) and the indexer (`index`
//! consuming). Each is emitted per poll, chunk or state change, never per
//! document, and logs and counts with the same labels.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use metrics::{counter, gauge, histogram};

use super::pipeline::WRITTEN;

/// `HELP` lines for the Kafka metrics.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};

    describe_counter!(
        "kafka_documents_produced_total",
        "Documents the broker acknowledged (acks=all)."
    );
    describe_counter!(
        "kafka_documents_failed_total",
        "Deliveries the producer reported failed (each document is produced again)."
    );
    describe_counter!(
        "kafka_documents_retried_total",
        "Documents produced again after a failed delivery."
    );
    describe_counter!(
        "kafka_documents_dropped_total",
        "Documents lost: the sink stopped with them unacknowledged."
    );
    describe_gauge!(
        "kafka_outstanding_documents",
        "Documents handed to the producer and not yet acknowledged, plus those waiting for room."
    );
    describe_counter!(
        "kafka_documents_consumed_total",
        "Documents the indexer read from the topic."
    );
    describe_counter!(
        "kafka_documents_unkeyed_total",
        "Consumed documents without a readable nat-ingest key or headers (indexed with \
         an id from their bytes)."
    );
    describe_counter!(
        "kafka_chunks_committed_total",
        "Chunks the indexer made durable in its sink and committed."
    );
    describe_counter!(
        "kafka_commit_errors_total",
        "Offset commits that failed (the offsets are committed with the next chunk)."
    );
    describe_histogram!(
        "kafka_chunk_durable_seconds",
        Unit::Seconds,
        "Time the sink took to make a chunk durable before its commit."
    );
}

/// The producer reported deliveries since the last poll.
pub struct DeliveriesReported {
    pub delivered: u64,
    pub failed: u64,
    /// The last failure's error, when any failed.
    pub error: Option<String>,
    pub outstanding: u64,
}

impl DeliveriesReported {
    pub fn emit(self) {
        if self.delivered > 0 {
            tracing::trace!(documents = self.delivered, "Kafka acknowledged documents.");
            counter!("kafka_documents_produced_total").increment(self.delivered);
            WRITTEN.fetch_add(self.delivered, Relaxed);
        }
        if self.failed > 0 {
            tracing::warn!(
                documents = self.failed,
                error = self.error.as_deref().unwrap_or("unknown"),
                outstanding = self.outstanding,
                "Kafka deliveries failed; producing the documents again."
            );
            counter!("kafka_documents_failed_total").increment(self.failed);
        }
        gauge!("kafka_outstanding_documents").set(self.outstanding as f64);
    }
}

/// Documents whose delivery had failed were handed to the producer again.
pub struct DocumentsRetried {
    pub count: u64,
}

impl DocumentsRetried {
    pub fn emit(self) {
        tracing::debug!(documents = self.count, "Produced documents again.");
        counter!("kafka_documents_retried_total").increment(self.count);
    }
}

/// The Kafka sink went away with documents not acknowledged.
pub struct KafkaDocumentsDropped {
    pub count: u64,
}

impl KafkaDocumentsDropped {
    pub fn emit(self) {
        tracing::error!(
            documents = self.count,
            "Kafka sink stopped before the broker acknowledged these documents; they are lost."
        );
        counter!("kafka_documents_dropped_total").increment(self.count);
    }
}

/// The indexer made a chunk durable and committed its offsets.
pub struct ChunkCommitted {
    pub documents: u64,
    pub bytes: u64,
    pub partitions: usize,
    /// Time the sink took to make it durable.
    pub durable_in: Duration,
    /// Why the chunk ended: `documents`, `bytes`, `age`, `rebalance`, `shutdown`.
    pub cause: &'static str,
}

impl ChunkCommitted {
    pub fn emit(self) {
        tracing::debug!(
            documents = self.documents,
            bytes = self.bytes,
            partitions = self.partitions,
            durable_ms = self.durable_in.as_millis() as u64,
            cause = self.cause,
            "Committed a chunk."
        );
        counter!("kafka_chunks_committed_total", "cause" => self.cause).increment(1);
        histogram!("kafka_chunk_durable_seconds").record(self.durable_in.as_secs_f64());
    }
}

/// The indexer read documents from the topic (counted per chunk part).
pub struct DocumentsConsumed {
    pub count: u64,
    pub unkeyed: u64,
}

impl DocumentsConsumed {
    pub fn emit(self) {
        tracing::trace!(
            documents = self.count,
            unkeyed = self.unkeyed,
            "Consumed documents."
        );
        counter!("kafka_documents_consumed_total").increment(self.count);
        if self.unkeyed > 0 {
            tracing::warn!(
                documents = self.unkeyed,
                "Consumed documents without a nat-ingest key; their ids come from their bytes."
            );
            counter!("kafka_documents_unkeyed_total").increment(self.unkeyed);
        }
    }
}

/// A commit failed; the offsets stay pending and go with the next chunk.
pub struct CommitFailed<'a> {
    pub error: &'a rdkafka::error::KafkaError,
    pub cause: &'static str,
}

impl CommitFailed<'_> {
    pub fn emit(self) {
        tracing::warn!(
            error = %self.error,
            cause = self.cause,
            "Offset commit failed; the documents are durable and the offsets go with the next \
             commit (a restart before it reads them again)."
        );
        counter!("kafka_commit_errors_total").increment(1);
    }
}
