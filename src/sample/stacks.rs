//! The stack side of a tick: each running container's root, mounts and layers
//! (`host::stack::read_stack`), kept between ticks and shared with every frame by `Arc`.
//!
//! Contract: a container's stack is read when the container is first seen, when its init
//! changed (another pid or another start time: a restart under the same id), and otherwise
//! again every `every` ticks ([`StackSampler::new`]; the sampler's `stacks_every`), all due
//! containers in one batch through one [`StackReader`] (each store's index and the host's mount
//! table read once per batch). Between reads the frame gets the same `Arc` as before: no
//! per-tick copy. When a read gives a stack different from the one held, or a container holding one is gone, [`mark_shared`] is run across all current stacks
//! and only the stacks whose `shared_with` changed get a new `Arc`. A stack that cannot be read
//! is a warning in every frame until the next read (cleaned), never a failed tick; a container
//! whose init is gone has no stack and no warning (vanishing is normal). Containers no longer
//! sampled are forgotten. Sizes of the layers are [`sizes`]' part.

pub mod sizes;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::frame::ContainerSample;
use crate::host::HostRoot;
use crate::host::stack::{ContainerStack, StackReader, mark_shared};
use crate::host::text::clean_str;

/// What the sampler holds for one container.
#[derive(Debug)]
struct Held {
    /// The init the stack was read from: (pid, start time in clock ticks).
    init: (i32, Option<u64>),
    /// The tick it was read on.
    read_at: u64,
    stack: Option<Arc<ContainerStack>>,
    /// Why it could not be read (cleaned), repeated in each frame until the next read.
    warning: Option<String>,
}

/// The stacks of the containers of the last tick (see the module contract).
#[derive(Debug)]
pub struct StackSampler {
    every: u64,
    held: HashMap<String, Held>,
}

impl StackSampler {
    /// Re-reads unchanged containers' stacks every `every` ticks (at least 1).
    pub fn new(every: u64) -> Self {
        StackSampler {
            every: every.max(1),
            held: HashMap::new(),
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
                Some(held) => held.init != init || seq.saturating_sub(held.read_at) >= self.every,
            };
            if !due {
                continue;
            }
            let reader = reader.get_or_insert_with(|| StackReader::new(root));
            let (stack, warning) = match reader.read(pid, container.runtime) {
                Ok(stack) => (stack, None),
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
                    read_at: seq,
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

    /// Fills `shared_with` across every held stack; a stack whose marks did not change keeps
    /// its `Arc` (the copies made here are dropped).
    fn mark_shared(&mut self) {
        let mut copies: Vec<(String, ContainerStack)> = self
            .held
            .iter()
            .filter_map(|(id, h)| Some((id.clone(), h.stack.as_deref()?.clone())))
            .collect();
        let mut refs: Vec<(String, &mut ContainerStack)> = copies
            .iter_mut()
            .map(|(id, stack)| (id.clone(), stack))
            .collect();
        mark_shared(&mut refs);
        for (id, marked) in copies {
            let Some(held) = self.held.get_mut(&id) else {
                continue;
            };
            if held.stack.as_deref() != Some(&marked) {
                held.stack = Some(Arc::new(marked));
            }
        }
    }
}

/// True when two reads of a stack agree on everything but `shared_with` (which
/// [`mark_shared`] sets from the other stacks).
fn same_stack(held: &ContainerStack, read: &ContainerStack) -> bool {
    held.root == read.root
        && held.layers.len() == read.layers.len()
        && held
            .layers
            .iter()
            .zip(&read.layers)
            .all(|(a, b)| a.dir == b.dir && a.position == b.position && a.owner == b.owner)
}
