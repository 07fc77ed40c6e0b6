//! The sinks `run` and `index` feed: the archive, Elasticsearch when
//! `[elasticsearch]` (or `--elasticsearch`) is given, and for `run` a Kafka topic
//! when `[kafka]` (or `--kafka`) is given, which then wins over both. One enum
//! rather than a generic `serve`, so the rest of `run` stays one non-generic
//! function.

use std::time::{Duration, Instant};

use anyhow::Context;

use crate::archive::{ArchiveError, ArchiveWriter};
use crate::bulk::{BulkError, ElasticsearchSink};
use crate::config::Config;
use crate::kafka::{KafkaSink, KafkaSinkError};
use crate::pipeline::{DocumentBatch, Sink};

/// The configured sink.
pub enum RunSink {
    Archive(ArchiveWriter),
    Elasticsearch(ElasticsearchSink),
    Kafka(KafkaSink),
}

/// The error of whichever sink runs.
#[derive(Debug, thiserror::Error)]
pub enum RunSinkError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Elasticsearch(#[from] BulkError),
    #[error(transparent)]
    Kafka(#[from] KafkaSinkError),
}

impl RunSink {
    /// Opens the sink `run` writes to: Kafka if configured, else what
    /// [`RunSink::open_storage`] opens. Blocks (Elasticsearch and Kafka wait a
    /// few seconds for their server): call it where blocking is allowed.
    pub fn open(config: &Config) -> anyhow::Result<RunSink> {
        match &config.kafka {
            Some(kafka) => Ok(RunSink::Kafka(
                KafkaSink::start(kafka).context("cannot start the Kafka sink")?,
            )),
            None => RunSink::open_storage(config),
        }
    }

    /// Opens the sink that stores documents: Elasticsearch if configured, else
    /// the archive. `index` writes here, whatever `[kafka]` says.
    pub fn open_storage(config: &Config) -> anyhow::Result<RunSink> {
        match &config.elasticsearch {
            Some(elasticsearch) => Ok(RunSink::Elasticsearch(
                ElasticsearchSink::start(elasticsearch)
                    .context("cannot start the Elasticsearch sink")?,
            )),
            None => Ok(RunSink::Archive(ArchiveWriter::open(&config.archive)?)),
        }
    }

    /// Whether the sink [`RunSink::open`] picks names each document by its
    /// message's fingerprint (Elasticsearch `_id`, Kafka key); the archive does not.
    pub fn names_documents(config: &Config) -> bool {
        config.kafka.is_some() || config.elasticsearch.is_some()
    }

    /// Where `run` sends documents, for the start line.
    pub fn describe(config: &Config) -> String {
        match &config.kafka {
            Some(kafka) => format!("kafka:{}/{}", kafka.bootstrap_servers(), kafka.topic),
            None => RunSink::describe_storage(config),
        }
    }

    /// Where `index` stores documents, for the start line.
    pub fn describe_storage(config: &Config) -> String {
        match &config.elasticsearch {
            Some(elasticsearch) => format!("elasticsearch:{}", elasticsearch.urls.join(",")),
            None => format!("archive:{}", config.archive.dir.display()),
        }
    }
}

impl Sink for RunSink {
    type Error = RunSinkError;

    fn append(&mut self, batch: &DocumentBatch, now: Instant) {
        match self {
            RunSink::Archive(sink) => Sink::append(sink, batch, now),
            RunSink::Elasticsearch(sink) => sink.append(batch, now),
            RunSink::Kafka(sink) => sink.append(batch, now),
        }
    }

    fn write_ready(&mut self, now: Instant) -> Result<(), RunSinkError> {
        match self {
            RunSink::Archive(sink) => Ok(Sink::write_ready(sink, now)?),
            RunSink::Elasticsearch(sink) => Ok(sink.write_ready(now)?),
            RunSink::Kafka(sink) => Ok(sink.write_ready(now)?),
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        match self {
            RunSink::Archive(sink) => Sink::next_deadline(sink),
            RunSink::Elasticsearch(sink) => sink.next_deadline(),
            RunSink::Kafka(sink) => sink.next_deadline(),
        }
    }

    fn sync(&mut self, now: Instant) -> Result<(), RunSinkError> {
        match self {
            RunSink::Archive(sink) => Ok(Sink::sync(sink, now)?),
            RunSink::Elasticsearch(sink) => Ok(sink.sync(now)?),
            RunSink::Kafka(sink) => Ok(sink.sync(now)?),
        }
    }

    fn flush_and_reopen(&mut self, now: Instant) -> Result<(), RunSinkError> {
        match self {
            RunSink::Archive(sink) => Ok(sink.flush_and_reopen(now)?),
            RunSink::Elasticsearch(sink) => Ok(sink.flush_and_reopen(now)?),
            RunSink::Kafka(sink) => Ok(sink.flush_and_reopen(now)?),
        }
    }

    fn report(&self, error: &RunSinkError, retry_in: Duration) {
        match (self, error) {
            (RunSink::Archive(sink), RunSinkError::Archive(e)) => sink.report(e, retry_in),
            (RunSink::Elasticsearch(sink), RunSinkError::Elasticsearch(e)) => {
                sink.report(e, retry_in)
            }
            (RunSink::Kafka(sink), RunSinkError::Kafka(e)) => sink.report(e, retry_in),
            (_, e) => tracing::error!(error = %e, "Sink failed."),
        }
    }
}
