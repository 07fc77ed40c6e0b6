//! TCP listener (RFC 6587), also the transport under the TLS listener.
//!
//! The accept loop takes a permit from the connection limit *before* it accepts,
//! so at the limit new connections wait in the kernel's accept queue instead of
//! being accepted and closed; senders see a slow connect, not a reset they would
//! retry in a tight loop. Senders outside the allow-list are closed at once.
//!
//! Each connection runs in its own task, inside a span carrying the listener and
//! the peer. The task reads into one buffer, frames it ([`Framer`]), and sends
//! what one read produced as one batch. It waits for queue room before reading
//! again: back-pressure reaches the sender through TCP flow control, and nothing
//! is dropped. The idle timeout covers reads only; a connection held up by a
//! full queue is not idle.
//!
//! On shutdown the loop stops accepting, each connection stops reading and hands
//! off the frames it has (waiting for room if it must), and the listener ends
//! once every connection task has. A partial message left in a buffer is lost.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::{Frame, FrameBatch, ListenerError, ListenerHandle, Shared};
use crate::config::listener::ListenerConfig;
use crate::document::Received;
use crate::framing::{Framer, FramingError};
use crate::telemetry::intake::{
    ConnectionClosed, ConnectionLimitReached, ConnectionOpened, DropCause, FramingFailed,
    ListenerStarted, ListenerStopped, MessagesDropped, MessagesReceived, SocketFailed,
    TlsHandshakeFailed,
};

/// Spare room made in a connection's buffer before each read, in bytes.
///
/// One read fills at most this much, which also bounds the bytes behind one batch.
const READ_BYTES: usize = 64 * 1024;

/// Longest a TLS handshake may take before the connection is dropped.
///
/// Without it a client that connects and says nothing holds a permit until the
/// idle timeout, which may be long or off.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause after a failed accept (out of file descriptors, say), so the loop does
/// not spin while the cause persists.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Settings every connection of one listener shares.
struct Connections {
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
    idle_timeout: Option<Duration>,
}

/// Binds the address and starts the accept loop.
pub(super) async fn spawn(
    config: &ListenerConfig,
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
) -> Result<ListenerHandle, ListenerError> {
    let address = config.address;
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| ListenerError::Bind { address, source })?;
    let local_addr = listener.local_addr().unwrap_or(address);
    ListenerStarted {
        listener: &shared.name,
        protocol: shared.protocol,
        address: local_addr,
        sockets: 1,
    }
    .emit();

    let limit = Arc::new(Semaphore::new(
        config.max_connections.min(Semaphore::MAX_PERMITS),
    ));
    let connections = Arc::new(Connections {
        shared,
        tls,
        idle_timeout: config.idle_timeout(),
    });
    let max_connections = config.max_connections;
    let task = tokio::spawn(accept_loop(listener, connections, limit, max_connections));
    Ok(ListenerHandle { local_addr, task })
}

async fn accept_loop(
    listener: TcpListener,
    connections: Arc<Connections>,
    limit: Arc<Semaphore>,
    max_connections: usize,
) {
    let shared = Arc::clone(&connections.shared);
    let tracker = TaskTracker::new();
    loop {
        // Wait for a free slot, then for a connection; either wait ends at shutdown.
        let permit = match Arc::clone(&limit).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                ConnectionLimitReached {
                    listener: &shared.name,
                    protocol: shared.protocol,
                    max_connections,
                    throttle: &shared.throttles.connection_limit,
                }
                .emit();
                tokio::select! {
                    _ = shared.shutdown.cancelled() => break,
                    permit = Arc::clone(&limit).acquire_owned() => {
                        permit.expect("the semaphore is never closed")
                    }
                }
            }
        };
        let accepted = tokio::select! {
            _ = shared.shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                SocketFailed {
                    listener: &shared.name,
                    protocol: shared.protocol,
                    operation: "accept",
                    error: &error,
                    throttle: &shared.throttles.socket,
                }
                .emit();
                tokio::select! {
                    _ = shared.shutdown.cancelled() => break,
                    _ = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => continue,
                }
            }
        };

        // A connection refused by the allow-list counts as one dropped message:
        // we cannot know how many it would have carried.
        if !shared.allow.allows(peer.ip().to_canonical()) {
            MessagesDropped {
                listener: &shared.name,
                protocol: shared.protocol,
                cause: DropCause::AllowList,
                messages: 1,
                throttle: &shared.throttles.allow_list,
            }
            .emit();
            continue;
        }

        let span = tracing::info_span!("connection", listener = %shared.name, peer = %peer);
        let connections = Arc::clone(&connections);
        tracker.spawn(connection(stream, peer, connections, permit).instrument(span));
    }

    // Stop accepting before waiting, so the port frees up at once.
    drop(listener);
    tracker.close();
    tracker.wait().await;
    ListenerStopped {
        listener: &shared.name,
        protocol: shared.protocol,
    }
    .emit();
}

/// Runs one connection to its end, TLS handshake first if configured.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    connections: Arc<Connections>,
    _permit: OwnedSemaphorePermit,
) {
    let shared = &*connections.shared;
    // Keep-alive probes let the idle timeout's job be done even when it is off.
    let _ = socket2::SockRef::from(&stream).set_keepalive(true);

    let Some(acceptor) = &connections.tls else {
        serve(stream, peer, &connections).await;
        return;
    };
    let handshake = tokio::select! {
        _ = shared.shutdown.cancelled() => return,
        handshake = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)) => handshake,
    };
    match handshake {
        Ok(Ok(stream)) => serve(stream, peer, &connections).await,
        Ok(Err(error)) => TlsHandshakeFailed {
            listener: &shared.name,
            error: &error,
        }
        .emit(),
        Err(elapsed) => TlsHandshakeFailed {
            listener: &shared.name,
            error: &elapsed,
        }
        .emit(),
    }
}

/// How a connection's read loop ended, for the close event.
#[derive(Debug, Clone, Copy)]
enum Ended {
    Eof,
    IdleTimeout,
    Shutdown,
    ReadError,
    QueueClosed,
}

impl Ended {
    fn as_str(self) -> &'static str {
        match self {
            Ended::Eof => "eof",
            Ended::IdleTimeout => "idle_timeout",
            Ended::Shutdown => "shutdown",
            Ended::ReadError => "read_error",
            Ended::QueueClosed => "queue_closed",
        }
    }
}

/// Reads, frames and hands off until the stream ends or shutdown.
async fn serve<S>(mut stream: S, peer: SocketAddr, connections: &Connections)
where
    S: AsyncRead + Unpin,
{
    let shared = &*connections.shared;
    ConnectionOpened {
        listener: &shared.name,
        protocol: shared.protocol,
    }
    .emit();
    let peer = peer.ip().to_canonical();
    let mut framer = Framer::new(shared.max_frame_bytes);
    let mut buffer = BytesMut::new();

    let ended = loop {
        buffer.reserve(READ_BYTES);
        let read = tokio::select! {
            biased;
            _ = shared.shutdown.cancelled() => break Ended::Shutdown,
            read = read_within(&mut stream, &mut buffer, connections.idle_timeout) => read,
        };
        let eof = match read {
            Ok(Some(0)) => true,
            Ok(Some(_)) => false,
            Ok(None) => break Ended::IdleTimeout,
            // A TLS peer that closes without close_notify; what it sent is whole.
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => true,
            Err(error) => {
                tracing::debug!(error = %error, "Read failed.");
                break Ended::ReadError;
            }
        };

        let (batch, misframed) = frame_all(&mut framer, &mut buffer, eof, peer);
        if let Some((first, messages)) = misframed {
            FramingFailed {
                listener: &shared.name,
                protocol: shared.protocol,
                first: &first,
                messages,
                throttle: &shared.throttles.framing,
            }
            .emit();
        }
        if !hand_off(shared, batch).await {
            break Ended::QueueClosed;
        }
        if eof {
            break Ended::Eof;
        }
    };

    if !buffer.is_empty() && !matches!(ended, Ended::Eof) {
        tracing::debug!(
            bytes = buffer.len(),
            "Discarded a partial message at close."
        );
    }
    ConnectionClosed {
        listener: &shared.name,
        protocol: shared.protocol,
        reason: ended.as_str(),
    }
    .emit();
}

/// One read, or `Ok(None)` if the idle timeout passed first.
async fn read_within<S>(
    stream: &mut S,
    buffer: &mut BytesMut,
    idle_timeout: Option<Duration>,
) -> io::Result<Option<usize>>
where
    S: AsyncRead + Unpin,
{
    match idle_timeout {
        None => stream.read_buf(buffer).await.map(Some),
        Some(limit) => match tokio::time::timeout(limit, stream.read_buf(buffer)).await {
            Ok(read) => read.map(Some),
            Err(_) => Ok(None),
        },
    }
}

/// Takes every complete frame out of `buffer`, with the first framing error
/// among them and how many frames had one.
fn frame_all(
    framer: &mut Framer,
    buffer: &mut BytesMut,
    eof: bool,
    peer: std::net::IpAddr,
) -> (FrameBatch, Option<(FramingError, usize)>) {
    let at = jiff::Timestamp::now();
    let mut batch = FrameBatch::new();
    let mut misframed: Option<(FramingError, usize)> = None;
    loop {
        let next = if eof {
            framer.decode_eof(buffer)
        } else {
            framer.decode(buffer)
        };
        let Some(frame) = next else {
            return (batch, misframed);
        };
        if let Some(error) = frame.error {
            misframed.get_or_insert((error, 0)).1 += 1;
        }
        batch.push(Frame {
            bytes: frame.bytes,
            received: Received {
                at,
                peer: Some(peer),
                truncated: frame.truncated,
                misframed: frame.error.is_some(),
            },
        });
    }
}

/// Sends a batch, waiting for queue room; returns false if the queue is closed.
async fn hand_off(shared: &Shared, batch: FrameBatch) -> bool {
    if batch.is_empty() {
        return true;
    }
    let messages = batch.len();
    let bytes = batch.iter().map(|frame| frame.bytes.len()).sum();
    let oversize = batch
        .iter()
        .filter(|frame| frame.received.truncated)
        .count();
    if shared.tx.send(batch).await.is_err() {
        return false;
    }
    MessagesReceived {
        listener: &shared.name,
        protocol: shared.protocol,
        messages,
        bytes,
    }
    .emit();
    MessagesDropped {
        listener: &shared.name,
        protocol: shared.protocol,
        cause: DropCause::Oversize,
        messages: oversize,
        throttle: &shared.throttles.oversize,
    }
    .emit();
    true
}
