//! The Cgroups tree's folding: fold or unfold the selected branch, or go to its parent.

use super::App;
use crate::ui::action::Tab;

#[derive(Debug, Clone, Copy)]
pub(super) enum Fold {
    Collapse,
    Expand,
    Toggle,
}

impl App {
    pub(super) fn fold(&mut self, fold: Fold) {
        if self.tab != Tab::Cgroups {
            return;
        }
        let Some(frame) = &self.frame else { return };
        let selected = self.lists[Tab::Cgroups.index()].selected;
        let Some(row) = self.rows.cgroups.get(selected).copied() else {
            return;
        };
        let cgroup = &frame.cgroups[row.index];
        let path = cgroup.path.clone();
        let folded = self.collapsed.contains(&path);
        let can_fold = cgroup.has_children && self.filter.is_empty();
        match fold {
            Fold::Collapse if can_fold && !folded => {
                self.collapsed.insert(path);
            }
            Fold::Collapse => {
                // Already folded or a leaf: go to the parent row.
                if let Some(parent) = (0..selected)
                    .rev()
                    .find(|&i| self.rows.cgroups[i].depth < row.depth)
                {
                    self.select(parent);
                }
                return;
            }
            Fold::Expand => {
                self.collapsed.remove(&path);
            }
            Fold::Toggle if can_fold => {
                if !self.collapsed.remove(&path) {
                    self.collapsed.insert(path);
                }
            }
            Fold::Toggle => return,
        }
        self.rebuild();
    }
}
