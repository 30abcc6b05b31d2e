//! The detail pane's charts of a container or cgroup over the history: CPU% with the quota
//! line, share of periods throttled, CPU pressure above; memory with its limit line, pids with
//! theirs, memory and I/O pressure below — over the span the operator zoomed to.

use ratatui::Frame as TermFrame;
use ratatui::layout::{Constraint, Layout, Rect};

use super::super::Ctx;
use super::trouble;
use crate::sample::{ContainerSample, Frame, Point};
use crate::ui::app::Target;
use crate::ui::widgets::chart::{self, Series};
use crate::units::format::short_bytes;

/// Draws the six charts of `target` (whose sample is `container` for a container) from its
/// history `points` in `area`.
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
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let thirds = [Constraint::Ratio(1, 3); 3];
    let [a, b, e] = Layout::horizontal(thirds).spacing(1).areas(top);
    let [c, d, g] = Layout::horizontal(thirds).spacing(1).areas(bottom);
    // CPU, throttled, CPU pressure above; memory, pids, memory and I/O pressure below.
    for (area, s) in [a, b, c, d, e, g].into_iter().zip(&series) {
        chart::draw(
            f,
            area,
            s,
            frame.taken_at_ms,
            ctx.app.chart_span(),
            ctx.theme,
        );
    }
}
