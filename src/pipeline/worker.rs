//! Parser threads: take frame batches off the shared queue, encode every frame into
//! a `DocumentBatch`, and pass the batch on to the sink.
//!
//! Parsing is CPU-bound and never waits on I/O, so the workers are plain threads,
//! not tokio tasks: they would only starve the listeners' reactor. They share one
//! receiver behind a mutex; a worker holds the lock only while it waits for the
//! next batch, never while it parses.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::batch::{BatchPool, DocumentBatch};
use super::sink::SinkMessage;
use crate::document::{Dataset, Encoded, Encoder};
use crate::listener::{Frame, FrameBatch};
use crate::telemetry::pipeline::{DocumentsFailed, DocumentsParsed};

/// Failure tag of a document whose encoder panicked; the raw line is kept.
const ENCODER_PANIC_TAG: &str = "_encoder_panic";

/// What one worker thread shares with the others.
pub(super) struct WorkerContext {
    pub(super) frames: Arc<Mutex<mpsc::Receiver<FrameBatch>>>,
    pub(super) encoder: Arc<Encoder>,
    pub(super) sink: SyncSender<SinkMessage>,
    pub(super) pool: Arc<BatchPool>,
    /// Document batches sent and not yet taken by the sink.
    pub(super) sink_depth: Arc<AtomicUsize>,
}

/// Runs until the frame queue is closed and empty.
pub(super) fn run(context: WorkerContext) {
    loop {
        // Only the wait happens under the lock; parsing runs in parallel.
        let next = {
            let mut frames = context
                .frames
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            frames.blocking_recv()
        };
        let Some(frames) = next else { break };

        let mut documents = context.pool.take();
        let mut tally = Tally::default();
        for frame in &frames {
            tally.add(encode_one(&context.encoder, frame, &mut documents));
        }
        tally.emit();

        context.sink_depth.fetch_add(1, Ordering::Relaxed);
        if context.sink.send(SinkMessage::Batch(documents)).is_err() {
            // The sink only stops early when it failed for good and has logged why.
            context.sink_depth.fetch_sub(1, Ordering::Relaxed);
            tracing::error!(documents = frames.len(), "Sink is gone; dropped a batch.");
        }
    }
}

/// Encodes one frame; a panicking encoder costs its document's fields, not the
/// thread or the message.
fn encode_one(encoder: &Encoder, frame: &Frame, documents: &mut DocumentBatch) -> Encoded {
    let mark = documents.byte_len();
    let encoded = panic::catch_unwind(AssertUnwindSafe(|| {
        documents.encode(encoder, &frame.bytes, &frame.received)
    }));
    match encoded {
        Ok(encoded) => encoded,
        Err(_) => {
            documents.truncate_bytes(mark);
            let fallback = fallback_document(&frame.bytes, &frame.received);
            let encoded = Encoded {
                timestamp: frame.received.at,
                dataset: Dataset::Syslog,
                failure: Some(ENCODER_PANIC_TAG),
                fingerprint: Some(crate::document::fingerprint(
                    &frame.bytes,
                    frame.received.peer,
                )),
            };
            documents.push_encoded(&fallback, encoded);
            encoded
        }
    }
}

/// The least a document can say: when it came and what it was.
fn fallback_document(frame: &[u8], received: &crate::document::Received) -> Vec<u8> {
    let at = received.at.to_string();
    let document = serde_json::json!({
        "@timestamp": at,
        "event": { "created": at, "original": String::from_utf8_lossy(frame) },
        "message": String::from_utf8_lossy(frame),
        "tags": [ENCODER_PANIC_TAG],
        "error": { "message": "the encoder panicked on this message" },
    });
    serde_json::to_vec(&document).unwrap_or_default()
}

/// Per-batch counts, emitted once per batch.
#[derive(Default)]
struct Tally {
    by_dataset: [u64; 3],
    failures: Vec<(&'static str, u64)>,
}

impl Tally {
    fn add(&mut self, encoded: Encoded) {
        let slot = match encoded.dataset {
            Dataset::HuaweiSession => 0,
            Dataset::HuaweiLog => 1,
            Dataset::Syslog => 2,
        };
        self.by_dataset[slot] += 1;
        if let Some(reason) = encoded.failure {
            match self.failures.iter_mut().find(|(r, _)| *r == reason) {
                Some((_, count)) => *count += 1,
                None => self.failures.push((reason, 1)),
            }
        }
    }

    fn emit(self) {
        let datasets = [Dataset::HuaweiSession, Dataset::HuaweiLog, Dataset::Syslog];
        for (dataset, count) in datasets.into_iter().zip(self.by_dataset) {
            if count > 0 {
                DocumentsParsed { dataset, count }.emit();
            }
        }
        for (reason, count) in self.failures {
            DocumentsFailed { reason, count }.emit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_document_is_json_with_the_raw_line() {
        let received = crate::document::Received {
            at: "2025-07-23T02:11:12Z".parse().unwrap(),
            peer: None,
            truncated: false,
            misframed: false,
        };
        let document = fallback_document(b"<13>bad \"line\" \xff", &received);
        let value: serde_json::Value = serde_json::from_slice(&document).unwrap();
        assert_eq!(value["@timestamp"], "2025-07-23T02:11:12Z");
        assert_eq!(value["tags"][0], ENCODER_PANIC_TAG);
        assert!(value["event"]["original"]
            .as_str()
            .unwrap()
            .starts_with("<13>bad \"line\""));
    }

    #[test]
    fn tally_counts_failures_by_reason() {
        let at = jiff::Timestamp::UNIX_EPOCH;
        let mut tally = Tally::default();
        for failure in [
            None,
            Some("_nat_parse_failure"),
            Some("_nat_parse_failure"),
            Some("_x"),
        ] {
            tally.add(Encoded {
                timestamp: at,
                dataset: Dataset::HuaweiSession,
                failure,
                fingerprint: None,
            });
        }
        assert_eq!(tally.by_dataset, [4, 0, 0]);
        assert_eq!(tally.failures, vec![("_nat_parse_failure", 2), ("_x", 1)]);
    }
}
