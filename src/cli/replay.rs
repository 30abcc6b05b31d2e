//! `isotop replay [DIR] [--at TIME]`: the dashboard on a recording (`record::replay`). The
//! store is opened and the starting frame chosen before the terminal is touched, so every
//! refusal — no such directory, no frame in it, not a store, another format version, a time
//! before the recording — is a message on stderr and a non-zero exit (1 for the store, 2 for
//! a time it does not hold), never a screen left half drawn.

use std::path::{Path, PathBuf};

use clap::Args;

use super::CliError;
use super::moment::moment_ns;
use crate::record::replay::ReplaySource;
use crate::record::{RecordError, Recording};
use crate::ui::FrameSource;

/// Where `isotop record` writes, and `replay` reads, by default.
pub(crate) const DEFAULT_STORE: &str = "/var/lib/isotop/record";

#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The recording's directory (`isotop record -o DIR`).
    #[arg(value_name = "DIR", default_value = DEFAULT_STORE)]
    pub dir: PathBuf,
    /// Start at the newest frame taken at or before TIME: RFC 3339 (`2026-12-05T03:12:00Z`,
    /// local offsets too) or a duration ago (`15m`, `-15m`). Default: the newest frame.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub at: Option<String>,
}

/// Runs the dashboard on the recording in `args.dir` (`config`: the dashboard's config file).
pub(crate) fn run(args: &ReplayArgs, config: Option<PathBuf>) -> Result<(), CliError> {
    let recording = open(&args.dir)?;
    let start = start_index(&recording, args.at.as_deref(), crate::units::now_ms())?;
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

/// The store in `dir` with at least one frame; a missing directory is an empty store.
fn open(dir: &Path) -> Result<Recording, CliError> {
    let unavailable = |e: RecordError| CliError::Unavailable(e.to_string());
    let empty = || {
        unavailable(RecordError::Empty {
            dir: dir.to_path_buf(),
        })
    };
    let recording = match Recording::open(dir) {
        Ok(recording) => recording,
        Err(RecordError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err(empty());
        }
        Err(e) => return Err(unavailable(e)),
    };
    if recording.entries().is_empty() {
        return Err(empty());
    }
    Ok(recording)
}

/// The frame to start at: the newest at or before `at` (`now_ms` for durations), else the
/// newest of all.
fn start_index(recording: &Recording, at: Option<&str>, now_ms: u64) -> Result<usize, CliError> {
    let last = recording.entries().len().saturating_sub(1);
    let Some(text) = at else {
        return Ok(last);
    };
    let at_ms = moment_ns("--at", text, now_ms.saturating_mul(1_000_000))? / 1_000_000;
    recording.index_at_or_before(at_ms).ok_or_else(|| {
        let t = |ms: u64| crate::control::audit::rfc3339(ms / 1000);
        let entries = recording.entries();
        let (first, last) = (
            entries.first().map_or(0, |e| e.t_ms),
            entries.last().map_or(0, |e| e.t_ms),
        );
        CliError::Usage(format!(
            "--at {}: the recording in {} starts later, at {} (it holds {} … {})",
            crate::host::text::clean_str(text),
            recording.dir().display(),
            t(first),
            t(first),
            t(last)
        ))
    })
}
