//! What a container's detail pane shows beside its facts: the charts over the history, the
//! layers of its root (with the writable layer's growth), or its mounts. `v` steps through
//! the three; on a closed pane it opens the selected container's at its layers. The choice is
//! the operator's and outlives the pane: moving to another container, closing and reopening
//! keep it. A cgroup's or a namespace's pane has no layers or mounts and draws as ever.

use super::{App, Target};

/// The part of a container's detail pane beside its facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DetailPane {
    /// CPU, throttling, memory, pids and pressure over the history.
    #[default]
    Charts,
    /// The root's layer stack top to bottom, sizes, sharing, and the writable layer's growth.
    Layers,
    /// The root and every other mount, the kernel's own counted.
    Mounts,
}

impl DetailPane {
    /// In `v`'s order.
    pub const ALL: [DetailPane; 3] = [DetailPane::Charts, DetailPane::Layers, DetailPane::Mounts];

    pub fn title(self) -> &'static str {
        match self {
            DetailPane::Charts => "charts",
            DetailPane::Layers => "layers",
            DetailPane::Mounts => "mounts",
        }
    }

    /// The next in `v`'s order, round.
    pub fn next(self) -> DetailPane {
        match self {
            DetailPane::Charts => DetailPane::Layers,
            DetailPane::Layers => DetailPane::Mounts,
            DetailPane::Mounts => DetailPane::Charts,
        }
    }
}

impl App {
    /// What a container's detail pane shows beside its facts.
    pub fn detail_pane(&self) -> DetailPane {
        self.detail_pane
    }

    /// `v`: the next part of an open container pane; a closed one opens at its layers.
    pub(super) fn step_detail_pane(&mut self) {
        match self.detail_target() {
            Some(Target::Container(_)) if self.detail => {
                self.detail_pane = self.detail_pane.next();
            }
            Some(Target::Container(_)) => {
                self.detail = true;
                self.detail_pane = DetailPane::Layers;
            }
            Some(_) => {
                self.message =
                    Some("layers and mounts are a container's: select a container".to_string());
            }
            None => self.message = Some("nothing selected to show in detail".to_string()),
        }
    }
}
