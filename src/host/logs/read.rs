//! Reading a container's log once: every file of a [`LogFiles`], rotated ones first (oldest
//! first), the lines a [`LogQuery`] admits.
//!
//! Contract: without `tail` the files are read forward in blocks and each line is handed over
//! as soon as it is complete (a log of any size costs a block of memory, not its size); with
//! `tail` they are read backward from the end ([`tail`](super::tail)). A rotated file that
//! vanished meanwhile (rotation moves them on) is skipped; a current file that does not exist
//! yet is a note, not an error (nothing was logged). Lines still unfinished when the log ends
//! are given last, as they are. Every record that is not a log record is counted in
//! [`ReadSummary::skipped`].

use std::fs::File;
use std::ops::ControlFlow;
use std::path::Path;

use super::decode::Decoder;
use super::join::Joiner;
use super::source::{self, each_block, is_gzip};
use super::tail::tail;
use super::{LogError, LogFiles, LogFormat, LogLine, LogQuery};

/// What a read met besides lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadSummary {
    /// Records that were not log records (garbage, another format): skipped.
    pub skipped: u64,
    /// Files not read whole, or not there, and why.
    pub notes: Vec<String>,
}

/// One file to read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Input<'a> {
    /// By its path; `current` for the file being written (its absence is worth a note).
    Path { path: &'a Path, current: bool },
    /// A file already open (a follower's), read up to `end`.
    Open {
        file: &'a File,
        path: &'a Path,
        end: u64,
    },
}

/// The inputs of `files`: rotated ones oldest first, then the current one.
pub(crate) fn inputs(files: &LogFiles) -> Vec<Input<'_>> {
    files
        .rotated
        .iter()
        .map(|path| Input::Path {
            path,
            current: false,
        })
        .chain(std::iter::once(Input::Path {
            path: &files.current,
            current: true,
        }))
        .collect()
}

/// A file opened for reading, or one a caller holds open.
enum Held<'a> {
    Owned(File),
    Borrowed(&'a File),
}

/// An input opened.
pub(crate) struct OpenInput<'a> {
    held: Held<'a>,
    pub path: &'a Path,
    pub gzip: bool,
    /// Where reading stops (a plain file's end when `None`).
    pub end: Option<u64>,
}

impl OpenInput<'_> {
    pub(crate) fn file(&self) -> &File {
        match &self.held {
            Held::Owned(file) => file,
            Held::Borrowed(file) => file,
        }
    }

    /// The file's current length, bytes.
    pub(crate) fn len(&self) -> Result<u64, LogError> {
        self.file()
            .metadata()
            .map(|m| m.len())
            .map_err(|e| LogError::io(self.path, e))
    }
}

/// Opens an input; `None` (with a note for the current file) when it does not exist.
pub(crate) fn opened<'a>(
    input: &Input<'a>,
    summary: &mut ReadSummary,
) -> Result<Option<OpenInput<'a>>, LogError> {
    match *input {
        Input::Path { path, current } => match source::open(path)? {
            Some(file) => Ok(Some(OpenInput {
                held: Held::Owned(file),
                path,
                gzip: is_gzip(path),
                end: None,
            })),
            None => {
                if current {
                    summary.notes.push(format!(
                        "{}: no such file (nothing logged yet?)",
                        path.display()
                    ));
                }
                Ok(None)
            }
        },
        Input::Open { file, path, end } => Ok(Some(OpenInput {
            held: Held::Borrowed(file),
            path,
            gzip: false,
            end: Some(end),
        })),
    }
}

/// Reads `inputs` forward, joining pieces with `joiner` (lines still unfinished at the end
/// stay in it); gives admitted lines to `sink` until it breaks.
pub(crate) fn forward(
    format: LogFormat,
    inputs: &[Input<'_>],
    query: &LogQuery,
    joiner: &mut Joiner,
    sink: &mut dyn FnMut(LogLine) -> ControlFlow<()>,
) -> Result<(ReadSummary, ControlFlow<()>), LogError> {
    let mut summary = ReadSummary::default();
    let mut pieces = Vec::new();
    for input in inputs {
        let Some(file) = opened(input, &mut summary)? else {
            continue;
        };
        let mut decoder = Decoder::new(format);
        let (flow, note) = each_block(
            file.file(),
            file.path,
            file.gzip,
            0,
            file.end,
            &mut |block| {
                decoder.feed(block, &mut pieces);
                for piece in pieces.drain(..) {
                    if let Some(line) = joiner.push(&piece)
                        && query.admits_line(&line)
                        && sink(line).is_break()
                    {
                        return ControlFlow::Break(());
                    }
                }
                ControlFlow::Continue(())
            },
        )?;
        summary.skipped += decoder.skipped;
        summary.notes.extend(note);
        if flow.is_break() {
            return Ok((summary, flow));
        }
    }
    Ok((summary, ControlFlow::Continue(())))
}

/// Every line of `files` that `query` admits, oldest first.
pub fn read(files: &LogFiles, query: &LogQuery) -> Result<Vec<LogLine>, LogError> {
    let mut lines = Vec::new();
    read_each(files, query, |line| {
        lines.push(line);
        ControlFlow::Continue(())
    })?;
    Ok(lines)
}

/// [`read`], handing each line to `sink` as soon as it is read (until `sink` breaks), and
/// saying what was skipped.
pub fn read_each(
    files: &LogFiles,
    query: &LogQuery,
    mut sink: impl FnMut(LogLine) -> ControlFlow<()>,
) -> Result<ReadSummary, LogError> {
    read_inputs(files.format, &inputs(files), query, &mut sink)
}

/// Reads `inputs` as `query` asks, lines still unfinished at the end given last.
pub(crate) fn read_inputs(
    format: LogFormat,
    inputs: &[Input<'_>],
    query: &LogQuery,
    sink: &mut dyn FnMut(LogLine) -> ControlFlow<()>,
) -> Result<ReadSummary, LogError> {
    if let Some(wanted) = query.tail {
        return tail(format, inputs, query, wanted, sink);
    }
    let mut joiner = Joiner::default();
    let (summary, flow) = forward(format, inputs, query, &mut joiner, sink)?;
    if flow.is_continue() {
        for line in joiner.flush() {
            if query.admits_line(&line) && sink(line).is_break() {
                break;
            }
        }
    }
    Ok(summary)
}
