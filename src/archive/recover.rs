//! Finishing files that a crash left open.
//!
//! Every flush writes whole zstd frames, each holding whole NDJSON lines, so the
//! readable part of an interrupted file is its longest prefix of complete frames.
//! At start the writer cuts each `.open` file back to that prefix and gives it its
//! finished name; a file with no complete frame is removed.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::naming;

/// What a recovery kept of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The finished path, or `None` when nothing was kept and the file was removed.
    pub path: Option<PathBuf>,
    /// Bytes of complete frames kept.
    pub kept_bytes: u64,
    /// Bytes cut off the end: a frame the crash interrupted.
    pub dropped_bytes: u64,
    /// Documents in the kept frames.
    pub documents: u64,
}

/// The longest prefix of `data` made of complete, checksum-valid zstd frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FramePrefix {
    pub bytes: usize,
    pub frames: u64,
    /// Lines (documents) in those frames.
    pub documents: u64,
}

/// Walks `data` frame by frame and stops at the first one that is cut short or
/// does not decode.
pub fn complete_frames(data: &[u8]) -> FramePrefix {
    let mut prefix = FramePrefix::default();
    let mut scratch = Vec::new();
    while prefix.bytes < data.len() {
        let rest = &data[prefix.bytes..];
        let Ok(size) = zstd::zstd_safe::find_frame_compressed_size(rest) else {
            break;
        };
        if size == 0 || size > rest.len() {
            break;
        }

        // Decoding checks the content checksum, which a frame header alone does
        // not: a crash can leave a full-length frame whose tail is zeros.
        scratch.clear();
        if zstd::stream::copy_decode(&rest[..size], &mut scratch).is_err() {
            break;
        }
        prefix.documents += memchr::memchr_iter(b'\n', &scratch).count() as u64;
        prefix.bytes += size;
        prefix.frames += 1;
    }
    prefix
}

/// Cuts an `.open` file back to its complete frames and renames it to its finished
/// name, or removes it when no frame is complete.
pub fn recover_file(open_path: &Path) -> io::Result<Recovered> {
    let data = fs::read(open_path)?;
    let prefix = complete_frames(&data);
    let dropped_bytes = (data.len() - prefix.bytes) as u64;

    if prefix.bytes == 0 {
        fs::remove_file(open_path)?;
        return Ok(Recovered {
            path: None,
            kept_bytes: 0,
            dropped_bytes,
            documents: 0,
        });
    }

    if dropped_bytes > 0 {
        let file = OpenOptions::new().write(true).open(open_path)?;
        file.set_len(prefix.bytes as u64)?;
        file.sync_all()?;
    }
    let finished = naming::finished_path(open_path);
    fs::rename(open_path, &finished)?;
    Ok(Recovered {
        path: Some(finished),
        kept_bytes: prefix.bytes as u64,
        dropped_bytes,
        documents: prefix.documents,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str) -> Vec<u8> {
        let mut compressor = zstd::bulk::Compressor::new(3).unwrap();
        compressor
            .set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))
            .unwrap();
        compressor.compress(text.as_bytes()).unwrap()
    }

    #[test]
    fn stops_at_a_cut_frame() {
        let mut data = frame("{\"a\":1}\n{\"a\":2}\n");
        let first = data.len();
        let second = frame("{\"a\":3}\n");
        data.extend_from_slice(&second[..second.len() - 3]);
        let prefix = complete_frames(&data);
        assert_eq!(
            prefix,
            FramePrefix {
                bytes: first,
                frames: 1,
                documents: 2
            }
        );
    }

    #[test]
    fn stops_at_zeros_in_a_full_length_frame() {
        let mut data = frame("{\"a\":1}\n");
        let first = data.len();
        let mut second = frame("{\"b\":2}\n{\"b\":3}\n");
        let len = second.len();
        second[len - 6..].fill(0);
        data.extend_from_slice(&second);
        assert_eq!(complete_frames(&data).bytes, first);
    }

    #[test]
    fn recovers_and_renames() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("2025-07-23.00001.ndjson.zst.open");
        let mut data = frame("{\"a\":1}\n");
        data.extend_from_slice(b"\x28\xb5\x2f\xfd\x00");
        fs::write(&open, &data).unwrap();

        let recovered = recover_file(&open).unwrap();
        let finished = dir.path().join("2025-07-23.00001.ndjson.zst");
        assert_eq!(recovered.path.as_deref(), Some(finished.as_path()));
        assert_eq!(recovered.dropped_bytes, 5);
        assert_eq!(recovered.documents, 1);
        assert!(!open.exists());
        let text = zstd::stream::decode_all(fs::File::open(&finished).unwrap()).unwrap();
        assert_eq!(text, b"{\"a\":1}\n");
    }

    #[test]
    fn removes_a_file_without_frames() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("2025-07-23.00002.ndjson.zst.open");
        fs::write(&open, b"").unwrap();
        assert_eq!(recover_file(&open).unwrap().path, None);
        assert!(!open.exists());
    }
}
