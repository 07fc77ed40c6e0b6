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

/// Where documents end up. The archive is one; the bulk writer will be another.
pub trait Sink: Send {
    type Error: Error + Send + Sync + 'static;

    /// Takes a batch in; must not fail, so a failure later loses nothing.
    fn append(&mut self, batch: &DocumentBatch, now: Instant);
    /// Does whatever is due; retried after an error.
    fn write_ready(&mut self, now: Instant) -> Result<(), Self::Error>;
    /// When `write_ready` next has timed work.
    fn next_deadline(&self) -> Option<Instant>;
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
    mut sink: S,
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
                retry_forever(&mut sink, |s| s.write_ready(now));
            }
            // Reload: finish the open files.
            Ok(SinkMessage::Reopen) => {
                retry_forever(&mut sink, |s| s.flush_and_reopen(Instant::now()));
                tracing::info!("Reopened sink files.");
            }
            // A timer: frames and fsyncs that came due with no new batch.
            Err(RecvTimeoutError::Timeout) => {
                retry_forever(&mut sink, |s| s.write_ready(Instant::now()));
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
