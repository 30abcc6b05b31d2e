//! What the operator can ask for: the [`Action`]s keys and the mouse turn into, and the
//! dashboard's [`Tab`]s. Actions are plain values so [`crate::ui::App::update`] can be driven
//! by tests without a terminal.

/// The six views of the dashboard, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tab {
    Containers,
    Cgroups,
    Namespaces,
    Processes,
    /// The host's network map: bridges, their ports and what is at each port's other end.
    Network,
    /// What happened to the containers since isotop started, newest first.
    Events,
}

impl Tab {
    pub const ALL: [Tab; 6] = [
        Tab::Containers,
        Tab::Cgroups,
        Tab::Namespaces,
        Tab::Processes,
        Tab::Network,
        Tab::Events,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Containers => "Containers",
            Tab::Cgroups => "Cgroups",
            Tab::Namespaces => "Namespaces",
            Tab::Processes => "Processes",
            Tab::Network => "Network",
            Tab::Events => "Events",
        }
    }

    /// Position in [`Tab::ALL`] (0–5).
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn next(self) -> Tab {
        Tab::ALL[(self.index() + 1) % Tab::ALL.len()]
    }

    pub fn previous(self) -> Tab {
        Tab::ALL[(self.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]
    }
}

/// One thing the operator asked for. The keymap table ([`crate::ui::keymap`]) binds keys to
/// the variants without data; `TypeChar` and `TypeBackspace` come from typing while something
/// has the keys (see [`crate::ui::Keymap::action`]), `Click` and the scroll wheel from the mouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    /// Ctrl-Z: give the terminal back to the shell until `fg`.
    Suspend,
    Help,
    /// Repaint the whole screen (after another program scribbled on it).
    Redraw,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    NextTab,
    PreviousTab,
    ShowTab(Tab),
    /// Enter: open the detail pane of the selection (in the filter prompt: keep the filter).
    Open,
    /// Esc: close the detail pane or help, or clear the filter.
    Back,
    /// `/`: start typing a filter.
    Filter,
    /// A plain character typed while something has the keys ([`crate::ui::App::is_typing`]):
    /// the filter, a limit's input line, a y/N confirmation, the stop/remove menu or the
    /// launch form; whichever is open reads it.
    TypeChar(char),
    /// Backspace while something has the keys: deletes the last character typed.
    TypeBackspace,
    /// Sort by the next column (after the last: the view's natural order).
    SortNext,
    SortReverse,
    /// Sort by this column of the current view (a click on its header).
    SortBy(usize),
    /// Cgroups tree: fold the selected branch, or go to its parent.
    Collapse,
    Expand,
    Toggle,
    /// Detail charts: show a shorter (in) or longer (out) stretch of the history.
    ZoomIn,
    ZoomOut,
    /// `<` and `>`: the time cursor on the detail charts, one sample older or newer (the first
    /// press puts it on the newest sample); Esc clears it, `l` opens the log at its time.
    ChartCursorBack,
    ChartCursorForward,
    /// `v`: a container's detail pane shows its charts, then its layers, then its mounts
    /// (opening the pane at the layers when it is closed).
    DetailPane,
    /// Left click at a terminal cell (column, row; 0-based).
    Click {
        column: u16,
        row: u16,
    },
    ScrollUp,
    ScrollDown,
    /// Acts on the selected container (root only): `c`, `m`, `p`, `i` open an input line with
    /// the current CPU, memory, pids or I/O limits; `u` undoes the last limit change; `f` freezes or
    /// thaws; `K` kills after a confirmation; `e` runs its shell in it.
    LimitCpu,
    LimitMemory,
    LimitPids,
    LimitIo,
    Undo,
    FreezeToggle,
    Kill,
    Enter,
    /// `n`: the launch form (image, command, name, CPU, memory, network); Enter starts the
    /// container detached, and it becomes the selection once the sampler sees it.
    Launch,
    /// `x` on one of isotop's own containers: a menu to stop it or remove it (asks first).
    StopRemove,
    /// `y`: a menu to copy the selected row's id, name, pid or cgroup path to the clipboard
    /// (OSC 52, written by the terminal module).
    Copy,
    /// `l`: the selected container's log pane (on the Events view, the event's container's),
    /// following live.
    Logs,
    /// `t` on the Events view: trouble only ([`EventKind::is_trouble`]), or every event again.
    ///
    /// [`EventKind::is_trouble`]: crate::host::events::EventKind::is_trouble
    TroubleOnly,
    /// `H`: show the next remote host (`--host` given more than once), each with its own
    /// views and history.
    NextHost,
    /// The log pane's own keys (the keymap's pane scope, [`crate::ui::keymap::Scope`]):
    /// `/` search, `n` and `N` the next and previous match, `s` the stream shown (all, stdout,
    /// stderr), `w` wrap, `t` jump to a time typed as `HH:MM[:SS]`.
    LogSearch,
    LogNextMatch,
    LogPreviousMatch,
    LogStream,
    LogWrap,
    LogJumpTime,
    /// A replay's own keys (`isotop replay`, the keymap's replay scope): `[` and `]` one
    /// recorded frame back or on, `{` and `}` the previous or next frame with events, `t` go
    /// to a time typed at a prompt, `P` play at recorded speed or pause.
    ReplayStepBack,
    ReplayStepForward,
    ReplayPreviousEvent,
    ReplayNextEvent,
    ReplayGoTo,
    ReplayPlay,
}
