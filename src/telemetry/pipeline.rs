//! Events of the parser threads and the archive sink. Each logs and counts with
//! the same labels; each is emitted per batch, frame or file, never per message.
//!
//! Besides the Prometheus counters, the totals that the periodic summary line
//! reports are kept here in plain atomics, since a `metrics` recorder cannot be
//! read back.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use metrics::{counter, gauge, histogram};

use crate::archive::recover::Recovered;
use crate::document::Dataset;

/// Documents encoded, failed ones included.
pub static PARSED: AtomicU64 = AtomicU64::new(0);
/// Documents tagged with a parse failure.
pub static FAILED: AtomicU64 = AtomicU64::new(0);
/// Documents the sink wrote.
pub static WRITTEN: AtomicU64 = AtomicU64::new(0);

/// The `event.dataset` value, used as a label.
pub fn dataset_label(dataset: Dataset) -> &'static str {
    match dataset {
        Dataset::HuaweiSession => "huawei.session",
        Dataset::HuaweiLog => "huawei.log",
        Dataset::Syslog => "syslog",
    }
}

/// A parser thread encoded `count` documents of one dataset.
pub struct DocumentsParsed {
    pub dataset: Dataset,
    pub count: u64,
}

impl DocumentsParsed {
    pub fn emit(self) {
        let dataset = dataset_label(self.dataset);
        tracing::trace!(dataset, count = self.count, "Parsed documents.");
        counter!("pipeline_documents_parsed_total", "dataset" => dataset).increment(self.count);
        PARSED.fetch_add(self.count, Relaxed);
    }
}

/// `count` documents of a batch carry the failure tag `reason`.
pub struct DocumentsFailed {
    pub reason: &'static str,
    pub count: u64,
}

impl DocumentsFailed {
    pub fn emit(self) {
        tracing::debug!(
            reason = self.reason,
            count = self.count,
            "Documents failed to parse."
        );
        counter!("pipeline_documents_failed_total", "reason" => self.reason).increment(self.count);
        FAILED.fetch_add(self.count, Relaxed);
    }
}

/// One sampling of a queue's fill, in batches.
pub struct QueueDepthSampled {
    /// `frames` (listeners → parsers) or `documents` (parsers → sink).
    pub queue: &'static str,
    pub depth: usize,
    pub capacity: usize,
}

impl QueueDepthSampled {
    pub fn emit(self) {
        gauge!("pipeline_queue_depth_batches", "queue" => self.queue).set(self.depth as f64);
        gauge!("pipeline_queue_capacity_batches", "queue" => self.queue).set(self.capacity as f64);
    }
}

/// The archive wrote one frame.
pub struct DocumentsArchived {
    pub documents: u64,
    pub uncompressed_bytes: u64,
    pub compressed_bytes: u64,
    /// Compressing and writing the frame.
    pub elapsed: Duration,
}

impl DocumentsArchived {
    pub fn emit(self) {
        tracing::debug!(
            documents = self.documents,
            uncompressed_bytes = self.uncompressed_bytes,
            compressed_bytes = self.compressed_bytes,
            "Wrote an archive frame."
        );
        counter!("archive_documents_written_total").increment(self.documents);
        counter!("archive_uncompressed_bytes_total").increment(self.uncompressed_bytes);
        counter!("archive_written_bytes_total").increment(self.compressed_bytes);
        histogram!("archive_write_duration_seconds", "op" => "write")
            .record(self.elapsed.as_secs_f64());
        WRITTEN.fetch_add(self.documents, Relaxed);
    }
}

/// The archive fsynced a file.
pub struct ArchiveFileSynced {
    pub elapsed: Duration,
}

impl ArchiveFileSynced {
    pub fn emit(self) {
        tracing::trace!(
            elapsed_ms = self.elapsed.as_millis() as u64,
            "Synced an archive file."
        );
        histogram!("archive_write_duration_seconds", "op" => "fsync")
            .record(self.elapsed.as_secs_f64());
    }
}

/// The archive finished a file under its final name.
pub struct ArchiveFileClosed<'a> {
    pub path: &'a Path,
    pub bytes: u64,
    pub documents: u64,
}

impl ArchiveFileClosed<'_> {
    pub fn emit(self) {
        tracing::debug!(
            path = %self.path.display(),
            bytes = self.bytes,
            documents = self.documents,
            "Closed an archive file."
        );
        counter!("archive_files_closed_total").increment(1);
    }
}

/// At start, the archive finished a file that a crash had left open.
pub struct ArchiveFileRecovered<'a> {
    pub open_path: &'a Path,
    pub recovered: &'a Recovered,
}

impl ArchiveFileRecovered<'_> {
    pub fn emit(self) {
        tracing::warn!(
            path = %self.open_path.display(),
            kept_documents = self.recovered.documents,
            kept_bytes = self.recovered.kept_bytes,
            dropped_bytes = self.recovered.dropped_bytes,
            "Recovered an archive file left open by an earlier run."
        );
        counter!("archive_files_recovered_total").increment(1);
        counter!("archive_recovered_dropped_bytes_total").increment(self.recovered.dropped_bytes);
    }
}

/// The archive could not write; the sink holds its documents and retries.
pub struct ArchiveWriteFailed<'a> {
    pub error: &'a crate::archive::ArchiveError,
    pub retry_in: Duration,
}

impl ArchiveWriteFailed<'_> {
    pub fn emit(self) {
        tracing::error!(
            error = %crate::telemetry::error_chain(self.error),
            retry_in_ms = self.retry_in.as_millis() as u64,
            "Archive write failed; intake stalls until it succeeds."
        );
        counter!("archive_write_errors_total").increment(1);
    }
}
