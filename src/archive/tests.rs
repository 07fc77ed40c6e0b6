//! Writer tests: every document written comes back, in order, whatever the rolls,
//! restarts and crashes in between.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::{reader, ArchiveWriter};
use crate::config::archive::ArchiveConfig;
use crate::pipeline::DocumentBatch;

fn config(dir: &Path) -> ArchiveConfig {
    ArchiveConfig {
        dir: dir.to_path_buf(),
        ..ArchiveConfig::default()
    }
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn batch(range: std::ops::Range<u32>, timestamp: Timestamp) -> DocumentBatch {
    let mut batch = DocumentBatch::default();
    for n in range {
        batch.push(
            format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(n as usize % 50)).as_bytes(),
            timestamp,
        );
    }
    batch
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The `n` values of every document in the finished files, in file order.
fn read_all(dir: &Path) -> Vec<u32> {
    let mut numbers = Vec::new();
    for path in reader::finished_files(dir).unwrap() {
        for line in reader::read_lines(reader::open(&path).unwrap()).unwrap() {
            let doc: serde_json::Value = serde_json::from_str(&line).unwrap();
            numbers.push(doc["n"].as_u64().unwrap() as u32);
        }
    }
    numbers
}

#[test]
fn splits_by_utc_day_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = ArchiveWriter::open(&config(dir.path())).unwrap();
    let now = Instant::now();
    writer.append(&batch(0..10, at("2025-07-23T23:59:59Z")), now);
    writer.append(&batch(10..15, at("2025-07-24T00:00:00Z")), now);
    writer.write_ready(now).unwrap();
    writer.close().unwrap();

    assert_eq!(
        names(dir.path()),
        ["2025-07-23.00001.ndjson.zst", "2025-07-24.00001.ndjson.zst"]
    );
    assert_eq!(read_all(dir.path()), (0..15).collect::<Vec<_>>());
}

#[test]
fn rolls_at_the_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let config = ArchiveConfig {
        max_file_bytes: 200,
        frame_bytes: 100,
        ..config(dir.path())
    };
    let mut writer = ArchiveWriter::open(&config).unwrap();
    let now = Instant::now();
    for chunk in 0..20 {
        writer.append(
            &batch(chunk * 10..chunk * 10 + 10, at("2025-07-23T12:00:00Z")),
            now,
        );
        writer.write_ready(now).unwrap();
    }
    writer.close().unwrap();

    let files = names(dir.path());
    assert!(files.len() > 3, "{files:?}");
    assert!(files
        .iter()
        .all(|n| n.starts_with("2025-07-23.") && n.ends_with(".ndjson.zst")));
    assert_eq!(read_all(dir.path()), (0..200).collect::<Vec<_>>());
}

#[test]
fn restart_starts_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    for run in 0..2 {
        let mut writer = ArchiveWriter::open(&config(dir.path())).unwrap();
        writer.append(
            &batch(run * 5..run * 5 + 5, at("2025-07-23T12:00:00Z")),
            Instant::now(),
        );
        writer.close().unwrap();
    }
    assert_eq!(
        names(dir.path()),
        ["2025-07-23.00001.ndjson.zst", "2025-07-23.00002.ndjson.zst"]
    );
    assert_eq!(read_all(dir.path()), (0..10).collect::<Vec<_>>());
}

#[test]
fn timer_writes_and_fsyncs_small_frames() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = ArchiveWriter::open(&config(dir.path())).unwrap();
    let now = Instant::now();
    writer.append(&batch(0..3, at("2025-07-23T12:00:00Z")), now);
    writer.write_ready(now).unwrap();
    let deadline = writer.next_deadline().unwrap();
    assert_eq!(deadline, now + Duration::from_millis(1000));

    // Before the deadline nothing is on disk; at it, a frame is.
    let open = dir.path().join("2025-07-23.00001.ndjson.zst.open");
    assert!(!open.exists());
    writer.write_ready(deadline).unwrap();
    let lines = reader::read_lines(reader::open_lenient(&open).unwrap()).unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(writer.next_deadline(), None, "synced with the timer frame");
    writer.close().unwrap();
}

/// A crash (the writer dropped without `close`) keeps every flushed frame: the
/// `.open` file reads back up to the last flush, and the next start finishes it
/// under its final name and writes into a new file.
#[test]
fn crash_keeps_data_up_to_the_last_flush() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = ArchiveWriter::open(&config(dir.path())).unwrap();
    let now = Instant::now();
    let day = at("2025-07-23T12:00:00Z");
    writer.append(&batch(0..100, day), now);
    writer.write_ready(now + Duration::from_secs(2)).unwrap();
    writer.append(&batch(100..150, day), now);
    drop(writer);

    // What a reader sees before any recovery.
    let open = dir.path().join("2025-07-23.00001.ndjson.zst.open");
    let lines = reader::read_lines(reader::open_lenient(&open).unwrap()).unwrap();
    assert_eq!(lines.len(), 100);

    // A torn frame at the end, as a crash mid-write leaves, is cut by recovery.
    let mut data = fs::read(&open).unwrap();
    let good = data.len();
    data.extend_from_slice(&zstd::bulk::compress(b"{\"n\":999}\n", 3).unwrap()[..8]);
    fs::write(&open, &data).unwrap();

    let mut writer = ArchiveWriter::open(&config(dir.path())).unwrap();
    let finished = dir.path().join("2025-07-23.00001.ndjson.zst");
    assert_eq!(fs::metadata(&finished).unwrap().len(), good as u64);
    writer.append(&batch(100..150, day), Instant::now());
    writer.close().unwrap();

    assert_eq!(
        names(dir.path()),
        ["2025-07-23.00001.ndjson.zst", "2025-07-23.00002.ndjson.zst"]
    );
    assert_eq!(read_all(dir.path()), (0..150).collect::<Vec<_>>());
}

#[test]
fn reopen_finishes_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = ArchiveWriter::open(&config(dir.path())).unwrap();
    writer.append(&batch(0..4, at("2025-07-23T12:00:00Z")), Instant::now());
    writer.reopen(Instant::now()).unwrap();
    writer.append(&batch(4..8, at("2025-07-23T12:00:00Z")), Instant::now());
    writer.close().unwrap();
    assert_eq!(names(dir.path()).len(), 2);
    assert_eq!(read_all(dir.path()), (0..8).collect::<Vec<_>>());
}
