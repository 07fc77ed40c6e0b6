//! Guessing the next key of a `key_value` body, so that most keys are recognised
//! with one comparison instead of a scan for the `=` and a probe of the name index.
//!
//! A device writes a message type's keys in the same order, line after line, give
//! or take an optional key. For every key spelling a grammar knows, [`KeyOrder`]
//! remembers the two spellings that most recently followed it (and the two that last
//! opened a body), separately for each kind of
//! message (its BRIEF, hashed into one of a few tables: SESSION_BUILT and
//! SESSION_TEARDOWN share their first keys but not their last). The executor first
//! compares the bytes after a comma with the guesses' `Spelling=`, each a fixed-width
//! comparison of three words, and only when both are wrong reads the key the slow
//! way, probes the index and learns the new successor.
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

/// Successor tables per grammar; message kinds hash into them, and two kinds that
/// share one only guess worse.
const KIND_TABLES: usize = 8;

/// Which successor table a message kind (its BRIEF) uses: FNV-1a of its bytes.
#[inline]
pub fn kind_table(kind: &[u8]) -> usize {
    let hash = kind.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash >> 32) as usize % KIND_TABLES
}

/// A key spelling by its index in the grammar's list.
pub type SpellingId = u8;

#[derive(Debug)]
pub struct KeyOrder {
    spellings: Vec<Spelling>,
    /// `next[table * (spellings.len() + 1) + id]`: in that kind table, the
    /// spelling last seen after spelling `id`; the entry at `spellings.len()` is
    /// the one last seen first in a body.
    next: Box<[AtomicU8]>,
    /// The same for the spelling seen there before the last one.
    next_before: Box<[AtomicU8]>,
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
        let table = || {
            (0..KIND_TABLES * (spellings.len() + 1))
                .map(|_| AtomicU8::new(NO_GUESS))
                .collect()
        };
        KeyOrder {
            next: table(),
            next_before: table(),
            spellings,
        }
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

    /// The two spellings that most recently followed `previous` (or
    /// [`start`](Self::start)) in messages of kind `table` (see [`kind_table`]),
    /// the latest first.
    #[inline]
    pub fn guesses_after(&self, table: usize, previous: SpellingId) -> [Option<SpellingId>; 2] {
        let slot = self.slot(table, previous);
        let known = |guess: u8| (guess != NO_GUESS).then_some(guess);
        [
            known(self.next[slot].load(Ordering::Relaxed)),
            known(self.next_before[slot].load(Ordering::Relaxed)),
        ]
    }

    /// Remembers that `next` followed `previous` in messages of kind `table`.
    #[inline]
    pub fn learn(&self, table: usize, previous: SpellingId, next: SpellingId) {
        let slot = self.slot(table, previous);
        // Only a change is written, so that threads agreeing on the order never
        // write the shared lines.
        let latest = self.next[slot].load(Ordering::Relaxed);
        if latest != next {
            self.next_before[slot].store(latest, Ordering::Relaxed);
            self.next[slot].store(next, Ordering::Relaxed);
        }
    }

    /// The key's length and spelling when `input` starts with one of `guesses`
    /// and its `=`.
    #[inline(always)]
    pub fn match_guesses(
        &self,
        guesses: [Option<SpellingId>; 2],
        input: &[u8],
    ) -> Option<(usize, SpellingId)> {
        guesses
            .into_iter()
            .flatten()
            .find_map(|guess| Some((self.matches(guess, input)?, guess)))
    }

    #[inline]
    fn slot(&self, table: usize, id: SpellingId) -> usize {
        (table % KIND_TABLES) * (self.spellings.len() + 1) + id as usize
    }

    /// The key's length when `input` starts with spelling `id` and its `=`.
    #[inline(always)]
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
        for input in [
            &b"SourceIPs=1"[..],
            b"SourceIP",
            b"SourceI=",
            b"sourceIP=",
            b"",
        ] {
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
        assert_eq!(order.guesses_after(0, order.start()), [None, None]);
        order.learn(0, order.start(), 0);
        order.learn(0, 0, 1);
        order.learn(0, 0, 2);
        order.learn(0, 0, 2);
        order.learn(1, 0, 1);
        assert_eq!(order.guesses_after(0, order.start()), [Some(0), None]);
        assert_eq!(order.guesses_after(0, 0), [Some(2), Some(1)]);
        assert_eq!(order.guesses_after(0, 1), [None, None]);
        // Another kind keeps its own order.
        assert_eq!(order.guesses_after(1, 0), [Some(1), None]);
        assert_eq!(order.guesses_after(1, order.start()), [None, None]);
        assert_eq!(
            order.match_guesses([Some(2), Some(1)], b"B=1"),
            Some((1, 1))
        );
        assert_eq!(order.match_guesses([Some(2), None], b"B=1"), None);
    }
}
