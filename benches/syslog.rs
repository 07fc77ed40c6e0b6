//! Header parsing alone: Huawei VRP headers of every variant (the session mix), and
//! RFC 3164 / RFC 5424 lines for comparison.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nat_ingest::syslog;

const SESSIONS: &[u8] = include_bytes!("data/huawei-sessions-20k.log");
const RFC3164: &[u8] = b"<38>Jul 23 11:56:28 web01 sshd[1234]: Accepted password for root from 10.0.0.9 port 51515 ssh2";
const RFC5424: &[u8] = br#"<165>1 2025-07-23T03:37:41.003Z mymachine.example evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application"] An application event log entry"#;

fn headers(c: &mut Criterion) {
    let lines: Vec<&[u8]> = SESSIONS
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let mut group = c.benchmark_group("syslog-header");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("huawei/sessions-20k", |b| {
        b.iter(|| {
            for line in &lines {
                black_box(syslog::parse(black_box(line)).ok());
            }
        })
    });
    group.finish();

    let mut single = c.benchmark_group("syslog-header-single");
    single.throughput(Throughput::Elements(1));
    for (name, line) in [("rfc3164", RFC3164), ("rfc5424", RFC5424)] {
        single.bench_function(name, |b| {
            b.iter(|| black_box(syslog::parse(black_box(line)).ok()))
        });
    }
    single.finish();
}

criterion_group!(benches, headers);
criterion_main!(benches);
