//! Listeners: receive syslog over UDP, TCP and TLS and hand frames to the pipeline.
//!
//! This is the first stage of the flow: sockets in, [`FrameBatch`]es out, into a
//! bounded `tokio::sync::mpsc` queue that the pipeline workers drain. Each
//! configured `[[listener]]` becomes one running listener:
//!
//! - **UDP** ([`udp`]): `sockets` sockets share the port through `SO_REUSEPORT`;
//!   each is read by its own OS thread with `recvmmsg`, so reading never waits
//!   behind parser work on the tokio workers. One datagram is one frame. When the
//!   queue is full, the batch is dropped and counted (`try_send`): a UDP reader
//!   that waited would only move the loss into the kernel's buffer.
//! - **TCP** ([`tcp`]) and **TLS** ([`tls`], RFC 5425): one task per connection,
//!   under a connection limit. The framing (octet counting or LF/NUL) is told
//!   from each connection's first bytes ([`crate::framing`]). When the queue is
//!   full, the connection stops reading until there is room: TCP never drops,
//!   it pushes back on the sender.
//!
//! Every listener filters senders through its allow-list ([`allow`]) and
//! stamps each frame with a [`Received`]: the receive time (taken once per
//! batch), the sender's address, and whether the framer cut the message.
//!
//! # API for the run command
//!
//! ```ignore
//! pub async fn spawn_listener(
//!     config: &ListenerConfig,              // one [[listener]] entry
//!     name: String,                         // the `listener` label on metrics and logs
//!     tx: mpsc::Sender<FrameBatch>,         // the bounded pipeline queue
//!     shutdown: CancellationToken,          // tokio_util::sync::CancellationToken
//! ) -> Result<ListenerHandle, ListenerError>;
//!
//! impl ListenerHandle {
//!     pub fn local_addr(&self) -> SocketAddr;   // the bound address (port 0 resolved)
//!     pub async fn join(self) -> Result<(), tokio::task::JoinError>;
//! }
//! ```
//!
//! Call it inside a tokio runtime, once per listener. It validates the entry,
//! loads TLS files, binds every socket and only then returns, so a busy port or
//! a bad certificate fails start-up instead of a background task. Its tasks run
//! until `shutdown` is cancelled; they then stop accepting and reading, hand off
//! the frames already read (TCP waits for queue room to do so, UDP does not), and
//! end. `join` resolves once all of them have ended. UDP readers also stop, within
//! 100 ms, once the queue's receiver is dropped; their threads come from tokio's
//! blocking pool, which a runtime waits for when it is dropped.
//!
//! The pipeline must therefore keep draining the queue until every handle has
//! been joined; after that the listeners have dropped their `Sender` clones, so
//! once the run command drops its own, the queue's receiver sees the end.
//!
//! Metrics and log events are in [`crate::telemetry::intake`]; call its
//! `describe()` once after installing the exporter.

pub mod allow;
mod recvmmsg;
mod tcp;
pub(crate) mod tls;
mod udp;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::config::listener::{ListenerConfig, ListenerConfigError, ListenerKind};
use crate::document::Received;
use crate::telemetry::intake::Throttle;

pub use allow::{AllowList, Cidr};
pub use tls::TlsError;

/// One syslog message as received: a whole frame, never a partial one.
#[derive(Debug, Clone)]
pub struct Frame {
    pub bytes: Bytes,
    pub received: Received,
}

/// Frames travel in batches so that queue operations are paid per batch, not per message.
pub type FrameBatch = Vec<Frame>;

/// Why a listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    #[error("invalid listener config")]
    Config(#[from] ListenerConfigError),
    #[error("cannot bind {address}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot set {option} on the socket for {address}")]
    SocketOption {
        address: SocketAddr,
        option: &'static str,
        source: std::io::Error,
    },
    #[error("cannot set up TLS for {address}")]
    Tls {
        address: SocketAddr,
        source: TlsError,
    },
}

/// A started listener: where it is bound, and its tasks to wait for.
#[derive(Debug)]
pub struct ListenerHandle {
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl ListenerHandle {
    /// The address the listener is bound to, with port 0 resolved.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Waits until the listener has stopped after shutdown and handed off what
    /// it read. An error means one of its tasks panicked.
    pub async fn join(self) -> Result<(), JoinError> {
        self.task.await
    }

    /// The task that ends when the listener has stopped, e.g. for a `JoinSet`.
    pub fn into_join_handle(self) -> JoinHandle<()> {
        self.task
    }
}

/// Validates `config`, binds its sockets and starts receiving into `tx`.
///
/// See the module documentation for what happens on shutdown.
pub async fn spawn_listener(
    config: &ListenerConfig,
    name: String,
    tx: mpsc::Sender<FrameBatch>,
    shutdown: CancellationToken,
) -> Result<ListenerHandle, ListenerError> {
    config.validate()?;
    let shared = Arc::new(Shared {
        name,
        protocol: config.kind.as_str(),
        allow: AllowList::new(&config.allow),
        max_frame_bytes: config.max_frame_bytes,
        tx,
        shutdown,
        throttles: Throttles::default(),
    });

    match config.kind {
        ListenerKind::Udp => udp::spawn(config, shared),
        ListenerKind::Tcp => tcp::spawn(config, shared, None).await,
        ListenerKind::Tls => {
            let tls = config.tls.as_ref().expect("validate() demands a tls table");
            let acceptor = tls::acceptor(tls).map_err(|source| ListenerError::Tls {
                address: config.address,
                source,
            })?;
            tcp::spawn(config, shared, Some(acceptor)).await
        }
    }
}

/// What every task of one listener needs.
#[derive(Debug)]
struct Shared {
    name: String,
    protocol: &'static str,
    allow: AllowList,
    max_frame_bytes: usize,
    tx: mpsc::Sender<FrameBatch>,
    shutdown: CancellationToken,
    throttles: Throttles,
}

/// One log throttle per kind of repeated warning, shared by a listener's tasks.
#[derive(Debug, Default)]
struct Throttles {
    kernel: Throttle,
    queue_full: Throttle,
    oversize: Throttle,
    framing: Throttle,
    allow_list: Throttle,
    socket: Throttle,
    connection_limit: Throttle,
}
