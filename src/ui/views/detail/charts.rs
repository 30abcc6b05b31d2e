//! The detail pane's charts of a container or cgroup over the history: CPU% with the quota
//! line, share of periods throttled, CPU pressure in a row; memory with its limit line, pids
//! with theirs, memory and I/O pressure in the next; network and disk I/O (with the I/O limit
//! lines; [`traffic`]) — over the span the operator zoomed to. With the time cursor set
//! (`<` `>`, [`App::chart_cursor`]) every chart marks its time and titles its values there.
//!
//! [`App::chart_cursor`]: crate::ui::App::chart_cursor
//!
//! The six keep their 2×3 grid; the traffic charts go where there is room without shrinking
//! them much: a third row when the pane is tall enough for three rows of readable charts
//! ([`THREE_ROWS_FROM`] lines: 40-line terminals and up), else a fourth column when it is wide
//! enough ([`FOUR_COLUMNS_FROM`] cells), else they are left out (a small terminal; the facts
//! beside the charts still give the figures).

use ratatui::Frame as TermFrame;
use ratatui::layout::{Constraint, Layout, Rect};

use super::super::Ctx;
use super::traffic::{self, Network};
use super::trouble;
use crate::sample::{ContainerSample, Frame, Point};
use crate::ui::app::Target;
use crate::ui::widgets::chart::{self, Series};
use crate::units::format::{bytes_per_second, short_bytes};

/// The least height of the charts' area that takes three rows (9 lines each: a title, the
/// axis labels, 7 lines of plot).
pub(super) const THREE_ROWS_FROM: u16 = 27;

/// The least width of the charts' area that takes four columns (24 cells each).
pub(super) const FOUR_COLUMNS_FROM: u16 = 99;

/// One figure of `points` as a series: (ms since the epoch, value) where it is known.
pub(super) fn values(points: &[Point], get: fn(&Point) -> Option<f64>) -> Vec<(u64, f64)> {
    points
        .iter()
        .filter_map(|p| Some((p.t_ms, get(p)?)))
        .collect()
}

/// Draws the charts of `target` (whose sample is `container` for a container) from its history
/// `points` in `area`.
pub(super) fn draw(
    f: &mut TermFrame,
    area: Rect,
    ctx: &Ctx<'_>,
    frame: &Frame,
    target: &Target,
    container: Option<&ContainerSample>,
    points: &[Point],
) {
    let pct = |v: f64| format!("{v:.0}%");
    let count = |v: f64| format!("{v:.0}");
    let bytes = |v: f64| short_bytes(v as u64);
    let last_limit = |get: &dyn Fn(&Point) -> Option<f64>| points.last().and_then(get);
    let cpu_limit = last_limit(&|p| p.cpu_limit_percent);
    let mem_limit = last_limit(&|p| p.memory_limit_bytes.map(|b| b as f64));
    let pids_limit = match target {
        Target::Container(_) => container
            .and_then(|c| c.pids_limit)
            .and_then(|l| l.value().map(|v| *v as f64)),
        _ => None,
    };
    let series = [
        Series {
            title: match cpu_limit {
                Some(l) => format!(" CPU% (quota {l:.0}%) "),
                None => " CPU% (no quota) ".to_string(),
            },
            points: points
                .iter()
                .filter_map(|p| Some((p.t_ms, p.cpu_percent?)))
                .collect(),
            limit: cpu_limit,
            ceiling: None,
            format: &pct,
            style: ctx.theme.series[0],
            overlays: Vec::new(),
        },
        Series {
            title: " throttled % of periods ".to_string(),
            points: points
                .iter()
                .filter_map(|p| Some((p.t_ms, p.throttled_percent?)))
                .collect(),
            limit: None,
            ceiling: Some(100.0),
            format: &pct,
            style: ctx.theme.series[1],
            overlays: Vec::new(),
        },
        Series {
            title: match mem_limit {
                Some(l) => format!(" memory (limit {}) ", short_bytes(l as u64)),
                None => " memory (no limit) ".to_string(),
            },
            points: points
                .iter()
                .filter_map(|p| Some((p.t_ms, p.memory_bytes? as f64)))
                .collect(),
            limit: mem_limit,
            ceiling: None,
            format: &bytes,
            style: ctx.theme.series[2],
            overlays: Vec::new(),
        },
        Series {
            title: match pids_limit {
                Some(l) => format!(" pids (limit {l:.0}) "),
                None => " pids ".to_string(),
            },
            points: points
                .iter()
                .filter_map(|p| Some((p.t_ms, p.pids? as f64)))
                .collect(),
            limit: pids_limit,
            ceiling: None,
            format: &count,
            style: ctx.theme.series[3],
            overlays: Vec::new(),
        },
    ];
    let mut series = Vec::from(series);
    series.extend(trouble::pressure_series(points, &pct, ctx.theme));
    let rate = |v: f64| bytes_per_second(Some(v));
    let (network, io_limits) = match target {
        Target::Container(_) => (
            Network::of(container.and_then(|c| c.net.as_ref())),
            container.and_then(|c| c.io_limits.as_ref()),
        ),
        Target::Cgroup(path) => (
            Network::Cgroup,
            ctx.app
                .rows()
                .cgroup_by_path
                .get(path)
                .and_then(|&i| frame.cgroups.get(i))
                .and_then(|g| g.reading.limits.io.as_ref()),
        ),
        Target::Namespace(_) => (Network::Cgroup, None),
    };
    let traffic = traffic::series(points, network, io_limits, &rate, ctx.theme);
    let (six, traffic_area, across) = if area.height >= THREE_ROWS_FROM {
        let [six, third] =
            Layout::vertical([Constraint::Ratio(2, 3), Constraint::Ratio(1, 3)]).areas(area);
        (six, Some(third), true)
    } else if area.width >= FOUR_COLUMNS_FROM {
        let [six, fourth] = Layout::horizontal([Constraint::Ratio(3, 4), Constraint::Ratio(1, 4)])
            .spacing(1)
            .areas(area);
        (six, Some(fourth), false)
    } else {
        (area, None, false)
    };
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(six);
    let thirds = [Constraint::Ratio(1, 3); 3];
    let [a, b, e] = Layout::horizontal(thirds).spacing(1).areas(top);
    let [c, d, g] = Layout::horizontal(thirds).spacing(1).areas(bottom);
    // CPU, throttled, CPU pressure above; memory, pids, memory and I/O pressure below.
    let mut placed: Vec<(Rect, &chart::Series<'_>)> =
        [a, b, c, d, e, g].into_iter().zip(&series).collect();
    if let Some(traffic_area) = traffic_area {
        // Network and disk I/O side by side in the third row, one above the other in the
        // fourth column; a cgroup's disk I/O takes it all.
        let each = vec![Constraint::Ratio(1, traffic.len().max(1) as u32); traffic.len()];
        let areas = if across {
            Layout::horizontal(each).spacing(1).split(traffic_area)
        } else {
            Layout::vertical(each).split(traffic_area)
        };
        placed.extend(areas.iter().copied().zip(&traffic));
    }
    let cursor = ctx.app.chart_cursor();
    for (area, s) in placed {
        chart::draw_with_cursor(
            f,
            area,
            s,
            frame.taken_at_ms,
            ctx.app.chart_span(),
            cursor,
            ctx.theme,
        );
    }
}
