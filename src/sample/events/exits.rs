//! A container's exit as the sampler drafts it: seen gone at a tick, its code asked of its
//! runtime's files (`host::runtime::state::read_state`) then or at the next tick, when the
//! runtime may not have recorded the end yet. The event's kind and line come from
//! `host::events::runtime::exited`, as every exit's do.

use std::sync::Arc;

use super::attribution::GoneContainer;
use crate::host::HostRoot;
use crate::host::container::Container;
use crate::host::events::Event;
use crate::host::runtime::state::read_state;

/// An exit waiting (a tick at most) for its runtime to record the code.
#[derive(Debug, Clone)]
pub(super) struct ExitDraft {
    pub(super) event: Event,
    pub(super) container: Arc<Container>,
    /// When the sampler first saw the container (a finish before it is an older run's).
    pub(super) first_seen_ms: u64,
}

impl ExitDraft {
    /// The container, seen gone at `at_ms`, as a kill in its cgroup may name it (see
    /// `GoneContainer`).
    pub(super) fn gone(&self, at_ms: u64) -> GoneContainer {
        GoneContainer {
            at_ms,
            subject: self.event.subject.clone(),
            pids: self.container.pids.clone(),
            cgroup: self.container.cgroup_path.clone(),
        }
    }

    /// The event with the exit code the runtime recorded for this run; unless `last_try`,
    /// the draft again when the runtime keeps a state that does not record the end yet.
    pub(super) fn resolve(
        mut self: Box<Self>,
        root: &HostRoot,
        last_try: bool,
    ) -> Result<Event, Box<ExitDraft>> {
        let Some(state) = read_state(root, &self.container) else {
            return Ok(self.event);
        };
        let ended_this_run = match (state.finished_at_ms, state.started_at_ms) {
            (Some(finished), Some(started)) => finished >= started,
            (Some(finished), None) => finished >= self.first_seen_ms,
            (None, _) => false,
        };
        match state.exit_code {
            Some(code) if ended_this_run => {
                let stop_requested = state.stop_requested == Some(true);
                (self.event.kind, self.event.detail) =
                    crate::host::events::runtime::exited(Some(code), stop_requested);
                Ok(self.event)
            }
            _ if !last_try => Err(self),
            _ => Ok(self.event),
        }
    }
}
