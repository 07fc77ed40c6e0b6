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

use bytes::{Buf, BytesMut};

use super::{finish, Frame, FramingError, MAX_LENGTH_DIGITS};

/// Decodes octet-counted frames; built by [`Framer`](super::Framer).
#[derive(Debug)]
pub struct OctetCounting {
    max_frame_bytes: usize,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting `MSG-LEN SP`.
    Length,
    /// The prefix said `length` bytes; they start at the front of the buffer.
    Body { length: usize },
    /// A cut message still has `remaining` bytes to skip.
    Discarding { remaining: usize },
}

impl OctetCounting {
    /// A decoder that cuts messages longer than `max_frame_bytes`.
    pub fn new(max_frame_bytes: usize) -> OctetCounting {
        OctetCounting {
            max_frame_bytes,
            state: State::Length,
        }
    }

    /// Splits the next complete frame off `buf`, or returns `None` for more bytes.
    ///
    /// Error offsets count from the front of `buf` as it was passed in.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FramingError> {
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
                    let offset = (start_len - buf.len()) as u64;
                    match length_prefix(buf).map_err(|error| error.shifted(offset))? {
                        None => return Ok(None),
                        Some((length, prefix_bytes)) => {
                            buf.advance(prefix_bytes);
                            self.state = State::Body { length };
                        }
                    }
                }
                State::Body { length } if length <= self.max_frame_bytes => {
                    // State: a message within the limit; wait until all of it is in.
                    if buf.len() < length {
                        return Ok(None);
                    }
                    self.state = State::Length;
                    if let Some(frame) = finish(buf.split_to(length), false) {
                        return Ok(Some(frame));
                    }
                }
                State::Body { length } => {
                    // State: an oversized message; hand on its head once it is in.
                    if buf.len() < self.max_frame_bytes {
                        return Ok(None);
                    }
                    let head = buf.split_to(self.max_frame_bytes);
                    self.state = State::Discarding {
                        remaining: length - self.max_frame_bytes,
                    };
                    if let Some(frame) = finish(head, true) {
                        return Ok(Some(frame));
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
                        return Ok(None);
                    }
                    self.state = State::Length;
                }
            }
        }
    }

    /// Like [`decode`](OctetCounting::decode), for a stream the peer has closed.
    ///
    /// A message shorter than its count is handed on flagged truncated; a stream
    /// that ends inside a length prefix is an error.
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FramingError> {
        let start_len = buf.len();
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        match self.state {
            State::Length if buf.is_empty() => Ok(None),
            State::Length => {
                let offset = (start_len - buf.len()) as u64;
                let _ = buf.split_to(buf.len());
                Err(FramingError::EndedInLength { offset })
            }
            State::Body { .. } => {
                self.state = State::Length;
                Ok(finish(buf.split_to(buf.len()), true))
            }
            State::Discarding { .. } => {
                self.state = State::Length;
                Ok(None)
            }
        }
    }
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
        while let Some(frame) = decoder.decode(buf).unwrap() {
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
    fn rejects_a_letter_in_the_length() {
        let mut decoder = OctetCounting::new(100);
        let mut buf = BytesMut::from(&b"1 a12x"[..]);
        assert_eq!(
            decoder.decode(&mut buf),
            Ok(Some(Frame {
                bytes: "a".into(),
                truncated: false
            }))
        );
        assert_eq!(
            decoder.decode(&mut buf),
            Err(FramingError::InvalidLength {
                offset: 2,
                found: b'x'
            })
        );
    }

    #[test]
    fn rejects_a_missing_length() {
        let mut decoder = OctetCounting::new(100);
        let mut buf = BytesMut::from(&b" abc"[..]);
        assert_eq!(
            decoder.decode(&mut buf),
            Err(FramingError::InvalidLength {
                offset: 0,
                found: b' '
            })
        );
    }

    #[test]
    fn rejects_an_endless_length() {
        let mut decoder = OctetCounting::new(100);
        let mut buf = BytesMut::from(&b"1234567890"[..]);
        assert_eq!(
            decoder.decode(&mut buf),
            Err(FramingError::LengthTooLong { offset: 0 })
        );
    }

    #[test]
    fn eof_hands_on_a_short_message_as_truncated() {
        let mut decoder = OctetCounting::new(100);
        let mut buf = BytesMut::from(&b"9 abc"[..]);
        let frame = decoder.decode_eof(&mut buf).unwrap().unwrap();
        assert_eq!(
            (frame.bytes, frame.truncated),
            (Bytes::from_static(b"abc"), true)
        );
        assert_eq!(decoder.decode_eof(&mut buf), Ok(None));
    }

    #[test]
    fn eof_inside_a_length_is_an_error() {
        let mut decoder = OctetCounting::new(100);
        let mut buf = BytesMut::from(&b"2 ab\n12"[..]);
        assert_eq!(
            decoder.decode_eof(&mut buf).unwrap().map(|f| f.bytes),
            Some("ab".into())
        );
        assert_eq!(
            decoder.decode_eof(&mut buf),
            Err(FramingError::EndedInLength { offset: 1 })
        );
    }
}
