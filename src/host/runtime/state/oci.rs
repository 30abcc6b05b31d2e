//! runc and crun used directly: their state files record only when the container was created
//! (`created`, RFC 3339), which `runc run` and `crun run` make the moment it started. No
//! restarts, health or exit code: neither keeps a container's state once its init is gone.

use super::{RuntimeState, StateReading, believed};
use crate::host::HostRoot;
use crate::host::container::Container;
use crate::host::runtime::oci::read_states;

/// The creation time of `c`'s state (the one its metadata came from), as its start.
pub fn read(root: &HostRoot, c: &Container) -> Option<StateReading> {
    let states = read_states(root);
    let state = states
        .iter()
        .filter(|s| s.runtime == c.runtime && s.id == c.id)
        .find(|s| c.metadata.as_ref().is_none_or(|m| *m == s.source))?;
    if !believed(c, &state.writers) {
        return None;
    }
    let started_at_ms = state.created_ms.and_then(|ms| u64::try_from(ms).ok());
    Some(StateReading {
        state: RuntimeState {
            started_at_ms,
            ..RuntimeState::default()
        },
        sources: vec![state.source.clone()],
    })
}
