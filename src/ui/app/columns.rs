//! The Containers view columns the config hides (`[containers] hide`): the app keeps their
//! sort indices (of `rows::CONTAINER_COLUMNS`) for the view to leave out, and `s` steps over
//! them, since sorting by a column not on screen would look like no order at all.

use super::rows;
use super::{App, Tab};

impl App {
    /// Hides these Containers view columns (sort indices, from the config).
    pub fn hide_container_columns(&mut self, hidden: Vec<usize>) {
        self.hidden_container_columns = hidden;
    }

    /// The Containers view columns the config hides (sort indices).
    pub fn hidden_container_columns(&self) -> &[usize] {
        &self.hidden_container_columns
    }

    /// The column `s` sorts the current view by next: the one after the current sort's (the
    /// natural order after the last), skipping hidden ones.
    pub(super) fn next_sort_column(&self) -> Option<usize> {
        let columns = rows::columns(self.tab).len();
        let hidden: &[usize] = match self.tab {
            Tab::Containers => &self.hidden_container_columns,
            _ => &[],
        };
        let mut next = self.sorts[self.tab.index()].column;
        loop {
            next = match next {
                None => Some(0),
                Some(c) if c + 1 < columns => Some(c + 1),
                Some(_) => None,
            };
            if !next.is_some_and(|c| hidden.contains(&c)) {
                return next;
            }
        }
    }
}
