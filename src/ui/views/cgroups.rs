//! Cgroups: the tree (▾ unfolded, ▸ folded), each with its processes, CPU%, share of periods
//! throttled, memory against its limit and pids against theirs, and from 140 cells (paths
//! keeping 50) its block I/O read and written per second (`CgroupSample::io_rates`, `-` while unknown); a
//! container's own cgroup is marked with the container's name.

use ratatui::Frame as TermFrame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::Ctx;
use crate::host::cgroup::Limit;
use crate::sample::CgroupSample;
use crate::ui::action::Tab;
use crate::ui::app::ListLayout;
use crate::ui::widgets::bar;
use crate::ui::widgets::table::{self, Column, Width};
use crate::units::format::{bytes_per_second, percent, short_bytes};

/// The narrowest table the IO R/s and IO W/s columns are drawn in: paths keep 50 cells.
const IO_FROM: u16 = 140;

pub fn draw(f: &mut TermFrame, area: Rect, ctx: &Ctx<'_>) -> ListLayout {
    let app = ctx.app;
    let theme = ctx.theme;
    let Some(frame) = app.frame() else {
        return ListLayout::default();
    };
    let wide = area.width >= 120;
    let (cpu_w, mem_w) = if wide { (20, 24) } else { (13, 17) };
    let columns = [
        Column::new("CGROUP", 0, Width::Fill(12)),
        Column::new("PROCS", 1, Width::Fixed(6)).right(),
        Column::new("CPU%", 2, Width::Fixed(cpu_w)),
        Column::new("THR%", 3, Width::Fixed(6))
            .right()
            .from_width(100),
        Column::new("MEM", 4, Width::Fixed(mem_w)),
        Column::new("PIDS", 5, Width::Fixed(9)).right(),
        Column::new("IO R/s", 6, Width::Fixed(7))
            .right()
            .from_width(IO_FROM),
        Column::new("IO W/s", 7, Width::Fixed(7))
            .right()
            .from_width(IO_FROM),
    ];
    let cpus = frame.host.cpu_percent_per_core.len().max(1) as f64;
    let rows = &app.rows().cgroups;
    let filtering = !app.filter().is_empty();
    table::draw(
        f,
        area,
        &columns,
        rows.len(),
        app.list(Tab::Cgroups),
        app.sort(Tab::Cgroups),
        theme,
        |row| {
            let Some(tree_row) = rows.get(row) else {
                return Vec::new();
            };
            let g = &frame.cgroups[tree_row.index];
            let marker = if !g.has_children {
                "  "
            } else if app.is_collapsed(&g.path) && !filtering {
                "▸ "
            } else {
                "▾ "
            };
            let name = if g.depth == 0 || filtering {
                g.path.clone()
            } else {
                g.name.clone()
            };
            let mut name_spans = vec![Span::raw(format!(
                "{}{marker}{name}",
                "  ".repeat(tree_row.depth.min(20))
            ))];
            if let Some(id) = &g.container_id {
                let label = app
                    .rows()
                    .container_by_id
                    .get(id)
                    .map(|&i| frame.containers[i].view.container.name.clone())
                    .unwrap_or_else(|| crate::units::short_id(id));
                name_spans.push(Span::styled(format!(" ◆{label}"), theme.container_mark));
            }
            cells(g, Line::from(name_spans), cpus, cpu_w, mem_w, ctx)
        },
        |_| None,
    )
}

fn cells<'a>(
    g: &CgroupSample,
    name: Line<'a>,
    cpus: f64,
    cpu_w: u16,
    mem_w: u16,
    ctx: &Ctx<'_>,
) -> Vec<Line<'a>> {
    let theme = ctx.theme;
    let limits = &g.reading.limits;
    let cpu_limit = match limits.cpu_limit_cpus() {
        Some(Limit::Value(v)) if v > 0.0 => v,
        _ => cpus,
    };
    let memory = g.reading.memory.as_ref().and_then(|m| m.usage_bytes);
    let memory_limit = limits.memory_max_bytes.and_then(|l| l.value().copied());
    let mem_label = match (memory, memory_limit) {
        (Some(m), Some(l)) => format!("{}/{}", short_bytes(m), short_bytes(l)),
        (Some(m), None) => short_bytes(m),
        (None, _) => "-".to_string(),
    };
    let mem_ratio = memory
        .zip(memory_limit)
        .map(|(m, l)| m as f64 / l.max(1) as f64);
    let pids_current = g.reading.pids.as_ref().and_then(|p| p.current);
    let pids = match (pids_current, limits.pids_max) {
        (Some(c), Some(Limit::Value(max))) => format!("{c}/{max}"),
        (Some(c), _) => c.to_string(),
        (None, _) => "-".to_string(),
    };
    vec![
        name,
        Line::from(g.reading.nprocs.to_string()),
        bar(
            g.cpu_percent.map(|c| c / (cpu_limit * 100.0)),
            percent(g.cpu_percent),
            cpu_w,
            theme,
        ),
        Line::from(percent(g.throttled_percent)),
        bar(mem_ratio, mem_label, mem_w, theme),
        Line::from(pids),
        Line::from(bytes_per_second(g.io_rates.read_bytes_per_second)),
        Line::from(bytes_per_second(g.io_rates.write_bytes_per_second)),
    ]
}
