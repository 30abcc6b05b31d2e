//! The `?` overlay: the keymap table as it is in force (defaults plus the user's config; a
//! replay's keys only in a replay), then the legends of the symbols the views use.

use ratatui::Frame as TermFrame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::Ctx;

const LEGEND: &[&str] = &[
    "",
    "NS column: C I M N P T U S = cgroup ipc mnt net pid time user uts",
    "  namespace differs from the host's; · = the host's; ? = unreadable",
    "Sharing matrix: host = the host's; own = its own; +N = shared with",
    "  N other containers (a pod shares net, ipc and uts)",
    "NET columns: =1.2M/s is a namespace's shared by containers (a pod's:",
    "  its row counts it once)",
    "Bars: CPU against the quota (else all CPUs), memory against the",
    "  limit (else the host's memory); ▼/▲ marks the sort column",
    "EVENT: a container's newest event and its age (oom 2m); where the",
    "  column does not fit, * before a name marks trouble (see 6 Events)",
    "Log pane: times UTC; err = stderr, out = stdout; End follows again",
    "Mouse: click a tab, a row or a column header; the wheel scrolls",
];

pub fn draw(f: &mut TermFrame, area: Rect, ctx: &Ctx<'_>) {
    let theme = ctx.theme;
    let help = ctx.keymap.help_shown(ctx.app.is_replay());
    let key_width = help
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut lines: Vec<Line> = help
        .into_iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!("{keys:<key_width$}  "), theme.title),
                Span::raw(what),
            ])
        })
        .collect();
    lines.extend(
        LEGEND
            .iter()
            .map(|l| Line::from(Span::styled(*l, theme.dim))),
    );
    let width = area.width.saturating_sub(4).min(72);
    let height = area.height.saturating_sub(2).min(lines.len() as u16 + 2);
    let popup = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    let scroll = ctx.app.help.unwrap_or(0).min(
        lines
            .len()
            .saturating_sub(height.saturating_sub(2) as usize),
    ) as u16;
    f.render_widget(Clear, popup);
    let block = Block::new()
        .borders(Borders::ALL)
        .title(Span::styled(" keys (Esc closes) ", theme.title));
    f.render_widget(
        Paragraph::new(lines).block(block).scroll((scroll, 0)),
        popup,
    );
}
