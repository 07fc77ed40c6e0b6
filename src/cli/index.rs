//! `nat-ingest index`: the indexer side of Kafka. Consumes the `[kafka]` topic in
//! the consumer group and writes the documents to the archive or, with
//! `[elasticsearch]` / `--elasticsearch`, to Elasticsearch, committing offsets
//! only once the sink has made them durable (see `crate::kafka::index`).
//!
//! Raw flags resolve into the same `Settings` as `run`, from the same config
//! file format; the `[listener]`, `[pipeline]` and `[parser]` sections are
//! ignored, since nothing is parsed here. The consuming runs on a blocking
//! thread; the tokio runtime only serves the metrics endpoint and the signals:
//! SIGTERM or SIGINT stops consuming, commits what is durable, closes the files
//! and exits 0; SIGHUP makes the sink finish its files after a commit. A second
//! stop signal exits at once, with 130 (nothing uncommitted is lost: it is read
//! again).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use tokio::signal::unix::{signal, SignalKind};

use super::run::{force_exit, serve_metrics, Overrides, Settings};
use super::sink::RunSink;

#[derive(Debug, Args)]
pub struct IndexArgs {
    /// TOML config file (see deploy/nat-ingest.toml): [kafka], and [archive] or
    /// [elasticsearch] for where documents go.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Kafka bootstrap brokers, HOST:PORT[,HOST:PORT...] (kafka.brokers).
    #[arg(long, value_name = "BROKERS")]
    pub kafka: Option<String>,

    /// Topic to consume (kafka.topic); default nat-ingest.
    #[arg(long, value_name = "TOPIC")]
    pub kafka_topic: Option<String>,

    /// Consumer group (kafka.group); default nat-ingest-indexer.
    #[arg(long, value_name = "GROUP")]
    pub kafka_group: Option<String>,

    /// Archive directory (archive.dir), when no Elasticsearch is given.
    #[arg(long, value_name = "DIR")]
    pub archive: Option<PathBuf>,

    /// Write to Elasticsearch or OpenSearch at URL (elasticsearch.urls).
    /// Repeatable, one per node.
    #[arg(long, value_name = "URL")]
    pub elasticsearch: Vec<String>,

    /// Address of the Prometheus endpoint (metrics.address); port 0 picks one.
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<std::net::SocketAddr>,
}

/// `nat-ingest index`.
pub fn index(args: IndexArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        archive: args.archive.clone(),
        metrics: args.metrics,
        elasticsearch: args.elasticsearch.clone(),
        kafka: args.kafka.clone(),
        kafka_topic: args.kafka_topic.clone(),
        ..Overrides::default()
    };
    let mut settings = Settings::resolve(args.config.as_deref(), &overrides)?;
    let kafka = settings
        .config
        .kafka
        .as_mut()
        .context("index needs a [kafka] section or --kafka BROKERS")?;
    if let Some(group) = &args.kafka_group {
        kafka.group = group.clone();
    }
    settings.config.validate()?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .thread_name("runtime")
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(serve(settings))
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let config = settings.config;
    let kafka = config.kafka.clone().expect("checked by index");

    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut hangup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;

    let metrics_address = serve_metrics(&config, || {}).await?;

    let sink_config = config.clone();
    let sink = tokio::task::spawn_blocking(move || RunSink::open_storage(&sink_config))
        .await
        .context("the sink start panicked")??;

    let stop = Arc::new(AtomicBool::new(false));
    let reopen = Arc::new(AtomicBool::new(false));
    let mut indexer = {
        let (stop, reopen, kafka) = (stop.clone(), reopen.clone(), kafka.clone());
        tokio::task::spawn_blocking(move || crate::kafka::index(&kafka, sink, &stop, &reopen))
    };
    tracing::info!(
        brokers = %kafka.bootstrap_servers(),
        topic = %kafka.topic,
        group = %kafka.group,
        sink = %RunSink::describe_storage(&config),
        metrics = %metrics_address.map_or("off".to_owned(), |a| a.to_string()),
        "Started."
    );

    // Running: until a stop signal, or until the indexer fails by itself.
    let stop_signal = loop {
        tokio::select! {
            _ = terminate.recv() => break "SIGTERM",
            _ = interrupt.recv() => break "SIGINT",
            _ = hangup.recv() => {
                tracing::info!("Reloading: reopening sink files.");
                reopen.store(true, Ordering::Relaxed);
            }
            finished = &mut indexer => {
                let totals = finished.context("the indexer thread panicked")??;
                tracing::info!(consumed = totals.consumed, committed = totals.committed, "Stopped.");
                return Ok(());
            }
        }
    };

    tracing::info!(
        signal = stop_signal,
        "Stopping: committing what is consumed."
    );
    stop.store(true, Ordering::Relaxed);
    let finished = tokio::select! {
        finished = indexer => finished,
        _ = terminate.recv() => force_exit("SIGTERM"),
        _ = interrupt.recv() => force_exit("SIGINT"),
    };
    let totals = finished.context("the indexer thread panicked")??;
    tracing::info!(
        consumed = totals.consumed,
        committed = totals.committed,
        "Stopped."
    );
    Ok(())
}
