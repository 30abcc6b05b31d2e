//! The dashboard's state and the messages that change it.
//!
//! The app loop owns the `App` and is the only caller of its `&mut self` methods, one per kind
//! of input: the operator's [`Action`]s ([`App::update`]), each sampled [`Frame`]
//! ([`App::on_frame`], whose events go into the bounded list of [`events`]), the sampler's
//! end ([`App::on_sampler_stopped`]), an act's result ([`App::on_outcome`]), a log pane's
//! lines ([`App::on_log_lines`] and the like, [`log_pane`]) and where the last drawing put
//! things ([`App::set_layout`], for clicks and paging). What the app wants done goes back
//! through `take_*` ([`App::take_request`], [`App::take_suspend`], [`App::take_redraw`],
//! [`App::take_net_map_wanted`], [`App::take_log_request`]); drawing only reads it. Selections
//! are kept by identity (a container id, a cgroup path, a namespace inode, a pid, a network
//! row's namespace and interface names, an event's arrival number), so they survive
//! re-sorting, filtering and new frames. A selected container that vanishes stays in the table
//! as a "gone" row (with its last figures and its history) until the selection moves off it.
//! The detail charts' time cursor ([`chart_cursor`]) is a sample's time, kept on a sample the
//! charts show after every frame and action. In a replay ([`replay`]) the frames are recorded
//! ones, moved through with the replay's keys ([`App::take_replay_seek`], [`App::on_replay`]).

pub mod acts;
pub mod chart_cursor;
mod columns;
pub mod copy;
pub mod detail_pane;
pub mod events;
mod filter;
mod fold;
pub mod hosts;
mod identity;
pub mod launch;
pub mod launch_form;
pub mod layout;
pub mod log_pane;
mod network;
mod rebuild;
pub mod replay;
pub mod rows;
pub mod selection;
pub mod stop_remove;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use self::acts::Prompt;
use self::chart_cursor::CursorState;
pub use self::detail_pane::DetailPane;
use self::events::EventLog;
use self::fold::Fold;
use self::launch::LaunchState;
pub use self::layout::{ListLayout, ScreenLayout};
use self::log_pane::LogPane;
use self::rows::{ContainerRow, Rows, Sort};
pub use self::selection::{Gone, ListState, Target};
use super::action::{Action, Tab};
use super::acts::Request;
use super::log_feed::LogRequest;
use crate::sample::pods::POD_KEY_PREFIX;
use crate::sample::{ContainerSample, Frame};

/// Spans the detail charts can show, seconds; those longer than the history are left out.
pub const ZOOM_SPANS_SECONDS: [u64; 6] = [60, 120, 300, 600, 1800, 3600];

/// The dashboard's state.
#[derive(Debug, Clone)]
pub struct App {
    pub(crate) tab: Tab,
    /// The latest frame, shared with the loop's history and the trouble recorder (never copied).
    pub(crate) frame: Option<Arc<Frame>>,
    pub(crate) rows: Rows,
    pub(crate) lists: [ListState; 6],
    pub(crate) sorts: [Sort; 6],
    pub(crate) filter: String,
    pub(crate) editing_filter: bool,
    pub(crate) help: Option<usize>,
    pub(crate) detail: bool,
    /// What a container's detail pane shows beside its facts (`v`).
    pub(crate) detail_pane: DetailPane,
    pub(crate) zoom: usize,
    /// The charts' time cursor (`<` `>`) and the samples' times it steps through.
    chart_cursor: CursorState,
    pub(crate) collapsed: BTreeSet<String>,
    pub(crate) gone: Option<Gone>,
    last_selected: Option<ContainerSample>,
    quit: bool,
    suspend: bool,
    redraw: bool,
    pub(crate) message: Option<String>,
    pub(crate) layout: ScreenLayout,
    pub(crate) history_window: Duration,
    /// Why the sampler stopped, once it has.
    pub(crate) sampler_stopped: Option<String>,
    /// An act's input line or confirmation, holding the keys until Enter or Esc.
    prompt: Option<Prompt>,
    /// The act for the app loop to run ([`App::take_request`]).
    request: Option<Request>,
    act_running: bool,
    /// The container whose init ignored TERM: its next `K` offers KILL.
    kill_again: Option<String>,
    /// The `n` form, and the started container to select once it shows.
    launch: LaunchState,
    /// `--read-only` (or the config's `read_only`): every act key answers "read-only".
    read_only: bool,
    /// Text the `y` menu picked, for the app loop to put on the clipboard
    /// ([`App::take_clipboard`]).
    clipboard: Option<String>,
    /// Containers view columns the config hides (sort indices of `rows::CONTAINER_COLUMNS`).
    hidden_container_columns: Vec<usize>,
    /// Whether frames should carry the network map, when that changed
    /// ([`App::take_net_map_wanted`]).
    net_map_wanted: Option<bool>,
    /// The container whose mounts the sampler was last told to keep
    /// ([`App::take_mounts_wanted`]); `None` before the first telling.
    mounts_told: Option<Option<String>>,
    /// The last events of the frames (the Events view, the Containers view's mark).
    events: EventLog,
    /// The Events view shows trouble only (`t`).
    trouble_only: bool,
    /// A container's log pane, while open (`l`).
    log_pane: Option<LogPane>,
    /// The log feed for the app loop to open or close ([`App::take_log_request`]).
    log_request: Option<LogRequest>,
    /// The host shown (a remote's label and connection) and a pending `H` ([`hosts`]).
    host: hosts::HostState,
    /// In a replay: its position, a seek for the loop, the time prompt ([`replay`]).
    replay: Option<replay::ReplayState>,
}

impl App {
    /// An empty dashboard whose charts can look back `history_window`.
    pub fn new(history_window: Duration) -> App {
        let mut app = App {
            tab: Tab::Containers,
            frame: None,
            rows: Rows::default(),
            lists: Default::default(),
            sorts: [Sort::default(); 6],
            filter: String::new(),
            editing_filter: false,
            help: None,
            detail: false,
            detail_pane: DetailPane::default(),
            zoom: 0,
            chart_cursor: CursorState::default(),
            collapsed: BTreeSet::new(),
            gone: None,
            last_selected: None,
            quit: false,
            suspend: false,
            redraw: false,
            message: None,
            layout: ScreenLayout::default(),
            history_window,
            sampler_stopped: None,
            prompt: None,
            request: None,
            act_running: false,
            kill_again: None,
            launch: LaunchState::default(),
            read_only: false,
            clipboard: None,
            hidden_container_columns: Vec::new(),
            net_map_wanted: None,
            mounts_told: None,
            events: EventLog::default(),
            trouble_only: false,
            log_pane: None,
            log_request: None,
            host: hosts::HostState::default(),
            replay: None,
        };
        app.zoom = app.zoom_spans().len().saturating_sub(1);
        app
    }

    // ---- read side (views and tests) ----

    pub fn tab(&self) -> Tab {
        self.tab
    }
    pub fn frame(&self) -> Option<&Frame> {
        self.frame.as_deref()
    }
    pub fn rows(&self) -> &Rows {
        &self.rows
    }
    pub fn list(&self, tab: Tab) -> &ListState {
        &self.lists[tab.index()]
    }
    pub fn sort(&self, tab: Tab) -> Sort {
        self.sorts[tab.index()]
    }
    pub fn filter(&self) -> &str {
        &self.filter
    }
    pub fn is_editing_filter(&self) -> bool {
        self.editing_filter
    }
    pub fn help_open(&self) -> bool {
        self.help.is_some()
    }
    pub fn detail_open(&self) -> bool {
        self.detail
    }
    pub fn gone(&self) -> Option<&Gone> {
        self.gone.as_ref()
    }
    pub fn should_quit(&self) -> bool {
        self.quit
    }
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
    pub fn is_collapsed(&self, path: &str) -> bool {
        self.collapsed.contains(path)
    }
    /// The key of the selected row of the current view.
    pub fn selected_key(&self) -> Option<&str> {
        self.lists[self.tab.index()].key.as_deref()
    }

    /// Takes a pending suspend request (Ctrl-Z) for the app loop.
    pub fn take_suspend(&mut self) -> bool {
        std::mem::take(&mut self.suspend)
    }
    /// Takes a pending full-repaint request.
    pub fn take_redraw(&mut self) -> bool {
        std::mem::take(&mut self.redraw)
    }

    /// The chart spans on offer (at least one).
    pub fn zoom_spans(&self) -> Vec<Duration> {
        let window = self.history_window.as_secs().max(1);
        let mut spans: Vec<Duration> = ZOOM_SPANS_SECONDS
            .iter()
            .filter(|&&s| s < window)
            .map(|&s| Duration::from_secs(s))
            .collect();
        spans.push(Duration::from_secs(window));
        spans
    }

    /// The time span the detail charts show.
    pub fn chart_span(&self) -> Duration {
        let spans = self.zoom_spans();
        spans[self.zoom.min(spans.len() - 1)]
    }

    // ---- transitions ----

    /// Takes a new frame: its events join the kept ones, rows are rebuilt, selections kept
    /// by identity.
    pub fn on_frame(&mut self, frame: impl Into<Arc<Frame>>) {
        let frame = frame.into();
        // The frame is shared (recorder, history): its events are copied, a few a tick at most.
        self.events.record(frame.taken_at_ms, frame.events.clone());
        self.record_sample_time(frame.taken_at_ms);
        self.frame = Some(frame);
        self.rebuild();
        self.select_wanted();
        self.keep_chart_cursor();
    }

    /// The sampler stopped (`reason` says why): figures stop changing; the status line says so.
    pub fn on_sampler_stopped(&mut self, reason: String) {
        self.sampler_stopped = Some(reason);
    }

    /// Takes one of the operator's actions (a key through the keymap, or the mouse). Whatever
    /// has the keys gets it first: the launch form, an act's prompt, the filter, the help.
    pub fn update(&mut self, action: Action) {
        self.take_action(action);
        // Whatever the action showed or hid, the charts' cursor stays on a sample they show.
        self.keep_chart_cursor();
    }

    fn take_action(&mut self, action: Action) {
        self.message = None;
        if let Some(form) = self.take_form() {
            self.update_form(form, action);
            return;
        }
        if let Some(prompt) = self.prompt.take() {
            self.update_prompt(prompt, action);
            return;
        }
        if self.log_pane_typing() {
            self.update_log_input(action);
            return;
        }
        if self.replay_typing() {
            self.update_replay_input(action);
            return;
        }
        if self.editing_filter && self.update_filter_prompt(action) {
            return;
        }
        if let Some(scroll) = self.help {
            match action {
                Action::Help | Action::Back => self.help = None,
                Action::Quit => self.quit = true,
                Action::Up | Action::ScrollUp => self.help = Some(scroll.saturating_sub(1)),
                Action::Down | Action::ScrollDown => self.help = Some(scroll + 1),
                Action::PageUp => self.help = Some(scroll.saturating_sub(10)),
                Action::PageDown => self.help = Some(scroll + 10),
                Action::Home => self.help = Some(0),
                Action::Suspend => self.suspend = true,
                Action::Redraw => self.redraw = true,
                _ => {}
            }
            return;
        }
        if self.log_pane.is_some() {
            self.update_log_pane(action);
            return;
        }
        let page = self.page_rows();
        let selected = self.lists[self.tab.index()].selected;
        match action {
            Action::Quit => self.quit = true,
            Action::Suspend => self.suspend = true,
            Action::Redraw => self.redraw = true,
            Action::Help => self.help = Some(0),
            Action::Up => self.select(selected.saturating_sub(1)),
            Action::Down => self.select(selected + 1),
            Action::ScrollUp => self.select(selected.saturating_sub(3)),
            Action::ScrollDown => self.select(selected + 3),
            Action::PageUp => self.select(selected.saturating_sub(page)),
            Action::PageDown => self.select(selected + page),
            Action::Home => self.select(0),
            Action::End => self.select(usize::MAX),
            Action::NextTab => self.show_tab(self.tab.next()),
            Action::PreviousTab => self.show_tab(self.tab.previous()),
            Action::ShowTab(tab) => self.show_tab(tab),
            Action::Open if self.tab == Tab::Events => self.show_event_container(),
            Action::Open => {
                if self.detail_target().is_some()
                    || (self.tab == Tab::Network && self.network_target().is_some())
                {
                    self.detail = true;
                } else if self.tab == Tab::Containers
                    && self
                        .selected_key()
                        .is_some_and(|k| k.starts_with(POD_KEY_PREFIX))
                {
                    // Enter on a pod folds or unfolds it, like space.
                    self.fold(Fold::Toggle);
                } else {
                    self.message = Some("nothing selected to show in detail".to_string());
                }
            }
            Action::Back => {
                if self.detail {
                    // On the charts, Esc clears their time cursor before it closes the pane.
                    if !self.clear_chart_cursor() {
                        self.detail = false;
                    }
                } else if !self.filter.is_empty() {
                    self.filter.clear();
                    self.rebuild();
                }
            }
            Action::Filter => self.editing_filter = true,
            Action::TypeChar(_) | Action::TypeBackspace => {}
            Action::SortNext => {
                let next = self.next_sort_column();
                let sort = &mut self.sorts[self.tab.index()];
                sort.column = next;
                sort.reversed = false;
                self.rebuild();
            }
            Action::SortReverse => {
                let sort = &mut self.sorts[self.tab.index()];
                sort.reversed = !sort.reversed;
                self.rebuild();
            }
            Action::SortBy(column) => self.sort_by(column),
            Action::Collapse => self.fold(Fold::Collapse),
            Action::Expand => self.fold(Fold::Expand),
            Action::Toggle => self.fold(Fold::Toggle),
            Action::ZoomIn => self.zoom = self.zoom.saturating_sub(1),
            Action::ZoomOut => self.zoom = (self.zoom + 1).min(self.zoom_spans().len() - 1),
            Action::ChartCursorBack => self.move_chart_cursor(true),
            Action::ChartCursorForward => self.move_chart_cursor(false),
            Action::DetailPane => self.step_detail_pane(),
            Action::Click { column, row } => self.click(column, row),
            Action::LimitCpu
            | Action::LimitMemory
            | Action::LimitPids
            | Action::LimitIo
            | Action::Undo
            | Action::FreezeToggle
            | Action::Kill
            | Action::Enter => self.act(action),
            Action::Launch if self.refuse_read_only() || self.refuse_remote_launch() => {}
            Action::Launch => self.open_launch_form(),
            Action::StopRemove => self.stop_remove_menu(),
            Action::Copy => self.copy_menu(),
            Action::Logs if self.refuse_replay_logs() => {}
            Action::Logs => self.open_log_pane(),
            Action::TroubleOnly => self.toggle_trouble_only(),
            Action::NextHost => self.switch_host(),
            Action::ReplayStepBack
            | Action::ReplayStepForward
            | Action::ReplayPreviousEvent
            | Action::ReplayNextEvent
            | Action::ReplayGoTo
            | Action::ReplayPlay => self.replay_key(action),
            // The log pane's keys reach here only when its scope is rebound onto keys the
            // views do not use.
            Action::LogSearch
            | Action::LogNextMatch
            | Action::LogPreviousMatch
            | Action::LogStream
            | Action::LogWrap
            | Action::LogJumpTime => {
                self.message = Some("that key works in a log pane (l opens one)".to_string())
            }
        }
    }

    fn show_tab(&mut self, tab: Tab) {
        if tab != self.tab {
            self.detail = false;
            self.ask_net_map(self.tab, tab);
        }
        self.tab = tab;
        if tab == Tab::Processes && !self.rows.processes_built {
            self.rebuild();
        }
    }

    fn sort_by(&mut self, column: usize) {
        if column >= rows::columns(self.tab).len() {
            return;
        }
        let sort = &mut self.sorts[self.tab.index()];
        if sort.column == Some(column) {
            sort.reversed = !sort.reversed;
        } else {
            *sort = Sort {
                column: Some(column),
                reversed: false,
            };
        }
        self.rebuild();
    }

    /// Selects row `index` of the current view (clamped).
    fn select(&mut self, index: usize) {
        let tab = self.tab;
        let len = self.rows.len(tab);
        if len == 0 {
            return;
        }
        let index = index.min(len - 1);
        self.lists[tab.index()].selected = index;
        self.lists[tab.index()].key = self.row_key(tab, index);
        if tab == Tab::Containers
            && self.gone.is_some()
            && self.rows.containers.get(index) != Some(&ContainerRow::Gone)
        {
            // Moving off a vanished container lets it go.
            self.gone = None;
            self.rebuild();
        }
        self.remember_selected_container();
    }
}
