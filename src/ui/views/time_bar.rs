//! A replay's time bar, one line above the status line: `REPLAY` (and `▶` while playing), the
//! frame's time (UTC, RFC 3339 seconds), its place among the recording's frames, the
//! previous and next frames with events (`{` and `}` go there; `-` when there is none), then,
//! where the width allows, the recording's first and last times with the position marked
//! between them. While `t`'s prompt has the keys the bar is that prompt. Drawn only in a
//! replay ([`height`] is 0 otherwise).

use ratatui::Frame as TermFrame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Ctx;
use crate::ui::action::Action;
use crate::ui::app::replay::{ReplayPosition, TIME_FORMS};
use crate::ui::widgets::stamp;

/// The least width the track between the first and last times is drawn in, cells.
const TRACK_MIN: usize = 8;

/// The bar's height: one line in a replay, none otherwise.
pub fn height(ctx: &Ctx<'_>) -> u16 {
    u16::from(ctx.app.is_replay())
}

pub fn draw(f: &mut TermFrame, area: Rect, ctx: &Ctx<'_>) {
    let theme = ctx.theme;
    let key = |a: Action| ctx.keymap.hint(a).unwrap_or_else(|| "-".to_string());
    let mut spans = vec![Span::styled(" REPLAY ", theme.tab_active)];
    if let Some(text) = ctx.app.replay_time_input() {
        spans.extend([
            Span::styled(" go to time: ", theme.title),
            Span::raw(text.to_string()),
            Span::styled("█", theme.dim),
            Span::styled(
                format!(
                    "  {} go, {} cancel: {TIME_FORMS}",
                    key(Action::Open),
                    key(Action::Back)
                ),
                theme.dim,
            ),
        ]);
        f.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    let Some(position) = ctx.app.replay_position() else {
        spans.push(Span::styled(" reading the recording…", theme.dim));
        f.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    };
    if position.playing {
        spans.push(Span::styled("▶ ", theme.tab_active));
    }
    let at = position.t_ms;
    let mark = |ms: Option<u64>| ms.map_or_else(|| "-".to_string(), |ms| stamp(ms, at));
    spans.extend([
        Span::raw(" "),
        Span::styled(crate::control::audit::rfc3339(at / 1000), theme.title),
        Span::styled(
            format!("  frame {} of {}", position.index + 1, position.count),
            theme.text,
        ),
        Span::styled(
            format!("  {} ", key(Action::ReplayPreviousEvent)),
            theme.dim,
        ),
        Span::styled(mark(position.previous_event_ms), theme.warning),
        Span::styled(format!("  {} ", key(Action::ReplayNextEvent)), theme.dim),
        Span::styled(mark(position.next_event_ms), theme.warning),
    ]);
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    spans.extend(track(
        position,
        usize::from(area.width).saturating_sub(used),
        ctx,
    ));
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// `  first ───●─── last` in `width` cells (nothing when too narrow): the position by time.
fn track<'a>(position: &ReplayPosition, width: usize, ctx: &Ctx<'_>) -> Vec<Span<'a>> {
    let theme = ctx.theme;
    let first = stamp(position.first_ms, position.t_ms);
    let last = stamp(position.last_ms, position.t_ms);
    let ends = 2 + first.chars().count() + 1 + 1 + last.chars().count();
    let Some(cells) = width.checked_sub(ends).filter(|&c| c >= TRACK_MIN) else {
        return Vec::new();
    };
    let span_ms = position.last_ms.saturating_sub(position.first_ms);
    let offset_ms = position.t_ms.saturating_sub(position.first_ms);
    let at = if span_ms == 0 {
        cells - 1
    } else {
        // Rounded down: the mark sits on the last cell only at the last frame.
        let place = u128::from(offset_ms) * (cells as u128 - 1) / u128::from(span_ms);
        usize::try_from(place).unwrap_or(cells - 1).min(cells - 1)
    };
    vec![
        Span::styled(format!("  {first} "), theme.dim),
        Span::styled("━".repeat(at), theme.title),
        Span::styled("●", theme.tab_active),
        Span::styled("─".repeat(cells - 1 - at), theme.dim),
        Span::styled(format!(" {last}"), theme.dim),
    ]
}
