//! Helpers for the `bulk_*` tests: reach the dev servers (or fail naming the
//! script that starts them), give each run its own index, template and file
//! names, build document batches from the sample session lines, and read back
//! what the server holds.

#![allow(dead_code)] // Each test binary uses its own subset.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nat_ingest::bulk::ElasticsearchSink;
use nat_ingest::config::elasticsearch::ElasticsearchConfig;
use nat_ingest::document::{Encoder, EncoderSettings, Received};
use nat_ingest::pipeline::{DocumentBatch, Sink};
use serde_json::Value;

/// What every "server unreachable" failure tells the reader to do.
pub const START_HINT: &str =
    "start the dev servers with `deploy/dev/servers.sh start && deploy/dev/servers.sh wait`";

const SESSIONS: &str = include_str!("../../benches/data/huawei-sessions-20k.log");

/// How long a test waits for documents to become searchable.
pub const SEARCH_TIMEOUT: Duration = Duration::from_secs(60);

/// A dev server, spoken to with plain HTTP.
pub struct Server {
    pub url: String,
    pub name: &'static str,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

#[path = "../dev_ports/mod.rs"]
mod dev_ports;

use dev_ports::port_from_env;

impl Server {
    /// The OpenSearch of `deploy/dev/servers.sh` (`NAT_INGEST_OPENSEARCH_PORT`, 9200).
    pub fn opensearch() -> Server {
        Server::connect(
            "OpenSearch",
            port_from_env("NAT_INGEST_OPENSEARCH_PORT", 9200),
        )
    }

    /// The Elasticsearch of `deploy/dev/servers.sh` (`NAT_INGEST_ELASTICSEARCH_PORT`, 9201).
    pub fn elasticsearch() -> Server {
        Server::connect(
            "Elasticsearch",
            port_from_env("NAT_INGEST_ELASTICSEARCH_PORT", 9201),
        )
    }

    fn connect(name: &'static str, port: u16) -> Server {
        let server = Server {
            url: format!("http://127.0.0.1:{port}"),
            name,
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        };
        let reachable = server.try_request(reqwest::Method::GET, "", None);
        match reachable {
            Ok((200, _)) => server,
            other => panic!(
                "{name} at {} is not usable ({other:?}): {START_HINT}",
                server.url
            ),
        }
    }

    fn try_request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), reqwest::Error> {
        let url = format!("{}/{}", self.url, path.trim_start_matches('/'));
        self.runtime.block_on(async {
            let mut request = self.client.request(method, url);
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request.send().await?;
            let status = response.status().as_u16();
            let bytes = response.bytes().await?;
            let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            Ok((status, value))
        })
    }

    /// Sends a request; panics when the server cannot be reached.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        self.try_request(method, path, body)
            .unwrap_or_else(|e| panic!("{} unreachable ({e}): {START_HINT}", self.name))
    }

    /// Refreshes and counts the documents matching `query` in `indices`.
    ///
    /// An index the writer has only just created can answer 503 ("all shards
    /// failed") until its primary shard has started; that answer is retried
    /// for up to `SEARCH_TIMEOUT`, any other failure panics at once.
    pub fn count(&self, indices: &str, query: Value) -> u64 {
        let body = serde_json::json!({ "query": query });
        let deadline = Instant::now() + SEARCH_TIMEOUT;
        loop {
            self.request(reqwest::Method::POST, &format!("{indices}/_refresh"), None);
            let (status, answer) = self.request(
                reqwest::Method::POST,
                &format!("{indices}/_count"),
                Some(&body),
            );
            if status == 503 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(250));
                continue;
            }
            assert_eq!(status, 200, "count failed: {answer}");
            return answer["count"].as_u64().unwrap();
        }
    }

    /// Polls the count of `indices` until it reaches `expected`; panics on timeout.
    pub fn wait_for_count(&self, indices: &str, expected: u64) {
        let deadline = Instant::now() + SEARCH_TIMEOUT;
        loop {
            let count = self.count(indices, serde_json::json!({"match_all": {}}));
            if count >= expected {
                assert_eq!(count, expected, "more documents than sent in {indices}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{indices} holds {count} documents, expected {expected}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Deletes the run's indices (by name: Elasticsearch 8+ refuses wildcard
    /// deletes), template and policies.
    pub fn clean_up(&self, run: &str) {
        use reqwest::Method;
        let (_, streams) = self.request(Method::GET, &format!("_data_stream/{run}-*"), None);
        for stream in streams["data_streams"].as_array().into_iter().flatten() {
            let name = stream["name"].as_str().unwrap();
            self.request(Method::DELETE, &format!("_data_stream/{name}"), None);
        }
        let (_, indices) = self.request(
            Method::GET,
            &format!("_cat/indices/{run}-*?format=json"),
            None,
        );
        for index in indices.as_array().into_iter().flatten() {
            let name = index["index"].as_str().unwrap();
            self.request(Method::DELETE, name, None);
        }
        self.request(Method::DELETE, &format!("_index_template/{run}"), None);
        self.request(Method::DELETE, &format!("_ilm/policy/{run}"), None);
        self.request(
            Method::DELETE,
            &format!("_plugins/_ism/policies/{run}"),
            None,
        );
    }
}

/// A name part that differs between runs and between concurrent test binaries:
/// `bulk-<what>-<millis>-<pid>`, lower case as index names must be.
pub fn run_id(what: &str) -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    format!("bulk-{what}-{millis}-{}", std::process::id())
}

/// A sink config writing to `<run>-nat-<date>` and `<run>-syslog-<date>`, with
/// its own template, policy and dead-letter file, and short pauses.
pub fn config(server: &Server, run: &str, dir: &Path) -> ElasticsearchConfig {
    ElasticsearchConfig {
        urls: vec![server.url.clone()],
        session_index: Some(format!("{run}-nat-%{{+yyyy.MM.dd}}")),
        syslog_index: Some(format!("{run}-syslog-%{{+yyyy.MM.dd}}")),
        template_name: run.to_string(),
        policy_name: run.to_string(),
        dead_letter_file: dir.join("dead-letter.ndjson"),
        max_batch_age_ms: 200,
        retry_initial_backoff_ms: 50,
        retry_max_backoff_ms: 1000,
        flush_timeout_secs: 60,
        // The dev Elasticsearch node runs without its native zstd library.
        index_codec: match server.name {
            "Elasticsearch" => String::new(),
            _ => "best_compression".into(),
        },
        ..ElasticsearchConfig::default()
    }
}

/// The first `count` sample session lines, encoded as the parser threads would,
/// with a fixed reference time and zone so that dates do not depend on today.
pub fn session_batch(count: usize) -> DocumentBatch {
    let settings =
        EncoderSettings::from_options(Some("+08:00"), Some("2025-07-24T00:00:00Z"), None, true)
            .unwrap();
    let encoder = Encoder::new(settings);
    let received = Received {
        at: "2025-07-23T04:00:00Z".parse().unwrap(),
        peer: Some([192, 0, 2, 1].into()),
        truncated: false,
        misframed: false,
    };
    let mut batch = DocumentBatch::default();
    for line in SESSIONS.lines().take(count) {
        batch.encode(&encoder, line.as_bytes(), &received);
    }
    assert_eq!(batch.len(), count, "the sample file has fewer lines");
    batch
}

/// The documents of a batch, parsed.
pub fn documents(batch: &DocumentBatch) -> Vec<Value> {
    batch
        .documents()
        .map(|(line, _)| serde_json::from_slice(line).unwrap())
        .collect()
}

/// Feeds batches to the sink as the sink thread does, then flushes.
pub fn write_all(sink: &mut ElasticsearchSink, batches: &[&DocumentBatch]) {
    for batch in batches {
        let now = Instant::now();
        sink.append(batch, now);
        sink.write_ready(now).unwrap();
    }
    sink.flush_and_reopen(Instant::now()).unwrap();
}

/// Counter increments since the last call, by metric name (labels summed), from
/// the process-wide debugging recorder that `metrics()` installs.
pub fn counter_deltas() -> std::collections::HashMap<String, u64> {
    use metrics_util::debugging::DebugValue;

    let mut deltas = std::collections::HashMap::new();
    for (key, _, _, value) in metrics().snapshot().into_vec() {
        if let DebugValue::Counter(n) = value {
            *deltas.entry(key.key().name().to_string()).or_default() += n;
        }
    }
    deltas
}

/// Installs a debugging recorder for the whole test binary, once.
pub fn metrics() -> &'static metrics_util::debugging::Snapshotter {
    static SNAPSHOTTER: std::sync::OnceLock<metrics_util::debugging::Snapshotter> =
        std::sync::OnceLock::new();
    SNAPSHOTTER.get_or_init(|| {
        let recorder = metrics_util::debugging::DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder
            .install()
            .expect("no other recorder in a bulk test");
        snapshotter
    })
}
