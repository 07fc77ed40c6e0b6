//! Events of the Elasticsearch bulk writer. Each is emitted per request (or per
//! state change), never per document, and logs and counts with the same labels.

use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use metrics::{counter, gauge, histogram};

use super::pipeline::WRITTEN;

/// `HELP` lines for the bulk writer's metrics.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};

    describe_counter!(
        "bulk_documents_indexed_total",
        "Documents the server created."
    );
    describe_counter!(
        "bulk_documents_duplicate_total",
        "Documents the server already had (409 on create): retries and replays."
    );
    describe_counter!(
        "bulk_items_retried_total",
        "Items sent again after a 429 or 5xx item status, by status."
    );
    describe_counter!(
        "bulk_requests_retried_total",
        "Whole bulk requests sent again, by cause."
    );
    describe_counter!(
        "bulk_documents_dead_lettered_total",
        "Documents the server rejected for good, written to the dead-letter file, by status."
    );
    describe_counter!(
        "bulk_documents_dropped_total",
        "Documents lost: neither indexed nor dead-lettered, by cause."
    );
    describe_histogram!(
        "bulk_request_duration_seconds",
        Unit::Seconds,
        "Time from sending a bulk request to reading its response."
    );
    describe_counter!(
        "bulk_uncompressed_bytes_total",
        Unit::Bytes,
        "Bulk request bytes before compression."
    );
    describe_counter!(
        "bulk_sent_bytes_total",
        Unit::Bytes,
        "Bulk request bytes sent, after compression."
    );
    describe_gauge!(
        "bulk_requests_in_flight",
        "Bulk requests sent and not yet finished."
    );
    describe_gauge!(
        "bulk_node_up",
        "1 when the node answers, 0 while it is left out, by node."
    );
}

/// A bulk request got a response, whatever its items said.
pub struct BulkRequestAnswered {
    pub status: u16,
    pub items: usize,
    pub uncompressed_bytes: u64,
    pub sent_bytes: u64,
    pub elapsed: Duration,
}

impl BulkRequestAnswered {
    pub fn emit(self) {
        tracing::debug!(
            status = self.status,
            items = self.items,
            uncompressed_bytes = self.uncompressed_bytes,
            sent_bytes = self.sent_bytes,
            elapsed_ms = self.elapsed.as_millis() as u64,
            "Bulk request answered."
        );
        histogram!("bulk_request_duration_seconds").record(self.elapsed.as_secs_f64());
        counter!("bulk_uncompressed_bytes_total").increment(self.uncompressed_bytes);
        counter!("bulk_sent_bytes_total").increment(self.sent_bytes);
    }
}

/// Items of one response that were created or already existed.
pub struct DocumentsIndexed {
    pub indexed: u64,
    pub duplicates: u64,
}

impl DocumentsIndexed {
    pub fn emit(self) {
        tracing::trace!(
            indexed = self.indexed,
            duplicates = self.duplicates,
            "Documents indexed."
        );
        counter!("bulk_documents_indexed_total").increment(self.indexed);
        if self.duplicates > 0 {
            tracing::debug!(
                duplicates = self.duplicates,
                "Documents already existed (retry or replay)."
            );
            counter!("bulk_documents_duplicate_total").increment(self.duplicates);
        }
        WRITTEN.fetch_add(self.indexed + self.duplicates, Relaxed);
    }
}

/// Items of one response failed with a status worth retrying.
pub struct ItemsRetried<'a> {
    pub count: u64,
    /// The first failed item's status and reason, as an example.
    pub status: u16,
    pub reason: &'a str,
    pub retry_in: Duration,
}

impl ItemsRetried<'_> {
    pub fn emit(self) {
        tracing::warn!(
            count = self.count,
            status = self.status,
            reason = self.reason,
            retry_in_ms = self.retry_in.as_millis() as u64,
            "Bulk items failed; sending them again."
        );
        let status = status_label(self.status);
        counter!("bulk_items_retried_total", "status" => status).increment(self.count);
    }
}

/// A whole request failed and is sent again.
pub struct RequestRetried<'a> {
    /// `connection`, `timeout`, `status_429`, `status_5xx`, `unreadable_response`.
    pub cause: &'static str,
    pub detail: &'a str,
    pub items: usize,
    pub retry_in: Duration,
}

impl RequestRetried<'_> {
    pub fn emit(self) {
        tracing::warn!(
            cause = self.cause,
            detail = self.detail,
            items = self.items,
            retry_in_ms = self.retry_in.as_millis() as u64,
            "Bulk request failed; sending it again."
        );
        counter!("bulk_requests_retried_total", "cause" => self.cause).increment(1);
    }
}

/// Items rejected for good went to the dead-letter file.
pub struct DocumentsDeadLettered<'a> {
    pub count: u64,
    pub status: u16,
    pub reason: &'a str,
    pub path: &'a Path,
}

impl DocumentsDeadLettered<'_> {
    pub fn emit(self) {
        tracing::error!(
            count = self.count,
            status = self.status,
            reason = self.reason,
            path = %self.path.display(),
            "Server rejected documents; wrote them to the dead-letter file."
        );
        let status = status_label(self.status);
        counter!("bulk_documents_dead_lettered_total", "status" => status).increment(self.count);
    }
}

/// Documents that are lost.
pub struct DocumentsDropped<'a> {
    pub count: u64,
    /// `dead_letter_write_failed` or `shutdown`.
    pub cause: &'static str,
    pub detail: &'a str,
}

impl DocumentsDropped<'_> {
    pub fn emit(self) {
        tracing::error!(
            count = self.count,
            cause = self.cause,
            detail = self.detail,
            "Dropped documents."
        );
        counter!("bulk_documents_dropped_total", "cause" => self.cause).increment(self.count);
    }
}

/// A node failed a request or a health check and is left out, or is back.
pub struct NodeStateChanged<'a> {
    pub node: &'a str,
    pub is_up: bool,
    pub detail: &'a str,
}

impl NodeStateChanged<'_> {
    pub fn emit(self) {
        if self.is_up {
            tracing::warn!(node = self.node, "Elasticsearch node is back.");
        } else {
            tracing::warn!(
                node = self.node,
                detail = self.detail,
                "Elasticsearch node failed; leaving it out until it answers."
            );
        }
        gauge!("bulk_node_up", "node" => self.node.to_string()).set(if self.is_up {
            1.0
        } else {
            0.0
        });
    }
}

/// The number of requests in flight changed.
pub struct RequestsInFlight {
    pub count: usize,
}

impl RequestsInFlight {
    pub fn emit(self) {
        gauge!("bulk_requests_in_flight").set(self.count as f64);
    }
}

/// A label for a status without unbounded values.
fn status_label(status: u16) -> &'static str {
    match status {
        400 => "400",
        404 => "404",
        409 => "409",
        413 => "413",
        429 => "429",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}
