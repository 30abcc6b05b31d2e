//! Why a runtime file was not read ([`FileError`], each naming the path), and the errno of a
//! failed open turned into one.

use std::path::{Path, PathBuf};

use rustix::fs::FileType;

/// Why a runtime file was not read. Every variant names the path.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: no such file", path = path.display())]
    Missing { path: PathBuf },
    #[error("{path} is a symlink: runtime files are never read through one", path = path.display())]
    Symlink { path: PathBuf },
    #[error("{path} is a {kind}, not a regular file: not read", path = path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("{path} is larger than {cap} bytes: not read", path = path.display())]
    TooBig { path: PathBuf, cap: u64 },
    #[error("{path} is on a FUSE file system (its daemon, not the kernel, answers every read, and may never): not read", path = path.display())]
    Fuse { path: PathBuf },
    #[error("{path}: only plain names below {base} are read", path = path.display(), base = base.display())]
    BadPath { path: PathBuf, base: PathBuf },
    #[error("{path}: {source}", path = path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl FileError {
    /// True when the file (or a directory on its way) does not exist: normal, not a warning.
    pub fn is_missing(&self) -> bool {
        matches!(self, FileError::Missing { .. })
    }

    /// The error as an `io::Error` for callers whose own error already names the path: the
    /// OS error itself, or what was refused and why.
    pub fn into_io(self) -> std::io::Error {
        match self {
            FileError::Io { source, .. } => source,
            FileError::Missing { .. } => std::io::Error::from(std::io::ErrorKind::NotFound),
            FileError::Symlink { .. } => {
                std::io::Error::other("it is a symlink: never read through one")
            }
            FileError::NotRegular { kind, .. } => {
                std::io::Error::other(format!("it is a {kind}, not a regular file"))
            }
            FileError::TooBig { cap, .. } => {
                std::io::Error::other(format!("it is larger than {cap} bytes"))
            }
            FileError::BadPath { .. } => std::io::Error::other("not a plain path"),
            FileError::Fuse { .. } => {
                std::io::Error::other("it is on a FUSE file system: never read")
            }
        }
    }

    /// True when the file exists but this user may not read it (non-root isotop).
    pub fn is_permission(&self) -> bool {
        matches!(self, FileError::Io { source, .. }
            if source.kind() == std::io::ErrorKind::PermissionDenied)
    }
}

pub(super) fn kind_name(file_type: FileType) -> &'static str {
    match file_type {
        FileType::RegularFile => "regular file",
        FileType::Directory => "directory",
        FileType::Symlink => "symlink",
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        FileType::Unknown => "file of unknown type",
    }
}

pub(super) fn io_error(path: &Path, errno: rustix::io::Errno) -> FileError {
    let source = std::io::Error::from(errno);
    match source.kind() {
        std::io::ErrorKind::NotFound => FileError::Missing {
            path: path.to_path_buf(),
        },
        _ => FileError::Io {
            path: path.to_path_buf(),
            source,
        },
    }
}
