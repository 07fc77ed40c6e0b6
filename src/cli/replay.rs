//! `nat-ingest replay`: captured logs into the pipeline or into another collector.
//!
//! Raw flags resolve into one [`Settings`] first: the destination (the pipeline
//! with `run`'s own settings, resolved by `run::Settings::resolve` from the same
//! config file and sink flags, or a UDP, TCP or TLS address), the pacing, the
//! inputs. Nothing is opened before that has validated.
//!
//! Then one thread reads the inputs in order through [`crate::replay::Input`],
//! which tells each input's kind from its content, and hands each record to the
//! destination, waiting where `--rate` or `--speed` says so:
//!
//! - `pipeline`: frames go into the same `Pipeline` and sink `run` uses, in
//!   batches, with the record's receive time (capture time, archived
//!   `event.created`) and sender when it has them, so year-less times and
//!   document ids come out as they would have on the day;
//! - `udp://`, `tcp://` and `tls://`: the line as the device sent it; the
//!   receiver stamps its own time and sees replay as the sender, so capture
//!   times and original senders do not travel (syslog has no field for them).
//!
//! A summary goes to stderr at the end, a progress line while running when
//! stderr is a terminal. The exit status is non-zero when an input could not be
//! read, the destination refused, or Elasticsearch rejected or dropped documents.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::{Args, ValueEnum};
use tokio::sync::mpsc;
use tokio_rustls::rustls::pki_types::ServerName;

use super::run::{self, Overrides};
use super::sink::RunSink;
use crate::document::{Encoder, Received};
use crate::listener::{Frame, FrameBatch};
use crate::pipeline::Pipeline;
use crate::replay::lines;
use crate::replay::pace::{Pacer, Schedule, MIN_SLEEP};
use crate::replay::send::{Sender, TcpFraming};
use crate::replay::tls::{ServerTrust, TlsClientSettings};
use crate::replay::{Input, InputKind, Record};
use crate::telemetry::pipeline as events;
use crate::time::Clock;

/// Frames per batch handed to the pipeline.
const PIPELINE_BATCH_FRAMES: usize = 512;

/// Time between progress line updates.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

/// Messages between looks at the clock for the progress line.
const PROGRESS_CHECK_MESSAGES: u64 = 1024;

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Inputs, in order: text with one message per line (raw, or as rsyslog and
    /// syslog-ng write it), archive NDJSON, pcap or pcapng; plain, gzip or zstd,
    /// told from the content. `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Where messages go: `pipeline` (parse and write to the sink, as `run`
    /// does), `udp://HOST:PORT`, `tcp://HOST:PORT` or `tls://HOST:PORT`
    /// (RFC 5425; needs --tls-ca or --tls-insecure).
    #[arg(long, value_name = "DEST", default_value = "pipeline")]
    pub to: String,

    /// Framing on `tcp://` and `tls://`: RFC 6587 octet counting (what RFC
    /// 5425 prescribes for TLS), or one message per LF line.
    #[arg(long, value_enum, default_value_t = FramingArg::OctetCounting)]
    pub framing: FramingArg,

    /// PEM file of the CA certificates the `tls://` server's certificate must
    /// chain to. There is no default trust store.
    #[arg(long, value_name = "FILE", conflicts_with = "tls_insecure")]
    pub tls_ca: Option<PathBuf>,

    /// Accept any certificate from the `tls://` server: the traffic is still
    /// encrypted, but the server is not authenticated. Logged as a warning.
    #[arg(long)]
    pub tls_insecure: bool,

    /// PEM client certificate (chain) for a `tls://` server that asks for one.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Name the `tls://` server's certificate must carry (and the SNI sent);
    /// default: the HOST of --to.
    #[arg(long, value_name = "NAME")]
    pub tls_server_name: Option<String>,

    /// Send at most N messages a second (a token bucket, exact over seconds).
    #[arg(long, value_name = "N", conflicts_with = "speed")]
    pub rate: Option<f64>,

    /// Keep the original spacing (capture times, archived receive times, or
    /// header times), divided by X: 1 is real time, 10 is ten times faster.
    #[arg(long, value_name = "X")]
    pub speed: Option<f64>,

    /// Replay all inputs N times.
    #[arg(long = "loop", value_name = "N", default_value_t = 1)]
    pub loops: u64,

    /// PRI to put on text lines that have none (rsyslog and syslog-ng files drop
    /// it); default: send them without one. The value is an assumption: the
    /// device's own PRI is lost.
    #[arg(long, value_name = "PRI", value_parser = clap::value_parser!(u8).range(0..=191))]
    pub pri: Option<u8>,

    /// TOML config file for `--to pipeline`, as for `run` (its listeners are
    /// ignored).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Archive directory (archive.dir) for `--to pipeline`.
    #[arg(long, value_name = "DIR")]
    pub archive: Option<PathBuf>,

    /// Send documents to Elasticsearch or OpenSearch at URL instead of the
    /// archive (elasticsearch.urls). Repeatable, one per node.
    #[arg(long, value_name = "URL")]
    pub elasticsearch: Vec<String>,

    /// IANA time zone or fixed offset for device-local times (parser.timezone).
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,

    /// Stand-in for "now" when a header has no year (parser.reference_time);
    /// default: each record's capture or archived receive time, else the clock.
    #[arg(long, value_name = "RFC3339")]
    pub reference_time: Option<String>,

    /// Directory of grammar files replacing the built-in ones (parser.grammars).
    #[arg(long, value_name = "DIR")]
    pub grammars: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FramingArg {
    OctetCounting,
    Lf,
}

/// Where replayed messages go.
#[derive(Debug, Clone)]
pub enum Destination {
    /// Parse and write to the sink, with `run`'s settings.
    Pipeline(Box<run::Settings>),
    Udp(SocketAddr),
    Tcp(SocketAddr, TcpFraming),
    Tls {
        address: SocketAddr,
        framing: TcpFraming,
        tls: Box<TlsClientSettings>,
    },
}

/// How fast to send.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    AsFastAsPossible,
    Rate(f64),
    Speed(f64),
}

/// Everything `replay` needs, resolved from the flags and validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub inputs: Vec<PathBuf>,
    pub destination: Destination,
    pub pacing: Pacing,
    pub loops: u64,
    pub assumed_priority: Option<u8>,
    /// Zone and reference time for reading header times under `--speed`.
    pub clock: Clock,
}

impl Settings {
    pub fn resolve(args: &ReplayArgs) -> anyhow::Result<Settings> {
        let framing = match args.framing {
            FramingArg::OctetCounting => TcpFraming::OctetCounting,
            FramingArg::Lf => TcpFraming::Lf,
        };
        let destination = match args.to.split_once("://") {
            None if args.to == "pipeline" => {
                let overrides = Overrides {
                    archive: args.archive.clone(),
                    timezone: args.timezone.clone(),
                    reference_time: args.reference_time.clone(),
                    elasticsearch: args.elasticsearch.clone(),
                    ..Overrides::default()
                };
                let mut settings = run::Settings::resolve(args.config.as_deref(), &overrides)?;
                if let Some(dir) = &args.grammars {
                    settings.config.parser.grammars = Some(dir.clone());
                }
                Destination::Pipeline(Box::new(settings))
            }
            Some(("udp", address)) => Destination::Udp(resolve_address(address)?),
            Some(("tcp", address)) => Destination::Tcp(resolve_address(address)?, framing),
            Some(("tls", address)) => Destination::Tls {
                address: resolve_address(address)?,
                framing,
                tls: Box::new(tls_settings(args, address)?),
            },
            _ => bail!(
                "--to {:?}: expected pipeline, udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT",
                args.to
            ),
        };
        if !matches!(destination, Destination::Tls { .. }) {
            let tls_flags = args.tls_ca.is_some()
                || args.tls_insecure
                || args.tls_cert.is_some()
                || args.tls_server_name.is_some();
            if tls_flags {
                bail!("--tls-ca, --tls-insecure, --tls-cert, --tls-key and --tls-server-name need --to tls://");
            }
        }
        if !matches!(destination, Destination::Pipeline(_)) {
            let sink_flags = args.archive.is_some()
                || !args.elasticsearch.is_empty()
                || args.config.is_some()
                || args.grammars.is_some();
            if sink_flags {
                bail!("--config, --archive, --elasticsearch and --grammars need --to pipeline");
            }
        }

        let pacing = match (args.rate, args.speed) {
            (Some(rate), _) if !(rate.is_finite() && rate > 0.0) => {
                bail!("--rate must be a positive number of messages a second")
            }
            (Some(rate), _) => Pacing::Rate(rate),
            (None, Some(speed)) if !(speed.is_finite() && speed > 0.0) => {
                bail!("--speed must be a positive factor")
            }
            (None, Some(speed)) => Pacing::Speed(speed),
            (None, None) => Pacing::AsFastAsPossible,
        };
        if args.loops == 0 {
            bail!("--loop must be at least 1");
        }
        let reads_stdin = args.files.iter().any(|f| f.as_os_str() == "-");
        if reads_stdin && args.loops > 1 {
            bail!("--loop cannot repeat standard input");
        }

        // The parser's own settings are built once the pipeline starts; this
        // clock only reads header times for --speed.
        let clock = Clock {
            zone: match &args.timezone {
                Some(zone) => crate::time::Zone::parse(zone).context("--timezone")?,
                None => crate::time::Zone::system(),
            },
            fixed_reference: match &args.reference_time {
                Some(text) => Some(crate::time::Instant::from_timestamp(
                    text.parse()
                        .with_context(|| format!("--reference-time {text:?}"))?,
                )),
                None => None,
            },
        };
        Ok(Settings {
            inputs: args.files.clone(),
            destination,
            pacing,
            loops: args.loops,
            assumed_priority: args.pri,
            clock,
        })
    }
}

/// The TLS flags, checked; `address` is the `HOST:PORT` of `--to tls://`.
fn tls_settings(args: &ReplayArgs, address: &str) -> anyhow::Result<TlsClientSettings> {
    let trust = match (&args.tls_ca, args.tls_insecure) {
        (Some(path), _) => ServerTrust::CaFile(path.clone()),
        (None, true) => ServerTrust::Insecure,
        (None, false) => bail!(
            "--to tls:// needs --tls-ca FILE (the CA that signed the server's certificate) \
             or --tls-insecure (no verification)"
        ),
    };
    let name = match &args.tls_server_name {
        Some(name) => name.clone(),
        None => host(address).to_owned(),
    };
    let server_name = ServerName::try_from(name.clone())
        .with_context(|| format!("{name:?} is not a valid TLS server name"))?;
    Ok(TlsClientSettings {
        trust,
        identity: args.tls_cert.clone().zip(args.tls_key.clone()),
        server_name,
    })
}

/// The host part of `HOST:PORT`, without the brackets of an IPv6 literal.
fn host(address: &str) -> &str {
    let address = address.trim_end_matches('/');
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

fn resolve_address(text: &str) -> anyhow::Result<SocketAddr> {
    let text = text.trim_end_matches('/');
    text.to_socket_addrs()
        .with_context(|| format!("{text:?} is not HOST:PORT"))?
        .next()
        .with_context(|| format!("{text:?} resolves to no address"))
}

/// `nat-ingest replay`.
pub fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(&args)?;
    let mut destination = Open::open(&settings.destination)?;
    let mut counts = Counts::default();
    let progress = Progress::new(&settings);
    let started = Instant::now();

    let result = replay_inputs(&settings, &mut destination, &mut counts, progress);
    let finished = destination.finish(&mut counts);
    let elapsed = started.elapsed();
    counts.print(&settings.destination, elapsed);

    result?;
    finished?;
    if counts.unreadable_inputs > 0 {
        bail!("{} input(s) could not be read", counts.unreadable_inputs);
    }
    if counts.rejected > 0 {
        bail!("{} document(s) were rejected or dropped", counts.rejected);
    }
    Ok(())
}

/// Reads every input `loops` times and sends its records.
fn replay_inputs(
    settings: &Settings,
    destination: &mut Open,
    counts: &mut Counts,
    mut progress: Progress,
) -> anyhow::Result<()> {
    let mut pacer = match settings.pacing {
        Pacing::Rate(rate) => Some(Pacer::new(rate, Instant::now())),
        _ => None,
    };
    let mut schedule = match settings.pacing {
        Pacing::Speed(speed) => Some(Schedule::new(speed)),
        _ => None,
    };

    for _ in 0..settings.loops {
        for path in &settings.inputs {
            let mut input = match open_input(path, &progress.bytes_read) {
                Ok(input) => input,
                Err(error) => {
                    tracing::error!(file = %path.display(), error = %error_chain(&error), "Cannot read an input.");
                    counts.unreadable_inputs += 1;
                    continue;
                }
            };
            tracing::debug!(
                file = %path.display(),
                kind = input.kind().as_str(),
                compression = input.compression().as_str(),
                "Replaying an input."
            );
            let is_text = input.kind() == InputKind::Lines;

            loop {
                let mut record = match input.next_record() {
                    Ok(Some(record)) => record,
                    Ok(None) => break,
                    Err(error) => {
                        tracing::error!(file = %path.display(), error = %error_chain(&error), "Stopped reading an input.");
                        counts.unreadable_inputs += 1;
                        break;
                    }
                };
                counts.read += 1;
                if is_text {
                    if let Some(priority) = settings.assumed_priority {
                        lines::assume_priority(&mut record.line, priority);
                    }
                }

                // Wait for the pacer or the schedule; short waits pile up first.
                let wait = match (&mut pacer, &mut schedule) {
                    (Some(pacer), _) => pacer.take(1, Instant::now()),
                    (_, Some(schedule)) => {
                        let at = record.received.or_else(|| {
                            let now = jiff::Timestamp::now();
                            lines::header_time(&record.line, &settings.clock, now)
                        });
                        schedule.wait(at, Instant::now())
                    }
                    _ => Duration::ZERO,
                };
                if wait >= MIN_SLEEP {
                    destination.flush()?;
                    std::thread::sleep(wait);
                }

                destination.send(record)?;
                counts.sent += 1;
                if counts.sent % PROGRESS_CHECK_MESSAGES == 0 {
                    progress.update(counts);
                }
            }
            counts.skipped += input.skipped();
        }
    }
    progress.clear();
    Ok(())
}

fn open_input(
    path: &PathBuf,
    bytes_read: &Arc<AtomicU64>,
) -> Result<Input, crate::replay::ReplayError> {
    let raw: Box<dyn Read + Send> = if path.as_os_str() == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(Counted {
            inner: File::open(path)?,
            bytes: bytes_read.clone(),
        })
    };
    Input::open(raw)
}

/// A reader that adds what it reads to a shared count, for the progress line.
struct Counted<R> {
    inner: R,
    bytes: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buffer)?;
        self.bytes.fetch_add(n as u64, Relaxed);
        Ok(n)
    }
}

/// A destination, opened.
enum Open {
    Pipeline {
        pipeline: Pipeline<RunSink>,
        frames: mpsc::Sender<FrameBatch>,
        batch: FrameBatch,
        /// The receive time of records that carry none, taken once per batch.
        now: jiff::Timestamp,
        metrics: metrics_exporter_prometheus::PrometheusHandle,
    },
    Socket(Sender),
}

impl Open {
    fn open(destination: &Destination) -> anyhow::Result<Open> {
        match destination {
            Destination::Pipeline(settings) => {
                // Read back at the end for Elasticsearch's rejections and duplicates.
                let metrics = crate::telemetry::install_recorder();
                let encoder = Arc::new(Encoder::new(run::encoder_settings(settings)?));
                let sink = RunSink::open(&settings.config)?;
                let pipeline = Pipeline::start(&settings.config.pipeline, encoder, sink)?;
                tracing::info!(sink = %RunSink::describe(&settings.config), "Replaying into the pipeline.");
                Ok(Open::Pipeline {
                    frames: pipeline.frames(),
                    pipeline,
                    batch: Vec::with_capacity(PIPELINE_BATCH_FRAMES),
                    now: jiff::Timestamp::now(),
                    metrics,
                })
            }
            Destination::Udp(address) => Ok(Open::Socket(Sender::udp(*address)?)),
            Destination::Tcp(address, framing) => {
                Ok(Open::Socket(Sender::tcp(*address, *framing)?))
            }
            Destination::Tls {
                address,
                framing,
                tls,
            } => {
                let config = tls.client_config().context("cannot set up TLS")?;
                let server_name = tls.server_name.clone();
                Ok(Open::Socket(Sender::tls(
                    *address,
                    *framing,
                    config,
                    server_name,
                )?))
            }
        }
    }

    fn send(&mut self, record: Record) -> anyhow::Result<()> {
        match self {
            Open::Pipeline { batch, now, .. } => {
                batch.push(Frame {
                    bytes: Bytes::from(record.line),
                    received: Received {
                        at: record.received.unwrap_or(*now),
                        peer: record.peer,
                        truncated: false,
                        misframed: false,
                    },
                });
                if batch.len() >= PIPELINE_BATCH_FRAMES {
                    self.flush()?;
                }
                Ok(())
            }
            Open::Socket(sender) => Ok(sender.send(&record.line)?),
        }
    }

    /// Hands a partly filled batch on, before a pause or at the end.
    fn flush(&mut self) -> anyhow::Result<()> {
        if let Open::Pipeline {
            frames, batch, now, ..
        } = self
        {
            if !batch.is_empty() {
                let full = std::mem::replace(batch, Vec::with_capacity(PIPELINE_BATCH_FRAMES));
                frames
                    .blocking_send(full)
                    .map_err(|_| anyhow::anyhow!("the pipeline stopped early"))?;
            }
            *now = jiff::Timestamp::now();
        }
        Ok(())
    }

    /// Sends what is left, waits for the destination, and fills in its counts.
    fn finish(mut self, counts: &mut Counts) -> anyhow::Result<()> {
        let flushed = self.flush();
        match self {
            Open::Pipeline {
                pipeline,
                frames,
                metrics,
                ..
            } => {
                drop(frames);
                let finished = pipeline.finish();
                counts.parsed = Some(events::PARSED.load(Relaxed));
                counts.failed = Some(events::FAILED.load(Relaxed));
                counts.written = Some(events::WRITTEN.load(Relaxed));
                let page = metrics.render();
                counts.duplicates = metric_total(&page, "bulk_documents_duplicate_total");
                counts.rejected = metric_total(&page, "bulk_documents_dead_lettered_total")
                    .unwrap_or(0)
                    + metric_total(&page, "bulk_documents_dropped_total").unwrap_or(0);
                flushed?;
                finished.context("the pipeline did not finish cleanly")?;
            }
            Open::Socket(sender) => {
                flushed?;
                counts.rewritten = sender.rewritten();
                sender.finish()?;
            }
        }
        Ok(())
    }
}

/// The sum of a counter over its labels in a Prometheus text page; `None` when
/// the counter never moved.
fn metric_total(page: &str, name: &str) -> Option<u64> {
    let values: Vec<f64> = page
        .lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse().ok())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() as u64)
}

/// What happened, for the summary.
#[derive(Debug, Default)]
struct Counts {
    read: u64,
    sent: u64,
    skipped: u64,
    unreadable_inputs: u64,
    parsed: Option<u64>,
    failed: Option<u64>,
    written: Option<u64>,
    duplicates: Option<u64>,
    rejected: u64,
    rewritten: u64,
}

impl Counts {
    fn print(&self, destination: &Destination, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let rate = if seconds > 0.0 {
            self.sent as f64 / seconds
        } else {
            0.0
        };
        let mut line = format!(
            "replay: read={} sent={} skipped={}",
            self.read, self.sent, self.skipped
        );
        let optional = [
            ("parsed", self.parsed),
            ("failed", self.failed),
            ("written", self.written),
            ("duplicates", self.duplicates),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                line.push_str(&format!(" {name}={value}"));
            }
        }
        if matches!(destination, Destination::Pipeline(_)) {
            line.push_str(&format!(" rejected={}", self.rejected));
        }
        if self.rewritten > 0 {
            line.push_str(&format!(" lf_replaced={}", self.rewritten));
        }
        line.push_str(&format!(" elapsed={seconds:.3}s rate={rate:.0}/s"));
        eprintln!("{line}");
    }
}

/// The progress line: only when stderr is a terminal.
struct Progress {
    enabled: bool,
    started: Instant,
    last: Instant,
    /// Input bytes read so far, and the total (`None` when stdin is an input).
    bytes_read: Arc<AtomicU64>,
    total_bytes: Option<u64>,
}

impl Progress {
    fn new(settings: &Settings) -> Progress {
        let sizes: Option<Vec<u64>> = settings
            .inputs
            .iter()
            .map(|path| {
                (path.as_os_str() != "-")
                    .then(|| std::fs::metadata(path).ok().map(|m| m.len()))
                    .flatten()
            })
            .collect();
        let now = Instant::now();
        Progress {
            enabled: io::stderr().is_terminal(),
            started: now,
            last: now,
            bytes_read: Arc::new(AtomicU64::new(0)),
            total_bytes: sizes.map(|s| s.iter().sum::<u64>() * settings.loops),
        }
    }

    fn update(&mut self, counts: &Counts) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if now - self.last < PROGRESS_INTERVAL {
            return;
        }
        self.last = now;
        let seconds = (now - self.started).as_secs_f64();
        let rate = counts.sent as f64 / seconds.max(1e-9);
        let mut line = format!("\r{} sent, {:.0}/s", counts.sent, rate);
        if let Some(total) = self.total_bytes.filter(|&t| t > 0) {
            let done = self.bytes_read.load(Relaxed).min(total) as f64 / total as f64;
            if done > 0.0 {
                let left = seconds / done - seconds;
                line.push_str(&format!(
                    ", {:.0}%, ETA {}:{:02}",
                    done * 100.0,
                    left as u64 / 60,
                    left as u64 % 60
                ));
            }
        }
        line.push_str("   ");
        let _ = io::stderr().write_all(line.as_bytes());
    }

    fn clear(&self) {
        if self.enabled && self.last != self.started {
            let _ = io::stderr().write_all(b"\r\x1b[K");
        }
    }
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    crate::telemetry::error_chain(error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn resolve(args: &[&str]) -> anyhow::Result<Settings> {
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: ReplayArgs,
        }
        let mut all = vec!["replay"];
        all.extend_from_slice(args);
        Settings::resolve(&Wrapper::try_parse_from(all)?.args)
    }

    #[test]
    fn flags_resolve_into_settings() {
        let settings = resolve(&[
            "--to",
            "tcp://127.0.0.1:601",
            "--framing",
            "lf",
            "--rate",
            "5",
            "a.log",
        ])
        .unwrap();
        assert!(matches!(
            settings.destination,
            Destination::Tcp(address, TcpFraming::Lf) if address.port() == 601
        ));
        assert_eq!(settings.pacing, Pacing::Rate(5.0));
        let settings =
            resolve(&["--archive", "/tmp/x", "--speed", "2", "--loop", "3", "a"]).unwrap();
        let Destination::Pipeline(run) = &settings.destination else {
            panic!("pipeline is the default");
        };
        assert_eq!(run.config.archive.dir, PathBuf::from("/tmp/x"));
        assert_eq!((settings.pacing, settings.loops), (Pacing::Speed(2.0), 3));
    }

    #[test]
    fn tls_flags_resolve_into_settings() {
        let settings =
            resolve(&["--to", "tls://127.0.0.1:6514", "--tls-ca", "ca.pem", "a"]).unwrap();
        let Destination::Tls {
            address,
            framing,
            tls,
        } = &settings.destination
        else {
            panic!("tls:// is a TLS destination");
        };
        assert_eq!(
            (address.port(), *framing),
            (6514, TcpFraming::OctetCounting)
        );
        assert_eq!(tls.trust, ServerTrust::CaFile(PathBuf::from("ca.pem")));
        assert_eq!(tls.server_name, ServerName::try_from("127.0.0.1").unwrap());
        assert!(tls.identity.is_none());

        let settings = resolve(&[
            "--to",
            "tls://[::1]:6514",
            "--tls-insecure",
            "--tls-server-name",
            "collector.example",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "a",
        ])
        .unwrap();
        let Destination::Tls { tls, .. } = &settings.destination else {
            panic!("tls:// is a TLS destination");
        };
        assert_eq!(tls.trust, ServerTrust::Insecure);
        assert_eq!(
            tls.server_name,
            ServerName::try_from("collector.example").unwrap()
        );
        assert_eq!(
            tls.identity,
            Some((PathBuf::from("c.pem"), PathBuf::from("k.pem")))
        );
        assert_eq!(host("[::1]:6514"), "::1");
        assert_eq!(host("collector.example:6514/"), "collector.example");
    }

    #[test]
    fn bad_flags_fail_before_anything_runs() {
        for args in [
            &["--to", "http://x:1", "a"][..],
            &["--to", "udp://127.0.0.1:514", "--archive", "/tmp/x", "a"],
            &["--rate", "0", "a"],
            &["--rate", "5", "--speed", "2", "a"],
            &["--loop", "2", "-"],
            &["--timezone", "Nowhere/Special", "a"],
            &["--pri", "192", "a"],
            // No way to trust the server was given.
            &["--to", "tls://127.0.0.1:6514", "a"],
            &[
                "--to",
                "tls://127.0.0.1:6514",
                "--tls-ca",
                "c",
                "--tls-insecure",
                "a",
            ],
            &[
                "--to",
                "tls://127.0.0.1:6514",
                "--tls-insecure",
                "--tls-cert",
                "c",
                "a",
            ],
            &["--to", "tcp://127.0.0.1:601", "--tls-insecure", "a"],
        ] {
            assert!(resolve(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn sums_a_counter_over_labels() {
        let page = "# TYPE x counter\nbulk_documents_dropped_total{cause=\"a\"} 2\nbulk_documents_dropped_total{cause=\"b\"} 3\nbulk_documents_dropped_totally 9\n";
        assert_eq!(metric_total(page, "bulk_documents_dropped_total"), Some(5));
        assert_eq!(metric_total(page, "bulk_documents_duplicate_total"), None);
    }
}
