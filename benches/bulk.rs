//! Documents → `_bulk` body on one core: routing by dataset and day, the `create`
//! action with its id, and the copy of the document, into a reused body. The
//! target is 1,500,000 documents/s. Input: the 20,000 session records of
//! benches/data/huawei-sessions-20k.log, encoded once before measuring, in
//! document batches of 1,000 as the parser threads send them.
//!
//! `baseline/copy-lines` only copies each document line into the buffer: the
//! least any body writer must do. `gzip/level-1` compresses one closed body of
//! 5,000 documents, which the sink thread also does before sending.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nat_ingest::bulk::{gzip, BulkBody, IndexPattern, IndexRouter};
use nat_ingest::document::{Encoder, EncoderSettings, Received};
use nat_ingest::pipeline::DocumentBatch;

const SESSIONS: &[u8] = include_bytes!("data/huawei-sessions-20k.log");

/// Documents per batch, as a listener's frame batch might hold.
const BATCH_DOCUMENTS: usize = 1000;

/// Documents per bulk request (the default `max_batch_documents`).
const REQUEST_DOCUMENTS: usize = 5000;

fn encode_batches(keep_original: bool) -> Vec<DocumentBatch> {
    let settings =
        EncoderSettings::from_options(Some("+08:00"), None, None, keep_original).unwrap();
    let encoder = Encoder::new(settings);
    let received = Received {
        at: "2025-07-23T04:00:00Z".parse().unwrap(),
        peer: Some([192, 0, 2, 1].into()),
        truncated: false,
        misframed: false,
    };
    let lines: Vec<&[u8]> = SESSIONS
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .chunks(BATCH_DOCUMENTS)
        .map(|chunk| {
            let mut batch = DocumentBatch::default();
            for line in chunk {
                batch.encode(&encoder, line, &received);
            }
            batch
        })
        .collect()
}

fn new_router() -> IndexRouter {
    IndexRouter::new(
        IndexPattern::parse("nat-%{+yyyy.MM.dd}").unwrap(),
        IndexPattern::parse("nat-syslog-%{+yyyy.MM.dd}").unwrap(),
    )
}

fn bulk(c: &mut Criterion) {
    let batches = encode_batches(true);
    let documents: usize = batches.iter().map(DocumentBatch::len).sum();
    let bytes: usize = batches.iter().map(DocumentBatch::byte_len).sum();

    let mut group = c.benchmark_group("bulk");
    group.throughput(Throughput::Elements(documents as u64));

    // With event.original (about 1.5 KB a document), then without (the
    // `keep_original = false` setting, about half that).
    let without_original = encode_batches(false);
    for (name, input) in [
        ("sessions-20k/body", &batches),
        ("sessions-20k/body-no-original", &without_original),
    ] {
        let mut router = new_router();
        let mut body = BulkBody::default();
        group.bench_function(name, |b| {
            b.iter(|| {
                for batch in input {
                    for (line, encoded) in batch.documents() {
                        let index = router.target(encoded.dataset, encoded.timestamp);
                        body.push(index, encoded.fingerprint_or_of(line), line);
                        if body.len() == REQUEST_DOCUMENTS {
                            black_box(body.as_bytes());
                            body.clear();
                        }
                    }
                }
                black_box(body.as_bytes());
                body.clear();
            })
        });
    }

    let mut copy = Vec::with_capacity(bytes);
    group.bench_function("baseline/copy-lines", |b| {
        b.iter(|| {
            for batch in &batches {
                for (line, _) in batch.documents() {
                    copy.extend_from_slice(line);
                }
            }
            black_box(&copy);
            copy.clear();
        })
    });
    group.finish();

    // One closed request, compressed as the sink sends it.
    let mut router = new_router();
    let mut request = BulkBody::default();
    for batch in &batches {
        for (line, encoded) in batch.documents().take(REQUEST_DOCUMENTS / batches.len()) {
            request.push(
                router.target(encoded.dataset, encoded.timestamp),
                encoded.fingerprint_or_of(line),
                line,
            );
        }
    }
    let mut group = c.benchmark_group("gzip");
    group.throughput(Throughput::Bytes(request.byte_len() as u64));
    let mut out = Vec::new();
    group.bench_function("level-1", |b| {
        b.iter(|| {
            gzip(request.as_bytes(), 1, &mut out);
            black_box(&out);
        })
    });
    group.finish();
}

criterion_group!(benches, bulk);
criterion_main!(benches);
