//! Shipper → Kafka → indexer → archive gives the archive `run` writes directly:
//! the same lines go once to `run --archive` and once to `run --kafka`, then
//! `index --archive` consumes the topic; both archives hold the same documents
//! (apart from `event.created`, the receive time), in files of the same days,
//! and the indexer's lines are byte for byte the messages of the topic. SIGTERM
//! makes the indexer commit everything and exit 0.
//!
//! Needs the broker of `deploy/dev/servers.sh`; fails, naming it, without one.
#![cfg(feature = "integration")]

mod kafka_support;
mod run_support;

use std::time::Duration;

use kafka_support::{
    archive_days, archive_lines, bootstrap, clean_up, committed_total, create_topic, read_topic,
    run_id, wait_for_commits, Indexer,
};
use run_support::{message, Running};

const SESSIONS: &str = include_str!("../benches/data/huawei-sessions-20k.log");
const SYSLOG_LINES: usize = 3000;
const SESSION_LINES: usize = 3000;
const PARTITIONS: i32 = 2;

/// `run` with `extra` flags; sends `lines` over TCP and stops it with SIGTERM.
fn ship(archive: &std::path::Path, lines: &[String], extra: &[&str]) {
    let mut flags = vec![
        "--timezone",
        "+08:00",
        "--reference-time",
        "2025-07-24T00:00:00Z",
    ];
    flags.extend_from_slice(extra);
    let running = Running::start_fed(archive, &flags, lines);
    running.stop();
}

/// A document without the field that differs between two receptions.
fn without_receive_time(line: &str) -> String {
    let mut document: serde_json::Value = serde_json::from_str(line).unwrap();
    document["event"]
        .as_object_mut()
        .expect("event is an object")
        .remove("created");
    document.to_string()
}

#[test]
fn index_into_the_archive_matches_a_direct_archive() {
    let bootstrap = bootstrap();
    let topic = run_id("archive");
    let group = run_id("archive-group");
    create_topic(&bootstrap, &topic, PARTITIONS);

    let mut lines: Vec<String> = (0..SYSLOG_LINES).map(|n| message("idx", n)).collect();
    lines.extend(SESSIONS.lines().take(SESSION_LINES).map(str::to_owned));
    let total = lines.len();

    let dir = tempfile::tempdir().unwrap();
    let direct = dir.path().join("direct");
    let indexed = dir.path().join("indexed");
    ship(&direct, &lines, &[]);
    ship(
        &dir.path().join("unused"),
        &lines,
        &["--kafka", &bootstrap, "--kafka-topic", &topic],
    );

    // A small chunk, so that the run commits several times, not once at the end.
    let config = dir.path().join("index.toml");
    std::fs::write(
        &config,
        "[kafka]\nchunk_documents = 1000\nchunk_age_ms = 200\n[metrics]\nenabled = false\n",
    )
    .unwrap();
    let indexer = Indexer::start(&[
        "--config",
        config.to_str().unwrap(),
        "--kafka",
        &bootstrap,
        "--kafka-topic",
        &topic,
        "--kafka-group",
        &group,
        "--archive",
        indexed.to_str().unwrap(),
    ]);
    wait_for_commits(
        (&bootstrap, &topic, &group, PARTITIONS),
        total as i64,
        Duration::from_secs(90),
        &[&indexer],
        "the indexer did not commit everything",
    );
    let log = indexer.stop();
    assert!(log.iter().any(|l| l.contains("Stopped.")));
    assert_eq!(
        committed_total(&bootstrap, &topic, &group, PARTITIONS),
        total as i64
    );

    // The indexer wrote exactly the topic's documents, each once.
    let mut from_index = archive_lines(&indexed);
    let mut from_topic: Vec<String> = read_topic(&bootstrap, &topic, total)
        .into_iter()
        .map(|r| String::from_utf8(r.payload).unwrap())
        .collect();
    assert_eq!(from_index.len(), total);
    from_index.sort();
    from_topic.sort();
    assert_eq!(
        from_index, from_topic,
        "archive lines are the topic's messages"
    );

    // And those are what `run` archives directly, but for the receive time.
    let mut from_run: Vec<String> = archive_lines(&direct)
        .iter()
        .map(|l| without_receive_time(l))
        .collect();
    let mut from_index: Vec<String> = from_index.iter().map(|l| without_receive_time(l)).collect();
    from_run.sort();
    from_index.sort();
    assert_eq!(from_index.len(), from_run.len());
    assert!(
        from_index == from_run,
        "documents differ from a direct archive"
    );
    assert_eq!(archive_days(&indexed), archive_days(&direct));

    clean_up(&bootstrap, &topic, &[&group]);
}
