//! Containers: the `isotop ls` table, live, with CPU% against the quota (else all CPUs) and
//! memory against the limit (else the host's memory) as bars, and on wider screens what the
//! kernel tells of trouble: throttled share of periods, CPU/memory/I/O pressure (`some
//! avg10`), OOM kills (since isotop started / in total) and forks refused at the pids limit,
//! the writable layer's size (RW SIZE: `Frame::writable_bytes`, `…` while it is sized), and
//! network and block I/O bytes per second ([`traffic`]); where there is room, the newest
//! event, restarts and health ([`life`]; a trouble mark before the name where the newest
//! event cannot be shown).
//! Columns the config hides (`[containers] hide`) are not drawn. A selected container that
//! vanished stays as a struck-through "gone" row with its last figures. A pod is one row
//! (▾ unfolded, ▸ folded) with its totals, its containers indented under it ([`pod`]).

pub mod life;
mod pod;
mod traffic;

use ratatui::Frame as TermFrame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::Ctx;
use crate::host::cgroup::Limit;
use crate::sample::{ContainerSample, Frame, LayerSize};
use crate::ui::action::Tab;
use crate::ui::app::rows::ContainerRow;
use crate::ui::app::{App, ListLayout};
use crate::ui::theme::Theme;
use crate::ui::widgets::bar;
use crate::ui::widgets::table::{self, Column, Width};
use crate::units::format::{duration, percent, short_bytes};
use crate::units::{ShortIds, bound_text};

const WIDE: u16 = 120;

/// The narrowest table the NET RX/s and NET TX/s columns are drawn in.
const NET_FROM: u16 = 180;

/// The narrowest table the RW SIZE column is drawn in.
const RW_SIZE_FROM: u16 = 160;

/// The narrowest table the IO R/s and IO W/s columns are drawn in.
const IO_FROM: u16 = 200;

/// The narrowest tables CPU and memory pressure, then I/O pressure and refused forks, are
/// drawn in.
const PSI_FROM: u16 = 210;
const PSI_IO_FROM: u16 = 230;

/// Narrowest ID column: a 64-hex id's 12 digits. Wider when ids need more to differ
/// (`pidns-<inode>` is 16; see [`ShortIds`]), never cut: two rows must not show one id.
const ID_WIDTH: u16 = 12;

/// The table's columns in display order, without those `hidden` (sort indices). The kernel's
/// figures, traffic and the writable layer's size come in as the screen widens, names keeping
/// 40 cells or more once they do: throttling and OOM kills from 120 cells, RW SIZE from 160,
/// NET RX/s and NET TX/s from 180, IO R/s and IO W/s from 200 (what operators ask of every
/// container first), CPU and memory pressure from 210, I/O pressure and refused forks from 230.
fn columns(wide: bool, id_width: u16, hidden: &[usize]) -> Vec<Column> {
    let (cpu, mem) = if wide { (16, 20) } else { (13, 17) };
    let all = [
        // Wider ids need a wider table, or the names would pay for them.
        Column::new("ID", 0, Width::Fixed(id_width))
            .from_width(WIDE.saturating_add(id_width.saturating_sub(ID_WIDTH))),
        Column::new("NAME", 1, Width::Fill(8)),
        Column::new("RUNTIME", 2, Width::Fixed(10)),
        Column::new("PID", 3, Width::Fixed(7)).right(),
        Column::new("CPU%", 4, Width::Fixed(cpu)),
        Column::new("THR%", 9, Width::Fixed(5))
            .right()
            .from_width(WIDE),
        Column::new("PSI CPU", 10, Width::Fixed(7))
            .right()
            .from_width(PSI_FROM),
        Column::new("MEM", 5, Width::Fixed(mem)),
        Column::new("PSI MEM", 11, Width::Fixed(7))
            .right()
            .from_width(PSI_FROM),
        Column::new("PSI IO", 12, Width::Fixed(7))
            .right()
            .from_width(PSI_IO_FROM),
        Column::new("OOM", 13, Width::Fixed(7))
            .right()
            .from_width(WIDE),
        Column::new("PIDS", 6, Width::Fixed(if wide { 9 } else { 6 })).right(),
        Column::new("REFUSED", 14, Width::Fixed(7))
            .right()
            .from_width(PSI_IO_FROM),
        // `1023B/s` is 7 characters, `=` marks a shared namespace's: 8.
        Column::new("NET RX/s", 16, Width::Fixed(8))
            .right()
            .from_width(NET_FROM),
        Column::new("NET TX/s", 17, Width::Fixed(8))
            .right()
            .from_width(NET_FROM),
        Column::new("IO R/s", 18, Width::Fixed(7))
            .right()
            .from_width(IO_FROM),
        Column::new("IO W/s", 19, Width::Fixed(7))
            .right()
            .from_width(IO_FROM),
        Column::new("RW SIZE", 15, Width::Fixed(7))
            .right()
            .from_width(RW_SIZE_FROM),
        Column::new("STATE", 7, Width::Fixed(7)),
        Column::new("UPTIME", 8, Width::Fixed(7))
            .right()
            .from_width(WIDE),
    ];
    all.into_iter()
        .filter(|c| !hidden.contains(&c.sort_index))
        .collect()
}

/// The ids the dashboard shows: the frame's containers and the gone one kept on screen. Their
/// [`ShortIds`] are what the rows and the detail title show.
pub fn ids_on_screen<'f>(app: &'f App, frame: &'f Frame) -> impl Iterator<Item = &'f str> {
    frame
        .containers
        .iter()
        .map(|c| c.view.container.id.as_str())
        .chain(app.gone().map(|g| g.sample.view.container.id.as_str()))
}

/// CPU bar: share of the quota, else of all CPUs.
pub fn cpu_ratio(c: &ContainerSample, cpus: usize) -> Option<f64> {
    let cpu = c.cpu_percent?;
    let limit = match c.cpu_limit_cpus {
        Some(Limit::Value(v)) if v > 0.0 => v,
        _ => cpus.max(1) as f64,
    };
    Some(cpu / (limit * 100.0))
}

pub fn draw(f: &mut TermFrame, area: Rect, ctx: &Ctx<'_>) -> ListLayout {
    let app = ctx.app;
    let theme = ctx.theme;
    let Some(frame) = app.frame() else {
        return ListLayout::default();
    };
    let wide = area.width >= WIDE;
    let shown = ShortIds::new(ids_on_screen(app, frame));
    let id_width = u16::try_from(shown.widest(ids_on_screen(app, frame)))
        .unwrap_or(u16::MAX)
        .max(ID_WIDTH);
    let hidden = app.hidden_container_columns();
    let columns = life::add_columns(
        columns(wide, id_width, hidden),
        area.width,
        hidden,
        app,
        frame,
    );
    let cpus = frame.host.cpu_percent_per_core.len();
    let host_memory = frame.host.memory_total_bytes;
    let name_width = table::layout_columns(&columns, area.width)
        .iter()
        .find(|(c, _)| c.sort_index == 1)
        .map_or(0, |(_, w)| *w);
    let rows = &app.rows().containers;
    let sample_of = |row: usize| match rows.get(row) {
        Some(ContainerRow::Live(i)) => Some((&frame.containers[*i], false)),
        Some(ContainerRow::Gone) => app.gone().map(|g| (&g.sample, true)),
        Some(ContainerRow::Pod(_)) | None => None,
    };
    let layout = table::draw(
        f,
        area,
        &columns,
        rows.len(),
        app.list(Tab::Containers),
        app.sort(Tab::Containers),
        theme,
        |row| match (rows.get(row), sample_of(row)) {
            (Some(ContainerRow::Pod(p)), _) => pod::cells(
                app,
                &frame.pods[*p],
                &columns,
                name_width,
                cpus,
                host_memory,
                theme,
            ),
            (Some(ContainerRow::Live(i)), Some((c, gone))) if app.rows().pod_of.contains_key(i) => {
                pod::indent(
                    cells(c, gone, &shown, &columns, frame, app, theme),
                    &columns,
                )
            }
            (_, Some((c, gone))) => cells(c, gone, &shown, &columns, frame, app, theme),
            _ => Vec::new(),
        },
        |row| sample_of(row).filter(|(_, gone)| *gone).map(|_| theme.gone),
    );
    if rows.is_empty() {
        let text = if app.filter().is_empty() {
            "no containers found"
        } else {
            "no container matches the filter"
        };
        let at = Rect::new(
            area.x,
            area.y + 1,
            area.width,
            1.min(area.height.saturating_sub(1)),
        );
        f.render_widget(ratatui::widgets::Paragraph::new(text).style(theme.dim), at);
    }
    layout
}

/// The width column `i` is drawn at (a fill column's least).
/// The drawn width of the column that sorts by `sort_index` (0 when it is not drawn: too
/// narrow a screen, or hidden by the config).
fn width_of(columns: &[Column], sort_index: usize) -> u16 {
    columns
        .iter()
        .find(|c| c.sort_index == sort_index)
        .map_or(0, |c| match c.width {
            Width::Fixed(w) => w,
            Width::Fill(w) => w,
        })
}

fn cells<'a>(
    c: &ContainerSample,
    gone: bool,
    shown: &ShortIds,
    columns: &[Column],
    frame: &Frame,
    app: &App,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let cpus = frame.host.cpu_percent_per_core.len();
    let host_memory = frame.host.memory_total_bytes;
    let k = &c.view.container;
    let width_of = |i: usize| width_of(columns, i);
    let memory_limit = c.memory_limit_bytes.and_then(|l| l.value().copied());
    let inherited = &c.view.inherited_limits;
    // A shared cgroup's limit is shown marked (`512M (shared)`), never as its own; `max` is
    // left out of the cell.
    let mem_label = match (c.memory_bytes, memory_limit, &inherited.memory_max_bytes) {
        (Some(m), Some(l), _) => format!("{}/{}", short_bytes(m), short_bytes(l)),
        (Some(m), None, Some(shared))
            if c.memory_limit_bytes.is_none() && !shared.limit.is_max() =>
        {
            format!(
                "{}/{}",
                short_bytes(m),
                bound_text(None, Some(shared), short_bytes)
            )
        }
        (Some(m), _, _) => short_bytes(m),
        (None, _, _) => "-".to_string(),
    };
    let mem_ratio = c
        .memory_bytes
        .zip(memory_limit.or((host_memory > 0).then_some(host_memory)))
        .map(|(m, l)| m as f64 / l.max(1) as f64);
    let pids = match (c.pids_limit, &inherited.pids_max) {
        (Some(Limit::Value(max)), _) => format!("{}/{max}", c.pids),
        (None, Some(shared)) if !shared.limit.is_max() => format!("{}/{shared}", c.pids),
        _ => c.pids.to_string(),
    };
    let mut name = if k.trust.verified {
        Line::from(k.name.clone())
    } else {
        Line::from(format!(
            "{}{}",
            crate::host::container::claim::UNVERIFIED_MARK,
            k.name
        ))
        .style(theme.warning)
    };
    if !columns.iter().any(|c| c.sort_index == life::EVENT)
        && let Some(mark) = life::mark(c, app, theme)
    {
        name.spans.insert(0, mark);
    }
    // By sort index (CONTAINER_COLUMNS' order), then picked in the display order below.
    let mut by_index = vec![
        Line::from(shown.get(&k.id)),
        name,
        Line::from(k.runtime.name()),
        Line::from(
            k.init_pid
                .map(|p| p.to_string())
                .unwrap_or_else(|| "-".into()),
        ),
        bar(
            cpu_ratio(c, cpus),
            percent(c.cpu_percent),
            width_of(4),
            theme,
        ),
        bar(mem_ratio, mem_label, width_of(5), theme),
        Line::from(pids),
        Line::from(if gone { "gone" } else { c.view.state.as_str() }),
        Line::from(
            c.view
                .uptime_seconds
                .map(duration)
                .unwrap_or_else(|| "-".into()),
        ),
    ];
    by_index.extend(kernel_cells(c, theme));
    by_index.push(rw_size_cell(frame, c, theme));
    by_index.extend(traffic::cells(c, theme));
    by_index.extend(life::cells(c, app, frame.taken_at_ms, theme));
    columns
        .iter()
        .map(|column| by_index.get(column.sort_index).cloned().unwrap_or_default())
        .collect()
}

/// THR%, PSI CPU, PSI MEM, PSI IO, OOM (since isotop started / in total), REFUSED: `-` where
/// the kernel has no figure; kills since start and refused forks stand out.
fn kernel_cells<'a>(c: &ContainerSample, theme: &Theme) -> [Line<'a>; 6] {
    let k = &c.kernel;
    let count = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |n| n.to_string());
    let oom = match (c.oom_kills_since_start, k.oom_kills) {
        (None, None) => "-".to_string(),
        (since, total) => format!("{}/{}", count(since), count(total)),
    };
    let loud = |text: String, on: bool| {
        if on {
            Line::from(text).style(theme.warning)
        } else {
            Line::from(text)
        }
    };
    [
        Line::from(percent(c.throttled_percent)),
        Line::from(percent(k.cpu_pressure_percent)),
        Line::from(percent(k.memory_pressure_percent)),
        Line::from(percent(k.io_pressure_percent)),
        loud(oom, c.oom_kills_since_start.is_some_and(|n| n > 0)),
        loud(
            count(k.pids_refused_forks),
            k.pids_refused_forks.is_some_and(|n| n > 0),
        ),
    ]
}

/// RW SIZE: the writable layer's size on disk once walked in full (`Frame::writable_bytes`,
/// the one figure), `…` while it is queued or walked, `failed` when it could not be sized
/// (the detail pane's layers say why), `-` without one (a root that is not overlay, a stack
/// not read, sizing off).
fn rw_size_cell<'a>(frame: &Frame, c: &ContainerSample, theme: &Theme) -> Line<'a> {
    if let Some(bytes) = frame.writable_bytes(c) {
        return Line::from(short_bytes(bytes));
    }
    match frame.writable_size(c) {
        Some(LayerSize::Queued | LayerSize::Sizing { .. }) => Line::from("…"),
        Some(LayerSize::Failed { .. }) => Line::from("failed").style(theme.warning),
        Some(LayerSize::Sized { .. }) | None => Line::from("-"),
    }
}
