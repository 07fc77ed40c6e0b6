//! The TLS listener (RFC 5425) with certificates made on the fly by rcgen.

mod listener_support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use listener_support::{config, start, texts, wait_for_counter};
use nat_ingest::config::listener::{ListenerConfig, ListenerKind, TlsConfig};
use nat_ingest::listener::{spawn_listener, ListenerError};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

/// A test CA, a server certificate for `localhost` and a client certificate,
/// all signed by the CA; PEM files in a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
    ca: CertificateDer<'static>,
    client_cert: CertificateDer<'static>,
    client_key: Vec<u8>,
}

impl Pki {
    fn new() -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "nat-ingest test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let ca = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().unwrap();
        let server_cert = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&server_key, &ca)
            .unwrap();

        let client_key = KeyPair::generate().unwrap();
        let mut client_params = CertificateParams::new(vec!["router1.example".to_owned()]).unwrap();
        client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client_params.signed_by(&client_key, &ca).unwrap();

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.pem"), server_cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.key"), server_key.serialize_pem()).unwrap();
        Pki {
            dir,
            ca: ca_cert.der().clone(),
            client_cert: client_cert.der().clone(),
            client_key: client_key.serialize_der(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn listener(&self, client_ca: bool) -> ListenerConfig {
        let mut config = config(ListenerKind::Tls);
        config.tls = Some(TlsConfig {
            cert_file: self.path("server.pem"),
            key_file: self.path("server.key"),
            client_ca_file: client_ca.then(|| self.path("ca.pem")),
        });
        config
    }

    fn connector(&self, with_client_cert: bool) -> TlsConnector {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.clone()).unwrap();
        let builder = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let config = if with_client_cert {
            let key = PrivateKeyDer::try_from(self.client_key.clone()).unwrap();
            builder
                .with_client_auth_cert(vec![self.client_cert.clone()], key)
                .unwrap()
        } else {
            builder.with_no_client_auth()
        };
        TlsConnector::from(Arc::new(config))
    }
}

async fn send(
    connector: &TlsConnector,
    addr: std::net::SocketAddr,
    stream: &[u8],
) -> std::io::Result<()> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await?;
    tls.write_all(stream).await?;
    tls.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_delivers_octet_counted_messages() {
    let pki = Pki::new();
    let mut listener = start(pki.listener(false), "tls_octets", 64).await;
    let sent: Vec<String> = (0..200)
        .map(|i| format!("<134>1 - fw1 NAT - - - session {i}"))
        .collect();
    let mut stream = Vec::new();
    for text in &sent {
        stream.extend_from_slice(format!("{} {text}", text.len()).as_bytes());
    }
    send(&pki.connector(false), listener.addr(), &stream)
        .await
        .unwrap();
    assert_eq!(texts(&listener.frames(sent.len()).await), sent);
    listener.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_requires_a_client_certificate_when_configured() {
    let pki = Pki::new();
    let mut listener = start(pki.listener(true), "tls_mutual", 8).await;

    send(
        &pki.connector(true),
        listener.addr(),
        b"<13>with a certificate\n",
    )
    .await
    .unwrap();
    assert_eq!(texts(&listener.frames(1).await), ["<13>with a certificate"]);

    // TLS 1.3 lets the client finish first; the server refuses on receipt.
    let _ = send(&pki.connector(false), listener.addr(), b"<13>without\n").await;
    wait_for_counter("listener_tls_handshake_errors_total", "tls_mutual", None, 1).await;
    listener.no_frames(Duration::from_millis(50)).await;
    listener.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_start_fails_on_a_missing_key() {
    let pki = Pki::new();
    let mut config = pki.listener(false);
    config.tls.as_mut().unwrap().key_file = pki.path("absent.key");
    let (tx, _rx) = tokio::sync::mpsc::channel(1);
    let error = spawn_listener(&config, "tls_bad".into(), tx, CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(error, ListenerError::Tls { .. }), "{error:?}");
    let source = std::error::Error::source(&error).unwrap().to_string();
    assert!(source.contains("absent.key"), "{source}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_keeps_the_last_line_of_a_peer_that_skips_close_notify() {
    let pki = Pki::new();
    let mut listener = start(pki.listener(false), "tls_abrupt", 8).await;
    let tcp = TcpStream::connect(listener.addr()).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = pki.connector(false).connect(name, tcp).await.unwrap();
    tls.write_all(b"<13>first\n<13>unterminated").await.unwrap();
    tls.flush().await.unwrap();
    // End the TCP stream under TLS without a close_notify alert. (A plain drop
    // would reset instead, as the client never read the server's tickets.)
    tls.get_mut().0.shutdown().await.unwrap();
    assert_eq!(
        texts(&listener.frames(2).await),
        ["<13>first", "<13>unterminated"]
    );
    drop(tls);
    listener.stop().await;
}
