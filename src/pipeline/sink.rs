//! The sink thread: owns the sink, feeds it document batches, runs its timers, and
//! retries when it fails.
//!
//! A failing sink is never skipped: the thread retries with backoff while batches
//! pile up in the bounded queue behind it, so the parsers and then the listeners
//! slow down instead of dropping documents. Only at shutdown does it give up, after
//! `SHUTDOWN_ATTEMPTS`, so that a dead disk cannot keep the process alive forever.

use std::error::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::batch::{BatchPool, DocumentBatch};
use crate::archive::{ArchiveError, ArchiveWriter};
use crate::telemetry::pipeline::ArchiveWriteFailed;

/// Longest the thread sleeps without checking its timers, so idle-file closing
/// runs even when no deadline is pending.
const MAX_IDLE_WAIT: Duration = Duration::from_secs(1);

/// First and longest pause between attempts at a failed write.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_secs(5);

/// Attempts at the final flush before shutdown gives up and reports the loss.
const SHUTDOWN_ATTEMPTS: u32 = 5;

/// Where documents end up: the archive, Elasticsearch, or a Kafka topic.
pub trait Sink: Send {
    type Error: Error + Send + Sync + 'static;

    /// Takes a batch in; must not fail, so a failure later loses nothing.
    fn append(&mut self, batch: &DocumentBatch, now: Instant);
    /// Does whatever is due; retried after an error.
    fn write_ready(&mut self, now: Instant) -> Result<(), Self::Error>;
    /// When `write_ready` next has timed work.
    fn next_deadline(&self) -> Option<Instant>;
    /// Makes everything appended so far durable, without closing files: the
    /// archive writes and fsyncs, Elasticsearch waits until every item is final
    /// (indexed, duplicate or dead-lettered), Kafka until every document is
    /// acknowledged. The indexer commits offsets only after it returned `Ok`.
    fn sync(&mut self, now: Instant) -> Result<(), Self::Error>;
    /// Writes everything and closes or reopens its files; retried after an error.
    fn flush_and_reopen(&mut self, now: Instant) -> Result<(), Self::Error>;
    /// Logs a failure.
    fn report(&self, error: &Self::Error, retry_in: Duration);
}

impl Sink for ArchiveWriter {
    type Error = ArchiveError;

    fn append(&mut self, batch: &DocumentBatch, now: Instant) {
        ArchiveWriter::append(self, batch, now)
    }

    fn write_ready(&mut self, now: Instant) -> Result<(), ArchiveError> {
        ArchiveWriter::write_ready(self, now)
    }

    fn next_deadline(&self) -> Option<Instant> {
        ArchiveWriter::next_deadline(self)
    }

    fn sync(&mut self, now: Instant) -> Result<(), ArchiveError> {
        ArchiveWriter::sync(self, now)
    }

    fn flush_and_reopen(&mut self, now: Instant) -> Result<(), ArchiveError> {
        self.reopen(now)
    }

    fn report(&self, error: &ArchiveError, retry_in: Duration) {
        ArchiveWriteFailed { error, retry_in }.emit();
    }
}

/// What the parser threads and the control side send to the sink thread.
pub enum SinkMessage {
    Batch(DocumentBatch),
    /// SIGHUP: finish the current files and start new ones.
    Reopen,
}

/// The sink thread's body. Returns once every sender is gone and everything is
/// flushed, or with the error that made the final flush fail.
pub(super) fn run<S: Sink>(
    sink: &mut S,
    messages: Receiver<SinkMessage>,
    pool: Arc<BatchPool>,
    depth: Arc<AtomicUsize>,
) -> Result<(), S::Error> {
    loop {
        let now = Instant::now();
        let wait = sink
            .next_deadline()
            .map_or(MAX_IDLE_WAIT, |d| d.saturating_duration_since(now));
        match messages.recv_timeout(wait.min(MAX_IDLE_WAIT)) {
            // A batch: take it in, then write whatever became due.
            Ok(SinkMessage::Batch(batch)) => {
                depth.fetch_sub(1, Ordering::Relaxed);
                let now = Instant::now();
                sink.append(&batch, now);
                pool.give(batch);
                retry_forever(sink, |s| s.write_ready(now));
            }
            // Reload: finish the open files.
            Ok(SinkMessage::Reopen) => {
                retry_forever(sink, |s| s.flush_and_reopen(Instant::now()));
                tracing::info!("Reopened sink files.");
            }
            // A timer: frames and fsyncs that came due with no new batch.
            Err(RecvTimeoutError::Timeout) => {
                retry_forever(sink, |s| s.write_ready(Instant::now()));
            }
            // Shutdown: every parser thread has finished.
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }

    let mut pause = FIRST_RETRY;
    for attempt in 1..=SHUTDOWN_ATTEMPTS {
        match sink.flush_and_reopen(Instant::now()) {
            Ok(()) => return Ok(()),
            Err(e) if attempt == SHUTDOWN_ATTEMPTS => return Err(e),
            Err(e) => {
                sink.report(&e, pause);
                std::thread::sleep(pause);
                pause = (pause * 2).min(MAX_RETRY);
            }
        }
    }
    unreachable!("the last attempt returns")
}

fn retry_forever<S: Sink>(sink: &mut S, mut step: impl FnMut(&mut S) -> Result<(), S::Error>) {
    let mut pause = FIRST_RETRY;
    while let Err(e) = step(sink) {
        sink.report(&e, pause);
        std::thread::sleep(pause);
        pause = (pause * 2).min(MAX_RETRY);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::sync_channel;

    use super::*;

    /// A sink that keeps what it is given in memory and fails its first writes.
    #[derive(Default)]
    struct FlakySink {
        failures_left: u32,
        appended: Vec<Vec<u8>>,
        written: usize,
        closes: u32,
    }

    impl Sink for FlakySink {
        type Error = std::io::Error;

        fn append(&mut self, batch: &DocumentBatch, _now: Instant) {
            self.appended
                .extend(batch.iter().map(|(line, _)| line.to_vec()));
        }

        fn write_ready(&mut self, _now: Instant) -> Result<(), std::io::Error> {
            if self.failures_left > 0 {
                self.failures_left -= 1;
                return Err(std::io::Error::other("disk on fire"));
            }
            self.written = self.appended.len();
            Ok(())
        }

        fn next_deadline(&self) -> Option<Instant> {
            None
        }

        fn sync(&mut self, now: Instant) -> Result<(), std::io::Error> {
            self.write_ready(now)
        }

        fn flush_and_reopen(&mut self, now: Instant) -> Result<(), std::io::Error> {
            self.write_ready(now)?;
            self.closes += 1;
            Ok(())
        }

        fn report(&self, _error: &std::io::Error, _retry_in: Duration) {}
    }

    /// Failed writes are retried, not skipped: every batch is appended once and
    /// written, and the sink is closed once at the end.
    #[test]
    fn retries_failed_writes_without_loss_or_duplicates() {
        let (sender, receiver) = sync_channel(4);
        let pool = Arc::new(BatchPool::new(4));
        let depth = Arc::new(AtomicUsize::new(0));
        let sink = FlakySink {
            failures_left: 2,
            ..FlakySink::default()
        };

        let thread = {
            let (pool, depth) = (pool.clone(), depth.clone());
            std::thread::spawn(move || {
                let mut sink = sink;
                let result = run(&mut sink, receiver, pool, depth);
                (result.is_ok(), sink)
            })
        };
        for n in 0..3 {
            let mut batch = pool.take();
            batch.push(
                format!("{{\"n\":{n}}}").as_bytes(),
                jiff::Timestamp::UNIX_EPOCH,
            );
            depth.fetch_add(1, Ordering::Relaxed);
            sender.send(SinkMessage::Batch(batch)).unwrap();
        }
        drop(sender);

        let (is_ok, sink) = thread.join().unwrap();
        assert!(is_ok);
        let expected: Vec<Vec<u8>> = (0..3)
            .map(|n| format!("{{\"n\":{n}}}\n").into_bytes())
            .collect();
        assert_eq!(sink.appended, expected);
        assert_eq!(sink.written, 3);
        assert_eq!(sink.closes, 1);
        assert_eq!(depth.load(Ordering::Relaxed), 0);
    }
}
