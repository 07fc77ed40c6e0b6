//! UDP listener (RFC 5426): one datagram is one message.
//!
//! The listener opens `sockets` sockets on one port with `SO_REUSEPORT`, and the
//! kernel spreads senders over them by address hash. Each socket is read by one
//! blocking thread in a loop of `recvmmsg` calls, so a burst is taken in up to
//! [`BATCH_DATAGRAMS`] datagrams per system call, and reading never waits behind
//! CPU-bound parser work on the tokio workers. Tokio readiness plus a non-blocking
//! `recvmmsg` would also work; a dedicated thread was chosen so that a loaded
//! runtime cannot delay the drain of the kernel buffer.
//!
//! Each call's datagrams are copied into one shared buffer sized to fit them and
//! split into [`Frame`]s, then offered to the queue with `try_send`. If the queue
//! is full the batch is dropped and counted: blocking here would only move the
//! loss into the kernel buffer, and cost the reader its turn.
//!
//! The queue is bounded in batches, which alone would not bound memory: a batch
//! holds up to [`BATCH_DATAGRAMS`] datagrams of up to 64 KiB. So each reader also
//! keeps its batches' buffers in a list and counts the bytes of those still
//! referenced by a frame somewhere in the pipeline (a buffer is released once
//! the parsers have dropped every frame cut from it). A batch that would take
//! the count past the listener's `max_queued_bytes` share is dropped and counted
//! as `queue_full` too.
//!
//! Losses in the kernel buffer are read from the socket's running drop count
//! (`SO_MEMINFO`) once per batch and once per idle timeout, and the reader counts
//! the difference from the last one it saw. `SO_RXQ_OVFL` would attach the same
//! count to every datagram, at the price of a control message per datagram, and
//! would report a loss only when another datagram followed it.
//!
//! The threads check for shutdown after every call, and the sockets carry a
//! receive timeout of [`SHUTDOWN_POLL`] so that an idle socket notices too.

use std::collections::VecDeque;
use std::io;
use std::mem;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::mpsc::error::TrySendError;

use super::recvmmsg::{kernel_drop_count, Datagrams, BATCH_DATAGRAMS};
use super::{Frame, FrameBatch, ListenerError, ListenerHandle, Shared};
use crate::config::listener::ListenerConfig;
use crate::document::Received;
use crate::framing::trim_trailer;
use crate::telemetry::intake::{
    DropCause, ListenerStarted, ListenerStopped, MessagesDropped, MessagesReceived,
    ReceiveBufferGranted, SocketFailed,
};

/// The largest UDP payload; slots never need more.
const MAX_DATAGRAM_BYTES: usize = 65_535;

/// How long an idle reader blocks before it checks for shutdown.
const SHUTDOWN_POLL: Duration = Duration::from_millis(100);

/// Pause after a failed `recvmmsg`, so a persistent error cannot spin a core.
const ERROR_PAUSE: Duration = Duration::from_millis(10);

/// Binds the sockets, starts one reader per socket and a task that waits for them.
pub(super) fn spawn(
    config: &ListenerConfig,
    shared: Arc<Shared>,
) -> Result<ListenerHandle, ListenerError> {
    // The first socket resolves port 0; the others join it on the same port.
    let (first, granted_bytes) = open_socket(config.address, config.receive_buffer_bytes)?;
    let local_addr = first.local_addr().ok().and_then(|addr| addr.as_socket());
    let local_addr = local_addr.unwrap_or(config.address);
    let mut sockets = vec![first];
    for _ in 1..config.socket_count() {
        sockets.push(open_socket(local_addr, config.receive_buffer_bytes)?.0);
    }

    if config.receive_buffer_bytes > 0 {
        ReceiveBufferGranted {
            listener: &shared.name,
            requested_bytes: config.receive_buffer_bytes,
            granted_bytes,
        }
        .emit();
    }
    ListenerStarted {
        listener: &shared.name,
        protocol: shared.protocol,
        address: local_addr,
        sockets: sockets.len(),
    }
    .emit();

    let slot_bytes = config.max_frame_bytes.clamp(1, MAX_DATAGRAM_BYTES);
    // Each reader gets an equal share, but always room for one full batch.
    let queued_bytes_share =
        (config.max_queued_bytes / sockets.len().max(1)).max(slot_bytes * BATCH_DATAGRAMS);
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|socket| {
            let reader = Reader::new(socket, Arc::clone(&shared), slot_bytes, queued_bytes_share);
            tokio::task::spawn_blocking(move || reader.run())
        })
        .collect();

    let task = tokio::spawn(async move {
        for reader in readers {
            if let Err(error) = reader.await {
                // Let `ListenerHandle::join` report the panic.
                std::panic::resume_unwind(error.into_panic());
            }
        }
        ListenerStopped {
            listener: &shared.name,
            protocol: shared.protocol,
        }
        .emit();
    });
    Ok(ListenerHandle { local_addr, task })
}

/// Creates one UDP socket bound to `address`; returns it and its granted
/// receive buffer size.
fn open_socket(
    address: SocketAddr,
    receive_buffer_bytes: usize,
) -> Result<(Socket, usize), ListenerError> {
    let failed = |option: &'static str| {
        move |source| ListenerError::SocketOption {
            address,
            option,
            source,
        }
    };
    let socket = Socket::new(
        Domain::for_address(address),
        Type::DGRAM,
        Some(Protocol::UDP),
    )
    .map_err(failed("socket"))?;
    socket
        .set_reuse_port(true)
        .map_err(failed("SO_REUSEPORT"))?;
    let granted =
        request_receive_buffer(&socket, receive_buffer_bytes).map_err(failed("SO_RCVBUF"))?;
    // Fails early, at start, on a kernel that cannot report drops.
    kernel_drop_count(socket.as_raw_fd()).map_err(failed("SO_MEMINFO"))?;
    socket
        .set_read_timeout(Some(SHUTDOWN_POLL))
        .map_err(failed("SO_RCVTIMEO"))?;
    socket
        .bind(&address.into())
        .map_err(|source| ListenerError::Bind { address, source })?;
    Ok((socket, granted))
}

/// Asks for `requested` bytes of receive buffer (0 keeps the kernel default)
/// and returns what the kernel reports.
fn request_receive_buffer(socket: &Socket, requested: usize) -> io::Result<usize> {
    if requested == 0 {
        return socket.recv_buffer_size();
    }
    socket.set_recv_buffer_size(requested)?;
    let granted = socket.recv_buffer_size()?;

    // Linux doubles the request for its bookkeeping; less than double means it
    // was capped at net.core.rmem_max. SO_RCVBUFFORCE passes the cap when the
    // process has CAP_NET_ADMIN, and fails harmlessly when it has not.
    if granted < requested.saturating_mul(2) {
        let value = libc::c_int::try_from(requested).unwrap_or(libc::c_int::MAX);
        if set_int_option(socket, libc::SO_RCVBUFFORCE, value).is_ok() {
            return socket.recv_buffer_size();
        }
    }
    Ok(granted)
}

fn set_int_option(socket: &Socket, option: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: the fd is open for the socket's lifetime, and the value pointer
    // and length describe one live c_int.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&value as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// One socket's read loop.
struct Reader {
    socket: Socket,
    shared: Arc<Shared>,
    datagrams: Datagrams,
    /// The socket's drop count when it was last read.
    kernel_drops_seen: u32,
    /// Per-call scratch: which datagrams become frames, reused across calls.
    kept: Vec<Kept>,
    /// The buffers of batches handed to the queue, oldest first, with their
    /// sizes; released from the front once no frame refers to them.
    queued: VecDeque<(Bytes, usize)>,
    /// Sum of the sizes in `queued`.
    queued_bytes: usize,
    /// Most bytes `queued` may hold before batches are dropped.
    max_queued_bytes: usize,
}

/// A datagram that passed the allow-list, located in the receive buffers.
struct Kept {
    index: usize,
    len: usize,
    peer: IpAddr,
    truncated: bool,
}

impl Reader {
    fn new(
        socket: Socket,
        shared: Arc<Shared>,
        slot_bytes: usize,
        max_queued_bytes: usize,
    ) -> Reader {
        Reader {
            socket,
            shared,
            datagrams: Datagrams::new(slot_bytes),
            kernel_drops_seen: 0,
            kept: Vec::with_capacity(BATCH_DATAGRAMS),
            queued: VecDeque::new(),
            queued_bytes: 0,
            max_queued_bytes,
        }
    }

    /// Forgets the oldest buffers no frame refers to any more. A buffer freed
    /// out of order stays counted until those before it go: an overcount, never
    /// an undercount.
    fn release_queued(&mut self) {
        while let Some((buffer, size)) = self.queued.front() {
            if !buffer.is_unique() {
                break;
            }
            self.queued_bytes -= size;
            self.queued.pop_front();
        }
    }

    /// Reads until shutdown or until the queue's receiver is gone.
    ///
    /// The receiver check matters on error paths: a runtime being dropped waits
    /// for its blocking threads, so a reader that only watched for shutdown
    /// would hang a process that never cancelled it.
    fn run(mut self) {
        let fd = self.socket.as_raw_fd();
        while !self.shared.shutdown.is_cancelled() && !self.shared.tx.is_closed() {
            let count = match self.datagrams.receive(fd) {
                Ok(count) => count,
                Err(error) if is_timeout(&error) => {
                    // Idle: losses of a burst that ended are counted now.
                    self.count_kernel_drops();
                    continue;
                }
                Err(error) => {
                    SocketFailed {
                        listener: &self.shared.name,
                        protocol: self.shared.protocol,
                        operation: "receive",
                        error: &error,
                        throttle: &self.shared.throttles.socket,
                    }
                    .emit();
                    std::thread::sleep(ERROR_PAUSE);
                    continue;
                }
            };
            if !self.hand_off(count) {
                return;
            }
        }
    }

    /// Turns the first `count` datagrams into a batch and offers it to the
    /// queue; returns false when the queue is closed.
    fn hand_off(&mut self, count: usize) -> bool {
        self.release_queued();
        // Count what the kernel lost before anything else can fail.
        self.count_kernel_drops();
        let shared = &*self.shared;

        // Pass 1: filter senders, strip trailers.
        self.kept.clear();
        let (mut denied, mut oversize, mut total_bytes) = (0, 0, 0);
        for index in 0..count {
            let datagram = self.datagrams.get(index);
            let Some(peer) = datagram.peer else { continue };
            let peer = peer.ip().to_canonical();
            if !shared.allow.allows(peer) {
                denied += 1;
                continue;
            }
            let len = trim_trailer(datagram.payload);
            if len == 0 {
                continue;
            }
            oversize += usize::from(datagram.truncated);
            total_bytes += len;
            self.kept.push(Kept {
                index,
                len,
                peer,
                truncated: datagram.truncated,
            });
        }

        // Over the memory share: the parsers are behind; drop like a full queue.
        let mut over_budget = 0;
        if self.queued_bytes + total_bytes > self.max_queued_bytes {
            over_budget = self.kept.len();
            self.kept.clear();
            total_bytes = 0;
        }

        // Pass 2: copy the payloads into one buffer sized for them and split it.
        let at = jiff::Timestamp::now();
        let mut buffer = BytesMut::with_capacity(total_bytes);
        for kept in &self.kept {
            buffer.extend_from_slice(&self.datagrams.get(kept.index).payload[..kept.len]);
        }
        let whole = buffer.freeze();
        let mut offset = 0;
        let batch: FrameBatch = self
            .kept
            .iter()
            .map(|kept| Frame {
                bytes: {
                    offset += kept.len;
                    whole.slice(offset - kept.len..offset)
                },
                received: Received {
                    at,
                    peer: Some(kept.peer),
                    truncated: kept.truncated,
                    misframed: false,
                },
            })
            .collect();

        self.dropped(DropCause::AllowList, denied);
        self.dropped(DropCause::Oversize, oversize);
        self.dropped(DropCause::QueueFull, over_budget);

        if batch.is_empty() {
            return true;
        }
        let messages = batch.len();
        match shared.tx.try_send(batch) {
            Ok(()) => {
                self.queued_bytes += total_bytes;
                self.queued.push_back((whole, total_bytes));
                MessagesReceived {
                    listener: &shared.name,
                    protocol: shared.protocol,
                    messages,
                    bytes: total_bytes,
                }
                .emit();
                true
            }
            Err(TrySendError::Full(_)) => {
                self.dropped(DropCause::QueueFull, messages);
                true
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }

    /// Counts the datagrams the kernel dropped since the last reading. A failed
    /// reading (not seen on Linux once the socket is open) counts nothing; the
    /// next one catches up, as the kernel's count only grows.
    fn count_kernel_drops(&mut self) {
        if let Ok(total) = kernel_drop_count(self.socket.as_raw_fd()) {
            let lost = total.wrapping_sub(self.kernel_drops_seen);
            self.kernel_drops_seen = total;
            self.dropped(DropCause::Kernel, lost as usize);
        }
    }

    fn dropped(&self, cause: DropCause, messages: usize) {
        let throttles = &self.shared.throttles;
        let throttle = match cause {
            DropCause::Kernel => &throttles.kernel,
            DropCause::AllowList => &throttles.allow_list,
            DropCause::Oversize => &throttles.oversize,
            DropCause::QueueFull => &throttles.queue_full,
        };
        MessagesDropped {
            listener: &self.shared.name,
            protocol: self.shared.protocol,
            cause,
            messages,
            throttle,
        }
        .emit();
    }
}

/// The receive timeout expired or a signal interrupted the call: not an error.
fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads everything queued on `socket`; returns the datagram count.
    fn drain(socket: &Socket, datagrams: &mut Datagrams) -> usize {
        let mut count = 0;
        loop {
            match datagrams.receive(socket.as_raw_fd()) {
                Ok(n) => count += n,
                Err(error) if is_timeout(&error) => return count,
                Err(error) => panic!("{error}"),
            }
        }
    }

    #[test]
    fn kernel_drops_are_read_without_a_datagram_after_the_loss() {
        // The smallest buffer the kernel allows, flooded while nobody reads.
        let (socket, granted) = open_socket("127.0.0.1:0".parse().unwrap(), 1).unwrap();
        assert!(granted > 0);
        assert_eq!(kernel_drop_count(socket.as_raw_fd()).unwrap(), 0);
        let addr = socket.local_addr().unwrap().as_socket().unwrap();
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for _ in 0..200 {
            sender.send_to(&[b'x'; 1000], addr).unwrap();
        }

        let mut datagrams = Datagrams::new(2048);
        let kept = drain(&socket, &mut datagrams);
        assert!(kept < 200, "the buffer held all 200 datagrams");
        assert_eq!(
            kernel_drop_count(socket.as_raw_fd()).unwrap(),
            (200 - kept) as u32
        );
    }
}
