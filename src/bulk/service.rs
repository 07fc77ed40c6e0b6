//! The HTTP side: one reqwest client for every node, node choice with failover,
//! health checks, authentication and TLS.
//!
//! # Why reqwest and not the `elasticsearch` crate
//!
//! The crate was tried first and dropped for three reasons. Its transport gzips
//! every body into a fresh buffer at a fixed level and hides the result, so the
//! bytes sent could not be counted or the buffer reused; a retried request would
//! be compressed again each time. Its multi-node pool picks nodes round-robin
//! with no notion of a dead node, so failover would have meant one transport per
//! node plus our own bookkeeping anyway. And the bulk response is wanted as raw
//! bytes for simd-json, which the crate's typed response only hands out after
//! buffering it itself. What remains (a URL join, auth headers, TLS options) is
//! a few lines over reqwest, which the crate uses underneath too.
//!
//! # Failover
//!
//! Requests go round-robin to the nodes marked up. A connection error or timeout
//! marks its node down; a task wakes every `health_check_interval_secs` and asks
//! each down node `GET /`, marking it up once it answers. When every node is
//! down, requests go round-robin to all of them, so the first to come back is
//! found by traffic as well as by the health check.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use reqwest::{Method, Url};

use super::response::BULK_FILTER_PATH;
use super::BulkError;
use crate::config::elasticsearch::ElasticsearchConfig;
use crate::telemetry::bulk::NodeStateChanged;

/// Longest a connection attempt may take before the node counts as down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a health check may take.
const HEALTH_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// A request that got no HTTP response.
#[derive(Debug, thiserror::Error)]
#[error("{node}: {kind}")]
pub struct SendError {
    pub node: String,
    pub kind: &'static str,
    #[source]
    pub source: reqwest::Error,
}

impl SendError {
    /// The `cause` label: `timeout` or `connection`.
    pub fn cause(&self) -> &'static str {
        self.kind
    }
}

/// A response, read to the end.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

struct Node {
    /// With a trailing `/`, so that joining keeps any path prefix.
    base: Url,
    /// The URL without credentials, for logs and labels.
    label: String,
    is_up: AtomicBool,
}

/// The nodes and the client that talks to them.
pub struct Service {
    http: reqwest::Client,
    nodes: Vec<Node>,
    next: AtomicUsize,
    authorization: Option<HeaderValue>,
    bulk_path: String,
}

impl Service {
    /// Builds the client: TLS files are read here, so a missing file fails the
    /// start.
    pub fn new(config: &ElasticsearchConfig) -> Result<Service, BulkError> {
        let mut nodes = Vec::new();
        let mut url_credentials = None;
        for text in &config.urls {
            let mut url =
                Url::parse(text).map_err(|e| BulkError::Config(format!("{text}: {e}")))?;
            if !url.username().is_empty() {
                let user = percent_decode(url.username());
                let password = percent_decode(url.password().unwrap_or(""));
                url_credentials = Some((user, password));
                let _ = url.set_username("");
                let _ = url.set_password(None);
            }
            if !url.path().ends_with('/') {
                let path = format!("{}/", url.path());
                url.set_path(&path);
            }
            let label = url.as_str().trim_end_matches('/').to_string();
            nodes.push(Node {
                base: url,
                label,
                is_up: AtomicBool::new(true),
            });
        }

        let authorization = authorization(config, url_credentials)?;
        let http = client(config)?;
        Ok(Service {
            http,
            nodes,
            next: AtomicUsize::new(0),
            authorization,
            bulk_path: format!("_bulk?filter_path={BULK_FILTER_PATH}"),
        })
    }

    /// The nodes' URLs, for the start line.
    pub fn node_labels(&self) -> Vec<&str> {
        self.nodes.iter().map(|n| n.label.as_str()).collect()
    }

    /// The next node: round-robin over those up, or over all when none is.
    fn pick(&self) -> &Node {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let count = self.nodes.len();
        (0..count)
            .map(|i| &self.nodes[(start + i) % count])
            .find(|n| n.is_up.load(Ordering::Relaxed))
            .unwrap_or(&self.nodes[start % count])
    }

    fn mark(&self, node: &Node, is_up: bool, detail: &str) {
        if node.is_up.swap(is_up, Ordering::Relaxed) != is_up {
            NodeStateChanged {
                node: &node.label,
                is_up,
                detail,
            }
            .emit();
        }
    }

    /// Sends one bulk body (gzipped when `is_gzip`) to the next node.
    pub async fn bulk(&self, payload: Bytes, is_gzip: bool) -> Result<Answer, SendError> {
        let encoding = is_gzip.then_some("gzip");
        self.send(
            Method::POST,
            &self.bulk_path,
            Some((payload, "application/x-ndjson", encoding)),
        )
        .await
    }

    /// Sends a JSON body (or none) to the next node.
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, SendError> {
        let body = body.map(|b| {
            let bytes = Bytes::from(serde_json::to_vec(b).expect("a Value always serializes"));
            (bytes, "application/json", None)
        });
        self.send(method, path, body).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(Bytes, &'static str, Option<&'static str>)>,
    ) -> Result<Answer, SendError> {
        let node = self.pick();
        let url = node.base.join(path).expect("paths are relative and valid");
        let mut request = self.http.request(method, url);
        if let Some(value) = &self.authorization {
            request = request.header(AUTHORIZATION, value.clone());
        }
        if let Some((bytes, content_type, encoding)) = body {
            request = request.header(CONTENT_TYPE, content_type).body(bytes);
            if let Some(encoding) = encoding {
                request = request.header(CONTENT_ENCODING, encoding);
            }
        }

        let fail = |source: reqwest::Error| {
            let kind = if source.is_timeout() {
                "timeout"
            } else {
                "connection"
            };
            SendError {
                node: node.label.clone(),
                kind,
                source,
            }
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                let error = fail(e);
                self.mark(node, false, &crate::telemetry::error_chain(&error));
                return Err(error);
            }
        };
        let status = response.status().as_u16();
        match response.bytes().await {
            Ok(body) => {
                self.mark(node, true, "");
                Ok(Answer { status, body })
            }
            Err(e) => {
                let error = fail(e);
                self.mark(node, false, &crate::telemetry::error_chain(&error));
                Err(error)
            }
        }
    }

    /// Runs forever: every `interval`, asks each down node `GET /` and marks it
    /// up once it answers with anything but a 5xx.
    pub async fn check_health(&self, interval: Duration) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            for node in self
                .nodes
                .iter()
                .filter(|n| !n.is_up.load(Ordering::Relaxed))
            {
                let mut request = self
                    .http
                    .get(node.base.clone())
                    .timeout(HEALTH_CHECK_TIMEOUT);
                if let Some(value) = &self.authorization {
                    request = request.header(AUTHORIZATION, value.clone());
                }
                match request.send().await {
                    Ok(response) if !response.status().is_server_error() => {
                        self.mark(node, true, "")
                    }
                    Ok(response) => tracing::debug!(
                        node = node.label,
                        status = response.status().as_u16(),
                        "Health check failed."
                    ),
                    Err(e) => tracing::debug!(
                        node = node.label,
                        error = %crate::telemetry::error_chain(&e),
                        "Health check failed."
                    ),
                }
            }
        }
    }
}

/// The reqwest client with the section's timeouts and TLS settings.
fn client(config: &ElasticsearchConfig) -> Result<reqwest::Client, BulkError> {
    let timeout = Duration::from_secs(config.request_timeout_secs);
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        // Environment proxies are ignored: a proxy that buffers or rewrites bulk
        // bodies breaks back-pressure, and nodes are named directly.
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .pool_max_idle_per_host(config.max_in_flight_requests)
        .tcp_nodelay(true)
        .user_agent(concat!("nat-ingest/", env!("CARGO_PKG_VERSION")));

    let tls = &config.tls;
    if let Some(path) = &tls.ca_file {
        let pem = std::fs::read(path).map_err(|e| BulkError::File(path.clone(), e))?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| BulkError::Tls(format!("{}: {e}", path.display())))?;
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    if let (Some(cert), Some(key)) = (&tls.client_cert_file, &tls.client_key_file) {
        let mut pem = std::fs::read(cert).map_err(|e| BulkError::File(cert.clone(), e))?;
        pem.push(b'\n');
        pem.extend(std::fs::read(key).map_err(|e| BulkError::File(key.clone(), e))?);
        let identity = reqwest::Identity::from_pem(&pem)
            .map_err(|e| BulkError::Tls(format!("client certificate: {e}")))?;
        builder = builder.identity(identity);
    }
    if tls.insecure_skip_verify {
        tracing::warn!(
            "elasticsearch.tls.insecure_skip_verify is on: server certificates are not checked."
        );
        builder = builder.danger_accept_invalid_certs(true);
    }
    builder
        .build()
        .map_err(|e| BulkError::Tls(crate::telemetry::error_chain(&e)))
}

/// The `Authorization` header, if any: basic, API key or bearer token.
fn authorization(
    config: &ElasticsearchConfig,
    from_url: Option<(String, String)>,
) -> Result<Option<HeaderValue>, BulkError> {
    let text = if let Some(user) = &config.username {
        let password = config.password.as_deref().unwrap_or("");
        format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
    } else if let Some(key) = &config.api_key {
        if key.contains(':') {
            format!("ApiKey {}", base64(key.as_bytes()))
        } else {
            format!("ApiKey {key}")
        }
    } else if let Some(token) = &config.bearer_token {
        format!("Bearer {token}")
    } else if let Some((user, password)) = from_url {
        format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
    } else {
        return Ok(None);
    };
    let mut value = HeaderValue::from_str(&text).map_err(|_| {
        BulkError::Config("credentials contain characters not allowed in a header".into())
    })?;
    value.set_sensitive(true);
    Ok(Some(value))
}

/// Standard base64 with padding, for the `Authorization` header.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 0x3f) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `%XX` escapes of a URL's user and password.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, expected) in vectors {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    fn header(config: &ElasticsearchConfig, from_url: Option<(&str, &str)>) -> Option<String> {
        let from_url = from_url.map(|(u, p)| (u.to_string(), p.to_string()));
        authorization(config, from_url)
            .unwrap()
            .map(|v| v.to_str().unwrap().to_string())
    }

    #[test]
    fn builds_each_kind_of_credentials() {
        let base = ElasticsearchConfig::default();
        assert_eq!(header(&base, None), None);
        let basic = ElasticsearchConfig {
            username: Some("elastic".into()),
            password: Some("changeme".into()),
            ..base.clone()
        };
        assert_eq!(
            header(&basic, None).unwrap(),
            "Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="
        );
        let key = ElasticsearchConfig {
            api_key: Some("id:key".into()),
            ..base.clone()
        };
        assert_eq!(header(&key, None).unwrap(), "ApiKey aWQ6a2V5");
        let encoded = ElasticsearchConfig {
            api_key: Some("aWQ6a2V5".into()),
            ..base.clone()
        };
        assert_eq!(header(&encoded, None).unwrap(), "ApiKey aWQ6a2V5");
        let bearer = ElasticsearchConfig {
            bearer_token: Some("t0k3n".into()),
            ..base.clone()
        };
        assert_eq!(header(&bearer, None).unwrap(), "Bearer t0k3n");
        assert_eq!(
            header(&base, Some(("elastic", "changeme"))).unwrap(),
            "Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="
        );
    }

    #[test]
    fn url_credentials_move_to_the_header_and_out_of_labels() {
        let config = ElasticsearchConfig {
            urls: vec!["http://elastic:p%40ss@127.0.0.1:9200/prefix".into()],
            ..ElasticsearchConfig::default()
        };
        let service = Service::new(&config).unwrap();
        assert_eq!(service.node_labels(), vec!["http://127.0.0.1:9200/prefix"]);
        let expected = format!("Basic {}", base64(b"elastic:p@ss"));
        assert_eq!(
            service.authorization.as_ref().unwrap().to_str().unwrap(),
            expected
        );
        let joined = service.nodes[0].base.join("_bulk").unwrap();
        assert_eq!(joined.as_str(), "http://127.0.0.1:9200/prefix/_bulk");
    }

    #[test]
    fn picks_nodes_that_are_up_round_robin() {
        let config = ElasticsearchConfig {
            urls: vec![
                "http://a:9200".into(),
                "http://b:9200".into(),
                "http://c:9200".into(),
            ],
            ..ElasticsearchConfig::default()
        };
        let service = Service::new(&config).unwrap();
        service.nodes[1].is_up.store(false, Ordering::Relaxed);
        let picked: Vec<&str> = (0..4).map(|_| service.pick().label.as_str()).collect();
        assert!(!picked.contains(&"http://b:9200"), "{picked:?}");
        for node in &service.nodes {
            node.is_up.store(false, Ordering::Relaxed);
        }
        let picked: std::collections::HashSet<&str> =
            (0..3).map(|_| service.pick().label.as_str()).collect();
        assert_eq!(picked.len(), 3);
    }
}
