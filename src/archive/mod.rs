//! The archive sink: documents as zstd-compressed NDJSON files, one file per UTC
//! day of `@timestamp`, the default sink when no Elasticsearch is configured.
//!
//! It sits at the end of the flow: parser threads hand `DocumentBatch`es to the
//! pipeline's sink thread, which owns one `ArchiveWriter`. `replay` reads the files
//! back through `reader`.
//!
//! # Layout
//!
//! `DIR/YYYY-MM-DD.NNNNN.ndjson.zst`: one JSON document per line. A day gets a new
//! file (`NNNNN` + 1) when the current one reaches `max_file_bytes`, on SIGHUP, and
//! at every start. A file is written as `….ndjson.zst.open` and renamed to its
//! finished name only once closed and fsynced, so a file without `.open` is
//! always complete.
//!
//! # Frames and durability
//!
//! A file is a run of independent zstd frames (checksummed), each holding whole
//! lines. Lines gather in memory per day; they are compressed into a frame when
//! `frame_bytes` of them have gathered or when the oldest has waited
//! `flush_interval_ms`. The fsync policy: a file is fsynced at most
//! `flush_interval_ms` after its first unsynced frame, right after a frame cut by
//! the timer, and on close; so a document reaches stable storage within about
//! `flush_interval_ms` of reaching the sink, however slow the traffic.
//!
//! Frames per flush were chosen over one long frame per file because a long frame
//! is unreadable until its end is written: after a crash it would lose the whole
//! file. With frames, a crash costs only the frame being written. The price is a
//! slightly worse ratio at low traffic, when frames are small.
//!
//! # Crash recovery
//!
//! `ArchiveWriter::open` looks for `.open` files, keeps the longest prefix of
//! frames that decode with a valid checksum, cuts the rest, and renames the file
//! to its finished name (`recover`). New data always goes to a new file: nothing
//! is ever appended to a file from an earlier run.

mod day_file;
pub mod naming;
pub mod reader;
pub mod recover;
mod writer;

use std::io;
use std::path::PathBuf;

pub use writer::ArchiveWriter;

/// Why the archive could not write.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot create archive directory {path}")]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("cannot recover open archive file {path}")]
    Recover { path: PathBuf, source: io::Error },
    #[error("cannot create archive file {path}")]
    Create { path: PathBuf, source: io::Error },
    #[error("cannot write archive file {path}")]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot fsync archive file {path}")]
    Sync { path: PathBuf, source: io::Error },
    #[error("cannot rename finished archive file {path}")]
    Rename { path: PathBuf, source: io::Error },
    #[error("zstd compression failed")]
    Compress(#[source] io::Error),
}

#[cfg(test)]
mod tests;
