//! The read side's error type: every variant carries the path it concerns and says what to do.

use std::io;
use std::path::{Path, PathBuf};

/// An error while reading the host. Vanished files are not errors (readers return `Ok(None)`).
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("cannot read {path}: permission denied (run isotop as root to see it)")]
    PermissionDenied { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("unexpected content in {path}: {what}")]
    Parse { path: PathBuf, what: String },
    #[error("{path} is not a procfs mount: is the host's /proc mounted there?")]
    NoProc { path: PathBuf },
}

impl HostError {
    /// Wraps an I/O error, turning EACCES/EPERM into the user-facing permission variant.
    pub fn io(path: &Path, source: io::Error) -> Self {
        if source.kind() == io::ErrorKind::PermissionDenied {
            HostError::PermissionDenied {
                path: path.to_path_buf(),
            }
        } else {
            HostError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }

    pub fn parse(path: &Path, what: impl Into<String>) -> Self {
        HostError::Parse {
            path: path.to_path_buf(),
            what: what.into(),
        }
    }

    /// True for errors that mean "you are not allowed to see this".
    pub fn is_permission(&self) -> bool {
        matches!(self, HostError::PermissionDenied { .. })
    }
}

/// True when an I/O error means the thing is gone (or never was): a process that exited, a
/// cgroup removed between listing and reading it. ESRCH shows up reading `/proc/<pid>` files of
/// a process that is exiting.
pub fn is_vanished(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(nix::libc::ESRCH)
}
