//! Text inputs: one message per line.
//!
//! Two shapes arrive here and are read the same way:
//!
//! - raw device lines, `<PRI>…` as sent, e.g. saved from `nc -lu` or `tcpdump -A`;
//! - lines a relay wrote to a file: rsyslog's default (traditional) format and
//!   syslog-ng's are `Jul 23 10:11:12 host tag: text`, rsyslog's high-precision
//!   format is `2025-07-23T10:11:12.123456+08:00 host tag: text`.
//!
//! A relay's line is the device's line with its PRI removed and its timestamp
//! maybe rewritten, so it already is a syslog line: the header parser reads it
//! without a PRI, and nothing is gained by rewriting it further. What cannot be
//! recovered, and is not invented: the PRI (facility and severity) unless the
//! caller supplies one with [`assume_priority`]; a year the device sent but
//! rsyslog's traditional format drops (`Jul 23 2025 …` is written `Jul 23 …`;
//! the year then comes from the reference time); the sub-second part and the
//! offset in the traditional format; and whether the host name was the device's
//! own or one the relay filled in from the sender's address.
//!
//! Lines end in LF or CRLF; empty lines are skipped; a line longer than
//! [`MAX_MESSAGE_BYTES`] is cut there and the rest of it skipped.

use std::io::{BufRead, BufReader, Read};

use super::{Record, ReplayError, MAX_MESSAGE_BYTES};
use crate::syslog;
use crate::time::{Clock, Instant};

/// Reads one record per non-empty line.
pub struct LineReader<R: Read> {
    reader: BufReader<R>,
    buffer: Vec<u8>,
}

impl<R: Read> LineReader<R> {
    pub fn new(reader: R) -> LineReader<R> {
        LineReader {
            reader: BufReader::with_capacity(256 * 1024, reader),
            buffer: Vec::new(),
        }
    }

    pub fn next_record(&mut self) -> Result<Option<Record>, ReplayError> {
        loop {
            self.buffer.clear();
            let limit = MAX_MESSAGE_BYTES as u64 + 1;
            let read = (&mut self.reader)
                .take(limit)
                .read_until(b'\n', &mut self.buffer)?;
            if read == 0 {
                return Ok(None);
            }
            if self.buffer.last() != Some(&b'\n') && read as u64 == limit {
                // Cut: keep the first part, skip the rest of the line.
                self.buffer.truncate(MAX_MESSAGE_BYTES);
                skip_line(&mut self.reader)?;
            }
            let line = syslog::trim_line_ending(&self.buffer);
            if line.is_empty() {
                continue;
            }
            return Ok(Some(Record {
                line: line.to_vec(),
                received: None,
                peer: None,
            }));
        }
    }
}

fn skip_line(reader: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(());
        }
        match memchr::memchr(b'\n', available) {
            Some(at) => {
                reader.consume(at + 1);
                return Ok(());
            }
            None => {
                let n = available.len();
                reader.consume(n);
            }
        }
    }
}

/// Whether a line starts with a syslog PRI (`<0>` to `<191>`).
pub fn has_priority(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"<") else {
        return false;
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    (1..=3).contains(&digits) && rest.get(digits) == Some(&b'>')
}

/// Puts `priority` in front of a line that has none (a relay's file line), so
/// that a receiver which insists on a PRI accepts it. The value is the caller's
/// assumption, not the device's: the original PRI is gone.
pub fn assume_priority(line: &mut Vec<u8>, priority: u8) {
    if has_priority(line) {
        return;
    }
    let mut prefixed = Vec::with_capacity(line.len() + 5);
    prefixed.push(b'<');
    prefixed.extend_from_slice(itoa::Buffer::new().format(priority).as_bytes());
    prefixed.push(b'>');
    prefixed.extend_from_slice(line);
    *line = prefixed;
}

/// The time in a line's header, resolved with `clock` (zone, and the year of
/// `reference` for year-less times). `None` without a readable wall-clock time.
/// Used to keep the original spacing; the document's own `@timestamp` is still
/// the encoder's business.
pub fn header_time(
    line: &[u8],
    clock: &Clock,
    reference: jiff::Timestamp,
) -> Option<jiff::Timestamp> {
    let message = syslog::parse(line).ok()?;
    let civil = message.stamp?.time?;
    let reference = clock.reference(Instant::from_timestamp(reference));
    let instant = clock.resolve(&civil, None, reference).ok()?;
    jiff::Timestamp::new(instant.unix_seconds, instant.nanos as i32).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Zone;

    fn all(input: &[u8]) -> Vec<Vec<u8>> {
        let mut reader = LineReader::new(input);
        let mut lines = Vec::new();
        while let Some(record) = reader.next_record().unwrap() {
            lines.push(record.line);
        }
        lines
    }

    #[test]
    fn reads_lines_and_skips_empty_ones() {
        let lines = all(b"<13>a\r\n\n\r\n<14>b\nlast-without-newline");
        assert_eq!(lines, [&b"<13>a"[..], b"<14>b", b"last-without-newline"]);
    }

    #[test]
    fn cuts_an_overlong_line_and_skips_its_rest() {
        let mut input = vec![b'x'; MAX_MESSAGE_BYTES + 10];
        input.extend_from_slice(b"\n<13>next\n");
        let lines = all(&input);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), MAX_MESSAGE_BYTES);
        assert_eq!(lines[1], b"<13>next");
    }

    #[test]
    fn assumes_a_priority_only_where_none_is() {
        let mut relayed = b"Jul 23 10:11:12 host tag: text".to_vec();
        assume_priority(&mut relayed, 13);
        assert_eq!(relayed, b"<13>Jul 23 10:11:12 host tag: text");
        let mut raw = b"<189>Jul 23 2025 10:11:12 host x".to_vec();
        assume_priority(&mut raw, 13);
        assert_eq!(raw, b"<189>Jul 23 2025 10:11:12 host x");
        assert!(!has_priority(b"<1234>x"));
        assert!(!has_priority(b"<>x"));
    }

    /// rsyslog's traditional line has no year: it comes from the reference
    /// time; its high-precision line carries its own offset.
    #[test]
    fn header_times_of_relay_formats() {
        let clock = Clock {
            zone: Zone::parse("+08:00").unwrap(),
            fixed_reference: None,
        };
        let reference: jiff::Timestamp = "2025-08-01T00:00:00Z".parse().unwrap();
        let traditional = header_time(b"Jul 23 10:11:12 host tag: x", &clock, reference);
        assert_eq!(traditional, Some("2025-07-23T02:11:12Z".parse().unwrap()));
        let precise = header_time(
            b"2025-07-23T10:11:12.5+02:00 host tag: x",
            &clock,
            reference,
        );
        assert_eq!(precise, Some("2025-07-23T08:11:12.5Z".parse().unwrap()));
        assert_eq!(header_time(b"no time here", &clock, reference), None);
    }
}
