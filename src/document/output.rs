//! The append cursor the JSON writer writes a document through.
//!
//! A `Vec<u8>` keeps its length behind the reference the writer holds, so every
//! `push` and `extend_from_slice` loads it, checks the capacity, stores the bytes and
//! stores the length back: across the forty-odd small appends of one document that
//! bookkeeping costs more than the bytes. [`Output`] holds the buffer's pointer,
//! length and capacity in locals while a document is written and gives them back to
//! the `Vec` when it is done (or dropped, so a panic cannot leave bytes uncounted).
//!
//! The invariants, which every `unsafe` block below relies on: `base` is the `Vec`'s
//! buffer, `capacity` its capacity, and the first `len` bytes are initialised. Every
//! write checks that it fits and grows the `Vec` first when it does not, so an
//! estimate that was too small costs a reallocation, never memory safety.

use std::ptr;

/// A write position at the end of a `Vec<u8>`; see the module doc.
pub struct Output<'v> {
    vec: &'v mut Vec<u8>,
    base: *mut u8,
    len: usize,
    capacity: usize,
}

impl<'v> Output<'v> {
    /// Starts appending after `vec`'s current bytes, with room for at least
    /// `expected_bytes` more reserved at once.
    pub fn new(vec: &'v mut Vec<u8>, expected_bytes: usize) -> Output<'v> {
        vec.reserve(expected_bytes);
        Output {
            base: vec.as_mut_ptr(),
            len: vec.len(),
            capacity: vec.capacity(),
            vec,
        }
    }

    /// Bytes in the buffer, counting those that were there before.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// The bytes written so far, from the start of the buffer.
    pub fn written(&self) -> &[u8] {
        // SAFETY: the first `len` bytes of the buffer are initialised.
        unsafe { std::slice::from_raw_parts(self.base, self.len) }
    }

    /// Drops everything after the first `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    #[inline]
    pub fn push(&mut self, byte: u8) {
        self.reserve(1);
        // SAFETY: `reserve` made room for one byte at `len`.
        unsafe { self.base.add(self.len).write(byte) };
        self.len += 1;
    }

    #[inline]
    pub fn extend(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        // SAFETY: `reserve` made room for `bytes.len()` bytes at `len`, and the
        // source cannot overlap the buffer: `self` holds the only reference to it.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.add(self.len), bytes.len()) };
        self.len += bytes.len();
    }

    /// Appends the first `len` bytes of `window` by copying all `N` of them and
    /// counting only `len`: a copy of constant size compiles to a few vector
    /// stores, where one of variable size is a `memcpy` call.
    #[inline]
    pub fn extend_prefix<const N: usize>(&mut self, window: &[u8; N], len: usize) {
        debug_assert!(len <= N);
        self.reserve(N);
        // SAFETY: `reserve` made room for `N` bytes at `len`; only the first
        // `len.min(N)` of them are counted as written, and all of those are.
        unsafe { ptr::copy_nonoverlapping(window.as_ptr(), self.base.add(self.len), N) };
        self.len += len.min(N);
    }

    /// Hands `write` the next `N` bytes of the buffer, zeroed, to render text into
    /// in place, and counts the first `len` it returns (at most `N`). Rendering
    /// straight into the buffer avoids building text on the stack and copying it
    /// over, whose narrow stores the wide copy has to wait for.
    #[inline]
    pub fn append_in_place<const N: usize>(&mut self, write: impl FnOnce(&mut [u8; N]) -> usize) {
        self.reserve(N);
        // SAFETY: `reserve` made room for `N` bytes at `len`, and zeroing them
        // first makes the array reference point at initialised memory; nothing
        // else refers to the buffer while `write` holds it.
        let window = unsafe {
            let at = self.base.add(self.len);
            ptr::write_bytes(at, 0, N);
            &mut *at.cast::<[u8; N]>()
        };
        let len = write(window);
        self.len += len.min(N);
    }

    /// Makes room for `additional` bytes after `len`.
    #[inline]
    fn reserve(&mut self, additional: usize) {
        if self.capacity - self.len < additional {
            self.grow(additional);
        }
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, additional: usize) {
        // SAFETY: the first `len` bytes are initialised, and `len <= capacity`.
        unsafe { self.vec.set_len(self.len) };
        self.vec.reserve(additional);
        self.base = self.vec.as_mut_ptr();
        self.capacity = self.vec.capacity();
    }
}

impl Drop for Output<'_> {
    fn drop(&mut self) {
        // SAFETY: the first `len` bytes are initialised, and `len <= capacity`.
        unsafe { self.vec.set_len(self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_after_existing_bytes_and_grows_past_the_estimate() {
        let mut vec = b"ab".to_vec();
        {
            let mut out = Output::new(&mut vec, 1);
            out.push(b'c');
            out.extend(&[b'd'; 100]);
            out.extend_prefix(b"efghijkl", 2);
            assert_eq!(out.len(), 105);
            out.append_in_place::<8>(|window| {
                window[..3].copy_from_slice(b"xyz");
                2
            });
            assert_eq!(out.len(), 107);
        }
        let mut want = b"abc".to_vec();
        want.extend([b'd'; 100]);
        want.extend(b"efxy");
        assert_eq!(vec, want);
    }

    #[test]
    fn truncate_forgets_the_tail() {
        let mut vec = Vec::new();
        {
            let mut out = Output::new(&mut vec, 0);
            out.extend(b"hello world");
            out.truncate(5);
            assert_eq!(out.written(), b"hello");
            out.extend_prefix(&[b'!'; 64], 1);
        }
        assert_eq!(vec, b"hello!");
    }

    proptest::proptest! {
        /// Any sequence of appends, from any estimate, gives what `Vec` would.
        #[test]
        fn agrees_with_vec(
            estimate in 0usize..64,
            appends in proptest::collection::vec(
                (proptest::collection::vec(0u8..=255, 0..40), 0usize..3),
                0..40,
            ),
        ) {
            let mut reference = vec![7u8];
            let mut vec = vec![7u8];
            {
                let mut out = Output::new(&mut vec, estimate);
                for (bytes, how) in &appends {
                    match how {
                        0 => {
                            out.extend(bytes);
                            reference.extend_from_slice(bytes);
                        }
                        1 => {
                            let mut window = [0u8; 40];
                            window[..bytes.len()].copy_from_slice(bytes);
                            out.extend_prefix(&window, bytes.len());
                            reference.extend_from_slice(bytes);
                        }
                        _ => {
                            for b in bytes {
                                out.push(*b);
                            }
                            reference.extend_from_slice(bytes);
                        }
                    }
                }
            }
            proptest::prop_assert_eq!(vec, reference);
        }
    }
}
