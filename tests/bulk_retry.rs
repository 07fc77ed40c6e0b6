//! Per-item 429s from the real server: every document arrives exactly once.
//!
//! OpenSearch and Elasticsearch answer 429 for each item written to an index
//! that carries the `read_only_allow_delete` block (the block the disk
//! flood-stage watermark sets). That block is an index setting, so this test
//! can set it on its own index of the shared dev server without touching
//! anything else: half of each request goes to the blocked index and fails
//! with 429, the other half is indexed. The block is lifted a few seconds
//! later, and the retries of exactly the failed items land.
#![cfg(feature = "integration")]

mod bulk_support;

use std::time::{Duration, Instant};

use bulk_support::{config, counter_deltas, metrics, Server};
use nat_ingest::bulk::ElasticsearchSink;
use nat_ingest::document::{Dataset, Encoded};
use nat_ingest::pipeline::{DocumentBatch, Sink};
use reqwest::Method;
use serde_json::json;

/// Documents per dataset; sessions go to the blocked index.
const PER_DATASET: u64 = 300;

/// How long the block stays before the test lifts it.
const BLOCKED_FOR: Duration = Duration::from_secs(3);

#[test]
fn items_refused_with_429_are_retried_until_they_land_once() {
    metrics();
    let server = Server::opensearch();
    let run = bulk_support::run_id("retry");
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(&server, &run, dir.path());
    config.max_batch_documents = 200;

    let mut sink = ElasticsearchSink::start(&config).unwrap();
    // The template exists now; make the session index and block it.
    let blocked = format!("{run}-nat-2025.07.23");
    let (status, answer) = server.request(Method::PUT, &blocked, Some(&json!({})));
    assert_eq!(status, 200, "{answer}");
    let block = json!({"index.blocks.read_only_allow_delete": true});
    let (status, answer) =
        server.request(Method::PUT, &format!("{blocked}/_settings"), Some(&block));
    assert_eq!(status, 200, "{answer}");
    counter_deltas();

    let mut batch = DocumentBatch::default();
    for n in 0..PER_DATASET * 2 {
        let dataset = if n % 2 == 0 {
            Dataset::HuaweiSession
        } else {
            Dataset::Syslog
        };
        let document = format!(r#"{{"@timestamp":"2025-07-23T03:00:00Z","n":{n}}}"#);
        let encoded = Encoded {
            timestamp: "2025-07-23T03:00:00Z".parse().unwrap(),
            dataset,
            failure: None,
            fingerprint: Some(u128::from(n) + 1),
        };
        batch.push_encoded(document.as_bytes(), encoded);
    }
    let now = Instant::now();
    sink.append(&batch, now);
    sink.write_ready(now).unwrap();

    // Lift the block while the retries go on.
    std::thread::sleep(BLOCKED_FOR);
    let unblock = json!({"index.blocks.read_only_allow_delete": null});
    let (status, answer) =
        server.request(Method::PUT, &format!("{blocked}/_settings"), Some(&unblock));
    assert_eq!(status, 200, "{answer}");
    sink.flush_and_reopen(Instant::now()).unwrap();
    drop(sink);

    let deltas = counter_deltas();
    let retried = deltas.get("bulk_items_retried_total").copied().unwrap_or(0);
    assert!(
        retried >= PER_DATASET,
        "only {retried} items retried: {deltas:?}"
    );
    assert_eq!(
        deltas.get("bulk_documents_indexed_total"),
        Some(&(PER_DATASET * 2))
    );
    assert_eq!(deltas.get("bulk_documents_duplicate_total"), None);
    assert_eq!(deltas.get("bulk_documents_dead_lettered_total"), None);
    assert_eq!(
        server.count(&blocked, json!({"match_all": {}})),
        PER_DATASET
    );
    let other = format!("{run}-syslog-*");
    assert_eq!(server.count(&other, json!({"match_all": {}})), PER_DATASET);
    // Every n exactly once: no n is missing, and the counts above allow no extra.
    let (status, answer) = server.request(
        Method::POST,
        &format!("{run}-*/_search"),
        Some(&json!({"size": 0, "aggs": {"distinct": {"cardinality": {"field": "n"}}}})),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["aggregations"]["distinct"]["value"], PER_DATASET * 2);

    server.clean_up(&run);
}
