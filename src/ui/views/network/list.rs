//! The Network view's list: one line per row of `App::rows().network` — a bridge, its ports
//! under it (`├`/`└`), a section heading across the whole width, a pair, a namespace — with
//! the columns of `rows::network::NETWORK_COLUMNS` (KIND and STATE from 120 columns; who is
//! at the other end and the address take the room left). Cells
//! are drawn one by one so a heading can span them all; only the rows on screen are built.

use ratatui::Frame as TermFrame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::Paragraph;

use super::Ctx;
use crate::host::net::map::NetMap;
use crate::ui::action::Tab;
use crate::ui::app::ListLayout;
use crate::ui::app::rows::network::NetRow;
use crate::ui::app::rows::network::facts::{Facts, Traffic, facts};
use crate::ui::widgets::table::{self, Column, Width};
use crate::units::format::short_bytes;

const COLUMNS: [Column; 8] = [
    // An interface name is at most 15 bytes (IFNAMSIZ), `netns ` and an inode 16, after the
    // tree's 2.
    Column::new("INTERFACE", 0, Width::Fixed(18)),
    Column::new("KIND", 1, Width::Fixed(7)).from_width(120),
    Column::new("STATE", 2, Width::Fixed(7)).from_width(120),
    Column::new("PEER", 3, Width::Fixed(9)),
    Column::new("AT THE OTHER END", 4, Width::Fill(18)),
    Column::new("ADDRESS", 5, Width::Fill(18)),
    Column::new("RX/s", 6, Width::Fixed(6)).right(),
    Column::new("TX/s", 7, Width::Fixed(6)).right(),
];

/// Draws the list; returns where, for clicks (a header cell sorts, a row selects).
pub(super) fn draw(
    f: &mut TermFrame,
    area: Rect,
    ctx: &Ctx<'_>,
    map: &NetMap,
    traffic: &Traffic<'_>,
) -> ListLayout {
    let app = ctx.app;
    let theme = ctx.theme;
    let rows = &app.rows().network;
    let list = app.list(Tab::Network);
    let sort = app.sort(Tab::Network);
    let shown = table::layout_columns(&COLUMNS, area.width);
    let height = area.height.saturating_sub(1) as usize;
    let offset = table::scroll_offset(list.offset, list.selected, rows.len(), height);

    let mut hit_columns = Vec::with_capacity(shown.len());
    let mut x = area.x;
    for (column, width) in &shown {
        let cell = Rect::new(x, area.y, *width, 1).intersection(area);
        let mark = table::sort_mark(sort, column.sort_index);
        let title = Span::styled(format!("{}{mark}", column.title), theme.header);
        f.render_widget(Paragraph::new(title).alignment(align(column)), cell);
        hit_columns.push((x, *width, column.sort_index));
        x = x.saturating_add(width + 1);
    }

    let end = (offset + height).min(rows.len());
    for (at, &row) in rows[offset..end].iter().enumerate() {
        let y = area.y + 1 + at as u16;
        let line = Rect::new(area.x, y, area.width, 1);
        let facts = facts(map, traffic, row);
        if matches!(row, NetRow::PairsHeading | NetRow::NamespacesHeading) {
            f.render_widget(Paragraph::new(Span::styled(facts.name, theme.title)), line);
        } else {
            let mut x = area.x;
            for (column, width) in &shown {
                let cell = Rect::new(x, y, *width, 1).intersection(area);
                let (text, style) = cell_text(&facts, row, column.sort_index, ctx);
                f.render_widget(
                    Paragraph::new(Span::styled(text, style)).alignment(align(column)),
                    cell,
                );
                x = x.saturating_add(width + 1);
            }
        }
        if offset + at == list.selected {
            f.buffer_mut().set_style(line, theme.selected);
        }
    }

    table::list_layout(area, offset, hit_columns)
}

fn align(column: &Column) -> Alignment {
    if column.right {
        Alignment::Right
    } else {
        Alignment::Left
    }
}

/// One cell's text and style: the INTERFACE cell carries the tree (ports under their bridge,
/// rows under their heading).
fn cell_text(facts: &Facts, row: NetRow, column: usize, ctx: &Ctx<'_>) -> (String, Style) {
    let theme = ctx.theme;
    match column {
        0 => {
            let branch = match row {
                NetRow::Bridge(_) => "",
                NetRow::Port { last: true, .. } => "└ ",
                NetRow::Port { .. } => "├ ",
                _ => "  ",
            };
            let style = match row {
                NetRow::Bridge(_) => theme.title,
                _ => theme.text,
            };
            (format!("{branch}{}", facts.name), style)
        }
        1 => (facts.kind.clone(), theme.dim),
        2 => (facts.state.clone(), state_style(&facts.state, ctx)),
        3 => (facts.peer.clone(), theme.text),
        4 => (
            facts.who.clone(),
            if facts.who == "host" || facts.who.is_empty() {
                theme.dim
            } else {
                theme.container_mark
            },
        ),
        5 => (facts.address.clone(), theme.text),
        6 => (rate_text(facts.rx_bytes_per_second), theme.text),
        _ => (rate_text(facts.tx_bytes_per_second), theme.text),
    }
}

/// `down` (and the kernel's other not-up states) stands out; `up` and `unknown` (loopback,
/// tun) do not.
pub(super) fn state_style(state: &str, ctx: &Ctx<'_>) -> Style {
    match state {
        "up" | "unknown" | "" => ctx.theme.dim,
        _ => ctx.theme.warning,
    }
}

/// Bytes per second in at most 5 characters (`1.5K`), `-` while unknown (the first frames,
/// a namespace not sampled).
pub(super) fn rate_text(rate: Option<f64>) -> String {
    match rate {
        Some(r) if r.is_finite() && r >= 0.0 => short_bytes(r.round() as u64),
        _ => "-".to_string(),
    }
}
