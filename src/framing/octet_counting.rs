//! Octet-counted framing (RFC 6587 section 3.4.1): `MSG-LEN SP SYSLOG-MSG`.
//!
//! Each message is preceded by its length in decimal and one space, and may then
//! contain any byte, LF included. The decoder is a small state machine: read a
//! length, read that many bytes, repeat. A length over the frame limit does not
//! make it buffer the whole message: it hands on the first `max_frame_bytes`
//! bytes as soon as they are in, then counts the rest down as it arrives.
//!
//! Some senders put an LF (or CR LF) after each counted message although the RFC
//! has none; the decoder skips CR, LF and NUL bytes where a length should start
//! rather than failing on them.
//!
//! A length prefix that is not a number (a sender that miscounted, so the next
//! "length" is the middle of a message) is not fatal. That one message is read
//! up to its next LF or NUL, or up to what looks like the next counted message
//! (digits, a space and `<`, the start of a PRI), and handed on with the
//! [`FramingError`] attached; then counting resumes. The bytes are kept, the
//! document says what went wrong, and the connection stays open. Closing it
//! instead would throw away whatever the sender had already written behind the
//! bad prefix, which no counter could even measure. Looking for the next count
//! as well as for a delimiter matters: a sender that miscounts often also cuts
//! the LF off its messages (syslog-ng's loggen does both), and waiting for an LF
//! that never comes would fuse every following message into one cut frame.

use bytes::{Buf, BytesMut};

use super::{finish, Frame, FramingError, MAX_LENGTH_DIGITS};

/// Decodes octet-counted frames; built by [`Framer`](super::Framer).
#[derive(Debug)]
pub struct OctetCounting {
    max_frame_bytes: usize,
    state: State,
    /// Bytes of the stream already removed from the buffer, for error offsets.
    consumed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting `MSG-LEN SP`.
    Length,
    /// The prefix said `length` bytes; they start at the front of the buffer.
    Body { length: usize },
    /// A cut message still has `remaining` bytes to skip.
    Discarding { remaining: usize },
    /// The prefix was not a length: the message up to its end (see
    /// [`unframed_end`]) is read whole and handed on with `error`. The first
    /// `searched` bytes are known not to hold that end.
    Unframed {
        error: FramingError,
        searched: usize,
    },
    /// That unframed message was longer than the limit and was cut; its tail
    /// is being skipped up to its end.
    UnframedTail,
}

/// Where a message read without a valid count ends, as far as the bytes tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// At an LF or NUL at this index; the delimiter belongs to the message.
    Delimiter(usize),
    /// Just before what looks like the next counted message, at this index.
    NextFrame(usize),
    /// Not in these bytes; the first `searched` of them certainly hold no end.
    Unknown { searched: usize },
}

impl OctetCounting {
    /// A decoder that cuts messages longer than `max_frame_bytes`.
    pub fn new(max_frame_bytes: usize) -> OctetCounting {
        OctetCounting {
            max_frame_bytes,
            state: State::Length,
            consumed: 0,
        }
    }

    /// Splits the next complete frame off `buf`, or returns `None` for more bytes.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        let before = buf.len();
        let frame = self.step(buf);
        self.consumed += (before - buf.len()) as u64;
        frame
    }

    fn step(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        let start_len = buf.len();
        loop {
            match self.state {
                State::Length => {
                    // State: between messages. Skip stray line ends, then read
                    // the digits and the space; wait if they are not all in.
                    let skip = buf
                        .iter()
                        .take_while(|b| matches!(b, b'\r' | b'\n' | b'\0'))
                        .count();
                    buf.advance(skip);
                    let offset = self.consumed + (start_len - buf.len()) as u64;
                    match length_prefix(buf) {
                        Ok(None) => return None,
                        Ok(Some((length, prefix_bytes))) => {
                            buf.advance(prefix_bytes);
                            self.state = State::Body { length };
                        }
                        Err(error) => {
                            self.state = State::Unframed {
                                error: error.shifted(offset),
                                searched: 0,
                            }
                        }
                    }
                }
                State::Body { length } if length <= self.max_frame_bytes => {
                    // State: a message within the limit; wait until all of it is in.
                    if buf.len() < length {
                        return None;
                    }
                    self.state = State::Length;
                    if let Some(frame) = finish(buf.split_to(length), false) {
                        return Some(frame);
                    }
                }
                State::Body { length } => {
                    // State: an oversized message; hand on its head once it is in.
                    if buf.len() < self.max_frame_bytes {
                        return None;
                    }
                    let head = buf.split_to(self.max_frame_bytes);
                    self.state = State::Discarding {
                        remaining: length - self.max_frame_bytes,
                    };
                    if let Some(frame) = finish(head, true) {
                        return Some(frame);
                    }
                }
                State::Discarding { remaining } => {
                    // State: skipping a cut message's tail as it arrives.
                    let skip = remaining.min(buf.len());
                    buf.advance(skip);
                    if skip < remaining {
                        self.state = State::Discarding {
                            remaining: remaining - skip,
                        };
                        return None;
                    }
                    self.state = State::Length;
                }
                State::Unframed { error, searched } => {
                    // State: after a bad prefix. The message may not end at
                    // its first byte, which may itself be a digit.
                    let limit = self.max_frame_bytes;
                    let (message, truncated) = match unframed_end(buf, searched.max(1)) {
                        End::Delimiter(at) if at <= limit => (buf.split_to(at + 1), false),
                        End::NextFrame(at) if at <= limit => (buf.split_to(at), false),
                        End::Unknown { searched } if buf.len() <= limit => {
                            self.state = State::Unframed { error, searched };
                            return None;
                        }
                        _ => {
                            self.state = State::UnframedTail;
                            (buf.split_to(limit), true)
                        }
                    };
                    if !truncated {
                        self.state = State::Length;
                    }
                    if let Some(frame) = finish(message, truncated) {
                        return Some(Frame {
                            error: Some(error),
                            ..frame
                        });
                    }
                }
                State::UnframedTail => {
                    // State: skipping an overlong unframed message's tail; the
                    // next counted message may start right at the cut.
                    match unframed_end(buf, 0) {
                        End::Delimiter(at) => buf.advance(at + 1),
                        End::NextFrame(at) => buf.advance(at),
                        End::Unknown { searched } => {
                            buf.advance(searched);
                            return None;
                        }
                    }
                    self.state = State::Length;
                }
            }
        }
    }

    /// Like [`decode`](OctetCounting::decode), for a stream the peer has closed.
    ///
    /// A message shorter than its count is handed on flagged truncated; what is
    /// left of a stream that ends inside a length prefix, or of an unframed
    /// message without its delimiter, is handed on with the error attached.
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        if let Some(frame) = self.decode(buf) {
            return Some(frame);
        }
        let before = buf.len();
        let offset = self.consumed;
        let (frame, error) = match self.state {
            State::Length if buf.is_empty() => return None,
            State::Length => (
                finish(buf.split_to(buf.len()), false),
                Some(FramingError::EndedInLength { offset }),
            ),
            State::Body { .. } => (finish(buf.split_to(buf.len()), true), None),
            State::Discarding { .. } | State::UnframedTail => {
                buf.clear();
                (None, None)
            }
            State::Unframed { error, .. } => (finish(buf.split_to(buf.len()), false), Some(error)),
        };
        self.consumed += (before - buf.len()) as u64;
        self.state = State::Length;
        frame.map(|frame| Frame { error, ..frame })
    }
}

/// Finds the end of a message read without a valid count, looking from index
/// `from` on: an LF or NUL, or the start of `DIGITS SP <`.
fn unframed_end(bytes: &[u8], from: usize) -> End {
    for at in from..bytes.len() {
        match bytes[at] {
            b'\n' | b'\0' => return End::Delimiter(at),
            b'1'..=b'9' => match starts_counted_message(&bytes[at..]) {
                Some(true) => return End::NextFrame(at),
                Some(false) => {}
                None => return End::Unknown { searched: at },
            },
            _ => {}
        }
    }
    End::Unknown {
        searched: bytes.len().max(from),
    }
}

/// Whether `bytes` starts with a length prefix followed by `<`, or `None` when
/// it cannot tell before more bytes arrive.
fn starts_counted_message(bytes: &[u8]) -> Option<bool> {
    for (at, &byte) in bytes.iter().enumerate() {
        match byte {
            b'0'..=b'9' if at < MAX_LENGTH_DIGITS => {}
            b' ' if at > 0 => return bytes.get(at + 1).map(|&next| next == b'<'),
            _ => return Some(false),
        }
    }
    None
}

/// Reads `MSG-LEN SP` at the front of `bytes`: the length and the prefix size,
/// or `None` if the prefix is not complete yet.
fn length_prefix(bytes: &[u8]) -> Result<Option<(usize, usize)>, FramingError> {
    let mut length = 0usize;
    for (at, &byte) in bytes.iter().enumerate() {
        match byte {
            b' ' if at > 0 => return Ok(Some((length, at + 1))),
            b'0'..=b'9' if at < MAX_LENGTH_DIGITS => {
                length = length * 10 + usize::from(byte - b'0');
            }
            b'0'..=b'9' => return Err(FramingError::LengthTooLong { offset: 0 }),
            found => {
                return Err(FramingError::InvalidLength {
                    offset: at as u64,
                    found,
                })
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn drain(decoder: &mut OctetCounting, buf: &mut BytesMut) -> Vec<(Bytes, bool)> {
        let mut out = Vec::new();
        while let Some(frame) = decoder.decode(buf) {
            out.push((frame.bytes, frame.truncated));
        }
        out
    }

    fn whole(text: &'static [u8]) -> (Bytes, bool) {
        (Bytes::from_static(text), false)
    }

    #[test]
    fn reads_counted_messages_with_line_ends_inside() {
        let mut decoder = OctetCounting::new(100);
        let mut buf = BytesMut::from(&b"5 a\nb\n\n3 xyz4 pa"[..]);
        assert_eq!(
            drain(&mut decoder, &mut buf),
            vec![whole(b"a\nb"), whole(b"xyz")]
        );
        assert_eq!(decoder.state, State::Body { length: 4 });
        buf.extend_from_slice(b"rt");
        assert_eq!(drain(&mut decoder, &mut buf), vec![whole(b"part")]);
    }

    #[test]
    fn skips_line_ends_between_messages() {
        let mut decoder = OctetCounting::new(100);
        let mut buf = BytesMut::from(&b"2 ab\r\n2 cd\n"[..]);
        assert_eq!(
            drain(&mut decoder, &mut buf),
            vec![whole(b"ab"), whole(b"cd")]
        );
    }

    #[test]
    fn waits_for_a_split_length() {
        let mut decoder = OctetCounting::new(100);
        let mut buf = BytesMut::from(&b"1"[..]);
        assert_eq!(drain(&mut decoder, &mut buf), vec![]);
        buf.extend_from_slice(b"0 0123456789");
        assert_eq!(drain(&mut decoder, &mut buf), vec![whole(b"0123456789")]);
    }

    #[test]
    fn zero_length_is_skipped() {
        let mut decoder = OctetCounting::new(100);
        let mut buf = BytesMut::from(&b"0 1 x"[..]);
        assert_eq!(drain(&mut decoder, &mut buf), vec![whole(b"x")]);
    }

    #[test]
    fn cuts_an_oversized_message_without_buffering_it() {
        let mut decoder = OctetCounting::new(3);
        let mut buf = BytesMut::from(&b"10 abcd"[..]);
        assert_eq!(
            drain(&mut decoder, &mut buf),
            vec![(Bytes::from_static(b"abc"), true)]
        );
        assert!(buf.is_empty());
        assert_eq!(decoder.state, State::Discarding { remaining: 6 });
        buf.extend_from_slice(b"efghij2 ok");
        assert_eq!(drain(&mut decoder, &mut buf), vec![whole(b"ok")]);
    }

    #[test]
    fn reads_past_a_letter_in_the_length_to_the_delimiter() {
        let mut decoder = OctetCounting::new(100);
        let mut buf = BytesMut::from(&b"1 a12x b\n2 cd"[..]);
        assert_eq!(
            decoder.decode(&mut buf),
            Some(Frame {
                bytes: "a".into(),
                truncated: false,
                error: None,
            })
        );
        assert_eq!(
            decoder.decode(&mut buf),
            Some(Frame {
                bytes: "12x b".into(),
                truncated: false,
                error: Some(FramingError::InvalidLength {
                    offset: 5,
                    found: b'x'
                }),
            })
        );
        assert_eq!(drain(&mut decoder, &mut buf), vec![whole(b"cd")]);
    }

    #[test]
    fn waits_for_the_delimiter_of_an_unframed_message() {
        let mut decoder = OctetCounting::new(100);
        let mut buf = BytesMut::from(&b" abc"[..]);
        assert_eq!(decoder.decode(&mut buf), None);
        buf.extend_from_slice(b"d\n");
        let frame = decoder.decode(&mut buf).unwrap();
        assert_eq!(&frame.bytes[..], b" abcd");
        assert_eq!(
            frame.error,
            Some(FramingError::InvalidLength {
                offset: 0,
                found: b' '
            })
        );
    }

    #[test]
    fn an_endless_length_is_read_as_a_line() {
        let mut decoder = OctetCounting::new(100);
        let mut buf = BytesMut::from(&b"1234567890"[..]);
        assert_eq!(decoder.decode(&mut buf), None);
        let frame = decoder.decode_eof(&mut buf).unwrap();
        assert_eq!(&frame.bytes[..], b"1234567890");
        assert_eq!(frame.error, Some(FramingError::LengthTooLong { offset: 0 }));
    }

    #[test]
    fn eof_hands_on_a_short_message_as_truncated() {
        let mut decoder = OctetCounting::new(100);
        let mut buf = BytesMut::from(&b"9 abc"[..]);
        let frame = decoder.decode_eof(&mut buf).unwrap();
        assert_eq!(
            (frame.bytes, frame.truncated),
            (Bytes::from_static(b"abc"), true)
        );
        assert_eq!(decoder.decode_eof(&mut buf), None);
    }

    #[test]
    fn eof_inside_a_length_keeps_the_digits() {
        let mut decoder = OctetCounting::new(100);
        let mut buf = BytesMut::from(&b"2 ab\n12"[..]);
        assert_eq!(
            decoder.decode_eof(&mut buf).map(|f| f.bytes),
            Some("ab".into())
        );
        let rest = decoder.decode_eof(&mut buf).unwrap();
        assert_eq!(&rest.bytes[..], b"12");
        assert_eq!(rest.error, Some(FramingError::EndedInLength { offset: 5 }));
        assert_eq!(decoder.decode_eof(&mut buf), None);
    }
}
