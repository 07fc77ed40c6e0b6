//! `nat-ingest run` and `check-config`.
//!
//! Both resolve their raw arguments into one `Settings` first: the config file (or
//! the built-in defaults without one), then each flag given on the command line
//! replacing its key. Nothing starts until the result has validated, so a bad flag
//! fails the same way as a bad file, before a socket is bound.
//!
//! `run` then builds the tokio runtime for the listeners and the metrics
//! endpoint, starts the pipeline's parser and sink threads, and waits for a
//! signal: SIGTERM or SIGINT stops the listeners, drains both queues, closes the
//! archive files and exits 0; SIGHUP makes the sink finish its files and start
//! new ones. A second SIGTERM or SIGINT during the drain exits at once, with 130.
//! With `[kafka]` the sink is the Kafka producer, and "closes the files" means
//! "waits until the broker acknowledged every document".

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

use super::sink::RunSink;
use crate::config::listener::{ListenerConfig, ListenerKind};
use crate::config::Config;
use crate::document::{Encoder, EncoderSettings};
use crate::listener::{spawn_listener, ListenerHandle};
use crate::pipeline::Pipeline;
use crate::telemetry::{self, pipeline as events};

/// How often the queue-depth gauges are sampled.
const QUEUE_SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// Exit status after a second stop signal cut the drain short (128 + SIGINT).
const FORCED_EXIT_STATUS: i32 = 130;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// TOML config file (see deploy/nat-ingest.toml); without it, built-in defaults:
    /// UDP and TCP on 0.0.0.0:5514, archive in ./nat-ingest-data, metrics on
    /// 127.0.0.1:9898.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub overrides: Overrides,
}

#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// The TOML config file to check.
    pub file: PathBuf,

    #[command(flatten)]
    pub overrides: Overrides,
}

/// Flags that replace keys of the config file.
#[derive(Debug, Clone, Default, Args)]
pub struct Overrides {
    /// Receive on udp://ADDR:PORT, tcp://ADDR:PORT or tls://ADDR:PORT (IPv6 as
    /// [::]:514). Repeatable; replaces the file's listeners. tls:// takes its
    /// certificate from the first TLS listener in the config file.
    #[arg(long, value_name = "URL", value_parser = parse_listen)]
    pub listen: Vec<(ListenerKind, SocketAddr)>,

    /// Archive directory (archive.dir).
    #[arg(long, value_name = "DIR")]
    pub archive: Option<PathBuf>,

    /// IANA time zone for device-local times, e.g. Asia/Shanghai (parser.timezone).
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,

    /// Address of the Prometheus endpoint (metrics.address); port 0 picks one.
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<SocketAddr>,

    /// Stand-in for "now" when a header has no year (parser.reference_time).
    #[arg(long, value_name = "RFC3339")]
    pub reference_time: Option<String>,

    /// Send documents to Elasticsearch or OpenSearch at URL instead of the
    /// archive (elasticsearch.urls). Repeatable, one per node; the rest of the
    /// [elasticsearch] section keeps its values or defaults.
    #[arg(long, value_name = "URL")]
    pub elasticsearch: Vec<String>,

    /// Kafka bootstrap brokers, HOST:PORT[,HOST:PORT...] (kafka.brokers). For
    /// `run`, documents then go to the topic instead of the archive or
    /// Elasticsearch; `index` reads them from it. The rest of the [kafka]
    /// section keeps its values or defaults.
    #[arg(long, value_name = "BROKERS")]
    pub kafka: Option<String>,

    /// Kafka topic (kafka.topic); default nat-ingest.
    #[arg(long, value_name = "TOPIC")]
    pub kafka_topic: Option<String>,
}

fn parse_listen(text: &str) -> Result<(ListenerKind, SocketAddr), String> {
    let (scheme, address) = text
        .split_once("://")
        .ok_or_else(|| format!("{text:?} is not SCHEME://ADDR:PORT"))?;
    let kind = match scheme {
        "udp" => ListenerKind::Udp,
        "tcp" => ListenerKind::Tcp,
        "tls" => ListenerKind::Tls,
        _ => {
            return Err(format!(
                "unknown scheme {scheme:?}: expected udp, tcp or tls"
            ))
        }
    };
    let address = address
        .trim_end_matches('/')
        .parse()
        .map_err(|e| format!("{address:?} is not ADDR:PORT: {e}"))?;
    Ok((kind, address))
}

/// Everything `run` needs, resolved from the file and the flags, and validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: Config,
}

impl Settings {
    /// Reads `file` (or takes the defaults), applies `overrides` and validates.
    pub fn resolve(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Settings> {
        let mut config = match file {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };

        if !overrides.listen.is_empty() {
            let file_tls = config.listener.iter().find_map(|l| l.tls.clone());
            let mut listeners = Vec::new();
            for &(kind, address) in &overrides.listen {
                let mut listener = ListenerConfig::new(kind, address);
                if kind == ListenerKind::Tls {
                    listener.tls = Some(file_tls.clone().with_context(|| {
                        format!("--listen tls://{address} needs a TLS listener with a tls table in the config file")
                    })?);
                }
                listeners.push(listener);
            }
            config.listener = listeners;
        }
        if let Some(dir) = &overrides.archive {
            config.archive.dir = dir.clone();
        }
        if let Some(zone) = &overrides.timezone {
            config.parser.timezone = Some(zone.clone());
        }
        if let Some(address) = overrides.metrics {
            config.metrics.address = address;
            config.metrics.enabled = true;
        }
        if let Some(time) = &overrides.reference_time {
            config.parser.reference_time = Some(time.clone());
        }
        if !overrides.elasticsearch.is_empty() {
            let section = config.elasticsearch.get_or_insert_with(Default::default);
            section.urls = overrides.elasticsearch.clone();
        }
        if let Some(brokers) = &overrides.kafka {
            let section = config.kafka.get_or_insert_with(Default::default);
            section.brokers = brokers
                .split(',')
                .map(|b| b.trim().to_owned())
                .filter(|b| !b.is_empty())
                .collect();
        }
        if let Some(topic) = &overrides.kafka_topic {
            let section = config.kafka.get_or_insert_with(Default::default);
            section.topic = topic.clone();
        }

        config.validate()?;
        Ok(Settings { config })
    }
}

/// Builds the encoder's settings from the `[parser]` section: zone, reference time,
/// grammar directory (a bad grammar file fails the start here, with file and line).
/// Document ids are computed only when the configured sink names documents.
pub fn encoder_settings(settings: &Settings) -> anyhow::Result<EncoderSettings> {
    let parser = &settings.config.parser;
    let mut encoder = EncoderSettings::from_options(
        parser.timezone.as_deref(),
        parser.reference_time.as_deref(),
        parser.grammars.as_deref(),
        parser.keep_original,
    )
    .context("cannot set up the parser")?;
    encoder.document_ids = RunSink::names_documents(&settings.config);
    Ok(encoder)
}

/// `nat-ingest run`.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(args.config.as_deref(), &args.overrides)?;
    let encoder = Arc::new(Encoder::new(encoder_settings(&settings)?));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("runtime")
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(serve(settings, encoder))
}

/// `nat-ingest check-config`: validates and prints the effective settings.
pub fn check_config(args: CheckConfigArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(Some(&args.file), &args.overrides)?;
    encoder_settings(&settings)?;
    println!(
        "# Effective settings of {}, defaults filled in.",
        args.file.display()
    );
    print!("{}", settings.config.to_toml());
    Ok(())
}

async fn serve(settings: Settings, encoder: Arc<Encoder>) -> anyhow::Result<()> {
    let config = &settings.config;

    // Signal handlers go first, so that a signal during start-up is not fatal.
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut hangup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;

    let metrics_address = serve_metrics(&config, telemetry::intake::describe).await?;

    // Opening may block (Elasticsearch waits a moment for its server).
    let sink_config = config.clone();
    let sink = tokio::task::spawn_blocking(move || RunSink::open(&sink_config))
        .await
        .context("the sink start panicked")??;
    let pipeline = Pipeline::start(&config.pipeline, encoder, sink)?;

    // Listeners last: from here on, messages flow.
    let shutdown = CancellationToken::new();
    let mut listeners: Vec<ListenerHandle> = Vec::new();
    for listener in &config.listener {
        let name = format!("{}:{}", listener.kind.as_str(), listener.address);
        match spawn_listener(listener, name, pipeline.frames(), shutdown.clone()).await {
            Ok(handle) => listeners.push(handle),
            Err(e) => {
                shutdown.cancel();
                for handle in listeners {
                    let _ = handle.join().await;
                }
                let _ = tokio::task::spawn_blocking(move || pipeline.finish()).await;
                return Err(e)
                    .with_context(|| format!("cannot start listener on {}", listener.address));
            }
        }
    }

    let listen: Vec<String> = config
        .listener
        .iter()
        .zip(&listeners)
        .map(|(l, h)| format!("{}://{}", l.kind.as_str(), h.local_addr()))
        .collect();
    tracing::info!(
        listen = %listen.join(","),
        sink = %RunSink::describe(config),
        metrics = %metrics_address.map_or("off".to_owned(), |a| a.to_string()),
        workers = config.pipeline.worker_count(),
        "Started."
    );

    // Running: until a stop signal.
    let mut sample = tokio::time::interval(QUEUE_SAMPLE_INTERVAL);
    let summary_every = Duration::from_secs(config.pipeline.summary_interval_secs.max(1));
    let mut summary =
        tokio::time::interval_at(tokio::time::Instant::now() + summary_every, summary_every);
    let mut last = Totals::now();
    let stop_signal = loop {
        tokio::select! {
            _ = terminate.recv() => break "SIGTERM",
            _ = interrupt.recv() => break "SIGINT",
            _ = hangup.recv() => {
                tracing::info!("Reloading: reopening sink files.");
                tokio::task::block_in_place(|| pipeline.reopen());
            }
            _ = sample.tick() => {
                pipeline.sample_queues();
            }
            _ = summary.tick(), if config.pipeline.summary_interval_secs > 0 => {
                let depths = pipeline.sample_queues();
                let now = Totals::now();
                tracing::info!(
                    interval_secs = config.pipeline.summary_interval_secs,
                    parsed = now.parsed - last.parsed,
                    failed = now.failed - last.failed,
                    written = now.written - last.written,
                    frame_queue_batches = depths.frames,
                    document_queue_batches = depths.documents,
                    "Summary."
                );
                last = now;
            }
        }
    };

    // Stopping: listeners first, so that the queues only shrink from here.
    tracing::info!(signal = stop_signal, "Stopping: draining queues.");
    shutdown.cancel();
    let drain = async {
        for handle in listeners {
            if handle.join().await.is_err() {
                tracing::error!(
                    "A listener task panicked while stopping; its unsent frames are lost."
                );
            }
        }
        tokio::task::spawn_blocking(move || pipeline.finish()).await
    };
    let finished = tokio::select! {
        finished = drain => finished,
        _ = terminate.recv() => force_exit("SIGTERM"),
        _ = interrupt.recv() => force_exit("SIGINT"),
    };
    finished.context("the pipeline thread panicked")??;

    let totals = Totals::now();
    tracing::info!(
        parsed = totals.parsed,
        failed = totals.failed,
        written = totals.written,
        "Stopped."
    );
    Ok(())
}

pub(super) fn force_exit(signal: &str) -> ! {
    tracing::error!(
        signal,
        "Second stop signal: exiting without draining; queued messages are lost."
    );
    std::process::exit(FORCED_EXIT_STATUS)
}

/// The process totals the summary line reports differences of.
struct Totals {
    parsed: u64,
    failed: u64,
    written: u64,
}

impl Totals {
    fn now() -> Totals {
        Totals {
            parsed: events::PARSED.load(Relaxed),
            failed: events::FAILED.load(Relaxed),
            written: events::WRITTEN.load(Relaxed),
        }
    }
}

/// Installs the metrics recorder and serves `/metrics` when `[metrics]` is on,
/// after `describe` has registered the descriptions its metrics need; returns
/// the bound address. Shared by `run` and `index`.
pub(super) async fn serve_metrics(
    config: &Config,
    describe: fn(),
) -> anyhow::Result<Option<SocketAddr>> {
    if !config.metrics.enabled {
        return Ok(None);
    }
    let handle = telemetry::install_recorder();
    describe();
    let (bound, _task) = telemetry::endpoint::serve(config.metrics.address, handle)
        .await
        .with_context(|| format!("cannot serve metrics on {}", config.metrics.address))?;
    Ok(Some(bound))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_listen_urls() {
        let udp = parse_listen("udp://0.0.0.0:514").unwrap();
        assert_eq!(udp, (ListenerKind::Udp, "0.0.0.0:514".parse().unwrap()));
        let tcp = parse_listen("tcp://[::]:601").unwrap();
        assert_eq!(tcp, (ListenerKind::Tcp, "[::]:601".parse().unwrap()));
        assert!(parse_listen("http://0.0.0.0:80").is_err());
        assert!(parse_listen("udp://localhost").is_err());
        assert!(parse_listen("0.0.0.0:514").is_err());
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("n.toml");
        std::fs::write(
            &file,
            "[archive]\ndir = \"/from/file\"\n[parser]\ntimezone = \"UTC\"\n",
        )
        .unwrap();
        let overrides = Overrides {
            listen: vec![(ListenerKind::Udp, "127.0.0.1:0".parse().unwrap())],
            archive: Some("/from/flag".into()),
            timezone: Some("Asia/Shanghai".into()),
            metrics: Some("127.0.0.1:0".parse().unwrap()),
            reference_time: Some("2025-07-23T00:00:00Z".into()),
            elasticsearch: vec!["http://127.0.0.1:9200".into()],
            kafka: Some("k1:9092, k2:9092".into()),
            kafka_topic: Some("nat".into()),
        };
        let settings = Settings::resolve(Some(&file), &overrides).unwrap();
        let config = settings.config;
        assert_eq!(config.listener.len(), 1);
        assert_eq!(config.archive.dir, PathBuf::from("/from/flag"));
        assert_eq!(config.parser.timezone.as_deref(), Some("Asia/Shanghai"));
        assert_eq!(config.metrics.address, "127.0.0.1:0".parse().unwrap());
        assert_eq!(
            config.parser.reference_time.as_deref(),
            Some("2025-07-23T00:00:00Z")
        );
        assert_eq!(
            config.elasticsearch.unwrap().urls,
            ["http://127.0.0.1:9200"]
        );
        let kafka = config.kafka.unwrap();
        assert_eq!(kafka.brokers, ["k1:9092", "k2:9092"]);
        assert_eq!(kafka.topic, "nat");
    }

    #[test]
    fn kafka_topic_without_brokers_is_refused() {
        let overrides = Overrides {
            kafka_topic: Some("nat".into()),
            ..Overrides::default()
        };
        let error = format!("{:#}", Settings::resolve(None, &overrides).unwrap_err());
        assert!(error.contains("kafka.brokers"), "{error}");
    }

    #[test]
    fn no_file_no_flags_is_the_defaults() {
        let settings = Settings::resolve(None, &Overrides::default()).unwrap();
        assert_eq!(settings.config, Config::default());
    }

    #[test]
    fn bad_flags_fail_before_anything_runs() {
        let overrides = Overrides {
            timezone: Some("Nowhere/Special".into()),
            ..Overrides::default()
        };
        assert!(Settings::resolve(None, &overrides).is_err());
        let overrides = Overrides {
            listen: vec![(ListenerKind::Tls, "127.0.0.1:6514".parse().unwrap())],
            ..Overrides::default()
        };
        let error = Settings::resolve(None, &overrides).unwrap_err().to_string();
        assert!(error.contains("tls"), "{error}");
    }
}
