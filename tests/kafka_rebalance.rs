//! A rebalance loses and repeats nothing: a second indexer joins the group while
//! the first is consuming into its archive; the first commits what is durable
//! before its partitions are taken, the second starts there, and the two
//! archives together hold every document exactly once (the archive has no ids,
//! so a skipped commit would show as duplicates here).
//!
//! Needs the broker of `deploy/dev/servers.sh`; fails, naming it, without one.
#![cfg(feature = "integration")]

mod kafka_support;
mod run_support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use kafka_support::{
    archive_lines, bootstrap, clean_up, committed_total, create_topic, run_id, wait_for_commits,
    Indexer,
};
use nat_ingest::config::kafka::KafkaConfig;
use nat_ingest::document::{Dataset, Encoded};
use nat_ingest::kafka::KafkaSink;
use nat_ingest::pipeline::{DocumentBatch, Sink};

const DOCUMENTS: usize = 100_000;
const PARTITIONS: i32 = 4;
/// Pause between two thousand documents produced: 100 000 take about 5 s.
const PACE: Duration = Duration::from_millis(50);

/// Produces `DOCUMENTS` small documents with the library's own sink, 1000
/// every `PACE`, so that the indexers consume while it goes on.
fn produce(bootstrap: &str, topic: &str) {
    let config = KafkaConfig {
        brokers: vec![bootstrap.to_owned()],
        topic: topic.to_owned(),
        ..KafkaConfig::default()
    };
    let mut sink = KafkaSink::start(&config).unwrap();
    let at = jiff::Timestamp::from_second(1_753_236_672).unwrap();
    for start in (0..DOCUMENTS).step_by(1000) {
        let mut batch = DocumentBatch::default();
        for n in start..start + 1000 {
            let encoded = Encoded {
                timestamp: at,
                dataset: Dataset::Syslog,
                failure: None,
                fingerprint: Some(n as u128 * 0x9e37_79b9_7f4a_7c15),
            };
            let document = format!("{{\"@timestamp\":\"2025-07-23T02:11:12Z\",\"n\":{n}}}");
            batch.push_encoded(document.as_bytes(), encoded);
        }
        sink.append(&batch, Instant::now());
        sink.write_ready(Instant::now()).unwrap();
        std::thread::sleep(PACE);
    }
    sink.sync(Instant::now()).unwrap();
}

fn as_str(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn joining_indexer_takes_over_without_gaps_or_repeats() {
    let bootstrap = bootstrap();
    let topic = run_id("rebalance");
    let group = run_id("rebalance-group");
    create_topic(&bootstrap, &topic, PARTITIONS);

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("index.toml");
    // Chunks that do not divide the producer's thousands: one is always open.
    std::fs::write(
        &config,
        "[kafka]\nchunk_documents = 333\nchunk_age_ms = 5000\n[metrics]\nenabled = false\n",
    )
    .unwrap();
    let args = |archive: &str| {
        vec![
            "--config".to_owned(),
            config.to_str().unwrap().to_owned(),
            "--kafka".to_owned(),
            bootstrap.clone(),
            "--kafka-topic".to_owned(),
            topic.clone(),
            "--kafka-group".to_owned(),
            group.clone(),
            "--archive".to_owned(),
            dir.path().join(archive).to_str().unwrap().to_owned(),
        ]
    };

    // The first indexer alone, consuming as documents come; the second joins
    // midway, while the first holds an open chunk.
    let first = Indexer::start(&as_str(&args("first")));
    let producer = {
        let (bootstrap, topic) = (bootstrap.clone(), topic.clone());
        std::thread::spawn(move || produce(&bootstrap, &topic))
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while committed_total(&bootstrap, &topic, &group, PARTITIONS) < 10_000 {
        assert!(
            Instant::now() < deadline,
            "the first indexer commits nothing"
        );
        first.drain_log();
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = Indexer::start(&as_str(&args("second")));
    producer.join().unwrap();

    wait_for_commits(
        (&bootstrap, &topic, &group, PARTITIONS),
        DOCUMENTS as i64,
        Duration::from_secs(120),
        &[&first, &second],
        "the indexers did not finish",
    );
    first.signal(libc::SIGTERM);
    second.signal(libc::SIGTERM);
    let (first_status, first_log) = first.wait();
    let (second_status, _) = second.wait();
    assert!(first_status.success() && second_status.success());
    let revoked_midway = first_log
        .iter()
        .any(|l| l.contains("Committed a chunk.") && l.contains("rebalance"));
    // Usually the first indexer holds an open chunk when the revoke comes and
    // commits it then; right after a commit by count it holds none, and the
    // property below must hold all the same. So this is only reported.
    eprintln!("the first indexer committed a chunk on revoke: {revoked_midway}");

    let first_lines = archive_lines(&dir.path().join("first"));
    let second_lines = archive_lines(&dir.path().join("second"));
    eprintln!(
        "first indexer wrote {}, second {}",
        first_lines.len(),
        second_lines.len()
    );
    assert!(
        !second_lines.is_empty(),
        "the second indexer got no partition: the first finished before it joined"
    );
    let all: Vec<&String> = first_lines.iter().chain(&second_lines).collect();
    let distinct: HashSet<&String> = all.iter().copied().collect();
    assert_eq!(distinct.len(), DOCUMENTS, "every document arrived");
    assert_eq!(all.len(), DOCUMENTS, "no document twice");

    clean_up(&bootstrap, &topic, &[&group]);
}
