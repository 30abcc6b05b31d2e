//! Rebuilding the views' rows from the frame after anything that changes them (a frame, the
//! filter, a sort, a fold, the events kept): a selected container that left the host stays as
//! a gone row where it was — unless the filter hides it, as it hides a live one — and each
//! view's selection is restored by identity.

use super::rows::{self, ContainerRow, Rows};
use super::{App, Gone};
use crate::ui::action::Tab;

impl App {
    /// Rebuilds the rows from the frame and restores each view's selection by identity.
    pub(super) fn rebuild(&mut self) {
        let Some(frame) = &self.frame else {
            self.rows = Rows::default();
            return;
        };
        let mut rows = rows::build(
            frame,
            &self.filter,
            &self.sorts,
            &self.collapsed,
            &self.events,
            self.tab == Tab::Processes,
        );
        rows.events = self.events.rows(
            &rows::Filter::new(&self.filter),
            self.sorts[Tab::Events.index()],
            self.trouble_only,
        );
        let selected_id = self.lists[Tab::Containers.index()].key.clone();
        match selected_id {
            Some(id) if !rows.container_by_id.contains_key(&id) => {
                // The selected container left the host (not merely the filter): keep it as
                // a gone row where it was.
                let already = self
                    .gone
                    .as_ref()
                    .is_some_and(|g| g.sample.view.container.id == id);
                if !already {
                    self.gone = self
                        .last_selected
                        .take()
                        .filter(|s| s.view.container.id == id)
                        .map(|sample| Gone {
                            sample,
                            since_ms: frame.taken_at_ms,
                        });
                }
                // A filter hides a vanished container as it hides a live one (else `l` or
                // an act would reach a row the filter says is not there).
                let filter = rows::Filter::new(&self.filter);
                if self
                    .gone
                    .as_ref()
                    .is_some_and(|g| !filter.container(&g.sample))
                {
                    self.gone = None;
                }
                if self.gone.is_some() {
                    let at = self.lists[Tab::Containers.index()]
                        .selected
                        .min(rows.containers.len());
                    rows.containers.insert(at, ContainerRow::Gone);
                }
            }
            _ => self.gone = None,
        }
        self.rows = rows;
        // On the newest event, the Events view stays on the newest as more come (it follows,
        // as the log pane does); elsewhere a selection stays on its row.
        let events = &mut self.lists[Tab::Events.index()];
        if events.selected == 0 {
            events.key = None;
        }
        for tab in Tab::ALL {
            // Rows not built keep their view's selection until they are (`show_tab`).
            if tab != Tab::Processes || self.rows.processes_built {
                self.restore_selection(tab);
            }
        }
        self.remember_selected_container();
    }
}
