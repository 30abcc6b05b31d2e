//! Why one network namespace could not be read: each variant names the namespace (its nsfs
//! inode) and the file or request concerned, and says what to do.
//!
//! Contract: these never fail a whole read. The walk turns each into a note of its reading
//! (`NetRead::notes`), and [`NetError::is_vanished`] tells the normal case — the namespace's
//! last process exited, an interface went away — from trouble worth showing.

use std::io;
use std::path::PathBuf;

/// Trouble reading one network namespace.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error(
        "cannot open {path}: permission denied (run isotop as root to read other \
         namespaces' networks)"
    )]
    OpenDenied { path: PathBuf },
    #[error("cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "network namespace {inode} is gone: no process or mount holds it any more (last tried \
         {path})"
    )]
    Vanished { inode: u64, path: PathBuf },
    #[error(
        "cannot enter network namespace {inode} through {path}: permission denied (entering \
         needs CAP_SYS_ADMIN: run isotop as root)"
    )]
    EnterDenied { inode: u64, path: PathBuf },
    #[error("cannot enter network namespace {inode} through {path}: {source}")]
    Enter {
        inode: u64,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "netlink refused {what} in network namespace {inode}: {source}{hint}",
        hint = permission_hint(.source)
    )]
    Netlink {
        inode: u64,
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("network namespace {inode}: {what} (this is not the live host: nothing to enter)")]
    NotLive { inode: u64, what: &'static str },
    #[error("cannot start the thread that reads network namespaces: {source}")]
    Thread {
        #[source]
        source: io::Error,
    },
}

/// The advice for a refusal root would not have met.
fn permission_hint(source: &io::Error) -> &'static str {
    if source.kind() == io::ErrorKind::PermissionDenied {
        " (run isotop as root)"
    } else {
        ""
    }
}

impl NetError {
    /// True when the namespace simply ended while being read (not worth a warning of its own).
    pub fn is_vanished(&self) -> bool {
        matches!(self, NetError::Vanished { .. })
    }

    /// True when root would have been allowed.
    pub fn is_permission(&self) -> bool {
        match self {
            NetError::OpenDenied { .. } | NetError::EnterDenied { .. } => true,
            NetError::Netlink { source, .. } => source.kind() == io::ErrorKind::PermissionDenied,
            _ => false,
        }
    }
}
