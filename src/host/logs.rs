//! What a container printed, from the files its runtime keeps (no daemon socket), behind one
//! reader: Docker's `json-file` and `local` drivers, the CRI format of Kubernetes pods
//! (containerd, CRI-O) and of Podman's `k8s-file`, and isotop's own log.
//!
//! Contract: [`locate`] finds a container's log files (or says why there are none and how to
//! get one — never an empty answer that looks like silence); [`read`] returns its lines in
//! order, oldest first, across rotated files; [`LogFollower`] follows new lines across rotation
//! and truncation. Lines keep the container's bytes as lossy UTF-8 (invalid sequences shown
//! as U+FFFD, never dropped), CRI partial records (`P`) joined to their full line, a line longer
//! than [`MAX_LINE_BYTES`] cut with `cut` set; cleaning control characters for a terminal is the
//! caller's (`host::text::clean_lines`). Files under users' directories are read through
//! `host::runtime::file` (no symlink followed out of the store, no FIFO blocked on).

use std::path::PathBuf;

use serde::Serialize;

/// The longest line kept whole, bytes; longer lines are cut and marked.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Which of the container's outputs a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    Stdout,
    Stderr,
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
