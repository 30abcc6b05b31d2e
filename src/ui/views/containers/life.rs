//! The Containers view's life cells: EVENT, the container's newest event (the app's
//! `EventLog::latest`) as a short label and its age (`oom 2m`, `exit 137 5h`; trouble in the
//! warning colour), and RESTARTS and HEALTH as its runtime records them
//! (`ContainerSample::runtime_state`; `unhealthy` in the warning colour).
//!
//! They take room only where there is some: each is drawn, in that order, when a container on
//! screen has something to show in it and the names keep [`name_keeps`] cells after it
//! ([`add_columns`]). Where EVENT is not drawn, a container whose newest event is trouble has
//! [`TROUBLE_MARK`] before its name.

use ratatui::text::{Line, Span};

use crate::host::events::{EventKind, PressureResource};
use crate::host::text::clean_str;
use crate::sample::{ContainerSample, Frame};
use crate::ui::app::App;
use crate::ui::theme::Theme;
use crate::ui::widgets::age;
use crate::ui::widgets::table::{Column, Width, layout_columns};

/// Sort indices of EVENT, RESTARTS and HEALTH (`rows::CONTAINER_COLUMNS`).
pub(super) const EVENT: usize = 20;
pub(super) const RESTARTS: usize = 21;
pub(super) const HEALTH: usize = 22;

/// EVENT's width: a label and an age, `unhealthy 5m`.
const EVENT_WIDTH: u16 = 12;

/// The least and most cells the NAME column keeps when a life column comes in: what happened
/// to a container is asked before the kernel's and traffic figures (which let names keep 40),
/// so a life column may narrow NAME to the longest name on screen, never below 24 cells
/// (Docker's generated names are at most 28; pods' members are folded under their rows).
const NAME_KEEPS_LEAST: u16 = 24;
const NAME_KEEPS_MOST: u16 = 40;

/// The cells NAME keeps when a life column comes in: the longest name on screen (a pod's row
/// as `▸ label`, a member indented by 2), within [`NAME_KEEPS_LEAST`]..=[`NAME_KEEPS_MOST`].
fn name_keeps(app: &App, frame: &Frame) -> u16 {
    let cells = |s: &str| u16::try_from(s.chars().count()).unwrap_or(u16::MAX);
    let in_pods = frame.pods.iter().map(|p| cells(&p.label).saturating_add(2));
    let names = frame.containers.iter().enumerate().map(|(i, c)| {
        let indent = if app.rows().pod_of.contains_key(&i) {
            2
        } else {
            0
        };
        cells(&c.view.container.name).saturating_add(indent)
    });
    in_pods
        .chain(names)
        .max()
        .unwrap_or(0)
        .clamp(NAME_KEEPS_LEAST, NAME_KEEPS_MOST)
}

/// Before the name of a container whose newest event is trouble, where EVENT is not drawn.
pub const TROUBLE_MARK: &str = "*";

/// `columns` with EVENT, RESTARTS and HEALTH added where there is something to show in them
/// and room at `width` (NAME keeping [`name_keeps`] cells), none of them `hidden`: RESTARTS
/// and HEALTH before UPTIME, EVENT last.
pub(super) fn add_columns(
    mut columns: Vec<Column>,
    width: u16,
    hidden: &[usize],
    app: &App,
    frame: &Frame,
) -> Vec<Column> {
    let any = |has: &dyn Fn(&ContainerSample) -> bool| frame.containers.iter().any(has);
    let wanted = [
        (
            Column::new("RESTARTS", RESTARTS, Width::Fixed(8)).right(),
            any(&|c| restarts(c).is_some()),
        ),
        (
            Column::new("HEALTH", HEALTH, Width::Fixed(9)),
            any(&|c| health(c).is_some()),
        ),
        (
            Column::new("EVENT", EVENT, Width::Fixed(EVENT_WIDTH)),
            any(&|c| app.latest_event(&c.view.container.id).is_some()),
        ),
    ];
    let name_width = |columns: &[Column]| {
        layout_columns(columns, width)
            .iter()
            .find(|(c, _)| c.sort_index == 1)
            .map_or(0, |(_, w)| *w)
    };
    let keeps = name_keeps(app, frame);
    // EVENT first: what happened says more than the counts.
    for index in [2, 0, 1] {
        let (column, has) = wanted[index];
        if !has || hidden.contains(&column.sort_index) {
            continue;
        }
        let mut with = columns.clone();
        let at = match column.sort_index {
            EVENT => with.len(),
            // Before UPTIME (or last, when the config hides it).
            _ => with
                .iter()
                .position(|c| c.sort_index == 8)
                .unwrap_or(with.len()),
        };
        with.insert(at, column);
        if name_width(&with) >= keeps {
            columns = with;
        }
    }
    columns
}

fn restarts(c: &ContainerSample) -> Option<u64> {
    c.runtime_state.as_ref()?.restart_count
}

fn health(c: &ContainerSample) -> Option<&str> {
    c.runtime_state.as_ref()?.health.as_deref()
}

/// EVENT, RESTARTS, HEALTH of container `c` at the frame's time `now_ms`.
pub(super) fn cells<'a>(
    c: &ContainerSample,
    app: &App,
    now_ms: u64,
    theme: &Theme,
) -> [Line<'a>; 3] {
    let event = match app.latest_event(&c.view.container.id) {
        Some(e) => {
            let ago = age(now_ms.saturating_sub(e.at_ms) / 1000);
            let room = (EVENT_WIDTH as usize).saturating_sub(ago.len() + 1);
            let label: String = label(&e.kind).chars().take(room).collect();
            let line = Line::from(format!("{label} {ago}"));
            if e.kind.is_trouble() {
                line.style(theme.warning)
            } else {
                line
            }
        }
        None => Line::from("-"),
    };
    let restarts = Line::from(restarts(c).map_or_else(|| "-".to_string(), |n| n.to_string()));
    let health = match health(c) {
        Some(status) => {
            let line = Line::from(clean_str(status));
            if status == "unhealthy" {
                line.style(theme.warning)
            } else {
                line
            }
        }
        None => Line::from("-"),
    };
    [event, restarts, health]
}

/// The name cell's mark where EVENT is not drawn: [`TROUBLE_MARK`] when the newest event is
/// trouble.
pub(super) fn mark<'a>(c: &ContainerSample, app: &App, theme: &Theme) -> Option<Span<'a>> {
    app.latest_event(&c.view.container.id)
        .filter(|e| e.kind.is_trouble())
        .map(|_| Span::styled(TROUBLE_MARK, theme.warning))
}

/// A kind in a few letters, for the EVENT cell.
fn label(kind: &EventKind) -> String {
    let psi = |resource: &PressureResource| match resource {
        PressureResource::Cpu => "cpu",
        PressureResource::Memory => "mem",
        PressureResource::Io => "io",
    };
    match kind {
        EventKind::Started => "started".into(),
        EventKind::Exited {
            stop_requested: true,
            ..
        } => "stopped".into(),
        EventKind::Exited {
            exit_code: Some(code),
            ..
        } => format!("exit {code}"),
        EventKind::Exited {
            exit_code: None, ..
        } => "exited".into(),
        EventKind::Restarted { .. } => "restarted".into(),
        EventKind::Frozen => "frozen".into(),
        EventKind::Thawed => "thawed".into(),
        EventKind::OomKill { .. } => "oom".into(),
        EventKind::PidsLimitHit { .. } => "pids max".into(),
        EventKind::Throttled { ended: false, .. } => "throttled".into(),
        EventKind::Throttled { ended: true, .. } => "thr ended".into(),
        EventKind::Pressure {
            resource,
            ended: false,
            ..
        } => format!("psi {}", psi(resource)),
        EventKind::Pressure {
            resource,
            ended: true,
            ..
        } => format!("psi {} end", psi(resource)),
        EventKind::LimitChanged { .. } => "limit".into(),
        EventKind::HealthChanged { status } => clean_str(status),
    }
}
