//! `KafkaSink`: the pipeline's sink when `run` ships documents to a topic.
//!
//! It drives an idempotent librdkafka producer (`acks=all`, zstd by default)
//! from the pipeline's sink thread, with no runtime of its own: `append`
//! produces each document of a batch (librdkafka copies it into its queue and
//! sends it from its own threads) and `write_ready` polls for delivery
//! reports. Key and headers are described in `super::key`.
//!
//! Back-pressure: the producer's queue is bounded (`max_outstanding_documents`,
//! `max_outstanding_bytes`). A document it refuses for lack of room is copied
//! into `waiting`, and `write_ready` then blocks until there is room again,
//! taking no new batch meanwhile, so the pipeline's queues fill and TCP stops
//! reading. Only when no delivery report at all came for `STALL_WAIT` does it
//! report the sink stalled (the broker is away); the pipeline then logs it and
//! retries with backoff. Blocking while deliveries progress, rather than failing,
//! matters: the pipeline's backoff sleeps would otherwise cut throughput tenfold.
//!
//! A failed delivery (the broker did not acknowledge within
//! `delivery_timeout_ms`, or refused the message) is never dropped: the delivery
//! report hands the document back, and it goes to the front of `waiting` to be
//! produced again. Retries may duplicate a document in the topic (a timeout does
//! not prove it was not written); the indexer's deterministic ids make that
//! harmless in Elasticsearch.
//!
//! A flush (`sync`, SIGHUP, shutdown) waits, up to `flush_timeout_secs`, until
//! nothing is waiting and the producer holds nothing unacknowledged, producing
//! failed deliveries again meanwhile; if time runs out it fails with the count.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Message};

use super::key::{self, DATASET_HEADER, TIMESTAMP_HEADER};
use crate::bulk::DOCUMENT_ID_LEN;
use crate::config::kafka::KafkaConfig;
use crate::document::Dataset;
use crate::pipeline::{DocumentBatch, Sink};
use crate::telemetry::kafka::{DeliveriesReported, DocumentsRetried, KafkaDocumentsDropped};

/// Longest `write_ready` waits for room in the producer's queue without any
/// delivery report coming, before it reports the sink stalled (and the pipeline
/// backs off and retries).
const STALL_WAIT: Duration = Duration::from_secs(1);

/// One wait for delivery reports while waiting for room or for a flush.
/// rust-rdkafka's `poll` waits out the whole step even after an event, so it
/// is short.
const POLL_STEP: Duration = Duration::from_millis(5);

/// Delivery-report events served in one go at most; each holds the reports of
/// one produce response.
const MAX_EVENTS_PER_POLL: usize = 10_000;

/// How often delivery reports are collected while documents are outstanding.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// How long the start waits for the broker's metadata before going on without it.
const STARTUP_WAIT: Duration = Duration::from_secs(10);

/// Why the Kafka sink cannot start or go on.
#[derive(Debug, thiserror::Error)]
pub enum KafkaSinkError {
    #[error("invalid kafka settings: {0}")]
    Config(String),
    #[error("cannot create the Kafka producer")]
    Create(#[source] KafkaError),
    #[error("cannot hand a document to the Kafka producer")]
    Produce(#[source] KafkaError),
    #[error("{waiting} documents wait for room, {outstanding} unacknowledged{}", last_error_text(.last_error))]
    Stalled {
        waiting: usize,
        outstanding: u64,
        last_error: Option<String>,
    },
    #[error("{outstanding} documents still unacknowledged after waiting {waited:?}{}", last_error_text(.last_error))]
    FlushTimedOut {
        outstanding: u64,
        waited: Duration,
        last_error: Option<String>,
    },
}

fn last_error_text(error: &Option<String>) -> String {
    error
        .as_ref()
        .map_or(String::new(), |e| format!(" (last delivery error: {e})"))
}

/// A document not (or no longer) in the producer's hands.
#[derive(Debug)]
struct Parked {
    key: [u8; DOCUMENT_ID_LEN],
    timestamp: Timestamp,
    dataset: Dataset,
    /// The JSON document, without its newline.
    document: Vec<u8>,
    /// It was produced before and its delivery failed.
    is_retry: bool,
}

/// What delivery reports said since the sink last looked.
#[derive(Debug, Default)]
struct Reports {
    delivered: u64,
    failed: Vec<Parked>,
    last_error: Option<String>,
}

/// Receives delivery reports inside `poll`, on the sink thread.
struct DeliveryContext {
    reports: Mutex<Reports>,
}

impl ClientContext for DeliveryContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        super::client::log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        super::client::error(&error, reason);
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _opaque: ()) {
        let Ok(mut reports) = self.reports.lock() else {
            return;
        };
        match result {
            Ok(_) => reports.delivered += 1,
            Err((error, message)) => {
                reports.last_error = Some(error.to_string());
                reports.failed.push(park_failed(message));
            }
        }
    }
}

/// Copies a failed message back out of the producer, to be produced again.
fn park_failed(message: &rdkafka::message::BorrowedMessage<'_>) -> Parked {
    let mut key = [b'A'; DOCUMENT_ID_LEN];
    if let Some(k) = message.key().filter(|k| k.len() == DOCUMENT_ID_LEN) {
        key.copy_from_slice(k);
    }
    let header = |name: &str| {
        let headers = message.headers()?;
        (0..headers.count())
            .map(|i| headers.get(i))
            .find(|h| h.key == name)
            .and_then(|h| h.value)
    };
    Parked {
        key,
        // Written by this sink, so both read back; the fallbacks only guard
        // against a librdkafka that lost the headers.
        timestamp: key::timestamp(header(TIMESTAMP_HEADER)).unwrap_or(Timestamp::UNIX_EPOCH),
        dataset: key::dataset(header(DATASET_HEADER)).unwrap_or(Dataset::Syslog),
        document: message.payload().unwrap_or_default().to_vec(),
        is_retry: true,
    }
}

/// Produces documents to a Kafka topic.
pub struct KafkaSink {
    producer: BaseProducer<DeliveryContext>,
    topic: String,
    /// Documents to produce before any new one, oldest first.
    waiting: VecDeque<Parked>,
    flush_timeout: Duration,
    /// The last delivery error seen, for the stall and flush errors.
    last_error: Option<String>,
    last_stall_report: Cell<Option<Instant>>,
}

impl KafkaSink {
    /// Creates the producer and, if the broker answers within a few seconds,
    /// checks that it knows the topic. A broker that does not answer yet does
    /// not fail the start: documents wait in the producer and the queues.
    pub fn start(config: &KafkaConfig) -> Result<KafkaSink, KafkaSinkError> {
        config.validate().map_err(KafkaSinkError::Config)?;
        crate::telemetry::kafka::describe();
        let kbytes = config.max_outstanding_bytes.div_ceil(1024).max(1);
        let own = [
            ("enable.idempotence", "true".to_owned()),
            ("acks", "all".to_owned()),
            ("compression.type", config.compression.clone()),
            ("linger.ms", config.linger_ms.to_string()),
            ("batch.size", config.batch_bytes.to_string()),
            (
                "queue.buffering.max.messages",
                config.max_outstanding_documents.to_string(),
            ),
            ("queue.buffering.max.kbytes", kbytes.to_string()),
            ("message.timeout.ms", config.delivery_timeout_ms.to_string()),
        ];
        let context = DeliveryContext {
            reports: Mutex::new(Reports::default()),
        };
        let producer: BaseProducer<DeliveryContext> =
            super::client::client_config(config, "producer", &own)
                .create_with_context(context)
                .map_err(KafkaSinkError::Create)?;

        match producer
            .client()
            .fetch_metadata(Some(&config.topic), STARTUP_WAIT)
        {
            Ok(metadata) => {
                let partitions = metadata
                    .topics()
                    .first()
                    .map_or(0, |t| t.partitions().len());
                tracing::info!(
                    brokers = %config.bootstrap_servers(),
                    topic = %config.topic,
                    partitions,
                    compression = %config.compression,
                    "Kafka sink started."
                );
            }
            Err(e) => tracing::warn!(
                brokers = %config.bootstrap_servers(),
                topic = %config.topic,
                error = %e,
                "Kafka does not answer yet; documents wait in the producer and the queues until it does."
            ),
        }

        Ok(KafkaSink {
            producer,
            topic: config.topic.clone(),
            waiting: VecDeque::new(),
            flush_timeout: Duration::from_secs(config.flush_timeout_secs),
            last_error: None,
            last_stall_report: Cell::new(None),
        })
    }

    /// Documents not yet acknowledged: in the producer or waiting for it.
    pub fn outstanding(&self) -> u64 {
        self.producer.in_flight_count().max(0) as u64 + self.waiting.len() as u64
    }

    /// Hands one document to the producer; gives it back when there is no room.
    fn produce(
        &self,
        key: &[u8; DOCUMENT_ID_LEN],
        timestamp: Timestamp,
        dataset: Dataset,
        document: &[u8],
    ) -> Result<(), KafkaError> {
        let mut buffer = itoa::Buffer::new();
        let headers = OwnedHeaders::new_with_capacity(2)
            .insert(Header {
                key: TIMESTAMP_HEADER,
                value: Some(key::timestamp_header(timestamp, &mut buffer)),
            })
            .insert(Header {
                key: DATASET_HEADER,
                value: Some(key::dataset_header(dataset)),
            });
        let record = BaseRecord::<[u8], [u8], ()>::to(&self.topic)
            .key(&key[..])
            .payload(document)
            .headers(headers);
        self.producer.send(record).map_err(|(e, _)| e)
    }

    /// Reports gathered by the context since the last call.
    fn take_reports(&self) -> Reports {
        match self.producer.context().reports.lock() {
            Ok(mut reports) => std::mem::take(&mut *reports),
            Err(_) => Reports::default(),
        }
    }

    /// Serves delivery reports for up to `timeout`, then every one that is
    /// ready, and moves failed documents to the front of `waiting`. Returns
    /// how many reports came.
    fn poll_reports(&mut self, timeout: Duration) -> u64 {
        // `poll` with no time left serves one event; keep going while they come.
        self.producer.poll(timeout);
        let mut reports = self.take_reports();
        for _ in 0..MAX_EVENTS_PER_POLL {
            self.producer.poll(Duration::ZERO);
            let more = self.take_reports();
            if more.delivered == 0 && more.failed.is_empty() {
                break;
            }
            reports.delivered += more.delivered;
            reports.failed.extend(more.failed);
            reports.last_error = more.last_error.or(reports.last_error);
        }
        if reports.delivered == 0 && reports.failed.is_empty() {
            return 0;
        }
        let failed = reports.failed.len() as u64;
        let count = reports.delivered + failed;
        if reports.last_error.is_some() {
            self.last_error = reports.last_error.clone();
        }
        for parked in reports.failed.into_iter().rev() {
            self.waiting.push_front(parked);
        }
        DeliveriesReported {
            delivered: reports.delivered,
            failed,
            error: reports.last_error,
            outstanding: self.outstanding(),
        }
        .emit();
        count
    }

    /// Produces from `waiting` until it is empty (true) or the producer is
    /// full (false).
    fn produce_waiting(&mut self) -> Result<bool, KafkaSinkError> {
        let mut retried = 0;
        let mut result = Ok(true);
        while let Some(parked) = self.waiting.front() {
            match self.produce(
                &parked.key,
                parked.timestamp,
                parked.dataset,
                &parked.document,
            ) {
                Ok(()) => {
                    retried += u64::from(parked.is_retry);
                    self.waiting.pop_front();
                }
                Err(KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)) => {
                    result = Ok(false);
                    break;
                }
                Err(e) => {
                    result = Err(KafkaSinkError::Produce(e));
                    break;
                }
            }
        }
        if retried > 0 {
            DocumentsRetried { count: retried }.emit();
        }
        result
    }

    /// Waits until nothing is waiting or unacknowledged, or `limit` has passed.
    fn drain(&mut self, limit: Duration) -> Result<(), KafkaSinkError> {
        let deadline = Instant::now() + limit;
        loop {
            self.poll_reports(Duration::ZERO);
            self.produce_waiting()?;
            if self.waiting.is_empty() && self.producer.in_flight_count() == 0 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(KafkaSinkError::FlushTimedOut {
                    outstanding: self.outstanding(),
                    waited: limit,
                    last_error: self.last_error.clone(),
                });
            }
            self.poll_reports(POLL_STEP);
        }
    }
}

impl Sink for KafkaSink {
    type Error = KafkaSinkError;

    fn append(&mut self, batch: &DocumentBatch, _now: Instant) {
        for (line, encoded) in batch.documents() {
            let document = line.strip_suffix(b"\n").unwrap_or(line);
            let key = key::key(encoded.fingerprint_or_of(document));
            // Order is kept only while nothing waits; after that, everything
            // queues behind the waiting documents.
            if self.waiting.is_empty()
                && self
                    .produce(&key, encoded.timestamp, encoded.dataset, document)
                    .is_ok()
            {
                continue;
            }
            self.waiting.push_back(Parked {
                key,
                timestamp: encoded.timestamp,
                dataset: encoded.dataset,
                document: document.to_vec(),
                is_retry: false,
            });
        }
    }

    fn write_ready(&mut self, _now: Instant) -> Result<(), KafkaSinkError> {
        let mut deadline = Instant::now() + STALL_WAIT;
        loop {
            let reported = self.poll_reports(Duration::ZERO);
            if self.produce_waiting()? {
                return Ok(());
            }
            // Deliveries still come: the broker is slow, not away; keep waiting.
            if reported > 0 {
                deadline = Instant::now() + STALL_WAIT;
            }
            if Instant::now() >= deadline {
                return Err(KafkaSinkError::Stalled {
                    waiting: self.waiting.len(),
                    outstanding: self.outstanding(),
                    last_error: self.last_error.clone(),
                });
            }
            if self.poll_reports(POLL_STEP) > 0 {
                deadline = Instant::now() + STALL_WAIT;
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        (self.outstanding() > 0).then(|| Instant::now() + POLL_INTERVAL)
    }

    fn sync(&mut self, _now: Instant) -> Result<(), KafkaSinkError> {
        self.drain(self.flush_timeout)
    }

    fn flush_and_reopen(&mut self, _now: Instant) -> Result<(), KafkaSinkError> {
        self.drain(self.flush_timeout)
    }

    fn report(&self, error: &KafkaSinkError, retry_in: Duration) {
        // A stall repeats every retry while the broker is away; say it once a minute.
        let now = Instant::now();
        let is_stall = matches!(error, KafkaSinkError::Stalled { .. });
        let is_due = self
            .last_stall_report
            .get()
            .is_none_or(|last| now.duration_since(last) >= Duration::from_secs(60));
        if is_stall && !is_due {
            return;
        }
        if is_stall {
            self.last_stall_report.set(Some(now));
        }
        tracing::error!(
            error = %crate::telemetry::error_chain(error),
            retry_in_ms = retry_in.as_millis() as u64,
            "Kafka sink is stalled; documents stay queued and intake slows until the broker takes them."
        );
    }
}

impl Drop for KafkaSink {
    fn drop(&mut self) {
        // Reports that arrived since the last flush still count.
        self.poll_reports(Duration::ZERO);
        let lost = self.outstanding();
        if lost > 0 {
            KafkaDocumentsDropped { count: lost }.emit();
        }
    }
}
