//! The last N lines of a log, read backward from its end: the newest file first, record by
//! record, pieces joined in reverse per stream.
//!
//! Contract: the answer is what reading the whole log forward and keeping the last N lines
//! the query admits would give, at the cost of what those lines hold: a line is known (its
//! end, time and stream) at its last piece, so N admitted lines are chosen as soon as N last
//! pieces are seen, and reading goes on only to gather the earlier pieces of the chosen lines
//! — at most [`GATHER_BUDGET`] more bytes (a stream whose line began that far back keeps what
//! was gathered, marked cut). A compressed or damaged file is read forward into memory
//! (bounded, `source::collect`) and then walked backward.

use std::collections::VecDeque;
use std::ops::ControlFlow;

use super::decode::{framer, parse};
use super::frame::Raw;
use super::join::{KEEP_BYTES, Piece, line_of, slot};
use super::read::{Input, ReadSummary, opened};
use super::source::{self, FramesBack};
use super::{LogError, LogFormat, LogLine, LogQuery, LogStream};

/// How far past the chosen lines' ends reading goes to gather their first pieces, bytes.
pub(crate) const GATHER_BUDGET: usize = 64 << 20;

/// A line seen from its end, its earlier pieces still coming.
struct Open {
    order: u64,
    at_ns: Option<u64>,
    stream: Option<LogStream>,
    wanted: bool,
    /// Its earliest bytes so far (pieces are prepended; the latest bytes past the cut fall off).
    bytes: Vec<u8>,
    total: usize,
}

impl Open {
    fn prepend(&mut self, piece: &Piece) {
        self.total = self.total.saturating_add(piece.len());
        if self.wanted {
            let mut bytes = piece.bytes.clone();
            bytes.extend_from_slice(&self.bytes);
            bytes.truncate(KEEP_BYTES);
            self.bytes = bytes;
        }
    }
}

/// Joins pieces given last first.
struct Reverse<'q> {
    query: &'q LogQuery,
    wanted: usize,
    chosen: usize,
    open: [Option<Open>; 3],
    done: Vec<(u64, LogLine)>,
    /// Counts down: later records have larger orders.
    order: u64,
    gathered: usize,
    out_of_budget: bool,
}

impl<'q> Reverse<'q> {
    fn new(query: &'q LogQuery, wanted: usize) -> Reverse<'q> {
        Reverse {
            query,
            wanted,
            chosen: 0,
            open: [None, None, None],
            done: Vec::new(),
            order: u64::MAX,
            gathered: 0,
            out_of_budget: false,
        }
    }

    fn close(&mut self, open: Open, unfinished: bool) {
        if open.wanted {
            let mut line = line_of(open.at_ns, open.stream, &open.bytes, open.total);
            // Gathering stopped before the line's first piece: what is shown is not all.
            line.cut |= unfinished;
            self.done.push((open.order, line));
        }
    }

    /// Takes the piece before every piece given so far; `Break` once the answer is complete.
    fn push(&mut self, piece: &Piece) -> ControlFlow<()> {
        self.order -= 1;
        let slot = slot(piece.stream);
        if piece.ends_line
            && let Some(open) = self.open[slot].take()
        {
            self.close(open, false);
        }
        match &mut self.open[slot] {
            Some(open) => open.prepend(piece),
            None => {
                // A line ends here (or, at the very end, stops unfinished here).
                let wanted =
                    self.chosen < self.wanted && self.query.admits(piece.at_ns, piece.stream);
                self.chosen += usize::from(wanted);
                let mut open = Open {
                    order: self.order,
                    at_ns: piece.at_ns,
                    stream: piece.stream,
                    wanted,
                    bytes: Vec::new(),
                    total: 0,
                };
                open.prepend(piece);
                self.open[slot] = Some(open);
            }
        }
        if self.chosen < self.wanted {
            return ControlFlow::Continue(());
        }
        self.gathered = self.gathered.saturating_add(piece.len());
        let gathering = self.open.iter().flatten().any(|o| o.wanted);
        if !gathering {
            return ControlFlow::Break(());
        }
        if self.gathered > GATHER_BUDGET {
            self.out_of_budget = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    /// The chosen lines in order. Lines still open began before the log's start (complete)
    /// or beyond the gathering budget (cut).
    fn finish(mut self) -> Vec<LogLine> {
        for slot in 0..self.open.len() {
            if let Some(open) = self.open[slot].take() {
                self.close(open, self.out_of_budget);
            }
        }
        self.done.sort_by_key(|(order, _)| *order);
        self.done.into_iter().map(|(_, line)| line).collect()
    }
}

/// The last `wanted` lines `query` admits of `inputs` (oldest first), given to `sink` in order.
pub(crate) fn tail(
    format: LogFormat,
    inputs: &[Input<'_>],
    query: &LogQuery,
    wanted: usize,
    sink: &mut dyn FnMut(LogLine) -> ControlFlow<()>,
) -> Result<ReadSummary, LogError> {
    let mut summary = ReadSummary::default();
    let mut reverse = Reverse::new(query, wanted);
    if wanted == 0 {
        return Ok(summary);
    }
    let mut skipped = 0u64;
    let mut each = |raw: Raw| match parse(format, &raw) {
        Some(piece) => reverse.push(&piece),
        None => {
            skipped += 1;
            ControlFlow::Continue(())
        }
    };
    for input in inputs.iter().rev() {
        let Some(file) = opened(input, &mut summary)? else {
            continue;
        };
        let (path, gzip, end) = (file.path, file.gzip, file.end);
        let flow = if gzip {
            backward_from_memory(&file, None, format, &mut summary, &mut each)?
        } else {
            let end = match end {
                Some(end) => end,
                None => file.len()?,
            };
            match format {
                LogFormat::DockerLocal => {
                    match source::frames_backward(file.file(), path, end, &mut each)? {
                        FramesBack::Done(flow) => flow,
                        FramesBack::Damaged(at) => {
                            backward_from_memory(&file, Some(at), format, &mut summary, &mut each)?
                        }
                    }
                }
                _ => source::lines_backward(file.file(), path, end, &mut each)?,
            }
        };
        if flow.is_break() {
            break;
        }
    }
    summary.skipped += skipped;
    for line in reverse.finish() {
        if sink(line).is_break() {
            break;
        }
    }
    Ok(summary)
}

/// Reads a file (up to `end`) forward into memory, then gives its records last first.
fn backward_from_memory(
    file: &super::read::OpenInput<'_>,
    end: Option<u64>,
    format: LogFormat,
    summary: &mut ReadSummary,
    each: &mut dyn FnMut(Raw) -> ControlFlow<()>,
) -> Result<ControlFlow<()>, LogError> {
    let (records, note): (VecDeque<Raw>, _) =
        source::collect(file.file(), file.path, file.gzip, end, framer(format))?;
    summary.notes.extend(note);
    for raw in records.into_iter().rev() {
        if each(raw).is_break() {
            return Ok(ControlFlow::Break(()));
        }
    }
    Ok(ControlFlow::Continue(()))
}
