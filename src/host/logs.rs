//! What a container printed, from the files its runtime keeps (no daemon socket), behind one
//! reader: Docker's `json-file` and `local` drivers, the CRI format of Kubernetes pods
//! (containerd, CRI-O) and of Podman's `k8s-file`, and isotop's own log.
//!
//! Contract: [`locate()`] finds a container's log files (or says why there are none and how to
//! get one — never an empty answer that looks like silence); [`read()`] returns its lines in
//! order, oldest first, across rotated files (gzip-compressed ones too), and reads a huge log
//! for the last few lines backwards from its end; [`LogFollower`] follows new lines across
//! rotation (a file renamed away is finished before the new one is read) and truncation
//! (copytruncate), woken by inotify. Lines keep the container's bytes as lossy UTF-8 (invalid
//! sequences shown as U+FFFD, never dropped), partial records (Docker's lines without `\n`,
//! CRI's `P`, `local`'s partial entries) joined per stream to their full line, one trailing
//! `\r` dropped, a line longer than [`MAX_LINE_BYTES`] cut with `cut` set; a line's time is
//! when its runtime logged its end. Records that are not log records (garbage, a torn line)
//! are skipped and counted, never a panic; cleaning control characters for a terminal is the
//! caller's (`host::text::clean_lines`). Every file is opened through `host::runtime::file`
//! below the deepest directory only root could have arranged (no symlink followed out of a
//! user's store, no FIFO blocked on, nothing on FUSE).

mod decode;
mod follow;
mod frame;
mod join;
mod locate;
mod read;
mod source;
mod tail;
pub mod time;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use follow::{LogFollower, follow};
pub use locate::locate;
pub use read::{ReadSummary, read, read_each};

use crate::host::runtime::FileError;

/// The longest line kept whole, bytes; longer lines are cut and marked.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Which of the container's outputs a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    Stdout,
    Stderr,
}

impl LogStream {
    /// The stream a runtime's record names (`stdout`, `stderr`); `None` for anything else.
    pub fn from_name(name: &[u8]) -> Option<LogStream> {
        match name {
            b"stdout" => Some(LogStream::Stdout),
            b"stderr" => Some(LogStream::Stderr),
            _ => None,
        }
    }
}

/// One line of a container's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// When the runtime logged it, ns since the Unix epoch (`None`: the format has no time).
    pub at_ns: Option<u64>,
    /// `None` where the format does not say (a runtime logging a terminal).
    pub stream: Option<LogStream>,
    /// The text without its line end, lossy UTF-8, not cleaned.
    pub text: String,
    /// Longer than [`MAX_LINE_BYTES`]: `text` is its start.
    pub cut: bool,
}

/// A log file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// Docker `json-file`: `{"log":"…\n","stream":"stdout","time":"RFC 3339 ns"}` per line.
    DockerJsonFile,
    /// Docker `local`: length-framed protobuf `LogEntry` records.
    DockerLocal,
    /// CRI: `TIME STREAM P|F TEXT` per line (Kubernetes, Podman `k8s-file`).
    Cri,
    /// isotop's own `container.log` (`launch::logs`' JSON records).
    Isotop,
}

/// Where a container's log is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogFiles {
    pub format: LogFormat,
    /// The file being written.
    pub current: PathBuf,
    /// Rotated files, oldest first (`.2`, `.1` for json-file…).
    pub rotated: Vec<PathBuf>,
}

/// A container's log, or why it has none readable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LogLocation {
    Files(LogFiles),
    /// No file to read: `reason` says why (journald driver, a runtime that keeps none, not
    /// root), `hint` how to get one (`--log-driver json-file`, `ctr run --log-uri file://…`).
    NoFile {
        reason: String,
        hint: String,
    },
}

/// Which lines [`read()`] returns (and a follower's caller keeps): all of them by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogQuery {
    /// Only lines logged at or after this time, ns since the Unix epoch.
    pub since_ns: Option<u64>,
    /// Only lines logged at or before this time, ns since the Unix epoch.
    pub until_ns: Option<u64>,
    /// Only this stream's lines (lines of no known stream are left out too).
    pub stream: Option<LogStream>,
    /// Only the last N of the lines the other conditions keep.
    pub tail: Option<usize>,
}

impl LogQuery {
    /// True when a line logged at `at_ns` on `stream` passes the time and stream conditions
    /// (a line of unknown time passes the time ones).
    pub fn admits(&self, at_ns: Option<u64>, stream: Option<LogStream>) -> bool {
        let stream_ok = self.stream.is_none_or(|wanted| stream == Some(wanted));
        let since_ok = match (self.since_ns, at_ns) {
            (Some(since), Some(at)) => at >= since,
            _ => true,
        };
        let until_ok = match (self.until_ns, at_ns) {
            (Some(until), Some(at)) => at <= until,
            _ => true,
        };
        stream_ok && since_ok && until_ok
    }

    /// [`LogQuery::admits`] for a whole line.
    pub fn admits_line(&self, line: &LogLine) -> bool {
        self.admits(line.at_ns, line.stream)
    }
}

/// Why a log could not be read. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error(
        "cannot read {path}: permission denied (a container's log is its runtime's: run isotop as root)",
        path = path.display()
    )]
    PermissionDenied { path: PathBuf },
    /// Not opened on purpose: a symlink below a user's directory, a FIFO, a file on FUSE.
    #[error("{reason}")]
    Refused { path: PathBuf, reason: String },
    #[error("cannot read {path}: {source}", path = path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl LogError {
    /// Wraps an I/O error on `path`, telling permission trouble apart.
    pub fn io(path: &Path, source: std::io::Error) -> LogError {
        if source.kind() == std::io::ErrorKind::PermissionDenied {
            LogError::PermissionDenied {
                path: path.to_path_buf(),
            }
        } else {
            LogError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            LogError::PermissionDenied { path }
            | LogError::Refused { path, .. }
            | LogError::Io { path, .. } => path,
        }
    }

    fn from_file(path: &Path, error: FileError) -> LogError {
        match error {
            FileError::Io { source, .. } => LogError::io(path, source),
            refused => LogError::Refused {
                path: path.to_path_buf(),
                reason: refused.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests;
