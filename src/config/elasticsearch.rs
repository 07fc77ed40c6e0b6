//! `[elasticsearch]`: the bulk writer's nodes, targets, batching, retries,
//! index template, retention policy, credentials and TLS.
//!
//! The section (or `--elasticsearch URL`) switches `run` from the archive to
//! Elasticsearch or OpenSearch. See `crate::bulk` for what the writer promises.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::bulk::IndexPattern;

/// Index name for session records unless `session_index` is set.
pub const DEFAULT_SESSION_INDEX: &str = "nat-%{+yyyy.MM.dd}";
/// Index name for every other message unless `syslog_index` is set.
pub const DEFAULT_SYSLOG_INDEX: &str = "nat-syslog-%{+yyyy.MM.dd}";
/// Data stream for session records when `data_stream = true`.
pub const DEFAULT_SESSION_DATA_STREAM: &str = "logs-huawei.session-default";
/// Data stream for every other message when `data_stream = true`.
pub const DEFAULT_SYSLOG_DATA_STREAM: &str = "logs-syslog-default";

/// Largest request body allowed: Elasticsearch refuses bodies over
/// `http.max_content_length`, 100 MiB by default, with a 413.
pub const MAX_BATCH_BYTES_LIMIT: usize = 100 * 1024 * 1024;

/// The `[elasticsearch]` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ElasticsearchConfig {
    /// Node URLs, e.g. `["http://es1:9200", "https://es2:9200"]`. Required.
    ///
    /// Requests go round-robin to the nodes that answer; a node that fails is
    /// left out until its health check passes. `user:password@` in a URL is
    /// taken as basic authentication.
    pub urls: Vec<String>,

    /// Target of session records: an index pattern with an optional date from
    /// `@timestamp` in Logstash's syntax, or a data stream name.
    ///
    /// Default `nat-%{+yyyy.MM.dd}` (one index per UTC day), or
    /// `logs-huawei.session-default` with `data_stream = true`.
    pub session_index: Option<String>,

    /// Target of every other message (Huawei logs that are not session records,
    /// plain syslog).
    ///
    /// Default `nat-syslog-%{+yyyy.MM.dd}`, or `logs-syslog-default` with
    /// `data_stream = true`.
    pub syslog_index: Option<String>,

    /// Write to data streams instead of dated indices.
    ///
    /// The template then declares the targets as data streams, and the retention
    /// policy rolls them over daily. Default false.
    pub data_stream: bool,

    /// Documents after which a bulk request is closed and sent. Default 5000.
    pub max_batch_documents: usize,

    /// NDJSON bytes after which a bulk request is closed and sent, before
    /// compression.
    ///
    /// Bounds the memory of each request in flight. At most 104857600 (100 MiB,
    /// the servers' default request limit). Default 10485760 (10 MiB).
    pub max_batch_bytes: usize,

    /// Longest the first document of a request waits for it to fill, in
    /// milliseconds.
    ///
    /// The delay before a document becomes searchable at low traffic. Default
    /// 1000.
    pub max_batch_age_ms: u64,

    /// Bulk requests sent at once.
    ///
    /// When all are waiting for the server, the sink stops taking documents and
    /// the queues behind it fill (back-pressure). Default 4.
    pub max_in_flight_requests: usize,

    /// gzip request bodies. Default true.
    pub compression: bool,

    /// gzip level, 1 (fastest) to 9 (smallest).
    ///
    /// Level 1 already shrinks NAT logs about eightfold and keeps up with the
    /// parsers on one core. Default 1.
    pub compression_level: u32,

    /// Longest a request may take, from connecting to the end of the response,
    /// in seconds; a request that takes longer is sent again. Default 60.
    pub request_timeout_secs: u64,

    /// First pause before a retry, in milliseconds; pauses double from there.
    /// Default 100.
    pub retry_initial_backoff_ms: u64,

    /// Longest pause between retries, in milliseconds. Default 30000.
    pub retry_max_backoff_ms: u64,

    /// Seconds between health checks (`GET /`) of nodes that failed. Default 5.
    pub health_check_interval_secs: u64,

    /// Longest a flush (SIGHUP, shutdown) waits for requests in flight, in
    /// seconds.
    ///
    /// At shutdown the flush is attempted a few times; documents still
    /// unwritten after that are lost, counted and logged. Default 20.
    pub flush_timeout_secs: u64,

    /// NDJSON file that receives the documents the server rejected for good (a
    /// mapping conflict, say), each with its status and reason.
    ///
    /// Appended to, never truncated. Default `./nat-ingest-dead-letter.ndjson`.
    pub dead_letter_file: PathBuf,

    /// Install the index template (and the retention policy) at start.
    ///
    /// Turn off when the cluster's templates are managed elsewhere. Default true.
    pub install_template: bool,

    /// Name of the index template. Default `nat-ingest`.
    pub template_name: String,

    /// Priority of the index template; must be above any other template that
    /// matches the same names (Elasticsearch's built-in `logs-*-*` has 100).
    /// Default 200.
    pub template_priority: u32,

    /// Primary shards per index. Default 1.
    pub shards: u32,

    /// Replicas per shard.
    ///
    /// 0 suits a single-node (development) server; set 1 or more on a cluster, or
    /// a lost node loses data. Default 0.
    pub replicas: u32,

    /// Stored-fields codec of new indices; empty keeps the server's default.
    ///
    /// `best_compression` stores NAT logs in about a third less disk for a little
    /// more CPU when merging. Elasticsearch 8.x+ implements it with zstd from its
    /// native library, so a node built without that library must use `""`.
    /// Default `best_compression`.
    pub index_codec: String,

    /// Days after which an index is deleted, through an ILM policy
    /// (Elasticsearch) or an ISM policy (OpenSearch); 0 installs no policy.
    ///
    /// Default 180, the minimum retention for network logs in China.
    pub retention_days: u32,

    /// Name of the retention policy. Default `nat-ingest-retention`.
    pub policy_name: String,

    /// Basic authentication user name.
    pub username: Option<String>,
    /// Basic authentication password.
    pub password: Option<String>,
    /// API key: the base64 `encoded` value Elasticsearch returns, or `id:key`.
    pub api_key: Option<String>,
    /// Bearer token (an OAuth or service-account token).
    pub bearer_token: Option<String>,

    /// `[elasticsearch.tls]`: certificates for `https://` nodes.
    pub tls: ElasticsearchTlsConfig,
}

/// `[elasticsearch.tls]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ElasticsearchTlsConfig {
    /// PEM file of the CA(s) that signed the nodes' certificates, trusted in
    /// addition to the built-in roots.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate chain, for servers that require one.
    pub client_cert_file: Option<PathBuf>,
    /// PEM private key of the client certificate.
    pub client_key_file: Option<PathBuf>,
    /// Accept any server certificate. Never use it outside a test: anyone on the
    /// path can read and change the documents. Default false.
    pub insecure_skip_verify: bool,
}

impl Default for ElasticsearchConfig {
    fn default() -> ElasticsearchConfig {
        ElasticsearchConfig {
            urls: Vec::new(),
            session_index: None,
            syslog_index: None,
            data_stream: false,
            max_batch_documents: 5000,
            max_batch_bytes: 10 * 1024 * 1024,
            max_batch_age_ms: 1000,
            max_in_flight_requests: 4,
            compression: true,
            compression_level: 1,
            request_timeout_secs: 60,
            retry_initial_backoff_ms: 100,
            retry_max_backoff_ms: 30_000,
            health_check_interval_secs: 5,
            flush_timeout_secs: 20,
            dead_letter_file: PathBuf::from("./nat-ingest-dead-letter.ndjson"),
            install_template: true,
            template_name: "nat-ingest".into(),
            template_priority: 200,
            shards: 1,
            replicas: 0,
            index_codec: "best_compression".into(),
            retention_days: 180,
            policy_name: "nat-ingest-retention".into(),
            username: None,
            password: None,
            api_key: None,
            bearer_token: None,
            tls: ElasticsearchTlsConfig::default(),
        }
    }
}

impl ElasticsearchConfig {
    /// The session target, its default filled in.
    pub fn session_target(&self) -> &str {
        match (&self.session_index, self.data_stream) {
            (Some(name), _) => name,
            (None, false) => DEFAULT_SESSION_INDEX,
            (None, true) => DEFAULT_SESSION_DATA_STREAM,
        }
    }

    /// The target of other messages, its default filled in.
    pub fn syslog_target(&self) -> &str {
        match (&self.syslog_index, self.data_stream) {
            (Some(name), _) => name,
            (None, false) => DEFAULT_SYSLOG_INDEX,
            (None, true) => DEFAULT_SYSLOG_DATA_STREAM,
        }
    }

    /// Refuses values that cannot work, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.urls.is_empty() {
            return Err("elasticsearch.urls is empty: give at least one node".into());
        }
        for url in &self.urls {
            let parsed = reqwest::Url::parse(url)
                .map_err(|e| format!("elasticsearch.urls: {url:?} is not a URL: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                return Err(format!(
                    "elasticsearch.urls: {url:?} is not an http:// or https:// URL"
                ));
            }
        }
        for (key, pattern) in [
            ("session_index", self.session_target()),
            ("syslog_index", self.syslog_target()),
        ] {
            IndexPattern::parse(pattern).map_err(|e| format!("elasticsearch.{key}: {e}"))?;
        }
        let positive = [
            ("max_batch_documents", self.max_batch_documents as u64),
            ("max_batch_bytes", self.max_batch_bytes as u64),
            ("max_batch_age_ms", self.max_batch_age_ms),
            ("max_in_flight_requests", self.max_in_flight_requests as u64),
            ("request_timeout_secs", self.request_timeout_secs),
            ("retry_initial_backoff_ms", self.retry_initial_backoff_ms),
            (
                "health_check_interval_secs",
                self.health_check_interval_secs,
            ),
            ("flush_timeout_secs", self.flush_timeout_secs),
            ("shards", self.shards as u64),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(format!("elasticsearch.{key} must be above 0"));
            }
        }
        if self.max_batch_bytes > MAX_BATCH_BYTES_LIMIT {
            return Err(format!(
                "elasticsearch.max_batch_bytes {} is above {MAX_BATCH_BYTES_LIMIT}",
                self.max_batch_bytes
            ));
        }
        if !(1..=9).contains(&self.compression_level) {
            return Err(format!(
                "elasticsearch.compression_level {} is not in 1..=9",
                self.compression_level
            ));
        }
        if self.retry_max_backoff_ms < self.retry_initial_backoff_ms {
            return Err(
                "elasticsearch.retry_max_backoff_ms is below retry_initial_backoff_ms".into(),
            );
        }
        let methods = [
            self.username.is_some(),
            self.api_key.is_some(),
            self.bearer_token.is_some(),
        ];
        if methods.iter().filter(|&&m| m).count() > 1 {
            return Err(
                "elasticsearch: choose one of username/password, api_key and bearer_token".into(),
            );
        }
        if self.password.is_some() && self.username.is_none() {
            return Err("elasticsearch.password needs elasticsearch.username".into());
        }
        if self.tls.client_cert_file.is_some() != self.tls.client_key_file.is_some() {
            return Err(
                "elasticsearch.tls: client_cert_file and client_key_file go together".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_url() -> ElasticsearchConfig {
        ElasticsearchConfig {
            urls: vec!["http://127.0.0.1:9200".into()],
            ..ElasticsearchConfig::default()
        }
    }

    #[test]
    fn defaults_validate_once_a_url_is_given() {
        assert!(ElasticsearchConfig::default().validate().is_err());
        let config = with_url();
        config.validate().unwrap();
        assert_eq!(config.session_target(), "nat-%{+yyyy.MM.dd}");
        assert_eq!(config.syslog_target(), "nat-syslog-%{+yyyy.MM.dd}");
        let streams = ElasticsearchConfig {
            data_stream: true,
            ..with_url()
        };
        assert_eq!(streams.session_target(), "logs-huawei.session-default");
    }

    #[test]
    fn refuses_bad_values_naming_the_key() {
        let cases: Vec<(ElasticsearchConfig, &str)> = vec![
            (
                ElasticsearchConfig {
                    urls: vec!["es1:9200".into()],
                    ..with_url()
                },
                "urls",
            ),
            (
                ElasticsearchConfig {
                    session_index: Some("Nat-%{+yyyy}".into()),
                    ..with_url()
                },
                "session_index",
            ),
            (
                ElasticsearchConfig {
                    max_batch_documents: 0,
                    ..with_url()
                },
                "max_batch_documents",
            ),
            (
                ElasticsearchConfig {
                    compression_level: 12,
                    ..with_url()
                },
                "compression_level",
            ),
            (
                ElasticsearchConfig {
                    username: Some("u".into()),
                    api_key: Some("k".into()),
                    ..with_url()
                },
                "api_key",
            ),
            (
                ElasticsearchConfig {
                    tls: ElasticsearchTlsConfig {
                        client_cert_file: Some("c.pem".into()),
                        ..ElasticsearchTlsConfig::default()
                    },
                    ..with_url()
                },
                "client_key_file",
            ),
        ];
        for (config, key) in cases {
            let error = config.validate().unwrap_err();
            assert!(error.contains(key), "{key}: {error}");
        }
    }

    #[test]
    fn parses_from_toml() {
        let text = r#"
            urls = ["https://es1:9200", "https://es2:9200"]
            session_index = "nat-%{+yyyy.MM}"
            max_in_flight_requests = 8
            api_key = "aWQ6a2V5"
            [tls]
            ca_file = "/etc/ssl/es-ca.pem"
        "#;
        let config: ElasticsearchConfig = toml::from_str(text).unwrap();
        config.validate().unwrap();
        assert_eq!(config.urls.len(), 2);
        assert_eq!(config.max_in_flight_requests, 8);
        assert_eq!(config.max_batch_documents, 5000);
        assert!(toml::from_str::<ElasticsearchConfig>("url = []").is_err());
    }
}
