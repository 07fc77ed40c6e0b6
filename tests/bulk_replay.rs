//! Sending the same documents twice adds nothing the second time: the ids are
//! the messages' fingerprints and `create` refuses a second copy with 409,
//! which counts as a duplicate, not as an error.
#![cfg(feature = "integration")]

mod bulk_support;

use bulk_support::{config, counter_deltas, metrics, session_batch, write_all, Server};
use nat_ingest::bulk::ElasticsearchSink;
use serde_json::json;

const DOCUMENTS: u64 = 500;

#[test]
fn a_replay_meets_the_documents_it_already_wrote() {
    metrics();
    let server = Server::opensearch();
    let run = bulk_support::run_id("replay");
    let dir = tempfile::tempdir().unwrap();
    let config = config(&server, &run, dir.path());
    let batch = session_batch(DOCUMENTS as usize);
    let indices = format!("{run}-*");
    counter_deltas();

    let mut sink = ElasticsearchSink::start(&config).unwrap();
    write_all(&mut sink, &[&batch]);
    drop(sink);
    assert_eq!(server.count(&indices, json!({"match_all": {}})), DOCUMENTS);
    let first = counter_deltas();
    assert_eq!(first.get("bulk_documents_indexed_total"), Some(&DOCUMENTS));

    // A new process replaying the same capture.
    let mut sink = ElasticsearchSink::start(&config).unwrap();
    write_all(&mut sink, &[&batch]);
    drop(sink);
    assert_eq!(server.count(&indices, json!({"match_all": {}})), DOCUMENTS);
    let second = counter_deltas();
    assert_eq!(
        second.get("bulk_documents_duplicate_total"),
        Some(&DOCUMENTS)
    );
    assert_eq!(
        second
            .get("bulk_documents_indexed_total")
            .copied()
            .unwrap_or(0),
        0
    );
    assert_eq!(second.get("bulk_documents_dead_lettered_total"), None);
    assert!(!config.dead_letter_file.exists());

    server.clean_up(&run);
}
