//! Events: what happened to the containers since isotop started, newest first — TIME (UTC,
//! with the date when not the frame's day), CONTAINER (or the cgroup no container owns; a
//! container no longer on the host dimmed), KIND (trouble in the warning colour,
//! `EventKind::is_trouble`) and DETAIL; below, every field of the selected event
//! ([`detail`]). Never an empty view that looks like nothing happens: with no event it says
//! since when it has watched, with all of them filtered out what hides them.

mod detail;

use ratatui::Frame as TermFrame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Ctx;
use crate::host::text::clean_str;
use crate::ui::action::{Action, Tab};
use crate::ui::app::ListLayout;
use crate::ui::widgets::table::{self, Column, Width};
use crate::ui::widgets::{keep_tail, stamp};
use crate::units::format::duration;

/// The least height the table keeps beside the event's fields.
const TABLE_FROM: u16 = 6;

pub fn draw(f: &mut TermFrame, area: Rect, ctx: &Ctx<'_>) -> ListLayout {
    let app = ctx.app;
    let theme = ctx.theme;
    let Some(frame) = app.frame() else {
        return ListLayout::default();
    };
    let events = app.events();
    let rows = &app.rows().events;
    let now = frame.taken_at_ms;
    // No event to show, no pane: the table says why.
    let fields = if rows.is_empty() {
        0
    } else {
        detail::height(area.height, TABLE_FROM)
    };
    let [list, below] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(fields)]).areas(area);
    let time_width = rows
        .iter()
        .filter_map(|&i| events.get(i))
        .map(|k| stamp(k.event.at_ms, now).chars().count())
        .max()
        .unwrap_or(8) as u16;
    let container_width = match area.width {
        200.. => 32,
        120.. => 24,
        _ => 16,
    };
    let columns = [
        Column::new("TIME", 0, Width::Fixed(time_width.max(8))),
        Column::new("CONTAINER", 1, Width::Fixed(container_width)),
        Column::new("KIND", 2, Width::Fixed(14)),
        Column::new("DETAIL", 3, Width::Fill(12)),
    ];
    let layout = table::draw(
        f,
        list,
        &columns,
        rows.len(),
        app.list(Tab::Events),
        app.sort(Tab::Events),
        theme,
        |row| {
            let Some(kept) = rows.get(row).and_then(|&i| events.get(i)) else {
                return Vec::new();
            };
            let e = &kept.event;
            let on_host = e
                .subject
                .container_id
                .as_ref()
                .is_none_or(|id| app.rows().container_by_id.contains_key(id));
            // A cgroup's path is told apart by its tail, a name by its head.
            let name = clean_str(&e.subject.name);
            let name = Line::from(match e.subject.container_id {
                Some(_) => name,
                None => keep_tail(&name, container_width as usize),
            });
            let kind = Line::from(e.kind.name());
            vec![
                Line::from(stamp(e.at_ms, now)),
                if on_host { name } else { name.style(theme.dim) },
                if e.kind.is_trouble() {
                    kind.style(theme.warning)
                } else {
                    kind
                },
                Line::from(clean_str(&e.detail)),
            ]
        },
        |_| None,
    );
    if rows.is_empty() {
        let key = |a: Action| {
            ctx.keymap
                .hint_in(a, ctx.app.key_scope())
                .unwrap_or_else(|| "-".to_string())
        };
        let text = if events.is_empty() {
            let watched = events
                .since_ms()
                .map(|since| duration(now.saturating_sub(since) as f64 / 1000.0))
                .unwrap_or_else(|| "0s".to_string());
            format!("no events since isotop started ({watched} ago)")
        } else if app.trouble_only() && app.filter().is_empty() {
            format!(
                "no trouble among the {} events kept ({} shows every event)",
                events.len(),
                key(Action::TroubleOnly)
            )
        } else {
            format!(
                "no event of the {} kept matches the filter ({} clears it)",
                events.len(),
                key(Action::Back)
            )
        };
        let at = Rect::new(
            list.x,
            list.y + 1,
            list.width,
            1.min(list.height.saturating_sub(1)),
        );
        f.render_widget(Paragraph::new(Span::styled(text, theme.dim)), at);
    }
    detail::draw(f, below, ctx, app.selected_event().map(|k| &k.event));
    layout
}
