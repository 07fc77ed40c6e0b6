//! Telemetry: notable events that log through `tracing` and count through `metrics`,
//! and the Prometheus endpoint that shows the counts.
//!
//! Each area has a file of event structs (`intake` for listeners and framing,
//! `pipeline` for parsers and the sink); an event's `emit()` logs and counts with
//! the same labels. `install_recorder` makes those counts visible: it installs the
//! process-wide Prometheus recorder, and `endpoint::serve` answers `GET /metrics`.
//! Without a recorder (unit tests, `check-config`) the counts go nowhere.

pub mod bulk;
pub mod endpoint;
pub mod intake;
pub mod kafka;
pub mod pipeline;

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Buckets of `archive_write_duration_seconds`, in seconds: a frame write is
/// usually sub-millisecond, an fsync on a busy disk can take a second.
const WRITE_DURATION_BUCKETS: &[f64] =
    &[0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder for the whole process, once; later calls
/// return the same handle.
pub fn install_recorder() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("archive_write_duration_seconds".into()),
                    WRITE_DURATION_BUCKETS,
                )
                .expect("bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Fails only when another recorder is installed (a test harness); the
            // handle then renders nothing, which is harmless.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            handle
        })
        .clone()
}

/// `HELP` lines for the metrics this crate emits.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};

    describe_counter!(
        "pipeline_documents_parsed_total",
        "Documents encoded, by event.dataset."
    );
    describe_counter!(
        "pipeline_documents_failed_total",
        "Documents tagged with a parse failure, by tag."
    );
    describe_gauge!(
        "pipeline_queue_depth_batches",
        "Batches waiting in a pipeline queue."
    );
    describe_gauge!(
        "pipeline_queue_capacity_batches",
        "Capacity of a pipeline queue, in batches."
    );
    describe_counter!(
        "archive_documents_written_total",
        "Documents written to archive files."
    );
    describe_counter!(
        "archive_written_bytes_total",
        Unit::Bytes,
        "Compressed bytes written to archive files."
    );
    describe_counter!(
        "archive_uncompressed_bytes_total",
        Unit::Bytes,
        "NDJSON bytes before compression."
    );
    describe_histogram!(
        "archive_write_duration_seconds",
        Unit::Seconds,
        "Time to write a frame or fsync a file."
    );
    describe_counter!(
        "archive_files_closed_total",
        "Archive files finished under their final name."
    );
    describe_counter!(
        "archive_files_recovered_total",
        "Open archive files finished after a crash."
    );
    describe_counter!(
        "archive_write_errors_total",
        "Failed archive writes (each one retried)."
    );
}

/// An error and its sources, joined by `: `, for a log field.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
