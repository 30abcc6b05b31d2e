//! The act side's error type: what was refused or failed, on which target or file, and what to
//! do about it. Every variant's message is shown to the operator as is.

use std::path::PathBuf;

use crate::host::HostError;

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The target is one isotop will not touch (host PID 1, the root cgroup, isotop itself).
    #[error("refused: {target}: {reason}")]
    Refused { target: String, reason: String },
    /// Acts need root.
    #[error("{what} needs root: run isotop as root (with sudo)")]
    NotRoot { what: String },
    /// A value the operator gave is not valid; `hint` says what is.
    #[error("invalid {what} {value:?}: {hint}")]
    InvalidValue {
        what: String,
        value: String,
        hint: String,
    },
    /// The target went away before or during the act.
    #[error("{target} is gone: it exited or was removed before the change could be made")]
    Vanished { target: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} failed: {source}")]
    Syscall {
        what: String,
        #[source]
        source: nix::Error,
    },
    #[error(transparent)]
    Host(#[from] HostError),
    /// An entered command that could not be executed; `code` is what a shell exits with
    /// (127: no such program, 126: not executable).
    #[error("{message}")]
    CommandNotRun { message: String, code: i32 },
    /// Anything else that stops an act, said plainly.
    #[error("{0}")]
    Other(String),
}

impl ControlError {
    /// True when the operator's own input or choice caused it (CLI exit code 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ControlError::Refused { .. } | ControlError::InvalidValue { .. }
        )
    }
}
