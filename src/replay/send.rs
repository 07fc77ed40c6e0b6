//! Sending replayed messages to another collector over UDP, TCP or TLS.
//!
//! Plain blocking `std::net` sockets: replay has one reader and one destination,
//! so an async runtime would add a hop and buy nothing. UDP sends one datagram
//! per message. TCP and TLS write through a large buffer, framed by octet
//! counting (RFC 6587 §3.4.1 and RFC 5425, `LEN SP MSG`, which carries any
//! byte) or by LF (which splits a message holding an LF; such messages are
//! sent with it replaced by a space, and counted). TLS is a rustls
//! `StreamOwned` over the same blocking socket; the handshake runs at connect
//! time, so a certificate the client refuses fails the start, not the first
//! write.
//!
//! `finish` flushes, half-closes the connection (after a TLS `close_notify`)
//! and waits for the receiver to close its side: only then is it known to have
//! read every byte, rather than leaving some in a kernel buffer it might drop
//! at its own shutdown. Over TLS that wait also surfaces an alert the server
//! sent, such as its refusal of our client certificate.

use std::io::{self, BufWriter, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, ClientConnection, StreamOwned};

/// Bytes buffered before a TCP write.
const TCP_BUFFER_BYTES: usize = 256 * 1024;

/// How long `finish` waits for the receiver to close after our half-close.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// How long a failed TLS write waits for the alert that explains it.
const ALERT_WAIT: Duration = Duration::from_millis(200);

/// How TCP frames messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpFraming {
    /// RFC 6587 octet counting: `LEN SP MSG`.
    OctetCounting,
    /// Each message followed by LF.
    Lf,
}

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("cannot connect to {address}")]
    Connect {
        address: SocketAddr,
        source: io::Error,
    },
    #[error("TLS handshake with {address} failed")]
    Handshake {
        address: SocketAddr,
        source: io::Error,
    },
    #[error("{address} refused a message")]
    Send {
        address: SocketAddr,
        source: io::Error,
    },
}

/// A connected destination.
pub enum Sender {
    Udp {
        socket: UdpSocket,
        address: SocketAddr,
    },
    Stream {
        stream: BufWriter<Connection>,
        address: SocketAddr,
        framing: TcpFraming,
        /// Messages whose LFs were replaced for LF framing.
        rewritten: u64,
    },
}

/// The connection under a stream destination.
pub enum Connection {
    Tcp(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Write for Connection {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Connection::Tcp(stream) => stream.write(bytes),
            Connection::Tls(stream) => stream.write(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Connection::Tcp(stream) => stream.flush(),
            Connection::Tls(stream) => stream.flush(),
        }
    }
}

impl Connection {
    /// The reason behind a failed write; see [`tls_alert`].
    fn explain(&mut self, error: io::Error) -> io::Error {
        match self {
            Connection::Tcp(_) => error,
            Connection::Tls(stream) => tls_alert(stream, error),
        }
    }
}

/// Over TLS, a server that refuses (our client certificate, say) sends an
/// alert and closes, and the write only sees a broken pipe; the alert, if it
/// can still be read, says why. Returns `error` when there is none.
fn tls_alert(stream: &mut StreamOwned<ClientConnection, TcpStream>, error: io::Error) -> io::Error {
    // Below rustls' `Read`, which would first retry the pending write and fail
    // the same way.
    let _ = stream.sock.set_read_timeout(Some(ALERT_WAIT));
    loop {
        match stream.conn.read_tls(&mut stream.sock) {
            Ok(0) | Err(_) => return error,
            Ok(_) => {}
        }
        if let Err(alert) = stream.conn.process_new_packets() {
            return io::Error::new(io::ErrorKind::InvalidData, alert);
        }
    }
}

impl Sender {
    pub fn udp(address: SocketAddr) -> Result<Sender, SendError> {
        let connect = |source| SendError::Connect { address, source };
        let local: SocketAddr = if address.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local).map_err(connect)?;
        socket.connect(address).map_err(connect)?;
        Ok(Sender::Udp { socket, address })
    }

    pub fn tcp(address: SocketAddr, framing: TcpFraming) -> Result<Sender, SendError> {
        let stream =
            TcpStream::connect(address).map_err(|source| SendError::Connect { address, source })?;
        Ok(Sender::stream(Connection::Tcp(stream), address, framing))
    }

    /// Connects and completes the TLS handshake with `server_name`.
    pub fn tls(
        address: SocketAddr,
        framing: TcpFraming,
        config: Arc<ClientConfig>,
        server_name: ServerName<'static>,
    ) -> Result<Sender, SendError> {
        let mut socket =
            TcpStream::connect(address).map_err(|source| SendError::Connect { address, source })?;
        let handshake = |source| SendError::Handshake { address, source };
        let mut client = ClientConnection::new(config, server_name)
            .map_err(|e| handshake(io::Error::other(e)))?;
        while client.is_handshaking() {
            client.complete_io(&mut socket).map_err(handshake)?;
        }
        let stream = Box::new(StreamOwned::new(client, socket));
        Ok(Sender::stream(Connection::Tls(stream), address, framing))
    }

    fn stream(connection: Connection, address: SocketAddr, framing: TcpFraming) -> Sender {
        Sender::Stream {
            stream: BufWriter::with_capacity(TCP_BUFFER_BYTES, connection),
            address,
            framing,
            rewritten: 0,
        }
    }

    /// Sends one message (without a line ending).
    pub fn send(&mut self, message: &[u8]) -> Result<(), SendError> {
        match self {
            Sender::Udp { socket, address } => {
                socket.send(message).map_err(|source| SendError::Send {
                    address: *address,
                    source,
                })?;
                Ok(())
            }
            Sender::Stream {
                stream,
                address,
                framing,
                rewritten,
            } => {
                let written = match framing {
                    TcpFraming::OctetCounting => {
                        let mut digits = itoa::Buffer::new();
                        stream
                            .write_all(digits.format(message.len()).as_bytes())
                            .and_then(|()| stream.write_all(b" "))
                            .and_then(|()| stream.write_all(message))
                    }
                    TcpFraming::Lf if memchr::memchr(b'\n', message).is_some() => {
                        *rewritten += 1;
                        let flat: Vec<u8> = message
                            .iter()
                            .map(|&b| if b == b'\n' { b' ' } else { b })
                            .collect();
                        stream
                            .write_all(&flat)
                            .and_then(|()| stream.write_all(b"\n"))
                    }
                    TcpFraming::Lf => stream
                        .write_all(message)
                        .and_then(|()| stream.write_all(b"\n")),
                };
                written.map_err(|error| SendError::Send {
                    address: *address,
                    source: stream.get_mut().explain(error),
                })
            }
        }
    }

    /// Messages whose LFs were replaced by spaces for LF framing.
    pub fn rewritten(&self) -> u64 {
        match self {
            Sender::Udp { .. } => 0,
            Sender::Stream { rewritten, .. } => *rewritten,
        }
    }

    /// Flushes and, for TCP and TLS, closes and waits for the receiver to
    /// close too.
    pub fn finish(self) -> Result<(), SendError> {
        let Sender::Stream {
            stream, address, ..
        } = self
        else {
            return Ok(());
        };
        let failed = |source| SendError::Send { address, source };
        let connection = stream.into_inner().map_err(|e| {
            let (error, mut stream) = e.into_parts();
            failed(stream.get_mut().explain(error))
        })?;
        match connection {
            Connection::Tcp(mut socket) => {
                socket.shutdown(Shutdown::Write).map_err(failed)?;
                let _ = socket.set_read_timeout(Some(CLOSE_WAIT));
                wait_for_close(&mut socket, address)
            }
            Connection::Tls(mut stream) => {
                stream.conn.send_close_notify();
                stream
                    .flush()
                    .map_err(|error| failed(tls_alert(&mut stream, error)))?;
                stream.sock.shutdown(Shutdown::Write).map_err(failed)?;
                let _ = stream.sock.set_read_timeout(Some(CLOSE_WAIT));
                wait_for_close(&mut *stream, address)
            }
        }
    }
}

/// Reads and discards until the receiver closes, for at most the socket's read
/// timeout. A TLS receiver that closes without its own `close_notify` (an
/// `UnexpectedEof` from rustls) has still read everything: that is closed too.
fn wait_for_close(connection: &mut impl Read, address: SocketAddr) -> Result<(), SendError> {
    let mut sink = [0; 4096];
    loop {
        match connection.read(&mut sink) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                tracing::warn!(
                    peer = %address,
                    wait_secs = CLOSE_WAIT.as_secs(),
                    "The receiver did not close the connection; it may not have read everything."
                );
                return Ok(());
            }
            Err(source) => return Err(SendError::Send { address, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn received_over_tcp(framing: TcpFraming, messages: &[&[u8]]) -> Vec<u8> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let reader = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut all = Vec::new();
            stream.read_to_end(&mut all).unwrap();
            all
        });
        let mut sender = Sender::tcp(address, framing).unwrap();
        for message in messages {
            sender.send(message).unwrap();
        }
        sender.finish().unwrap();
        reader.join().unwrap()
    }

    #[test]
    fn frames_tcp_by_octet_counting_or_lf() {
        let counted = received_over_tcp(TcpFraming::OctetCounting, &[b"<13>a", b"<13>b\nc"]);
        assert_eq!(counted, b"5 <13>a7 <13>b\nc");
        let lines = received_over_tcp(TcpFraming::Lf, &[b"<13>a", b"<13>b\nc"]);
        assert_eq!(lines, b"<13>a\n<13>b c\n");
    }

    #[test]
    fn sends_udp_datagrams() {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut sender = Sender::udp(receiver.local_addr().unwrap()).unwrap();
        sender.send(b"<13>one").unwrap();
        sender.finish().unwrap();
        let mut buffer = [0; 64];
        let n = receiver.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..n], b"<13>one");
    }

    #[test]
    fn a_closed_port_is_a_connect_error() {
        let address = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(matches!(
            Sender::tcp(address, TcpFraming::OctetCounting),
            Err(SendError::Connect { .. })
        ));
    }
}
