//! Smoke tests for the real servers that `deploy/dev/servers.sh` runs:
//! OpenSearch 2.19 and Elasticsearch 9 (the two Elasticsearch-API servers we
//! index into) and a Kafka 4 broker.
//!
//! They check, with the same client crates and settings the pipeline uses,
//! the few things nat-ingest relies on: an index template that maps an `ip`
//! field, gzip-compressed `_bulk` bodies, CIDR and range queries on that field,
//! zstd batches through a topic, and consumer-group offset commits.
//!
//! The servers are found through the env vars servers.sh reads
//! (`NAT_INGEST_OPENSEARCH_PORT`, `NAT_INGEST_ELASTICSEARCH_PORT`,
//! `NAT_INGEST_KAFKA_PORT`; 9200, 9201 and 9092 by default). A server that
//! cannot be reached fails the test with a hint to start it: these tests never
//! pass by skipping. Every run uses fresh index, template, topic and group
//! names, and removes them at the end, so reruns against a long-lived server
//! do not see each other's data.
#![cfg(feature = "integration")]

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use elasticsearch::http::request::JsonBody;
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::http::Url;
use elasticsearch::indices::{
    IndicesDeleteIndexTemplateParts, IndicesDeleteParts, IndicesGetMappingParts,
    IndicesPutIndexTemplateParts, IndicesRefreshParts,
};
use elasticsearch::{BulkParts, Elasticsearch, SearchParts};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::{json, Value};

/// What every "server unreachable" failure tells the reader to do.
const START_HINT: &str =
    "start the dev servers with `deploy/dev/servers.sh start && deploy/dev/servers.sh wait`";

/// How long one request to either server may take before the test fails.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Records produced in the Kafka test; small enough to form one batch.
const KAFKA_RECORD_COUNT: i64 = 25;

mod dev_ports;

use dev_ports::port_from_env;

/// A name part that differs between runs and between concurrent test binaries.
fn run_id() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    format!("{millis}-{}", std::process::id())
}

/// Fails the test, naming servers.sh, unless something listens at `addr`.
///
/// Both clients retry an absent server quietly for a long time; probing the
/// port first turns that into an immediate, readable failure.
fn require_listening(server: &str, addr: SocketAddr) {
    if let Err(err) = TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
        panic!("{server} is not reachable at {addr} ({err}); {START_HINT}");
    }
}

/// Awaits one step, failing the test if it takes longer than [`REQUEST_TIMEOUT`].
async fn within<T>(step: &str, future: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(REQUEST_TIMEOUT, future).await {
        Ok(output) => output,
        Err(_) => panic!("{step}: no answer within {REQUEST_TIMEOUT:?}"),
    }
}

// ---------------------------------------------------------------------------
// Elasticsearch API

/// A client for the server `server` listening on the port in `port_var`.
fn elasticsearch_client(server: &str, port_var: &str, default_port: u16) -> Elasticsearch {
    let port = port_from_env(port_var, default_port);
    require_listening(server, SocketAddr::from(([127, 0, 0, 1], port)));

    let url = Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let transport = TransportBuilder::new(SingleNodeConnectionPool::new(url))
        .request_body_compression(true)
        .disable_proxy()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("build the Elasticsearch transport");
    Elasticsearch::new(transport)
}

/// Reads a response body as JSON, failing the test on a non-2xx status.
async fn json_ok(step: &str, response: elasticsearch::http::response::Response) -> Value {
    let status = response.status_code();
    let body = response
        .text()
        .await
        .unwrap_or_else(|err| panic!("{step}: read body: {err}"));
    assert!(status.is_success(), "{step}: HTTP {status}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|err| panic!("{step}: bad JSON ({err}): {body}"))
}

/// Sorted `_id`s of a search response's hits.
fn hit_ids(response: &Value) -> Vec<String> {
    let mut ids: Vec<String> = response["hits"]["hits"]
        .as_array()
        .expect("hits.hits is an array")
        .iter()
        .map(|hit| hit["_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn opensearch_indexes_and_queries_ip_fields() {
    let client = elasticsearch_client("OpenSearch", "NAT_INGEST_OPENSEARCH_PORT", 9200);
    index_and_query_ip_fields(&client).await;
}

#[tokio::test]
async fn elasticsearch_indexes_and_queries_ip_fields() {
    let client = elasticsearch_client("Elasticsearch", "NAT_INGEST_ELASTICSEARCH_PORT", 9201);
    index_and_query_ip_fields(&client).await;
}

/// Template, gzip bulk, refresh, CIDR and range searches, then cleanup.
async fn index_and_query_ip_fields(client: &Elasticsearch) {
    let run = run_id();
    let template = format!("nat-ingest-smoke-{run}");
    let index = format!("nat-ingest-smoke-{run}-000001");

    // An index template like the pipeline's: one shard, no replicas (a single
    // node cannot hold them, and node config refuses index settings).
    let response = client
        .indices()
        .put_index_template(IndicesPutIndexTemplateParts::Name(&template))
        .body(json!({
            "index_patterns": [format!("nat-ingest-smoke-{run}-*")],
            "template": {
                "settings": { "number_of_shards": 1, "number_of_replicas": 0 },
                "mappings": {
                    "dynamic": "strict",
                    "properties": {
                        "@timestamp": { "type": "date" },
                        "source": { "properties": {
                            "ip": { "type": "ip" },
                            "port": { "type": "integer" },
                            "nat": { "properties": { "ip": { "type": "ip" } } }
                        } }
                    }
                }
            }
        }))
        .send()
        .await
        .unwrap_or_else(|err| panic!("put index template: {err}; {START_HINT}"));
    json_ok("put index template", response).await;

    // Bulk-index a few NAT translations, IPv4 and IPv6, gzip-compressed.
    let docs = [
        ("a", "10.0.0.5", 40001),
        ("b", "10.0.0.200", 40002),
        ("c", "10.0.1.7", 40003),
        ("d", "192.168.1.1", 40004),
        ("e", "2001:db8::1", 40005),
    ];
    let mut body: Vec<JsonBody<Value>> = Vec::new();
    for (id, ip, port) in docs {
        body.push(json!({ "index": { "_id": id } }).into());
        body.push(
            json!({
                "@timestamp": "2026-01-02T03:04:05Z",
                "source": { "ip": ip, "port": port, "nat": { "ip": "203.0.113.9" } }
            })
            .into(),
        );
    }
    let response = client
        .bulk(BulkParts::Index(&index))
        .body(body)
        .send()
        .await
        .unwrap();
    let bulk = json_ok("bulk", response).await;
    assert_eq!(
        bulk["errors"],
        json!(false),
        "bulk reported item errors: {bulk}"
    );
    assert_eq!(bulk["items"].as_array().unwrap().len(), docs.len());

    // The template, not dynamic mapping, must have typed the field.
    let response = client
        .indices()
        .get_mapping(IndicesGetMappingParts::Index(&[&index]))
        .send()
        .await;
    let mapping = json_ok("get mapping", response.unwrap()).await;
    assert_eq!(
        mapping[&index]["mappings"]["properties"]["source"]["properties"]["ip"]["type"],
        json!("ip"),
        "template did not apply: {mapping}"
    );

    let response = client
        .indices()
        .refresh(IndicesRefreshParts::Index(&[&index]))
        .send()
        .await;
    json_ok("refresh", response.unwrap()).await;

    // A CIDR term query: both addresses in 10.0.0.0/24, nothing else.
    let response = client
        .search(SearchParts::Index(&[&index]))
        .body(json!({ "query": { "term": { "source.ip": "10.0.0.0/24" } } }))
        .send()
        .await
        .unwrap();
    let found = json_ok("search by CIDR", response).await;
    assert_eq!(hit_ids(&found), ["a", "b"], "CIDR query: {found}");

    // A range query that crosses a /24 boundary and leaves out 192.168/16 and
    // the IPv6 document.
    let response = client
        .search(SearchParts::Index(&[&index]))
        .body(json!({
            "query": { "range": { "source.ip": { "gte": "10.0.0.100", "lte": "10.0.1.255" } } }
        }))
        .send()
        .await
        .unwrap();
    let found = json_ok("search by range", response).await;
    assert_eq!(hit_ids(&found), ["b", "c"], "range query: {found}");

    // Leave a long-lived dev server as we found it.
    let response = client
        .indices()
        .delete(IndicesDeleteParts::Index(&[&index]))
        .send()
        .await;
    json_ok("delete index", response.unwrap()).await;
    let response = client
        .indices()
        .delete_index_template(IndicesDeleteIndexTemplateParts::Name(&template))
        .send()
        .await;
    json_ok("delete index template", response.unwrap()).await;
}

// ---------------------------------------------------------------------------
// Kafka

fn kafka_bootstrap() -> String {
    let port = port_from_env("NAT_INGEST_KAFKA_PORT", 9092);
    require_listening("Kafka", SocketAddr::from(([127, 0, 0, 1], port)));
    format!("127.0.0.1:{port}")
}

#[tokio::test]
async fn kafka_round_trips_a_zstd_batch_and_commits_offsets() {
    let bootstrap = kafka_bootstrap();
    let run = run_id();
    let topic = format!("nat-ingest-smoke-{run}");
    let group = format!("nat-ingest-smoke-{run}");

    // Create the topic explicitly: one partition makes offsets predictable.
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .expect("create the Kafka admin client");
    let options = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
    let new_topic = NewTopic::new(&topic, 1, TopicReplication::Fixed(1));
    let created = within("create topic", admin.create_topics(&[new_topic], &options))
        .await
        .unwrap_or_else(|err| panic!("create topic {topic}: {err}; {START_HINT}"));
    for result in created {
        result.unwrap_or_else(|(name, code)| panic!("create topic {name}: {code}"));
    }

    produce_zstd_batch(&bootstrap, &topic).await;
    let committed = consume_and_commit(&bootstrap, &topic, &group).await;
    assert_eq!(committed, Offset::Offset(KAFKA_RECORD_COUNT));

    // Leave a long-lived dev broker as we found it.
    let deleted = within("delete topic", admin.delete_topics(&[&topic], &options))
        .await
        .expect("delete topic");
    for result in deleted {
        result.unwrap_or_else(|(name, code)| panic!("delete topic {name}: {code}"));
    }
    let deleted = within("delete group", admin.delete_groups(&[&group], &options))
        .await
        .expect("delete group");
    for result in deleted {
        result.unwrap_or_else(|(name, code)| panic!("delete group {name}: {code}"));
    }
}

/// The syslog line carried by record `n`.
fn kafka_payload(n: i64) -> String {
    format!("<134>1 2026-01-02T03:04:05Z cgnat-1 NAT - - - record {n}")
}

/// Produces [`KAFKA_RECORD_COUNT`] records and checks they land at offsets
/// 0, 1, 2, ... of partition 0.
async fn produce_zstd_batch(bootstrap: &str, topic: &str) {
    // Creating the producer fails if librdkafka was built without zstd.
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("compression.type", "zstd")
        .set("linger.ms", "50")
        .set("acks", "all")
        .set("message.timeout.ms", "30000")
        .create()
        .expect("create a zstd producer");

    // Queue every record before awaiting any, so they leave as one batch.
    let mut deliveries = Vec::new();
    for n in 0..KAFKA_RECORD_COUNT {
        let payload = kafka_payload(n);
        let record = FutureRecord::to(topic).key("cgnat-1").payload(&payload);
        deliveries.push(
            producer
                .send_result(record)
                .map_err(|(err, _)| err)
                .unwrap(),
        );
    }
    for (n, delivery) in (0..).zip(deliveries) {
        let delivered = within("delivery", delivery)
            .await
            .expect("delivery future dropped");
        let delivered = delivered.unwrap_or_else(|(err, _)| panic!("deliver record {n}: {err}"));
        assert_eq!((delivered.partition, delivered.offset), (0, n));
    }
}

/// Reads the batch back in order in consumer group `group`, commits the
/// position after it, and returns the offset the group coordinator then holds.
async fn consume_and_commit(bootstrap: &str, topic: &str, group: &str) -> Offset {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("create the consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    for n in 0..KAFKA_RECORD_COUNT {
        let message = within(&format!("consume record {n}"), consumer.recv())
            .await
            .expect("consume");
        assert_eq!(message.offset(), n);
        assert_eq!(message.payload(), Some(kafka_payload(n).as_bytes()));
    }

    // The committed offset is the next one to read: one past the last record.
    let mut position = TopicPartitionList::new();
    position
        .add_partition_offset(topic, 0, Offset::Offset(KAFKA_RECORD_COUNT))
        .unwrap();
    consumer
        .commit(&position, CommitMode::Sync)
        .expect("commit offsets");
    let committed = consumer
        .committed(REQUEST_TIMEOUT)
        .expect("read committed offsets");
    let offset = committed
        .find_partition(topic, 0)
        .expect("partition 0 in the group's committed offsets")
        .offset();

    // Both lists must be freed before the consumer: an element can hold a
    // reference into librdkafka's partition state, and dropping the consumer
    // first blocks for ever in `rd_kafka_destroy`, waiting for that reference.
    drop(committed);
    drop(position);
    drop(consumer);
    offset
}
