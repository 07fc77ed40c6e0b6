//! Byte searches over the short distances of a syslog line: the `%%` anchor and the
//! host name's last space in a header; the next `,` after a value, the next `<` or
//! `>` of a group in a body.
//!
//! The distances are a handful of bytes, where `memchr`'s set-up (dispatch, length
//! checks, alignment) costs more than the search, and a byte loop ends on a branch
//! that mispredicts with every value length. These compare sixteen bytes at once with
//! SSE2, which every x86-64 CPU has, and finish the last few bytes one at a time;
//! elsewhere they are the plain loops.

/// The index of the first `needle` in `haystack`.
#[inline]
pub fn find(haystack: &[u8], needle: u8) -> Option<usize> {
    find_either(haystack, needle, needle)
}

/// The index of the first byte of `haystack` that is `a` or `b`.
#[inline]
pub fn find_either(haystack: &[u8], a: u8, b: u8) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        find_either_sse2(haystack, a, b)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        haystack.iter().position(|c| *c == a || *c == b)
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn find_either_sse2(haystack: &[u8], a: u8, b: u8) -> Option<usize> {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    let mut chunks = haystack.chunks_exact(16);
    let mut offset = 0;
    // SAFETY: SSE2 is always available on x86_64, and each load reads one
    // 16-byte chunk of `haystack` (unaligned loads allow any address).
    unsafe {
        let (a_lanes, b_lanes) = (_mm_set1_epi8(a as i8), _mm_set1_epi8(b as i8));
        for chunk in &mut chunks {
            let x = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
            let hits = _mm_or_si128(_mm_cmpeq_epi8(x, a_lanes), _mm_cmpeq_epi8(x, b_lanes));
            let mask = _mm_movemask_epi8(hits);
            if mask != 0 {
                return Some(offset + mask.trailing_zeros() as usize);
            }
            offset += 16;
        }
    }
    let tail = chunks.remainder();
    tail.iter()
        .position(|c| *c == a || *c == b)
        .map(|i| offset + i)
}

/// The index of the last `needle` in `haystack`.
#[inline]
pub fn rfind(haystack: &[u8], needle: u8) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        rfind_sse2(haystack, needle)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        haystack.iter().rposition(|c| *c == needle)
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn rfind_sse2(haystack: &[u8], needle: u8) -> Option<usize> {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    let mut chunks = haystack.rchunks_exact(16);
    let mut end = haystack.len();
    // SAFETY: SSE2 is always available on x86_64, and each load reads one
    // 16-byte chunk of `haystack` (unaligned loads allow any address).
    unsafe {
        let lanes = _mm_set1_epi8(needle as i8);
        for chunk in &mut chunks {
            let x = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
            let mask = _mm_movemask_epi8(_mm_cmpeq_epi8(x, lanes)) as u32;
            if mask != 0 {
                return Some(end - 16 + (31 - mask.leading_zeros()) as usize);
            }
            end -= 16;
        }
    }
    chunks.remainder().iter().rposition(|c| *c == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn finds_what_a_byte_loop_finds(
            haystack in proptest::collection::vec(proptest::sample::select(vec![
                b'a', b',', b'<', b'>', 0, 0xff,
            ]), 0..70),
        ) {
            for (a, b) in [(b',', b','), (b'<', b'>'), (0, 0xff), (b'x', b'y')] {
                let want = haystack.iter().position(|c| *c == a || *c == b);
                proptest::prop_assert_eq!(find_either(&haystack, a, b), want);
                let want = haystack.iter().position(|c| *c == a);
                proptest::prop_assert_eq!(find(&haystack, a), want);
                let want = haystack.iter().rposition(|c| *c == a);
                proptest::prop_assert_eq!(rfind(&haystack, a), want);
            }
        }
    }
}
