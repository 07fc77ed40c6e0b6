//! `[archive]`: where and how the archive sink writes its compressed NDJSON files.
//!
//! The archive is the sink used when no Elasticsearch is configured. See
//! `crate::archive` for the file layout and the durability it promises; this file
//! only holds the knobs and their defaults.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The `[archive]` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveConfig {
    /// Directory that receives the archive files.
    ///
    /// Created at start if missing. Files are named `YYYY-MM-DD.NNNNN.ndjson.zst`
    /// after the UTC day of the documents' `@timestamp`. Default `./nat-ingest-data`.
    pub dir: PathBuf,

    /// Size at which a file is closed and the next one for the same day begun, in
    /// compressed bytes.
    ///
    /// Bounds how much a reader has to fetch for one file and how much a restart has
    /// to scan when it recovers a file left open by a crash. Default 268435456
    /// (256 MiB).
    pub max_file_bytes: u64,

    /// Uncompressed bytes gathered before they are compressed and written as one zstd
    /// frame.
    ///
    /// Larger frames compress better; every frame costs one `write`. Memory held per
    /// open file is about this much. Default 1048576 (1 MiB).
    pub frame_bytes: usize,

    /// Longest a document waits in memory before it is written and fsynced, in
    /// milliseconds.
    ///
    /// This is the window of data a power loss or crash can take. Default 1000.
    pub flush_interval_ms: u64,

    /// zstd compression level: 1 to 19, or -7 to -1 for zstd's faster modes.
    ///
    /// Default 1. The archive compresses on one thread, so its speed caps the
    /// pipeline: on the documents of benches/data/huawei-sessions-20k.log (about
    /// 1.5 KB each) level 1 compresses 477 MB/s to 8.9x and level 3 371 MB/s to
    /// 9.1x (`zstd -b1`/`-b3 -B1MiB`, one core of the 2-core dev machine), so
    /// level 1 keeps up with a quarter more messages for 2 % more bytes.
    pub zstd_level: i32,
}

impl Default for ArchiveConfig {
    fn default() -> ArchiveConfig {
        ArchiveConfig {
            dir: PathBuf::from("./nat-ingest-data"),
            max_file_bytes: 256 * 1024 * 1024,
            frame_bytes: 1024 * 1024,
            flush_interval_ms: 1000,
            zstd_level: 1,
        }
    }
}

impl ArchiveConfig {
    /// Refuses values that cannot work, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_file_bytes == 0 {
            return Err("archive.max_file_bytes must be above 0".into());
        }
        if self.frame_bytes == 0 {
            return Err("archive.frame_bytes must be above 0".into());
        }
        if self.flush_interval_ms == 0 {
            return Err("archive.flush_interval_ms must be above 0".into());
        }
        if !(-7..=19).contains(&self.zstd_level) || self.zstd_level == 0 {
            return Err(format!(
                "archive.zstd_level {} is not in -7..=-1 or 1..=19",
                self.zstd_level
            ));
        }
        Ok(())
    }
}
