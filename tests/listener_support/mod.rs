//! Shared by the `listener_*` tests: start a listener on an ephemeral port,
//! collect its frames with a deadline, read its counters, stop it.
//!
//! Counters come from a debugging recorder installed once per test binary. Its
//! snapshots reset what they read, and tests in one binary run in parallel, so
//! every snapshot is added into one shared tally that all tests read from;
//! each test uses its own listener name to keep its counts apart.

#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use nat_ingest::config::listener::{ListenerConfig, ListenerKind};
use nat_ingest::listener::{spawn_listener, Frame, FrameBatch, ListenerHandle};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Longest any test waits for something that should happen.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// A listener under test and the queue it fills.
pub struct Running {
    pub name: String,
    pub handle: ListenerHandle,
    pub rx: mpsc::Receiver<FrameBatch>,
    pub shutdown: CancellationToken,
}

impl Running {
    pub fn addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }

    /// Receives until `count` frames are in; panics at the deadline.
    pub async fn frames(&mut self, count: usize) -> Vec<Frame> {
        let mut frames = Vec::new();
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while frames.len() < count {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(batch)) => frames.extend(batch),
                Ok(None) => panic!("queue closed after {} of {count} frames", frames.len()),
                Err(_) => panic!(
                    "only {} of {count} frames before the deadline",
                    frames.len()
                ),
            }
        }
        assert_eq!(frames.len(), count, "more frames than sent");
        frames
    }

    /// Asserts that no frame arrives within `wait`.
    pub async fn no_frames(&mut self, wait: Duration) {
        if let Ok(Some(batch)) = tokio::time::timeout(wait, self.rx.recv()).await {
            panic!("unexpected frames: {batch:?}");
        }
    }

    /// Cancels the listener and waits for it to end; returns what it handed off
    /// meanwhile.
    pub async fn stop(mut self) -> Vec<Frame> {
        self.shutdown.cancel();
        let mut join = std::pin::pin!(self.handle.join());
        let mut left = Vec::new();
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            tokio::select! {
                joined = &mut join => {
                    joined.expect("listener task panicked");
                    break;
                }
                Some(batch) = self.rx.recv() => left.extend(batch),
                _ = tokio::time::sleep_until(deadline) => panic!("listener did not stop"),
            }
        }
        while let Ok(batch) = self.rx.try_recv() {
            left.extend(batch);
        }
        left
    }
}

/// Starts `config` under `name` with a queue of `queue_batches`.
pub async fn start(config: ListenerConfig, name: &str, queue_batches: usize) -> Running {
    install_recorder();
    let (tx, rx) = mpsc::channel(queue_batches);
    let shutdown = CancellationToken::new();
    let handle = spawn_listener(&config, name.to_owned(), tx, shutdown.clone())
        .await
        .expect("listener starts");
    Running {
        name: name.to_owned(),
        handle,
        rx,
        shutdown,
    }
}

/// A config of `kind` on an ephemeral loopback port.
pub fn config(kind: ListenerKind) -> ListenerConfig {
    let mut config = ListenerConfig::new(kind, "127.0.0.1:0".parse().unwrap());
    config.sockets = 2;
    config.receive_buffer_bytes = 4 * 1024 * 1024;
    config
}

/// The frames' bytes as text, for readable assertions.
pub fn texts(frames: &[Frame]) -> Vec<String> {
    frames
        .iter()
        .map(|frame| String::from_utf8_lossy(&frame.bytes).into_owned())
        .collect()
}

fn snapshotter() -> &'static Snapshotter {
    static SNAPSHOTTER: OnceLock<Snapshotter> = OnceLock::new();
    SNAPSHOTTER.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder
            .install()
            .expect("no other recorder in a listener test");
        snapshotter
    })
}

fn install_recorder() {
    snapshotter();
}

/// Every counter seen so far, by name and sorted labels.
type Tally = HashMap<(String, Vec<(String, String)>), u64>;

/// The counter `name` with `listener` and, if given, `cause` labels.
pub fn counter(name: &str, listener: &str, cause: Option<&str>) -> u64 {
    static TALLY: OnceLock<Mutex<Tally>> = OnceLock::new();
    let mut tally = TALLY.get_or_init(Default::default).lock().unwrap();
    for (key, _, _, value) in snapshotter().snapshot().into_vec() {
        if let DebugValue::Counter(count) = value {
            let key = key.key();
            let mut labels: Vec<_> = key
                .labels()
                .map(|label| (label.key().to_owned(), label.value().to_owned()))
                .collect();
            labels.sort();
            *tally.entry((key.name().to_owned(), labels)).or_default() += count;
        }
    }
    tally
        .iter()
        .filter(|((metric, labels), _)| {
            metric == name
                && labels.iter().any(|(k, v)| k == "listener" && v == listener)
                && cause.is_none_or(|cause| labels.iter().any(|(k, v)| k == "cause" && v == cause))
        })
        .map(|(_, count)| count)
        .sum()
}

/// Polls [`counter`] until it reaches `want`; panics at the deadline.
pub async fn wait_for_counter(name: &str, listener: &str, cause: Option<&str>, want: u64) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let got = counter(name, listener, cause);
        if got >= want {
            assert_eq!(got, want, "{name}{{listener={listener}, cause={cause:?}}}");
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("{name}{{listener={listener}, cause={cause:?}}} is {got}, want {want}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
