//! Errors of the command line: the user's mistakes (exit 2) versus host trouble (exit 1).

use crate::control::ControlError;
use crate::host::HostError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The user asked for something that does not exist or is not unique.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Host(#[from] HostError),
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error(transparent)]
    Diff(#[from] crate::host::diff::DiffError),
    /// A flight recorder's store could not be read (`--at`/`--from`).
    #[error(transparent)]
    Record(#[from] crate::record::RecordError),
    /// What was asked cannot be read from this container (no running init, not overlay).
    #[error("{0}")]
    Unavailable(String),
    #[error("cannot write output: {0}")]
    Output(String),
}

impl CliError {
    /// The process exit code: 2 for the user's own mistakes, 1 otherwise.
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Control(e) if e.is_usage() => 2,
            _ => 1,
        }
    }
}
