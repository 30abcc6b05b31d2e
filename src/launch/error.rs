//! The launch side's error type (`isotop run`, `stop`, `rm`, `logs`, the supervisor): which
//! step failed, on which file, device or container, and what the operator can do. Every
//! message is shown as is.

use std::path::{Path, PathBuf};

use super::image::ImageError;
use crate::control::ControlError;

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Control(#[from] ControlError),
    /// An option value the operator gave is not valid; `hint` says what is.
    #[error("invalid {option} {value:?}: {hint}")]
    Invalid {
        option: String,
        value: String,
        hint: String,
    },
    #[error(
        "the name {name:?} is already in use by container {id}: pick another --name or `isotop rm {name}`"
    )]
    NameInUse { name: String, id: String },
    #[error("no isotop container {target:?}: `isotop ls --all` lists them")]
    NoSuchContainer { target: String },
    /// A state the act cannot work in, e.g. `rm` on a running container without `--force`.
    #[error("{id}: {why}")]
    WrongState { id: String, why: String },
    #[error("{what} {path}: {source}")]
    Io {
        what: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A syscall in the named step failed.
    #[error("{step} failed: {source}")]
    Kernel {
        step: String,
        #[source]
        source: nix::Error,
    },
    /// The container's own setup, reported by its process before `exec` (e.g. "exec
    /// /bin/foo: No such file or directory").
    #[error("the container could not start: {0}")]
    Setup(String),
    /// A host tool (ip) failed; its stderr is in `detail`.
    #[error("{what} failed: {detail}")]
    Tool { what: String, detail: String },
    #[error("{what} needs root: run isotop as root (with sudo)")]
    NeedsRoot { what: String },
}

impl LaunchError {
    pub fn invalid(option: &str, value: &str, hint: impl Into<String>) -> Self {
        LaunchError::Invalid {
            option: option.into(),
            value: value.into(),
            hint: hint.into(),
        }
    }

    pub fn io(what: &str, path: &Path, source: std::io::Error) -> Self {
        LaunchError::Io {
            what: what.into(),
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn kernel(step: impl Into<String>, source: nix::Error) -> Self {
        LaunchError::Kernel {
            step: step.into(),
            source,
        }
    }

    /// True when the operator's own input caused it (CLI exit code 2).
    pub fn is_usage(&self) -> bool {
        match self {
            LaunchError::Invalid { .. }
            | LaunchError::NameInUse { .. }
            | LaunchError::NoSuchContainer { .. }
            | LaunchError::WrongState { .. } => true,
            LaunchError::Control(c) => c.is_usage(),
            LaunchError::Image(ImageError::NotAnImage { .. }) => true,
            _ => false,
        }
    }
}
