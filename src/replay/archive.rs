//! Archive inputs: the NDJSON documents the archive sink wrote, re-indexed from
//! `event.original`.
//!
//! The archive keeps the device's line in `event.original` (always on failures,
//! and on every document with `parser.keep_original`, the default), so replaying
//! re-parses exactly what arrived, with today's grammars. `event.created`, the
//! first receive time, becomes the receive time again, so year-less headers
//! resolve to the year they were received in. `observer.ip` stands in for the
//! sender: it is the sender's address, except on Huawei lines whose header
//! carries its own IPv4, where that address is kept instead; the sender's own
//! address is not in the document and cannot be recovered.
//!
//! A document without `event.original` (written with `keep_original = false`)
//! cannot be replayed; it is skipped and counted.

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};
use std::net::IpAddr;

use serde::Deserialize;

use super::{Record, ReplayError};

/// The fields of an archived document that replay needs.
#[derive(Deserialize)]
struct Document<'a> {
    #[serde(borrow, default)]
    event: Option<Event<'a>>,
    #[serde(default)]
    observer: Option<Observer>,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow, default)]
    original: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    created: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Observer {
    #[serde(default)]
    ip: Option<IpAddr>,
}

/// `event.original` of one document line; `None` when the line is not such a
/// document.
pub fn original(line: &[u8]) -> Option<Cow<'_, str>> {
    let document: Document<'_> = serde_json::from_slice(line).ok()?;
    document.event?.original
}

/// Reads one record per archived document.
pub struct ArchiveReader<R: Read> {
    reader: BufReader<R>,
    buffer: Vec<u8>,
    offset: u64,
    skipped: u64,
}

impl<R: Read> ArchiveReader<R> {
    pub fn new(reader: R) -> ArchiveReader<R> {
        ArchiveReader {
            reader: BufReader::with_capacity(256 * 1024, reader),
            buffer: Vec::new(),
            offset: 0,
            skipped: 0,
        }
    }

    /// Documents without `event.original`, skipped.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    pub fn next_record(&mut self) -> Result<Option<Record>, ReplayError> {
        loop {
            self.buffer.clear();
            let read = self.reader.read_until(b'\n', &mut self.buffer)?;
            if read == 0 {
                return Ok(None);
            }
            let at = self.offset;
            self.offset += read as u64;
            let line = crate::syslog::trim_line_ending(&self.buffer);
            if line.is_empty() {
                continue;
            }

            let document: Document<'_> =
                serde_json::from_slice(line).map_err(|_| ReplayError::Format {
                    format: "archive NDJSON",
                    offset: at,
                    expected: "one JSON document per line",
                })?;
            let peer = document.observer.and_then(|o| o.ip);
            let Some(event) = document.event else {
                self.skipped += 1;
                continue;
            };
            let Some(original) = event.original else {
                self.skipped += 1;
                continue;
            };
            return Ok(Some(Record {
                line: original.into_owned().into_bytes(),
                received: event.created.and_then(|t| t.parse().ok()),
                peer,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_original_created_and_observer() {
        let input = concat!(
            r#"{"@timestamp":"2025-07-23T02:11:12Z","event":{"created":"2025-07-23T02:11:13.5Z","original":"<13>Jul 23 10:11:12 r1 a \"q\""},"observer":{"ip":"192.0.2.7"}}"#,
            "\n\n",
            r#"{"@timestamp":"2025-07-23T02:11:12Z","event":{"created":"2025-07-23T02:11:13Z"}}"#,
            "\n",
            r#"{"event":{"original":"<14>x"}}"#,
            "\n",
        );
        let mut reader = ArchiveReader::new(input.as_bytes());
        let first = reader.next_record().unwrap().unwrap();
        assert_eq!(first.line, b"<13>Jul 23 10:11:12 r1 a \"q\"");
        assert_eq!(
            first.received,
            Some("2025-07-23T02:11:13.5Z".parse().unwrap())
        );
        assert_eq!(first.peer, Some("192.0.2.7".parse().unwrap()));
        let second = reader.next_record().unwrap().unwrap();
        assert_eq!(
            (second.line.as_slice(), second.received),
            (&b"<14>x"[..], None)
        );
        assert!(reader.next_record().unwrap().is_none());
        assert_eq!(reader.skipped(), 1);
    }

    #[test]
    fn a_broken_line_names_its_offset() {
        let mut reader = ArchiveReader::new(&b"{\"event\":{}}\n{oops\n"[..]);
        let error = reader.next_record().unwrap_err().to_string();
        assert!(error.contains("byte 13"), "{error}");
    }
}
