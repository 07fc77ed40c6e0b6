//! Framing: cuts a stream connection's bytes into whole syslog messages.
//!
//! A TCP or TLS connection delivers a byte stream; this module finds where each
//! message ends. It sits between the listener, which owns the socket and the read
//! buffer, and the syslog parser, which only ever sees whole frames. Nothing here
//! touches tokio or sockets: [`Framer::decode`] takes the connection's read buffer
//! and splits complete frames off its front, so tests, benches and fuzzers drive
//! it with plain byte slices.
//!
//! Two framings exist in the wild (RFC 6587). *Octet counting* prefixes each
//! message with its length in decimal and a space (`12 <13>hello...`). *Non-
//! transparent framing* ends each message with a delimiter; we accept both LF and
//! NUL. A connection uses one of them throughout, so the [`Framer`] picks one from
//! the connection's first bytes: a run of digits followed by a space means octet
//! counting, anything else means delimiters. (Looking at the first byte alone
//! would take a priority-less line that starts with a date, `2025-07-23 ...`, for
//! a length.)
//!
//! Invariants the framer keeps, whichever framing it chose:
//!
//! - A frame is never longer than `max_frame_bytes`. A longer message is cut: its
//!   first `max_frame_bytes` bytes come out flagged [`Frame::truncated`], and the
//!   rest of that message is discarded as it arrives, without buffering it. The
//!   next message comes out whole; the connection is kept.
//! - Trailing CR, LF and NUL bytes are stripped, the same way the UDP listener
//!   strips them from datagrams ([`trim_trailer`]). A frame that is empty after
//!   stripping (a blank line, `0 `) is skipped.
//! - Frames are `Bytes` split off the read buffer: no copy per message.
//!
//! - Every byte that arrives ends up in a frame, except the tails of cut
//!   messages. An octet-counted stream whose length prefix is not a number (a
//!   sender that miscounted) is resynchronised the way rsyslog does it: that one
//!   message is read up to its next LF or NUL and comes out with the
//!   [`FramingError`] attached ([`Frame::error`]), and counting resumes after it.
//!   The connection stays open.

mod newline;
mod octet_counting;

use std::fmt;

use bytes::{Bytes, BytesMut};

pub use newline::Newline;
pub use octet_counting::OctetCounting;

/// The frame size limit a listener uses unless configured otherwise: 64 KiB.
///
/// Large enough for any UDP datagram and every router line seen so far; small
/// enough that a sender that never ends its message cannot grow a connection's
/// buffer without bound.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 64 * 1024;

/// How many digits an octet-count prefix may have before the framer gives up.
///
/// Nine digits allow lengths up to a gigabyte, far past any frame limit; the
/// cap only stops a stream of digits from being read forever as a length.
const MAX_LENGTH_DIGITS: usize = 9;

/// One message cut from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The message without its length prefix or delimiter, trailing CR/LF/NUL stripped.
    pub bytes: Bytes,
    /// The message was longer than the frame limit and this is only its head.
    pub truncated: bool,
    /// The octet count in front of this message was not valid, so it was read up
    /// to its delimiter instead; what was wrong, and where.
    pub error: Option<FramingError>,
}

/// The framing a connection was found to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// RFC 6587 section 3.4.1: `MSG-LEN SP SYSLOG-MSG`.
    OctetCounting,
    /// RFC 6587 section 3.4.2: each message ends with LF or NUL.
    Newline,
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::OctetCounting => "octet_counting",
            Method::Newline => "newline",
        })
    }
}

/// What was wrong with an octet count. The framer recovers (see the module
/// docs) and attaches it to the frame read in its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// An octet-count prefix held something other than digits and one space.
    #[error(
        "invalid octet count at byte {offset}: expected a digit or a space, found {found:#04x}"
    )]
    InvalidLength { offset: u64, found: u8 },
    /// An octet-count prefix ran past [`MAX_LENGTH_DIGITS`] digits.
    #[error("octet count too long at byte {offset}: more than {MAX_LENGTH_DIGITS} digits")]
    LengthTooLong { offset: u64 },
    /// The stream ended inside an octet-count prefix.
    #[error("stream ended inside an octet count at byte {offset}")]
    EndedInLength { offset: u64 },
}

impl FramingError {
    /// Where in the connection's stream the problem was found, counting from 0.
    pub fn offset(&self) -> u64 {
        match *self {
            FramingError::InvalidLength { offset, .. }
            | FramingError::LengthTooLong { offset }
            | FramingError::EndedInLength { offset } => offset,
        }
    }

    /// Moves the offset from "within the prefix" to "within the stream".
    fn shifted(self, by: u64) -> FramingError {
        match self {
            FramingError::InvalidLength { offset, found } => FramingError::InvalidLength {
                offset: offset + by,
                found,
            },
            FramingError::LengthTooLong { offset } => FramingError::LengthTooLong {
                offset: offset + by,
            },
            FramingError::EndedInLength { offset } => FramingError::EndedInLength {
                offset: offset + by,
            },
        }
    }
}

/// Frames one connection's stream, choosing the framing from its first bytes.
///
/// Create one per connection; call [`decode`](Framer::decode) after every read
/// until it returns `None`, and [`decode_eof`](Framer::decode_eof) once the
/// peer has closed.
#[derive(Debug)]
pub struct Framer {
    state: State,
    max_frame_bytes: usize,
}

#[derive(Debug)]
enum State {
    Detecting,
    OctetCounting(OctetCounting),
    Newline(Newline),
}

impl Framer {
    /// A framer that cuts frames at `max_frame_bytes` (at least 1).
    pub fn new(max_frame_bytes: usize) -> Framer {
        Framer {
            state: State::Detecting,
            max_frame_bytes: max_frame_bytes.max(1),
        }
    }

    /// The framing chosen for this connection, once enough bytes arrived to tell.
    pub fn method(&self) -> Option<Method> {
        match self.state {
            State::Detecting => None,
            State::OctetCounting(_) => Some(Method::OctetCounting),
            State::Newline(_) => Some(Method::Newline),
        }
    }

    /// Splits the next complete frame off the front of `buf`, if there is one.
    ///
    /// `None` means more bytes are needed. Bytes of a cut message's tail are
    /// removed from `buf` as they are seen, so `buf` never holds more than about
    /// one frame limit of unframed data.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        self.step(buf, false)
    }

    /// Like [`decode`](Framer::decode), for when the peer has closed the stream.
    ///
    /// A last delimited message without its delimiter is returned whole; a last
    /// octet-counted message shorter than its count is returned flagged
    /// truncated. Call it until it returns `None`.
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        self.step(buf, true)
    }

    fn step(&mut self, buf: &mut BytesMut, eof: bool) -> Option<Frame> {
        if let State::Detecting = self.state {
            match detect(buf, eof) {
                None => return None,
                Some(Method::OctetCounting) => {
                    self.state = State::OctetCounting(OctetCounting::new(self.max_frame_bytes))
                }
                Some(Method::Newline) => {
                    self.state = State::Newline(Newline::new(self.max_frame_bytes))
                }
            }
        }

        match &mut self.state {
            State::Detecting => unreachable!("detection finished above"),
            State::OctetCounting(decoder) if eof => decoder.decode_eof(buf),
            State::OctetCounting(decoder) => decoder.decode(buf),
            State::Newline(decoder) if eof => decoder.decode_eof(buf),
            State::Newline(decoder) => decoder.decode(buf),
        }
    }
}

/// Tells the framing from the first bytes of a stream, or `None` if it cannot yet.
///
/// Octet counting needs a leading digit, then only digits up to a space. The
/// first byte that is neither settles it, so detection never waits for more
/// than `MAX_LENGTH_DIGITS + 1` bytes.
fn detect(buf: &[u8], eof: bool) -> Option<Method> {
    match buf.first() {
        None => return None,
        Some(byte) if !byte.is_ascii_digit() => return Some(Method::Newline),
        Some(_) => {}
    }
    for &byte in buf.iter().take(MAX_LENGTH_DIGITS + 1) {
        match byte {
            b'0'..=b'9' => continue,
            b' ' => return Some(Method::OctetCounting),
            _ => return Some(Method::Newline),
        }
    }
    if buf.len() > MAX_LENGTH_DIGITS || eof {
        // Too many digits for a length, or nothing more will come: a line.
        return Some(Method::Newline);
    }
    None
}

/// Strips trailing CR, LF and NUL bytes: what senders append after a message.
///
/// Both the framers and the UDP listener use it, so a message looks the same to
/// the parser whichever transport carried it.
pub fn trim_trailer(bytes: &[u8]) -> usize {
    let mut end = bytes.len();
    while end > 0 && matches!(bytes[end - 1], b'\r' | b'\n' | b'\0') {
        end -= 1;
    }
    end
}

/// Turns a message's bytes, split off the buffer, into a frame.
fn finish(mut message: BytesMut, truncated: bool) -> Option<Frame> {
    message.truncate(trim_trailer(&message));
    if message.is_empty() {
        return None;
    }
    Some(Frame {
        bytes: message.freeze(),
        truncated,
        error: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frames(framer: &mut Framer, buf: &mut BytesMut, eof: bool) -> Vec<Frame> {
        let mut out = Vec::new();
        loop {
            let next = if eof {
                framer.decode_eof(buf)
            } else {
                framer.decode(buf)
            };
            match next {
                Some(frame) => out.push(frame),
                None => return out,
            }
        }
    }

    fn whole(bytes: &[u8]) -> Frame {
        Frame {
            bytes: Bytes::copy_from_slice(bytes),
            truncated: false,
            error: None,
        }
    }

    #[test]
    fn detects_octet_counting() {
        let mut framer = Framer::new(1024);
        let mut buf = BytesMut::from(&b"11 <13>hello a"[..]);
        assert_eq!(
            frames(&mut framer, &mut buf, false),
            vec![whole(b"<13>hello a")]
        );
        assert_eq!(framer.method(), Some(Method::OctetCounting));
    }

    #[test]
    fn detects_newline_from_a_leading_date() {
        let mut framer = Framer::new(1024);
        let mut buf = BytesMut::from(&b"2025-07-23 fw1 up\n"[..]);
        assert_eq!(
            frames(&mut framer, &mut buf, false),
            vec![whole(b"2025-07-23 fw1 up")]
        );
        assert_eq!(framer.method(), Some(Method::Newline));
    }

    #[test]
    fn waits_for_a_digit_run_to_end() {
        let mut framer = Framer::new(1024);
        let mut buf = BytesMut::from(&b"12"[..]);
        assert_eq!(framer.decode(&mut buf), None);
        assert_eq!(framer.method(), None);
        buf.extend_from_slice(b"3\n");
        assert_eq!(frames(&mut framer, &mut buf, false), vec![whole(b"123")]);
    }

    #[test]
    fn digits_alone_at_eof_are_a_line() {
        let mut framer = Framer::new(1024);
        let mut buf = BytesMut::from(&b"42"[..]);
        assert_eq!(frames(&mut framer, &mut buf, true), vec![whole(b"42")]);
    }

    #[test]
    fn error_offsets_count_from_the_stream_start() {
        let mut framer = Framer::new(1024);
        let mut buf = BytesMut::from(&b"2 ab2 cdx y\n"[..]);
        assert_eq!(framer.decode(&mut buf), Some(whole(b"ab")));
        assert_eq!(framer.decode(&mut buf), Some(whole(b"cd")));
        let unframed = framer.decode(&mut buf).unwrap();
        assert_eq!(&unframed.bytes[..], b"x y");
        assert_eq!(
            unframed.error,
            Some(FramingError::InvalidLength {
                offset: 8,
                found: b'x'
            })
        );
    }

    /// Regression: syslog-ng's loggen 3.38 declares `-s 8192` RFC 5424 frames
    /// as 8192 bytes but sends 8187, so every length after the first lands in
    /// the middle of a message. The connection used to be closed there and the
    /// rest of what the sender had written was lost uncounted; now each message
    /// still comes out, the misframed ones carrying the error.
    #[test]
    fn a_miscounting_sender_loses_no_message() {
        for line_end in ["\n", ""] {
            let mut stream = Vec::new();
            for n in 0..6 {
                let text = format!("<38>1 - host prg - - - seq: {n:04} PADPAD{line_end}");
                // Counts its own prefix (`NN `) into the length, like loggen.
                stream.extend_from_slice(format!("{} ", text.len() + 3).as_bytes());
                stream.extend_from_slice(text.as_bytes());
            }
            let mut framer = Framer::new(1024);
            let mut buf = BytesMut::from(&stream[..]);
            let got = frames(&mut framer, &mut buf, true);

            // One frame per message, each holding its own sequence number (the
            // counted ones also hold the next message's prefix).
            let texts: Vec<String> = got
                .iter()
                .map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
                .collect();
            assert_eq!(texts.len(), 6, "{texts:?}");
            for (n, text) in texts.iter().enumerate() {
                assert!(text.starts_with("<38>1 "), "{text:?}");
                assert!(text.contains(&format!("seq: {n:04}")), "{text:?}");
            }
            let misframed: Vec<bool> = got.iter().map(|f| f.error.is_some()).collect();
            assert_eq!(misframed, [false, true, false, true, false, true]);
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn an_overlong_unframed_message_is_cut_and_counting_resumes() {
        let mut framer = Framer::new(4);
        let mut buf = BytesMut::from(&b"1 ax abcdefgh\n2 ok"[..]);
        let got = frames(&mut framer, &mut buf, true);
        let bytes: Vec<&[u8]> = got.iter().map(|f| &f.bytes[..]).collect();
        assert_eq!(bytes, vec![&b"a"[..], b"x ab", b"ok"]);
        assert!(got[1].truncated && got[1].error.is_some());
        assert_eq!(got[2].error, None);
    }

    #[test]
    fn trims_only_the_trailer() {
        assert_eq!(trim_trailer(b"a\r\n\0"), 1);
        assert_eq!(trim_trailer(b"a\rb"), 3);
        assert_eq!(trim_trailer(b"\n\n"), 0);
    }

    /// A message a router could send: starts with a PRI, never ends in a trailer
    /// byte, and holds no delimiter so it survives either framing.
    fn message() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                Just(b'a'),
                Just(b' '),
                Just(b'<'),
                Just(b'9'),
                Just(b'\r'),
                Just(0xff)
            ],
            0..40,
        )
        .prop_map(|mut body| {
            let mut message = b"<13>".to_vec();
            message.append(&mut body);
            message.truncate(trim_trailer(&message));
            message
        })
    }

    fn render(messages: &[Vec<u8>], octet_counting: bool, delimiter: u8) -> Vec<u8> {
        let mut out = Vec::new();
        for message in messages {
            if octet_counting {
                out.extend_from_slice(format!("{} ", message.len()).as_bytes());
                out.extend_from_slice(message);
            } else {
                out.extend_from_slice(message);
                out.push(delimiter);
            }
        }
        out
    }

    /// Feeds `stream` in pieces cut at `cuts` and collects every frame.
    fn feed(stream: &[u8], cuts: &[usize], max_frame_bytes: usize) -> Vec<Frame> {
        let mut framer = Framer::new(max_frame_bytes);
        let mut buf = BytesMut::new();
        let mut points: Vec<usize> = cuts.iter().map(|cut| cut % (stream.len() + 1)).collect();
        points.push(stream.len());
        points.sort_unstable();
        let mut out = Vec::new();
        let mut from = 0;
        for to in points {
            buf.extend_from_slice(&stream[from..to]);
            from = to;
            out.extend(frames(&mut framer, &mut buf, false));
        }
        out.extend(frames(&mut framer, &mut buf, true));
        out
    }

    proptest! {
        #[test]
        fn split_streams_come_back_whole_and_in_order(
            messages in proptest::collection::vec(message(), 0..20),
            octet_counting: bool,
            nul: bool,
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let stream = render(&messages, octet_counting, if nul { 0 } else { b'\n' });
            let got = feed(&stream, &cuts, 1024);
            let want: Vec<Frame> = messages.iter().map(|m| whole(m)).collect();
            prop_assert_eq!(got, want);
        }

        /// Counted messages may carry any byte, delimiters included.
        #[test]
        fn counted_messages_carry_any_byte(
            bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..60), 0..12),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let messages: Vec<Vec<u8>> = bodies
                .into_iter()
                .map(|body| {
                    let mut message = [b"<13>".as_slice(), &body].concat();
                    message.truncate(trim_trailer(&message));
                    message
                })
                .collect();
            let stream = render(&messages, true, b'\n');
            let want: Vec<Frame> = messages.iter().map(|m| whole(m)).collect();
            prop_assert_eq!(feed(&stream, &cuts, 1024), want);
        }

        #[test]
        fn oversized_messages_are_cut_and_the_next_one_survives(
            messages in proptest::collection::vec(message(), 1..12),
            octet_counting: bool,
            max_frame_bytes in 5usize..30,
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let stream = render(&messages, octet_counting, b'\n');
            let got = feed(&stream, &cuts, max_frame_bytes);

            // Reference: cut each message on its own, then strip its trailer.
            let want: Vec<Frame> = messages
                .iter()
                .filter_map(|m| {
                    let truncated = m.len() > max_frame_bytes;
                    let head = &m[..m.len().min(max_frame_bytes)];
                    let head = &head[..trim_trailer(head)];
                    (!head.is_empty()).then(|| Frame { bytes: Bytes::copy_from_slice(head), truncated, error: None })
                })
                .collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn arbitrary_bytes_never_panic_or_grow(
            stream in proptest::collection::vec(any::<u8>(), 0..300),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
            max_frame_bytes in 1usize..64,
        ) {
            let mut framer = Framer::new(max_frame_bytes);
            let mut buf = BytesMut::new();
            let mut from = 0;
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
            points.push(stream.len());
            points.sort_unstable();
            let mut total = 0;
            for to in points {
                buf.extend_from_slice(&stream[from..to]);
                from = to;
                while let Some(frame) = framer.decode(&mut buf) {
                    prop_assert!(frame.bytes.len() <= max_frame_bytes);
                    prop_assert!(!frame.bytes.is_empty());
                    total += frame.bytes.len();
                }
                // Unframed data never exceeds a frame plus a length prefix.
                prop_assert!(buf.len() <= max_frame_bytes + MAX_LENGTH_DIGITS + 1);
            }
            prop_assert!(total <= stream.len());
        }
    }
}
