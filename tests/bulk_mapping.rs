//! Documents land with the schema's mapping, on OpenSearch and on Elasticsearch:
//! `source.ip` is an `ip` field that a CIDR term query searches, `@timestamp` a
//! date, counters longs, and `event.original` kept but not indexed.
#![cfg(feature = "integration")]

mod bulk_support;

use bulk_support::{config, documents, session_batch, write_all, Server};
use nat_ingest::bulk::ElasticsearchSink;
use reqwest::Method;
use serde_json::json;

/// Session records sent; the sample mixes IPv4 and IPv6 sources.
const DOCUMENTS: usize = 400;

fn documents_land_with_the_schema_mapping(server: Server) {
    let run = bulk_support::run_id("mapping");
    let dir = tempfile::tempdir().unwrap();
    let batch = session_batch(DOCUMENTS);
    let sent = documents(&batch);

    let mut sink = ElasticsearchSink::start(&config(&server, &run, dir.path())).unwrap();
    write_all(&mut sink, &[&batch]);
    drop(sink);

    let indices = format!("{run}-*");
    assert_eq!(
        server.count(&indices, json!({"match_all": {}})),
        DOCUMENTS as u64
    );

    // The mapping came from the template.
    let (status, mapping) = server.request(Method::GET, &format!("{indices}/_mapping"), None);
    assert_eq!(status, 200, "{mapping}");
    let (_, index) = mapping.as_object().unwrap().iter().next().unwrap();
    let properties = &index["mappings"]["properties"];
    assert_eq!(properties["source"]["properties"]["ip"]["type"], "ip");
    assert_eq!(
        properties["source"]["properties"]["nat"]["properties"]["ip"]["type"],
        "ip"
    );
    assert_eq!(properties["@timestamp"]["type"], "date");
    assert_eq!(properties["event"]["properties"]["start"]["type"], "date");
    assert_eq!(properties["source"]["properties"]["bytes"]["type"], "long");
    assert_eq!(
        properties["network"]["properties"]["packets"]["type"],
        "long"
    );
    assert_eq!(
        properties["event"]["properties"]["original"]["index"],
        false
    );

    // CIDR term queries on the ip field, for both families.
    let in_v4 = sent
        .iter()
        .filter(|d| {
            d["source"]["ip"]
                .as_str()
                .is_some_and(|ip| ip.starts_with("192.168."))
        })
        .count() as u64;
    let in_v6 = sent
        .iter()
        .filter(|d| {
            d["source"]["ip"]
                .as_str()
                .is_some_and(|ip| ip.starts_with("2001:db8:"))
        })
        .count() as u64;
    assert!(in_v4 > 0 && in_v6 > 0, "the sample lacks a family");
    let v4 = server.count(&indices, json!({"term": {"source.ip": "192.168.0.0/16"}}));
    let v6 = server.count(&indices, json!({"term": {"source.ip": "2001:db8::/32"}}));
    assert_eq!((v4, v6), (in_v4, in_v6));

    // Dates and longs answer range queries.
    let july = json!({"range": {"@timestamp": {"gte": "2025-07-01T00:00:00Z", "lt": "2025-08-01T00:00:00Z"}}});
    assert_eq!(server.count(&indices, july), DOCUMENTS as u64);
    let big = sent
        .iter()
        .filter(|d| {
            d["network"]["bytes"]
                .as_u64()
                .is_some_and(|b| b >= 1_000_000)
        })
        .count() as u64;
    let range = json!({"range": {"network.bytes": {"gte": 1_000_000}}});
    assert_eq!(server.count(&indices, range), big);

    server.clean_up(&run);
}

#[test]
fn opensearch_maps_the_schema() {
    documents_land_with_the_schema_mapping(Server::opensearch());
}

#[test]
fn elasticsearch_maps_the_schema() {
    documents_land_with_the_schema_mapping(Server::elasticsearch());
}

/// With `data_stream = true` the template declares data streams, and the
/// documents land in them.
#[test]
fn opensearch_data_streams_receive_documents() {
    let server = Server::opensearch();
    let run = bulk_support::run_id("stream");
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(&server, &run, dir.path());
    config.data_stream = true;
    config.session_index = Some(format!("{run}-huawei.session-default"));
    config.syslog_index = Some(format!("{run}-syslog-default"));
    let batch = session_batch(DOCUMENTS);

    let mut sink = ElasticsearchSink::start(&config).unwrap();
    write_all(&mut sink, &[&batch]);
    drop(sink);

    let stream = format!("{run}-huawei.session-default");
    let (status, answer) = server.request(Method::GET, &format!("_data_stream/{stream}"), None);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data_streams"][0]["name"], stream.as_str());
    assert_eq!(
        server.count(&stream, json!({"match_all": {}})),
        DOCUMENTS as u64
    );
    server.clean_up(&run);
}
