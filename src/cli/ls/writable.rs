//! `ls --size`: each running container's writable layer sized, all of them by one sizer.
//!
//! Contract: [`start`] reads every running container's stack (`host::stack::read_stacks`) and
//! asks one sizer (`cli::inspect::size`) for each writable layer, then returns at once so the
//! CPU interval runs while the walks do; [`WritableSizes::finish`] waits for them (progress on
//! stderr only when it is a terminal) and gives each container's `writable_size`, in the
//! order given: `None` for a stopped container, a root that is not overlay or has no upper
//! dir, a stack that could not be read, or a layer that could not be sized — the last three
//! each a warning on stderr naming the container, never a failed `ls`.

use crate::cli::inspect::size::{Progress, SizeFigures, SizeRequest, Sizing};
use crate::host::HostRoot;
use crate::host::scan::ContainerView;
use crate::host::stack::{StackOf, read_stacks};
use crate::host::usage::LayerKind;

/// Writable layers being sized.
pub(super) struct WritableSizes {
    sizing: Sizing,
    /// Per container given: its writable layer's key, when it has one.
    keys: Vec<Option<std::path::PathBuf>>,
    names: Vec<String>,
}

/// Starts sizing the writable layers of `containers` (see the module contract).
pub(super) fn start(root: &HostRoot, containers: &[ContainerView]) -> WritableSizes {
    let running: Vec<(usize, StackOf)> = containers
        .iter()
        .enumerate()
        .filter_map(|(at, v)| {
            let c = &v.container;
            Some((
                at,
                StackOf {
                    id: c.id.clone(),
                    pid: c.init_pid?,
                    runtime: c.runtime,
                },
            ))
        })
        .collect();
    let of: Vec<StackOf> = running.iter().map(|(_, s)| s.clone()).collect();
    let names: Vec<String> = containers
        .iter()
        .map(|v| v.container.name.clone())
        .collect();
    let mut keys = vec![None; containers.len()];
    let mut requests = Vec::new();
    for ((at, _), read) in running.iter().zip(read_stacks(root, &of)) {
        let stack = match read {
            Ok(Some(stack)) => stack,
            // Gone since the scan: nothing to size, nothing to say.
            Ok(None) => continue,
            Err(e) => {
                crate::cli::warn(&format!("{}: no RW SIZE: {e}", names[*at]));
                continue;
            }
        };
        let Some(writable) = stack.writable() else {
            continue;
        };
        let key = writable.key().to_path_buf();
        requests.push(SizeRequest {
            key: key.clone(),
            readable: writable.sizable(root),
            kind: LayerKind::Upper,
        });
        keys[*at] = Some(key);
    }
    WritableSizes {
        sizing: Sizing::start(requests),
        keys,
        names,
    }
}

impl WritableSizes {
    /// Waits for every size (see the module contract).
    pub(super) fn finish(self) -> Vec<Option<SizeFigures>> {
        let answers = self.sizing.finish(&mut Progress::stderr());
        self.keys
            .iter()
            .zip(&self.names)
            .map(|(key, name)| match answers.get(key.as_ref()?)? {
                Ok(figures) => Some(*figures),
                Err(reason) => {
                    crate::cli::warn(&format!("{name}: no RW SIZE: {reason}"));
                    None
                }
            })
            .collect()
    }
}
