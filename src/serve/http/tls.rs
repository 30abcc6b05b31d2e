//! TLS for the listener: rustls (with the ring provider) from a PEM certificate chain and a
//! PEM private key (PKCS#8, PKCS#1 or SEC1), TLS 1.2 and 1.3, HTTP/1.1 by ALPN.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;

use crate::serve::error::ServeError;

/// The acceptor for `cert` (the chain, leaf first) and `key`.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, ServeError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| ServeError::Tls {
            what: "certificate",
            path: cert.to_path_buf(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(ServeError::Tls {
            what: "certificate",
            path: cert.to_path_buf(),
            reason: "no PEM certificate in it".to_string(),
        });
    }
    let private_key = PrivateKeyDer::from_pem_file(key).map_err(|e| ServeError::Tls {
        what: "key",
        path: key.to_path_buf(),
        reason: e.to_string(),
    })?;
    // ring, not aws-lc-rs: it builds with a C compiler alone, for the static musl binary too.
    // rustls 0.23.48 deprecates it for lacking post-quantum key exchange, which a metrics
    // endpoint's recorded traffic (figures that are stale within minutes) does not need.
    #[allow(deprecated)]
    let provider = ring::default_provider();
    let mut config = ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, private_key))
        .map_err(|e| ServeError::Tls {
            what: "key",
            path: key.to_path_buf(),
            reason: format!("does not go with the certificate {}: {e}", cert.display()),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
