//! Events of the intake side: listeners, connections and the messages they take in.
//!
//! Each struct is one notable event; its `emit()` logs through `tracing` and
//! counts through `metrics` with the same labels, so a log line and a metric never
//! disagree about what happened. Listeners emit once per batch (one `recvmmsg`
//! call, one TCP read), never once per message.
//!
//! Every metric carries `listener` (the configured name) and `protocol` (`udp`,
//! `tcp`, `tls`). Connection events are emitted inside the connection's span, which
//! carries the peer address, so they do not repeat it.
//!
//! Drops are data loss and log at error level, but a flood of them would drown
//! the log, so those lines are written at most once per second per listener
//! and cause ([`Throttle`]); the counters always count everything.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use metrics::{counter, describe_counter, describe_gauge, gauge, Unit};
use tracing::{debug, error, info, warn};

/// Registers descriptions for the intake metrics; call once after installing
/// the exporter.
pub fn describe() {
    describe_counter!(
        "listener_received_messages_total",
        Unit::Count,
        "Messages received and handed to the pipeline queue."
    );
    describe_counter!(
        "listener_received_bytes_total",
        Unit::Bytes,
        "Bytes of the messages received, after framing."
    );
    describe_counter!(
        "listener_dropped_messages_total",
        Unit::Count,
        "Messages lost or cut before the pipeline, by cause: kernel (UDP receive buffer \
         overflow), allow_list (sender not allowed), oversize (cut to max_frame_bytes; the \
         head is still delivered), queue_full (UDP only: pipeline queue full)."
    );
    describe_gauge!(
        "listener_connections_active",
        Unit::Count,
        "TCP and TLS connections open now."
    );
    describe_counter!(
        "listener_connections_opened_total",
        Unit::Count,
        "TCP and TLS connections accepted."
    );
    describe_counter!(
        "listener_framing_errors_total",
        Unit::Count,
        "Messages whose octet count was invalid; each was read up to its next LF or NUL \
         instead, kept and tagged, and the connection stayed open."
    );
    describe_counter!(
        "listener_tls_handshake_errors_total",
        Unit::Count,
        "TLS handshakes that failed or timed out."
    );
    describe_gauge!(
        "listener_receive_buffer_bytes",
        Unit::Bytes,
        "Receive buffer the kernel granted to each UDP socket."
    );
}

/// Why messages did not reach the pipeline whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropCause {
    /// The kernel's socket receive buffer overflowed (UDP, the socket's drop count).
    Kernel,
    /// The sender is not on the listener's allow-list.
    AllowList,
    /// The message was longer than `max_frame_bytes`: its head was delivered
    /// flagged truncated, its tail discarded.
    Oversize,
    /// The pipeline queue was full (UDP only; TCP waits instead).
    QueueFull,
}

impl DropCause {
    /// The `cause` label.
    pub fn as_str(&self) -> &'static str {
        match self {
            DropCause::Kernel => "kernel",
            DropCause::AllowList => "allow_list",
            DropCause::Oversize => "oversize",
            DropCause::QueueFull => "queue_full",
        }
    }
}

/// Lets a log line through at most once per second; shared by one emitter.
///
/// What the lines it holds back would have said is not lost: [`Throttle::tally`]
/// adds it up and the next line that goes through reports the sum.
#[derive(Debug, Default)]
pub struct Throttle {
    last_second: AtomicU64,
    /// Messages counted since the last line that went through.
    held_back: AtomicU64,
}

impl Throttle {
    /// Whether a line may be logged now; if so, the next one waits a second.
    pub fn allow(&self) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.last_second.load(Ordering::Relaxed);
        now != last
            && self
                .last_second
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Adds `messages` to the tally; when a line may be logged now, returns the
    /// tally since the last line (these messages included) and starts a new one.
    pub fn tally(&self, messages: u64) -> Option<u64> {
        self.held_back.fetch_add(messages, Ordering::Relaxed);
        self.allow()
            .then(|| self.held_back.swap(0, Ordering::Relaxed))
    }
}

/// A listener bound its sockets and is receiving.
#[derive(Debug)]
pub struct ListenerStarted<'a> {
    pub listener: &'a str,
    pub protocol: &'static str,
    pub address: SocketAddr,
    /// UDP sockets sharing the port; 1 for TCP and TLS.
    pub sockets: usize,
}

impl ListenerStarted<'_> {
    pub fn emit(&self) {
        info!(
            listener = self.listener,
            protocol = self.protocol,
            address = %self.address,
            sockets = self.sockets,
            "Listener started."
        );
    }
}

/// A listener stopped after shutdown and handed off what it had read.
#[derive(Debug)]
pub struct ListenerStopped<'a> {
    pub listener: &'a str,
    pub protocol: &'static str,
}

impl ListenerStopped<'_> {
    pub fn emit(&self) {
        info!(
            listener = self.listener,
            protocol = self.protocol,
            "Listener stopped."
        );
    }
}

/// The kernel answered a UDP socket's receive buffer request.
#[derive(Debug)]
pub struct ReceiveBufferGranted<'a> {
    pub listener: &'a str,
    pub requested_bytes: usize,
    /// What `SO_RCVBUF` reads back; Linux reports twice the usable size.
    pub granted_bytes: usize,
}

impl ReceiveBufferGranted<'_> {
    pub fn emit(&self) {
        if self.granted_bytes < self.requested_bytes {
            warn!(
                listener = self.listener,
                requested_bytes = self.requested_bytes,
                granted_bytes = self.granted_bytes,
                "UDP receive buffer smaller than requested; raise net.core.rmem_max or grant \
                 CAP_NET_ADMIN."
            );
        } else {
            info!(
                listener = self.listener,
                requested_bytes = self.requested_bytes,
                granted_bytes = self.granted_bytes,
                "UDP receive buffer granted."
            );
        }
        gauge!("listener_receive_buffer_bytes", "listener" => self.listener.to_owned())
            .set(self.granted_bytes as f64);
    }
}

/// A batch of messages was handed to the pipeline queue.
#[derive(Debug)]
pub struct MessagesReceived<'a> {
    pub listener: &'a str,
    pub protocol: &'static str,
    pub messages: usize,
    pub bytes: usize,
}

impl MessagesReceived<'_> {
    pub fn emit(&self) {
        debug!(
            listener = self.listener,
            protocol = self.protocol,
            messages = self.messages,
            bytes = self.bytes,
            "Received a batch."
        );
        let labels = [
            ("listener", self.listener.to_owned()),
            ("protocol", self.protocol.into()),
        ];
        counter!("listener_received_messages_total", &labels).increment(self.messages as u64);
        counter!("listener_received_bytes_total", &labels).increment(self.bytes as u64);
    }
}

/// Messages were lost (or cut) before reaching the pipeline.
#[derive(Debug)]
pub struct MessagesDropped<'a> {
    pub listener: &'a str,
    pub protocol: &'static str,
    pub cause: DropCause,
    pub messages: usize,
    /// Limits the log lines of this listener and cause; counting is never limited.
    pub throttle: &'a Throttle,
}

impl MessagesDropped<'_> {
    pub fn emit(&self) {
        if self.messages == 0 {
            return;
        }
        let (listener, protocol, cause) = (self.listener, self.protocol, self.cause.as_str());
        let messages = self.messages;
        match self.cause {
            // Deliberate, and the metric says all there is to say.
            DropCause::AllowList => {
                debug!(
                    listener,
                    protocol, cause, messages, "Dropped messages from a sender not allowed."
                )
            }
            DropCause::Oversize => {
                if let Some(messages) = self.throttle.tally(messages as u64) {
                    warn!(
                        listener,
                        protocol,
                        cause,
                        messages,
                        "Cut messages longer than max_frame_bytes (count since the last such line)."
                    )
                }
            }
            DropCause::Kernel | DropCause::QueueFull => {
                if let Some(messages) = self.throttle.tally(messages as u64) {
                    error!(
                        listener,
                        protocol,
                        cause,
                        messages,
                        "Dropped messages (count since the last such line)."
                    )
                }
            }
        }
        counter!(
            "listener_dropped_messages_total",
            "listener" => listener.to_owned(),
            "protocol" => protocol,
            "cause" => cause
        )
        .increment(messages as u64);
    }
}

/// A TCP or TLS connection was accepted (and, for TLS, its handshake finished).
#[derive(Debug)]
pub struct ConnectionOpened<'a> {
    pub listener: &'a str,
    pub protocol: &'static str,
}

impl ConnectionOpened<'_> {
    pub fn emit(&self) {
        debug!(
            listener = self.listener,
            protocol = self.protocol,
            "Connection opened."
        );
        let labels = [
            ("listener", self.listener.to_owned()),
            ("protocol", self.protocol.into()),
        ];
        counter!("listener_connections_opened_total", &labels).increment(1);
        gauge!("listener_connections_active", &labels).increment(1.0);
    }
}

/// A connection that [`ConnectionOpened`] counted has ended.
#[derive(Debug)]
pub struct ConnectionClosed<'a> {
    pub listener: &'a str,
    pub protocol: &'static str,
    /// `eof`, `idle_timeout`, `shutdown`, `read_error` or `queue_closed`.
    pub reason: &'static str,
}

impl ConnectionClosed<'_> {
    pub fn emit(&self) {
        debug!(
            listener = self.listener,
            protocol = self.protocol,
            reason = self.reason,
            "Connection closed."
        );
        let labels = [
            ("listener", self.listener.to_owned()),
            ("protocol", self.protocol.into()),
        ];
        gauge!("listener_connections_active", &labels).decrement(1.0);
    }
}

/// Messages of one read came with an invalid octet count; each was read up to
/// its delimiter instead, kept and tagged, and the connection stays open.
#[derive(Debug)]
pub struct FramingFailed<'a> {
    pub listener: &'a str,
    pub protocol: &'static str,
    /// The first error of the read.
    pub first: &'a crate::framing::FramingError,
    /// Messages of the read that had one.
    pub messages: usize,
    pub throttle: &'a Throttle,
}

impl FramingFailed<'_> {
    pub fn emit(&self) {
        if let Some(messages) = self.throttle.tally(self.messages as u64) {
            warn!(
                listener = self.listener,
                protocol = self.protocol,
                messages,
                error = %self.first,
                "Read messages with an invalid octet count up to their end (count since the last such line)."
            );
        }
        let labels = [
            ("listener", self.listener.to_owned()),
            ("protocol", self.protocol.into()),
        ];
        counter!("listener_framing_errors_total", &labels).increment(self.messages as u64);
    }
}

/// A TLS handshake failed or timed out; the connection is dropped.
#[derive(Debug)]
pub struct TlsHandshakeFailed<'a> {
    pub listener: &'a str,
    pub error: &'a (dyn std::error::Error + 'static),
}

impl TlsHandshakeFailed<'_> {
    pub fn emit(&self) {
        let error = super::error_chain(self.error);
        warn!(listener = self.listener, error, "TLS handshake failed.");
        counter!("listener_tls_handshake_errors_total", "listener" => self.listener.to_owned())
            .increment(1);
    }
}

/// Accepting a connection or reading a socket failed; the listener goes on.
#[derive(Debug)]
pub struct SocketFailed<'a> {
    pub listener: &'a str,
    pub protocol: &'static str,
    /// `accept`, `read` or `receive`.
    pub operation: &'static str,
    pub error: &'a (dyn std::error::Error + 'static),
    pub throttle: &'a Throttle,
}

impl SocketFailed<'_> {
    pub fn emit(&self) {
        if self.throttle.allow() {
            warn!(
                listener = self.listener,
                protocol = self.protocol,
                operation = self.operation,
                error = super::error_chain(self.error),
                "Socket operation failed; retrying."
            );
        }
    }
}

/// The connection limit is reached: new connections wait in the accept queue.
#[derive(Debug)]
pub struct ConnectionLimitReached<'a> {
    pub listener: &'a str,
    pub protocol: &'static str,
    pub max_connections: usize,
    pub throttle: &'a Throttle,
}

impl ConnectionLimitReached<'_> {
    pub fn emit(&self) {
        if self.throttle.allow() {
            warn!(
                listener = self.listener,
                protocol = self.protocol,
                max_connections = self.max_connections,
                "Connection limit reached; new connections wait until one closes."
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_lets_one_line_through_per_second() {
        let throttle = Throttle::default();
        assert!(throttle.allow());
        assert!(!throttle.allow());
    }

    /// Regression: a flood of UDP drops logged `messages=1` once a second while
    /// the counter said thousands; the held-back batches now add up.
    #[test]
    fn throttle_reports_what_it_held_back() {
        let throttle = Throttle::default();
        assert_eq!(throttle.tally(1), Some(1));
        assert_eq!(throttle.tally(20), None);
        assert_eq!(throttle.tally(300), None);
        throttle.last_second.store(0, Ordering::Relaxed); // As if a second passed.
        assert_eq!(throttle.tally(4), Some(324));
        assert_eq!(throttle.tally(5), None);
    }
}
