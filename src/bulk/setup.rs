//! What happens before the first document: find out which server this is, and
//! install the index template and the retention policy.
//!
//! `GET /` tells Elasticsearch from OpenSearch (`version.distribution`) and gives
//! the version. The template comes from the document schema itself
//! (`crate::document::FIELDS`), so a field added there is mapped here with no
//! second list to keep in step. Elasticsearch 7.8+ and OpenSearch get a
//! composable template (`_index_template`), Elasticsearch 7.0–7.7 a legacy one.
//!
//! Retention is an ILM policy on Elasticsearch and an ISM policy on OpenSearch,
//! each deleting an index `retention_days` after it was created (after rollover
//! for data streams). A server without the plugin (OpenSearch without
//! index-management, Elasticsearch without x-pack) answers "no handler found":
//! the writer then warns and goes on without retention, since indexing matters
//! more, and the template leaves out the lifecycle setting such a server would
//! refuse. An existing ISM policy is kept as it is (it may have been edited).

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::service::{SendError, Service};
use crate::config::elasticsearch::ElasticsearchConfig;
use crate::document::{FieldType, FIELDS};

/// Longest keyword indexed; longer values stay in `_source` only.
const KEYWORD_IGNORE_ABOVE: u32 = 1024;

/// Which server answered `GET /`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    Elasticsearch,
    OpenSearch,
}

/// The server's kind and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    pub kind: ServerKind,
    pub major: u32,
    pub minor: u32,
    pub version: String,
}

impl ServerInfo {
    fn has_composable_templates(&self) -> bool {
        match self.kind {
            ServerKind::OpenSearch => true,
            ServerKind::Elasticsearch => (self.major, self.minor) >= (7, 8),
        }
    }
}

impl std::fmt::Display for ServerInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.kind {
            ServerKind::Elasticsearch => "Elasticsearch",
            ServerKind::OpenSearch => "OpenSearch",
        };
        write!(f, "{name} {}", self.version)
    }
}

/// Why setting up failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot reach the server")]
    Connection(#[from] SendError),
    #[error("the server refused the credentials ({status}) for {what}: {body}")]
    Unauthorized {
        what: &'static str,
        status: u16,
        body: String,
    },
    #[error("the server refused {what} ({status}): {body}")]
    Refused {
        what: &'static str,
        status: u16,
        body: String,
    },
    #[error("GET / did not describe an Elasticsearch or OpenSearch server: {0}")]
    NotAServer(String),
    #[error("{0} is not supported: use Elasticsearch 7 or later, or OpenSearch")]
    Unsupported(ServerInfo),
}

impl SetupError {
    /// Worth trying again soon (the server is not up yet).
    pub fn is_connection(&self) -> bool {
        matches!(self, SetupError::Connection(_))
            || matches!(self, SetupError::Refused { status, .. } if *status >= 500 || *status == 429)
    }
}

/// Reads `GET /`.
pub fn parse_root(body: &[u8]) -> Result<ServerInfo, SetupError> {
    let text = || String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    let root: Value = serde_json::from_slice(body).map_err(|_| SetupError::NotAServer(text()))?;
    let version = root["version"]["number"]
        .as_str()
        .ok_or_else(|| SetupError::NotAServer(text()))?;
    let kind = match root["version"]["distribution"].as_str() {
        Some("opensearch") => ServerKind::OpenSearch,
        _ => ServerKind::Elasticsearch,
    };
    let mut numbers = version.split(['.', '-']).map(|n| n.parse::<u32>().ok());
    let major = numbers
        .next()
        .flatten()
        .ok_or_else(|| SetupError::NotAServer(text()))?;
    let minor = numbers.next().flatten().unwrap_or(0);
    Ok(ServerInfo {
        kind,
        major,
        minor,
        version: version.to_string(),
    })
}

/// The `mappings` of the template: every schema field with its type, and any
/// other string (a grammar's extra `huawei.*` key, structured data) as keyword.
pub fn mappings() -> Value {
    let mut properties = Map::new();
    for def in FIELDS {
        let leaf = match (def.path, def.kind) {
            ("event.original", _) => {
                json!({"type": "keyword", "index": false, "doc_values": false})
            }
            (_, FieldType::Date) => json!({"type": "date"}),
            (_, FieldType::Ip) => json!({"type": "ip"}),
            (_, FieldType::Long) => json!({"type": "long"}),
            (_, FieldType::Keyword | FieldType::KeywordList) => {
                json!({"type": "keyword", "ignore_above": KEYWORD_IGNORE_ABOVE})
            }
            (_, FieldType::Text) => json!({"type": "text"}),
            (_, FieldType::Object) => json!({"type": "object"}),
        };
        insert_path(&mut properties, def.path, leaf);
    }
    json!({
        "dynamic_templates": [{
            "strings_as_keywords": {
                "match_mapping_type": "string",
                "mapping": {"type": "keyword", "ignore_above": KEYWORD_IGNORE_ABOVE}
            }
        }],
        "properties": properties,
    })
}

/// Puts `leaf` at a dotted path, making the objects on the way.
fn insert_path(properties: &mut Map<String, Value>, path: &str, leaf: Value) {
    match path.split_once('.') {
        None => {
            properties.insert(path.to_string(), leaf);
        }
        Some((head, rest)) => {
            let object = properties
                .entry(head.to_string())
                .or_insert_with(|| json!({"properties": {}}));
            let inner = object["properties"]
                .as_object_mut()
                .expect("objects on a path are created with properties");
            insert_path(inner, rest, leaf);
        }
    }
}

/// The template body for this server.
pub fn template(
    info: &ServerInfo,
    config: &ElasticsearchConfig,
    patterns: &[String],
    lifecycle: Option<&str>,
) -> Value {
    let mut settings = json!({
        "number_of_shards": config.shards,
        "number_of_replicas": config.replicas,
    });
    if !config.index_codec.is_empty() {
        settings["codec"] = json!(config.index_codec);
    }
    if let Some(policy) = lifecycle {
        settings["index.lifecycle.name"] = json!(policy);
    }
    if !info.has_composable_templates() {
        return json!({
            "index_patterns": patterns,
            "order": config.template_priority,
            "settings": settings,
            "mappings": mappings(),
        });
    }
    let mut body = json!({
        "index_patterns": patterns,
        "priority": config.template_priority,
        "template": {"settings": settings, "mappings": mappings()},
    });
    if config.data_stream {
        body["data_stream"] = json!({});
    }
    body
}

/// The ILM policy (Elasticsearch).
pub fn ilm_policy(info: &ServerInfo, config: &ElasticsearchConfig) -> Value {
    let mut hot = json!({"min_age": "0ms", "actions": {}});
    if config.data_stream {
        let size_key = if (info.major, info.minor) >= (7, 13) {
            "max_primary_shard_size"
        } else {
            "max_size"
        };
        hot["actions"] = json!({"rollover": {"max_age": "1d", size_key: "50gb"}});
    }
    json!({"policy": {"phases": {
        "hot": hot,
        "delete": {"min_age": format!("{}d", config.retention_days), "actions": {"delete": {}}},
    }}})
}

/// The ISM policy (OpenSearch); it attaches itself to new indices through
/// `ism_template`.
pub fn ism_policy(config: &ElasticsearchConfig, patterns: &[String]) -> Value {
    let hot_actions = if config.data_stream {
        json!([{"rollover": {"min_index_age": "1d"}}])
    } else {
        json!([])
    };
    json!({"policy": {
        "description": "nat-ingest: delete indices after the retention period",
        "default_state": "hot",
        "states": [
            {
                "name": "hot",
                "actions": hot_actions,
                "transitions": [{
                    "state_name": "delete",
                    "conditions": {"min_index_age": format!("{}d", config.retention_days)}
                }]
            },
            {"name": "delete", "actions": [{"delete": {}}], "transitions": []}
        ],
        "ism_template": [{"index_patterns": patterns, "priority": config.template_priority}]
    }})
}

/// Asks `GET /`, then (when configured) installs the policy and the template.
pub async fn run(
    service: &Service,
    config: &ElasticsearchConfig,
    patterns: &[String],
) -> Result<ServerInfo, SetupError> {
    let root = service.json(Method::GET, "", None).await?;
    check("GET /", root.status, &root.body)?;
    let info = parse_root(&root.body)?;
    if info.kind == ServerKind::Elasticsearch && info.major < 7 {
        return Err(SetupError::Unsupported(info));
    }
    if !config.install_template {
        tracing::info!(server = %info, "Connected; leaving templates alone.");
        return Ok(info);
    }

    let has_policy =
        config.retention_days > 0 && install_policy(service, &info, config, patterns).await?;
    // ISM attaches itself through ism_template; only ILM needs the index setting.
    let lifecycle = (has_policy && info.kind == ServerKind::Elasticsearch)
        .then_some(config.policy_name.as_str());

    let path = if info.has_composable_templates() {
        format!("_index_template/{}", config.template_name)
    } else {
        format!("_template/{}", config.template_name)
    };
    let body = template(&info, config, patterns, lifecycle);
    let answer = service.json(Method::PUT, &path, Some(&body)).await?;
    check("the index template", answer.status, &answer.body)?;
    tracing::info!(
        server = %info,
        template = config.template_name,
        patterns = %patterns.join(","),
        retention_policy = if has_policy { config.policy_name.as_str() } else { "none" },
        "Connected; installed the index template."
    );
    Ok(info)
}

/// Installs the retention policy; false when the server has no policy plugin.
async fn install_policy(
    service: &Service,
    info: &ServerInfo,
    config: &ElasticsearchConfig,
    patterns: &[String],
) -> Result<bool, SetupError> {
    let name = &config.policy_name;
    let answer = match info.kind {
        ServerKind::Elasticsearch => {
            let body = ilm_policy(info, config);
            let path = format!("_ilm/policy/{name}");
            service.json(Method::PUT, &path, Some(&body)).await?
        }
        ServerKind::OpenSearch => {
            let body = ism_policy(config, patterns);
            let path = format!("_plugins/_ism/policies/{name}");
            service.json(Method::PUT, &path, Some(&body)).await?
        }
    };
    if answer.status == 409 && info.kind == ServerKind::OpenSearch {
        tracing::debug!(policy = name, "ISM policy exists; kept as it is.");
        return Ok(true);
    }
    if String::from_utf8_lossy(&answer.body).contains("no handler found") {
        tracing::warn!(
            server = %info,
            policy = name,
            "The server has no ILM/ISM; indices will not be deleted after retention_days."
        );
        return Ok(false);
    }
    check("the retention policy", answer.status, &answer.body)?;
    Ok(true)
}

fn check(what: &'static str, status: u16, body: &[u8]) -> Result<(), SetupError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let body = String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned();
    if status == 401 || status == 403 {
        Err(SetupError::Unauthorized { what, status, body })
    } else {
        Err(SetupError::Refused { what, status, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_servers_apart() {
        let opensearch = br#"{"version":{"distribution":"opensearch","number":"2.19.1"}}"#;
        let info = parse_root(opensearch).unwrap();
        assert_eq!(
            (info.kind, info.major, info.minor),
            (ServerKind::OpenSearch, 2, 19)
        );
        let elastic = br#"{"version":{"number":"8.15.0","build_flavor":"default"},"tagline":"You Know, for Search"}"#;
        let info = parse_root(elastic).unwrap();
        assert_eq!((info.kind, info.major), (ServerKind::Elasticsearch, 8));
        assert_eq!(info.to_string(), "Elasticsearch 8.15.0");
        let snapshot = br#"{"version":{"number":"9.1.0-SNAPSHOT"}}"#;
        assert_eq!(parse_root(snapshot).unwrap().minor, 1);
        assert!(parse_root(b"<html>").is_err());
        assert!(parse_root(b"{}").is_err());
    }

    #[test]
    fn maps_schema_types() {
        let mappings = mappings();
        let p = &mappings["properties"];
        assert_eq!(p["source"]["properties"]["ip"]["type"], "ip");
        assert_eq!(
            p["source"]["properties"]["nat"]["properties"]["port"]["type"],
            "long"
        );
        assert_eq!(p["@timestamp"]["type"], "date");
        assert_eq!(p["network"]["properties"]["bytes"]["type"], "long");
        assert_eq!(p["event"]["properties"]["original"]["index"], false);
        assert_eq!(p["message"]["type"], "text");
        assert_eq!(p["tags"]["type"], "keyword");
        assert_eq!(
            p["log"]["properties"]["syslog"]["properties"]["facility"]["properties"]["name"]
                ["type"],
            "keyword"
        );
    }

    #[test]
    fn template_shape_follows_the_server() {
        let config = ElasticsearchConfig {
            data_stream: true,
            ..ElasticsearchConfig::default()
        };
        let patterns = vec!["logs-huawei.session-default".to_string()];
        let modern = ServerInfo {
            kind: ServerKind::Elasticsearch,
            major: 8,
            minor: 15,
            version: "8.15.0".into(),
        };
        let body = template(&modern, &config, &patterns, Some("p"));
        assert_eq!(body["priority"], 200);
        assert_eq!(body["data_stream"], json!({}));
        assert_eq!(body["template"]["settings"]["index.lifecycle.name"], "p");
        assert_eq!(body["template"]["settings"]["number_of_replicas"], 0);
        let old = ServerInfo {
            minor: 5,
            major: 7,
            ..modern.clone()
        };
        let body = template(&old, &config, &patterns, None);
        assert_eq!(body["order"], 200);
        assert!(body["settings"].get("index.lifecycle.name").is_none());
    }

    #[test]
    fn retention_policies_delete_after_the_configured_days() {
        let config = ElasticsearchConfig::default();
        let info = ServerInfo {
            kind: ServerKind::Elasticsearch,
            major: 9,
            minor: 0,
            version: "9.0.0".into(),
        };
        let ilm = ilm_policy(&info, &config);
        assert_eq!(ilm["policy"]["phases"]["delete"]["min_age"], "180d");
        assert_eq!(ilm["policy"]["phases"]["hot"]["actions"], json!({}));
        let ism = ism_policy(&config, &["nat-*".to_string()]);
        assert_eq!(
            ism["policy"]["states"][0]["transitions"][0]["conditions"]["min_index_age"],
            "180d"
        );
        assert_eq!(
            ism["policy"]["ism_template"][0]["index_patterns"][0],
            "nat-*"
        );
    }
}
