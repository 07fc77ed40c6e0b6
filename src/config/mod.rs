//! The config file: one TOML document, one serde struct per section.
//!
//! Every section is optional and every field has a default, so an empty file (or
//! none at all) runs UDP and TCP listeners on `0.0.0.0:5514`, archives into
//! `./nat-ingest-data` and serves metrics on `127.0.0.1:9898`. Unknown keys are
//! refused everywhere, with the line and column of the offending key, because a
//! typo that silently falls back to a default is worse than a failed start.
//!
//! `deploy/nat-ingest.toml` shows every key with its default.

pub mod archive;
pub mod elasticsearch;
pub mod kafka;
pub mod listener;
pub mod metrics;
pub mod parser;
pub mod pipeline;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use self::archive::ArchiveConfig;
use self::elasticsearch::ElasticsearchConfig;
use self::kafka::KafkaConfig;
use self::listener::{ListenerConfig, ListenerConfigError, ListenerKind};
use self::metrics::MetricsConfig;
use self::parser::ParserConfig;
use self::pipeline::PipelineConfig;

/// The port the built-in listeners use: unprivileged, so a default run needs no
/// capability; routers usually send to 514, which the example config uses.
pub const DEFAULT_LISTEN_PORT: u16 = 5514;

/// The root of the config file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[[listener]]` entries, one per socket to receive on.
    ///
    /// Default: UDP and TCP on `0.0.0.0:5514`. Listing any replaces both.
    #[serde(default = "default_listeners")]
    pub listener: Vec<ListenerConfig>,

    /// `[archive]`: the compressed NDJSON sink.
    #[serde(default)]
    pub archive: ArchiveConfig,

    /// `[pipeline]`: queues and parser threads.
    #[serde(default)]
    pub pipeline: PipelineConfig,

    /// `[parser]`: time zone, reference time, grammars.
    #[serde(default)]
    pub parser: ParserConfig,

    /// `[metrics]`: the Prometheus endpoint.
    #[serde(default)]
    pub metrics: MetricsConfig,

    /// `[elasticsearch]`: when present, documents go to Elasticsearch or
    /// OpenSearch instead of the archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elasticsearch: Option<ElasticsearchConfig>,

    /// `[kafka]`: when present, `run` produces documents to the topic instead
    /// of writing the archive or Elasticsearch, and `index` consumes them from
    /// it into the archive or Elasticsearch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<KafkaConfig>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listener: default_listeners(),
            archive: ArchiveConfig::default(),
            pipeline: PipelineConfig::default(),
            parser: ParserConfig::default(),
            metrics: MetricsConfig::default(),
            elasticsearch: None,
            kafka: None,
        }
    }
}

fn default_listeners() -> Vec<ListenerConfig> {
    let any = SocketAddr::from(([0, 0, 0, 0], DEFAULT_LISTEN_PORT));
    vec![
        ListenerConfig::new(ListenerKind::Udp, any),
        ListenerConfig::new(ListenerKind::Tcp, any),
    ]
}

/// Why a config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// toml's message carries the line, the column and the offending text.
    #[error("invalid config {path}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid listener")]
    Listener(#[from] ListenerConfigError),
    #[error("{0}")]
    Invalid(String),
    #[error("no listener configured")]
    NoListener,
}

impl Config {
    /// Reads and parses a file; does not validate.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.to_path_buf(),
            source: e,
        })?;
        Config::from_toml(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Parses TOML text; does not validate.
    pub fn from_toml(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }

    /// Checks what serde cannot: limits, names and combinations.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.listener.is_empty() {
            return Err(ConfigError::NoListener);
        }
        for listener in &self.listener {
            listener.validate()?;
        }
        self.archive.validate().map_err(ConfigError::Invalid)?;
        self.pipeline.validate().map_err(ConfigError::Invalid)?;
        self.parser.validate().map_err(ConfigError::Invalid)?;
        if let Some(elasticsearch) = &self.elasticsearch {
            elasticsearch.validate().map_err(ConfigError::Invalid)?;
        }
        if let Some(kafka) = &self.kafka {
            kafka.validate().map_err(ConfigError::Invalid)?;
        }
        Ok(())
    }

    /// The effective settings as TOML, every default spelled out.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot render the config: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_defaults() {
        let config = Config::from_toml("").unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.listener.len(), 2);
        assert_eq!(config.archive.dir, PathBuf::from("./nat-ingest-data"));
        assert_eq!(config.metrics.address, "127.0.0.1:9898".parse().unwrap());
        config.validate().unwrap();
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let text = "[archive]\ndir = \"/tmp/a\"\nflush_ms = 5\n";
        let error = Config::from_toml(text).unwrap_err().to_string();
        assert!(error.contains("line 3"), "{error}");
        assert!(error.contains("flush_ms"), "{error}");

        let error = Config::from_toml("[metrix]\n").unwrap_err().to_string();
        assert!(
            error.contains("line 1") && error.contains("metrix"),
            "{error}"
        );
    }

    #[test]
    fn renders_back_to_the_same_config() {
        let text = r#"
            [[listener]]
            kind = "udp"
            address = "0.0.0.0:514"

            [archive]
            dir = "/var/lib/nat-ingest"
            zstd_level = 5

            [parser]
            timezone = "Asia/Shanghai"
            keep_original = false
        "#;
        let config = Config::from_toml(text).unwrap();
        config.validate().unwrap();
        assert_eq!(Config::from_toml(&config.to_toml()).unwrap(), config);
    }

    #[test]
    fn refuses_bad_values() {
        let bad_zone = Config::from_toml("[parser]\ntimezone = \"Mars/Olympus\"\n").unwrap();
        assert!(bad_zone
            .validate()
            .unwrap_err()
            .to_string()
            .contains("parser.timezone"));
        let bad_level = Config::from_toml("[archive]\nzstd_level = 40\n").unwrap();
        assert!(bad_level.validate().is_err());
        let none = Config::from_toml("listener = []\n").unwrap();
        assert!(matches!(none.validate(), Err(ConfigError::NoListener)));
    }
}
