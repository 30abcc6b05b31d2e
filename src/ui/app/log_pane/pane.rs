//! The log pane's state, without the app: the lines kept (cleaned once, on arrival, by
//! [`tidy`]; the last [`LOG_LINES_KEPT`] and at most [`LOG_BYTES_KEPT`] of text, the oldest
//! dropped), which stream shows, wrap, the search in force and the line being typed, and
//! where the operator is: following the newest line, or on a line (the cursor) known by its
//! number since the pane opened.

use std::collections::VecDeque;

use super::find;
use crate::host::logs::{LogLine, LogStream};
use crate::host::text::clean_lines;
use crate::ui::widgets::clock;

/// How many lines the pane keeps.
pub const LOG_LINES_KEPT: usize = 20_000;

/// How much text the pane keeps, bytes (lines are up to `host::logs::MAX_LINE_BYTES` each).
pub const LOG_BYTES_KEPT: usize = 16 * 1024 * 1024;

/// Columns a tab stops at.
const TAB_STOP: usize = 8;

/// Lines drawn above the line a time goes to.
const JUMP_CONTEXT: usize = 2;

/// A line as the pane keeps it: its text cleaned for the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaneLine {
    pub at_ns: Option<u64>,
    pub stream: Option<LogStream>,
    /// Cleaned ([`tidy`]).
    pub text: String,
    /// The runtime's line was longer than `host::logs::MAX_LINE_BYTES`: `text` is its start.
    pub cut: bool,
}

impl From<LogLine> for PaneLine {
    fn from(line: LogLine) -> PaneLine {
        PaneLine {
            at_ns: line.at_ns,
            stream: line.stream,
            text: tidy(&line.text),
            cut: line.cut,
        }
    }
}

/// A stranger's text made safe to draw: control characters shown as `?`
/// ([`clean_lines`]), tabs as spaces to the next stop, a line break inside a line as `⏎`.
pub fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut column = 0;
    for c in clean_lines(text).chars() {
        match c {
            '\t' => {
                let spaces = TAB_STOP - column % TAB_STOP;
                out.extend(std::iter::repeat_n(' ', spaces));
                column += spaces;
            }
            '\n' => {
                out.push('⏎');
                column += 1;
            }
            c => {
                out.push(c);
                column += 1;
            }
        }
    }
    out
}

/// Which stream the pane shows (`s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamShown {
    #[default]
    All,
    Stdout,
    Stderr,
}

impl StreamShown {
    /// In `s`'s order, round.
    pub fn next(self) -> StreamShown {
        match self {
            StreamShown::All => StreamShown::Stdout,
            StreamShown::Stdout => StreamShown::Stderr,
            StreamShown::Stderr => StreamShown::All,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StreamShown::All => "all streams",
            StreamShown::Stdout => "stdout",
            StreamShown::Stderr => "stderr",
        }
    }

    /// Whether a line of `stream` shows. A line whose format does not say (a terminal's
    /// output) shows under "all streams" only.
    pub fn shows(self, stream: Option<LogStream>) -> bool {
        match self {
            StreamShown::All => true,
            StreamShown::Stdout => stream == Some(LogStream::Stdout),
            StreamShown::Stderr => stream == Some(LogStream::Stderr),
        }
    }
}

/// Where the pane's lines come from, as far as it knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogState {
    /// Asked for; nothing back yet.
    Waiting,
    /// Lines came (maybe none: the log is empty so far); following.
    Reading,
    /// The runtime keeps no file: why, and how to get one.
    NoFile { reason: String, hint: String },
    /// Reading failed (cleaned); the lines so far stay.
    Stopped(String),
}

/// A line the pane is typing into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaneInput {
    /// `/`: the search (matches light up as it is typed).
    Search(String),
    /// `t`: a time, `HH:MM[:SS]`.
    Time(String),
}

/// A container's log pane.
#[derive(Debug, Clone)]
pub struct LogPane {
    pub container_id: String,
    /// Cleaned, as the Containers view shows it.
    pub name: String,
    pub runtime: &'static str,
    pub(super) lines: VecDeque<PaneLine>,
    pub(super) bytes: usize,
    /// The number of `lines[0]`: lines dropped before it.
    pub(super) first: u64,
    pub(super) state: LogState,
    pub(super) following: bool,
    /// The line the operator is on (a line's number), while not following.
    pub(super) cursor: u64,
    /// The first line drawn (a line's number), from the last drawing.
    pub(super) offset: u64,
    pub(super) stream: StreamShown,
    pub(super) wrap: bool,
    pub(super) search: Option<String>,
    pub(super) input: Option<PaneInput>,
    /// A time (ns since the epoch) to go to once lines come: the charts' cursor `l` opened
    /// the pane at.
    pub(super) pending_jump: Option<u64>,
}

/// Where [`LogPane::jump_to`] leaves the pane when no line is at or after the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PastTheEnd {
    /// Following the newest (`t`: a time later than the log).
    Follow,
    /// On the newest line, not following (`l` at the charts' cursor: the lines to come are
    /// the ones after it).
    Stay,
}

impl LogPane {
    pub fn new(container_id: String, name: String, runtime: &'static str) -> LogPane {
        LogPane {
            container_id,
            name,
            runtime,
            lines: VecDeque::new(),
            bytes: 0,
            first: 0,
            state: LogState::Waiting,
            following: true,
            cursor: 0,
            offset: 0,
            stream: StreamShown::All,
            wrap: true,
            search: None,
            input: None,
            pending_jump: None,
        }
    }

    /// Goes to the first line at or after `at_ns` (ns since the epoch) once lines come
    /// ([`LogPane::jump_if_pending`]); not following meanwhile.
    pub(super) fn jump_when_lines_come(&mut self, at_ns: u64) {
        self.following = false;
        self.pending_jump = Some(at_ns);
    }

    /// The time the pane will go to once lines come.
    pub fn pending_jump(&self) -> Option<u64> {
        self.pending_jump
    }

    /// With lines kept and a time to go to: goes there ([`LogPane::jump_to`], staying off
    /// the newest line when nothing is at or after it yet).
    pub(super) fn jump_if_pending(&mut self) -> Option<String> {
        if self.lines.is_empty() {
            return None;
        }
        let at_ns = self.pending_jump.take()?;
        self.jump_to(at_ns, PastTheEnd::Stay)
    }

    /// Takes lines (oldest first), dropping the oldest kept beyond the bounds.
    pub fn push(&mut self, lines: Vec<LogLine>) {
        if self.state == LogState::Waiting {
            self.state = LogState::Reading;
        }
        for line in lines {
            let line = PaneLine::from(line);
            self.bytes += line.text.len();
            self.lines.push_back(line);
        }
        while self.lines.len() > LOG_LINES_KEPT || self.bytes > LOG_BYTES_KEPT {
            let Some(oldest) = self.lines.pop_front() else {
                break;
            };
            self.bytes -= oldest.text.len();
            self.first += 1;
        }
        self.cursor = self.cursor.max(self.first);
        self.offset = self.offset.max(self.first);
    }

    pub fn state(&self) -> &LogState {
        &self.state
    }

    /// Line number `n` (numbers count from the first line the pane received).
    pub fn line(&self, n: u64) -> Option<&PaneLine> {
        self.lines
            .get(usize::try_from(n.checked_sub(self.first)?).ok()?)
    }

    /// How many lines are kept.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// How many old lines were dropped to keep the bounds.
    pub fn dropped(&self) -> u64 {
        self.first
    }

    /// The numbers of the lines the stream choice shows, oldest first.
    pub fn shown(&self) -> Vec<u64> {
        self.lines
            .iter()
            .enumerate()
            .filter(|(_, l)| self.stream.shows(l.stream))
            .map(|(i, _)| self.first + i as u64)
            .collect()
    }

    /// Index in `shown` of the cursor's line: the last one when following, else the shown
    /// line at or before the cursor (the first when none is).
    pub fn cursor_index(&self, shown: &[u64]) -> Option<usize> {
        if shown.is_empty() {
            return None;
        }
        if self.following {
            return Some(shown.len() - 1);
        }
        Some(
            shown
                .partition_point(|&n| n <= self.cursor)
                .saturating_sub(1),
        )
    }

    pub fn following(&self) -> bool {
        self.following
    }
    pub fn stream(&self) -> StreamShown {
        self.stream
    }
    pub fn wrap(&self) -> bool {
        self.wrap
    }
    /// The search in force (Enter kept it).
    pub fn search(&self) -> Option<&str> {
        self.search.as_deref()
    }
    /// What to highlight: the search being typed, else the one in force.
    pub fn highlight(&self) -> Option<&str> {
        match &self.input {
            Some(PaneInput::Search(text)) => Some(text.as_str()),
            _ => self.search.as_deref(),
        }
        .filter(|s| !s.is_empty())
    }
    pub fn input(&self) -> Option<&PaneInput> {
        self.input.as_ref()
    }
    /// The first line drawn (a line's number).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Records where the last drawing started.
    pub fn set_offset(&mut self, offset: u64) {
        self.offset = offset.max(self.first);
    }

    /// Puts the cursor on `shown[index]` (not following).
    pub(super) fn put_cursor(&mut self, shown: &[u64], index: usize) {
        if let Some(&n) = shown.get(index) {
            self.following = false;
            self.cursor = n;
        }
    }

    /// Moves the cursor `delta` shown lines (down when positive); past the last line it
    /// follows again.
    pub(super) fn move_cursor(&mut self, delta: isize) {
        let shown = self.shown();
        let Some(at) = self.cursor_index(&shown) else {
            return;
        };
        let last = shown.len() - 1;
        if delta > 0 && (self.following || at.saturating_add(delta.unsigned_abs()) > last) {
            self.following = true;
            return;
        }
        let to = if delta < 0 {
            at.saturating_sub(delta.unsigned_abs())
        } else {
            at + delta.unsigned_abs()
        };
        self.put_cursor(&shown, to.min(last));
    }

    /// The next shown line matching `needle` from the cursor: newer (`forward`) or older,
    /// round the ends; the cursor's own line counts when `inclusive`. Also whether it went
    /// round.
    pub(super) fn find(
        &self,
        needle: &str,
        forward: bool,
        inclusive: bool,
    ) -> Option<(usize, bool)> {
        let shown = self.shown();
        let at = self.cursor_index(&shown)?;
        let len = shown.len();
        // Inclusive: the cursor's line first; else it comes last, after going round.
        let steps = if inclusive { 0..len } else { 1..len + 1 };
        steps
            .map(|step| {
                if forward {
                    ((at + step) % len, at + step >= len)
                } else if step <= at {
                    (at - step, false)
                } else {
                    (at + len - step, true)
                }
            })
            .find(|&(index, _)| {
                self.line(shown[index])
                    .is_some_and(|line| find::contains(&line.text, needle))
            })
    }

    /// Goes to the first shown line logged at or after `at_ns`; a message when that is not
    /// quite what was asked (`past` says where it goes when no line is that late).
    pub(super) fn jump_to(&mut self, at_ns: u64, past: PastTheEnd) -> Option<String> {
        let shown = self.shown();
        let timed: Vec<(usize, u64)> = shown
            .iter()
            .enumerate()
            .filter_map(|(i, &n)| Some((i, self.line(n)?.at_ns?)))
            .collect();
        let Some(&(first_index, first_ns)) = timed.first() else {
            if past == PastTheEnd::Stay {
                // Nowhere to go: the newest, as a pane opened without a time.
                self.following = true;
            }
            return Some("this log's lines carry no time".to_string());
        };
        let asked = clock(at_ns / 1_000_000);
        match timed.iter().find(|&&(_, t)| t >= at_ns) {
            Some(&(index, _)) if index == first_index && first_ns > at_ns => {
                self.put_cursor(&shown, index);
                Some(format!(
                    "nothing kept from {asked}: the oldest line is from {}",
                    clock(first_ns / 1_000_000)
                ))
            }
            Some(&(index, _)) => {
                self.put_cursor(&shown, index);
                // The line near the top, what was logged after it below (else the drawing
                // would keep it in sight at the bottom, what came after out of sight).
                self.offset = shown[index.saturating_sub(JUMP_CONTEXT)];
                None
            }
            None if past == PastTheEnd::Follow => {
                self.following = true;
                Some(format!("no line at or after {asked}: following the newest"))
            }
            None => {
                self.put_cursor(&shown, shown.len().saturating_sub(1));
                Some(format!(
                    "no line at or after {asked} yet: on the newest, End follows"
                ))
            }
        }
    }

    /// The newest line's time, ns since the epoch.
    pub(super) fn newest_ns(&self) -> Option<u64> {
        self.lines.iter().rev().find_map(|l| l.at_ns)
    }
}

#[cfg(test)]
mod tests;
