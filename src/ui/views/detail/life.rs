//! A container's life in its detail pane's facts, as its runtime records it
//! (`ContainerSample::runtime_state`): restarts, health (`unhealthy` in the warning colour) and
//! the last exit with when it was. Nothing when the runtime records none of it.

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
    let dash = || "-".to_string();
    let health = state.health.as_deref().map(clean_str);
    let exit = match (state.exit_code, state.finished_at_ms) {
        (Some(code), Some(at)) => format!("{code} at {} UTC", stamp(at, now_ms)),
        (Some(code), None) => code.to_string(),
        (None, _) => dash(),
    };
    vec![
        field(
            "restarts",
            state.restart_count.map_or_else(dash, |n| n.to_string()),
            theme,
        ),
        Line::from(vec![
            Span::styled(format!("{:<10}", "health"), theme.dim),
            match health {
                Some(h) if h == "unhealthy" => Span::styled(h, theme.warning),
                Some(h) => Span::raw(h),
                None => Span::raw(dash()),
            },
        ]),
        field("last exit", exit, theme),
    ]
}
