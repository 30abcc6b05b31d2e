//! Folding: the Cgroups tree's branches and the Containers view's pods — fold or unfold the
//! selected branch or pod, or, on a leaf (a pod's container), go to its parent row. Folds are
//! kept by identity (a cgroup path, a pod's `pod:` key) in one set.

use super::App;
use super::rows::ContainerRow;
use crate::ui::action::Tab;

#[derive(Debug, Clone, Copy)]
pub(super) enum Fold {
    Collapse,
    Expand,
    Toggle,
}

impl App {
    pub(super) fn fold(&mut self, fold: Fold) {
        if self.tab == Tab::Containers {
            self.fold_pod(fold);
            return;
        }
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

impl App {
    /// A fold on the Containers view: a pod row folds or unfolds; a container under a pod
    /// goes to the pod's row on Collapse.
    fn fold_pod(&mut self, fold: Fold) {
        let Some(frame) = &self.frame else { return };
        let selected = self.lists[Tab::Containers.index()].selected;
        let pod = match self.rows.containers.get(selected) {
            Some(ContainerRow::Pod(p)) => *p,
            Some(ContainerRow::Live(i)) => {
                if let (Fold::Collapse, Some(&p)) = (fold, self.rows.pod_of.get(i))
                    && let Some(row) = self
                        .rows
                        .containers
                        .iter()
                        .position(|r| *r == ContainerRow::Pod(p))
                {
                    self.select(row);
                }
                return;
            }
            _ => return,
        };
        if !self.filter.is_empty() {
            // Folds are ignored while filtering (a match is never hidden).
            return;
        }
        let key = frame.pods[pod].key.clone();
        let folded = self.collapsed.contains(&key);
        match fold {
            Fold::Collapse if folded => return,
            Fold::Expand if !folded => return,
            Fold::Collapse => {
                self.collapsed.insert(key);
            }
            Fold::Expand => {
                self.collapsed.remove(&key);
            }
            Fold::Toggle => {
                if !self.collapsed.remove(&key) {
                    self.collapsed.insert(key);
                }
            }
        }
        self.rebuild();
    }
}
