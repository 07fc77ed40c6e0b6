//! The pipeline against the real archive: what goes in before `finish` comes out.

use std::sync::Arc;

use bytes::Bytes;

use super::Pipeline;
use crate::archive::{reader, ArchiveWriter};
use crate::config::archive::ArchiveConfig;
use crate::config::pipeline::PipelineConfig;
use crate::document::{Encoder, EncoderSettings, Received};
use crate::listener::Frame;

fn frame(n: usize) -> Frame {
    let line = format!(
        "<134>Jul 23 02:11:12 router-{} %%01SECLOG/6/SESSION_TEARDOWN(l):n={n}",
        n % 7
    );
    let received = Received {
        at: jiff::Timestamp::now(),
        peer: None,
        truncated: false,
        misframed: false,
    };
    Frame {
        bytes: Bytes::from(line),
        received,
    }
}

#[test]
fn drains_every_frame_at_finish() {
    let dir = tempfile::tempdir().unwrap();
    let archive = ArchiveConfig {
        dir: dir.path().to_path_buf(),
        frame_bytes: 4096,
        ..ArchiveConfig::default()
    };
    let writer = ArchiveWriter::open(&archive).unwrap();
    let config = PipelineConfig {
        workers: 3,
        queue_batches: 4,
        sink_queue_batches: 2,
        ..PipelineConfig::default()
    };
    let encoder = Arc::new(Encoder::new(EncoderSettings::default()));
    let pipeline = Pipeline::start(&config, encoder, writer).unwrap();

    // Two producers, as two listeners would be, on a small queue so they block.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut producers = Vec::new();
        for producer in 0..2 {
            let frames = pipeline.frames();
            producers.push(tokio::spawn(async move {
                for batch in 0..50 {
                    let start = producer * 10_000 + batch * 20;
                    let frames_batch = (start..start + 20).map(frame).collect();
                    frames.send(frames_batch).await.unwrap();
                }
            }));
        }
        for producer in producers {
            producer.await.unwrap();
        }
    });
    pipeline.sample_queues();
    pipeline.finish().unwrap();

    let mut seen = Vec::new();
    for path in reader::finished_files(dir.path()).unwrap() {
        for line in reader::read_lines(reader::open(&path).unwrap()).unwrap() {
            // The number survives in `message` or `event.original`, whichever the
            // encoder writes; every copy carries the same one.
            let at = line.find("n=").unwrap() + 2;
            let digits = line[at..].bytes().take_while(u8::is_ascii_digit).count();
            seen.push(line[at..at + digits].parse::<usize>().unwrap());
        }
    }
    seen.sort_unstable();
    let mut expected: Vec<usize> = (0..1000).chain(10_000..11_000).collect();
    expected.sort_unstable();
    assert_eq!(seen, expected);
}
