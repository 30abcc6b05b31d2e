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
//!
//! `l` on a container's charts with their time cursor set (`chart_cursor`) opens the pane at
//! the cursor's time: not following, it goes to the first line logged at or after it as soon
//! as lines come (staying on the newest when none is that late yet: the lines to come are);
//! `l` in a pane open on the charts' container goes there again, and in a pane whose reading
//! stopped reads again.

pub mod find;
mod pane;

use self::pane::PastTheEnd;
pub use self::pane::{
    LOG_BYTES_KEPT, LOG_LINES_KEPT, LogPane, LogState, PaneInput, PaneLine, StreamShown, tidy,
};
use super::App;
use crate::host::container::Container;
use crate::host::logs::LogLine;
use crate::ui::action::Action;
use crate::ui::keymap::Scope;
use crate::ui::log_feed::LogRequest;
impl App {
    /// The open log pane, if any.
    pub fn log_pane(&self) -> Option<&LogPane> {
        self.log_pane.as_ref()
    }

    /// Which keymap bindings come first: the log pane's while it is open, else a replay's.
    pub fn key_scope(&self) -> Scope {
        if self.log_pane.is_some() {
            Scope::LogPane
        } else if self.replay.is_some() {
            Scope::Replay
        } else {
            Scope::Everywhere
        }
    }

    /// Takes the log feed the app loop should open or close.
    pub fn take_log_request(&mut self) -> Option<LogRequest> {
        self.log_request.take()
    }

    /// Lines of container `container_id`'s log (oldest first), for its open pane; dropped
    /// when its pane is not open (a closed feed's last batch). The first lines of a pane
    /// opened at the charts' cursor take it to the cursor's time.
    pub fn on_log_lines(&mut self, container_id: &str, lines: Vec<LogLine>) {
        if let Some(pane) = self.pane_of(container_id) {
            pane.push(lines);
            if let Some(message) = pane.jump_if_pending() {
                self.message = Some(message);
            }
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
        let mut pane = LogPane::new(
            container.id.clone(),
            container.name.clone(),
            container.runtime.name(),
        );
        // On the charts with their time cursor set: the log at its time (read back to it).
        let since_ms = self.chart_cursor().map(|c| c.at_ms);
        if let Some(cursor) = self.chart_cursor() {
            pane.jump_when_lines_come(cursor.at_ms.saturating_mul(1_000_000));
            self.message = Some(format!(
                "the log at the charts' cursor, {} UTC",
                crate::ui::widgets::clock(cursor.at_ms)
            ));
        }
        self.log_pane = Some(pane);
        self.log_request = Some(LogRequest::Open {
            container: Box::new(Container::clone(&container)),
            since_ms,
        });
    }

    /// `l` in the open pane: a pane whose reading stopped reads again (at the charts' cursor
    /// when one is set); one open on the charts' container goes to their cursor's time again.
    fn log_pane_again(&mut self) {
        let Some(pane) = self.log_pane.as_ref() else {
            return;
        };
        if matches!(pane.state, LogState::Stopped(_)) {
            return self.open_log_pane();
        }
        let on_the_charts = matches!(
            self.detail_target(),
            Some(super::selection::Target::Container(id)) if id == pane.container_id
        );
        let Some(cursor) = self.chart_cursor().filter(|_| on_the_charts) else {
            self.message = Some("the log pane is open: Esc closes it".to_string());
            return;
        };
        let Some(pane) = self.log_pane.as_mut() else {
            return;
        };
        // The pane was opened at this cursor (the keys that move it are the charts', not the
        // pane's), so its backlog already reaches back to it.
        pane.jump_when_lines_come(cursor.at_ms.saturating_mul(1_000_000));
        self.message = pane.jump_if_pending();
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
            self.message = Some(format!(
                "\"{text}\": give a time as HH:MM or HH:MM:SS (UTC)"
            ));
            return;
        };
        let Some(reference) = pane.newest_ns().or(frame_ns) else {
            self.message = Some("this log's lines carry no time".to_string());
            return;
        };
        self.message = pane.jump_to(
            find::last_clock_at_or_before(reference, seconds),
            PastTheEnd::Follow,
        );
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
            Action::Logs => self.log_pane_again(),
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
