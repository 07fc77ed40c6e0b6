//! Line → JSON document on one core, into a reused buffer: the number the parsing
//! core is judged by. Input: benches/data/huawei-sessions-20k.log, a mix of AR
//! FW-LOG and USG SECLOG session records in every header variant.
//!
//! `with-ids` also hashes each message for its document id, as the Elasticsearch
//! and Kafka sinks need; the others encode as `parse` and the archive do.
//!
//! `baseline/escape-copy` only JSON-escapes each line into the buffer: the least any
//! encoder that keeps `event.original` must do.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nat_ingest::document::{write_string, Encoder, EncoderSettings, Received};

const SESSIONS: &[u8] = include_bytes!("data/huawei-sessions-20k.log");

fn lines() -> Vec<&'static [u8]> {
    SESSIONS
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect()
}

fn encode(c: &mut Criterion) {
    let lines = lines();
    let received = Received {
        at: "2025-07-23T04:00:00Z".parse().unwrap(),
        peer: None,
        truncated: false,
        misframed: false,
    };
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(lines.len() as u64));

    // As `parse` and the archive encode (no document ids), and once as the
    // Elasticsearch and Kafka sinks do, with each message's fingerprint.
    for (name, zone, keep_original, document_ids) in [
        ("sessions-20k/offset-zone", "+08:00", true, false),
        ("sessions-20k/iana-zone", "Asia/Shanghai", true, false),
        ("sessions-20k/no-original", "+08:00", false, false),
        ("sessions-20k/with-ids", "+08:00", true, true),
    ] {
        let mut settings =
            EncoderSettings::from_options(Some(zone), None, None, keep_original).unwrap();
        settings.document_ids = document_ids;
        let encoder = Encoder::new(settings);
        let mut out = Vec::with_capacity(1 << 20);
        group.bench_function(name, |b| {
            b.iter(|| {
                for line in &lines {
                    out.clear();
                    encoder.encode(line, &received, &mut out);
                    black_box(&out);
                }
            })
        });
    }

    let mut out = Vec::with_capacity(1 << 20);
    group.bench_function("baseline/escape-copy", |b| {
        b.iter(|| {
            for line in &lines {
                out.clear();
                write_string(&mut out, line);
                black_box(&out);
            }
        })
    });
    group.finish();

    let mut bytes = c.benchmark_group("encode-bytes");
    bytes.throughput(Throughput::Bytes(SESSIONS.len() as u64));
    let mut settings = EncoderSettings::from_options(Some("+08:00"), None, None, true).unwrap();
    settings.document_ids = false;
    let encoder = Encoder::new(settings);
    let mut out = Vec::with_capacity(1 << 20);
    bytes.bench_function("sessions-20k", |b| {
        b.iter(|| {
            for line in &lines {
                out.clear();
                encoder.encode(line, &received, &mut out);
                black_box(&out);
            }
        })
    });
    bytes.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);
