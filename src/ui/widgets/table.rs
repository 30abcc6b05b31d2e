//! A scrolling table that builds only the rows on screen (the Processes view can hold tens of
//! thousands), drops low-priority columns on narrow terminals, marks the sort column, and
//! reports where it drew its header and rows so clicks can be mapped back.

use ratatui::Frame as TermFrame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};

use crate::ui::app::rows::Sort;
use crate::ui::app::{ListLayout, ListState};
use crate::ui::theme::Theme;

/// One column: its title, its index among the view's sortable columns, its width, and the
/// narrowest terminal it is shown on.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub title: &'static str,
    pub sort_index: usize,
    pub width: Width,
    pub right: bool,
    /// Shown only when the table is at least this wide.
    pub min_table_width: u16,
}

#[derive(Debug, Clone, Copy)]
pub enum Width {
    Fixed(u16),
    /// Takes what the fixed columns leave, at least this much.
    Fill(u16),
}

impl Column {
    pub const fn new(title: &'static str, sort_index: usize, width: Width) -> Column {
        Column {
            title,
            sort_index,
            width,
            right: false,
            min_table_width: 0,
        }
    }
    pub const fn right(mut self) -> Column {
        self.right = true;
        self
    }
    pub const fn from_width(mut self, min: u16) -> Column {
        self.min_table_width = min;
        self
    }
}

/// The shown columns with their widths in cells.
pub fn layout_columns(columns: &[Column], width: u16) -> Vec<(Column, u16)> {
    let shown: Vec<Column> = columns
        .iter()
        .copied()
        .filter(|c| width >= c.min_table_width)
        .collect();
    let gaps = shown.len().saturating_sub(1) as u16;
    let fixed: u16 = shown
        .iter()
        .map(|c| match c.width {
            Width::Fixed(w) => w,
            Width::Fill(_) => 0,
        })
        .sum();
    let fills = shown
        .iter()
        .filter(|c| matches!(c.width, Width::Fill(_)))
        .count()
        .max(1) as u16;
    let spare = width.saturating_sub(fixed + gaps) / fills;
    shown
        .into_iter()
        .map(|c| {
            let w = match c.width {
                Width::Fixed(w) => w,
                Width::Fill(min) => spare.max(min),
            };
            (c, w)
        })
        .collect()
}

/// The first row to show so `selected` is visible, starting from the previous `offset`.
pub fn scroll_offset(offset: usize, selected: usize, len: usize, height: usize) -> usize {
    if height == 0 {
        return 0;
    }
    let mut offset = offset.min(len.saturating_sub(height));
    if selected < offset {
        offset = selected;
    } else if selected >= offset + height {
        offset = selected + 1 - height;
    }
    offset
}

/// Draws `len` rows of which `cells(row, widths)` builds the visible ones (one line per
/// column of `columns`, all of them: hidden ones are dropped here). `style_of(row)` styles a
/// row (e.g. a gone container). Returns where it drew.
#[allow(clippy::too_many_arguments)]
pub fn draw<'a>(
    f: &mut TermFrame,
    area: Rect,
    columns: &[Column],
    len: usize,
    list: &ListState,
    sort: Sort,
    theme: &Theme,
    mut cells: impl FnMut(usize) -> Vec<Line<'a>>,
    mut style_of: impl FnMut(usize) -> Option<ratatui::style::Style>,
) -> ListLayout {
    let shown = layout_columns(columns, area.width);
    let height = area.height.saturating_sub(1) as usize;
    let offset = scroll_offset(list.offset, list.selected, len, height);
    let header = Row::new(shown.iter().map(|(c, w)| {
        let title = format!("{}{}", c.title, sort_mark(sort, c.sort_index));
        let text = if c.right {
            format!("{title:>width$}", width = *w as usize)
        } else {
            title
        };
        Cell::from(Span::styled(text, theme.header))
    }));
    let keep: Vec<usize> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| area.width >= c.min_table_width)
        .map(|(i, _)| i)
        .collect();
    let end = (offset + height).min(len);
    let rows = (offset..end).map(|row| {
        let all = cells(row);
        let line_cells = keep.iter().zip(&shown).map(|(&i, (c, w))| {
            let line = all.get(i).cloned().unwrap_or_default();
            let line = if c.right {
                let text_width = line.width();
                let pad = (*w as usize).saturating_sub(text_width);
                let mut spans = vec![Span::raw(" ".repeat(pad))];
                spans.extend(line.spans);
                Line::from(spans)
            } else {
                line
            };
            Cell::from(line)
        });
        let mut r = Row::new(line_cells);
        if let Some(style) = style_of(row) {
            r = r.style(style);
        }
        if row == list.selected {
            r = r.style(theme.selected);
        }
        r
    });
    let widths: Vec<Constraint> = shown.iter().map(|(_, w)| Constraint::Length(*w)).collect();
    let table = Table::new(rows, widths).header(header).column_spacing(1);
    f.render_widget(table, area);
    let mut x = area.x;
    let mut hit_columns = Vec::with_capacity(shown.len());
    for (c, w) in &shown {
        hit_columns.push((x, *w, c.sort_index));
        x = x.saturating_add(w + 1);
    }
    list_layout(area, offset, hit_columns)
}

/// The mark after a column's title: `▼` when the view sorts by it, `▲` reversed.
pub fn sort_mark(sort: Sort, column: usize) -> &'static str {
    match sort.column {
        Some(i) if i == column && sort.reversed => "▲",
        Some(i) if i == column => "▼",
        _ => "",
    }
}

/// Where a table drawn in `area` (header on its first line, rows below, from row `offset`,
/// header cells at `columns`) is, for clicks.
pub fn list_layout(area: Rect, offset: usize, columns: Vec<(u16, u16, usize)>) -> ListLayout {
    ListLayout {
        header: Rect::new(area.x, area.y, area.width, 1.min(area.height)),
        rows: Rect::new(
            area.x,
            area.y.saturating_add(1),
            area.width,
            area.height.saturating_sub(1),
        ),
        offset,
        columns,
    }
}
