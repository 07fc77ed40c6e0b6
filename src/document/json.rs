//! Writes a [`Doc`] as one JSON object, nested by path, into a reused buffer.
//!
//! The writer walks the known fields (already in path order) and the extras (sorted
//! here) as one merged sequence, keeping a stack of open objects: for each field it
//! closes the objects the field is not in, opens the ones it is in, and writes the
//! value. Strings are escaped with a lookup table; text that is not valid UTF-8 has each
//! bad sequence replaced by U+FFFD, and the caller is told so it can tag the document.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::LazyLock;

use super::fields::{compare_paths, Doc, Field, Value, ALL_FIELDS, FIELDS};
use super::output::Output;
use crate::syslog::{SdElement, SdParams};
use crate::time::render_rfc3339;

/// Deepest nesting a path may have (`log.syslog.facility.code` has four segments).
const MAX_DEPTH: usize = 8;

/// What writing the document found out.
#[derive(Debug, Default, Clone, Copy)]
pub struct Written {
    /// Some text was not valid UTF-8 and had bytes replaced.
    pub replaced_invalid_utf8: bool,
    /// How many bytes the document took in the output.
    pub bytes: usize,
}

/// Appends `doc` as one JSON object to `out`, reserving `expected_bytes` first (an
/// estimate: more is grown into, at the price of a reallocation).
pub fn write_doc(doc: &mut Doc<'_>, out: &mut Vec<u8>, expected_bytes: usize) -> Written {
    let mut out = Output::new(out, expected_bytes);
    if !doc.extras.is_empty() {
        doc.sort_extras();
    }
    write_fields(doc, &mut out)
}

/// The bytes between two known fields: closing braces, a comma, opening keys, and the
/// next field's own key. Indexed `[previous][next]`, with `FIELDS.len()` standing for
/// the document's start (as previous) and its end (as next). Built once, by running the
/// general writer over every pair, so the two paths cannot disagree.
///
/// Each entry is padded to a fixed [`Window`] so that it is appended with a copy of
/// known size (inline stores, no `memcpy` call) and then cut to length.
static TRANSITIONS: LazyLock<Vec<Window>> = LazyLock::new(|| {
    let count = FIELDS.len();
    let mut table = Vec::with_capacity((count + 1) * (count + 1));
    for previous in 0..=count {
        for next in 0..=count {
            let mut writer = Nesting {
                open: [&[][..]; MAX_DEPTH],
                depth: 0,
                first: true,
                written: Written::default(),
            };
            let mut scratch = Vec::new();
            let mut out = Output::new(&mut scratch, 0);
            if let Some(previous) = ALL_FIELDS.get(previous) {
                let segments = known_segments(*previous);
                writer.open_path(&mut out, segments, true);
                writer.first = false;
                out.truncate(0);
            }
            match ALL_FIELDS.get(next) {
                Some(next) => writer.open_path(&mut out, known_segments(*next), true),
                None => writer.close_to(&mut out, 0),
            }
            table.push(Window::of(out.written()));
        }
    }
    table
});

/// Bytes in a [`Window`]: more than the longest transition between known fields.
const WINDOW_BYTES: usize = 64;

/// Up to [`WINDOW_BYTES`] bytes, zero-padded, and how many of them count.
struct Window {
    bytes: [u8; WINDOW_BYTES],
    len: usize,
}

impl Window {
    fn of(text: &[u8]) -> Window {
        assert!(
            text.len() <= WINDOW_BYTES,
            "a transition of {} bytes does not fit a window",
            text.len()
        );
        let mut bytes = [0; WINDOW_BYTES];
        bytes[..text.len()].copy_from_slice(text);
        Window {
            bytes,
            len: text.len(),
        }
    }
}

/// Appends `text`, which starts `rest` (the bytes that follow it in the frame are
/// readable too): short text through a fixed-size copy when enough follows it.
#[inline]
fn append_from_frame(out: &mut Output<'_>, text: &[u8], rest: &[u8]) {
    /// Longest text copied through a fixed window.
    const SHORT_BYTES: usize = 32;
    match rest.first_chunk::<SHORT_BYTES>() {
        Some(window) if text.len() <= SHORT_BYTES => out.extend_prefix(window, text.len()),
        _ => out.extend(text),
    }
}

/// Writes the known fields with their structure copied from [`TRANSITIONS`], and
/// merges in the extras (sorted) by the general writer: each extra goes before the
/// first known field whose path sorts after its own, found by one binary search.
/// Past an extra, the next known field opens its own path, and the table takes
/// over again from there.
fn write_fields(doc: &Doc<'_>, out: &mut Output<'_>) -> Written {
    let start = out.len();
    let stride = FIELDS.len() + 1;
    let transitions = &*TRANSITIONS;
    let mut writer = Nesting {
        open: [&[][..]; MAX_DEPTH],
        depth: 0,
        first: true,
        written: Written::default(),
    };
    // The known field written last (`FIELDS.len()` before any), or `None` when an
    // extra was: then `writer` knows which objects are open.
    let mut previous = Some(FIELDS.len());
    // Known fields from this index on go after the next extra.
    let before = |extra: usize| -> usize {
        let path = doc.scratch_slice(doc.extras[extra].path);
        FIELDS.partition_point(|def| compare_paths(def.path.as_bytes(), path) != Ordering::Greater)
    };
    let mut next_extra = 0;
    let mut next_extra_before = if doc.extras.is_empty() {
        usize::MAX
    } else {
        before(0)
    };
    // Writes the next extra and finds where the one after it goes.
    macro_rules! write_next_extra {
        () => {
            if let Some(known) = previous {
                writer.resume_after(known);
            }
            let extra = &doc.extras[next_extra];
            writer.extra(doc, out, doc.scratch_slice(extra.path), extra.value);
            previous = None;
            next_extra += 1;
            next_extra_before = match next_extra < doc.extras.len() {
                true => before(next_extra),
                false => usize::MAX,
            };
        };
    }

    out.push(b'{');
    for (field, value) in doc.present() {
        let index = field as usize;
        while next_extra_before <= index {
            write_next_extra!();
        }
        match previous {
            Some(known) => {
                let transition = &transitions[known * stride + index];
                out.extend_prefix(&transition.bytes, transition.len);
            }
            None => writer.open_path(out, known_segments(field), true),
        }
        writer.value(doc, out, value);
        previous = Some(index);
    }
    while next_extra_before != usize::MAX {
        write_next_extra!();
    }
    match previous {
        Some(known) => {
            let last = &transitions[known * stride + FIELDS.len()];
            out.extend_prefix(&last.bytes, last.len);
        }
        None => writer.close_to(out, 0),
    }
    out.push(b'}');
    Written {
        bytes: out.len() - start,
        ..writer.written
    }
}

/// The general writer alone, extras merged by comparing paths: the reference the
/// table-driven [`write_fields`] is tested against.
#[cfg(test)]
fn write_sorted(doc: &Doc<'_>, out: &mut Output<'_>) -> Written {
    let start = out.len();
    let mut writer = Nesting {
        open: [&[][..]; MAX_DEPTH],
        depth: 0,
        first: true,
        written: Written::default(),
    };
    out.push(b'{');
    let mut extras = doc.extras.iter().peekable();
    for (field, value) in doc.present() {
        let path = field.path().as_bytes();
        while let Some(extra) =
            extras.next_if(|e| compare_paths(doc.scratch_slice(e.path), path) == Ordering::Less)
        {
            writer.extra(doc, out, doc.scratch_slice(extra.path), extra.value);
        }
        writer.field(doc, out, known_segments(field), true, value);
    }
    for extra in extras {
        writer.extra(doc, out, doc.scratch_slice(extra.path), extra.value);
    }
    writer.close_to(out, 0);
    out.push(b'}');
    Written {
        bytes: out.len() - start,
        ..writer.written
    }
}

/// The path segments of each known field, split once.
fn known_segments(field: Field) -> &'static [&'static [u8]] {
    static SEGMENTS: LazyLock<Vec<Vec<&'static [u8]>>> = LazyLock::new(|| {
        FIELDS
            .iter()
            .map(|def| def.path.as_bytes().split(|b| *b == b'.').collect())
            .collect()
    });
    &SEGMENTS[field as usize]
}

struct Nesting<'p> {
    open: [&'p [u8]; MAX_DEPTH],
    depth: usize,
    /// No member written yet in the innermost open object.
    first: bool,
    written: Written,
}

impl<'p> Nesting<'p> {
    /// Takes the state the table leaves after known field `index` (or, for
    /// `FIELDS.len()`, at the document's start): that field's parents open.
    fn resume_after(&mut self, index: usize) {
        let Some(field) = ALL_FIELDS.get(index) else {
            (self.depth, self.first) = (0, true);
            return;
        };
        let segments = known_segments(*field);
        let parents = &segments[..segments.len() - 1];
        self.open[..parents.len()].copy_from_slice(parents);
        (self.depth, self.first) = (parents.len(), false);
    }

    fn extra(&mut self, doc: &Doc<'_>, out: &mut Output<'_>, path: &'p [u8], value: Value<'_>) {
        let mut segments: [&[u8]; MAX_DEPTH] = [&[]; MAX_DEPTH];
        let mut count = 0;
        for segment in path.split(|b| *b == b'.') {
            if count == MAX_DEPTH {
                break;
            }
            segments[count] = segment;
            count += 1;
        }
        self.field(doc, out, &segments[..count], false, value);
    }

    /// Writes one member at `segments`, closing and opening objects on the way.
    /// `trusted` keys (the known fields') need no escaping.
    fn field(
        &mut self,
        doc: &Doc<'_>,
        out: &mut Output<'_>,
        segments: &[&'p [u8]],
        trusted: bool,
        value: Value<'_>,
    ) {
        self.open_path(out, segments, trusted);
        self.value(doc, out, value);
    }

    /// Closes the objects `segments` is not in, opens those it is in, writes its key.
    fn open_path(&mut self, out: &mut Output<'_>, segments: &[&'p [u8]], trusted: bool) {
        let (last, parents) = segments.split_last().expect("a path has a segment");
        let common = self.open[..self.depth]
            .iter()
            .zip(parents)
            .take_while(|(a, b)| a == b)
            .count();
        self.close_to(out, common);
        for parent in &parents[common..] {
            self.key(out, parent, trusted);
            out.push(b'{');
            self.open[self.depth] = parent;
            self.depth += 1;
            self.first = true;
        }
        self.key(out, last, trusted);
    }

    fn close_to(&mut self, out: &mut Output<'_>, depth: usize) {
        while self.depth > depth {
            out.push(b'}');
            self.depth -= 1;
            self.first = false;
        }
    }

    fn key(&mut self, out: &mut Output<'_>, key: &[u8], trusted: bool) {
        if !self.first {
            out.push(b',');
        }
        self.first = false;
        if trusted {
            out.push(b'"');
            out.extend(key);
            out.extend(b"\":");
        } else {
            self.written.replaced_invalid_utf8 |= write_json_string(out, key);
            out.push(b':');
        }
    }

    #[inline(always)]
    fn value(&mut self, doc: &Doc<'_>, out: &mut Output<'_>, value: Value<'_>) {
        match value {
            Value::Text(bytes) => match doc.clean_from(bytes) {
                Some(rest) => {
                    out.push(b'"');
                    append_from_frame(out, bytes, rest);
                    out.push(b'"');
                }
                None => self.written.replaced_invalid_utf8 |= write_json_string(out, bytes),
            },
            Value::Static(text) => {
                debug_assert!(!needs_escaping(text.as_bytes()), "{text:?} needs escaping");
                out.push(b'"');
                out.extend(text.as_bytes());
                out.push(b'"');
            }
            Value::Scratch(start, end) => {
                let bytes = doc.scratch_slice((start, end));
                self.written.replaced_invalid_utf8 |= write_json_string(out, bytes);
            }
            Value::Ipv4(bits) => {
                out.push(b'"');
                write_ipv4(out, bits.to_be_bytes());
                out.push(b'"');
            }
            ip @ Value::Ipv6(_) => {
                out.push(b'"');
                write_ip_to(out, ip.as_ip().expect("an address"));
                out.push(b'"');
            }
            Value::Unsigned(n) => out.append_in_place::<20>(|window| render_unsigned(n, window)),
            Value::Signed(n) => out.append_in_place(|window: &mut [u8; 20]| {
                if n >= 0 {
                    return render_unsigned(n as u64, window);
                }
                window[0] = b'-';
                let digits: &mut [u8; 19] = (&mut window[1..]).try_into().expect("19 bytes");
                1 + render_unsigned(n.unsigned_abs(), digits)
            }),
            Value::Time(instant) => {
                out.push(b'"');
                out.append_in_place(|window| render_rfc3339(instant, window));
                out.push(b'"');
            }
            Value::StructuredData(data) => {
                self.written.replaced_invalid_utf8 |= write_structured_data(out, data)
            }
            Value::Tags => {
                out.push(b'[');
                for (i, tag) in doc.tags[..doc.tag_count].iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_json_string(out, tag.as_bytes());
                }
                out.push(b']');
            }
        }
    }
}

/// Renders `n` in decimal at the start of `window` and returns its length. The
/// window must hold every digit of `n` (20 for any `u64`, 19 for magnitudes of
/// `i64`); two digits are written at a time, from the end.
#[inline]
fn render_unsigned<const N: usize>(mut n: u64, window: &mut [u8; N]) -> usize {
    let len = decimal_digits(n);
    let mut end = len;
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        window[end - 2..end].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        end -= 2;
    }
    if n >= 10 {
        let pair = n as usize * 2;
        window[end - 2..end].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        window[end - 1] = b'0' + n as u8;
    }
    len
}

/// How many decimal digits `n` has: a guess from its bit length (times log10 2,
/// as 1233/4096), corrected by one comparison with a power of ten.
#[inline]
fn decimal_digits(n: u64) -> usize {
    static POWERS_OF_TEN: [u64; 20] = {
        let mut table = [1u64; 20];
        let mut i = 1;
        while i < 20 {
            table[i] = table[i - 1] * 10;
            i += 1;
        }
        table
    };
    let bits = 64 - (n | 1).leading_zeros();
    let guess = (bits * 1233 >> 12) as usize;
    (guess + usize::from(n >= POWERS_OF_TEN[guess])).max(1)
}

/// "00" to "99", back to back.
static DIGIT_PAIRS: [u8; 200] = {
    let mut table = [0u8; 200];
    let mut n = 0;
    while n < 100 {
        table[n * 2] = b'0' + (n / 10) as u8;
        table[n * 2 + 1] = b'0' + (n % 10) as u8;
        n += 1;
    }
    table
};

/// Canonical text: dotted quad, or RFC 5952 compressed IPv6.
pub fn write_ip(out: &mut Vec<u8>, ip: IpAddr) {
    write_ip_to(&mut Output::new(out, 0), ip);
}

fn write_ip_to(out: &mut Output<'_>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => write_ipv4(out, v4.octets()),
        IpAddr::V6(v6) => write_ipv6(out, v6),
    }
}

/// A dotted quad, built on the stack from a table of octet texts and appended
/// with one copy.
fn write_ipv4(out: &mut Output<'_>, octets: [u8; 4]) {
    out.append_in_place(|text: &mut [u8; 16]| {
        let mut len = 0;
        for (i, octet) in octets.into_iter().enumerate() {
            let (digits, count) = OCTET_TEXT[octet as usize];
            // Copying all three digit slots is cheaper than a variable-length copy;
            // the ones past `count` are overwritten or cut off.
            text[len..len + 3].copy_from_slice(&digits);
            len += count as usize;
            text[len] = b'.';
            len += usize::from(i < 3);
        }
        len
    });
}

/// Each octet's decimal digits (left-aligned) and how many there are.
static OCTET_TEXT: [([u8; 3], u8); 256] = {
    let mut table = [([0u8; 3], 0u8); 256];
    let mut n = 0;
    while n < 256 {
        let (h, t, o) = ((n / 100) as u8, (n / 10 % 10) as u8, (n % 10) as u8);
        table[n] = if n >= 100 {
            ([b'0' + h, b'0' + t, b'0' + o], 3)
        } else if n >= 10 {
            ([b'0' + t, b'0' + o, 0], 2)
        } else {
            ([b'0' + o, 0, 0], 1)
        };
        n += 1;
    }
    table
};

/// RFC 5952 text: lower-case hex without leading zeros, the longest run of two or
/// more zero groups (the first, on a tie) as `::`, IPv4-mapped addresses dotted.
fn write_ipv6(out: &mut Output<'_>, ip: Ipv6Addr) {
    if let Some(v4) = ip.to_ipv4_mapped() {
        out.extend(b"::ffff:");
        write_ip_to(out, IpAddr::V4(v4));
        return;
    }
    let groups = ip.segments();
    let (mut best_start, mut best_len) = (0, 0);
    let mut run_start = 0;
    for i in 0..=8 {
        if i < 8 && groups[i] == 0 {
            continue;
        }
        if i - run_start > best_len {
            (best_start, best_len) = (run_start, i - run_start);
        }
        run_start = i + 1;
    }
    if best_len < 2 {
        best_len = 0;
        best_start = 8;
    }

    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut i = 0;
    while i < 8 {
        if i == best_start {
            out.extend(b"::");
            i += best_len;
            continue;
        }
        if i > 0 && i != best_start + best_len {
            out.push(b':');
        }
        let group = groups[i];
        let mut started = false;
        for shift in [12, 8, 4, 0] {
            let digit = (group >> shift) & 0xf;
            if digit != 0 || started || shift == 0 {
                out.push(HEX[digit as usize]);
                started = true;
            }
        }
        i += 1;
    }
}

/// `{"sd-id":{"name":"value",...},...}`; values unescaped, then JSON-escaped.
fn write_structured_data(out: &mut Output<'_>, data: &[u8]) -> bool {
    let mut replaced = false;
    let mut value = Vec::new();
    out.push(b'{');
    for (i, element) in SdElement::iter(data).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        replaced |= write_json_string(out, element.id);
        out.extend(b":{");
        let params: SdParams<'_> = element.params;
        for (j, (name, escaped)) in params.enumerate() {
            if j > 0 {
                out.push(b',');
            }
            replaced |= write_json_string(out, name);
            out.push(b':');
            value.clear();
            crate::syslog::unescape_sd_value(escaped, &mut value);
            replaced |= write_json_string(out, &value);
        }
        out.push(b'}');
    }
    out.push(b'}');
    replaced
}

/// What a byte needs in a JSON string: 0 nothing, 1 an escape, 2 a UTF-8 check.
static CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = if i < 0x20 || i == b'"' as usize || i == b'\\' as usize {
            1
        } else if i >= 0x80 {
            2
        } else {
            0
        };
        i += 1;
    }
    table
};

/// Whether any byte needs more than copying into a JSON string: a quote, a
/// backslash, a control character or a non-ASCII byte.
pub fn needs_escaping(bytes: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        needs_escaping_sse2(bytes)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        needs_escaping_swar(bytes)
    }
}

/// [`needs_escaping`] sixteen bytes at a time. SSE2 is part of every x86-64 CPU,
/// so no detection is needed. One signed comparison finds both the control
/// characters and the non-ASCII bytes: bytes from 0x80 up are negative as `i8`.
#[cfg(target_arch = "x86_64")]
fn needs_escaping_sse2(bytes: &[u8]) -> bool {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    let mut chunks = bytes.chunks_exact(16);
    // SAFETY: SSE2 is always available on x86_64, and each load reads one
    // 16-byte chunk of `bytes` (unaligned loads allow any address).
    let found = unsafe {
        let below_space = _mm_set1_epi8(0x20);
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        (&mut chunks).any(|chunk| {
            let x = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
            let special = _mm_or_si128(
                _mm_cmplt_epi8(x, below_space),
                _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
            );
            _mm_movemask_epi8(special) != 0
        })
    };
    found || needs_escaping_swar(chunks.remainder())
}

/// [`needs_escaping`] eight bytes at a time in a `u64`, then byte by byte.
fn needs_escaping_swar(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
        let quote = has_zero(x ^ (ONES * b'"' as u64));
        let backslash = has_zero(x ^ (ONES * b'\\' as u64));
        if (x & HIGHS) | below_space | quote | backslash != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(|b| CLASS[*b as usize] != 0)
}

/// Writes `bytes` as a quoted JSON string; returns whether invalid UTF-8 was replaced.
pub fn write_string(out: &mut Vec<u8>, bytes: &[u8]) -> bool {
    write_json_string(&mut Output::new(out, bytes.len() + 2), bytes)
}

fn write_json_string(out: &mut Output<'_>, bytes: &[u8]) -> bool {
    out.push(b'"');
    let replaced = if !needs_escaping(bytes) {
        out.extend(bytes);
        false
    } else {
        write_escaped(out, bytes)
    };
    out.push(b'"');
    replaced
}

fn write_escaped(out: &mut Output<'_>, bytes: &[u8]) -> bool {
    let mut replaced = false;
    for chunk in bytes.utf8_chunks() {
        escape_valid(out, chunk.valid().as_bytes());
        if !chunk.invalid().is_empty() {
            out.extend("\u{FFFD}".as_bytes());
            replaced = true;
        }
    }
    replaced
}

/// Escapes quotes, backslashes and control characters in valid UTF-8.
fn escape_valid(out: &mut Output<'_>, text: &[u8]) {
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        if CLASS[b as usize] != 1 {
            continue;
        }
        out.extend(&text[start..i]);
        match b {
            b'"' => out.extend(b"\\\""),
            b'\\' => out.extend(b"\\\\"),
            b'\n' => out.extend(b"\\n"),
            b'\r' => out.extend(b"\\r"),
            b'\t' => out.extend(b"\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xf) as usize]);
            }
        }
        start = i + 1;
    }
    out.extend(&text[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::fields::Extra;

    fn json(doc: &mut Doc<'_>) -> String {
        let mut out = Vec::new();
        write_doc(doc, &mut out, 0);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn nests_by_path_and_merges_extras() {
        let mut doc = Doc::new(Vec::new());
        doc.set(
            Field::Timestamp,
            Value::Time(crate::time::Instant::from_unix_seconds(0)),
        );
        doc.set(
            Field::SourceIp,
            Value::ip("2001:0db8:0:0:0:0:0:1".parse().unwrap()),
        );
        doc.set(Field::SourceNatPort, Value::Unsigned(443));
        doc.set(Field::HuaweiFlag, Value::Static("l"));
        doc.set(Field::SyslogFacilityCode, Value::Unsigned(23));
        doc.set(Field::SyslogHostname, Value::Text(b"AR \"1\""));
        let path = doc.scratch_with(|s| s.extend_from_slice(b"huawei.application_name"));
        let Value::Scratch(a, b) = path else {
            unreachable!()
        };
        doc.extras.push(Extra {
            path: (a, b),
            value: Value::Text(b"HTTPS"),
        });
        doc.tag("_x");
        let text = json(&mut doc);
        assert_eq!(
            text,
            r#"{"@timestamp":"1970-01-01T00:00:00Z","huawei":{"application_name":"HTTPS","flag":"l"},"log":{"syslog":{"facility":{"code":23},"hostname":"AR \"1\""}},"source":{"ip":"2001:db8::1","nat":{"port":443}},"tags":["_x"]}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["source"]["nat"]["port"], 443);
    }

    #[test]
    fn invalid_utf8_is_replaced_and_reported() {
        let mut out = Vec::new();
        assert!(write_string(&mut out, b"a\xffb\x01"));
        assert_eq!(String::from_utf8(out).unwrap(), "\"a\u{FFFD}b\\u0001\"");
        let mut out = Vec::new();
        assert!(!write_string(&mut out, "héllo\t".as_bytes()));
        assert_eq!(String::from_utf8(out).unwrap(), "\"héllo\\t\"");
    }

    #[test]
    fn transition_table_writes_what_the_general_writer_writes() {
        let mut doc = Doc::new(Vec::new());
        for (i, field) in ALL_FIELDS.iter().enumerate() {
            // Every third field, shifted, so that many different pairs meet.
            for shift in 0..3 {
                if (i + shift) % 3 == 0 {
                    doc.set(*field, Value::Unsigned(i as u64));
                }
            }
            let (mut fast, mut general) = (Vec::new(), Vec::new());
            write_fields(&doc, &mut Output::new(&mut fast, 0));
            write_sorted(&doc, &mut Output::new(&mut general, 0));
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(general).unwrap()
            );
        }
    }

    proptest::proptest! {
        /// Any known fields with any extras, wherever their paths sort, come out
        /// of the table-driven writer as the general writer writes them.
        #[test]
        fn extras_merge_as_the_general_writer_merges_them(
            known in proptest::collection::vec(0..FIELDS.len(), 0..20),
            extras in proptest::collection::vec(proptest::sample::select(vec![
                "huawei.seq", "huawei.aaa", "huawei.zzz", "source.zone", "a", "zzz", "a.b.c",
                "log.syslog.x", "log.syslog.facility.x", "event.zz", "destination.nat.zone",
                "@a", "tags.x", "huawei.flag",
            ]), 0..5),
        ) {
            let build = || {
                let mut doc = Doc::new(Vec::new());
                for (n, i) in known.iter().enumerate() {
                    doc.set(ALL_FIELDS[*i], Value::Unsigned(n as u64));
                }
                for (n, path) in extras.iter().enumerate() {
                    let Value::Scratch(a, b) = doc.scratch_text(path.as_bytes()) else {
                        unreachable!()
                    };
                    doc.extras.push(Extra { path: (a, b), value: Value::Unsigned(100 + n as u64) });
                }
                doc.sort_extras();
                doc
            };
            let (mut fast, mut general) = (Vec::new(), Vec::new());
            write_fields(&build(), &mut Output::new(&mut fast, 0));
            write_sorted(&build(), &mut Output::new(&mut general, 0));
            proptest::prop_assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(general).unwrap()
            );
        }

        #[test]
        fn ipv6_text_agrees_with_std(groups in proptest::array::uniform8(proptest::prop_oneof![
            proptest::strategy::Just(0u16), proptest::strategy::Just(0xffffu16), 0u16..=0xffff,
        ])) {
            let ip = Ipv6Addr::from(groups);
            let mut out = Vec::new();
            write_ipv6(&mut Output::new(&mut out, 0), ip);
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), ip.to_string());
        }

        /// Text inside the clean frame takes the fixed-window copy (or not, near the
        /// frame's end); it must come out as write_string writes it.
        #[test]
        fn frame_text_is_written_as_write_string_writes_it(
            frame in "[ -!#-\\[\\]-~]{0,80}",
            ranges in proptest::collection::vec((0usize..81, 0usize..81), 1..4),
        ) {
            let frame = frame.as_bytes();
            let fields = [Field::Message, Field::SyslogHostname, Field::UrlPath];
            let mut fast = Doc::new(Vec::new());
            fast.set_clean_frame(frame);
            let mut reference = Doc::new(Vec::new());
            for (field, (a, b)) in fields.iter().zip(&ranges) {
                let (start, end) = ((*a).min(*b).min(frame.len()), (*a).max(*b).min(frame.len()));
                fast.set(*field, Value::Text(&frame[start..end]));
                reference.set(*field, Value::Text(&frame[start..end]));
            }
            proptest::prop_assert_eq!(json(&mut fast), json(&mut reference));
        }

        #[test]
        fn ipv4_text_agrees_with_std(octets in proptest::array::uniform4(proptest::prop_oneof![
            proptest::strategy::Just(0u8), 0u8..10, 10u8..100, 100u8..=255,
        ])) {
            let ip = std::net::Ipv4Addr::from(octets);
            let mut out = b"x".to_vec();
            write_ip(&mut out, IpAddr::V4(ip));
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), format!("x{ip}"));
        }
    }

    #[test]
    fn digit_counts_agree_with_ilog10() {
        let mut values = vec![0, 1, u64::MAX];
        for p in 0..20 {
            let power = 10u64.pow(p);
            values.extend([power - 1, power, power + 1]);
        }
        values.extend((0..64).map(|shift| 1u64 << shift));
        for n in values {
            let want = n.checked_ilog10().map_or(1, |log| log as usize + 1);
            assert_eq!(decimal_digits(n), want, "{n}");
        }
    }

    #[test]
    fn numbers_are_written_as_std_writes_them() {
        let mut values: Vec<i64> = vec![0, 9, 10, 99, 100, 101, 999, 1000, i64::MAX, i64::MIN];
        values.extend((1..19).map(|p| 10i64.pow(p) - 1));
        values.extend((1..19).map(|p| 10i64.pow(p)));
        let mut doc = Doc::new(Vec::new());
        for n in values {
            doc.set(Field::SourceBytes, Value::Signed(n));
            doc.set(Field::SourcePackets, Value::Signed(n.wrapping_neg()));
            let want = format!(
                r#"{{"source":{{"bytes":{n},"packets":{}}}}}"#,
                n.wrapping_neg()
            );
            assert_eq!(json(&mut doc), want);
        }
        for n in [u64::MAX, u64::MAX / 10, 10u64.pow(19), 10u64.pow(19) - 1] {
            doc.set(Field::SourceBytes, Value::Unsigned(n));
            doc.unset(Field::SourcePackets);
            assert_eq!(json(&mut doc), format!(r#"{{"source":{{"bytes":{n}}}}}"#));
        }
    }

    #[test]
    fn escaping_checks_agree_with_the_table() {
        for b in 0..=255u8 {
            // Lengths that put the byte in a 16-byte chunk, an 8-byte one and the
            // byte-wise tail.
            for len in [11, 16, 27, 40] {
                for at in 0..len {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = b;
                    let want = CLASS[b as usize] != 0;
                    assert_eq!(needs_escaping(&bytes), want, "byte {b} at {at} of {len}");
                    assert_eq!(
                        needs_escaping_swar(&bytes),
                        want,
                        "byte {b} at {at} of {len}"
                    );
                }
            }
        }
    }

    #[test]
    fn structured_data_becomes_objects() {
        let mut doc = Doc::new(Vec::new());
        doc.set(
            Field::SyslogStructuredData,
            Value::StructuredData(br#"[a@1 x="1" y="q\"z"][b]"#),
        );
        assert_eq!(
            json(&mut doc),
            r#"{"log":{"syslog":{"structured_data":{"a@1":{"x":"1","y":"q\"z"},"b":{}}}}}"#
        );
    }
}
