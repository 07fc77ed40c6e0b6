//! Guessing the next key of a `key_value` body, so that most keys are recognised
//! with one comparison instead of a scan for the `=` and a probe of the name index.
//!
//! A device writes a message type's keys in the same order, line after line. For
//! every key spelling a grammar knows, [`KeyOrder`] remembers the spelling that last
//! followed it (and the one that last opened a body). The executor first compares
//! the bytes after a comma with that guess's `Spelling=`, a fixed-width comparison of
//! three words, and only when the guess is wrong reads the key the slow way, probes
//! the index and learns the new successor.
//!
//! A right guess recognises exactly what the slow way would: every spelling is a
//! valid key (the compiler checks), and the comparison includes its `=`, so the key
//! ends where the scan would have ended it. The memory is shared by all threads
//! running the grammar through relaxed atomics; another thread's guess is as good as
//! one's own, and a wrong guess costs only the slow way.

use std::sync::atomic::{AtomicU8, Ordering};

/// The most key spellings one grammar may have: ids are `u8`, and two values are
/// reserved (the start of a body, and "no guess").
pub const MAX_SPELLINGS: usize = 254;

/// Spellings of at most this many bytes, `=` included, are compared as words.
const WORD_COMPARED_BYTES: usize = 24;

/// No successor learnt yet.
const NO_GUESS: u8 = u8::MAX;

/// A key spelling by its index in the grammar's list.
pub type SpellingId = u8;

#[derive(Debug)]
pub struct KeyOrder {
    spellings: Vec<Spelling>,
    /// `next[id]`: the spelling last seen after spelling `id`; the entry at
    /// `spellings.len()` is the one last seen first in a body.
    next: Box<[AtomicU8]>,
}

#[derive(Debug)]
struct Spelling {
    /// `Key=`.
    pattern: Box<[u8]>,
    /// The pattern's first 24 bytes as little-endian words, zero-padded, and the
    /// masks that keep only its bytes.
    words: [u64; 3],
    masks: [u64; 3],
    field: u8,
}

impl KeyOrder {
    /// `spellings[id]` is a key and the field it fills; at most [`MAX_SPELLINGS`].
    pub fn new(spellings: &[(&[u8], u8)]) -> KeyOrder {
        assert!(spellings.len() <= MAX_SPELLINGS, "too many key spellings");
        let spellings: Vec<Spelling> = spellings
            .iter()
            .map(|(key, field)| {
                let mut pattern = key.to_vec();
                pattern.push(b'=');
                let mut padded = [0u8; WORD_COMPARED_BYTES];
                let mut mask_bytes = [0u8; WORD_COMPARED_BYTES];
                let covered = pattern.len().min(WORD_COMPARED_BYTES);
                padded[..covered].copy_from_slice(&pattern[..covered]);
                mask_bytes[..covered].fill(0xff);
                Spelling {
                    pattern: pattern.into(),
                    words: words(&padded),
                    masks: words(&mask_bytes),
                    field: *field,
                }
            })
            .collect();
        let next = (0..=spellings.len()).map(|_| AtomicU8::new(NO_GUESS)).collect();
        KeyOrder { spellings, next }
    }

    /// The id that stands for "before the first key".
    #[inline]
    pub fn start(&self) -> SpellingId {
        self.spellings.len() as SpellingId
    }

    /// The field spelling `id` fills.
    #[inline]
    pub fn field(&self, id: SpellingId) -> u8 {
        self.spellings[id as usize].field
    }

    /// The spelling that last followed `previous` (or [`start`](Self::start)).
    #[inline]
    pub fn guess_after(&self, previous: SpellingId) -> Option<SpellingId> {
        let guess = self.next[previous as usize].load(Ordering::Relaxed);
        (guess != NO_GUESS).then_some(guess)
    }

    /// Remembers that `next` followed `previous`.
    #[inline]
    pub fn learn(&self, previous: SpellingId, next: SpellingId) {
        let slot = &self.next[previous as usize];
        // Only a change is written, so that threads agreeing on the order never
        // write the shared line.
        if slot.load(Ordering::Relaxed) != next {
            slot.store(next, Ordering::Relaxed);
        }
    }

    /// The key's length when `input` starts with spelling `id` and its `=`.
    #[inline]
    pub fn matches(&self, id: SpellingId, input: &[u8]) -> Option<usize> {
        let spelling = &self.spellings[id as usize];
        let key_len = spelling.pattern.len() - 1;
        match input.first_chunk::<WORD_COMPARED_BYTES>() {
            Some(window) if spelling.pattern.len() <= WORD_COMPARED_BYTES => {
                let seen = words(window);
                let differ = ((seen[0] ^ spelling.words[0]) & spelling.masks[0])
                    | ((seen[1] ^ spelling.words[1]) & spelling.masks[1])
                    | ((seen[2] ^ spelling.words[2]) & spelling.masks[2]);
                (differ == 0).then_some(key_len)
            }
            _ => input.starts_with(&spelling.pattern).then_some(key_len),
        }
    }
}

#[inline]
fn words(bytes: &[u8; WORD_COMPARED_BYTES]) -> [u64; 3] {
    let word = |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    [word(0), word(1), word(2)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_spelling_and_its_equals_sign_only() {
        let long = b"AKeyOfMoreThanTwentyFourBytes";
        let order = KeyOrder::new(&[(b"SourceIP", 3), (long, 4)]);
        let padded = |text: &[u8]| {
            let mut bytes = text.to_vec();
            bytes.extend([b'x'; 40]);
            bytes
        };
        for input in [b"SourceIP=1".to_vec(), padded(b"SourceIP=1")] {
            assert_eq!(order.matches(0, &input), Some(8));
        }
        for input in [&b"SourceIPs=1"[..], b"SourceIP", b"SourceI=", b"sourceIP=", b""] {
            assert_eq!(order.matches(0, input), None, "{input:?}");
            assert_eq!(order.matches(0, &padded(input)), None, "{input:?}");
        }
        let mut long_input = long.to_vec();
        long_input.push(b'=');
        assert_eq!(order.matches(1, &padded(&long_input)), Some(long.len()));
        assert_eq!(order.matches(1, &padded(long)), None);
        assert_eq!(order.field(1), 4);
    }

    #[test]
    fn remembers_the_last_successor() {
        let order = KeyOrder::new(&[(b"A", 0), (b"B", 1), (b"C", 2)]);
        assert_eq!(order.guess_after(order.start()), None);
        order.learn(order.start(), 0);
        order.learn(0, 1);
        order.learn(0, 2);
        assert_eq!(order.guess_after(order.start()), Some(0));
        assert_eq!(order.guess_after(0), Some(2));
        assert_eq!(order.guess_after(1), None);
    }
}
