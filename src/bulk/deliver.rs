//! One bulk request from first send to its last item: the task that owns a body
//! until every item is indexed, a duplicate, or parked in the dead-letter file.
//!
//! The loop, per attempt: wait until the server is set up, send, then by the
//! whole response's status either send the same bytes again (connection error,
//! 429, 5xx), hold everything while the credentials are refused (401/403), park
//! everything (other 4xx), or read the items. Of the items, the 429/5xx ones
//! are copied into a smaller body that is compressed and sent again after a
//! pause; the rest are final. The task ends, and gives back its in-flight
//! permit, only when nothing is left to send.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};

use super::batch::BodyPool;
use super::dead_letter::{DeadLetterFile, Rejected};
use super::request::{gzip, BulkBody};
use super::response::{self, ItemResult};
use super::retry::{item_verdict, request_verdict, Backoff, ItemVerdict, RequestVerdict};
use super::service::Service;
use super::setup::{self, ServerInfo};
use crate::config::elasticsearch::ElasticsearchConfig;
use crate::telemetry::bulk::{
    BulkRequestAnswered, DocumentsDeadLettered, DocumentsDropped, DocumentsIndexed, ItemsRetried,
    RequestRetried, RequestsInFlight,
};

/// Pause between attempts while the server refuses the credentials, or set-up
/// failed for a reason other than the network: long, since someone has to act.
const STOPPED_RETRY: Duration = Duration::from_secs(30);

/// Longest part of a response body quoted in a log line or a dead letter.
const QUOTED_BODY_BYTES: usize = 500;

/// What the sink thread and the request tasks share.
pub struct Shared {
    pub service: Service,
    pub config: ElasticsearchConfig,
    /// Template wildcards, for set-up.
    pub patterns: Vec<String>,
    pub set_up: OnceCell<ServerInfo>,
    /// Why the sink is stopped (credentials refused), while it is.
    pub stopped: Mutex<Option<String>>,
    pub dead_letters: Mutex<DeadLetterFile>,
    pub pool: BodyPool,
    pub permits: Arc<Semaphore>,
    /// Documents handed to a task and not yet final.
    pub unfinished: AtomicU64,
}

impl Shared {
    fn backoff(&self) -> Backoff {
        Backoff::new(
            Duration::from_millis(self.config.retry_initial_backoff_ms),
            Duration::from_millis(self.config.retry_max_backoff_ms),
        )
    }

    /// The bytes to send for `body`: gzipped unless compression is off.
    pub fn payload(&self, body: &BulkBody) -> Bytes {
        if self.config.compression {
            let mut out = Vec::with_capacity(body.byte_len() / 4);
            gzip(body.as_bytes(), self.config.compression_level, &mut out);
            Bytes::from(out)
        } else {
            Bytes::copy_from_slice(body.as_bytes())
        }
    }

    /// The reason the sink is stopped, if it is.
    pub fn stopped_reason(&self) -> Option<String> {
        self.stopped.lock().ok().and_then(|s| s.clone())
    }

    fn stop(&self, reason: String) {
        if let Ok(mut stopped) = self.stopped.lock() {
            *stopped = Some(reason);
        }
    }

    fn resume(&self) {
        if let Ok(mut stopped) = self.stopped.lock() {
            if stopped.take().is_some() {
                tracing::warn!("Elasticsearch accepts the credentials again; resuming.");
            }
        }
    }

    /// Runs set-up once, retrying until it succeeds; a refusal stops the sink
    /// until a later attempt succeeds.
    pub async fn wait_until_set_up(&self) -> &ServerInfo {
        let mut backoff = self.backoff();
        loop {
            let attempt = self
                .set_up
                .get_or_try_init(|| setup::run(&self.service, &self.config, &self.patterns))
                .await;
            match attempt {
                Ok(info) => {
                    self.resume();
                    return info;
                }
                Err(e) if e.is_connection() => {
                    let pause = backoff.next_pause();
                    tracing::debug!(
                        error = %crate::telemetry::error_chain(&e),
                        retry_in_ms = pause.as_millis() as u64,
                        "Elasticsearch not set up yet."
                    );
                    tokio::time::sleep(pause).await;
                }
                Err(e) => {
                    self.stop(crate::telemetry::error_chain(&e));
                    tokio::time::sleep(STOPPED_RETRY).await;
                }
            }
        }
    }

    fn dead_letter(&self, body: &BulkBody, rejected: &[Rejected<'_>]) {
        let Some(first) = rejected.first() else {
            return;
        };
        let written = match self.dead_letters.lock() {
            Ok(mut file) => file
                .write(body, rejected)
                .map(|()| file.path().to_path_buf()),
            Err(_) => Err(std::io::Error::other("dead-letter file lock poisoned")),
        };
        match written {
            Ok(path) => DocumentsDeadLettered {
                count: rejected.len() as u64,
                status: first.status,
                reason: first.reason,
                path: &path,
            }
            .emit(),
            Err(e) => DocumentsDropped {
                count: rejected.len() as u64,
                cause: "dead_letter_write_failed",
                detail: &format!("{e}; first rejection: {} {}", first.status, first.reason),
            }
            .emit(),
        }
    }
}

/// Compresses `body` on the blocking pool: gzip is CPU work that would stall
/// the reactor, and the pool lets several requests compress at once.
async fn with_payload(shared: &Arc<Shared>, body: BulkBody) -> (BulkBody, Bytes) {
    let shared = shared.clone();
    tokio::task::spawn_blocking(move || {
        let payload = shared.payload(&body);
        (body, payload)
    })
    .await
    .expect("compressing into memory does not panic")
}

/// Sends `body` until every item is final, then returns it to the pool.
pub async fn deliver(shared: Arc<Shared>, body: BulkBody, permit: OwnedSemaphorePermit) {
    let (mut body, mut payload) = with_payload(&shared, body).await;
    let mut backoff = shared.backoff();
    let mut results: Vec<ItemResult> = Vec::new();
    loop {
        shared.wait_until_set_up().await;

        // Send.
        let started = Instant::now();
        let answer = match shared
            .service
            .bulk(payload.clone(), shared.config.compression)
            .await
        {
            Ok(answer) => answer,
            Err(e) => {
                let pause = backoff.next_pause();
                RequestRetried {
                    cause: e.cause(),
                    detail: &crate::telemetry::error_chain(&e),
                    items: body.len(),
                    retry_in: pause,
                }
                .emit();
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        BulkRequestAnswered {
            status: answer.status,
            items: body.len(),
            uncompressed_bytes: body.byte_len() as u64,
            sent_bytes: payload.len() as u64,
            elapsed: started.elapsed(),
        }
        .emit();

        // The whole request's status.
        let quoted = || quote(&answer.body);
        match request_verdict(answer.status) {
            RequestVerdict::ReadItems => shared.resume(),
            RequestVerdict::Retry => {
                let pause = backoff.next_pause();
                let cause = if answer.status == 429 {
                    "status_429"
                } else {
                    "status_5xx"
                };
                RequestRetried {
                    cause,
                    detail: &quoted(),
                    items: body.len(),
                    retry_in: pause,
                }
                .emit();
                tokio::time::sleep(pause).await;
                continue;
            }
            RequestVerdict::Unauthorized => {
                shared.stop(format!(
                    "the server refused the credentials ({}): {}",
                    answer.status,
                    quoted()
                ));
                tokio::time::sleep(STOPPED_RETRY).await;
                continue;
            }
            RequestVerdict::Reject => {
                let reason = format!("whole request refused: {}", quoted());
                let rejected: Vec<Rejected> = (0..body.len())
                    .map(|item| Rejected {
                        item,
                        status: answer.status,
                        reason: &reason,
                    })
                    .collect();
                shared.dead_letter(&body, &rejected);
                shared
                    .unfinished
                    .fetch_sub(body.len() as u64, Ordering::Relaxed);
                break;
            }
        }

        // The items.
        let mut bytes = answer.body.to_vec();
        if let Err(e) = response::parse(&mut bytes, body.len(), &mut results) {
            let pause = backoff.next_pause();
            RequestRetried {
                cause: "unreadable_response",
                detail: &format!("{}: {}", crate::telemetry::error_chain(&e), quoted()),
                items: body.len(),
                retry_in: pause,
            }
            .emit();
            tokio::time::sleep(pause).await;
            continue;
        }
        let (mut indexed, mut duplicates) = (0u64, 0u64);
        let mut retry = Vec::new();
        let mut rejected = Vec::new();
        for (item, result) in results.iter().enumerate() {
            match item_verdict(result.status) {
                ItemVerdict::Indexed => indexed += 1,
                ItemVerdict::Duplicate => duplicates += 1,
                ItemVerdict::Retry => retry.push(item),
                ItemVerdict::Reject => rejected.push(Rejected {
                    item,
                    status: result.status,
                    reason: result.error.as_deref().unwrap_or("no reason given"),
                }),
            }
        }
        DocumentsIndexed {
            indexed,
            duplicates,
        }
        .emit();
        shared.dead_letter(&body, &rejected);
        let finished = body.len() - retry.len();
        shared
            .unfinished
            .fetch_sub(finished as u64, Ordering::Relaxed);
        let Some(&first) = retry.first() else {
            break;
        };

        // Only the items that may still succeed go again.
        let mut next = shared.pool.take();
        for &item in &retry {
            next.push_item_of(&body, item);
        }
        let pause = backoff.next_pause();
        ItemsRetried {
            count: retry.len() as u64,
            status: results[first].status,
            reason: results[first].error.as_deref().unwrap_or(""),
            retry_in: pause,
        }
        .emit();
        shared.pool.give(std::mem::replace(&mut body, next));
        (body, payload) = with_payload(&shared, body).await;
        tokio::time::sleep(pause).await;
    }

    shared.pool.give(body);
    drop(permit);
    RequestsInFlight {
        count: shared.config.max_in_flight_requests - shared.permits.available_permits(),
    }
    .emit();
}

/// The start of a response body, as text, for logs and dead letters.
fn quote(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(QUOTED_BODY_BYTES)]).into_owned()
}
