//! A container's log pane (`l`), the app's side: the lines received so far (cleaned once, on
//! arrival; the last [`LOG_LINES_KEPT`] and at most [`LOG_BYTES_KEPT`] of text, the oldest
//! dropped), where the operator is in them, and the keys of the pane. Lines come in like
//! frames do ([`App::on_log_lines`]; [`App::on_log_unavailable`] when the runtime keeps no
//! file, with why and how to get one; [`App::on_log_stopped`] when reading failed); opening
//! and closing leave as a [`LogRequest`] ([`App::take_log_request`]) the app loop turns into a
//! log feed (`ui::log_feed`). Nothing here reads a file.
//!
//! The pane follows the newest line until the operator moves up (End, or moving past the last
//! line, follows again); it then stays on its line, the cursor, while lines arrive. `/`
//! searches ([`find`]: the newest match at or above the cursor, then `n` newer and `N` older,
//! round the ends), `s` shows all streams, stdout or stderr, `w` wraps long lines, and `t`
//! takes a time (`HH:MM[:SS]`, UTC) and goes to the first line logged at or after it. Lines
//! are known by their number since the pane opened, so dropping old ones moves nothing.

pub mod find;

use std::collections::VecDeque;

use super::App;
use crate::host::logs::{LogLine, LogStream};
use crate::host::text::clean_lines;
use crate::ui::action::Action;
use crate::ui::keymap::Scope;
use crate::ui::log_feed::LogRequest;
use crate::ui::widgets::clock;

/// How many lines the pane keeps.
pub const LOG_LINES_KEPT: usize = 20_000;

/// How much text the pane keeps, bytes (lines are up to `host::logs::MAX_LINE_BYTES` each).
pub const LOG_BYTES_KEPT: usize = 16 * 1024 * 1024;

/// Columns a tab stops at.
const TAB_STOP: usize = 8;

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
    lines: VecDeque<PaneLine>,
    bytes: usize,
    /// The number of `lines[0]`: lines dropped before it.
    first: u64,
    state: LogState,
    following: bool,
    /// The line the operator is on (a line's number), while not following.
    cursor: u64,
    /// The first line drawn (a line's number), from the last drawing.
    offset: u64,
    stream: StreamShown,
    wrap: bool,
    search: Option<String>,
    input: Option<PaneInput>,
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
        }
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
        self.lines.get(usize::try_from(n.checked_sub(self.first)?).ok()?)
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
        Some(shown.partition_point(|&n| n <= self.cursor).saturating_sub(1))
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
    fn put_cursor(&mut self, shown: &[u64], index: usize) {
        if let Some(&n) = shown.get(index) {
            self.following = false;
            self.cursor = n;
        }
    }

    /// Moves the cursor `delta` shown lines (down when positive); past the last line it
    /// follows again.
    fn move_cursor(&mut self, delta: isize) {
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
    fn find(&self, needle: &str, forward: bool, inclusive: bool) -> Option<(usize, bool)> {
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
    /// quite what was asked.
    fn jump_to(&mut self, at_ns: u64) -> Option<String> {
        let shown = self.shown();
        let timed: Vec<(usize, u64)> = shown
            .iter()
            .enumerate()
            .filter_map(|(i, &n)| Some((i, self.line(n)?.at_ns?)))
            .collect();
        let Some(&(first_index, first_ns)) = timed.first() else {
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
                None
            }
            None => {
                self.following = true;
                Some(format!("no line at or after {asked}: following the newest"))
            }
        }
    }

    /// The newest line's time, ns since the epoch.
    fn newest_ns(&self) -> Option<u64> {
        self.lines.iter().rev().find_map(|l| l.at_ns)
    }
}

impl App {
    /// The open log pane, if any.
    pub fn log_pane(&self) -> Option<&LogPane> {
        self.log_pane.as_ref()
    }

    /// Which keymap bindings come first: the log pane's while it is open.
    pub fn key_scope(&self) -> Scope {
        if self.log_pane.is_some() {
            Scope::LogPane
        } else {
            Scope::Everywhere
        }
    }

    /// Takes the log feed the app loop should open or close.
    pub fn take_log_request(&mut self) -> Option<LogRequest> {
        self.log_request.take()
    }

    /// Lines of container `container_id`'s log (oldest first), for its open pane; dropped
    /// when its pane is not open (a closed feed's last batch).
    pub fn on_log_lines(&mut self, container_id: &str, lines: Vec<LogLine>) {
        if let Some(pane) = self.pane_of(container_id) {
            pane.push(lines);
        }
    }

    /// Container `container_id`'s runtime keeps no log file: `reason` says why, `hint` how to
    /// get one (both shown in the pane, cleaned).
    pub fn on_log_unavailable(&mut self, container_id: &str, reason: String, hint: String) {
        if let Some(pane) = self.pane_of(container_id) {
            pane.state = LogState::NoFile {
                reason: tidy(&reason),
                hint: tidy(&hint),
            };
        }
    }

    /// Reading container `container_id`'s log failed (`why`): the lines so far stay.
    pub fn on_log_stopped(&mut self, container_id: &str, why: String) {
        if let Some(pane) = self.pane_of(container_id) {
            pane.state = LogState::Stopped(tidy(&why));
        }
    }

    fn pane_of(&mut self, container_id: &str) -> Option<&mut LogPane> {
        self.log_pane
            .as_mut()
            .filter(|p| p.container_id == container_id)
    }

    /// True while the pane's search or time line has the keys.
    pub(super) fn log_pane_typing(&self) -> bool {
        self.log_pane.as_ref().is_some_and(|p| p.input.is_some())
    }

    /// `l`: the log pane of the selection's container (the event's on the Events view).
    pub(super) fn open_log_pane(&mut self) {
        let id = match self.logs_target() {
            Ok(id) => id,
            Err(why) => {
                self.message = Some(why);
                return;
            }
        };
        let sample = self
            .live_container(&id)
            .or_else(|| {
                self.gone
                    .as_ref()
                    .map(|g| &g.sample)
                    .filter(|s| s.view.container.id == id)
            })
            .cloned();
        let Some(sample) = sample else {
            self.message = Some(format!(
                "{} is no longer on the host: no log to open",
                crate::units::short_id(&id)
            ));
            return;
        };
        let container = sample.view.container;
        self.log_pane = Some(LogPane::new(
            container.id.clone(),
            container.name.clone(),
            container.runtime.name(),
        ));
        self.log_request = Some(LogRequest::Open {
            container: Box::new(container),
        });
    }

    /// The container whose log `l` opens, or why there is none.
    fn logs_target(&self) -> Result<String, String> {
        use super::selection::Target;
        if self.tab == crate::ui::action::Tab::Events {
            let event = self.selected_event().ok_or("no event selected")?;
            return event.event.subject.container_id.clone().ok_or_else(|| {
                format!(
                    "{}: a cgroup no container owns has no log",
                    event.event.subject.name
                )
            });
        }
        match self.detail_target() {
            Some(Target::Container(id)) => Ok(id),
            Some(_) => Err("logs are a container's: select a container".to_string()),
            None => Err("nothing selected: select a container to see its log".to_string()),
        }
    }

    /// Closes the pane and its feed.
    fn close_log_pane(&mut self) {
        if let Some(pane) = self.log_pane.take() {
            self.log_request = Some(LogRequest::Close {
                container_id: pane.container_id,
            });
        }
    }

    /// An action while the pane's search or time line has the keys.
    pub(super) fn update_log_input(&mut self, action: Action) {
        let Some(pane) = self.log_pane.as_mut() else {
            return;
        };
        let Some(input) = pane.input.as_mut() else {
            return;
        };
        let text = match input {
            PaneInput::Search(text) | PaneInput::Time(text) => text,
        };
        match action {
            // Control characters never reach the screen, even from the operator's own keys.
            Action::TypeChar(c) if c.is_control() => {}
            Action::TypeChar(c) => text.push(c),
            Action::TypeBackspace => {
                text.pop();
            }
            Action::Back => pane.input = None,
            Action::Open => match pane.input.take() {
                Some(PaneInput::Search(text)) => self.search_logs(text),
                Some(PaneInput::Time(text)) => self.jump_logs(&text),
                None => {}
            },
            _ => {}
        }
    }

    /// Enter on a search: it is in force; the cursor goes to the newest match at or above it.
    fn search_logs(&mut self, text: String) {
        let Some(pane) = self.log_pane.as_mut() else {
            return;
        };
        if text.is_empty() {
            pane.search = None;
            return;
        }
        let found = pane.find(&text, false, true);
        self.message = match found {
            Some((index, _)) => {
                let shown = pane.shown();
                pane.put_cursor(&shown, index);
                None
            }
            None => Some(format!("no line matches \"{text}\"")),
        };
        pane.search = Some(text);
    }

    /// Enter on a time: the first line logged at or after it.
    fn jump_logs(&mut self, text: &str) {
        let frame_ns = self.frame.as_ref().map(|f| f.taken_at_ms * 1_000_000);
        let Some(pane) = self.log_pane.as_mut() else {
            return;
        };
        let Some(seconds) = find::parse_clock(text) else {
            self.message = Some(format!("\"{text}\": give a time as HH:MM or HH:MM:SS (UTC)"));
            return;
        };
        let Some(reference) = pane.newest_ns().or(frame_ns) else {
            self.message = Some("this log's lines carry no time".to_string());
            return;
        };
        self.message = pane.jump_to(find::last_clock_at_or_before(reference, seconds));
    }

    /// An action while the pane is open (and nothing types): the pane's keys, moving, and
    /// the keys that work everywhere (help, quit, another view closes it).
    pub(super) fn update_log_pane(&mut self, action: Action) {
        let page = self.page_rows() as isize;
        let Some(pane) = self.log_pane.as_mut() else {
            return;
        };
        match action {
            Action::Back => self.close_log_pane(),
            Action::Quit => self.quit = true,
            Action::Suspend => self.suspend = true,
            Action::Redraw => self.redraw = true,
            Action::Help => self.help = Some(0),
            Action::Up => pane.move_cursor(-1),
            Action::Down => pane.move_cursor(1),
            Action::ScrollUp => pane.move_cursor(-3),
            Action::ScrollDown => pane.move_cursor(3),
            Action::PageUp => pane.move_cursor(-page),
            Action::PageDown => pane.move_cursor(page),
            Action::Home => {
                let shown = pane.shown();
                pane.put_cursor(&shown, 0);
            }
            Action::End => pane.following = true,
            Action::LogSearch | Action::Filter => {
                pane.input = Some(PaneInput::Search(String::new()))
            }
            Action::LogJumpTime => pane.input = Some(PaneInput::Time(String::new())),
            Action::LogStream => pane.stream = pane.stream.next(),
            Action::LogWrap => pane.wrap = !pane.wrap,
            Action::LogNextMatch | Action::LogPreviousMatch => {
                let forward = action == Action::LogNextMatch;
                let Some(needle) = pane.search.clone() else {
                    self.message = Some("no search: / searches the log".to_string());
                    return;
                };
                match pane.find(&needle, forward, false) {
                    Some((index, wrapped)) => {
                        let shown = pane.shown();
                        pane.put_cursor(&shown, index);
                        if wrapped {
                            self.message = Some(
                                if forward {
                                    "search went round to the oldest line"
                                } else {
                                    "search went round to the newest line"
                                }
                                .to_string(),
                            );
                        }
                    }
                    None => self.message = Some(format!("no line matches \"{needle}\"")),
                }
            }
            Action::ShowTab(tab) => {
                self.close_log_pane();
                self.show_tab(tab);
            }
            Action::NextTab | Action::PreviousTab => {
                self.close_log_pane();
                self.show_tab(if action == Action::NextTab {
                    self.tab.next()
                } else {
                    self.tab.previous()
                });
            }
            Action::Click { column, row } => {
                let at = ratatui::layout::Position::new(column, row);
                if let Some(&(_, tab)) = self.layout.tabs.iter().find(|(r, _)| r.contains(at)) {
                    self.close_log_pane();
                    self.show_tab(tab);
                }
            }
            _ => {}
        }
    }
}
