//! Delimited framing (RFC 6587 section 3.4.2): each message ends with LF or NUL.
//!
//! RFC 6587 calls this "non-transparent framing": a message cannot contain its
//! delimiter. Most senders use LF; some syslog-ng setups end messages with NUL,
//! and a connection may even mix them, so either ends a frame here. A CR before
//! the LF is stripped with the rest of the trailer.
//!
//! The decoder remembers how far it has searched so that a long line arriving
//! in many small reads is scanned once, not once per read. A line longer than
//! the frame limit is cut at the limit and the decoder then skips bytes until
//! the next delimiter.

use bytes::BytesMut;

use super::{finish, Frame};

/// Decodes LF- or NUL-delimited frames; built by [`Framer`](super::Framer).
#[derive(Debug)]
pub struct Newline {
    max_frame_bytes: usize,
    /// How many bytes at the front of the buffer are known to hold no delimiter.
    searched: usize,
    /// The current line was cut; its tail is being skipped up to the delimiter.
    discarding: bool,
}

impl Newline {
    /// A decoder that cuts lines longer than `max_frame_bytes`.
    pub fn new(max_frame_bytes: usize) -> Newline {
        Newline {
            max_frame_bytes,
            searched: 0,
            discarding: false,
        }
    }

    /// Splits the next complete line off `buf`, or returns `None` for more bytes.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        loop {
            let found = find_delimiter(&buf[self.searched..]).map(|at| self.searched + at);

            if self.discarding {
                // State: skipping a cut line's tail. Drop what has been seen so
                // far; once the delimiter shows up, the next line starts after it.
                match found {
                    Some(at) => {
                        let _ = buf.split_to(at + 1);
                        self.discarding = false;
                        self.searched = 0;
                        continue;
                    }
                    None => {
                        let _ = buf.split_to(buf.len());
                        self.searched = 0;
                        return None;
                    }
                }
            }

            // State: reading a line. A delimiter within the limit (counting the
            // delimiter itself as one byte past it) ends a whole frame.
            match found {
                Some(at) if at <= self.max_frame_bytes => {
                    let line = buf.split_to(at + 1);
                    self.searched = 0;
                    match finish(line, false) {
                        Some(frame) => return Some(frame),
                        None => continue,
                    }
                }
                _ if buf.len() > self.max_frame_bytes => {
                    let head = buf.split_to(self.max_frame_bytes);
                    self.searched = 0;
                    self.discarding = true;
                    match finish(head, true) {
                        Some(frame) => return Some(frame),
                        None => continue,
                    }
                }
                _ => {
                    self.searched = buf.len();
                    return None;
                }
            }
        }
    }

    /// Like [`decode`](Newline::decode), but a last line without a delimiter
    /// counts as whole: the peer has closed and nothing more will come.
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        if let Some(frame) = self.decode(buf) {
            return Some(frame);
        }
        // `decode` left at most `max_frame_bytes` bytes, none a delimiter.
        self.searched = 0;
        if self.discarding {
            self.discarding = false;
            let _ = buf.split_to(buf.len());
            return None;
        }
        let rest = buf.split_to(buf.len());
        finish(rest, false)
    }
}

/// Position of the first LF or NUL.
fn find_delimiter(bytes: &[u8]) -> Option<usize> {
    memchr::memchr2(b'\n', b'\0', bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn drain(decoder: &mut Newline, buf: &mut BytesMut) -> Vec<(Bytes, bool)> {
        std::iter::from_fn(|| decoder.decode(buf))
            .map(|f| (f.bytes, f.truncated))
            .collect()
    }

    fn whole(text: &'static [u8]) -> (Bytes, bool) {
        (Bytes::from_static(text), false)
    }

    #[test]
    fn splits_on_lf_and_nul_and_strips_cr() {
        let mut decoder = Newline::new(100);
        let mut buf = BytesMut::from(&b"<13>a\r\n<13>b\0<13>c\n<13>par"[..]);
        assert_eq!(
            drain(&mut decoder, &mut buf),
            vec![whole(b"<13>a"), whole(b"<13>b"), whole(b"<13>c")]
        );
        assert_eq!(&buf[..], b"<13>par");
    }

    #[test]
    fn skips_blank_lines() {
        let mut decoder = Newline::new(100);
        let mut buf = BytesMut::from(&b"\n\r\n\0x\n\n"[..]);
        assert_eq!(drain(&mut decoder, &mut buf), vec![whole(b"x")]);
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_whole() {
        let mut decoder = Newline::new(4);
        let mut buf = BytesMut::from(&b"abcd"[..]);
        assert_eq!(decoder.decode(&mut buf), None);
        buf.extend_from_slice(b"\nef\n");
        assert_eq!(
            drain(&mut decoder, &mut buf),
            vec![whole(b"abcd"), whole(b"ef")]
        );
    }

    #[test]
    fn cuts_a_long_line_and_skips_its_tail_across_reads() {
        let mut decoder = Newline::new(4);
        let mut buf = BytesMut::from(&b"abcdefg"[..]);
        assert_eq!(
            drain(&mut decoder, &mut buf),
            vec![(Bytes::from_static(b"abcd"), true)]
        );
        assert!(buf.is_empty(), "the tail is not buffered");
        buf.extend_from_slice(b"hij");
        assert_eq!(drain(&mut decoder, &mut buf), vec![]);
        buf.extend_from_slice(b"k\nok\n");
        assert_eq!(drain(&mut decoder, &mut buf), vec![whole(b"ok")]);
    }

    #[test]
    fn searches_each_byte_once() {
        let mut decoder = Newline::new(100);
        let mut buf = BytesMut::from(&b"abc"[..]);
        assert_eq!(decoder.decode(&mut buf), None);
        assert_eq!(decoder.searched, 3);
        buf.extend_from_slice(b"d\n");
        assert_eq!(drain(&mut decoder, &mut buf), vec![whole(b"abcd")]);
        assert_eq!(decoder.searched, 0);
    }

    #[test]
    fn eof_delivers_the_unterminated_last_line() {
        let mut decoder = Newline::new(100);
        let mut buf = BytesMut::from(&b"a\nlast\r"[..]);
        assert_eq!(
            decoder.decode_eof(&mut buf).map(|f| f.bytes),
            Some(Bytes::from_static(b"a"))
        );
        assert_eq!(
            decoder.decode_eof(&mut buf).map(|f| f.bytes),
            Some(Bytes::from_static(b"last"))
        );
        assert_eq!(decoder.decode_eof(&mut buf), None);
    }

    #[test]
    fn eof_inside_a_cut_tail_delivers_nothing_more() {
        let mut decoder = Newline::new(2);
        let mut buf = BytesMut::from(&b"abcdef"[..]);
        assert_eq!(
            decoder.decode_eof(&mut buf).map(|f| f.truncated),
            Some(true)
        );
        assert_eq!(decoder.decode_eof(&mut buf), None);
        assert!(buf.is_empty());
    }
}
