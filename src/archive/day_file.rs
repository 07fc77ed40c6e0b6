//! `DayFile`: one archive file being filled with one UTC day's documents.
//!
//! Lines gather in `pending`; `write_frame` compresses them into one zstd frame and
//! appends it. The file on disk is always a run of complete frames followed, only
//! after a failed write, by a torn one that the next attempt cuts off first.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use jiff::civil::Date;

use super::{naming, ArchiveError};
use crate::telemetry::pipeline::{ArchiveFileClosed, ArchiveFileSynced, DocumentsArchived};

/// Attempts at finding an unused sequence number before giving up; only another
/// process writing into the same directory makes the first attempt fail.
const MAX_NAME_ATTEMPTS: u32 = 100;

/// The file on disk behind a `DayFile`, created at its first frame.
#[derive(Debug)]
struct OpenFile {
    file: File,
    open_path: PathBuf,
    /// Bytes of complete frames on disk.
    good_bytes: u64,
    /// A write failed after `good_bytes`; cut the file back before the next one.
    is_torn: bool,
    /// Documents in the frames on disk.
    documents: u64,
    /// When the first frame not yet fsynced was written.
    unsynced_since: Option<Instant>,
}

#[derive(Debug)]
pub(super) struct DayFile {
    pub(super) day: i64,
    date: Date,
    file: Option<OpenFile>,
    pending: Vec<u8>,
    pending_documents: u64,
    /// When the oldest pending line arrived.
    pending_since: Option<Instant>,
    /// When a line for this day last arrived.
    pub(super) last_append: Instant,
}

/// How a `DayFile` compresses and where it puts its files.
pub(super) struct FrameWriter<'a> {
    pub(super) dir: &'a Path,
    pub(super) compressor: &'a mut zstd::bulk::Compressor<'static>,
    pub(super) frame: &'a mut Vec<u8>,
    /// Sequence number to try for a new file of this day.
    pub(super) next_sequence: &'a mut u32,
}

impl DayFile {
    pub(super) fn new(day: i64, now: Instant) -> DayFile {
        DayFile {
            day,
            date: naming::date_of(day),
            file: None,
            pending: Vec::new(),
            pending_documents: 0,
            pending_since: None,
            last_append: now,
        }
    }

    pub(super) fn append(&mut self, line: &[u8], now: Instant) {
        if self.pending_since.is_none() {
            self.pending_since = Some(now);
        }
        self.pending.extend_from_slice(line);
        self.pending_documents += 1;
        self.last_append = now;
    }

    pub(super) fn pending_bytes(&self) -> usize {
        self.pending.len()
    }

    pub(super) fn pending_since(&self) -> Option<Instant> {
        self.pending_since
    }

    pub(super) fn unsynced_since(&self) -> Option<Instant> {
        self.file.as_ref().and_then(|f| f.unsynced_since)
    }

    /// Compressed bytes on disk.
    pub(super) fn written_bytes(&self) -> u64 {
        self.file.as_ref().map_or(0, |f| f.good_bytes)
    }

    /// Compresses the pending lines into one frame and appends it. Does nothing
    /// when nothing is pending. On error the lines stay pending for a retry.
    pub(super) fn write_frame(
        &mut self,
        w: FrameWriter<'_>,
        now: Instant,
    ) -> Result<(), ArchiveError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let started = Instant::now();

        w.frame.clear();
        w.frame
            .reserve(zstd::zstd_safe::compress_bound(self.pending.len()));
        w.compressor
            .compress_to_buffer(&self.pending, &mut *w.frame)
            .map_err(ArchiveError::Compress)?;

        if self.file.is_none() {
            self.file = Some(create(w.dir, self.date, w.next_sequence)?);
        }
        let open = self.file.as_mut().expect("created above");

        // A torn frame from a failed attempt is cut off before anything follows it.
        if open.is_torn {
            open.file
                .set_len(open.good_bytes)
                .map_err(|e| write_error(&open.open_path, e))?;
            open.is_torn = false;
        }
        if let Err(e) = open.file.write_all(w.frame) {
            open.is_torn = true;
            return Err(write_error(&open.open_path, e));
        }

        open.good_bytes += w.frame.len() as u64;
        open.documents += self.pending_documents;
        open.unsynced_since.get_or_insert(now);
        DocumentsArchived {
            documents: self.pending_documents,
            uncompressed_bytes: self.pending.len() as u64,
            compressed_bytes: w.frame.len() as u64,
            elapsed: started.elapsed(),
        }
        .emit();

        self.pending.clear();
        self.pending_documents = 0;
        self.pending_since = None;
        Ok(())
    }

    /// Makes the frames written so far durable.
    pub(super) fn sync(&mut self) -> Result<(), ArchiveError> {
        let Some(open) = self.file.as_mut() else {
            return Ok(());
        };
        if open.unsynced_since.is_none() {
            return Ok(());
        }
        let started = Instant::now();
        open.file.sync_data().map_err(|e| ArchiveError::Sync {
            path: open.open_path.clone(),
            source: e,
        })?;
        ArchiveFileSynced {
            elapsed: started.elapsed(),
        }
        .emit();
        open.unsynced_since = None;
        Ok(())
    }

    /// Writes what is pending, fsyncs and renames the file to its finished name.
    /// The `DayFile` is spent afterwards unless this fails, in which case calling it
    /// again retries.
    pub(super) fn close(&mut self, w: FrameWriter<'_>, now: Instant) -> Result<(), ArchiveError> {
        let dir = w.dir.to_path_buf();
        self.write_frame(w, now)?;
        self.sync()?;
        let Some(open) = self.file.take() else {
            return Ok(());
        };

        let finished = naming::finished_path(&open.open_path);
        if let Err(e) = std::fs::rename(&open.open_path, &finished) {
            let path = open.open_path.clone();
            self.file = Some(open);
            return Err(ArchiveError::Rename { path, source: e });
        }
        // The rename itself is durable only once the directory is synced.
        if let Err(e) = File::open(&dir).and_then(|d| d.sync_all()) {
            tracing::warn!(dir = %dir.display(), error = %e, "Could not fsync the archive directory.");
        }
        ArchiveFileClosed {
            path: &finished,
            bytes: open.good_bytes,
            documents: open.documents,
        }
        .emit();
        Ok(())
    }
}

/// Creates a new `.open` file for `date`, never reusing an existing name: a file
/// left by an earlier run is never appended to.
fn create(dir: &Path, date: Date, next_sequence: &mut u32) -> Result<OpenFile, ArchiveError> {
    let mut attempts = 0;
    loop {
        let sequence = *next_sequence;
        let open_path = dir.join(naming::open_name(date, sequence));
        let finished_taken = dir.join(naming::finished_name(date, sequence)).exists();
        *next_sequence += 1;
        if !finished_taken {
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&open_path)
            {
                Ok(file) => {
                    tracing::debug!(path = %open_path.display(), "Opened an archive file.");
                    return Ok(OpenFile {
                        file,
                        open_path,
                        good_bytes: 0,
                        is_torn: false,
                        documents: 0,
                        unsynced_since: None,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(ArchiveError::Create {
                        path: open_path,
                        source: e,
                    })
                }
            }
        }
        attempts += 1;
        if attempts >= MAX_NAME_ATTEMPTS {
            let e = io::Error::new(io::ErrorKind::AlreadyExists, "no free sequence number");
            return Err(ArchiveError::Create {
                path: open_path,
                source: e,
            });
        }
    }
}

fn write_error(path: &Path, source: io::Error) -> ArchiveError {
    ArchiveError::Write {
        path: path.to_path_buf(),
        source,
    }
}
