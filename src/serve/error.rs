//! The exporter's errors: what the user must change (a refused address, a token file others
//! can read, a certificate that does not load: exit 2) and what the host refused (a port in
//! use: exit 1), each naming the address or file.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Options that cannot be served as given, with what to do instead.
    #[error("{0}")]
    Usage(String),
    #[error("bearer token file {}: {reason}", path.display())]
    Token { path: PathBuf, reason: String },
    #[error("TLS {what} {}: {reason}", path.display())]
    Tls {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the exporter: {0}")]
    Runtime(std::io::Error),
}

impl ServeError {
    /// The user's own mistake (exit 2), not the host's refusal.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ServeError::Usage(_) | ServeError::Token { .. } | ServeError::Tls { .. }
        )
    }
}
