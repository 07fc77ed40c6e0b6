//! The Kafka sink while the broker cannot be reached: it bounds what it holds
//! (back-pressure: `write_ready` reports a stall instead of taking more), turns
//! expired deliveries into retries rather than losses, fails a flush instead of
//! dropping, and once the broker answers delivers every document exactly once.
//!
//! The "outage" is a bootstrap address with nothing listening; the "recovery"
//! starts a forwarder there to the dev broker (whose metadata then sends the
//! client straight to it).
//!
//! Needs the broker of `deploy/dev/servers.sh`; fails, naming it, without one.
#![cfg(feature = "integration")]

mod kafka_support;
mod run_support;

use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use kafka_support::{bootstrap, clean_up, create_topic, read_topic, run_id};
use nat_ingest::config::kafka::KafkaConfig;
use nat_ingest::document::{Dataset, Encoded};
use nat_ingest::kafka::{KafkaSink, KafkaSinkError};
use nat_ingest::pipeline::{DocumentBatch, Sink};

const DOCUMENTS: usize = 1000;
const MAX_OUTSTANDING: usize = 100;

/// A free loopback port, closed again: connecting to it is refused until
/// something listens there.
fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Listens on `at` and pipes every connection to `to`, both ways.
fn forward(at: SocketAddr, to: String) {
    let listener = TcpListener::bind(at).unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(&to) else {
                continue;
            };
            for (mut from, mut into) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server, client),
            ] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut into);
                    let _ = into.shutdown(std::net::Shutdown::Both);
                });
            }
        }
    });
}

fn batch(from: usize, count: usize) -> DocumentBatch {
    let mut batch = DocumentBatch::default();
    for n in from..from + count {
        let encoded = Encoded {
            timestamp: jiff::Timestamp::from_second(1_753_236_672).unwrap(),
            dataset: Dataset::Syslog,
            failure: None,
            fingerprint: Some(0x5eed_0000_0000_0000_0000_0000_0000_0000 + n as u128),
        };
        batch.push_encoded(format!("{{\"n\":{n}}}").as_bytes(), encoded);
    }
    batch
}

#[test]
fn outage_stalls_retries_and_loses_nothing() {
    let broker = bootstrap();
    let topic = run_id("retry");
    create_topic(&broker, &topic, 1);
    let gate = free_port();

    let config = KafkaConfig {
        brokers: vec![gate.to_string()],
        topic: topic.clone(),
        max_outstanding_documents: MAX_OUTSTANDING,
        delivery_timeout_ms: 500,
        flush_timeout_secs: 2,
        options: [("reconnect.backoff.max.ms".to_owned(), "500".to_owned())].into(),
        ..KafkaConfig::default()
    };
    let metrics = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = metrics.snapshotter();
    metrics.install().expect("the only recorder in this binary");
    let mut sink = KafkaSink::start(&config).unwrap();

    // Broker away: the producer takes MAX_OUTSTANDING, the rest waits, and
    // write_ready says so instead of blocking for ever.
    let start = Instant::now();
    sink.append(&batch(0, DOCUMENTS), start);
    match sink.write_ready(Instant::now()) {
        Err(KafkaSinkError::Stalled { waiting, .. }) => {
            assert!(waiting >= DOCUMENTS - MAX_OUTSTANDING, "{waiting} waiting")
        }
        other => panic!("expected a stall, got {other:?}"),
    }
    assert_eq!(sink.outstanding(), DOCUMENTS as u64);

    // Deliveries expire and come back as retries; a flush fails and drops nothing.
    std::thread::sleep(Duration::from_millis(1500));
    let flushed = sink.flush_and_reopen(Instant::now());
    assert!(
        matches!(flushed, Err(KafkaSinkError::FlushTimedOut { .. })),
        "{flushed:?}"
    );
    assert_eq!(sink.outstanding(), DOCUMENTS as u64, "nothing dropped");

    // Broker back: every document arrives.
    forward(gate, broker.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match sink.sync(Instant::now()) {
            Ok(()) => break,
            Err(e) => assert!(Instant::now() < deadline, "never recovered: {e}"),
        }
    }
    assert_eq!(sink.outstanding(), 0);
    drop(sink);

    // Expired deliveries were counted and produced again; nothing was dropped.
    let mut counters = std::collections::HashMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        if let metrics_util::debugging::DebugValue::Counter(n) = value {
            *counters.entry(key.key().name().to_owned()).or_insert(0u64) += n;
        }
    }
    let counter = |name: &str| counters.get(name).copied().unwrap_or(0);
    assert!(counter("kafka_documents_failed_total") > 0, "{counters:?}");
    assert!(counter("kafka_documents_retried_total") > 0, "{counters:?}");
    assert_eq!(counter("kafka_documents_produced_total"), DOCUMENTS as u64);
    assert_eq!(counter("kafka_documents_dropped_total"), 0);

    let records = read_topic(&broker, &topic, DOCUMENTS);
    let documents: HashSet<Vec<u8>> = records.iter().map(|r| r.payload.clone()).collect();
    assert_eq!(documents.len(), DOCUMENTS, "every document arrived");
    assert_eq!(records.len(), DOCUMENTS, "none arrived twice");

    clean_up(&broker, &topic, &[]);
}
