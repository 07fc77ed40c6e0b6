//! Each grammar alone, over the bodies of the session mix it claims (headers parsed
//! beforehand), so a grammar edit shows its own cost.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nat_ingest::document::Doc;
use nat_ingest::syslog;
use nat_ingest::time::{Clock, Instant, Zone};
use nat_ingest::vendor::{self, ExecContext, Grammars};

const SESSIONS: &[u8] = include_bytes!("data/huawei-sessions-20k.log");

fn grammars(c: &mut Criterion) {
    let grammars = Grammars::built_in().unwrap();
    let clock = Clock {
        zone: Zone::parse("+08:00").unwrap(),
        fixed_reference: None,
    };
    let messages: Vec<syslog::Message<'_>> = SESSIONS
        .split(|b| *b == b'\n')
        .filter_map(|line| syslog::parse(line).ok())
        .filter(|m| m.huawei.is_some())
        .collect();

    let mut group = c.benchmark_group("grammar");
    for grammar in grammars.iter() {
        let bodies: Vec<(&[u8], usize, &[u8])> = messages
            .iter()
            .filter_map(|m| m.huawei)
            .filter(|h| {
                grammars
                    .choose(h.module, h.brief)
                    .is_some_and(|g| g.name == grammar.name)
            })
            .map(|h| (h.grammar_body, h.grammar_body_offset, h.brief))
            .collect();
        if bodies.is_empty() {
            continue;
        }
        group.throughput(Throughput::Elements(bodies.len() as u64));
        let mut scratch = Vec::new();
        group.bench_function(&grammar.name, |b| {
            b.iter(|| {
                for (body, offset, brief) in &bodies {
                    let context = ExecContext {
                        clock: &clock,
                        header_offset: None,
                        reference: Instant::from_unix_seconds(1_753_243_200),
                        message_kind: brief,
                    };
                    let mut doc = Doc::new(std::mem::take(&mut scratch));
                    black_box(vendor::run(grammar, body, *offset, &context, &mut doc).is_ok());
                    scratch = doc.into_scratch();
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, grammars);
criterion_main!(benches);
