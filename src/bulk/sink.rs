//! `ElasticsearchSink`: the pipeline's sink thread on one side, a small tokio
//! runtime of request tasks on the other.
//!
//! The `Sink` trait is synchronous and runs on its own std thread; HTTP with
//! several requests in flight wants async. Rather than make the pipeline async,
//! the sink owns a one-worker runtime (`bulk-io`) and uses it as an engine: the
//! sink thread routes documents and writes bulk bodies (CPU work that belongs
//! off the reactor), takes an in-flight permit for a closed body, and spawns a
//! task (`deliver`) that owns the body until every item is final. The task
//! gzips the body on the runtime's blocking pool, so that several requests
//! compress on several cores while the sink thread goes on routing.
//!
//! Back-pressure is the permit: when all `max_in_flight_requests` are out, the
//! sink thread waits in `write_ready` for one to come back, stops taking
//! document batches, and the pipeline's bounded queues fill behind it up to the
//! listeners. While the credentials are refused the wait turns into an error,
//! so the pipeline logs it and tries again later, still holding everything.
//!
//! A flush (SIGHUP, shutdown) sends what is open and waits, up to
//! `flush_timeout_secs`, for every permit to come back. Whatever is unfinished
//! when the sink is dropped is counted and logged as dropped.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};

use super::batch::{BatchLimits, BodyPool, OpenBatch};
use super::dead_letter::DeadLetterFile;
use super::deliver::{deliver, Shared};
use super::index::{IndexPattern, IndexRouter};
use super::request::BulkBody;
use super::service::Service;
use super::{setup, BulkError};
use crate::config::elasticsearch::ElasticsearchConfig;
use crate::pipeline::{DocumentBatch, Sink};
use crate::telemetry::bulk::{DocumentsDropped, RequestsInFlight};

/// How long the start waits for the server before going on without it (the
/// documents then wait in the queues until it answers).
const STARTUP_WAIT: Duration = Duration::from_secs(10);

/// How often a sink thread waiting for a permit checks whether it was stopped.
const STOP_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// Least time between two log lines about the same stopped state.
const REPORT_INTERVAL: Duration = Duration::from_secs(60);

/// Bodies kept for reuse beyond those in flight.
const SPARE_BODIES: usize = 2;

/// Writes documents to Elasticsearch or OpenSearch with `_bulk`.
pub struct ElasticsearchSink {
    /// `None` only while dropping.
    runtime: Option<Runtime>,
    shared: Arc<Shared>,
    open: OpenBatch,
    /// Bodies closed and not yet handed to a task.
    closed: VecDeque<BulkBody>,
    router: IndexRouter,
    last_report: Cell<Option<Instant>>,
}

impl ElasticsearchSink {
    /// Builds the client and, if the server answers within a few seconds,
    /// checks the credentials and installs the template. A server that refuses
    /// either fails the start; one that does not answer yet does not.
    pub fn start(config: &ElasticsearchConfig) -> Result<ElasticsearchSink, BulkError> {
        config.validate().map_err(BulkError::Config)?;
        crate::telemetry::bulk::describe();
        let router = IndexRouter::new(
            IndexPattern::parse(config.session_target())?,
            IndexPattern::parse(config.syslog_target())?,
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("bulk-io")
            .enable_all()
            .build()
            .map_err(BulkError::Runtime)?;
        let service = Service::new(config)?;
        let nodes = service.node_labels().join(",");
        let max_bytes = config.max_batch_bytes + config.max_batch_bytes / 4;
        let shared = Arc::new(Shared {
            service,
            config: config.clone(),
            patterns: router.wildcards(),
            set_up: OnceCell::new(),
            stopped: Mutex::new(None),
            dead_letters: Mutex::new(DeadLetterFile::new(config.dead_letter_file.clone())),
            pool: BodyPool::new(config.max_in_flight_requests + SPARE_BODIES, max_bytes),
            permits: Arc::new(Semaphore::new(config.max_in_flight_requests)),
            unfinished: AtomicU64::new(0),
        });

        let checker = shared.clone();
        let interval = Duration::from_secs(config.health_check_interval_secs);
        runtime.spawn(async move { checker.service.check_health(interval).await });

        // Timers must be made inside the runtime that drives them.
        let first = runtime
            .block_on(async { tokio::time::timeout(STARTUP_WAIT, set_up_once(&shared)).await });
        match first {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(BulkError::Setup(e)),
            Err(_) => tracing::warn!(
                nodes,
                waited_secs = STARTUP_WAIT.as_secs(),
                "Elasticsearch does not answer yet; documents wait in the queues until it does."
            ),
        }
        tracing::info!(
            nodes,
            session_index = config.session_target(),
            syslog_index = config.syslog_target(),
            in_flight = config.max_in_flight_requests,
            gzip = config.compression,
            "Elasticsearch sink started."
        );

        let limits = BatchLimits {
            max_documents: config.max_batch_documents,
            max_bytes: config.max_batch_bytes,
            max_age: Duration::from_millis(config.max_batch_age_ms),
        };
        Ok(ElasticsearchSink {
            runtime: Some(runtime),
            shared,
            open: OpenBatch::new(limits),
            closed: VecDeque::new(),
            router,
            last_report: Cell::new(None),
        })
    }

    fn runtime(&self) -> &Runtime {
        self.runtime.as_ref().expect("present until drop")
    }

    /// Moves the open body, if any, to the closed ones.
    fn close_open(&mut self) {
        let next = self.shared.pool.take();
        self.closed.extend(self.open.close(next));
    }

    /// Hands every closed body to a task, waiting for permits.
    fn send_closed(&mut self) -> Result<(), BulkError> {
        while let Some(body) = self.closed.pop_front() {
            let permit = match self.acquire() {
                Ok(permit) => permit,
                Err(e) => {
                    self.closed.push_front(body);
                    return Err(e);
                }
            };
            let shared = self.shared.clone();
            shared
                .unfinished
                .fetch_add(body.len() as u64, Ordering::Relaxed);
            self.runtime().spawn(deliver(shared.clone(), body, permit));
            RequestsInFlight {
                count: shared.config.max_in_flight_requests - shared.permits.available_permits(),
            }
            .emit();
        }
        Ok(())
    }

    /// An in-flight permit; waits while all are out, fails while stopped.
    fn acquire(&self) -> Result<OwnedSemaphorePermit, BulkError> {
        loop {
            if let Some(reason) = self.shared.stopped_reason() {
                return Err(BulkError::Stopped(reason));
            }
            let permits = self.shared.permits.clone();
            let wait =
                async { tokio::time::timeout(STOP_CHECK_INTERVAL, permits.acquire_owned()).await };
            if let Ok(Ok(permit)) = self.runtime().block_on(wait) {
                return Ok(permit);
            }
        }
    }

    /// Documents accepted and not yet final.
    fn unfinished(&self) -> u64 {
        let closed: usize = self.closed.iter().map(BulkBody::len).sum();
        self.shared.unfinished.load(Ordering::Relaxed) + (closed + self.open.len()) as u64
    }
}

/// Set-up with the connection retried, for the start.
async fn set_up_once(shared: &Shared) -> Result<(), setup::SetupError> {
    loop {
        let attempt = shared
            .set_up
            .get_or_try_init(|| setup::run(&shared.service, &shared.config, &shared.patterns))
            .await;
        match attempt {
            Ok(_) => return Ok(()),
            Err(e) if e.is_connection() => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

impl Sink for ElasticsearchSink {
    type Error = BulkError;

    fn append(&mut self, batch: &DocumentBatch, now: Instant) {
        for (line, encoded) in batch.documents() {
            let index = self.router.target(encoded.dataset, encoded.timestamp);
            if self.open.is_full_for(index.len(), line.len()) {
                let next = self.shared.pool.take();
                self.closed.extend(self.open.close(next));
            }
            let fingerprint = encoded.fingerprint_or_of(line);
            self.open.body(now).push(index, fingerprint, line);
        }
        if self.open.is_at_document_limit() {
            self.close_open();
        }
    }

    fn write_ready(&mut self, now: Instant) -> Result<(), BulkError> {
        // Stopped: take nothing more until a request task gets through again.
        if let Some(reason) = self.shared.stopped_reason() {
            return Err(BulkError::Stopped(reason));
        }
        if self.open.deadline().is_some_and(|due| due <= now) {
            self.close_open();
        }
        self.send_closed()
    }

    fn next_deadline(&self) -> Option<Instant> {
        if !self.closed.is_empty() {
            return Some(Instant::now());
        }
        self.open.deadline()
    }

    fn sync(&mut self, now: Instant) -> Result<(), BulkError> {
        // No files to reopen: a flush is exactly "every item final".
        self.flush_and_reopen(now)
    }

    fn flush_and_reopen(&mut self, _now: Instant) -> Result<(), BulkError> {
        self.close_open();
        self.send_closed()?;

        // Every permit back means every request finished.
        let all = self.shared.config.max_in_flight_requests as u32;
        let waited = Duration::from_secs(self.shared.config.flush_timeout_secs);
        let permits = self.shared.permits.clone();
        let wait = async { tokio::time::timeout(waited, permits.acquire_many_owned(all)).await };
        match self.runtime().block_on(wait) {
            Ok(Ok(_all_back)) => Ok(()),
            _ => match self.shared.stopped_reason() {
                Some(reason) => Err(BulkError::Stopped(reason)),
                None => Err(BulkError::FlushTimedOut {
                    documents: self.unfinished(),
                    waited,
                }),
            },
        }
    }

    fn report(&self, error: &BulkError, retry_in: Duration) {
        let now = Instant::now();
        let is_due = self
            .last_report
            .get()
            .is_none_or(|last| now.duration_since(last) >= REPORT_INTERVAL);
        if !is_due && matches!(error, BulkError::Stopped(_)) {
            return;
        }
        self.last_report.set(Some(now));
        tracing::error!(
            error = %crate::telemetry::error_chain(error),
            unfinished_documents = self.unfinished(),
            retry_in_ms = retry_in.as_millis() as u64,
            "Elasticsearch sink is stalled; documents stay queued and intake slows until it recovers."
        );
    }
}

impl Drop for ElasticsearchSink {
    fn drop(&mut self) {
        let lost = self.unfinished();
        if lost > 0 {
            DocumentsDropped {
                count: lost,
                cause: "shutdown",
                detail: "the sink stopped before the server took them",
            }
            .emit();
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

#[cfg(test)]
mod tests {
    //! The credentials cases need a server that refuses them, and the dev
    //! servers run without a security plugin; so these tests answer HTTP
    //! themselves, with canned responses, for exactly that fault.

    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    use super::*;
    use crate::document::{Dataset, Encoded};

    /// Serves canned answers on a loopback port: `answer(method_and_path)`
    /// gives the status and body for each request.
    fn fake_server(answer: fn(&str) -> (u16, &'static str)) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                std::thread::spawn(move || serve(stream, answer));
            }
        });
        url
    }

    fn serve(stream: std::net::TcpStream, answer: fn(&str) -> (u16, &'static str)) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        loop {
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                return;
            }
            let mut length = 0;
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                if header.trim().is_empty() {
                    break;
                }
                let lower = header.to_ascii_lowercase();
                if let Some(value) = lower.strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let (status, text) = answer(request_line.trim());
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{text}",
                text.len()
            );
            if writer.write_all(response.as_bytes()).is_err() {
                return;
            }
        }
    }

    fn config(url: String, dir: &std::path::Path) -> ElasticsearchConfig {
        ElasticsearchConfig {
            urls: vec![url],
            dead_letter_file: dir.join("dead.ndjson"),
            max_batch_age_ms: 1,
            flush_timeout_secs: 1,
            ..ElasticsearchConfig::default()
        }
    }

    const ROOT: &str = r#"{"version":{"distribution":"opensearch","number":"2.19.1"}}"#;
    const REFUSED: &str = r#"{"error":"security_exception","status":401}"#;

    /// Refused credentials at start fail the start, with the status in the message.
    #[test]
    fn refused_credentials_fail_the_start() {
        let url = fake_server(|_| (401, REFUSED));
        let dir = tempfile::tempdir().unwrap();
        let error = match ElasticsearchSink::start(&config(url, dir.path())) {
            Ok(_) => panic!("started with refused credentials"),
            Err(e) => crate::telemetry::error_chain(&e),
        };
        assert!(error.contains("refused the credentials (401)"), "{error}");
    }

    /// A 403 on `_bulk` stops the sink: it takes nothing more, keeps the
    /// documents, and a flush fails instead of dropping them.
    #[test]
    fn forbidden_bulk_stops_the_sink_and_keeps_the_documents() {
        let url = fake_server(|request| match request {
            r if r.starts_with("GET / ") => (200, ROOT),
            r if r.contains("_bulk") => (403, r#"{"error":"forbidden","status":403}"#),
            _ => (200, "{}"),
        });
        let dir = tempfile::tempdir().unwrap();
        let mut sink = ElasticsearchSink::start(&config(url, dir.path())).unwrap();

        let mut batch = DocumentBatch::default();
        let encoded = Encoded {
            timestamp: jiff::Timestamp::UNIX_EPOCH,
            dataset: Dataset::Syslog,
            failure: None,
            fingerprint: Some(7),
        };
        batch.push_encoded(b"{\"n\":1}", encoded);
        let start = Instant::now();
        sink.append(&batch, start);
        sink.write_ready(start + Duration::from_millis(5)).unwrap();

        let deadline = Instant::now() + Duration::from_secs(10);
        let error = loop {
            match sink.write_ready(Instant::now()) {
                Err(e) => break e,
                Ok(()) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(()) => panic!("the sink did not stop"),
            }
        };
        assert!(
            matches!(&error, BulkError::Stopped(r) if r.contains("403")),
            "{error}"
        );
        assert_eq!(sink.unfinished(), 1);
        assert!(matches!(
            sink.flush_and_reopen(Instant::now()),
            Err(BulkError::Stopped(_))
        ));
        assert!(!dir.path().join("dead.ndjson").exists());
    }
}
