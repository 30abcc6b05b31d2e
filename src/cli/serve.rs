//! `isotop serve`: the OpenMetrics exporter's options, checked and handed to `serve::run`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::CliError;
use crate::host::HostRoot;
use crate::record::trouble::TroubleOptions;
use crate::serve::{Config, ServeError, http::Limits, run as serve};

/// The default address: loopback, port 9814 (in the 9xxx range exporters use; free on the
/// hosts isotop is tested on).
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:9814";

#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Address and port to listen on. A non-loopback address needs --tls-cert/--tls-key or
    /// --insecure-listen.
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Where the metrics are served.
    #[arg(long, value_name = "PATH", default_value = "/metrics")]
    pub metrics_path: String,
    /// Seconds between the sampler's ticks (0.1 to 3600); scrapes are served from the latest.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub interval: f64,
    /// TLS certificate chain, PEM (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key, PEM (with --tls-cert).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (the metrics name every container).
    #[arg(long)]
    pub insecure_listen: bool,
    /// Require `Authorization: Bearer TOKEN` on the metrics path, TOKEN read from this file
    /// (mode 0600: a file its group or others can read is refused).
    #[arg(long, value_name = "FILE")]
    pub bearer_token_file: Option<PathBuf>,
    /// Do not keep the last minutes in memory nor dump them on trouble.
    #[arg(long, conflicts_with_all = ["trouble_dir", "trouble_minutes"])]
    pub no_trouble: bool,
    /// Where dumps on trouble go (default: the state directory's trouble/,
    /// /var/lib/isotop/trouble for root); its parent must be writable by this user alone.
    #[arg(long, value_name = "DIR")]
    pub trouble_dir: Option<PathBuf>,
    /// Minutes of frames kept in memory and dumped on trouble (1 to 1440; at most 64 MiB).
    #[arg(long, value_name = "MINUTES", default_value_t = 10.0)]
    pub trouble_minutes: f64,
}

/// `isotop serve`.
pub(crate) fn run(root: HostRoot, args: &ServeArgs) -> Result<(), CliError> {
    if !(args.interval.is_finite() && (0.1..=3600.0).contains(&args.interval)) {
        return Err(CliError::Usage(format!(
            "--interval {}: give seconds between 0.1 and 3600",
            args.interval
        )));
    }
    let trouble = if args.no_trouble {
        None
    } else {
        let dir = args
            .trouble_dir
            .clone()
            .unwrap_or_else(|| crate::control::limits::journal::state_dir(&root).join("trouble"));
        let mut options = TroubleOptions::new(dir);
        options.window =
            crate::ui::config::seconds_in_range(args.trouble_minutes * 60.0, 60.0, 24.0 * 3600.0)
                .ok_or_else(|| {
                CliError::Usage(format!(
                    "--trouble-minutes {}: give minutes between 1 and 1440",
                    args.trouble_minutes
                ))
            })?;
        Some(options)
    };
    let config = Config {
        trouble,
        listen: args.listen,
        metrics_path: args.metrics_path.clone(),
        interval: Duration::from_secs_f64(args.interval),
        tls: args.tls_cert.clone().zip(args.tls_key.clone()),
        insecure_listen: args.insecure_listen,
        bearer_token_file: args.bearer_token_file.clone(),
        limits: Limits::default(),
    };
    serve(root, config).map_err(|e: ServeError| {
        if e.is_usage() {
            CliError::Usage(e.to_string())
        } else {
            CliError::Unavailable(e.to_string())
        }
    })
}
