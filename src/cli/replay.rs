//! `isotop replay [DIR] [--at TIME]`: the dashboard on a recording (`record::replay`). The
//! store is opened and the starting frame chosen before the terminal is touched, by the same
//! `cli::recorded::pick` the `--at` of `ls`, `cgroups`, `ns` and `inspect` use, so every
//! refusal is theirs — no such directory, no frame in it, not a store, a time before the
//! recording (exit 2); another format version, an unreadable store (exit 1) — a message on
//! stderr, never a screen left half drawn.

use std::path::PathBuf;

use clap::Args;

use super::CliError;
use crate::host::HostRoot;
use crate::record::replay::ReplaySource;
use crate::ui::FrameSource;

#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The recording's directory (`isotop record -o DIR`; default: the state directory's
    /// `record/`, `/var/lib/isotop/record` for root).
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Start at the newest frame taken at or before TIME: RFC 3339 (`2026-12-05T03:12:00Z`,
    /// local offsets too) or a duration ago (`15m`, `-15m`). Default: the newest frame.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub at: Option<String>,
}

/// Runs the dashboard on the recording in `args.dir` (`config`: the dashboard's config file).
pub(crate) fn run(
    root: &HostRoot,
    args: &ReplayArgs,
    config: Option<PathBuf>,
) -> Result<(), CliError> {
    let dir = super::recorded::store_dir(root, args.dir.as_deref());
    let picked = super::recorded::pick(dir, args.at.as_deref())?;
    let (recording, start) = (picked.recording, picked.index);
    let options = crate::ui::Options {
        delay_seconds: None,
        config,
        read_only: true,
    };
    crate::ui::run_on(&options, move |config| {
        vec![
            Box::new(ReplaySource::start(recording, start, config.history)) as Box<dyn FrameSource>,
        ]
    })
    .map_err(|e| {
        if e.is_usage() {
            CliError::Usage(e.to_string())
        } else {
            CliError::Output(e.to_string())
        }
    })
}
