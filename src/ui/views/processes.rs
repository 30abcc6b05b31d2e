//! Processes: the process tree (or a flat list when sorted by a column) with the container,
//! the cgroup and the namespaces (letters where they differ from the host's) of each.

use ratatui::Frame as TermFrame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::Ctx;
use crate::host::process::Process;
use crate::host::text::clean_str;
use crate::ui::action::Tab;
use crate::ui::app::ListLayout;
use crate::ui::widgets::table::{self, Column, Width};
use crate::ui::widgets::{keep_tail, ns_letters};
use crate::units::format::short_bytes;

/// The cgroup path most telling for a process: its v2 path unless that is the root (hybrid
/// hosts leave v2 empty), else its memory or cpu hierarchy's path, else the first.
pub fn cgroup_of(p: &Process) -> &str {
    p.cgroup_path(None)
        .filter(|path| *path != "/")
        .or_else(|| p.cgroup_path(Some("memory")))
        .or_else(|| p.cgroup_path(Some("cpu")))
        .or_else(|| p.cgroups.first().map(|m| m.path.as_str()))
        .unwrap_or("-")
}

pub fn draw(f: &mut TermFrame, area: Rect, ctx: &Ctx<'_>) -> ListLayout {
    let app = ctx.app;
    let theme = ctx.theme;
    let Some(frame) = app.frame() else {
        return ListLayout::default();
    };
    let columns = [
        Column::new("PID", 0, Width::Fixed(7)).right(),
        Column::new("USER", 1, Width::Fixed(8)),
        Column::new("CPU%", 2, Width::Fixed(5)).right(),
        Column::new("MEM", 3, Width::Fixed(5)).right(),
        Column::new("S", 4, Width::Fixed(1)),
        Column::new("CONTAINER", 5, Width::Fixed(12)),
        Column::new("CGROUP", 6, Width::Fixed(28)).from_width(120),
        Column::new("NS", 7, Width::Fixed(8)),
        Column::new("COMMAND", 8, Width::Fill(10)),
    ];
    let host_ns = frame.namespaces.host.ns;
    let rows = &app.rows().processes;
    table::draw(
        f,
        area,
        &columns,
        rows.len(),
        app.list(Tab::Processes),
        app.sort(Tab::Processes),
        theme,
        |row| {
            let Some(tree_row) = rows.get(row) else {
                return Vec::new();
            };
            let s = &frame.processes[tree_row.index];
            let p = &s.process;
            let container = s
                .container_id
                .as_deref()
                .map(|id| {
                    app.rows()
                        .container_by_id
                        .get(id)
                        .map(|&i| frame.containers[i].view.container.name.clone())
                        .unwrap_or_else(|| crate::units::short_id(id))
                })
                .unwrap_or_default();
            let indent = if tree_row.depth == 0 {
                String::new()
            } else {
                format!("{}└ ", " ".repeat((tree_row.depth - 1).min(30)))
            };
            let command = if p.kernel_thread {
                format!("[{}]", p.comm)
            } else {
                p.command()
            };
            let user: String = s.user.chars().take(8).collect();
            vec![
                Line::from(p.pid.to_string()),
                Line::from(user),
                Line::from(
                    s.cpu_percent
                        .map(|c| format!("{c:.1}"))
                        .unwrap_or_else(|| "-".into()),
                ),
                Line::from(short_bytes(p.rss_bytes)),
                Line::from(p.state.to_string()),
                Line::from(Span::styled(container, theme.container_mark)),
                // Cgroup names are chosen by whoever made the cgroup: cleaned for display.
                Line::from(keep_tail(&clean_str(cgroup_of(p)), 28)),
                Line::from(Span::styled(ns_letters(&p.ns, &host_ns), theme.dim)),
                Line::from(vec![Span::styled(indent, theme.dim), Span::raw(command)]),
            ]
        },
        |_| None,
    )
}
