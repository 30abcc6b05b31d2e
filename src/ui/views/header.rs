//! The header: host name, kernel, cgroup mode, root or not, the frame's time; per-CPU bars;
//! memory, swap, load and uptime; counts of containers, namespaces, cgroups and processes. On a
//! remote host (`--host`) it starts with the host's label (and its place among several), and
//! says STALE while the connection is down and the figures are the last frame's.

use ratatui::Frame as TermFrame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Ctx;
use crate::ui::widgets::{bar, clock};
use crate::units::format::{duration, short_bytes};

/// Width of one CPU cell, e.g. `cpu12 ██████░░░ 100%`.
const CPU_CELL: u16 = 20;

/// Lines the header takes at this size.
pub fn height(ctx: &Ctx<'_>, area: Rect) -> u16 {
    1 + cpu_rows(ctx, area).len() as u16 + 2
}

/// CPU bars laid out in rows: (label, busy percent) cells. Many CPUs are averaged in groups so
/// the header never takes more than 2 rows (4 on tall terminals).
fn cpu_rows(ctx: &Ctx<'_>, area: Rect) -> Vec<Vec<(String, Option<f64>)>> {
    let Some(frame) = ctx.app.frame() else {
        return Vec::new();
    };
    let cpus = &frame.host.cpu_percent_per_core;
    if cpus.is_empty() {
        return Vec::new();
    }
    let per_row = (area.width / CPU_CELL).max(1) as usize;
    let max_rows = if area.height >= 40 { 4 } else { 2 };
    let cells = cpus.len().min(per_row * max_rows);
    let group = cpus.len().div_ceil(cells);
    let mut out: Vec<(String, Option<f64>)> = Vec::new();
    for (i, chunk) in cpus.chunks(group).enumerate() {
        let first = i * group;
        let label = if chunk.len() == 1 {
            format!("cpu{first}")
        } else {
            format!("{first}-{}", first + chunk.len() - 1)
        };
        let avg = chunk.iter().sum::<f64>() / chunk.len() as f64;
        out.push((label, Some(avg)));
    }
    out.chunks(per_row).map(|c| c.to_vec()).collect()
}

/// ` [ssh user@host:port 1/2]` and ` STALE` on a remote host; nothing on this one.
fn remote_spans(ctx: &Ctx<'_>) -> Vec<Span<'static>> {
    let Some(label) = ctx.app.host_label() else {
        return Vec::new();
    };
    let place = ctx
        .app
        .host_position()
        .map(|(at, of)| format!(" {at}/{of}"))
        .unwrap_or_default();
    let mut spans = vec![Span::styled(
        format!(" [ssh {label}{place}]"),
        ctx.theme.title,
    )];
    if ctx.app.is_stale() {
        spans.push(Span::styled(" STALE", ctx.theme.warning));
    }
    spans
}

pub fn draw(f: &mut TermFrame, area: Rect, ctx: &Ctx<'_>) {
    let theme = ctx.theme;
    let mut lines = Vec::new();
    let remote = remote_spans(ctx);
    let Some(frame) = ctx.app.frame() else {
        let mut first = vec![Span::styled("isotop", theme.title)];
        first.extend(remote);
        lines.push(Line::from(first));
        f.render_widget(Paragraph::new(lines), area);
        return;
    };
    let host = &frame.host;
    let mode = host.cgroup_mode.map(|m| m.as_str()).unwrap_or("unknown");
    let read_only = ctx.app.is_read_only();
    let who = match (host.is_root, read_only) {
        (true, false) => "root",
        (true, true) => "root (read-only)",
        (false, _) => "not root (read-only)",
    };
    let who_style = if host.is_root && !read_only {
        theme.dim
    } else {
        theme.warning
    };
    let mut first = vec![Span::styled("isotop", theme.title)];
    first.extend(remote);
    first.push(Span::raw(" "));
    lines.push(Line::from(
        first
            .into_iter()
            .chain([
                Span::styled(host.hostname.clone(), theme.text),
                Span::styled("  kernel ", theme.dim),
                Span::raw(host.kernel.clone()),
                Span::styled("  cgroups ", theme.dim),
                Span::raw(mode),
                Span::raw("  "),
                Span::styled(who, who_style),
                Span::styled(format!("  {} UTC", clock(frame.taken_at_ms)), theme.dim),
            ])
            .collect::<Vec<_>>(),
    ));
    let per_row = (area.width / CPU_CELL).max(1);
    let cell = area.width / per_row;
    for row in cpu_rows(ctx, area) {
        let mut spans = Vec::new();
        for (label, busy) in row {
            let name = format!("{label:<6}");
            let gauge = bar(
                busy.map(|b| b / 100.0),
                format!(
                    "{:>4}",
                    busy.map(|b| format!("{b:.0}%"))
                        .unwrap_or_else(|| "-".into())
                ),
                cell.saturating_sub(7),
                theme,
            );
            spans.push(Span::styled(name, theme.dim));
            spans.extend(gauge.spans);
            spans.push(Span::raw(" "));
        }
        lines.push(Line::from(spans));
    }
    let used = host
        .memory_total_bytes
        .saturating_sub(host.memory_available_bytes);
    let ratio = (host.memory_total_bytes > 0).then(|| used as f64 / host.memory_total_bytes as f64);
    let mem_label = format!(
        "{}/{}",
        short_bytes(used),
        short_bytes(host.memory_total_bytes)
    );
    let mem_width = (area.width / 3).clamp(20, 40);
    let mut mem = vec![Span::styled("mem   ", theme.dim)];
    mem.extend(bar(ratio, mem_label, mem_width, theme).spans);
    let swap_used = host.swap_total_bytes.saturating_sub(host.swap_free_bytes);
    mem.push(Span::styled("  swap ", theme.dim));
    mem.push(Span::raw(format!(
        "{}/{}",
        short_bytes(swap_used),
        short_bytes(host.swap_total_bytes)
    )));
    mem.push(Span::styled("  load ", theme.dim));
    mem.push(Span::raw(format!(
        "{:.2} {:.2} {:.2}",
        host.load[0], host.load[1], host.load[2]
    )));
    mem.push(Span::styled("  up ", theme.dim));
    mem.push(Span::raw(duration(host.uptime_seconds)));
    lines.push(Line::from(mem));
    lines.push(Line::from(vec![
        Span::styled("containers ", theme.dim),
        Span::styled(host.containers.to_string(), theme.title),
        Span::styled("  namespaces ", theme.dim),
        Span::raw(host.namespaces.to_string()),
        Span::styled("  cgroups ", theme.dim),
        Span::raw(host.cgroups.to_string()),
        Span::styled("  processes ", theme.dim),
        Span::raw(host.processes.to_string()),
    ]));
    f.render_widget(Paragraph::new(lines), area);
}
