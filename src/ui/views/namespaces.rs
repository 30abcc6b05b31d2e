//! Namespaces: the lsns listing grouped by type (top), the processes of the selected namespace
//! (bottom left), and the sharing matrix (bottom right): for each container and each of the 8
//! kinds, whether it has its own namespace, the host's, or one shared with N other containers
//! (a pod's containers share net, ipc and uts). Rows of containers in the selected namespace
//! are highlighted.

use foldhash::HashMap;

use ratatui::Frame as TermFrame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::Ctx;
use crate::host::namespace::{Namespace, NsKind};
use crate::sample::{ContainerSample, Frame};
use crate::ui::action::Tab;
use crate::ui::app::ListLayout;
use crate::ui::widgets::table::{self, Column, Width};

/// One cell of the sharing matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    Host,
    Own,
    /// Shared with this many other containers.
    With(usize),
    Unknown,
}

impl Sharing {
    pub fn label(self) -> String {
        match self {
            Sharing::Host => "host".into(),
            Sharing::Own => "own".into(),
            Sharing::With(n) => format!("+{n}"),
            Sharing::Unknown => "?".into(),
        }
    }
}

/// The sharing matrix: per container (frame order), per kind (`NsKind::ALL` order).
pub fn sharing_matrix(frame: &Frame) -> Vec<[Sharing; 8]> {
    let mut users: HashMap<(NsKind, u64), usize> = HashMap::default();
    for c in &frame.containers {
        for (kind, inode) in c.view.container.namespaces.iter() {
            *users.entry((kind, inode)).or_default() += 1;
        }
    }
    frame
        .containers
        .iter()
        .map(|c| {
            let k = &c.view.container;
            let mut row = [Sharing::Unknown; 8];
            for (i, kind) in NsKind::ALL.into_iter().enumerate() {
                row[i] = match k.namespaces.get(kind) {
                    None => Sharing::Unknown,
                    Some(_) if k.shared_with_host.contains(&kind) => Sharing::Host,
                    Some(inode) => match users.get(&(kind, inode)).copied().unwrap_or(1) {
                        0 | 1 => Sharing::Own,
                        n => Sharing::With(n - 1),
                    },
                };
            }
            row
        })
        .collect()
}

pub fn draw(f: &mut TermFrame, area: Rect, ctx: &Ctx<'_>) -> ListLayout {
    let app = ctx.app;
    let theme = ctx.theme;
    let Some(frame) = app.frame() else {
        return ListLayout::default();
    };
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    let columns = [
        Column::new("NS", 0, Width::Fixed(10)).right(),
        Column::new("TYPE", 1, Width::Fixed(6)),
        Column::new("NPROCS", 2, Width::Fixed(6)).right(),
        Column::new("PID", 3, Width::Fixed(7)).right(),
        Column::new("USER", 4, Width::Fixed(8)),
        Column::new("COMMAND", 5, Width::Fill(10)),
    ];
    let list = &frame.namespaces.namespaces;
    let rows = &app.rows().namespaces;
    let host = &frame.namespaces.host;
    let layout = table::draw(
        f,
        top,
        &columns,
        rows.len(),
        app.list(Tab::Namespaces),
        app.sort(Tab::Namespaces),
        theme,
        |row| {
            let Some(&i) = rows.get(row) else {
                return Vec::new();
            };
            let ns = &list[i];
            let mut command = vec![Span::raw(
                ns.command.as_deref().unwrap_or_default().to_string(),
            )];
            if host.is_host(ns.kind, ns.inode) {
                command.insert(0, Span::styled("(host) ", theme.dim));
            }
            vec![
                Line::from(ns.inode.to_string()),
                Line::from(ns.kind.name()),
                Line::from(ns.nprocs.to_string()),
                Line::from(ns.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into())),
                Line::from(ns.user.clone().unwrap_or_default()),
                Line::from(command),
            ]
        },
        |_| None,
    );
    let selected = rows
        .get(app.list(Tab::Namespaces).selected)
        .map(|&i| &list[i]);
    let split = if bottom.width >= 120 { 50 } else { 36 };
    let [left, right] = Layout::horizontal([
        Constraint::Percentage(split),
        Constraint::Percentage(100 - split),
    ])
    .areas(bottom);
    draw_members(f, left, ctx, frame, selected);
    draw_matrix(f, right, ctx, frame, selected);
    layout
}

fn draw_members(
    f: &mut TermFrame,
    area: Rect,
    ctx: &Ctx<'_>,
    frame: &Frame,
    ns: Option<&Namespace>,
) {
    let theme = ctx.theme;
    let title = match ns {
        Some(ns) => format!(" {}:[{}] processes ", ns.kind, ns.inode),
        None => " processes ".to_string(),
    };
    let block = Block::new()
        .borders(Borders::TOP)
        .title(Span::styled(title, theme.title));
    let room = area.height.saturating_sub(1) as usize;
    let mut lines = Vec::new();
    if let Some(ns) = ns {
        for &pid in ns.pids.iter().take(room) {
            let command = frame.command_of(pid);
            lines.push(Line::from(vec![
                Span::styled(format!("{pid:>7} "), theme.dim),
                Span::raw(command),
            ]));
        }
        if ns.pids.len() > room && room > 0 {
            lines.pop();
            lines.push(Line::from(Span::styled(
                format!("  … {} more", ns.pids.len() - room + 1),
                theme.dim,
            )));
        }
        if ns.pids.is_empty() {
            let held = if ns.nsfs.is_empty() {
                "no process (kept alive by a child namespace)".to_string()
            } else {
                format!("no process; bind-mounted at {}", ns.nsfs[0].display())
            };
            lines.push(Line::from(Span::styled(held, theme.dim)));
        }
    }
    f.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_matrix(
    f: &mut TermFrame,
    area: Rect,
    ctx: &Ctx<'_>,
    frame: &Frame,
    ns: Option<&Namespace>,
) {
    let theme = ctx.theme;
    let block = Block::new().borders(Borders::TOP).title(Span::styled(
        " sharing: host / own / +N others ",
        theme.title,
    ));
    let matrix = sharing_matrix(frame);
    let cell = 5usize;
    let name_width = (area.width as usize).saturating_sub(cell * 8).clamp(6, 24);
    let mut header = vec![Span::styled(
        format!("{:<name_width$}", "CONTAINER"),
        theme.header,
    )];
    for kind in NsKind::ALL {
        let short: String = kind.name().chars().take(4).collect();
        header.push(Span::styled(format!("{short:>cell$}"), theme.header));
    }
    let mut lines = vec![Line::from(header)];
    let in_selected = |c: &ContainerSample| {
        ns.is_some_and(|ns| c.view.container.namespaces.get(ns.kind) == Some(ns.inode))
    };
    for (c, row) in frame.containers.iter().zip(&matrix) {
        let name: String = c.view.container.name.chars().take(name_width - 1).collect();
        let mut spans = vec![Span::raw(format!("{name:<name_width$}"))];
        for sharing in row {
            let style = match sharing {
                Sharing::Host => theme.warning,
                Sharing::With(_) => theme.container_mark,
                _ => theme.dim,
            };
            spans.push(Span::styled(format!("{:>cell$}", sharing.label()), style));
        }
        let mut line = Line::from(spans);
        if in_selected(c) {
            line = line.style(theme.selected);
        }
        lines.push(line);
    }
    if frame.containers.is_empty() {
        lines.push(Line::from(Span::styled("no containers", theme.dim)));
    }
    f.render_widget(Paragraph::new(lines).block(block), area);
}
