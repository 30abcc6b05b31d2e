//! SERVE: `isotop serve`, the OpenMetrics exporter.
//!
//! [`metrics`] turns one sampled frame into OpenMetrics or Prometheus text (a pure function,
//! cAdvisor's names where they overlap); [`latest`] runs the sampler and keeps its latest frame
//! with that frame's text, encoded once however many scrapes ask; [`http`] is the listener —
//! loopback unless TLS or `--insecure-listen` says otherwise, bearer-token auth, and bounds on
//! connections, header size and time so no client can hold the exporter. Nothing here reads the
//! host but the sampler: every figure comes from its frames. [`run`] puts them together on one
//! tokio thread (plus tokio's blocking pool, at most two threads, for encoding) and the
//! sampler's thread, until SIGINT or SIGTERM. The dump on trouble (`record::trouble`, on
//! unless `--no-trouble`) takes each frame too, on threads of its own, a line on stderr per dump.

mod error;
pub mod http;
pub mod latest;
pub mod metrics;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use error::ServeError;

use crate::host::HostRoot;
use crate::record::trouble::{TroubleOptions, TroubleRecorder, TroubleReport};
use crate::sample::Sampler;

/// Where and how to serve.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub metrics_path: String,
    /// Between the sampler's ticks.
    pub interval: Duration,
    /// Certificate chain and private key, PEM.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub insecure_listen: bool,
    pub bearer_token_file: Option<PathBuf>,
    pub limits: http::Limits,
    /// The dump on trouble (`record::trouble`); `None`: off.
    pub trouble: Option<TroubleOptions>,
}

/// Serves `root`'s metrics as `config` says until SIGINT or SIGTERM. Checks everything it can
/// before binding (address policy, path, token file, certificate), then prints where it
/// serves on stderr (`isotop: serving http://127.0.0.1:9814/metrics`: with port 0, the port
/// the kernel chose).
pub fn run(root: HostRoot, config: Config) -> Result<(), ServeError> {
    http::check_listen(config.listen, config.tls.is_some(), config.insecure_listen)?;
    http::check_metrics_path(&config.metrics_path)?;
    let token = match &config.bearer_token_file {
        Some(path) => Some(http::auth::Token::from_file(path)?),
        None => None,
    };
    let tls = match &config.tls {
        Some((cert, key)) => Some(http::tls::acceptor(cert, key)?),
        None => None,
    };
    let bind = |source| ServeError::Bind {
        addr: config.listen,
        source,
    };
    let listener = std::net::TcpListener::bind(config.listen).map_err(bind)?;
    listener.set_nonblocking(true).map_err(bind)?;
    let bound = listener.local_addr().map_err(bind)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(2)
        .thread_name("isotop-serve")
        .build()
        .map_err(ServeError::Runtime)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).map_err(bind)?;
        let latest = Arc::new(latest::Latest::new(config.interval));
        let trouble = match config.trouble.clone() {
            Some(options) => Some(start_trouble(options, &latest).map_err(ServeError::Runtime)?),
            None => None,
        };
        latest::spawn(
            Sampler::new(root),
            config.interval,
            Arc::clone(&latest),
            trouble,
        );
        let app = Arc::new(http::App {
            latest,
            metrics_path: config.metrics_path.clone(),
            token,
            tls,
            limits: config.limits,
        });
        eprintln!(
            "isotop: serving {scheme}://{bound}{} (health: /healthz)",
            config.metrics_path
        );
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .map_err(ServeError::Runtime)?;
        tokio::select! {
            () = http::serve(listener, app) => {}
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        Ok(())
    })
}

/// The dump on trouble with its reports on stderr, one line each, and its dumps counted.
fn start_trouble(
    options: TroubleOptions,
    latest: &Arc<latest::Latest>,
) -> std::io::Result<TroubleRecorder> {
    latest.count_dumps();
    let counted = Arc::clone(latest);
    let report = move |report: &TroubleReport| {
        if matches!(report, TroubleReport::Dumped { .. }) {
            counted.dumped();
        }
        eprintln!("isotop: {}", crate::host::text::clean_str(&report.line()));
    };
    TroubleRecorder::start(options, Arc::new(report))
}
