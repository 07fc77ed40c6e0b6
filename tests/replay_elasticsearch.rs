//! `nat-ingest replay --elasticsearch URL` run twice over the same file into
//! the dev OpenSearch: the second run adds nothing, because document ids are
//! fingerprints of the messages, and its summary counts every message as a
//! duplicate instead of failing. This is what makes re-running an interrupted
//! replay safe.
#![cfg(feature = "integration")]

mod bulk_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bulk_support::Server;
use serde_json::json;

const SESSIONS: &str = include_str!("../benches/data/huawei-sessions-20k.log");

/// Distinct sample lines replayed (the file holds no repeated line).
const MESSAGES: usize = 2000;

/// A config with the run's own indices, template, policy and dead-letter file.
fn config_file(dir: &Path, run: &str) -> PathBuf {
    let path = dir.join("nat-ingest.toml");
    let text = format!(
        "[parser]\ntimezone = \"+08:00\"\nreference_time = \"2025-07-24T00:00:00Z\"\n\n\
         [elasticsearch]\n\
         session_index = \"{run}-nat-%{{+yyyy.MM.dd}}\"\n\
         syslog_index = \"{run}-syslog-%{{+yyyy.MM.dd}}\"\n\
         template_name = \"{run}\"\n\
         policy_name = \"{run}\"\n\
         dead_letter_file = \"{}\"\n\
         max_batch_age_ms = 200\n\
         retry_initial_backoff_ms = 50\n\
         retry_max_backoff_ms = 1000\n",
        dir.join("dead-letter.ndjson").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn replay(server: &Server, config: &Path, input: &Path) -> (Output, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_nat-ingest"))
        .arg("replay")
        .arg("--config")
        .arg(config)
        .args(["--elasticsearch", &server.url])
        .arg(input)
        .env("NAT_INGEST_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    eprintln!("{stderr}");
    let summary = stderr
        .lines()
        .find(|l| l.starts_with("replay:"))
        .expect("a summary line")
        .to_owned();
    (output, summary)
}

#[test]
fn replaying_the_same_file_twice_adds_nothing() {
    let server = Server::opensearch();
    let run = bulk_support::run_id("replay-twice");
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), &run);
    let input = dir.path().join("sessions.log");
    let lines: Vec<&str> = SESSIONS.lines().take(MESSAGES).collect();
    assert_eq!(lines.len(), MESSAGES);
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let indices = format!("{run}-*");

    let (output, summary) = replay(&server, &config, &input);
    assert!(output.status.success(), "{summary}");
    let sent = format!("read={MESSAGES} sent={MESSAGES} skipped=0");
    assert!(summary.contains(&sent), "{summary}");
    assert!(summary.contains("failed=0"), "{summary}");
    assert!(summary.contains("rejected=0"), "{summary}");
    // The duplicate counter never moved, so the summary leaves it out.
    assert!(!summary.contains("duplicates="), "{summary}");
    let first = server.count(&indices, json!({"match_all": {}}));
    assert_eq!(first, MESSAGES as u64);

    // The same file again, as after an interrupted or repeated replay.
    let (output, summary) = replay(&server, &config, &input);
    assert!(output.status.success(), "{summary}");
    assert!(summary.contains(&sent), "{summary}");
    assert!(
        summary.contains(&format!("duplicates={MESSAGES}")),
        "{summary}"
    );
    assert!(summary.contains("rejected=0"), "{summary}");
    assert_eq!(server.count(&indices, json!({"match_all": {}})), first);
    assert!(!dir.path().join("dead-letter.ndjson").exists());

    server.clean_up(&run);
}
