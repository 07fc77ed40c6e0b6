//! The client side of syslog over TLS (RFC 5425) for `replay --to tls://`.
//!
//! This file turns the `--tls-*` flags into a rustls client configuration; the
//! connection itself is a blocking `StreamOwned` that [`super::send`] writes
//! through like a TCP socket. The server is verified against the CAs of
//! `--tls-ca`, or, only when the operator asked with `--tls-insecure`, not at
//! all. There is no default trust store: the crate does not depend on one, and
//! a replay aimed at a collector with a private CA (the usual case for syslog)
//! would fail against public roots anyway.
//!
//! PEM files are read with the TLS listener's own helpers, so both sides accept
//! the same encodings. As in the listener, the *ring* provider is named
//! explicitly instead of relying on a process default.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{self, ring, CryptoProvider};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{self, ClientConfig, DigitallySignedStruct, RootCertStore};

use crate::listener::tls::{certificates, private_key};
use crate::listener::TlsError;

/// How the server is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerTrust {
    /// Its chain must end at one of the CA certificates in this PEM file.
    CaFile(PathBuf),
    /// Any certificate is accepted (`--tls-insecure`).
    Insecure,
}

/// The TLS settings of a `tls://` destination, from the flags; builds a
/// [`ClientConfig`] when the destination is opened.
#[derive(Debug, Clone)]
pub struct TlsClientSettings {
    pub trust: ServerTrust,
    /// Client certificate chain and key, PEM, for servers that require one.
    pub identity: Option<(PathBuf, PathBuf)>,
    /// The name the certificate must carry (and the SNI sent).
    pub server_name: ServerName<'static>,
}

/// Why the client configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsClientError {
    #[error("cannot load a TLS file")]
    File(#[from] TlsError),
    #[error("unusable CA certificate in {}", path.display())]
    Ca {
        path: PathBuf,
        source: rustls::Error,
    },
    #[error("client certificate and key do not make a valid configuration")]
    Identity(#[source] rustls::Error),
    #[error("no TLS protocol version is available")]
    Versions(#[source] rustls::Error),
}

impl TlsClientSettings {
    /// Reads the files and builds the configuration; warns when verification
    /// is off.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, TlsClientError> {
        let provider = Arc::new(ring::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(TlsClientError::Versions)?;
        let builder = match &self.trust {
            ServerTrust::CaFile(path) => builder.with_root_certificates(roots(path)?),
            ServerTrust::Insecure => {
                tracing::warn!(
                    server_name = %self.server_name.to_str(),
                    "--tls-insecure is on: the server's certificate is not checked."
                );
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(AnyCertificate { provider }))
            }
        };
        let config = match &self.identity {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => builder
                .with_client_auth_cert(certificates(cert)?, private_key(key)?)
                .map_err(TlsClientError::Identity)?,
        };
        Ok(Arc::new(config))
    }
}

fn roots(path: &Path) -> Result<RootCertStore, TlsClientError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(path)? {
        roots.add(cert).map_err(|source| TlsClientError::Ca {
            path: path.to_owned(),
            source,
        })?;
    }
    Ok(roots)
}

/// Accepts any server certificate (`--tls-insecure`). Handshake signatures
/// are still checked against the certificate presented, so the session keys
/// are the server's; only who the server is goes unchecked.
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
