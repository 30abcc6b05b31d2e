//! `--at TIME` / `--from DIR` of `ls`, `cgroups`, `ns` and `inspect`: the frame of a flight
//! recorder's store those subcommands answer from instead of reading the host.
//!
//! Contract: [`RecordedFrame::open`] is `None` when neither option is given (the live answer);
//! otherwise it opens the store (`--from`, default the state directory's `record/`:
//! `/var/lib/isotop/record` for root) and takes the NEWEST FRAME AT OR BEFORE `--at`
//! (`record::Recording::index_at_or_before`), or the newest frame when only `--from` is given.
//! A TIME is `cli::moment`'s (RFC 3339 with any offset, or a duration ago: `-15m`, `15m`).
//! Mistakes are the user's (exit 2) with a message saying what to do: a bad TIME, a directory
//! that does not exist, one with no frames, a TIME before the first frame (the message names
//! the recording's span). A store that cannot be read (another format version, permission) is
//! exit 1 with the store's own message. What the store skipped (a torn tail) is a warning on
//! stderr. Every answer says which frame it shows: the text's first line ([`RecordedFrame::header`]) and the
//! JSON's `recorded_at` field ([`Recorded`]), the frame's `taken_at_ms` as RFC 3339 UTC.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::inspect::life::rfc3339_ms;
use super::{CliError, RecordedArgs};
use crate::host::HostRoot;
use crate::host::text::clean_str;
use crate::record::{RecordError, Recording};
use crate::sample::Frame;

/// The frame a subcommand answers from, and which one it is.
#[derive(Debug)]
pub(crate) struct RecordedFrame {
    pub frame: Frame,
    /// The store read.
    pub dir: PathBuf,
    /// The moment asked for (`--at`), ms since the Unix epoch; `None`: the newest frame.
    pub asked_ms: Option<u64>,
}

/// A live answer's JSON document with the frame it was made from: the same fields, plus
/// `recorded_at` and, where the frame lacks what the live answer shows, `not_recorded`
/// (field → why it is null or empty).
#[derive(Debug, Serialize)]
pub(crate) struct Recorded<'a, T: Serialize> {
    #[serde(flatten)]
    pub answer: &'a T,
    /// The frame's time, RFC 3339 UTC with milliseconds.
    pub recorded_at: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub not_recorded: BTreeMap<&'static str, &'static str>,
}

impl<'a, T: Serialize> Recorded<'a, T> {
    /// `answer` made from the frame taken at `taken_at_ms`.
    pub(crate) fn at(answer: &'a T, taken_at_ms: u64) -> Recorded<'a, T> {
        Recorded {
            answer,
            recorded_at: rfc3339_ms(taken_at_ms),
            not_recorded: BTreeMap::new(),
        }
    }
}

impl RecordedArgs {
    /// True when the answer is to come from a recording.
    pub(crate) fn asked(&self) -> bool {
        self.at.is_some() || self.from.is_some()
    }
}

/// The store `from` names, else the state directory's `record/` (`/var/lib/isotop/record` for
/// root): where `isotop record` writes by default.
pub(crate) fn store_dir(root: &HostRoot, from: Option<&Path>) -> PathBuf {
    from.map(Path::to_path_buf)
        .unwrap_or_else(|| crate::control::limits::journal::state_dir(root).join("record"))
}

/// A store opened, with the frame `--at` picks in it.
#[derive(Debug)]
pub(crate) struct Picked {
    pub recording: Recording,
    /// The newest frame at or before the moment asked, else the newest of all.
    pub index: usize,
    pub dir: PathBuf,
    /// The moment asked for, ms since the Unix epoch.
    pub asked_ms: Option<u64>,
}

/// Opens the store in `dir` (its skipped tails warned on stderr) and picks the frame at or
/// before `at` (a TIME, see the module contract), else its newest.
pub(crate) fn pick(dir: PathBuf, at: Option<&str>) -> Result<Picked, CliError> {
    let asked_ms = match at {
        Some(text) => {
            let now_ns = crate::units::now_ms().saturating_mul(1_000_000);
            Some(super::moment::past_moment_ns("--at", text, now_ns)? / 1_000_000)
        }
        None => None,
    };
    let recording = open_store(&dir)?;
    for warning in recording.warnings() {
        super::warn(&format!("warning: {}", clean_str(warning)));
    }
    let entries = recording.entries();
    let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
        let empty = RecordError::Empty { dir: dir.clone() };
        return Err(CliError::Usage(clean_str(&empty.to_string())));
    };
    let index = match asked_ms {
        None => entries.len() - 1,
        Some(at) => recording.index_at_or_before(at).ok_or_else(|| {
            CliError::Usage(format!(
                "--at {}: before the recording's first frame; {} holds {} to {} ({} frames)",
                rfc3339_ms(at),
                shown(&dir),
                rfc3339_ms(first.t_ms),
                rfc3339_ms(last.t_ms),
                entries.len()
            ))
        })?,
    };
    Ok(Picked {
        recording,
        index,
        dir,
        asked_ms,
    })
}

impl RecordedFrame {
    /// The frame `args` ask for (see the module contract); `None` without `--at`/`--from`.
    pub(crate) fn open(
        root: &HostRoot,
        args: &RecordedArgs,
    ) -> Result<Option<RecordedFrame>, CliError> {
        if !args.asked() {
            return Ok(None);
        }
        let dir = store_dir(root, args.from.as_deref());
        let picked = pick(dir, args.at.as_deref())?;
        let frame = picked.recording.frame(picked.index).map_err(store_error)?;
        Ok(Some(RecordedFrame {
            frame,
            dir: picked.dir,
            asked_ms: picked.asked_ms,
        }))
    }

    /// The frame's time as the JSON's `recorded_at` shows it.
    pub(crate) fn recorded_at(&self) -> String {
        rfc3339_ms(self.frame.taken_at_ms)
    }

    /// `answer` with the frame's time (see [`Recorded`]).
    pub(crate) fn wrap<'a, T: Serialize>(&self, answer: &'a T) -> Recorded<'a, T> {
        Recorded::at(answer, self.frame.taken_at_ms)
    }

    /// The text answer's first line: `recorded at T (the frame at or before ASKED; DIR)`.
    pub(crate) fn header(&self) -> String {
        let which = match self.asked_ms {
            Some(at) => format!("the frame at or before {}", rfc3339_ms(at)),
            None => "the newest frame".to_string(),
        };
        format!(
            "recorded at {} ({which}; {})\n",
            self.recorded_at(),
            shown(&self.dir)
        )
    }
}

/// Opens the store in `dir`; a missing or foreign directory is the user's mistake.
fn open_store(dir: &Path) -> Result<Recording, CliError> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() || dir.is_dir() => {}
        Ok(_) => {
            return Err(CliError::Usage(format!(
                "{}: not a directory (name the recording's directory: `isotop record -o DIR` writes one)",
                shown(dir)
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CliError::Usage(format!(
                "{}: no recording there (name the recording's directory, or start `isotop record`)",
                shown(dir)
            )));
        }
        Err(_) => {}
    }
    Recording::open(dir).map_err(store_error)
}

/// A store that is not one is the user's mistake (exit 2); one that cannot be read, exit 1.
fn store_error(e: RecordError) -> CliError {
    match e {
        RecordError::NotAStore { .. } => CliError::Usage(clean_str(&e.to_string())),
        other => CliError::Record(other),
    }
}

fn shown(dir: &Path) -> String {
    clean_str(&dir.display().to_string())
}

/// Refuses `option` when the answer comes from a recording: `why` says what it would need.
pub(crate) fn refuse(option: &str, why: &str) -> CliError {
    CliError::Usage(format!(
        "{option} cannot be answered from a recording: {why}"
    ))
}
