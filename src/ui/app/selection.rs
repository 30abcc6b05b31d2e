//! What is selected: a view's selection and scroll position (kept by row identity), the
//! selected container after it vanished, what the detail pane shows, and whose mounts the
//! sampler keeps for it.

use super::App;
use crate::sample::{ContainerSample, SeriesKey};

/// Selection and scroll position of one view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListState {
    pub selected: usize,
    /// Identity of the selected row (see [`App::row_key`](crate::ui::app::App::row_key)).
    pub key: Option<String>,
    /// First row shown (the last drawing's, kept so clicks map to rows).
    pub offset: usize,
}

/// The selected container after it vanished, with the time it was last seen missing.
#[derive(Debug, Clone)]
pub struct Gone {
    pub sample: ContainerSample,
    /// `taken_at_ms` of the first frame without it.
    pub since_ms: u64,
}

/// What the detail pane shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Container(String),
    Cgroup(String),
    Namespace(u64),
}

impl Target {
    /// The history series of the target, if it has one.
    pub fn series(&self) -> Option<SeriesKey> {
        match self {
            Target::Container(id) => Some(SeriesKey::Container(id.clone())),
            Target::Cgroup(path) => Some(SeriesKey::Cgroup(path.clone())),
            Target::Namespace(_) => None,
        }
    }
}

impl App {
    /// Takes the pending change of which container's mounts the sampler should keep: the
    /// detail pane's container (its Mounts part draws them), `None` when it shows none; for
    /// the app loop to hand to the sampler (`SamplerControl::set_mounts_for`), which leaves
    /// the other containers' out (`ContainerRoot::mounts_left_out`).
    pub fn take_mounts_wanted(&mut self) -> Option<Option<String>> {
        let wanted = match self.detail_target() {
            Some(Target::Container(id)) => Some(id),
            _ => None,
        };
        if self.mounts_told.as_ref() == Some(&wanted) {
            return None;
        }
        self.mounts_told = Some(wanted.clone());
        Some(wanted)
    }
}
