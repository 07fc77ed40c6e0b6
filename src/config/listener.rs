//! `[[listener]]`: one socket (or set of sockets) that receives syslog.
//!
//! Each entry becomes one running listener (`crate::listener::spawn_listener`).
//! Only `kind` and `address` are required; everything else has a default sized
//! for a few hundred routers sending NAT session logs.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::framing::DEFAULT_MAX_FRAME_BYTES;
use crate::listener::allow::Cidr;

/// The transport a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ListenerKind {
    /// Syslog over UDP (RFC 5426): one datagram is one message.
    Udp,
    /// Syslog over TCP (RFC 6587), octet-counted or newline-delimited.
    Tcp,
    /// Syslog over TLS (RFC 5425); needs the `tls` table.
    Tls,
}

impl ListenerKind {
    /// The `protocol` label on this listener's metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            ListenerKind::Udp => "udp",
            ListenerKind::Tcp => "tcp",
            ListenerKind::Tls => "tls",
        }
    }
}

/// One `[[listener]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    /// The transport: `udp`, `tcp` or `tls`. Required.
    pub kind: ListenerKind,

    /// Address and port to bind, e.g. `0.0.0.0:514` or `[::]:6514`. Required.
    ///
    /// Port 0 picks a free port, which is logged at start (meant for tests).
    pub address: SocketAddr,

    /// Kernel receive buffer requested for each UDP socket, in bytes.
    ///
    /// Absorbs bursts while the reader thread is busy; when it overflows the
    /// kernel drops datagrams (counted as `cause="kernel"`). The kernel caps the
    /// request at `net.core.rmem_max` unless nat-ingest runs with
    /// `CAP_NET_ADMIN`; the size granted is logged at start. `0` keeps the
    /// kernel's default. Ignored for TCP and TLS. Default 33554432 (32 MiB):
    /// at 300,000 datagrams/s that rides out a reader held off the CPU for a
    /// tenth of a second, where 8 MiB lost a few thousand datagrams in some
    /// loopback runs on two shared cores (`benches/run.sh udp`). The memory is
    /// taken only while datagrams wait.
    #[serde(default = "default_receive_buffer_bytes")]
    pub receive_buffer_bytes: usize,

    /// UDP sockets bound to the same port with `SO_REUSEPORT`, each read by its
    /// own thread.
    ///
    /// The kernel spreads senders over the sockets by address hash, so one busy
    /// router still lands on one socket. `0` means one per CPU core. Ignored for
    /// TCP and TLS. Default 0.
    #[serde(default)]
    pub sockets: usize,

    /// Bytes of received UDP datagrams that may wait in the pipeline queue or
    /// be in the parsers at once, shared evenly by the listener's sockets.
    ///
    /// Bounds memory when the parsers fall behind; past it, datagrams are
    /// dropped (counted as `cause="queue_full"`). Ignored for TCP and TLS,
    /// which stop reading instead. Default 268435456 (256 MiB).
    #[serde(default = "default_max_queued_bytes")]
    pub max_queued_bytes: usize,

    /// Longest message handed on whole, in bytes.
    ///
    /// A longer message is cut to this size and its document tagged truncated;
    /// the rest of it is discarded (counted as `cause="oversize"`). Bounds the
    /// memory one connection can hold. Default 65536 (64 KiB); UDP cannot carry
    /// more than 65507 bytes anyway.
    #[serde(default = "default_max_frame_bytes")]
    pub max_frame_bytes: usize,

    /// Open TCP or TLS connections served at once.
    ///
    /// Past the limit, new connections wait in the kernel's accept queue until
    /// one closes. Bounds memory and file descriptors against a reconnect storm.
    /// Ignored for UDP. Default 1024.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,

    /// Seconds a TCP or TLS connection may stay silent before it is closed.
    ///
    /// Frees connections whose sender vanished without a FIN. `0` disables the
    /// timeout. Ignored for UDP. Default 600 (10 minutes).
    #[serde(default = "default_idle_timeout_secs")]
    pub idle_timeout_secs: u64,

    /// Sender networks accepted, in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`).
    ///
    /// Datagrams and connections from other addresses are dropped and counted as
    /// `cause="allow_list"`. Default: empty, which accepts every sender.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<Cidr>,

    /// Certificate and key for `kind = "tls"`; required there, refused elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
}

/// The `tls` table of a TLS listener.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file holding the server certificate, followed by any intermediates.
    /// Required.
    pub cert_file: PathBuf,

    /// PEM file holding the certificate's private key (PKCS#8, PKCS#1 or SEC1).
    /// Required.
    pub key_file: PathBuf,

    /// PEM file of CA certificates that client certificates must chain to.
    ///
    /// When set, a client without a valid certificate is refused during the
    /// handshake (RFC 5425 mutual authentication). Default: unset, which accepts
    /// any client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca_file: Option<PathBuf>,
}

/// A listener entry that parses but cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenerConfigError {
    #[error("listener on {address}: kind \"tls\" needs a `tls` table with cert_file and key_file")]
    MissingTls { address: SocketAddr },
    #[error("listener on {address}: a `tls` table only applies to kind \"tls\"")]
    UnexpectedTls { address: SocketAddr },
    #[error("listener on {address}: max_frame_bytes must be at least 1")]
    ZeroFrameBytes { address: SocketAddr },
    #[error("listener on {address}: max_connections must be at least 1")]
    ZeroConnections { address: SocketAddr },
}

impl ListenerConfig {
    /// A listener of `kind` on `address` with every other field at its default.
    pub fn new(kind: ListenerKind, address: SocketAddr) -> ListenerConfig {
        ListenerConfig {
            kind,
            address,
            receive_buffer_bytes: default_receive_buffer_bytes(),
            max_queued_bytes: default_max_queued_bytes(),
            sockets: 0,
            max_frame_bytes: default_max_frame_bytes(),
            max_connections: default_max_connections(),
            idle_timeout_secs: default_idle_timeout_secs(),
            allow: Vec::new(),
            tls: None,
        }
    }

    /// Checks what serde cannot: field combinations and zero limits.
    pub fn validate(&self) -> Result<(), ListenerConfigError> {
        let address = self.address;
        match (self.kind, &self.tls) {
            (ListenerKind::Tls, None) => return Err(ListenerConfigError::MissingTls { address }),
            (ListenerKind::Udp | ListenerKind::Tcp, Some(_)) => {
                return Err(ListenerConfigError::UnexpectedTls { address })
            }
            _ => {}
        }
        if self.max_frame_bytes == 0 {
            return Err(ListenerConfigError::ZeroFrameBytes { address });
        }
        if self.max_connections == 0 {
            return Err(ListenerConfigError::ZeroConnections { address });
        }
        Ok(())
    }

    /// UDP sockets to open: `sockets`, or one per core when it is 0.
    pub fn socket_count(&self) -> usize {
        match self.sockets {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// The idle timeout, or `None` when disabled.
    pub fn idle_timeout(&self) -> Option<std::time::Duration> {
        (self.idle_timeout_secs > 0).then(|| std::time::Duration::from_secs(self.idle_timeout_secs))
    }
}

fn default_receive_buffer_bytes() -> usize {
    32 * 1024 * 1024
}

fn default_max_queued_bytes() -> usize {
    256 * 1024 * 1024
}

fn default_max_frame_bytes() -> usize {
    DEFAULT_MAX_FRAME_BYTES
}

fn default_max_connections() -> usize {
    1024
}

fn default_idle_timeout_secs() -> u64 {
    600
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_defaults() {
        let config: ListenerConfig = toml::from_str(
            r#"
            kind = "udp"
            address = "0.0.0.0:514"
            "#,
        )
        .unwrap();
        assert_eq!(
            config,
            ListenerConfig::new(ListenerKind::Udp, "0.0.0.0:514".parse().unwrap())
        );
        assert!(config.validate().is_ok());
    }

    #[test]
    fn reads_every_field() {
        let config: ListenerConfig = toml::from_str(
            r#"
            kind = "tls"
            address = "[::]:6514"
            receive_buffer_bytes = 1024
            sockets = 2
            max_frame_bytes = 8192
            max_connections = 10
            idle_timeout_secs = 0
            allow = ["10.0.0.0/8", "2001:db8::/32"]
            tls = { cert_file = "c.pem", key_file = "k.pem", client_ca_file = "ca.pem" }
            "#,
        )
        .unwrap();
        assert_eq!(config.allow.len(), 2);
        assert_eq!(config.idle_timeout(), None);
        assert_eq!(config.socket_count(), 2);
        assert_eq!(
            config.tls.as_ref().unwrap().client_ca_file,
            Some(PathBuf::from("ca.pem"))
        );
        assert!(config.validate().is_ok());
    }

    #[test]
    fn refuses_unknown_fields_and_bad_networks() {
        let unknown = toml::from_str::<ListenerConfig>(
            "kind = \"tcp\"\naddress = \"0.0.0.0:514\"\nrcvbuf = 1\n",
        );
        assert!(unknown.is_err());
        let bad_net = toml::from_str::<ListenerConfig>(
            "kind = \"tcp\"\naddress = \"0.0.0.0:514\"\nallow = [\"10.0.0.1/8\"]\n",
        );
        assert!(bad_net
            .unwrap_err()
            .to_string()
            .contains("did you mean 10.0.0.0/8"));
    }

    #[test]
    fn tls_table_must_match_the_kind() {
        let address = "127.0.0.1:6514".parse().unwrap();
        let tls = ListenerConfig::new(ListenerKind::Tls, address);
        assert_eq!(
            tls.validate(),
            Err(ListenerConfigError::MissingTls { address })
        );
        let mut tcp = ListenerConfig::new(ListenerKind::Tcp, address);
        tcp.tls = Some(TlsConfig {
            cert_file: "c".into(),
            key_file: "k".into(),
            client_ca_file: None,
        });
        assert_eq!(
            tcp.validate(),
            Err(ListenerConfigError::UnexpectedTls { address })
        );
    }

    #[test]
    fn serializes_back_to_toml() {
        let mut config = ListenerConfig::new(ListenerKind::Tcp, "0.0.0.0:601".parse().unwrap());
        config.allow = vec!["192.0.2.0/24".parse().unwrap()];
        let text = toml::to_string(&config).unwrap();
        assert_eq!(toml::from_str::<ListenerConfig>(&text).unwrap(), config);
    }
}
