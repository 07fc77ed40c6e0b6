//! Framer throughput on Huawei session lines, both framings, against a baseline
//! that only finds line ends (the least any delimited framer must do).
//!
//! The stream is the sample file's lines repeated to about 4 MiB, fed in 64 KiB
//! reads as a TCP connection would deliver them.

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nat_ingest::framing::{Framer, DEFAULT_MAX_FRAME_BYTES};

const SAMPLE: &str = "benches/data/framing-huawei-sample.log";
const STREAM_BYTES: usize = 4 * 1024 * 1024;
const READ_BYTES: usize = 64 * 1024;

fn lines() -> Vec<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE);
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// The lines repeated to [`STREAM_BYTES`] in one framing, and how many there are.
fn render(lines: &[Vec<u8>], octet_counting: bool) -> (Vec<u8>, usize) {
    let mut stream = Vec::with_capacity(STREAM_BYTES + 4096);
    let mut count = 0;
    for line in lines.iter().cycle() {
        if stream.len() >= STREAM_BYTES {
            break;
        }
        count += 1;
        if octet_counting {
            stream.extend_from_slice(format!("{} ", line.len()).as_bytes());
            stream.extend_from_slice(line);
        } else {
            stream.extend_from_slice(line);
            stream.push(b'\n');
        }
    }
    (stream, count)
}

/// Frames `stream` in reads of `READ_BYTES`; returns the frame count.
fn frame_stream(stream: &[u8]) -> usize {
    let mut framer = Framer::new(DEFAULT_MAX_FRAME_BYTES);
    let mut buf = BytesMut::with_capacity(2 * READ_BYTES);
    let mut frames = 0;
    for read in stream.chunks(READ_BYTES) {
        buf.extend_from_slice(read);
        while let Some(frame) = framer.decode(&mut buf) {
            black_box(&frame);
            frames += 1;
        }
    }
    while framer.decode_eof(&mut buf).is_some() {
        frames += 1;
    }
    frames
}

fn framing(c: &mut Criterion) {
    let lines = lines();
    let (newline, lines_in_newline) = render(&lines, false);
    let (counted, lines_in_counted) = render(&lines, true);

    let mut group = c.benchmark_group("framing");
    group.throughput(Throughput::Bytes(newline.len() as u64));
    group.bench_function("baseline_memchr_lines", |b| {
        b.iter(|| {
            assert_eq!(
                memchr::memchr_iter(b'\n', black_box(&newline)).count(),
                lines_in_newline
            )
        })
    });
    group.bench_function("newline", |b| {
        b.iter(|| assert_eq!(frame_stream(black_box(&newline)), lines_in_newline))
    });
    group.throughput(Throughput::Bytes(counted.len() as u64));
    group.bench_function("octet_counting", |b| {
        b.iter(|| assert_eq!(frame_stream(black_box(&counted)), lines_in_counted))
    });
    group.finish();
}

criterion_group!(benches, framing);
criterion_main!(benches);
