//! The open bulk request: documents gather in a `BulkBody` until it holds
//! `max_documents`, would pass `max_bytes`, or its first document has waited
//! `max_age`. Whichever comes first closes it.
//!
//! Closed bodies go out to the service and come back through `BodyPool` once
//! their request is finished, so in steady state the sink thread writes into
//! buffers that already have the right size.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::request::{BulkBody, ACTION_OVERHEAD_BYTES};

/// When a request closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    pub max_documents: usize,
    /// NDJSON bytes, action lines included. A single larger document still goes,
    /// alone.
    pub max_bytes: usize,
    pub max_age: Duration,
}

impl Default for BatchLimits {
    fn default() -> BatchLimits {
        BatchLimits {
            max_documents: 5000,
            max_bytes: 10 * 1024 * 1024,
            max_age: Duration::from_secs(1),
        }
    }
}

/// Bodies waiting to be filled again.
#[derive(Debug)]
pub struct BodyPool {
    free: Mutex<Vec<BulkBody>>,
    max_free: usize,
    /// A body this large (after a burst of huge documents) is freed, not kept.
    max_kept_bytes: usize,
}

impl BodyPool {
    pub fn new(max_free: usize, max_kept_bytes: usize) -> BodyPool {
        BodyPool {
            free: Mutex::new(Vec::with_capacity(max_free)),
            max_free,
            max_kept_bytes,
        }
    }

    pub fn take(&self) -> BulkBody {
        self.free
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .unwrap_or_default()
    }

    pub fn give(&self, mut body: BulkBody) {
        if body.capacity_bytes() > self.max_kept_bytes {
            return;
        }
        body.clear();
        if let Ok(mut free) = self.free.lock() {
            if free.len() < self.max_free {
                free.push(body);
            }
        }
    }
}

/// The request being filled.
#[derive(Debug)]
pub struct OpenBatch {
    limits: BatchLimits,
    body: BulkBody,
    /// When the first document of the open body arrived.
    opened_at: Option<Instant>,
}

impl OpenBatch {
    pub fn new(limits: BatchLimits) -> OpenBatch {
        OpenBatch {
            limits,
            body: BulkBody::default(),
            opened_at: None,
        }
    }

    /// Whether a document of `document_bytes` into an index named with
    /// `index_bytes` bytes must go into the next body.
    #[inline]
    pub fn is_full_for(&self, index_bytes: usize, document_bytes: usize) -> bool {
        if self.body.is_empty() {
            return false;
        }
        let added = ACTION_OVERHEAD_BYTES + index_bytes + document_bytes + 1;
        self.body.len() >= self.limits.max_documents
            || self.body.byte_len() + added > self.limits.max_bytes
    }

    /// The body to write into; call `is_full_for` first.
    #[inline]
    pub fn body(&mut self, now: Instant) -> &mut BulkBody {
        self.opened_at.get_or_insert(now);
        &mut self.body
    }

    /// Whether the open body holds `max_documents` and must close now.
    pub fn is_at_document_limit(&self) -> bool {
        self.body.len() >= self.limits.max_documents
    }

    /// When the open body must close by age.
    pub fn deadline(&self) -> Option<Instant> {
        self.opened_at.map(|at| at + self.limits.max_age)
    }

    /// Documents in the open body.
    pub fn len(&self) -> usize {
        self.body.len()
    }

    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }

    /// Closes the open body, if it has anything, and starts `next`.
    pub fn close(&mut self, next: BulkBody) -> Option<BulkBody> {
        if self.body.is_empty() {
            return None;
        }
        self.opened_at = None;
        Some(std::mem::replace(&mut self.body, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_documents: usize, max_bytes: usize) -> BatchLimits {
        BatchLimits {
            max_documents,
            max_bytes,
            max_age: Duration::from_millis(500),
        }
    }

    #[test]
    fn closes_on_documents() {
        let mut batch = OpenBatch::new(limits(2, 1 << 20));
        let now = Instant::now();
        for n in 0..2 {
            assert!(!batch.is_full_for(1, 10));
            batch.body(now).push("i", n, b"{}");
        }
        assert!(batch.is_at_document_limit());
        assert!(batch.is_full_for(1, 10));
        let closed = batch.close(BulkBody::default()).unwrap();
        assert_eq!(closed.len(), 2);
        assert!(batch.is_empty());
        assert_eq!(batch.deadline(), None);
    }

    #[test]
    fn closes_on_bytes_but_takes_a_lone_large_document() {
        let one = ACTION_OVERHEAD_BYTES + 1 + 100 + 1;
        let mut batch = OpenBatch::new(limits(100, one * 2));
        let now = Instant::now();
        let document = vec![b' '; 100];
        batch.body(now).push("i", 0, &document);
        assert!(!batch.is_full_for(1, 100));
        batch.body(now).push("i", 1, &document);
        assert!(batch.is_full_for(1, 100));
        batch.close(BulkBody::default()).unwrap();
        // Empty: anything fits, however large.
        assert!(!batch.is_full_for(1, 10 * one));
    }

    #[test]
    fn deadline_runs_from_the_first_document() {
        let mut batch = OpenBatch::new(limits(10, 1 << 20));
        let first = Instant::now();
        batch.body(first).push("i", 0, b"{}");
        batch
            .body(first + Duration::from_millis(300))
            .push("i", 1, b"{}");
        assert_eq!(batch.deadline(), Some(first + Duration::from_millis(500)));
    }

    #[test]
    fn pool_reuses_bodies() {
        let pool = BodyPool::new(2, 1 << 20);
        let mut body = pool.take();
        body.push("i", 0, &[b'x'; 1000]);
        pool.give(body);
        let again = pool.take();
        assert!(again.is_empty());
        assert!(again.capacity_bytes() >= 1000);
        // Too large to keep.
        let mut huge = BulkBody::default();
        huge.push("i", 0, &vec![b'x'; 2 << 20]);
        pool.give(huge);
        assert_eq!(pool.take().capacity_bytes(), 0);
    }
}
