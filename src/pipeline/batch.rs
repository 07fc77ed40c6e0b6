//! `DocumentBatch`: encoded documents on their way from a parser thread to the sink,
//! and the pool that hands emptied batches back so their buffers are reused.

use std::sync::Mutex;

use jiff::Timestamp;

use crate::document::{Dataset, Encoded, Encoder, Received};

/// Encoded documents, one NDJSON line each, with what the encoder said about each
/// (`@timestamp`, dataset, fingerprint): the archive names files by the first, the
/// bulk writer routes and names documents by all three.
///
/// The buffers keep their capacity across `clear`, so a batch that goes around
/// the pool stops allocating once it has seen its largest load.
#[derive(Debug, Default)]
pub struct DocumentBatch {
    /// Every document followed by `\n`.
    lines: Vec<u8>,
    /// Where each line ends in `lines` (past its `\n`), and its encoder result.
    ends: Vec<(usize, Encoded)>,
}

impl DocumentBatch {
    /// Encodes one frame as the next line.
    pub fn encode(&mut self, encoder: &Encoder, frame: &[u8], received: &Received) -> Encoded {
        let encoded = encoder.encode(frame, received, &mut self.lines);
        self.lines.push(b'\n');
        self.ends.push((self.lines.len(), encoded));
        encoded
    }

    /// Appends an already encoded document (without its newline) as plain syslog,
    /// its fingerprint taken from the document itself.
    pub fn push(&mut self, document: &[u8], timestamp: Timestamp) {
        let encoded = Encoded {
            timestamp,
            dataset: Dataset::Syslog,
            failure: None,
            fingerprint: Some(crate::document::fingerprint(document, None)),
        };
        self.push_encoded(document, encoded);
    }

    /// Appends an already encoded document (without its newline) with its
    /// encoder result.
    pub fn push_encoded(&mut self, document: &[u8], encoded: Encoded) {
        self.lines.extend_from_slice(document);
        self.lines.push(b'\n');
        self.ends.push((self.lines.len(), encoded));
    }

    /// Each line (with its `\n`) and its encoder result, in order.
    pub fn documents(&self) -> impl Iterator<Item = (&[u8], &Encoded)> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().map(|&(end, _)| end));
        starts
            .zip(&self.ends)
            .map(|(start, (end, encoded))| (&self.lines[start..*end], encoded))
    }

    /// Each line (with its `\n`) and its `@timestamp`, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], Timestamp)> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().map(|&(end, _)| end));
        starts
            .zip(&self.ends)
            .map(|(start, &(end, encoded))| (&self.lines[start..end], encoded.timestamp))
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes of NDJSON held, newlines included.
    pub fn byte_len(&self) -> usize {
        self.lines.len()
    }

    /// Drops bytes past `len` that belong to no finished line: what an encoder that
    /// panicked midway left behind.
    pub(crate) fn truncate_bytes(&mut self, len: usize) {
        debug_assert!(len >= self.ends.last().map_or(0, |&(end, _)| end));
        self.lines.truncate(len);
    }

    pub fn clear(&mut self) {
        self.lines.clear();
        self.ends.clear();
    }
}

/// Emptied batches that wait to be refilled.
#[derive(Debug)]
pub struct BatchPool {
    free: Mutex<Vec<DocumentBatch>>,
    max_free: usize,
}

/// A batch this large is dropped rather than pooled, so one burst of huge frames
/// does not pin its memory for the life of the process.
const MAX_POOLED_BATCH_BYTES: usize = 8 * 1024 * 1024;

impl BatchPool {
    /// A pool keeping at most `max_free` batches.
    pub fn new(max_free: usize) -> BatchPool {
        BatchPool {
            free: Mutex::new(Vec::with_capacity(max_free)),
            max_free,
        }
    }

    /// An empty batch, reused when one is free.
    pub fn take(&self) -> DocumentBatch {
        self.free
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .unwrap_or_default()
    }

    /// Gives a written batch back for reuse.
    pub fn give(&self, mut batch: DocumentBatch) {
        if batch.lines.capacity() > MAX_POOLED_BATCH_BYTES {
            return;
        }
        batch.clear();
        if let Ok(mut free) = self.free.lock() {
            if free.len() < self.max_free {
                free.push(batch);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterates_lines_with_timestamps() {
        let mut batch = DocumentBatch::default();
        let t1 = Timestamp::from_second(1).unwrap();
        let t2 = Timestamp::from_second(2).unwrap();
        batch.push(b"{\"a\":1}", t1);
        batch.push(b"{}", t2);
        let lines: Vec<_> = batch.iter().collect();
        assert_eq!(lines, vec![(&b"{\"a\":1}\n"[..], t1), (&b"{}\n"[..], t2)]);
        assert_eq!(batch.byte_len(), 11);
    }

    #[test]
    fn pool_reuses_capacity() {
        let pool = BatchPool::new(1);
        let mut batch = pool.take();
        batch.push(&[b'x'; 1000], Timestamp::UNIX_EPOCH);
        pool.give(batch);
        let again = pool.take();
        assert!(again.is_empty());
        assert!(again.lines.capacity() >= 1001);
    }
}
