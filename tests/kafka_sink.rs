//! `nat-ingest run --kafka`: syslog lines over TCP become exactly one message
//! each in the topic, keyed by the document's `_id`, with `@timestamp` and the
//! dataset in headers, spread over the partitions; SIGTERM waits for the
//! broker's acknowledgements and exits 0.
//!
//! Needs the broker of `deploy/dev/servers.sh`; fails, naming it, without one.
#![cfg(feature = "integration")]

mod kafka_support;
mod run_support;

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use kafka_support::{bootstrap, clean_up, create_topic, read_topic, run_id, shipper_flags};
use nat_ingest::kafka::key;
use run_support::{message, Running};

const SESSIONS: &str = include_str!("../benches/data/huawei-sessions-20k.log");
const SYSLOG_LINES: usize = 2000;
const SESSION_LINES: usize = 2000;
const PARTITIONS: i32 = 3;

#[test]
fn run_produces_one_keyed_message_per_line() {
    let bootstrap = bootstrap();
    let topic = run_id("sink");
    create_topic(&bootstrap, &topic, PARTITIONS);

    let mut lines: Vec<String> = (0..SYSLOG_LINES).map(|n| message("kafka", n)).collect();
    lines.extend(SESSIONS.lines().take(SESSION_LINES).map(str::to_owned));
    let total = lines.len();

    let dir = tempfile::tempdir().unwrap();
    let running = Running::start_fed(
        &dir.path().join("unused-archive"),
        &shipper_flags(&bootstrap, &topic),
        &lines,
    );
    running.wait_for_metric(
        "kafka_documents_produced_total",
        total as f64,
        Duration::from_secs(60),
    );
    let log = running.stop();
    assert!(
        !log.iter().any(|l| l.contains("ERROR")),
        "errors in the log: {log:#?}"
    );
    // Nothing went to the archive.
    assert!(
        !dir.path().join("unused-archive").exists() || {
            std::fs::read_dir(dir.path().join("unused-archive"))
                .unwrap()
                .next()
                .is_none()
        }
    );

    let records = read_topic(&bootstrap, &topic, total);
    assert_eq!(records.len(), total, "one message per line, none twice");

    // Keys: the `_id` of each line's fingerprint (sender 127.0.0.1), each once.
    let sender = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let expected: HashSet<Vec<u8>> = lines
        .iter()
        .map(|l| key::key(nat_ingest::document::fingerprint(l.as_bytes(), sender)).to_vec())
        .collect();
    let keys: HashSet<Vec<u8>> = records.iter().map(|r| r.key.clone()).collect();
    assert_eq!(keys.len(), total, "keys are unique");
    assert_eq!(keys, expected, "keys are the documents' ids");

    // Headers agree with the document they travel with.
    let mut datasets = HashSet::new();
    for record in &records {
        let document: serde_json::Value = serde_json::from_slice(&record.payload)
            .unwrap_or_else(|e| panic!("payload is one JSON document ({e})"));
        assert!(!record.payload.ends_with(b"\n"));
        let encoded = key::encoded(
            Some(&record.key),
            record.header(key::TIMESTAMP_HEADER),
            record.header(key::DATASET_HEADER),
        )
        .expect("key and headers read back");
        let stamp: jiff::Timestamp = document["@timestamp"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            encoded.timestamp.as_microsecond(),
            stamp.as_microsecond(),
            "{document}"
        );
        let dataset = document["event"]["dataset"].as_str().unwrap();
        assert_eq!(
            record.header(key::DATASET_HEADER),
            Some(dataset.as_bytes()),
            "{document}"
        );
        datasets.insert(dataset.to_owned());
    }
    assert!(datasets.contains("huawei.session") && datasets.contains("syslog"));

    // Hash keys spread the documents over every partition.
    let used: HashSet<i32> = records.iter().map(|r| r.partition).collect();
    assert_eq!(used.len(), PARTITIONS as usize, "partitions used: {used:?}");

    clean_up(&bootstrap, &topic, &[]);
}
