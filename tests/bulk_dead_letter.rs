//! A document the mapping refuses goes to the dead-letter file with its status
//! and reason; the rest of its request is indexed.
#![cfg(feature = "integration")]

mod bulk_support;

use bulk_support::{config, session_batch, write_all, Server};
use nat_ingest::bulk::ElasticsearchSink;
use nat_ingest::document::{Dataset, Encoded};
use serde_json::{json, Value};

const GOOD_DOCUMENTS: usize = 50;

fn one_conflicting_document_is_parked(server: Server) {
    let run = bulk_support::run_id("deadletter");
    let dir = tempfile::tempdir().unwrap();
    let config = config(&server, &run, dir.path());

    // Good session records with one in the middle whose source.ip is no address.
    let good = session_batch(GOOD_DOCUMENTS);
    let mut batch = nat_ingest::pipeline::DocumentBatch::default();
    let bad = br#"{"@timestamp":"2025-07-23T03:00:00Z","source":{"ip":"not-an-ip","port":53},"event":{"dataset":"huawei.session"}}"#;
    for (n, (line, encoded)) in good.documents().enumerate() {
        if n == GOOD_DOCUMENTS / 2 {
            let encoded = Encoded {
                timestamp: "2025-07-23T03:00:00Z".parse().unwrap(),
                dataset: Dataset::HuaweiSession,
                failure: None,
                fingerprint: Some(42),
            };
            batch.push_encoded(bad, encoded);
        }
        batch.push_encoded(line.strip_suffix(b"\n").unwrap(), *encoded);
    }

    let mut sink = ElasticsearchSink::start(&config).unwrap();
    write_all(&mut sink, &[&batch]);
    drop(sink);

    let indices = format!("{run}-*");
    assert_eq!(
        server.count(&indices, json!({"match_all": {}})),
        GOOD_DOCUMENTS as u64
    );
    let text = std::fs::read_to_string(&config.dead_letter_file).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    let letter = &lines[0];
    assert_eq!(letter["status"], 400);
    let reason = letter["reason"].as_str().unwrap();
    assert!(reason.contains("source.ip"), "{reason}");
    assert_eq!(letter["document"]["source"]["ip"], "not-an-ip");
    assert_eq!(letter["action"]["create"]["_id"], "AAAAAAAAAAAAAAAAAAAAKg");

    server.clean_up(&run);
}

#[test]
fn opensearch_parks_a_mapping_conflict() {
    one_conflicting_document_is_parked(Server::opensearch());
}

#[test]
fn elasticsearch_parks_a_mapping_conflict() {
    one_conflicting_document_is_parked(Server::elasticsearch());
}
