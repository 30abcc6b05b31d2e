//! Small drawing helpers shared by the views: text bars against a limit, clock time and dates
//! from a frame's timestamp (never the wall clock, so fixture frames draw the same every
//! time), ages, and the namespace letters of the process table.

pub mod chart;
pub mod table;

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::theme::Theme;
use crate::host::namespace::{NsKind, NsSet};

/// Eighth blocks for a smooth bar end, empty to full.
const EIGHTHS: [&str; 9] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"];

/// A bar of `width` cells filled to `ratio` (0–1, clamped), then `label`, in `width` cells.
/// With less than 3 cells for the bar, the label alone. An unknown ratio draws an empty bar.
pub fn bar<'a>(ratio: Option<f64>, label: String, width: u16, theme: &Theme) -> Line<'a> {
    let width = width as usize;
    let label_len = label.chars().count();
    if width < label_len + 4 {
        return Line::from(format!("{label:>width$}"));
    }
    let bar_cells = width - label_len - 1;
    let fill = ratio.filter(|r| r.is_finite()).map(|r| r.clamp(0.0, 1.0));
    let eighths = fill
        .map(|r| (r * bar_cells as f64 * 8.0).round() as usize)
        .unwrap_or(0);
    let full = eighths / 8;
    let part = eighths % 8;
    let mut filled = "█".repeat(full.min(bar_cells));
    let mut used = full.min(bar_cells);
    if part > 0 && used < bar_cells {
        filled.push_str(EIGHTHS[part]);
        used += 1;
    }
    let style = fill.map(|r| theme.bar(r)).unwrap_or(theme.dim);
    Line::from(vec![
        Span::styled(filled, style),
        Span::styled("░".repeat(bar_cells - used), theme.bar_empty),
        Span::raw(" "),
        Span::styled(label, theme.text),
    ])
}

/// `HH:MM:SS` UTC of a timestamp in ms since the epoch.
pub fn clock(ms: u64) -> String {
    let s = ms / 1000 % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// A timestamp (ms since the epoch) UTC, as short as `today_ms`'s day allows: `HH:MM:SS` on
/// that day, `MM-DD HH:MM:SS` in its year, else `YYYY-MM-DD HH:MM:SS`.
pub fn stamp(ms: u64, today_ms: u64) -> String {
    let full = crate::control::audit::rfc3339(ms / 1000);
    let (date, time) = (full.get(..10).unwrap_or(""), full.get(11..19).unwrap_or(""));
    let today = crate::control::audit::rfc3339(today_ms / 1000);
    if ms / 86_400_000 == today_ms / 86_400_000 {
        time.to_string()
    } else if full.get(..4) == today.get(..4) {
        format!("{} {time}", date.get(5..).unwrap_or(date))
    } else {
        format!("{date} {time}")
    }
}

/// A coarse age, one unit: `5s`, `2m`, `3h`, `4d`.
pub fn age(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3_600 => format!("{}m", seconds / 60),
        3_600..86_400 => format!("{}h", seconds / 3_600),
        _ => format!("{}d", seconds / 86_400),
    }
}

/// One letter per namespace kind (cgroup ipc mnt net pid time user uts = C I M N P T U S),
/// shown where the process's namespace differs from the host's; `·` where it is the host's,
/// `?` where unknown.
pub fn ns_letters(ns: &NsSet, host: &NsSet) -> String {
    const LETTERS: [char; 8] = ['C', 'I', 'M', 'N', 'P', 'T', 'U', 'S'];
    NsKind::ALL
        .iter()
        .zip(LETTERS)
        .map(|(&kind, letter)| match (ns.get(kind), host.get(kind)) {
            (Some(a), Some(b)) if a == b => '·',
            (Some(_), _) => letter,
            (None, _) => '?',
        })
        .collect()
}

/// Cuts `text` to `width` characters, keeping the end (paths are told apart by their tails).
pub fn keep_tail(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width || width == 0 {
        return text.to_string();
    }
    let tail: String = text.chars().skip(count - width + 1).collect();
    format!("…{tail}")
}

/// A label and value pair for the detail pane: `label` dim, value plain.
pub fn field<'a>(label: &'a str, value: String, theme: &Theme) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{label:<10}"), theme.dim),
        Span::styled(value, Style::new()),
    ])
}
