//! The Events view's lower pane: every field of the selected event — its time in full and how
//! it is known (dated by its source, or noticed at a sample), whom it concerns (container,
//! id, cgroup), its kind and each of the kind's figures as `isotop events --json` names them,
//! and its detail line. Text from strangers is cleaned again here (cheap, and the pane cannot
//! know who made the event).

use ratatui::Frame as TermFrame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::super::Ctx;
use crate::host::events::{Event, Timing};
use crate::host::text::clean_str;
use crate::ui::action::Action;
use crate::ui::widgets::field;

/// The pane's height in an area `height` tall, leaving the table `table_from` lines.
pub(super) fn height(height: u16, table_from: u16) -> u16 {
    height.saturating_sub(table_from).clamp(0, 10)
}

pub(super) fn draw(f: &mut TermFrame, area: Rect, ctx: &Ctx<'_>, event: Option<&Event>) {
    if area.height == 0 {
        return;
    }
    let app = ctx.app;
    let theme = ctx.theme;
    let events = app.events();
    let key = |a: Action| {
        ctx.keymap
            .hint_in(a, ctx.app.key_scope())
            .unwrap_or_else(|| "-".to_string())
    };
    let mut summary = format!(" {} kept", events.len());
    if events.dropped() > 0 {
        summary.push_str(&format!(", {} older dropped", events.dropped()));
    }
    summary.push_str(&format!(
        " · {} {} · {} container · {} log ",
        key(Action::TroubleOnly),
        if app.trouble_only() {
            "trouble only"
        } else {
            "every event"
        },
        key(Action::Open),
        key(Action::Logs),
    ));
    let block = Block::new()
        .borders(Borders::TOP)
        .title(Span::styled(" event ", theme.title))
        .title(Line::from(Span::styled(summary, theme.dim)).right_aligned());
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(event) = event else {
        return;
    };
    f.render_widget(
        Paragraph::new(lines(event, ctx)).wrap(Wrap { trim: false }),
        inner,
    );
}

/// The event's fields as lines.
fn lines<'a>(event: &Event, ctx: &Ctx<'_>) -> Vec<Line<'a>> {
    let theme = ctx.theme;
    let full = crate::control::audit::rfc3339(event.at_ms / 1000).replace(['T', 'Z'], " ");
    let how = match event.timing {
        Timing::Dated => "dated by its source",
        Timing::Sampled => "noticed at a sample: it happened in the interval before",
    };
    let subject = &event.subject;
    let on_host = subject
        .container_id
        .as_ref()
        .is_some_and(|id| ctx.app.rows().container_by_id.contains_key(id));
    let mut lines = vec![
        field("time", format!("{}UTC ({how})", full), theme),
        field(
            "container",
            match &subject.container_id {
                Some(_) if on_host => clean_str(&subject.name),
                Some(_) => format!("{}, no longer on the host", clean_str(&subject.name)),
                None => "- (a cgroup no container owns)".to_string(),
            },
            theme,
        ),
        field(
            "id",
            subject
                .container_id
                .as_deref()
                .map(clean_str)
                .unwrap_or_else(|| "-".to_string()),
            theme,
        ),
        field(
            "cgroup",
            subject
                .cgroup
                .as_deref()
                .map(clean_str)
                .unwrap_or_else(|| "-".to_string()),
            theme,
        ),
    ];
    let kind = Line::from(vec![
        Span::styled(format!("{:<10}", "kind"), theme.dim),
        if event.kind.is_trouble() {
            Span::styled(format!("{} (trouble)", event.kind.name()), theme.warning)
        } else {
            Span::raw(event.kind.name())
        },
    ]);
    lines.push(kind);
    lines.extend(kind_fields(event).into_iter().map(|(name, value)| {
        Line::from(vec![
            Span::styled(format!("{:<10}", name), theme.dim),
            Span::raw(value),
        ])
    }));
    lines.push(field("detail", clean_str(&event.detail), theme));
    lines
}

/// The kind's figures by their JSON names (as `isotop events --json` writes them), cleaned:
/// `-` for none, text unquoted.
fn kind_fields(event: &Event) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(&event.kind) else {
        return Vec::new();
    };
    map.into_iter()
        .filter(|(name, _)| name != "kind")
        .map(|(name, value)| {
            let shown = match value {
                serde_json::Value::Null => "-".to_string(),
                serde_json::Value::String(text) => clean_str(&text),
                other => clean_str(&other.to_string()),
            };
            (clean_str(&name), shown)
        })
        .collect()
}
