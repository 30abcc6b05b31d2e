//! Where the last drawing put the tabs and the current table, so mouse clicks can be mapped
//! back to tabs, rows and sortable column headers.

use ratatui::layout::{Position, Rect};

use super::App;
use crate::ui::action::Tab;

/// Where the last drawing put things, for mouse clicks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScreenLayout {
    pub tabs: Vec<(Rect, Tab)>,
    pub list: Option<ListLayout>,
}

/// The table of the current view as drawn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListLayout {
    pub header: Rect,
    /// The rows' area (one terminal line each).
    pub rows: Rect,
    pub offset: usize,
    /// (first column, width, sortable column index) of each header cell drawn.
    pub columns: Vec<(u16, u16, usize)>,
}

impl App {
    /// Records where the last drawing put things (for clicks and paging).
    pub fn set_layout(&mut self, layout: ScreenLayout) {
        if let Some(list) = &layout.list {
            match self.log_pane.as_mut() {
                // The log pane's first line drawn, not the view's under it.
                Some(pane) => pane.set_offset(list.offset as u64),
                None => self.lists[self.tab.index()].offset = list.offset,
            }
        }
        self.layout = layout;
    }

    /// Rows one page holds (from the last drawing; 10 before the first).
    pub fn page_rows(&self) -> usize {
        self.layout
            .list
            .as_ref()
            .map(|l| l.rows.height as usize)
            .filter(|&h| h > 0)
            .unwrap_or(10)
    }

    /// A left click: a tab, a column header (sort by it) or a row (select it).
    pub(super) fn click(&mut self, column: u16, row: u16) {
        let at = Position::new(column, row);
        if let Some(&(_, tab)) = self.layout.tabs.iter().find(|(r, _)| r.contains(at)) {
            self.show_tab(tab);
            return;
        }
        let Some(list) = self.layout.list.clone() else {
            return;
        };
        if list.header.contains(at) {
            if let Some(&(_, _, index)) = list
                .columns
                .iter()
                .find(|(x, w, _)| column >= *x && column < x + w)
            {
                self.sort_by(index);
            }
        } else if list.rows.contains(at) {
            let target = list.offset + (row - list.rows.y) as usize;
            if target < self.rows.len(self.tab) {
                self.select(target);
            }
        }
    }
}
