//! Readers for `nat-ingest replay`: captured logs back into messages.
//!
//! Each input is opened once, its compression told from its first bytes (gzip,
//! zstd or none) and its kind from the first bytes after decompression, never
//! from the name:
//!
//! - a pcap or pcapng capture ([`capture`]): syslog over UDP, one datagram per
//!   message, and over TCP, reassembled and framed per flow; stamped with the
//!   capture time and the sender's address;
//! - the archive sink's NDJSON ([`archive`]): each document's `event.original`,
//!   with its `event.created` as the receive time;
//! - anything else is text with one message per line ([`lines`]): raw device
//!   lines, or the `TIMESTAMP HOST message` lines rsyslog and syslog-ng write.
//!
//! Every reader yields [`Record`]s and stays pure: `Read` in, records out, no
//! sockets and no tokio, so tests drive them on byte slices. The token bucket
//! and the schedule of [`pace`] are plain arithmetic over instants; [`send`]
//! writes to another collector over blocking sockets, through TLS set up by
//! [`tls`] for `tls://`. The loop that ties them together, the pipeline
//! destination and the counts live in `cli::replay`.

pub mod archive;
pub mod capture;
mod detect;
pub mod lines;
pub mod pace;
mod packet;
pub mod send;
mod stream;
pub mod tls;

use std::io::{self, Read};
use std::net::IpAddr;

pub use detect::{Compression, InputKind};

/// Longest message a reader hands on; a longer line is cut here. Bounds memory
/// on a file without newlines, as `parse --max-line-bytes` does.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// One message read from an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The message as a device sent it, without a line ending.
    pub line: Vec<u8>,
    /// When the message was first received: the capture time of a packet, or an
    /// archived document's `event.created`. `None` for text lines, whose header
    /// time is the device's clock, not a receive time.
    pub received: Option<jiff::Timestamp>,
    /// Who sent it: a packet's source address, or an archived `observer.ip`.
    pub peer: Option<IpAddr>,
}

/// Why an input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read input")]
    Io(#[from] io::Error),
    #[error("invalid {format} at byte {offset}: {expected}")]
    Format {
        format: &'static str,
        offset: u64,
        expected: &'static str,
    },
}

/// An opened input: its kind, and the records it yields.
pub struct Input {
    kind: InputKind,
    compression: Compression,
    records: Records,
}

enum Records {
    Lines(lines::LineReader<Box<dyn Read + Send>>),
    Archive(archive::ArchiveReader<Box<dyn Read + Send>>),
    Capture(capture::CaptureReader<Box<dyn Read + Send>>),
}

impl Input {
    /// Detects compression and kind from the first bytes of `raw`, then reads it.
    pub fn open(raw: Box<dyn Read + Send>) -> Result<Input, ReplayError> {
        let (compression, decompressed) = detect::decompress(raw)?;
        let (kind, stream) = detect::kind(decompressed)?;
        let records = match kind {
            InputKind::Lines => Records::Lines(lines::LineReader::new(stream)),
            InputKind::Archive => Records::Archive(archive::ArchiveReader::new(stream)),
            InputKind::Pcap | InputKind::Pcapng => {
                Records::Capture(capture::CaptureReader::new(stream)?)
            }
        };
        Ok(Input {
            kind,
            compression,
            records,
        })
    }

    pub fn kind(&self) -> InputKind {
        self.kind
    }

    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The next record, `None` at the end.
    pub fn next_record(&mut self) -> Result<Option<Record>, ReplayError> {
        match &mut self.records {
            Records::Lines(reader) => reader.next_record(),
            Records::Archive(reader) => reader.next_record(),
            Records::Capture(reader) => reader.next_record(),
        }
    }

    /// Packets and documents skipped because they held no syslog message.
    pub fn skipped(&self) -> u64 {
        match &self.records {
            Records::Lines(_) => 0,
            Records::Archive(reader) => reader.skipped(),
            Records::Capture(reader) => reader.skipped(),
        }
    }
}
