//! The listener: HTTP/1.1 (hyper) on tokio, plain or TLS, with bounds no client can push past.
//!
//! Contract: [`check_listen`] refuses a non-loopback address unless TLS is configured or
//! `--insecure-listen` says plain HTTP is meant. [`serve`] accepts until its runtime ends, at
//! most [`Limits::max_connections`] at once (the rest wait in the kernel's accept queue, then
//! are served); each connection must send a request head within
//! [`Limits::header_timeout`] (slowloris, and an idle keep-alive, end there), a head larger
//! than [`Limits::max_head_bytes`] is answered 431, a write that makes no progress for
//! [`Limits::write_timeout`] ends the connection (a client that never reads), and a connection
//! older than [`Limits::lifetime`] is closed after its current answer (a client reading a
//! byte at a time). Memory is bounded by connections × (head buffer + the frame's shared
//! text, which is not copied per scrape). Routes are [`routes`]'; auth is [`auth`]'s.

pub mod auth;
pub mod routes;
pub mod tls;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_io_timeout::TimeoutStream;
use tokio_rustls::TlsAcceptor;

use self::auth::Token;
use super::error::ServeError;
use super::latest::Latest;

/// How much each connection may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Time to send a whole request head (and the TLS handshake), from the connection's start
    /// or the end of the previous answer: longer than a 15 s scrape interval, so Prometheus
    /// keeps its connection between scrapes.
    pub header_timeout: Duration,
    /// Longest a write may wait for the client to read.
    pub write_timeout: Duration,
    /// Largest request head, bytes (at least 8 KiB, hyper's floor).
    pub max_head_bytes: usize,
    /// After this, a connection is closed once its current answer is written.
    pub lifetime: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 64,
            header_timeout: Duration::from_secs(20),
            write_timeout: Duration::from_secs(10),
            max_head_bytes: 16 * 1024,
            lifetime: Duration::from_secs(300),
        }
    }
}

/// What every request is answered from.
pub struct App {
    pub latest: Arc<Latest>,
    /// Where the metrics are (`/metrics`).
    pub metrics_path: String,
    /// The bearer token the metrics path asks for, if any.
    pub token: Option<Token>,
    pub tls: Option<TlsAcceptor>,
    pub limits: Limits,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("metrics_path", &self.metrics_path)
            .field("token", &self.token)
            .field("tls", &self.tls.is_some())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Refuses to serve plain HTTP beyond this host unless asked to in so many words: the metrics
/// name every container, image and pod on it.
pub fn check_listen(addr: SocketAddr, tls: bool, insecure: bool) -> Result<(), ServeError> {
    if addr.ip().is_loopback() || tls || insecure {
        return Ok(());
    }
    Err(ServeError::Usage(format!(
        "refusing to serve plain HTTP on {addr}, which is not a loopback address: the metrics \
         name every container, image and pod of this host. Either give a certificate \
         (--tls-cert FILE --tls-key FILE), best with --bearer-token-file FILE, or say plain \
         HTTP is meant with --insecure-listen (e.g. behind a network policy)"
    )))
}

/// The metrics path as given, if it is one: absolute, at most 256 bytes of `A-Z a-z 0-9 / .
/// _ -`, and neither `/` nor `/healthz` (those are taken).
pub fn check_metrics_path(path: &str) -> Result<(), ServeError> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-');
    let ok = path.starts_with('/')
        && path.len() <= 256
        && path.bytes().all(allowed)
        && path != "/"
        && path != "/healthz";
    if ok {
        Ok(())
    } else {
        Err(ServeError::Usage(format!(
            "--metrics-path {path:?}: give an absolute path of letters, digits, '/', '.', '_' \
             and '-', other than / and /healthz (e.g. /metrics)"
        )))
    }
}

/// Accepts connections on `listener` and answers them, forever (until the runtime ends).
pub async fn serve(listener: TcpListener, app: Arc<App>) {
    let permits = Arc::new(Semaphore::new(app.limits.max_connections.max(1)));
    loop {
        // Taken before accepting: over the bound, clients wait in the accept queue.
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors, or a connection reset before it was taken: wait a
            // moment rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            connection(stream, &app).await;
            drop(permit);
        });
    }
}

/// One connection, TLS first if configured.
async fn connection(stream: TcpStream, app: &Arc<App>) {
    let limits = app.limits;
    let _ = stream.set_nodelay(true);
    let mut timed = TimeoutStream::new(stream);
    timed.set_read_timeout(Some(limits.header_timeout));
    timed.set_write_timeout(Some(limits.write_timeout));
    let timed = Box::pin(timed);
    match &app.tls {
        Some(acceptor) => {
            let handshake = tokio::time::timeout(limits.header_timeout, acceptor.accept(timed));
            if let Ok(Ok(tls)) = handshake.await {
                http(tls, app).await;
            }
        }
        None => http(timed, app).await,
    }
}

/// HTTP/1.1 on `io` until the client is done, a bound is hit, or the lifetime ends.
async fn http<I>(io: I, app: &Arc<App>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = app.limits;
    let service_app = Arc::clone(app);
    let service = service_fn(move |request| {
        let app = Arc::clone(&service_app);
        async move { Ok::<_, Infallible>(routes::answer(request, &app).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_head_bytes.max(8192))
        .max_headers(64)
        .serve_connection(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        () = tokio::time::sleep(limits.lifetime) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(limits.write_timeout, conn).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_beyond_loopback_only_when_said() {
        let public: SocketAddr = "0.0.0.0:9814".parse().unwrap();
        let v6: SocketAddr = "[::]:9814".parse().unwrap();
        for loopback in ["127.0.0.1:9814", "127.3.2.1:1", "[::1]:9814"] {
            assert!(check_listen(loopback.parse().unwrap(), false, false).is_ok());
        }
        for addr in [public, v6] {
            let refused = check_listen(addr, false, false).unwrap_err();
            assert!(refused.is_usage());
            assert!(refused.to_string().contains("--insecure-listen"));
            assert!(check_listen(addr, true, false).is_ok());
            assert!(check_listen(addr, false, true).is_ok());
        }
    }

    #[test]
    fn metrics_paths() {
        for ok in ["/metrics", "/isotop/metrics", "/m-1_2.txt"] {
            assert!(check_metrics_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "metrics",
            "/",
            "/healthz",
            "/a b",
            "/<script>",
            "/m?x",
            "/\u{e9}",
        ] {
            assert!(check_metrics_path(bad).is_err(), "{bad}");
        }
    }
}
