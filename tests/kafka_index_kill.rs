//! At-least-once without duplicates: an indexer writing a topic into OpenSearch
//! is killed with SIGKILL mid-stream and started again in the same group; every
//! document arrives, none twice, because what it had written but not committed
//! is read again and meets its own `_id` (a 409, counted as a duplicate).
//!
//! Needs Kafka and OpenSearch of `deploy/dev/servers.sh`; fails, naming it,
//! without them.
#![cfg(feature = "integration")]

mod bulk_support;
mod kafka_support;
mod run_support;

use std::time::{Duration, Instant};

use bulk_support::Server;
use kafka_support::{
    bootstrap, clean_up, committed_total, create_topic, shipper_flags, wait_for_commits, Indexer,
};
use run_support::{message, Running};

const SESSIONS: &str = include_str!("../benches/data/huawei-sessions-20k.log");
const SYSLOG_LINES: usize = 5000;
const PARTITIONS: i32 = 3;
/// Documents in OpenSearch at which the first indexer is killed.
const KILL_AT: u64 = 1500;

/// Documents searchable now; 0 while the first index is still being created
/// (its shards answer 503 for a moment).
fn searchable(server: &Server, indices: &str) -> u64 {
    server.request(reqwest::Method::POST, &format!("{indices}/_refresh"), None);
    let (status, answer) = server.request(reqwest::Method::GET, &format!("{indices}/_count"), None);
    match status {
        200 => answer["count"].as_u64().unwrap_or(0),
        _ => 0,
    }
}

#[test]
fn killed_indexer_restarts_without_loss_or_duplicates() {
    let bootstrap = bootstrap();
    let server = Server::opensearch();
    let run = bulk_support::run_id("kafka-kill");
    let topic = kafka_support::run_id("kill");
    let group = kafka_support::run_id("kill-group");
    create_topic(&bootstrap, &topic, PARTITIONS);

    let mut lines: Vec<String> = SESSIONS.lines().map(str::to_owned).collect();
    lines.extend((0..SYSLOG_LINES).map(|n| message("kill", n)));
    let total = lines.len();

    // Ship everything to the topic first.
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start_fed(
        &dir.path().join("unused"),
        &shipper_flags(&bootstrap, &topic),
        &lines,
    );
    running.stop();

    // Small chunks and requests, so the kill lands between commits.
    let config = dir.path().join("index.toml");
    let dead_letters = dir.path().join("dead.ndjson");
    std::fs::write(
        &config,
        format!(
            "[kafka]\nchunk_documents = 1000\nchunk_age_ms = 300\n\
             options = {{ \"session.timeout.ms\" = \"6000\" }}\n\
             [elasticsearch]\nurls = [\"{url}\"]\n\
             session_index = \"{run}-nat-%{{+yyyy.MM.dd}}\"\n\
             syslog_index = \"{run}-syslog-%{{+yyyy.MM.dd}}\"\n\
             template_name = \"{run}\"\npolicy_name = \"{run}\"\n\
             dead_letter_file = \"{dead}\"\nmax_batch_documents = 250\nmax_batch_age_ms = 100\n\
             [metrics]\nenabled = false\n",
            url = server.url,
            dead = dead_letters.display(),
        ),
    )
    .unwrap();
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--kafka",
        &bootstrap,
        "--kafka-topic",
        &topic,
        "--kafka-group",
        &group,
    ];
    let indices = format!("{run}-*");

    // First indexer: killed once some documents are in, well before all.
    let first = Indexer::start(&args);
    let deadline = Instant::now() + Duration::from_secs(90);
    let at_kill = loop {
        let count = searchable(&server, &indices);
        if count >= KILL_AT {
            first.signal(libc::SIGKILL);
            break count;
        }
        assert!(Instant::now() < deadline, "the first indexer wrote {count}");
        first.drain_log();
        std::thread::sleep(Duration::from_millis(20));
    };
    let (status, _) = first.wait();
    assert!(!status.success(), "SIGKILL ends the process: {status}");
    let committed_at_kill = committed_total(&bootstrap, &topic, &group, PARTITIONS);
    eprintln!("killed with {at_kill} documents searchable, {committed_at_kill} committed");
    assert!(
        (committed_at_kill as usize) < total,
        "the kill came after the end ({committed_at_kill} of {total} committed)"
    );

    // Second indexer, same group: goes on from the last commit, once the broker
    // has noticed the first one is gone (session.timeout.ms, 6 s here).
    let second = Indexer::start(&args);
    wait_for_commits(
        (&bootstrap, &topic, &group, PARTITIONS),
        total as i64,
        Duration::from_secs(120),
        &[&second],
        "the second indexer did not finish",
    );
    second.stop();

    // Committed means final: the count is exact at once, and stays so.
    server.wait_for_count(&indices, total as u64);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        server.count(&indices, serde_json::json!({"match_all": {}})),
        total as u64,
        "every document once"
    );
    let sessions = server.count(
        &format!("{run}-nat-*"),
        serde_json::json!({"term": {"event.dataset": "huawei.session"}}),
    );
    assert_eq!(sessions, SESSIONS.lines().count() as u64);
    assert!(!dead_letters.exists(), "nothing was dead-lettered");

    server.clean_up(&run);
    clean_up(&bootstrap, &topic, &[&group]);
}
