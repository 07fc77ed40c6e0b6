//! The indexer: consumes the topic in a consumer group and writes every document
//! to a sink (archive or Elasticsearch), committing offsets only once the sink
//! has made the documents durable.
//!
//! One thread does everything, in this loop: poll one message; add it to the
//! current `DocumentBatch` (key and headers give its fingerprint, `@timestamp`
//! and dataset, so nothing is parsed); hand the batch to the sink every
//! `APPEND_DOCUMENTS`; and when the `Chunk` is due (documents, bytes or age),
//! call the sink's `sync`, which returns only once everything appended is
//! durable (archive: written and fsynced; Elasticsearch: every item indexed,
//! duplicate or dead-lettered), then commit the chunk's offsets synchronously.
//! A message is therefore committed only after it is durable: at-least-once.
//!
//! What may be read twice: whatever was consumed after the last commit, when the
//! indexer dies or a commit fails. Elasticsearch meets such documents with the
//! same `_id` (409, counted as duplicates), so it holds each once; the archive,
//! which has no ids, then holds them twice.
//!
//! Rebalances: before partitions are revoked (librdkafka calls back inside
//! `poll`, on this thread), the callback syncs the sink and commits everything
//! consumed, so the next owner starts where this one stopped. If that fails,
//! the revoked partitions' offsets are dropped and the next owner reads those
//! documents again, which the ids make harmless in Elasticsearch. The sink and
//! the chunk live in a mutex inside the consumer's context for that reason; the
//! loop never holds it across `poll`.
//!
//! Shutdown (the `stop` flag): stop polling, sync and commit what was consumed,
//! close the sink's files, leave the group.
//!
//! Why a separate command rather than a mode of `run`: the indexer has no
//! listeners, parsers or pipeline queues, and its loop (commit after durable)
//! shares nothing with the pipeline's but the sink.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

use super::chunk::{Chunk, ChunkLimits};
use super::key::{self, DATASET_HEADER, TIMESTAMP_HEADER};
use crate::config::kafka::KafkaConfig;
use crate::document::{Dataset, Encoded};
use crate::pipeline::{DocumentBatch, Sink};
use crate::telemetry::kafka::{ChunkCommitted, CommitFailed, DocumentsConsumed};

/// Documents gathered before they are handed to the sink in one batch.
const APPEND_DOCUMENTS: usize = 2000;

/// Longest one `poll` waits for a message, so the stop flag is seen promptly.
const POLL_TIMEOUT: Duration = Duration::from_millis(100);

/// Attempts at making a chunk durable during a rebalance or shutdown before
/// giving up (the documents are then read again by whoever owns them next).
const FINAL_ATTEMPTS: u32 = 5;

/// First and longest pause between attempts at a failed sink step.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_secs(5);

/// Least time between two log lines about consumer errors.
const REPORT_INTERVAL: Duration = Duration::from_secs(60);

/// Why the indexer could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("invalid kafka settings: {0}")]
    Config(String),
    #[error("cannot create the Kafka consumer")]
    Create(#[source] KafkaError),
    #[error("cannot subscribe to topic {topic}")]
    Subscribe {
        topic: String,
        #[source]
        source: KafkaError,
    },
    #[error(
        "the sink could not make the last documents durable; their offsets were not committed \
         and they will be read again"
    )]
    Sink(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What a finished indexer did.
#[derive(Debug, Default, Clone, Copy)]
pub struct IndexTotals {
    pub consumed: u64,
    pub committed: u64,
}

/// The sink and what was consumed since the last commit.
struct State<S: Sink> {
    sink: S,
    topic: String,
    batch: DocumentBatch,
    chunk: Chunk,
    /// Documents consumed but not yet counted in telemetry.
    consumed_uncounted: u64,
    unkeyed_uncounted: u64,
    totals: IndexTotals,
}

/// The consumer's context: log forwarding, and the rebalance hook that needs
/// the sink.
struct IndexContext<S: Sink> {
    state: Mutex<State<S>>,
}

impl<S: Sink + 'static> ClientContext for IndexContext<S> {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        super::client::log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        super::client::error(&error, reason);
    }
}

impl<S: Sink + 'static> ConsumerContext for IndexContext<S> {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(list) = rebalance else {
            return;
        };
        let partitions: Vec<i32> = list.elements().iter().map(|e| e.partition()).collect();
        tracing::info!(
            partitions = ?partitions,
            "Partitions revoked: committing what is durable."
        );
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let never = AtomicBool::new(false);
        let committed = state.commit_chunk(consumer, "rebalance", Some(FINAL_ATTEMPTS), &never);
        if let Err(e) = committed {
            tracing::warn!(
                error = %crate::telemetry::error_chain(&*e),
                "Could not make the chunk durable before the rebalance; its documents will be \
                 read again."
            );
        }
        state.chunk.forget(&partitions);
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(list) = rebalance {
            let partitions: Vec<i32> = list.elements().iter().map(|e| e.partition()).collect();
            tracing::info!(partitions = ?partitions, "Partitions assigned.");
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S: Sink + 'static> State<S> {
    /// Adds one consumed message to the batch and the chunk.
    fn take(&mut self, message: &BorrowedMessage<'_>, now: Instant) {
        let payload = message.payload().unwrap_or_default();
        let document = payload.strip_suffix(b"\n").unwrap_or(payload);
        self.chunk.record(
            message.partition(),
            message.offset(),
            document.len() + 1,
            now,
        );
        self.totals.consumed += 1;
        self.consumed_uncounted += 1;
        // A tombstone or empty message is no document; its offset still counts.
        if document.is_empty() {
            return;
        }

        let header = |name: &str| {
            let headers = message.headers()?;
            (0..headers.count())
                .map(|i| headers.get(i))
                .find(|h| h.key == name)
                .and_then(|h| h.value)
        };
        let encoded = key::encoded(
            message.key(),
            header(TIMESTAMP_HEADER),
            header(DATASET_HEADER),
        )
        .unwrap_or_else(|_| {
            // Not produced by nat-ingest: an id from its bytes, as replay does,
            // and the broker's timestamp for its day.
            self.unkeyed_uncounted += 1;
            let at = message
                .timestamp()
                .to_millis()
                .and_then(|ms| Timestamp::from_millisecond(ms).ok())
                .unwrap_or_else(Timestamp::now);
            Encoded {
                timestamp: at,
                dataset: Dataset::Syslog,
                failure: None,
                fingerprint: Some(crate::document::fingerprint(document, None)),
            }
        });
        self.batch.push_encoded(document, encoded);
    }

    /// Hands the gathered batch to the sink.
    fn append(&mut self, now: Instant) {
        if !self.batch.is_empty() {
            self.sink.append(&self.batch, now);
            self.batch.clear();
        }
        if self.consumed_uncounted > 0 {
            DocumentsConsumed {
                count: self.consumed_uncounted,
                unkeyed: self.unkeyed_uncounted,
            }
            .emit();
            self.consumed_uncounted = 0;
            self.unkeyed_uncounted = 0;
        }
    }

    /// The work of one loop turn after a poll.
    fn step(&mut self, consumer: &BaseConsumer<IndexContext<S>>, stop: &AtomicBool) {
        let now = Instant::now();
        if self.batch.len() >= APPEND_DOCUMENTS {
            self.append(now);
            let _ = retry(&mut self.sink, None, stop, |s| s.write_ready(now));
        }
        if let Some(cause) = self.chunk.due(now) {
            // Without a limit this returns only once durable, or stopping (and
            // then the shutdown tries again).
            let _ = self.commit_chunk(consumer, cause, None, stop);
        } else if self.sink.next_deadline().is_some_and(|d| d <= now) {
            let _ = retry(&mut self.sink, None, stop, |s| s.write_ready(now));
        }
    }

    /// Makes everything consumed durable, then commits its offsets. With
    /// `attempts`, gives up after that many failed syncs; without, retries
    /// until the sink succeeds or `stop` is set.
    fn commit_chunk(
        &mut self,
        consumer: &BaseConsumer<IndexContext<S>>,
        cause: &'static str,
        attempts: Option<u32>,
        stop: &AtomicBool,
    ) -> Result<(), BoxError> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let now = Instant::now();
        self.append(now);
        let started = Instant::now();
        retry(&mut self.sink, attempts, stop, |s| s.sync(now))
            .map_err(|e| Box::new(e) as BoxError)?;
        let durable_in = started.elapsed();

        let mut list = TopicPartitionList::new();
        for (partition, next) in self.chunk.offsets() {
            list.add_partition_offset(&self.topic, partition, Offset::Offset(next))
                .expect("a fresh offset is valid");
        }
        let partitions = list.count();
        let committed = consumer.commit(&list, CommitMode::Sync);
        // Freed before anything else touches the consumer (see deploy/dev/README.md).
        drop(list);
        match committed {
            Ok(()) => {
                ChunkCommitted {
                    documents: self.chunk.documents(),
                    bytes: self.chunk.bytes(),
                    partitions,
                    durable_in,
                    cause,
                }
                .emit();
                self.totals.committed += self.chunk.documents();
                self.chunk.clear();
            }
            Err(error) => {
                CommitFailed {
                    error: &error,
                    cause,
                }
                .emit();
                self.chunk.keep_offsets(Instant::now());
            }
        }
        Ok(())
    }
}

/// Runs `step` until it succeeds, reporting each failure and backing off.
/// Gives up after `attempts` failures, or once `stop` is set.
fn retry<S: Sink>(
    sink: &mut S,
    attempts: Option<u32>,
    stop: &AtomicBool,
    mut step: impl FnMut(&mut S) -> Result<(), S::Error>,
) -> Result<(), S::Error> {
    let mut pause = FIRST_RETRY;
    let mut failures = 0;
    loop {
        match step(sink) {
            Ok(()) => return Ok(()),
            Err(e) => {
                failures += 1;
                if attempts.is_some_and(|n| failures >= n) || stop.load(Ordering::Relaxed) {
                    return Err(e);
                }
                sink.report(&e, pause);
                std::thread::sleep(pause);
                pause = (pause * 2).min(MAX_RETRY);
            }
        }
    }
}

/// Consumes `config.topic` in `config.group` into `sink` until `stop` is set;
/// `reopen` (SIGHUP) makes the sink finish its files after a commit.
pub fn index<S: Sink + 'static>(
    config: &KafkaConfig,
    sink: S,
    stop: &AtomicBool,
    reopen: &AtomicBool,
) -> Result<IndexTotals, IndexError> {
    config.validate().map_err(IndexError::Config)?;
    crate::telemetry::kafka::describe();
    let own = [
        ("group.id", config.group.clone()),
        ("enable.auto.commit", "false".to_owned()),
        ("enable.auto.offset.store", "false".to_owned()),
        ("auto.offset.reset", "earliest".to_owned()),
    ];
    let limits = ChunkLimits {
        max_documents: config.chunk_documents as u64,
        max_bytes: config.chunk_bytes as u64,
        max_age: Duration::from_millis(config.chunk_age_ms),
    };
    let context = IndexContext {
        state: Mutex::new(State {
            sink,
            topic: config.topic.clone(),
            batch: DocumentBatch::default(),
            chunk: Chunk::new(limits),
            consumed_uncounted: 0,
            unkeyed_uncounted: 0,
            totals: IndexTotals::default(),
        }),
    };
    let consumer: BaseConsumer<IndexContext<S>> =
        super::client::client_config(config, "indexer", &own)
            .create_with_context(context)
            .map_err(IndexError::Create)?;
    consumer
        .subscribe(&[&config.topic])
        .map_err(|source| IndexError::Subscribe {
            topic: config.topic.clone(),
            source,
        })?;

    let mut last_error_report: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        // Polling: the only place librdkafka calls the rebalance hook, which
        // locks the state itself.
        let polled = consumer.poll(POLL_TIMEOUT);
        let mut state = consumer.context().state.lock().expect("not poisoned");
        match polled {
            Some(Ok(message)) => state.take(&message, Instant::now()),
            Some(Err(error)) => {
                let now = Instant::now();
                if last_error_report.is_none_or(|t| now.duration_since(t) >= REPORT_INTERVAL) {
                    tracing::warn!(error = %error, "Kafka consumer error; consuming goes on.");
                    last_error_report = Some(now);
                }
            }
            None => {}
        }
        state.step(&consumer, stop);
        if reopen.swap(false, Ordering::Relaxed) {
            let _ = state.commit_chunk(&consumer, "reload", None, stop);
            let _ = retry(&mut state.sink, Some(FINAL_ATTEMPTS), stop, |s| {
                s.flush_and_reopen(Instant::now())
            });
            tracing::info!("Reopened sink files.");
        }
    }

    // Stopping: commit what is consumed, finish the files, then leave the group.
    let result = {
        let mut state = consumer.context().state.lock().expect("not poisoned");
        let never = AtomicBool::new(false);
        let committed = state.commit_chunk(&consumer, "shutdown", Some(FINAL_ATTEMPTS), &never);
        let closed = retry(&mut state.sink, Some(FINAL_ATTEMPTS), &never, |s| {
            s.flush_and_reopen(Instant::now())
        });
        match (committed, closed) {
            (Err(e), _) => Err(IndexError::Sink(e)),
            (Ok(()), Err(e)) => Err(IndexError::Sink(Box::new(e))),
            (Ok(()), Ok(())) => Ok(state.totals),
        }
    };
    consumer.unsubscribe();
    // A last poll serves the revoke, with nothing left to commit.
    consumer.poll(Duration::ZERO);
    result
}
