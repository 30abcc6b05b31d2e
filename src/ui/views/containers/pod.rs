//! A pod's row in the Containers view: its marker (▾ unfolded, ▸ folded) and label, its
//! runtime, and its totals as `sample::pods` computed them (CPU% of all CPUs, memory of the
//! host's, processes, network and block I/O per second), and the namespaces its containers
//! share after its label (where the NAME column has room for all of it: a note cut short
//! would read as part of the label). Its
//! containers' rows follow it, their names indented ([`indent`]).

use ratatui::text::{Line, Span};

use super::{Column, width_of};
use crate::sample::PodSample;
use crate::ui::app::App;
use crate::ui::theme::Theme;
use crate::ui::widgets::bar;
use crate::units::format::{duration, percent, short_bytes};
use crate::units::short_id;

/// The sort index of the first traffic column (NET RX/s).
const TRAFFIC_INDEX: usize = 16;

/// The cells of `pod`'s row, in the table's column order (the kernel's trouble columns are
/// blank: a pod has no cgroup figures of its own here; its traffic is its namespaces' counted
/// once and its members' I/O summed).
pub(super) fn cells<'a>(
    app: &App,
    pod: &PodSample,
    columns: &[Column],
    name_width: u16,
    cpus: usize,
    host_memory: u64,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let marker = if app.is_collapsed(&pod.key) && app.filter().is_empty() {
        "▸"
    } else {
        "▾"
    };
    let cpu_ratio = pod.cpu_percent.map(|c| c / (cpus.max(1) as f64 * 100.0));
    let mem_ratio = pod
        .memory_bytes
        .filter(|_| host_memory > 0)
        .map(|m| m as f64 / host_memory as f64);
    let shared: Vec<&str> = pod.shared.iter().map(|k| k.name()).collect();
    let label = format!("{marker} {}", pod.label);
    let note = if shared.is_empty() {
        String::new()
    } else {
        format!("  shares {}", shared.join(","))
    };
    let fits = label.chars().count() + note.chars().count() <= usize::from(name_width);
    let note = if fits { note } else { String::new() };
    // By sort index (CONTAINER_COLUMNS' order), then picked in the display order.
    let mut by_index = vec![
        Line::from(pod.pod.uid.as_deref().map(short_id).unwrap_or_default()),
        Line::from(vec![
            Span::styled(label, theme.title),
            Span::styled(note, theme.dim),
        ]),
        Line::from(pod.runtime.name()),
        Line::from("-"),
        bar(
            cpu_ratio,
            percent(pod.cpu_percent),
            width_of(columns, 4),
            theme,
        ),
        bar(
            mem_ratio,
            pod.memory_bytes
                .map(short_bytes)
                .unwrap_or_else(|| "-".into()),
            width_of(columns, 5),
            theme,
        ),
        Line::from(pod.pids.to_string()),
        Line::from("pod"),
        Line::from(
            pod.uptime_seconds
                .map(duration)
                .unwrap_or_else(|| "-".into()),
        ),
    ];
    // The kernel's trouble columns and RW SIZE are blank, the traffic is the pod's.
    by_index.resize(TRAFFIC_INDEX, Line::default());
    by_index.extend(super::traffic::pod_cells(pod));
    columns
        .iter()
        .map(|column| by_index.get(column.sort_index).cloned().unwrap_or_default())
        .collect()
}

/// A member's cells with its name (the column of sort index 1) indented under the pod's.
pub(super) fn indent<'a>(mut cells: Vec<Line<'a>>, columns: &[Column]) -> Vec<Line<'a>> {
    let name = columns.iter().position(|c| c.sort_index == 1);
    if let Some(name) = name.and_then(|i| cells.get_mut(i)) {
        name.spans.insert(0, "  ".into());
    }
    cells
}
