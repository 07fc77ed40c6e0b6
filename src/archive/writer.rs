//! `ArchiveWriter`: routes documents to one `DayFile` per UTC day and decides when
//! frames are written, fsynced and files closed.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::day_file::{DayFile, FrameWriter};
use super::{naming, recover, ArchiveError};
use crate::config::archive::ArchiveConfig;
use crate::pipeline::DocumentBatch;
use crate::telemetry::pipeline::ArchiveFileRecovered;

/// Days with a file open at once. Documents for one more day close the file that
/// was appended to least recently; a device with a wild clock therefore costs
/// small files, not open descriptors.
const MAX_OPEN_DAYS: usize = 4;

/// A past day's file is closed once no document for it came for this long, so
/// yesterday's file is finished soon after midnight but late stragglers still
/// land in it.
const PAST_DAY_IDLE: Duration = Duration::from_secs(600);

/// Writes documents into compressed day files. See the module doc of
/// `crate::archive` for the durability it gives.
///
/// Dropping it without `close` leaves `.open` files behind, exactly as a crash
/// would; the next `ArchiveWriter::open` on the directory finishes them.
pub struct ArchiveWriter {
    dir: PathBuf,
    max_file_bytes: u64,
    frame_bytes: usize,
    flush_interval: Duration,
    compressor: zstd::bulk::Compressor<'static>,
    /// Scratch for one compressed frame, reused.
    frame: Vec<u8>,
    files: Vec<DayFile>,
    /// Next sequence number per day, past every name already in the directory.
    next_sequence: HashMap<i64, u32>,
}

impl std::fmt::Debug for ArchiveWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveWriter")
            .field("dir", &self.dir)
            .field("files", &self.files.len())
            .finish()
    }
}

impl ArchiveWriter {
    /// Creates the directory if needed and finishes any files a crash left open.
    pub fn open(config: &ArchiveConfig) -> Result<ArchiveWriter, ArchiveError> {
        let dir = config.dir.clone();
        fs::create_dir_all(&dir).map_err(|e| ArchiveError::CreateDir {
            path: dir.clone(),
            source: e,
        })?;

        let mut compressor =
            zstd::bulk::Compressor::new(config.zstd_level).map_err(ArchiveError::Compress)?;
        compressor
            .set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))
            .map_err(ArchiveError::Compress)?;

        let next_sequence = scan_and_recover(&dir)?;
        Ok(ArchiveWriter {
            dir,
            max_file_bytes: config.max_file_bytes,
            frame_bytes: config.frame_bytes,
            flush_interval: Duration::from_millis(config.flush_interval_ms),
            compressor,
            frame: Vec::new(),
            files: Vec::new(),
            next_sequence,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes a batch into the day buffers. Never fails and never touches the disk;
    /// `write_ready` does that.
    pub fn append(&mut self, batch: &DocumentBatch, now: Instant) {
        let mut current: Option<usize> = None;
        for (line, at) in batch.iter() {
            let day = naming::day_number(at);
            let index = match current {
                Some(i) if self.files[i].day == day => i,
                _ => self.file_index(day, now),
            };
            current = Some(index);
            self.files[index].append(line, now);
        }
    }

    /// Writes full frames, frames whose lines waited `flush_interval_ms`, fsyncs
    /// due files and closes files that are full, idle or one too many.
    ///
    /// Safe to call again after an error: nothing is lost or written twice.
    pub fn write_ready(&mut self, now: Instant) -> Result<(), ArchiveError> {
        let today = naming::day_number(jiff::Timestamp::now());
        let mut i = 0;
        while i < self.files.len() {
            let file = &self.files[i];
            let is_full_frame = file.pending_bytes() >= self.frame_bytes;
            let is_due =
                |since: Option<Instant>| since.is_some_and(|t| now >= t + self.flush_interval);
            let is_pending_due = is_due(file.pending_since());
            let is_sync_due = is_due(file.unsynced_since()) || is_pending_due;
            let is_idle_past_day = file.day < today && now >= file.last_append + PAST_DAY_IDLE;

            if is_full_frame || is_pending_due {
                self.write_frame(i, now)?;
            }
            if is_idle_past_day || self.files[i].written_bytes() >= self.max_file_bytes {
                self.close_file(i, now)?;
                continue;
            }
            if is_sync_due {
                self.files[i].sync()?;
            }
            i += 1;
        }

        while self.files.len() > MAX_OPEN_DAYS {
            let oldest = (0..self.files.len())
                .min_by_key(|&i| self.files[i].last_append)
                .expect("not empty");
            self.close_file(oldest, now)?;
        }
        Ok(())
    }

    /// The next instant at which `write_ready` has timed work to do, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.files
            .iter()
            .flat_map(|f| [f.pending_since(), f.unsynced_since()])
            .flatten()
            .min()
            .map(|t| t + self.flush_interval)
    }

    /// Writes every pending line as a frame and fsyncs every file, keeping them
    /// open: afterwards everything appended so far survives a crash (in `.open`
    /// files that the next `open` finishes).
    pub fn sync(&mut self, now: Instant) -> Result<(), ArchiveError> {
        for i in 0..self.files.len() {
            self.write_frame(i, now)?;
            self.files[i].sync()?;
        }
        Ok(())
    }

    /// Closes every open file (SIGHUP); the next documents start new files.
    pub fn reopen(&mut self, now: Instant) -> Result<(), ArchiveError> {
        while !self.files.is_empty() {
            self.close_file(self.files.len() - 1, now)?;
        }
        Ok(())
    }

    /// Writes everything pending and finishes every file.
    pub fn close(mut self) -> Result<(), ArchiveError> {
        self.reopen(Instant::now())
    }

    fn file_index(&mut self, day: i64, now: Instant) -> usize {
        if let Some(i) = self.files.iter().position(|f| f.day == day) {
            return i;
        }
        self.files.push(DayFile::new(day, now));
        self.files.len() - 1
    }

    fn frame_writer(&mut self, day: i64) -> (FrameWriter<'_>, &mut Vec<DayFile>) {
        let next_sequence = self.next_sequence.entry(day).or_insert(1);
        let writer = FrameWriter {
            dir: &self.dir,
            compressor: &mut self.compressor,
            frame: &mut self.frame,
            next_sequence,
        };
        (writer, &mut self.files)
    }

    fn write_frame(&mut self, i: usize, now: Instant) -> Result<(), ArchiveError> {
        let day = self.files[i].day;
        let (writer, files) = self.frame_writer(day);
        files[i].write_frame(writer, now)
    }

    fn close_file(&mut self, i: usize, now: Instant) -> Result<(), ArchiveError> {
        let day = self.files[i].day;
        let (writer, files) = self.frame_writer(day);
        files[i].close(writer, now)?;
        self.files.swap_remove(i);
        Ok(())
    }
}

/// Finishes every `.open` file in `dir` and returns, per day, the first sequence
/// number not yet used by any file.
fn scan_and_recover(dir: &Path) -> Result<HashMap<i64, u32>, ArchiveError> {
    let read_error = |e| ArchiveError::Recover {
        path: dir.to_path_buf(),
        source: e,
    };
    let mut next_sequence = HashMap::new();
    for entry in fs::read_dir(dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let name = entry.file_name();
        let Some(parsed) = name.to_str().and_then(naming::parse_name) else {
            continue;
        };

        if parsed.is_open {
            let path = entry.path();
            let recovered = recover::recover_file(&path).map_err(|e| ArchiveError::Recover {
                path: path.clone(),
                source: e,
            })?;
            ArchiveFileRecovered {
                open_path: &path,
                recovered: &recovered,
            }
            .emit();
        }
        let day = naming::day_of(parsed.date);
        let next = next_sequence.entry(day).or_insert(1);
        *next = (*next).max(parsed.sequence + 1);
    }
    Ok(next_sequence)
}
