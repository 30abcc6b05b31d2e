//! The records of a limit change: the [`PlannedWrite`]s of a [`Plan`], the [`FileChange`]s they
//! become (old content, what was written, what the kernel reads back), the [`Slot`] a change
//! to a file of one line per device concerns, and the file reads and writes every record goes
//! through ([`read_limit`] reads a slot's line only). The journal, timed reverts, `limit
//! --json` and the audit keep these records; serialized fields are only ever added.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::value;
use crate::control::error::ControlError;

/// One line of a file holding a line per device (`io.max`, `blkio.throttle.*_device`, v2
/// `io.weight`): what a change to it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// The line's first word: `MAJ:MIN`, or `default`.
    pub key: String,
    /// How the line reads when the kernel prints none (no limit set): writing it clears.
    pub cleared: String,
}

/// One file to write: what it limits, its old content and the new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedWrite {
    /// `limit.cpu`, `limit.cpu_period`, `limit.cpu_weight`, `limit.memory`,
    /// `limit.memory_high`, `limit.pids`, `limit.io_{read,write}_{bps,iops}` (v1),
    /// `limit.io_max` (v2), `limit.io_weight`.
    pub what: String,
    pub path: PathBuf,
    /// The file's content before, trimmed (exactly what undo writes back); of a [`Slot`]'s
    /// file, that line.
    pub old: String,
    pub new: String,
    /// The line this write changes, in a file of one line per device; `None`: the whole file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<Slot>,
}

/// One file written: its old content, what was written and what the kernel reads back (v1
/// rounds memory to pages and shows `max` as a huge number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    pub what: String,
    pub path: PathBuf,
    pub old: String,
    pub written: String,
    pub now: String,
    /// Recorded before the write (write-ahead) and not yet confirmed: the write may or may not
    /// have happened (isotop was cut short), `now` is unknown. Restoring `old` is harmless
    /// either way.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_flight: bool,
    /// The line it changed, in a file of one line per device (`old`, `written` and `now` are
    /// that line's); `None`: the whole file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<Slot>,
}

impl FileChange {
    /// The record of `write` made before it is written (see [`FileChange::in_flight`]).
    pub fn planned(write: &PlannedWrite) -> FileChange {
        FileChange {
            what: write.what.clone(),
            path: write.path.clone(),
            old: write.old.clone(),
            written: write.new.clone(),
            now: String::new(),
            in_flight: true,
            slot: write.slot.clone(),
        }
    }

    /// What the file (its [`Slot`]'s line, if it has one) holds now.
    pub fn read_current(&self) -> Result<String, ControlError> {
        read_limit(&self.path, self.slot.as_ref())
    }

    /// True when `current` (the file's content now) is what isotop left there: the read-back
    /// when it is known, else what a write of `written` reads back as.
    pub fn holds_what_isotop_left(&self, current: &str) -> bool {
        if self.in_flight {
            value::reads_back_as(&self.written, current)
        } else {
            current == self.now
        }
    }
}

/// A planned change and what the operator should know about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub writes: Vec<PlannedWrite>,
    /// E.g. the v1 weight → shares conversion.
    pub notes: Vec<String>,
}

/// Reads a kernel file, trimmed; a missing file names the controller that lacks it.
pub fn read_file(path: &Path) -> Result<String, ControlError> {
    std::fs::read_to_string(path)
        .map(|t| t.trim().to_string())
        .map_err(|source| ControlError::Read {
            path: path.to_path_buf(),
            source,
        })
}

/// What a limit file holds: the whole file trimmed, or the line `slot` names (its first word
/// is the slot's key; whitespace runs made single), else the slot's cleared line.
pub fn read_limit(path: &Path, slot: Option<&Slot>) -> Result<String, ControlError> {
    let text = read_file(path)?;
    let Some(slot) = slot else {
        return Ok(text);
    };
    Ok(text
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|words| words.first() == Some(&slot.key.as_str()))
        .map(|words| words.join(" "))
        .unwrap_or_else(|| slot.cleared.clone()))
}

/// Writes `content` to a kernel file in one `write`.
pub fn write_file(path: &Path, content: &str) -> Result<(), ControlError> {
    std::fs::write(path, content).map_err(|source| ControlError::Write {
        path: path.to_path_buf(),
        source,
    })
}
