//! A container's life in its detail pane's facts, as its runtime records it
//! (`ContainerSample::runtime_state`): restarts, health (`unhealthy` in the warning colour) and
//! the last exit with when it was. A line for each the runtime records, none for the rest.

use ratatui::text::{Line, Span};

use crate::host::text::clean_str;
use crate::sample::ContainerSample;
use crate::ui::theme::Theme;
use crate::ui::widgets::{field, stamp};

/// The `restarts`, `health` and `last exit` lines of `c` (`now_ms`: the frame's time).
pub(super) fn lines<'a>(c: &ContainerSample, now_ms: u64, theme: &Theme) -> Vec<Line<'a>> {
    let Some(state) = &c.runtime_state else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    if let Some(n) = state.restart_count {
        lines.push(field("restarts", n.to_string(), theme));
    }
    if let Some(health) = state.health.as_deref().map(clean_str) {
        let style = if health == "unhealthy" {
            theme.warning
        } else {
            theme.text
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{:<10}", "health"), theme.dim),
            Span::styled(health, style),
        ]));
    }
    if let Some(code) = state.exit_code {
        let exit = match state.finished_at_ms {
            Some(at) => format!("{code} at {} UTC", stamp(at, now_ms)),
            None => code.to_string(),
        };
        lines.push(field("last exit", exit, theme));
    }
    lines
}
