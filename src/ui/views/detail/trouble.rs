//! The detail pane's part for what the kernel tells of trouble: the facts (throttled share and
//! periods, CPU/memory/I/O pressure `some avg10`, OOM kills since isotop started and in total,
//! forks refused at the pids limit; `-` where the cgroup has no such file) and the two pressure
//! charts (CPU; memory with I/O over it) drawn from the history's points.

use ratatui::text::Line;

use super::charts::values;
use crate::host::container::measure::KernelFigures;
use crate::sample::Point;
use crate::ui::theme::Theme;
use crate::ui::widgets::chart::{Overlay, Series};
use crate::ui::widgets::field;
use crate::units::format::percent;

/// The facts lines. `throttled_percent` is the share over the last interval, `oom_since_start`
/// the kills since isotop started (a cgroup row has neither).
pub(super) fn kernel_lines<'a>(
    k: &KernelFigures,
    throttled_percent: Option<f64>,
    oom_since_start: Option<u64>,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let count = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |n| n.to_string());
    let periods = match (k.cpu_throttled_periods, k.cpu_periods) {
        (Some(throttled), Some(all)) => format!(", {throttled} of {all} periods"),
        _ => String::new(),
    };
    let mut lines = vec![
        field(
            "throttled",
            format!("{} now{periods}", percent(throttled_percent)),
            theme,
        ),
        field(
            "pressure",
            format!(
                "cpu {} mem {} io {}",
                percent(k.cpu_pressure_percent),
                percent(k.memory_pressure_percent),
                percent(k.io_pressure_percent)
            ),
            theme,
        ),
        field(
            "oom kills",
            format!(
                "{} since start, {} in total",
                count(oom_since_start),
                count(k.oom_kills)
            ),
            theme,
        ),
        field(
            "refused",
            format!("{} forks at pids.max", count(k.pids_refused_forks)),
            theme,
        ),
    ];
    if oom_since_start.is_some_and(|n| n > 0) {
        lines[2] = lines[2].clone().style(theme.warning);
    }
    lines
}

/// The CPU pressure chart and the memory pressure chart with I/O pressure over it (percent of
/// the last 10 s some task stalled, 0–100).
pub(super) fn pressure_series<'f>(
    points: &[Point],
    format: &'f dyn Fn(f64) -> String,
    theme: &Theme,
) -> [Series<'f>; 2] {
    let of = |get| values(points, get);
    [
        Series {
            title: " CPU pressure % ".to_string(),
            points: of(|p| p.cpu_pressure_percent),
            limit: None,
            ceiling: Some(100.0),
            format,
            style: theme.series[0],
            overlays: Vec::new(),
        },
        Series {
            title: " pressure %: memory ".to_string(),
            points: of(|p| p.memory_pressure_percent),
            limit: None,
            ceiling: Some(100.0),
            format,
            style: theme.series[2],
            overlays: vec![Overlay {
                label: "io".to_string(),
                points: of(|p| p.io_pressure_percent),
                style: theme.series[1],
                limit: None,
            }],
        },
    ]
}
