//! Line → JSON document on one core, into a reused buffer: the number the parsing
//! core is judged by. Input: benches/data/huawei-sessions-20k.log, a mix of AR
//! FW-LOG and USG SECLOG session records in every header variant.
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

    for (name, zone, keep_original) in [
        ("sessions-20k/offset-zone", "+08:00", true),
        ("sessions-20k/iana-zone", "Asia/Shanghai", true),
        ("sessions-20k/no-original", "+08:00", false),
    ] {
        let settings =
            EncoderSettings::from_options(Some(zone), None, None, keep_original).unwrap();
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
    let encoder =
        Encoder::new(EncoderSettings::from_options(Some("+08:00"), None, None, true).unwrap());
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
