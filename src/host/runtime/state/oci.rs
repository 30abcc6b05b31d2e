//! runc and crun used directly: their state files (runc's `state.json`, crun's `status`) record
//! only when the container was created (`created`, RFC 3339), which `runc run` and `crun run`
//! make the moment it started. No restarts, health or exit code: neither keeps a container's
//! state once its init is gone.
//!
//! The file read is the one the container was named from (`Container::metadata`, found below
//! `/run` by `runtime::oci`), read again below `/run` without following a symlink: one file
//! per container, not every state dir.

use std::path::Path;

use serde::Deserialize;

use super::{RuntimeState, StateReading, read_json, time_ms};
use crate::host::HostRoot;
use crate::host::container::Container;

#[derive(Deserialize)]
struct Created {
    created: Option<String>,
}

/// The creation time of `c`'s state, as its start.
pub fn read(root: &HostRoot, c: &Container) -> Option<StateReading> {
    let source = c.metadata.as_deref()?;
    let rel: &Path = source.strip_prefix(&root.run).ok()?;
    let (state, path): (Created, _) = read_json(c, &root.run, rel)?;
    Some(StateReading {
        state: RuntimeState {
            started_at_ms: state.created.as_deref().and_then(time_ms),
            ..RuntimeState::default()
        },
        sources: vec![path],
    })
}
