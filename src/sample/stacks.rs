//! The stack side of a tick: each running container's root, mounts and layers
//! (`host::stack::read_stack`), kept between ticks and shared with every frame by `Arc`.
//!
//! Contract: a container's stack is read when the container is first seen, when its init
//! changed (another pid or another start time: a restart under the same id), and otherwise
//! again every `every` ticks ([`StackSampler::new`]; the sampler's `stacks_every`), all due
//! containers in one batch through one [`StackReader`] (each store's index and the host's mount
//! table read once per batch). Between reads the frame gets the same `Arc` as before: no
//! per-tick copy. When a read gives a stack different from the one held, or a container
//! holding one is gone, the layers shared are marked again across all current stacks
//! (`host::stack::shared_marks`) and only the stacks whose `shared_with` changed get a new
//! `Arc` (copied only when a frame still holds the old one). A stack that cannot be read
//! is a warning in every frame until the next read (cleaned), never a failed tick; a container
//! whose init is gone has no stack and no warning (vanishing is normal). Containers no longer
//! sampled are forgotten.
//!
//! Memory: a stack's other mounts (all but the root; ~20 for Docker's defaults, ~12 KiB) are
//! kept for every container until [`StackSampler::set_mounts_for`] names the one a view shows
//! (the dashboard's detail pane); from then on the others' are left out when read
//! (`ContainerRoot::mounts_left_out` counts them) and the named one's is read again at once. Sizes of the layers are [`sizes`]' part.

pub mod sizes;

use foldhash::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::frame::ContainerSample;
use crate::host::HostRoot;
use crate::host::stack::{ContainerStack, StackReader, shared_marks};
use crate::host::text::clean_str;

/// What the sampler holds for one container.
#[derive(Debug)]
struct Held {
    /// The init the stack was read from: (pid, start time in clock ticks).
    init: (i32, Option<u64>),
    /// The tick it was read on; `None`: read again on the next (its mounts are wanted).
    read_at: Option<u64>,
    stack: Option<Arc<ContainerStack>>,
    /// Why it could not be read (cleaned), repeated in each frame until the next read.
    warning: Option<String>,
}

/// Whose other mounts (beside the root and the layers) the held stacks keep.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MountsKept {
    /// Every container's (the default: the exporter, the recorder, `sample_loop`).
    All,
    /// This container's only, none with `None` (the dashboard: one detail pane at a time).
    Only(Option<String>),
}

/// The stacks of the containers of the last tick (see the module contract).
#[derive(Debug)]
pub struct StackSampler {
    every: u64,
    held: HashMap<String, Held>,
    mounts: MountsKept,
}

impl StackSampler {
    /// Re-reads unchanged containers' stacks every `every` ticks (at least 1).
    pub fn new(every: u64) -> Self {
        StackSampler {
            every: every.max(1),
            held: HashMap::default(),
            mounts: MountsKept::All,
        }
    }

    /// From now on keeps the other mounts of `id`'s stack only (none with `None`): the
    /// stack held for the container that had them loses them (its memory freed once no
    /// frame holds it), and `id`'s is read again on the next [`fill`](Self::fill). Returns
    /// true when that read is due (a stack held without its mounts).
    pub fn set_mounts_for(&mut self, id: Option<String>) -> bool {
        let wanted = MountsKept::Only(id.clone());
        if self.mounts == wanted {
            return false;
        }
        let before = std::mem::replace(&mut self.mounts, wanted);
        for (held_id, held) in &mut self.held {
            let keeps = match &before {
                MountsKept::All => true,
                MountsKept::Only(kept) => kept.as_deref() == Some(held_id.as_str()),
            };
            if keeps
                && id.as_deref() != Some(held_id.as_str())
                && let Some(stack) = held.stack.as_mut()
            {
                Arc::make_mut(stack).root.leave_out_mounts();
            }
        }
        let Some(held) = id.and_then(|id| self.held.get_mut(&id)) else {
            return false;
        };
        let lacking = held
            .stack
            .as_ref()
            .is_some_and(|s| s.root.mounts_left_out > 0);
        if lacking {
            held.read_at = None;
        }
        lacking
    }

    /// True when `id`'s stack keeps its other mounts.
    fn keeps_mounts(&self, id: &str) -> bool {
        match &self.mounts {
            MountsKept::All => true,
            MountsKept::Only(kept) => kept.as_deref() == Some(id),
        }
    }

    /// True when container `id`'s stack (or the reason it is missing) is held.
    pub fn holds(&self, id: &str) -> bool {
        self.held.contains_key(id)
    }

    /// Reads what is due on tick `seq` and fills each sample's `stack`. Returns how long the
    /// reads took, `None` when nothing was read.
    pub fn fill(
        &mut self,
        root: &HostRoot,
        seq: u64,
        containers: &mut [ContainerSample],
        warnings: &mut Vec<String>,
    ) -> Option<Duration> {
        let before = self.held.len();
        self.held
            .retain(|id, _| containers.iter().any(|c| c.view.container.id == *id));
        let mut changed = self.held.len() != before;

        let started = Instant::now();
        let mut reader: Option<StackReader<'_>> = None;
        for sample in containers.iter() {
            let container = &sample.view.container;
            let Some(pid) = container.init_pid else {
                continue;
            };
            let init = (pid, container.start_ticks);
            let due = match self.held.get(&container.id) {
                None => true,
                Some(held) => {
                    held.init != init
                        || held
                            .read_at
                            .is_none_or(|at| seq.saturating_sub(at) >= self.every)
                }
            };
            if !due {
                continue;
            }
            let reader = reader.get_or_insert_with(|| StackReader::new(root));
            let (stack, warning) = match reader.read(pid, container.runtime) {
                Ok(mut stack) => {
                    if !self.keeps_mounts(&container.id)
                        && let Some(stack) = stack.as_mut()
                    {
                        stack.root.leave_out_mounts();
                    }
                    (stack, None)
                }
                Err(e) => (
                    None,
                    Some(clean_str(&format!(
                        "layers of {} not read: {e}",
                        container.name
                    ))),
                ),
            };
            let previous = self.held.remove(&container.id);
            let stack = match (previous.and_then(|p| p.stack), stack) {
                (Some(old), Some(new)) if same_stack(&old, &new) => Some(old),
                (old, new) => {
                    changed |= old.is_some() || new.is_some();
                    new.map(Arc::new)
                }
            };
            self.held.insert(
                container.id.clone(),
                Held {
                    init,
                    read_at: Some(seq),
                    stack,
                    warning,
                },
            );
        }
        let cost = reader.is_some().then(|| started.elapsed());
        if changed {
            self.mark_shared();
        }
        for sample in containers.iter_mut() {
            let held = self.held.get(&sample.view.container.id);
            sample.stack = held.and_then(|h| h.stack.clone());
            warnings.extend(held.and_then(|h| h.warning.clone()));
        }
        cost
    }

    /// Fills `shared_with` across every held stack; only a stack whose marks changed is
    /// copied (into a new `Arc`), the others keep theirs — no copy of every stack (their
    /// mounts are most of a stack's bytes) each time one container comes or goes.
    fn mark_shared(&mut self) {
        let changed: Vec<(String, Vec<Vec<String>>)> = {
            let held: Vec<(&str, &ContainerStack)> = self
                .held
                .iter()
                .filter_map(|(id, h)| Some((id.as_str(), h.stack.as_deref()?)))
                .collect();
            let marks = shared_marks(&held);
            held.into_iter()
                .zip(marks)
                .filter(|((_, stack), marks)| {
                    stack
                        .layers
                        .iter()
                        .zip(marks)
                        .any(|(l, m)| l.shared_with != *m)
                })
                .map(|((id, _), marks)| (id.to_string(), marks))
                .collect()
        };
        for (id, marks) in changed {
            let Some(stack) = self.held.get_mut(&id).and_then(|h| h.stack.as_mut()) else {
                continue;
            };
            let stack = Arc::make_mut(stack);
            for (layer, others) in stack.layers.iter_mut().zip(marks) {
                layer.shared_with = others;
            }
        }
    }
}

/// True when two reads of a stack agree on everything but `shared_with` (which
/// [`shared_marks`] gives from the other stacks).
fn same_stack(held: &ContainerStack, read: &ContainerStack) -> bool {
    held.root == read.root
        && held.layers.len() == read.layers.len()
        && held
            .layers
            .iter()
            .zip(&read.layers)
            .all(|(a, b)| a.dir == b.dir && a.position == b.position && a.owner == b.owner)
}
