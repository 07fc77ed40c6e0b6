//! The `_bulk` request body: one `create` action line and one document line per
//! item, written straight from the parser's NDJSON into a buffer that is reused
//! from request to request.
//!
//! `create` (not `index`) with an `_id` derived from the message's fingerprint is
//! what makes delivery idempotent: a retried item or a replayed capture meets the
//! document it already wrote and gets a 409, which counts as a duplicate. The id
//! is the 128-bit fingerprint in unpadded base64url, 22 characters.
//!
//! The body remembers where each item starts, so that a retry can copy exactly
//! the items that failed into a new body, and a dead letter can quote its
//! document, without parsing anything.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;

/// Length of a document id: 128 bits in base64 without padding.
pub const DOCUMENT_ID_LEN: usize = 22;

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const ACTION_HEAD: &[u8] = b"{\"create\":{\"_index\":\"";
const ACTION_ID: &[u8] = b"\",\"_id\":\"";
const ACTION_TAIL: &[u8] = b"\"}}\n";

/// Bytes an action line adds besides the index name.
pub const ACTION_OVERHEAD_BYTES: usize =
    ACTION_HEAD.len() + ACTION_ID.len() + DOCUMENT_ID_LEN + ACTION_TAIL.len();

/// The `_id` of the document with this fingerprint.
pub fn document_id(fingerprint: u128) -> [u8; DOCUMENT_ID_LEN] {
    let mut out = [0u8; DOCUMENT_ID_LEN];
    // 128 bits are 21 six-bit digits and 2 bits left over, most significant first.
    for (i, slot) in out.iter_mut().enumerate() {
        let shift = 128 - 6 * (i as i32 + 1);
        let digit = if shift >= 0 {
            (fingerprint >> shift) & 0x3f
        } else {
            (fingerprint << -shift) & 0x3f
        };
        *slot = BASE64URL[digit as usize];
    }
    out
}

/// Where one item lies in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Item {
    /// Start of the action line.
    action: usize,
    /// Start of the document line.
    document: usize,
    /// Past the document's `\n`.
    end: usize,
}

/// A `_bulk` body under construction or in flight.
#[derive(Debug, Default)]
pub struct BulkBody {
    bytes: Vec<u8>,
    items: Vec<Item>,
}

impl BulkBody {
    /// Appends a `create` of `document` (one JSON object, with or without its
    /// trailing `\n`) into `index`. The index name must need no JSON escaping,
    /// which `IndexPattern` guarantees.
    #[inline]
    pub fn push(&mut self, index: &str, fingerprint: u128, document: &[u8]) {
        let document = document.strip_suffix(b"\n").unwrap_or(document);
        let action = self.bytes.len();
        self.bytes
            .reserve(ACTION_OVERHEAD_BYTES + index.len() + document.len() + 1);
        self.bytes.extend_from_slice(ACTION_HEAD);
        self.bytes.extend_from_slice(index.as_bytes());
        self.bytes.extend_from_slice(ACTION_ID);
        self.bytes.extend_from_slice(&document_id(fingerprint));
        self.bytes.extend_from_slice(ACTION_TAIL);
        let start = self.bytes.len();
        self.bytes.extend_from_slice(document);
        self.bytes.push(b'\n');
        self.items.push(Item {
            action,
            document: start,
            end: self.bytes.len(),
        });
    }

    /// Copies item `n` of `other` (action and document) to the end of this body.
    pub fn push_item_of(&mut self, other: &BulkBody, n: usize) {
        let item = other.items[n];
        let offset = self.bytes.len();
        self.bytes
            .extend_from_slice(&other.bytes[item.action..item.end]);
        self.items.push(Item {
            action: offset,
            document: offset + (item.document - item.action),
            end: offset + (item.end - item.action),
        });
    }

    /// Items in the body.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Bytes of NDJSON, newlines included.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// The NDJSON to send.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Item `n`'s action object, without its newline.
    pub fn action(&self, n: usize) -> &[u8] {
        let item = self.items[n];
        &self.bytes[item.action..item.document - 1]
    }

    /// Item `n`'s document, without its newline.
    pub fn document(&self, n: usize) -> &[u8] {
        let item = self.items[n];
        &self.bytes[item.document..item.end - 1]
    }

    /// Empties the body, keeping its buffers.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.items.clear();
    }

    /// Heap bytes held, for deciding whether a body is worth pooling.
    pub fn capacity_bytes(&self) -> usize {
        self.bytes.capacity() + self.items.capacity() * std::mem::size_of::<Item>()
    }
}

/// Gzips `body` into `out` (cleared first) at `level` (1 fastest to 9 smallest).
pub fn gzip(body: &[u8], level: u32, out: &mut Vec<u8>) {
    out.clear();
    let mut encoder = GzEncoder::new(out, Compression::new(level));
    // Writing into a Vec cannot fail.
    encoder.write_all(body).expect("writing to memory");
    encoder.finish().expect("writing to memory");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_22_char_base64url_of_the_fingerprint() {
        assert_eq!(&document_id(0), b"AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(&document_id(u128::MAX), b"_____________________w");
        // The top six bits come first.
        assert_eq!(document_id(1 << 127)[0], b'g');
        // The lowest two bits land in the last digit, shifted up by four.
        assert_eq!(document_id(1)[21], b'Q');
        let a = document_id(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        let b = document_id(0x0123_4567_89ab_cdef_0123_4567_89ab_cdee);
        assert_ne!(a, b);
    }

    #[test]
    fn writes_create_actions_and_documents() {
        let mut body = BulkBody::default();
        body.push("nat-2025.07.23", 0, b"{\"a\":1}\n");
        body.push("nat-syslog-2025.07.23", u128::MAX, b"{\"b\":2}");
        let text = std::str::from_utf8(body.as_bytes()).unwrap();
        assert_eq!(
            text,
            "{\"create\":{\"_index\":\"nat-2025.07.23\",\"_id\":\"AAAAAAAAAAAAAAAAAAAAAA\"}}\n\
             {\"a\":1}\n\
             {\"create\":{\"_index\":\"nat-syslog-2025.07.23\",\"_id\":\"_____________________w\"}}\n\
             {\"b\":2}\n"
        );
        assert_eq!(body.len(), 2);
        assert_eq!(body.document(1), b"{\"b\":2}");
        let action: serde_json::Value = serde_json::from_slice(body.action(0)).unwrap();
        assert_eq!(action["create"]["_index"], "nat-2025.07.23");
        let overhead = body.byte_len() - 2 * 8 - "nat-2025.07.23nat-syslog-2025.07.23".len();
        assert_eq!(overhead, 2 * ACTION_OVERHEAD_BYTES);
    }

    #[test]
    fn copies_chosen_items_into_a_new_body() {
        let mut body = BulkBody::default();
        for n in 0..4u128 {
            body.push("i", n, format!("{{\"n\":{n}}}").as_bytes());
        }
        let mut retry = BulkBody::default();
        retry.push_item_of(&body, 1);
        retry.push_item_of(&body, 3);
        assert_eq!(retry.len(), 2);
        assert_eq!(retry.document(0), b"{\"n\":1}");
        assert_eq!(retry.document(1), b"{\"n\":3}");
        assert_eq!(retry.action(1), body.action(3));
    }

    #[test]
    fn gzip_round_trips() {
        let mut body = BulkBody::default();
        body.push("i", 7, b"{\"message\":\"hello hello hello hello\"}");
        let mut out = vec![1, 2, 3];
        gzip(body.as_bytes(), 1, &mut out);
        let mut decoded = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&out[..]), &mut decoded)
            .unwrap();
        assert_eq!(decoded, body.as_bytes());
    }
}
