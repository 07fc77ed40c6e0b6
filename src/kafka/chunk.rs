//! `Chunk`: what the indexer consumed since its last commit, and when that is
//! enough to make durable and commit.
//!
//! Pure bookkeeping, no Kafka client: a chunk counts documents and bytes, knows
//! when its first document came, and holds per partition the offset to commit
//! (one past the last document consumed). A commit that fails keeps the
//! offsets, so the next commit carries them; a revoked partition's offset is
//! forgotten, because committing it later could overwrite its new owner's.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// When a chunk is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLimits {
    pub max_documents: u64,
    pub max_bytes: u64,
    pub max_age: Duration,
}

/// Documents consumed and not yet committed.
#[derive(Debug)]
pub struct Chunk {
    limits: ChunkLimits,
    documents: u64,
    bytes: u64,
    /// When the oldest uncommitted document (or kept offset) came.
    started: Option<Instant>,
    /// Per partition, the next offset to read: what a commit stores.
    offsets: BTreeMap<i32, i64>,
}

impl Chunk {
    pub fn new(limits: ChunkLimits) -> Chunk {
        Chunk {
            limits,
            documents: 0,
            bytes: 0,
            started: None,
            offsets: BTreeMap::new(),
        }
    }

    /// Counts the document at `offset` of `partition`, `bytes` long.
    pub fn record(&mut self, partition: i32, offset: i64, bytes: usize, now: Instant) {
        self.started.get_or_insert(now);
        self.documents += 1;
        self.bytes += bytes as u64;
        self.offsets.insert(partition, offset + 1);
    }

    /// Nothing to make durable and nothing to commit.
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    pub fn documents(&self) -> u64 {
        self.documents
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Why the chunk should be committed now, if it should.
    pub fn due(&self, now: Instant) -> Option<&'static str> {
        if self.is_empty() {
            return None;
        }
        if self.documents >= self.limits.max_documents {
            Some("documents")
        } else if self.bytes >= self.limits.max_bytes {
            Some("bytes")
        } else if self.deadline().is_some_and(|d| now >= d) {
            Some("age")
        } else {
            None
        }
    }

    /// When the chunk becomes due by age.
    pub fn deadline(&self) -> Option<Instant> {
        self.started.map(|t| t + self.limits.max_age)
    }

    /// Partition and offset to commit, in partition order.
    pub fn offsets(&self) -> impl Iterator<Item = (i32, i64)> + '_ {
        self.offsets.iter().map(|(&p, &o)| (p, o))
    }

    /// After a commit.
    pub fn clear(&mut self) {
        self.documents = 0;
        self.bytes = 0;
        self.started = None;
        self.offsets.clear();
    }

    /// After a failed commit: the documents are durable, their offsets wait for
    /// the next commit, which is due one `max_age` from now at the latest.
    pub fn keep_offsets(&mut self, now: Instant) {
        self.documents = 0;
        self.bytes = 0;
        self.started = (!self.offsets.is_empty()).then_some(now);
    }

    /// Drops what is held for partitions this consumer no longer owns.
    pub fn forget(&mut self, partitions: &[i32]) {
        self.offsets.retain(|p, _| !partitions.contains(p));
        if self.offsets.is_empty() {
            self.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ChunkLimits {
        ChunkLimits {
            max_documents: 3,
            max_bytes: 100,
            max_age: Duration::from_secs(1),
        }
    }

    #[test]
    fn due_by_documents_bytes_or_age() {
        let t0 = Instant::now();
        let mut chunk = Chunk::new(limits());
        assert_eq!(chunk.due(t0 + Duration::from_secs(10)), None);

        chunk.record(0, 10, 10, t0);
        chunk.record(1, 4, 10, t0);
        assert_eq!(chunk.due(t0), None);
        assert_eq!(chunk.due(t0 + Duration::from_secs(1)), Some("age"));
        chunk.record(0, 11, 10, t0);
        assert_eq!(chunk.due(t0), Some("documents"));

        let mut big = Chunk::new(limits());
        big.record(0, 0, 100, t0);
        assert_eq!(big.due(t0), Some("bytes"));
    }

    /// The offset committed is one past the last document, per partition.
    #[test]
    fn commits_one_past_the_last_offset() {
        let t0 = Instant::now();
        let mut chunk = Chunk::new(limits());
        chunk.record(2, 7, 1, t0);
        chunk.record(0, 41, 1, t0);
        chunk.record(2, 8, 1, t0);
        assert_eq!(chunk.offsets().collect::<Vec<_>>(), [(0, 42), (2, 9)]);
        chunk.clear();
        assert!(chunk.is_empty());
        assert_eq!(chunk.offsets().count(), 0);
    }

    #[test]
    fn failed_commit_keeps_offsets_and_revoke_forgets_them() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_millis(500);
        let mut chunk = Chunk::new(limits());
        chunk.record(0, 1, 1, t0);
        chunk.record(1, 1, 1, t0);
        chunk.keep_offsets(t1);
        assert_eq!(chunk.documents(), 0);
        assert!(!chunk.is_empty());
        assert_eq!(chunk.due(t1), None);
        assert_eq!(chunk.due(t1 + Duration::from_secs(1)), Some("age"));

        chunk.forget(&[0]);
        assert_eq!(chunk.offsets().collect::<Vec<_>>(), [(1, 2)]);
        chunk.forget(&[1]);
        assert!(chunk.is_empty());
        assert_eq!(chunk.deadline(), None);
    }
}
