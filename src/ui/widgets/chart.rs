//! A history chart: one series over the last `span` (and optionally more drawn over it, each
//! named in its colour in the title: memory and I/O pressure share one chart, so do bytes read
//! and written), with an optional limit of each drawn as a horizontal line (the CPU quota, the
//! memory limit, the pids limit, the I/O read and write limits). The y axis reaches above the
//! highest point or limit. Time runs from `-span` to the frame's own timestamp, so a fixture
//! frame draws the same chart every time. With the charts' time cursor set
//! ([`draw_with_cursor`]), a vertical line marks its time and the title gives each series'
//! value at it (`-` where the figure was unknown then) in the cursor's style.

use std::time::Duration;

use ratatui::Frame as TermFrame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::Span;
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph};

use crate::ui::app::chart_cursor::ChartCursor;
use crate::ui::theme::Theme;

/// What to draw.
pub struct Series<'a> {
    pub title: String,
    /// (ms since the epoch, value) oldest first.
    pub points: Vec<(u64, f64)>,
    pub limit: Option<f64>,
    /// The largest value the figure can take (100 for a share of periods): the axis stops there.
    pub ceiling: Option<f64>,
    /// How a y value is written on the axis (e.g. `42%`, `256M`).
    pub format: &'a dyn Fn(f64) -> String,
    pub style: Style,
    /// Further series on the same axes, each with its label (shown in its style after the
    /// title) and style; empty for most charts.
    pub overlays: Vec<Overlay>,
}

/// A further series drawn on a chart's axes.
pub struct Overlay {
    pub label: String,
    /// (ms since the epoch, value) oldest first.
    pub points: Vec<(u64, f64)>,
    pub style: Style,
    /// Its own limit, drawn as the series' is (e.g. the write limit over the read limit).
    pub limit: Option<f64>,
}

/// Draws `series` in `area` for the `span` before `now_ms`.
pub fn draw(
    f: &mut TermFrame,
    area: Rect,
    series: &Series<'_>,
    now_ms: u64,
    span: Duration,
    theme: &Theme,
) {
    draw_with_cursor(f, area, series, now_ms, span, None, theme);
}

/// [`draw`], with the time `cursor` marked and the values at it in the title when set.
pub fn draw_with_cursor(
    f: &mut TermFrame,
    area: Rect,
    series: &Series<'_>,
    now_ms: u64,
    span: Duration,
    cursor: Option<ChartCursor>,
    theme: &Theme,
) {
    let at_cursor = |points: &[(u64, f64)]| {
        cursor.map(|c| {
            let value = c.value_in(points).filter(|v| v.is_finite());
            let text = value.map_or_else(|| "-".to_string(), |v| (series.format)(v));
            Span::styled(format!("{text} "), theme.chart_cursor)
        })
    };
    let mut title = vec![Span::styled(series.title.clone(), theme.title)];
    title.extend(at_cursor(&series.points));
    for overlay in &series.overlays {
        title.push(Span::styled(format!("{} ", overlay.label), overlay.style));
        title.extend(at_cursor(&overlay.points));
    }
    let block = Block::new()
        .borders(Borders::TOP)
        .title(ratatui::text::Line::from(title));
    let span_s = span.as_secs_f64().max(1.0);
    let in_span = |points: &[(u64, f64)]| -> Vec<(f64, f64)> {
        points
            .iter()
            .map(|&(t, v)| ((t as f64 - now_ms as f64) / 1000.0, v))
            .filter(|&(x, v)| x >= -span_s && x <= 0.0 && v.is_finite())
            .collect()
    };
    let data = in_span(&series.points);
    let overlays: Vec<(Vec<(f64, f64)>, Style)> = series
        .overlays
        .iter()
        .map(|o| (in_span(&o.points), o.style))
        .collect();
    if data.is_empty() && overlays.iter().all(|(d, _)| d.is_empty()) {
        let text = Paragraph::new(Span::styled("no samples yet", theme.dim)).block(block);
        f.render_widget(text, area);
        return;
    }
    let limits: Vec<f64> = series
        .limit
        .into_iter()
        .chain(series.overlays.iter().filter_map(|o| o.limit))
        .filter(|l| l.is_finite())
        .collect();
    let top = data
        .iter()
        .chain(overlays.iter().flat_map(|(d, _)| d))
        .map(|&(_, v)| v)
        .chain(limits.iter().copied())
        .fold(0.0f64, f64::max);
    // 15 % headroom above the highest point or limit, but never past what the figure can reach.
    let y_max = if top > 0.0 { top * 1.15 } else { 1.0 };
    let y_max = series.ceiling.map_or(y_max, |c| y_max.min(c.max(top)));
    let limit_lines: Vec<[(f64, f64); 2]> =
        limits.iter().map(|&l| [(-span_s, l), (0.0, l)]).collect();
    let mut datasets = Vec::new();
    for line in &limit_lines {
        datasets.push(line_of(line, theme.limit_line));
    }
    datasets.push(line_of(&data, series.style));
    for (points, style) in &overlays {
        datasets.push(line_of(points, *style));
    }
    // The cursor's line last, so its whole height reads in its style (a point it crosses too).
    let cursor_line: Option<[(f64, f64); 2]> = cursor
        .map(|c| (c.at_ms as f64 - now_ms as f64) / 1000.0)
        .filter(|&x| (-span_s..=0.0).contains(&x))
        .map(|x| [(x, 0.0), (x, y_max)]);
    if let Some(line) = &cursor_line {
        datasets.push(line_of(line, theme.chart_cursor));
    }
    let chart = Chart::new(datasets)
        .block(block)
        .legend_position(None)
        .x_axis(
            Axis::default()
                .bounds([-span_s, 0.0])
                .style(theme.dim)
                .labels([span_label(span), "now".to_string()]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, y_max])
                .style(theme.dim)
                .labels(["0".to_string(), (series.format)(y_max)]),
        );
    f.render_widget(chart, area);
}

/// `points` joined by a line of braille dots in `style`.
fn line_of(points: &[(f64, f64)], style: Style) -> Dataset<'_> {
    Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(style)
        .data(points)
}

/// `-10m`, `-90s`.
pub fn span_label(span: Duration) -> String {
    let s = span.as_secs();
    if s >= 60 && s.is_multiple_of(60) {
        format!("-{}m", s / 60)
    } else {
        format!("-{s}s")
    }
}
