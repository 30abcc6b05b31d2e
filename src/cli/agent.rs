//! `isotop agent` (the far end of a remote dashboard, `remote::agent`) and the dashboard on
//! remote hosts (`isotop --host …`, `ISOTOP_HOST`): options read here, the work done by
//! `remote` and `ui`.

use clap::Args;

use super::{Cli, CliError};
use crate::host::HostRoot;
use crate::remote::agent::{self, AgentOptions};
use crate::remote::client::connect_all;
use crate::remote::ssh::SshSettings;
use crate::remote::target::{HOSTS_ENV, HostTarget};

#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    /// Seconds between frames until the dashboard sends its own interval (default 1, or the
    /// config's `refresh`).
    #[arg(short = 'd', long = "delay", value_name = "SECONDS")]
    pub delay: Option<f64>,
}

/// `isotop agent`: stdout carries the protocol only; errors go to stderr (ssh passes them on).
pub(crate) fn run(
    root: HostRoot,
    args: &AgentArgs,
    config: Option<std::path::PathBuf>,
    read_only: bool,
) -> Result<(), CliError> {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() {
        return Err(CliError::Usage(
            "isotop agent speaks a binary protocol on stdout for `isotop --host`; it is run \
             by ssh, not by hand"
                .to_string(),
        ));
    }
    let options = AgentOptions {
        read_only,
        config,
        delay_seconds: args.delay,
    };
    agent::run(root, &options).map_err(|e| CliError::Unavailable(format!("agent: {e}")))
}

/// True when the dashboard should watch remote hosts: `--host` given, or `ISOTOP_HOST` set
/// to something.
pub(crate) fn remote_requested(cli: &Cli) -> bool {
    !cli.hosts.is_empty()
        || std::env::var(HOSTS_ENV).is_ok_and(|list| list.split(',').any(|h| !h.trim().is_empty()))
}

/// The dashboard on the hosts of `--host` (else `ISOTOP_HOST`).
pub(crate) fn dashboard(cli: &Cli, read_only: bool) -> Result<(), CliError> {
    let targets = if cli.hosts.is_empty() {
        HostTarget::parse_list(&std::env::var(HOSTS_ENV).unwrap_or_default())
            .map_err(|e| CliError::Usage(format!("{HOSTS_ENV}: {e}")))?
    } else {
        cli.hosts
            .iter()
            .map(|h| HostTarget::parse(h))
            .collect::<Result<Vec<_>, _>>()
            .map_err(CliError::Usage)?
    };
    if cli.root != std::path::Path::new("/") {
        return Err(CliError::Usage(
            "--root reads this host; with --host give it to the agent: --remote-command \
             'isotop --root /host'"
                .to_string(),
        ));
    }
    let settings = SshSettings::from_env(cli.remote_command.clone()).map_err(CliError::Usage)?;
    let options = crate::ui::Options {
        delay_seconds: cli.delay,
        config: cli.config.clone(),
        read_only,
    };
    crate::ui::run_on(&options, |config| {
        connect_all(&targets, &settings, config.refresh)
    })
    .map_err(|e| {
        if e.is_usage() {
            CliError::Usage(e.to_string())
        } else {
            CliError::Output(e.to_string())
        }
    })
}
