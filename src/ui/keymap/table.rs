//! The default keymap table: every action's config name, help text, default keys and scope,
//! in the order the help shows them.

use super::{Binding, Scope};
use crate::ui::action::{Action, Tab};

/// The default bindings, in the order the help shows them.
pub const DEFAULT_BINDINGS: &[Binding] = &[
    b(Action::Up, "up", "move up", &["up", "k"]),
    b(Action::Down, "down", "move down", &["down", "j"]),
    b(Action::PageUp, "page_up", "page up", &["pageup", "ctrl-b"]),
    b(
        Action::PageDown,
        "page_down",
        "page down",
        &["pagedown", "ctrl-f"],
    ),
    b(Action::Home, "home", "first row", &["home", "g"]),
    b(Action::End, "end", "last row", &["end", "G"]),
    b(Action::NextTab, "next_tab", "next view", &["tab"]),
    b(
        Action::PreviousTab,
        "previous_tab",
        "previous view",
        &["backtab"],
    ),
    b(
        Action::ShowTab(Tab::Containers),
        "containers",
        "Containers view",
        &["1"],
    ),
    b(
        Action::ShowTab(Tab::Cgroups),
        "cgroups",
        "Cgroups view",
        &["2"],
    ),
    b(
        Action::ShowTab(Tab::Namespaces),
        "namespaces",
        "Namespaces view",
        &["3"],
    ),
    b(
        Action::ShowTab(Tab::Processes),
        "processes",
        "Processes view",
        &["4"],
    ),
    b(
        Action::ShowTab(Tab::Network),
        "network",
        "Network view",
        &["5"],
    ),
    b(
        Action::ShowTab(Tab::Events),
        "events",
        "Events view",
        &["6"],
    ),
    b(
        Action::Open,
        "open",
        "detail pane of the selection",
        &["enter"],
    ),
    b(Action::Back, "back", "close pane / clear filter", &["esc"]),
    b(
        Action::Filter,
        "filter",
        "filter: name, id, runtime, pid",
        &["/"],
    ),
    b(Action::SortNext, "sort", "sort by the next column", &["s"]),
    b(
        Action::SortReverse,
        "sort_reverse",
        "reverse the sort",
        &["S"],
    ),
    b(
        Action::Collapse,
        "collapse",
        "fold cgroup or pod / go to parent",
        &["left", "h"],
    ),
    b(Action::Expand, "expand", "unfold cgroup or pod", &["right"]),
    b(
        Action::Toggle,
        "toggle",
        "fold or unfold cgroup or pod",
        &["space"],
    ),
    b(
        Action::ZoomIn,
        "zoom_in",
        "charts: shorter time span",
        &["+", "="],
    ),
    b(
        Action::ZoomOut,
        "zoom_out",
        "charts: longer time span",
        &["-"],
    ),
    b(
        Action::ChartCursorBack,
        "chart_cursor_back",
        "charts: time cursor one sample back",
        &["<"],
    ),
    b(
        Action::ChartCursorForward,
        "chart_cursor_forward",
        "charts: time cursor one sample on (l: log at it)",
        &[">"],
    ),
    b(
        Action::DetailPane,
        "detail_pane",
        "detail: charts / layers / mounts",
        &["v"],
    ),
    b(
        Action::Logs,
        "logs",
        "log pane of the container (follows live)",
        &["l"],
    ),
    pane(Action::LogSearch, "log_search", "log pane: search", &["/"]),
    pane(
        Action::LogNextMatch,
        "log_next_match",
        "log pane: next match",
        &["n"],
    ),
    pane(
        Action::LogPreviousMatch,
        "log_previous_match",
        "log pane: previous match",
        &["N"],
    ),
    pane(
        Action::LogStream,
        "log_stream",
        "log pane: stream all / stdout / stderr",
        &["s"],
    ),
    pane(
        Action::LogWrap,
        "log_wrap",
        "log pane: wrap long lines",
        &["w"],
    ),
    pane(
        Action::LogJumpTime,
        "log_jump_time",
        "log pane: jump to a time (HH:MM[:SS] UTC)",
        &["t"],
    ),
    b(
        Action::TroubleOnly,
        "trouble_only",
        "events: trouble only / every event",
        &["t"],
    ),
    replay(
        Action::ReplayStepBack,
        "replay_step_back",
        "replay: one recorded frame back",
        &["["],
    ),
    replay(
        Action::ReplayStepForward,
        "replay_step_forward",
        "replay: one frame on (at the last: newly recorded ones)",
        &["]"],
    ),
    replay(
        Action::ReplayPreviousEvent,
        "replay_previous_event",
        "replay: the previous frame with events",
        &["{"],
    ),
    replay(
        Action::ReplayNextEvent,
        "replay_next_event",
        "replay: the next frame with events",
        &["}"],
    ),
    replay(
        Action::ReplayGoTo,
        "replay_go_to",
        "replay: go to a time (RFC 3339, HH:MM[:SS] UTC, -15m)",
        &["t"],
    ),
    replay(
        Action::ReplayPlay,
        "replay_play",
        "replay: play at recorded speed / pause",
        &["P"],
    ),
    replay(
        Action::TroubleOnly,
        "replay_trouble_only",
        "replay: events: trouble only / every event",
        &["T"],
    ),
    b(
        Action::LimitCpu,
        "limit_cpu",
        "act: set the CPU limit",
        &["c"],
    ),
    b(
        Action::LimitMemory,
        "limit_memory",
        "act: set the memory limit",
        &["m"],
    ),
    b(
        Action::LimitPids,
        "limit_pids",
        "act: set the pids limit",
        &["p"],
    ),
    b(
        Action::LimitIo,
        "limit_io",
        "act: set I/O limits (per device)",
        &["i"],
    ),
    b(Action::Undo, "undo", "act: undo the last limit", &["u"]),
    b(Action::FreezeToggle, "freeze", "act: freeze / thaw", &["f"]),
    b(Action::Kill, "kill", "act: kill (asks first)", &["K"]),
    b(
        Action::Enter,
        "enter",
        "act: shell in the container",
        &["e"],
    ),
    b(
        Action::Launch,
        "launch",
        "act: launch a container (form)",
        &["n"],
    ),
    b(
        Action::StopRemove,
        "stop_remove",
        "act: stop / remove an isotop container",
        &["x"],
    ),
    b(
        Action::Copy,
        "copy",
        "copy id, name, pid or cgroup path (OSC 52)",
        &["y"],
    ),
    b(
        Action::NextHost,
        "next_host",
        "remote: show the next host (--host)",
        &["H"],
    ),
    b(Action::Help, "help", "this help", &["?", "f1"]),
    b(Action::Redraw, "redraw", "repaint the screen", &["ctrl-l"]),
    b(
        Action::Suspend,
        "suspend",
        "suspend (fg resumes)",
        &["ctrl-z"],
    ),
    b(Action::Quit, "quit", "quit", &["q", "ctrl-c"]),
];

const fn b(
    action: Action,
    name: &'static str,
    help: &'static str,
    keys: &'static [&'static str],
) -> Binding {
    Binding {
        action,
        name,
        help,
        keys,
        scope: Scope::Everywhere,
    }
}

/// A binding of the log pane's scope.
const fn pane(
    action: Action,
    name: &'static str,
    help: &'static str,
    keys: &'static [&'static str],
) -> Binding {
    in_scope(Scope::LogPane, b(action, name, help, keys))
}

/// A binding of the replay's scope (`isotop replay`).
const fn replay(
    action: Action,
    name: &'static str,
    help: &'static str,
    keys: &'static [&'static str],
) -> Binding {
    in_scope(Scope::Replay, b(action, name, help, keys))
}

const fn in_scope(scope: Scope, binding: Binding) -> Binding {
    Binding { scope, ..binding }
}
