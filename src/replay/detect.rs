//! Telling an input's compression and kind from its first bytes.
//!
//! Names lie (a `.log` that is gzipped, a capture saved as `.bin`), so only
//! content decides. The first bytes are read into a buffer and put back in front
//! of the stream with `Read::chain`, which works on pipes as well as files.

use std::io::{self, Cursor, Read};

use super::ReplayError;

/// Bytes of decompressed input looked at to tell NDJSON documents from lines.
const SNIFF_BYTES: usize = 64 * 1024;

/// How an input file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// What an input holds, once decompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// One message per line.
    Lines,
    /// The archive sink's documents, one JSON object per line.
    Archive,
    Pcap,
    Pcapng,
}

impl InputKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InputKind::Lines => "lines",
            InputKind::Archive => "archive",
            InputKind::Pcap => "pcap",
            InputKind::Pcapng => "pcapng",
        }
    }
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

type Stream = Box<dyn Read + Send>;

/// Reads up to `limit` bytes, fewer only at the end of the input.
fn read_prefix(reader: &mut Stream, limit: usize) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(limit.min(SNIFF_BYTES));
    reader.take(limit as u64).read_to_end(&mut prefix)?;
    Ok(prefix)
}

/// The input's compression, and a stream of its decompressed bytes.
pub fn decompress(mut raw: Stream) -> Result<(Compression, Stream), ReplayError> {
    let magic = read_prefix(&mut raw, 4)?;
    let compression = match magic.as_slice() {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd] => Compression::Zstd,
        _ => Compression::None,
    };
    let whole: Stream = Box::new(Cursor::new(magic).chain(raw));
    let stream: Stream = match compression {
        Compression::None => whole,
        // Multi-member: `cat a.gz b.gz` and logrotate's appends are one input.
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(whole)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(whole)?),
    };
    Ok((compression, stream))
}

/// The kind of the decompressed `stream`, and the stream again, whole.
pub fn kind(mut stream: Stream) -> Result<(InputKind, Stream), ReplayError> {
    let prefix = read_prefix(&mut stream, SNIFF_BYTES)?;
    let kind = kind_of(&prefix);
    Ok((kind, Box::new(Cursor::new(prefix).chain(stream))))
}

/// Decides from the first bytes. A capture has a magic number; archive NDJSON is
/// a JSON object with `event.original` on its first line; all else is lines.
pub fn kind_of(prefix: &[u8]) -> InputKind {
    const PCAP_MAGICS: [[u8; 4]; 4] = [
        [0xd4, 0xc3, 0xb2, 0xa1],
        [0xa1, 0xb2, 0xc3, 0xd4],
        [0x4d, 0x3c, 0xb2, 0xa1],
        [0xa1, 0xb2, 0x3c, 0x4d],
    ];
    const PCAPNG_SECTION: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

    if prefix.len() >= 4 {
        let magic = [prefix[0], prefix[1], prefix[2], prefix[3]];
        if PCAP_MAGICS.contains(&magic) {
            return InputKind::Pcap;
        }
        if magic == PCAPNG_SECTION {
            return InputKind::Pcapng;
        }
    }

    let first_line = prefix
        .split(|&b| b == b'\n')
        .find(|line| !line.iter().all(u8::is_ascii_whitespace));
    match first_line {
        Some(line) if line.first() == Some(&b'{') => {
            if super::archive::original(line).is_some() {
                InputKind::Archive
            } else {
                InputKind::Lines
            }
        }
        _ => InputKind::Lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_content() {
        assert_eq!(kind_of(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]), InputKind::Pcap);
        assert_eq!(kind_of(&[0x0a, 0x0d, 0x0d, 0x0a, 0, 0]), InputKind::Pcapng);
        let document = br#"{"@timestamp":"x","event":{"original":"<13>hi"}}"#;
        assert_eq!(kind_of(document), InputKind::Archive);
        // JSON that a device logged is still a line to replay.
        assert_eq!(kind_of(b"{\"msg\":\"hi\"}\n"), InputKind::Lines);
        assert_eq!(kind_of(b"\n<13>Jul 23 10:11:12 host x\n"), InputKind::Lines);
        assert_eq!(kind_of(b""), InputKind::Lines);
    }

    #[test]
    fn compression_follows_magic_not_name() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, b"<13>a\n").unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&b"<13>b\n"[..], 1).unwrap();
        for (bytes, expected, text) in [
            (gz, Compression::Gzip, "<13>a\n"),
            (zst, Compression::Zstd, "<13>b\n"),
            (b"<13>c\n".to_vec(), Compression::None, "<13>c\n"),
            (b"<1".to_vec(), Compression::None, "<1"),
        ] {
            let (compression, mut stream) = decompress(Box::new(Cursor::new(bytes))).unwrap();
            assert_eq!(compression, expected);
            let mut out = String::new();
            stream.read_to_string(&mut out).unwrap();
            assert_eq!(out, text);
        }
    }
}
